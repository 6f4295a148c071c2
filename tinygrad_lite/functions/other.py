"""torch's "Other Operations": cumsum/cumprod/cummax/cummin/logcumsumexp, einsum, flatten/
unflatten, flip/roll/rot90, tril/triu and their indices, diag/diagonal/diag_embed/trace,
cross/kron/tensordot, cdist, cov/corrcoef, diff, bucketize/searchsorted/histc/bincount,
broadcast_*, meshgrid, cartesian_prod, block_diag, atleast_*d, repeat_interleave, ravel,
renorm, gcd/lcm, and the deterministic-algorithms switch."""
from __future__ import annotations

import builtins
import math
import numbers
from collections import namedtuple

import numpy as np

from .. import dtypes as D
from .._checks import broadcast_shape as _broadcast_shape
from .._checks import check_int, check_number
from .._checks import check_tensor as _tensor
from .._checks import describe as _desc
from .._checks import need_float as _need_float
from .._checks import tensor_or_array as _t
from ..autograd.autocast_mode import autocast_op
from ..backend import array_module
from ..ops import movement as M
from ..ops import scan as SC
from ..ops.linalg import Einsum, parse
from ..ops.movement import Flip, Roll
from ..tensor import Size, Tensor, _const, _dim, _floating, _like, _nondiff_binary, where
from .indexing import (
    _atleast,
    _int_tensor,
    _ints,
    _need_ndim,
    _non_negative,
    _reshape,
    _varargs,
    cat,
    pad,
    stack,
)
from .pointwise import _second


def cumsum(x, dim, *, dtype=None): return _t(x).cumsum(dim, dtype=dtype)


def flatten(x, start_dim=0, end_dim=-1): return _t(x).flatten(start_dim, end_dim)


def unflatten(x, dim, sizes): return _t(x).unflatten(dim, sizes)


def broadcast_to(x, shape): return _t(x).broadcast_to(shape)


def roll(x, shifts, dims=None): return _t(x).roll(shifts, dims)


def flip(x, dims): return _t(x).flip(dims)


def numel(x): return _t(x).numel()


def is_tensor(x): return isinstance(x, Tensor)


def clone(x): return _t(x).clone()


def detach(x): return _t(x).detach()


