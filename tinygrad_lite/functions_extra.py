"""Less common torch-level functions: inverse trig, atan2/hypot/remainder, cumprod and diff,
tensordot/kron/cross, diagonals, addmm, var_mean, meshgrid, cdist, det/inverse, and the
non-differentiable unique/bincount/searchsorted/histc. Differentiable ones are composed from
existing ops or call a Function in ops/extra.py; the Tensor methods in tensor.py call these."""
from __future__ import annotations

import builtins
import math

import numpy as np

from . import dtypes as D
from .backend import array_module
from .ops import linalg as L
from .ops import movement as M
from .ops import pointwise as X
from .ops import scan as SC
from .tensor import (Tensor, _axes, _binary, _const, _dim, _floating, _like, _nondiff_binary,
                     _var_dim, where)

__all__ = [
    "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "arcsin", "arccos",
    "arctan", "arcsinh", "arccosh", "arctanh", "erf", "erfc", "exp2", "log10", "atan2", "arctan2",
    "hypot", "remainder", "fmod", "floor_divide", "cumprod", "diff", "tensordot", "kron", "cross",
    "diag", "diagonal", "trace", "addmm", "baddbmm", "var_mean", "std_mean", "meshgrid",
    "isclose", "cdist", "det", "inverse", "matrix_power", "unique", "bincount", "searchsorted",
    "histc", "linalg", "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
]


def _t(x, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    return x


def _desc(*ts) -> str:
    return " and ".join(f"{tuple(t.shape)} {t.dtype}" for t in ts)


def _need_float(x: Tensor, op: str) -> Tensor:
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point tensor, got shape {tuple(x.shape)} "
                        f"{x.dtype}")
    return x


def _need_int(x, op: str):
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"{op}: expected an int, got {type(x).__name__} {x!r}")
    return int(x)


def _broadcast_shape(op: str, *ts) -> tuple:
    try:
        return tuple(np.broadcast_shapes(*(t.shape for t in ts)))
    except ValueError:
        raise ValueError(f"{op}: shapes {' and '.join(str(tuple(t.shape)) for t in ts)} do not "
                         "broadcast") from None


# -- elementwise ------------------------------------------------------------------------------
def tan(input): return _t(input, "tan").tan()
def asin(input): return _t(input, "asin").asin()
def acos(input): return _t(input, "acos").acos()
def atan(input): return _t(input, "atan").atan()
def sinh(input): return _t(input, "sinh").sinh()
def cosh(input): return _t(input, "cosh").cosh()
def asinh(input): return _t(input, "asinh").asinh()
def acosh(input): return _t(input, "acosh").acosh()
def atanh(input): return _t(input, "atanh").atanh()
def erf(input): return _t(input, "erf").erf()
def erfc(input): return _t(input, "erfc").erfc()
def exp2(input): return _t(input, "exp2").exp2()
def log10(input): return _t(input, "log10").log10()


arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh


def _second(other, a: Tensor, op: str):
    """The second operand of a binary op: a Tensor, or a number left as a number."""
    if isinstance(other, Tensor) or isinstance(other, (int, float, np.number)):
        return other
    raise TypeError(f"{op}: other must be a Tensor or a number, got {type(other).__name__} "
                    f"(input {_desc(a)})")


def _float_operands(op: str, input, other) -> tuple:
    """input as a floating tensor and other as a number or a tensor, promoted as torch does
    before going to floating point (int16 with float16 stays float16)."""
    a = _t(input, op)
    b = _second(other, a, op)
    if isinstance(b, Tensor) and a.dtype.kind != "f" and b.dtype.kind == "f":
        return a.to(b.dtype), b
    return _floating(a), b


def atan2(input, other) -> Tensor:
    """atan2(input, other), the angle of the point (other, input), with broadcasting."""
    return _binary(X.Atan2, *_float_operands("atan2", input, other))


arctan2 = atan2