def einsum(equation, *operands):
    """torch.einsum: sum over the products of the operands' entries, indexed by `equation`."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a str, got {type(equation).__name__} "
                        "(the sublist form einsum(x, [0, 1], ...) is not supported)")
    for i, x in enumerate(operands):
        if not isinstance(x, Tensor):
            raise TypeError(f"einsum('{equation}'): operand {i} is a {type(x).__name__}, "
                            "expected a Tensor")
    if not operands:
        raise ValueError(f"einsum('{equation}'): needs at least one operand")
    shapes = [tuple(x.shape) for x in operands]
    if builtins.any(x.device != operands[0].device for x in operands):
        desc = ", ".join(f"operand {i} {s} on {x.device}"
                         for i, (x, s) in enumerate(zip(operands, shapes)))
        raise RuntimeError(f"einsum('{equation}'): expected all operands on one device, got "
                           f"{desc}; move them with .to(device) first")
    terms, out, sizes = parse(equation, shapes)
    dtype = operands[0].dtype
    if builtins.any(x.dtype != dtype for x in operands):
        from ..dtypes import promote
        for x in operands[1:]:
            dtype = promote(dtype, x.dtype)
    ops = []
    for i, (x, term) in enumerate(zip(operands, terms)):
        x = x if x.dtype == dtype else x.to(dtype)
        # a size-1 dimension broadcast against a bigger one: the product does not depend on that
        # index, so the axis is dropped (and its reshape's backward restores the shape)
        keep = [p for p, c in enumerate(term) if x.shape[p] != 1 or sizes[c] == 1]
        if len(keep) < len(term):
            x = x.reshape(tuple(x.shape[p] for p in keep))
            terms[i] = "".join(term[p] for p in keep)
        ops.append(x)
    return Einsum.apply(*ops, terms=tuple(terms), out=out)





# -- scans and differences --------------------------------------------------------------------
def cumprod(input, dim, dtype=None) -> Tensor:
    """Running product along dim (integers and bools give int64, as in torch)."""
    x = _tensor(input, "cumprod")
    if dtype is not None:
        x = x.to(dtype)
    elif x.dtype.kind in "biu":
        x = x.to(D.int64)
    d = _dim(dim, x.ndim, "cumprod")
    if not x.ndim:                  # a 0-d scan is the 0-d input itself (as in torch)
        return SC.Cumprod.apply(x.reshape(1), axis=0).reshape(())
    return SC.Cumprod.apply(x, axis=d)


def diff(input, n=1, dim=-1, prepend=None, append=None) -> Tensor:
    """n-th forward difference along dim, after concatenating prepend and append."""
    x = _tensor(input, "diff")
    n = check_int(n, None, "diff", low=None)
    if x.ndim == 0:
        raise ValueError("diff: expects input to be at least one-dimensional, got shape ()")
    if n < 0:
        raise ValueError(f"diff: order must be non-negative, got n={n}")
    d = _dim(dim, x.ndim, "diff")
    parts = []
    for name, extra in (("prepend", prepend), (None, x), ("append", append)):
        if extra is None:
            continue
        if name is not None:
            if not isinstance(extra, Tensor):
                shape = x.shape[:d] + (1,) + x.shape[d + 1:]
                extra = _like(extra, x).expand(shape)
            elif extra.ndim != x.ndim or extra.shape[:d] + extra.shape[d + 1:] != \
                    x.shape[:d] + x.shape[d + 1:]:
                raise ValueError(f"diff: {name} of shape {tuple(extra.shape)} does not match "
                                 f"input of shape {tuple(x.shape)} except along dim {d}")
        parts.append(extra)
    if n == 0:                      # torch checks prepend/append, then ignores them
        return x.clone()
    if len(parts) > 1:
        x = cat(parts, d)
    for _ in range(n):
        m = x.shape[d]
        if m == 0:
            break
        hi, lo = x.narrow(d, 1, m - 1), x.narrow(d, 0, m - 1)
        x = hi.logical_xor(lo) if x.dtype.kind == "b" else hi - lo
    return x


# -- products ---------------------------------------------------------------------------------
@autocast_op("tensordot")
def tensordot(a, b, dims=2) -> Tensor:
    """Contract a's dims[0] with b's dims[1] (an int n: a's last n with b's first n)."""
    a, b = _tensor(a, "tensordot"), _tensor(b, "tensordot")
    if isinstance(dims, (int, np.integer)):
        if not 0 <= dims <= builtins.min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: dims={dims} is out of range for shapes {_desc(a, b)}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        try:
            da, db = dims
        except (TypeError, ValueError):
            raise TypeError(f"tensordot: dims must be an int or a pair of dim lists, got "
                            f"{dims!r}") from None
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
        da = [_dim(d, a.ndim, "tensordot") for d in da]
        db = [_dim(d, b.ndim, "tensordot") for d in db]
    sizes_a, sizes_b = [a.shape[i] for i in da], [b.shape[j] for j in db]
    if sizes_a != sizes_b:
        raise ValueError(f"tensordot: contracted sizes {sizes_a} and {sizes_b} differ (shapes "
                         f"{_desc(a, b)}, dims {da} and {db})")
    free_a = [i for i in range(a.ndim) if i not in da]
    free_b = [j for j in range(b.ndim) if j not in db]
    k = math.prod(sizes_a)
    lhs = a.permute(*free_a, *da).reshape(-1, k) if a.numel() else a.reshape(0, k)
    rhs = b.permute(*db, *free_b).reshape(k, -1) if b.numel() else b.reshape(k, 0)
    out_shape = tuple(a.shape[i] for i in free_a) + tuple(b.shape[j] for j in free_b)
    return (lhs @ rhs).reshape(out_shape)


def kron(input, other) -> Tensor:
    """Kronecker product: out[i*m + k, ...] = input[i, ...] * other[k, ...]."""
    a, b = _tensor(input, "kron"), _tensor(other, "kron")
    n = builtins.max(a.ndim, b.ndim)
    sa = (1,) * (n - a.ndim) + tuple(a.shape)
    sb = (1,) * (n - b.ndim) + tuple(b.shape)
    # interleave the axes: a as (a0, 1, a1, 1, ...) times b as (1, b0, 1, b1, ...)
    wide_a = a.reshape(tuple(s for p in sa for s in (p, 1)))
    wide_b = b.reshape(tuple(s for p in sb for s in (1, p)))
    return (wide_a * wide_b).reshape(tuple(p * q for p, q in zip(sa, sb)))


def cross(input, other, dim=None) -> Tensor:
    """3-vector cross product along dim (None: the first dim of size 3, as torch.cross does)."""
    a, b = _tensor(input, "cross"), _tensor(other, "cross")
    shape = _broadcast_shape("cross", a, b)
    if a.shape != shape:
        a = a.expand(shape)
    if b.shape != shape:
        b = b.expand(shape)
    if dim is None:
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise ValueError(f"cross: no dimension of size 3 in shapes {_desc(a, b)}")
    d = _dim(dim, len(shape), "cross")
    if shape[d] != 3:
        raise ValueError(f"cross: dimension {d} must have size 3, got shapes {_desc(a, b)}")
    # c_i = a_{i+1} b_{i+2} - a_{i+2} b_{i+1}, indices mod 3
    return a.roll(-1, d) * b.roll(-2, d) - a.roll(-2, d) * b.roll(-1, d)


def diagonal(input, offset=0, dim1=0, dim2=1) -> Tensor:
    """The offset diagonal over (dim1, dim2), moved to a new last dimension."""
    x = _tensor(input, "diagonal")
    offset = check_int(offset, None, "diagonal", low=None)
    if x.ndim < 2:
        raise ValueError(f"diagonal: input must have at least 2 dimensions, got shape "
                         f"{tuple(x.shape)}")
    d1, d2 = _dim(dim1, x.ndim, "diagonal"), _dim(dim2, x.ndim, "diagonal")
    if d1 == d2:
        raise ValueError(f"diagonal: dim1 and dim2 must differ, both are {d1}")
    return M.Diagonal.apply(x, offset=offset, dim1=d1, dim2=d2)


def diag(input, diagonal=0) -> Tensor:
    """1-D -> a square matrix with input on the given diagonal; 2-D -> that diagonal."""
    x = _tensor(input, "diag")
    k = check_int(diagonal, None, "diag", low=None)
    if x.ndim == 1:
        n = x.shape[0] + abs(k)
        return M.DiagonalScatter.apply(x, shape=(n, n), offset=k, dim1=0, dim2=1)
    if x.ndim == 2:
        return M.Diagonal.apply(x, offset=k, dim1=0, dim2=1)
    raise ValueError(f"diag: expected a 1-D or 2-D tensor, got shape {tuple(x.shape)}")


@autocast_op("trace")
def trace(input) -> Tensor:
    """Sum of the main diagonal of a matrix."""
    x = _tensor(input, "trace")
    if x.ndim != 2:
        raise ValueError(f"trace: expected a matrix, got shape {tuple(x.shape)}")
    return M.Diagonal.apply(x, offset=0, dim1=0, dim2=1).sum()


# -- grids and distances ----------------------------------------------------------------------
def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-D tensors; "xy" swaps the first two output dimensions."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise ValueError("meshgrid: expects at least one tensor")
    ts = [_tensor(t, "meshgrid") for t in tensors]
    for t in ts:
        if t.ndim > 1:
            raise ValueError(f"meshgrid: expects 0-D or 1-D tensors, got shape {tuple(t.shape)}")
        if t.dtype != ts[0].dtype or t.device != ts[0].device:
            raise TypeError(f"meshgrid: expects all tensors to have the same dtype and device, "
                            f"got {ts[0].dtype} on {ts[0].device} and {t.dtype} on {t.device}")
    axes = list(range(len(ts)))
    if indexing == "xy" and len(ts) > 1:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(ts)
    for t, ax in zip(ts, axes):
        shape[ax] = t.numel()
    out = []
    for t, ax in zip(ts, axes):
        view = [1] * len(ts)
        view[ax] = t.numel()
        out.append(t.reshape(tuple(view)).expand(tuple(shape)))
    return tuple(out)


@autocast_op("cdist")
def cdist(x1, x2, p=2.0, compute_mode=None) -> Tensor:
    """p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M): (..., P, R).

    Built on the (..., P, R, M) difference, so it is exact (torch's mm shortcut for big p=2
    inputs is not) but takes P*R*M memory. The gradient at zero distance is 0, as in torch.
    """
    a, b = _tensor(x1, "cdist"), _tensor(x2, "cdist")
    if not D.is_floating(a.dtype) or not D.is_floating(b.dtype):
        raise TypeError(f"cdist: expected floating point tensors, got {_desc(a, b)}")
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-1]:
        raise ValueError(f"cdist: expected (..., P, M) and (..., R, M) with the same M, got "
                         f"{_desc(a, b)}")
    if not isinstance(p, (int, float)) or p < 0:
        raise ValueError(f"cdist: p must be a non-negative number, got {p!r}")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"cdist: batch dimensions of {_desc(a, b)} do not broadcast") from None
    d = a.unsqueeze(-2) - b.unsqueeze(-3)
    if p == 2:
        return d.norm(2, dim=-1)
    if p == 0:
        return d.norm(0, dim=-1)        # the count of nonzeros; gradient 0, as torch
    if p == 1 or p == float("inf"):
        return d.norm(p, dim=-1)
    s = (d.abs() ** p).sum(-1)
    zero = s.detach() == 0
    # s ** (1/p) has an infinite slope at s == 0: keep that point out of the gradient
    return where(zero, 0.0, where(zero, 1.0, s) ** (1.0 / p))


def bincount(input, weights=None, minlength=0) -> Tensor:
    """Counts of each value of a 1-D non-negative integer tensor (sums of weights if given)."""
    x = _tensor(input, "bincount")
    minlength = check_int(minlength, None, "bincount", low=None)
    if x.ndim != 1 or x.dtype.kind not in "iu":
        raise ValueError(f"bincount: expected a 1-D integer tensor, got {_desc(x)}")
    if minlength < 0:
        raise ValueError(f"bincount: minlength must be non-negative, got {minlength}")
    xp = array_module(x._data)
    if x.numel() and int(x._data.min()) < 0:
        raise ValueError(f"bincount: input must be non-negative, got a minimum of "
                         f"{int(x._data.min())}")
    if weights is None:
        return _const(xp.bincount(x._data, minlength=minlength).astype(np.int64))
    w = _tensor(weights, "bincount")
    if w.shape != x.shape:
        raise ValueError(f"bincount: weights must match input, got {_desc(x, w)}")
    out_dtype = w.dtype if D.is_floating(w.dtype) else D.float64
    return _const(xp.bincount(x._data, weights=w._data, minlength=minlength).astype(out_dtype))


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None) -> Tensor:
    """Insertion indices of input into the last dim of sorted_sequence (left or right)."""
    seq = _tensor(sorted_sequence, "searchsorted")
    if side not in (None, "left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    if side == "left" and right:
        raise ValueError("searchsorted: side='left' and right=True contradict each other")
    right = right or side == "right"
    if seq.ndim == 0:
        raise ValueError("searchsorted: sorted_sequence must have at least one dimension")
    xp = array_module(seq._data)
    s = seq._data
    if sorter is not None:
        so = _tensor(sorter, "searchsorted")
        if so.shape != seq.shape:
            raise ValueError(f"searchsorted: sorter must match sorted_sequence, got "
                             f"{_desc(seq, so)}")
        s = xp.take_along_axis(s, so._data, axis=-1)
    scalar = not isinstance(input, Tensor)
    v = _like(_second(input, seq, "searchsorted"), seq)._data
    if seq.ndim == 1:
        out = xp.searchsorted(s, v, side="right" if right else "left")
    else:
        if scalar or v.shape[:-1] != s.shape[:-1]:
            raise ValueError(f"searchsorted: leading dimensions of sorted_sequence "
                             f"{tuple(seq.shape)} and input {tuple(v.shape)} must match")
        # rows are sorted, so the insertion point is how many entries come before the value
        before = (s[..., None, :] <= v[..., :, None]) if right else \
            (s[..., None, :] < v[..., :, None])
        out = before.sum(axis=-1)
    return _const(xp.asarray(out).astype(np.int32 if out_int32 else np.int64))


def histc(input, bins=100, min=0, max=0) -> Tensor:
    """Histogram of equal-width bins over [min, max] (the data's range when min == max)."""
    x = _tensor(input, "histc")
    if not D.is_floating(x.dtype):
        raise TypeError(f"histc: expected a floating point tensor, got {_desc(x)}")
    bins = check_int(bins, None, "histc", low=None)
    if bins <= 0:
        raise ValueError(f"histc: bins must be positive, got {bins}")
    xp = array_module(x._data)
    flat = x._data.reshape(-1)
    lo, hi = float(min), float(max)
    if lo > hi:
        raise ValueError(f"histc: max ({hi}) must be larger than min ({lo})")
    if lo == hi and flat.size:
        finite = flat[xp.isfinite(flat)]
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:
        lo, hi = lo - 1.0, hi + 1.0
    dt = x.dtype.type
    inside = flat[(flat >= lo) & (flat <= hi)]
    # torch's rule: bin = floor((v - min) * bins / (max - min)), with v == max in the last bin
    idx = ((inside - dt(lo)) * dt(bins) / (dt(hi) - dt(lo))).astype(np.int64)
    idx = xp.minimum(idx, bins - 1)
    return _const(xp.bincount(idx, minlength=bins).astype(x.dtype))


# -- flags ------------------------------------------------------------------------------------
_deterministic = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Recorded only: every op here is already deterministic on the CPU."""
    _deterministic["mode"], _deterministic["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic["mode"]




_CumMax = namedtuple("cummax", ["values", "indices"])


_CumMin = namedtuple("cummin", ["values", "indices"])


def is_floating_point(input) -> bool:
    return _tensor(input, "is_floating_point").is_floating_point()


# -- scans ------------------------------------------------------------------------------------
def _cumextreme(op: str, result, input, dim, ufunc: str):
    x = _tensor(input, op)
    d = _dim(dim, x.ndim, op)
    if x.ndim == 0:
        return result(x.clone(), _const(array_module(x._data).zeros((), dtype=np.int64)))
    xp = array_module(x._data)
    a = x._data
    running = SC.scan(ufunc, a, d)
    hit = a == running
    if D.is_floating(a.dtype):
        hit |= xp.isnan(a)       # nan wins from where it appears, like torch
    shape = [1] * a.ndim
    shape[d] = a.shape[d]
    pos = xp.arange(a.shape[d]).reshape(shape)
    # the latest position that set the running extreme (ties go to the later index, as in torch)
    idx = SC.scan("maximum", xp.where(hit, pos, -1), d).astype(np.int64, copy=False)
    ind = _const(idx)
    return result(x.gather(d, ind), ind)


def cummax(input, dim):
    """Running maximum along dim and where it was attained; the gradient goes to that place."""
    return _cumextreme("cummax", _CumMax, input, dim, "maximum")


def cummin(input, dim):
    """Running minimum along dim and where it was attained; the gradient goes to that place."""
    return _cumextreme("cummin", _CumMin, input, dim, "minimum")


def logcumsumexp(input, dim) -> Tensor:
    """log(cumsum(exp(input))) along dim, without overflow or underflow."""
    x = _floating(_tensor(input, "logcumsumexp"))
    d = _dim(dim, x.ndim, "logcumsumexp")
    if x.ndim == 0:
        return x * 1.0
    return SC.LogCumSumExp.apply(x, axis=d)


def renorm(input, p, dim, maxnorm) -> Tensor:
    """Each slice along dim whose p-norm exceeds maxnorm is scaled down to norm maxnorm."""
    x = _need_float(_tensor(input, "renorm"), "renorm")
    p = check_number(p, "p", "renorm", finite=False)
    maxnorm = check_number(maxnorm, "maxnorm", "renorm", finite=False)
    if p <= 0:
        raise ValueError(f"renorm: p must be positive, got {p}")
    if maxnorm < 0:
        raise ValueError(f"renorm: maxnorm must be non-negative, got {maxnorm}")
    if x.ndim == 0:
        raise ValueError("renorm: input needs at least one dimension, got shape ()")
    d = _dim(dim, x.ndim, "renorm")
    others = tuple(i for i in range(x.ndim) if i != d)
    norms = x.norm(p, dim=others, keepdim=True) if others else x.abs()
    over = norms.detach() > maxnorm
    # torch's 1e-7 keeps the scale finite for a zero slice
    return x * where(over, maxnorm / (norms + 1e-7), 1.0)




# -- repeating and moving ------------------------------------------------------------------
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None) -> Tensor:
    """Repeat each slice along dim (flattened input when dim is None) repeats[i] times.
    repeat_interleave(counts) alone gives arange(len(counts)) repeated that way."""
    op = "repeat_interleave"
    if repeats is None:
        counts = _int_tensor(input, op, input, "repeats")
        if counts.ndim != 1:
            raise ValueError(f"{op}: repeats must be 1-D, got {_desc(counts)}")
        xp = array_module(counts._data)
        return repeat_interleave(_const(xp.arange(counts.shape[0])), counts, 0,
                                 output_size=output_size)
    x = _tensor(input, op)
    if dim is None:
        x, d = x.reshape(-1), 0
    else:
        d = _dim(dim, x.ndim, op)
        x = x.reshape(1) if x.ndim == 0 else x
    n = x.shape[d]
    if isinstance(repeats, Tensor):
        _int_tensor(repeats, op, x, "repeats")
        if repeats.ndim > 1 or repeats.numel() not in (1, n):
            raise ValueError(f"{op}: repeats must have 1 or {n} entries (the size of dimension "
                             f"{d} of {tuple(x.shape)}), got {_desc(repeats)}")
        counts = repeats._data.reshape(-1)
        if counts.size and int(counts.min()) < 0:
            raise ValueError(f"{op}: repeats must be non-negative, got {counts.tolist()}")
        if counts.size == 1:
            repeats = int(counts[0])
    else:
        repeats = _non_negative((repeats,), op, "repeats")[0]
    xp = array_module(x._data)
    total = n * repeats if isinstance(repeats, int) else int(counts.sum())
    if output_size is not None and output_size != total:
        raise ValueError(f"{op}: output_size={output_size} but the repeats give {total}")
    if isinstance(repeats, int):
        # each slice broadcast along a new axis right after d, then the two axes merged
        wide = x.unsqueeze(d + 1)
        wide = wide.expand(wide.shape[:d + 1] + (repeats,) + wide.shape[d + 2:])
        return wide.reshape(x.shape[:d] + (total,) + x.shape[d + 1:])
    # counts as a list: CuPy's repeat takes no array of repeats
    positions = xp.repeat(xp.arange(n), counts.tolist()).astype(np.int64)
    return x.index_select(d, _const(positions))




def _atleast_all(tensors, n: int, op: str):
    listed = len(tensors) == 1 and isinstance(tensors[0], (list, tuple))
    out = tuple(_atleast(t, n) for t in _varargs(tensors, op))
    return out[0] if len(out) == 1 and not listed else out


def atleast_1d(*tensors):
    """Each tensor viewed with at least 1 dimension (one tensor in, one out; else a tuple)."""
    return _atleast_all(tensors, 1, "atleast_1d")


def atleast_2d(*tensors):
    """Each tensor viewed with at least 2 dimensions: 0-D -> (1, 1), (k,) -> (1, k)."""
    return _atleast_all(tensors, 2, "atleast_2d")


def atleast_3d(*tensors):
    """Each tensor viewed with at least 3 dims: (k,) -> (1, k, 1), (m, k) -> (m, k, 1)."""
    return _atleast_all(tensors, 3, "atleast_3d")


# -- flips and rotations -------------------------------------------------------------------
def rot90(input, k=1, dims=(0, 1)) -> Tensor:
    """Rotate by k * 90 degrees in the plane of dims, from the first towards the second."""
    x = _need_ndim(_tensor(input, "rot90"), 2, "rot90")
    k = check_int(k, None, "rot90", low=None) % 4
    dims = tuple(dims)
    if len(dims) != 2:
        raise ValueError(f"rot90: dims must hold two dims, got {dims}")
    a, b = _dim(dims[0], x.ndim, "rot90"), _dim(dims[1], x.ndim, "rot90")
    if a == b:
        raise ValueError(f"rot90: dims must differ, got {dims}")
    if k == 0:
        return x.clone()
    if k == 2:
        return x.flip((a, b))
    return x.flip(b if k == 1 else a).transpose(a, b)


def fliplr(input) -> Tensor:
    """Reverse dim 1 (left-right) of an input with at least 2 dims."""
    return _need_ndim(_tensor(input, "fliplr"), 2, "fliplr").flip(1)


def flipud(input) -> Tensor:
    """Reverse dim 0 (up-down)."""
    return _need_ndim(_tensor(input, "flipud"), 1, "flipud").flip(0)


def diag_embed(input, offset=0, dim1=-2, dim2=-1) -> Tensor:
    """Put input's last dim on the offset diagonal over (dim1, dim2) of a new zero tensor."""
    x = _need_ndim(_tensor(input, "diag_embed"), 1, "diag_embed")
    offset = check_int(offset, None, "diag_embed", low=None)
    nd = x.ndim + 1
    a, b = _dim(dim1, nd, "diag_embed"), _dim(dim2, nd, "diag_embed")
    if a == b:
        raise ValueError(f"diag_embed: dim1 and dim2 must differ, both are {a}")
    n = x.shape[-1] + abs(offset)
    rest = iter(x.shape[:-1])
    shape = tuple(n if i in (a, b) else next(rest) for i in range(nd))
    return M.DiagonalScatter.apply(x, shape=shape, offset=offset, dim1=a, dim2=b)


# -- broadcasting and small builders -------------------------------------------------------
def broadcast_shapes(*shapes) -> Size:
    """The shape that all of `shapes` broadcast to (an int counts as a 1-D shape)."""
    norm = []
    for s in shapes:
        if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
            s = (s,)
        if not isinstance(s, (tuple, list)):
            raise TypeError(f"broadcast_shapes: expected shapes (tuples of ints), got "
                            f"{type(s).__name__} {s!r}")
        norm.append(_non_negative(s, "broadcast_shapes", "sizes"))
    try:
        return Size(np.broadcast_shapes(*norm))
    except ValueError:
        raise ValueError(f"broadcast_shapes: shapes {' and '.join(map(str, norm))} do not "
                         "broadcast") from None


def broadcast_tensors(*tensors) -> tuple:
    """Each tensor expanded (a view) to the common broadcast shape."""
    ts = _varargs(tensors, "broadcast_tensors")
    shape = broadcast_shapes(*(t.shape for t in ts))
    return tuple(t.expand(shape) for t in ts)


def block_diag(*tensors) -> Tensor:
    """The inputs (0-D, 1-D as one row, or 2-D) placed along the diagonal of a zero matrix."""
    ts = _varargs(tensors, "block_diag")
    if not ts:
        from .creation import zeros
        return zeros(1, 0)
    for t in ts:
        if t.ndim > 2:
            raise ValueError(f"block_diag: inputs must have 2 or fewer dimensions, got "
                             f"{_desc(t)}")
    mats = [t.reshape(1, -1) if t.ndim < 2 else t for t in ts]
    width = builtins.sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        rows.append(pad(m, (left, width - left - m.shape[1])))
        left += m.shape[1]
    return cat(rows, 0)


def cartesian_prod(*tensors) -> Tensor:
    """All combinations of the 1-D inputs' entries, one per row (one input: itself)."""
    ts = _varargs(tensors, "cartesian_prod")
    if not ts or any(t.ndim != 1 for t in ts):
        raise ValueError(f"cartesian_prod: expects one or more 1-D tensors, got "
                         f"{[tuple(t.shape) for t in ts]}")
    if len(ts) == 1:
        return ts[0]
    return stack([g.reshape(-1) for g in meshgrid(*ts, indexing="ij")], 1)


def _tri_indices(op: str, fn, row, col, offset, dtype, device) -> Tensor:
    from .creation import tensor
    row, col = _non_negative((row, col), op, "row and col")
    r, c = fn(row, check_int(offset, None, op, low=None), col)
    return tensor(np.stack([r, c]), dtype=dtype, device=device)


def tril_indices(row, col, offset=0, *, dtype=D.int64, device=None, layout=None) -> Tensor:
    """2 x N coordinates of the lower triangle (on and below diagonal `offset`), row by row."""
    return _tri_indices("tril_indices", np.tril_indices, row, col, offset, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=D.int64, device=None, layout=None) -> Tensor:
    """2 x N coordinates of the upper triangle (on and above diagonal `offset`), row by row."""
    return _tri_indices("triu_indices", np.triu_indices, row, col, offset, dtype, device)


def _flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return x.reshape(1)
    s, e = _dim(start_dim, x.ndim, "flatten"), _dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:s] + (int(np.prod(x.shape[s:e + 1], dtype=np.int64)),) + x.shape[e + 1:]
    return _reshape(x, shape)


def _unflatten(x, dim, sizes):
    d = _dim(dim, x.ndim, "unflatten")
    sizes = tuple(sizes)
    if -1 not in sizes and int(np.prod(sizes)) != x.shape[d]:
        raise ValueError(f"unflatten: sizes {sizes} do not multiply to dimension {d}'s size "
                         f"{x.shape[d]}")
    return _reshape(x, x.shape[:d] + sizes + x.shape[d + 1:])


def _roll(x, shifts, dims=None):
    shifts = _ints(shifts, "roll", "shifts")
    if dims is None:
        flat = x.reshape(-1)
        return Roll.apply(flat, shifts=shifts[:1], axes=(0,)).reshape(x.shape)
    dims = _ints(dims, "roll", "dims")
    if len(shifts) != len(dims):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} differ in length")
    return Roll.apply(x, shifts=shifts, axes=tuple(_dim(d, x.ndim, "roll") for d in dims))


def _flip(x, dims):
    dims = _ints(dims, "flip", "dims")
    axes = tuple(_dim(d, x.ndim, "flip") for d in dims)
    if not x.ndim:                  # dim 0 / -1 of a 0-d tensor: nothing to reverse
        return Flip.apply(x.reshape(1), axes=(0,)).reshape(())
    return Flip.apply(x, axes=axes)