def hypot(input, other) -> Tensor:
    """sqrt(input**2 + other**2), with broadcasting."""
    return _binary(X.Hypot, *_float_operands("hypot", input, other))


def remainder(input, other) -> Tensor:
    """Python's %: the result takes the sign of `other`."""
    if not isinstance(input, Tensor) and isinstance(other, Tensor):
        return _binary(X.Remainder, other, _second(input, other, "remainder"), reflected=True)
    a = _t(input, "remainder")
    return _binary(X.Remainder, a, _second(other, a, "remainder"))


def fmod(input, other) -> Tensor:
    """C's fmod: the result takes the sign of `input`."""
    a = _t(input, "fmod")
    return _binary(X.Fmod, a, _second(other, a, "fmod"))


def floor_divide(input, other) -> Tensor:
    """floor(input / other); not differentiable (its gradient is zero almost everywhere)."""
    a = _t(input, "floor_divide")
    return _nondiff_binary(a, _second(other, a, "floor_divide"), "floor_divide")


# -- scans and differences --------------------------------------------------------------------
def cumprod(input, dim, dtype=None) -> Tensor:
    """Running product along dim (integers and bools give int64, as in torch)."""
    x = _t(input, "cumprod")
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
    x = _t(input, "diff")
    n = _need_int(n, "diff")
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
        from .functions_shape import cat     # functions_shape imports this module
        x = cat(parts, d)
    for _ in range(n):
        m = x.shape[d]
        if m == 0:
            break
        hi, lo = x.narrow(d, 1, m - 1), x.narrow(d, 0, m - 1)
        x = hi.logical_xor(lo) if x.dtype.kind == "b" else hi - lo
    return x


# -- products ---------------------------------------------------------------------------------
def tensordot(a, b, dims=2) -> Tensor:
    """Contract a's dims[0] with b's dims[1] (an int n: a's last n with b's first n)."""
    a, b = _t(a, "tensordot"), _t(b, "tensordot")
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
    a, b = _t(input, "kron"), _t(other, "kron")
    n = builtins.max(a.ndim, b.ndim)
    sa = (1,) * (n - a.ndim) + tuple(a.shape)
    sb = (1,) * (n - b.ndim) + tuple(b.shape)
    # interleave the axes: a as (a0, 1, a1, 1, ...) times b as (1, b0, 1, b1, ...)
    wide_a = a.reshape(tuple(s for p in sa for s in (p, 1)))
    wide_b = b.reshape(tuple(s for p in sb for s in (1, p)))
    return (wide_a * wide_b).reshape(tuple(p * q for p, q in zip(sa, sb)))


def cross(input, other, dim=None) -> Tensor:
    """3-vector cross product along dim (None: the first dim of size 3, as torch.cross does)."""
    a, b = _t(input, "cross"), _t(other, "cross")
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
    x = _t(input, "diagonal")
    offset = _need_int(offset, "diagonal")
    if x.ndim < 2:
        raise ValueError(f"diagonal: input must have at least 2 dimensions, got shape "
                         f"{tuple(x.shape)}")
    d1, d2 = _dim(dim1, x.ndim, "diagonal"), _dim(dim2, x.ndim, "diagonal")
    if d1 == d2:
        raise ValueError(f"diagonal: dim1 and dim2 must differ, both are {d1}")
    return M.Diagonal.apply(x, offset=offset, dim1=d1, dim2=d2)


def diag(input, diagonal=0) -> Tensor:
    """1-D -> a square matrix with input on the given diagonal; 2-D -> that diagonal."""
    x = _t(input, "diag")
    k = _need_int(diagonal, "diag")
    if x.ndim == 1:
        n = x.shape[0] + abs(k)
        return M.DiagonalScatter.apply(x, shape=(n, n), offset=k, dim1=0, dim2=1)
    if x.ndim == 2:
        return M.Diagonal.apply(x, offset=k, dim1=0, dim2=1)
    raise ValueError(f"diag: expected a 1-D or 2-D tensor, got shape {tuple(x.shape)}")


def trace(input) -> Tensor:
    """Sum of the main diagonal of a matrix."""
    x = _t(input, "trace")
    if x.ndim != 2:
        raise ValueError(f"trace: expected a matrix, got shape {tuple(x.shape)}")
    return M.Diagonal.apply(x, offset=0, dim1=0, dim2=1).sum()


def _scaled_sum(op, input, product, beta, alpha) -> Tensor:
    """beta * input + alpha * product, where input must broadcast to product's shape."""
    c = _t(input, op)
    if _broadcast_shape(op, c, product) != product.shape:
        raise ValueError(f"{op}: input of shape {tuple(c.shape)} does not broadcast to the "
                         f"product's shape {tuple(product.shape)}")
    out = product if alpha == 1 else product * alpha
    if beta == 0:            # torch ignores input then, nan and inf included
        return out
    return out + (c if beta == 1 else c * beta)


def addmm(input, mat1, mat2, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2)."""
    m1, m2 = _t(mat1, "addmm"), _t(mat2, "addmm")
    if m1.ndim != 2 or m2.ndim != 2:
        raise ValueError(f"addmm: mat1 and mat2 must be matrices, got {_desc(m1, m2)}")
    return _scaled_sum("addmm", input, m1 @ m2, beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (batch1 @ batch2), batch by batch."""
    b1, b2 = _t(batch1, "baddbmm"), _t(batch2, "baddbmm")
    if b1.ndim != 3 or b2.ndim != 3 or b1.shape[0] != b2.shape[0]:
        raise ValueError(f"baddbmm: batch1 and batch2 must be 3-D with the same batch size, got "
                         f"{_desc(b1, b2)}")
    return _scaled_sum("baddbmm", input, b1 @ b2, beta, alpha)


# -- statistics -------------------------------------------------------------------------------
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None) -> tuple:
    """(var, mean) over dim, with var's correction rules."""
    x = _need_float(_t(input, "var_mean"), "var_mean")
    dim, unbiased = _var_dim("var_mean", dim, unbiased, keepdim, correction)
    dim = _axes(dim, x.ndim, op="var_mean")
    return x.var(dim, unbiased, keepdim, correction), x.mean(dim, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None) -> tuple:
    """(std, mean) over dim, with std's correction rules."""
    x = _need_float(_t(input, "std_mean"), "std_mean")
    dim, unbiased = _var_dim("std_mean", dim, unbiased, keepdim, correction)
    dim = _axes(dim, x.ndim, op="std_mean")
    return x.std(dim, unbiased, keepdim, correction), x.mean(dim, keepdim)


# -- grids and distances ----------------------------------------------------------------------
def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-D tensors; "xy" swaps the first two output dimensions."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise ValueError("meshgrid: expects at least one tensor")
    ts = [_t(t, "meshgrid") for t in tensors]
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


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> Tensor:
    """|input - other| <= atol + rtol * |other|, elementwise (bool)."""
    a = _t(input, "isclose")
    b = _like(_second(other, a, "isclose"), a)
    _broadcast_shape("isclose", a, b)
    return _const(array_module(a._data).isclose(a._data, b._data, rtol, atol, equal_nan))


def cdist(x1, x2, p=2.0, compute_mode=None) -> Tensor:
    """p-norm distances between the rows of x1 (..., P, M) and x2 (..., R, M): (..., P, R).

    Built on the (..., P, R, M) difference, so it is exact (torch's mm shortcut for big p=2
    inputs is not) but takes P*R*M memory. The gradient at zero distance is 0, as in torch.
    """
    a, b = _t(x1, "cdist"), _t(x2, "cdist")
    if a.dtype.kind != "f" or b.dtype.kind != "f":
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
        return _const((d._data != 0).sum(axis=-1).astype(d.dtype))
    if p == 1 or p == float("inf"):
        return d.norm(p, dim=-1)
    s = (d.abs() ** p).sum(-1)
    zero = s.detach() == 0
    # s ** (1/p) has an infinite slope at s == 0: keep that point out of the gradient
    return where(zero, 0.0, where(zero, 1.0, s) ** (1.0 / p))