def tri(x, diagonal, lower):
    diagonal = check_int(diagonal, "diagonal", "tril" if lower else "triu", low=None, index=True)
    if x.ndim < 2:
        raise ValueError(f"{'tril' if lower else 'triu'}: input must have at least 2 dimensions, "
                         f"got shape {tuple(x.shape)}")
    xp = array_module(x._data)
    n, m = x.shape[-2:]
    keep = xp.tri(n, m, diagonal, dtype=bool) if lower else ~xp.tri(n, m, diagonal - 1, dtype=bool)
    return x.masked_fill(_const(~keep), 0)




def gcd(input, other) -> Tensor:
    """Greatest common divisor of integer tensors (no gradient)."""
    return _nondiff_binary(_tensor(input, "gcd"), other, "gcd")


def lcm(input, other) -> Tensor:
    """Least common multiple of integer tensors (no gradient)."""
    return _nondiff_binary(_tensor(input, "lcm"), other, "lcm")




# -- statistics -------------------------------------------------------------------------------
def cov(input, *, correction=1, fweights=None, aweights=None) -> Tensor:
    """Covariance of the rows (variables) over the columns (observations), with optional
    integer frequency weights and float observation weights (NumPy's cov formula)."""
    x = _tensor(input, "cov")
    if x.ndim > 2:
        raise ValueError(f"cov: expected a 1-D or 2-D input, got shape {tuple(x.shape)}")
    if not D.is_floating(x.dtype):
        x = x.to(D.get_default_dtype())
    if x.ndim < 2:
        x = x.reshape(1, -1)
    n = x.shape[1]
    w = None
    for name, wt in (("fweights", fweights), ("aweights", aweights)):
        if wt is not None:
            wt = _tensor(wt, "cov")
            if wt.ndim != 1 or wt.shape[0] != n:
                raise ValueError(f"cov: {name} must be a vector of the {n} observations, got "
                                 f"shape {tuple(wt.shape)}")
            wt = wt.to(x.dtype)
            w = wt if w is None else w * wt
    if w is None:
        avg = x.mean(1, keepdim=True)
        factor = n - correction
    else:
        w_sum = w.sum()
        avg = (x * w).sum(1, keepdim=True) / w_sum
        if aweights is None or correction == 0:
            factor = w_sum - correction
        else:
            factor = w_sum - (w * aweights.to(x.dtype)).sum() / w_sum * correction
    xm = x - avg
    c = (xm * w if w is not None else xm) @ xm.mT
    if isinstance(factor, Tensor):
        factor = factor.clamp(min=0)
    else:
        factor = max(factor, 0)
    return (c / factor).squeeze()