# -- matrices ---------------------------------------------------------------------------------
def _square(x, op: str) -> Tensor:
    x = _t(x, op)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{op}: expected a square matrix or a batch of them, got shape "
                         f"{tuple(x.shape)}")
    return x


def det(input) -> Tensor:
    """Determinant of a square matrix (batched); gradient det * inverse^T."""
    return L.Det.apply(_need_float(_square(input, "det"), "det"))


def inverse(input) -> Tensor:
    """Inverse of a square matrix (batched); gradient -inv^T @ dy @ inv^T."""
    return L.Inverse.apply(_need_float(_square(input, "inverse"), "inverse"))


def matrix_power(input, n) -> Tensor:
    """input**n by repeated squaring; n < 0 inverts first; n == 0 gives the identity."""
    x = _square(input, "matrix_power")
    n = _need_int(n, "matrix_power")
    if n == 0:
        eye = array_module(x._data).eye(x.shape[-1], dtype=x.dtype)
        return _const(array_module(x._data).broadcast_to(eye, x.shape).copy())
    if n < 0:
        x, n = inverse(x), -n
    result = None
    while n:
        if n & 1:
            result = x if result is None else result @ x
        n >>= 1
        if n:
            x = x @ x
    return result


class _Linalg:
    """tl.linalg: torch.linalg's names for the matrix functions above."""

    det = staticmethod(det)
    inv = staticmethod(inverse)
    matrix_power = staticmethod(matrix_power)

    @staticmethod
    def cross(input, other, dim=-1):
        return cross(input, other, dim)


linalg = _Linalg()


# -- non-differentiable utilities -------------------------------------------------------------
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """Sorted distinct values (or slices along dim), with optional inverse indices and counts."""
    x = _t(input, "unique")
    xp = array_module(x._data)
    if dim is None:         # axis= only when asked: older CuPy has no axis argument
        u, inv, counts = xp.unique(x._data.reshape(-1), return_inverse=True, return_counts=True)
        inv_shape = x.shape
    else:
        axis = _dim(dim, x.ndim, "unique")
        u, inv, counts = xp.unique(x._data, return_inverse=True, return_counts=True, axis=axis)
        inv_shape = (x.shape[axis],)
    if not (return_inverse or return_counts):
        return _const(u)
    out = [_const(u)]
    if return_inverse:
        out.append(_const(inv.reshape(inv_shape).astype(np.int64)))
    if return_counts:
        out.append(_const(counts.astype(np.int64)))
    return tuple(out)


def bincount(input, weights=None, minlength=0) -> Tensor:
    """Counts of each value of a 1-D non-negative integer tensor (sums of weights if given)."""
    x = _t(input, "bincount")
    minlength = _need_int(minlength, "bincount")
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
    w = _t(weights, "bincount")
    if w.shape != x.shape:
        raise ValueError(f"bincount: weights must match input, got {_desc(x, w)}")
    out_dtype = w.dtype if w.dtype.kind == "f" else D.float64
    return _const(xp.bincount(x._data, weights=w._data, minlength=minlength).astype(out_dtype))


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None) -> Tensor:
    """Insertion indices of input into the last dim of sorted_sequence (left or right)."""
    seq = _t(sorted_sequence, "searchsorted")
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
        so = _t(sorter, "searchsorted")
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
    x = _t(input, "histc")
    if x.dtype.kind != "f":
        raise TypeError(f"histc: expected a floating point tensor, got {_desc(x)}")
    bins = _need_int(bins, "histc")
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