def corrcoef(input) -> Tensor:
    """Pearson correlation of the rows: cov / (std_i std_j), clipped to [-1, 1] as torch."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    std = c.diagonal().sqrt()
    c = c / std.unsqueeze(-1)
    c = c / std.unsqueeze(0)
    return c.clamp(-1, 1)




def ravel(input) -> Tensor:
    """The tensor flattened to 1-D."""
    return _tensor(input, "ravel").reshape(-1)


def bucketize(input, boundaries, *, out_int32=False, right=False) -> Tensor:
    """Index of each value's bucket in the sorted 1-D boundaries: boundaries[i-1] < x <=
    boundaries[i] (right=False) or boundaries[i-1] <= x < boundaries[i] (right=True)."""
    b = _tensor(boundaries, "bucketize")
    if b.ndim != 1:
        raise ValueError(f"bucketize: boundaries must be 1-D, got shape {tuple(b.shape)}")
    if isinstance(input, numbers.Number):
        input = _like(input, b)
    return searchsorted(b, input, out_int32=out_int32, right=right)




def triu(t, diagonal=0) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"triu: expected a Tensor, got {type(t).__name__}")
    return t.triu(diagonal)


def tril(t, diagonal=0) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"tril: expected a Tensor, got {type(t).__name__}")
    return t.tril(diagonal)


def diagflat(input, offset=0) -> Tensor:
    """A 2-D tensor with the flattened input on diagonal offset."""
    return diag(_t(input).flatten(), offset)


HistogramResult = namedtuple("histogram", ["hist", "bin_edges"])


def histogram(input, bins=100, *, range=None, weight=None, density=False) -> tuple:
    """(hist, bin_edges): counts (or weight sums, or a density) of input in bins, an int count
    of equal bins over range (the data's when None) or a 1-D tensor of edges; the last bin
    holds its right edge. No gradient, as torch's."""
    op = "histogram"
    x = _tensor(input, op)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point tensor, got {_desc(x)}")
    xp = array_module(x._data)
    flat = x._data.reshape(-1)
    w = None
    if weight is not None:
        w = _tensor(weight, op)
        if tuple(w.shape) != tuple(x.shape):
            raise ValueError(f"{op}: weight {_desc(w)} must have input's shape {_desc(x)}")
        w = w._data.reshape(-1)
    if isinstance(bins, Tensor):
        edges = bins._data.astype(x.dtype)
    else:
        n = check_int(bins, None, op, low=None)
        if n <= 0:
            raise ValueError(f"{op}: bins must be positive, got {n}")
        if range is not None:
            lo, hi = float(range[0]), float(range[1])
        elif flat.size:
            lo, hi = float(flat.min()), float(flat.max())
        else:
            lo, hi = 0.0, 1.0             # torch's range for no data
        if lo > hi:
            raise ValueError(f"{op}: range min ({lo}) must not exceed max ({hi})")
        if lo == hi:                      # torch widens a single value by 0.5 each side
            lo, hi = lo - 0.5, hi + 0.5
        edges = xp.linspace(lo, hi, n + 1).astype(x.dtype)
    hist, _ = xp.histogram(flat, bins=edges, weights=w, density=bool(density))
    return HistogramResult(_const(hist.astype(x.dtype)), _const(edges))
