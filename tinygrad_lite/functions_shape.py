"""More of torch's shape and indexing functions: repeat_interleave, tile, movedim, tensor_split
and the h/v/d splits and stacks, rot90, take, scatter and the index_* family, masked_select and
masked_scatter, unfold, diag_embed, broadcasting helpers, atleast_*d, block_diag,
cartesian_prod, tril/triu_indices, and checked matrix products (mm, bmm, mv, dot, outer, inner).

All differentiable ones are composed from existing ops, except scatter/index_copy (one Function in
ops/movement_extra.py, since a scatter-add composition would sum repeated indices). The Tensor
methods in tensor.py call these; in-place forms go through tensor._inplace like add_ does."""
from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from . import dtypes as D
from .backend import array_module, check_later
from .functions_extra import _desc, _need_int, _t, meshgrid, tensordot
from .ops import indexing as IX
from .ops import movement as M
from .ops.indexing import Gather, GetItem, ScatterAdd, SetItem
from .ops.movement import Cat, Expand, Flip, PadConstant, Permute, Reshape, Roll
from .tensor import Size, Tensor, _const, _dim, _inplace, _like, where

__all__ = [
    "repeat_interleave", "tile", "movedim", "moveaxis", "tensor_split", "hsplit", "vsplit",
    "dsplit", "hstack", "vstack", "row_stack", "dstack", "column_stack", "rot90", "fliplr",
    "flipud", "take", "take_along_dim", "scatter", "index_add", "index_copy", "index_fill",
    "index_put", "index_put_", "masked_select", "masked_scatter", "diag_embed",
    "broadcast_tensors", "broadcast_shapes", "atleast_1d", "atleast_2d", "atleast_3d",
    "block_diag", "cartesian_prod", "tril_indices", "triu_indices", "mv", "dot", "inner",
]


# -- checks shared by the functions below ------------------------------------------------------
def _int_tensor(index, op: str, ref: Tensor, what: str = "index") -> Tensor:
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}: {what} must be a Tensor, got {type(index).__name__}")
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: {what} must be an integer tensor, got {_desc(index)}")
    if index.device != ref.device:
        raise RuntimeError(f"{op}: {what} is on {index.device} but input is on {ref.device}")
    return index


def _in_range(index, n: int, d: int, op: str, negative: bool = False) -> None:
    """IndexError naming the first bad index unless every entry lies in [0, n) ([-n, n))."""
    if not index.size:
        return
    lo, hi = int(index.min()), int(index.max())
    bad = hi if hi >= n else lo if lo < (-n if negative else 0) else None
    if bad is not None:
        raise IndexError(f"{op}: index {bad} is out of range for dimension {d} of size {n}")


def _non_negative(values, op: str, what: str) -> tuple:
    values = tuple(_need_int(v, op) for v in values)
    if any(v < 0 for v in values):
        raise ValueError(f"{op}: {what} must be non-negative, got {values}")
    return values


def _need_ndim(x: Tensor, n: int, op: str) -> Tensor:
    if x.ndim < n:
        raise ValueError(f"{op}: expects a tensor with at least {n} dimension(s), got shape "
                         f"{tuple(x.shape)}")
    return x


def _same_dtype(op: str, a: Tensor, b: Tensor, what: str = "source") -> None:
    if a.dtype != b.dtype:
        raise TypeError(f"{op}: input and {what} must have the same dtype, got {_desc(a, b)}")


def _tensors(tensors, op: str) -> list:
    """A non-empty sequence of Tensors (torch's stacking functions take one sequence)."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expected a sequence of Tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    return [_t(t, op) for t in tensors]


def _varargs(tensors, op: str) -> list:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    return [_t(t, op) for t in tensors]


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
    x = _t(input, op)
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


def tile(input, dims) -> Tensor:
    """repeat, with dims padded by leading 1s when it is shorter than input's dimensions."""
    x = _t(input, "tile")
    if not isinstance(dims, (tuple, list)):
        raise TypeError(f"tile: dims must be a tuple of ints, got {type(dims).__name__} "
                        f"{dims!r} (input {tuple(x.shape)} {x.dtype})")
    dims = _non_negative(dims, "tile", "dims")
    return x.repeat((1,) * (x.ndim - len(dims)) + dims)


def movedim(input, source, destination) -> Tensor:
    """Move dims `source` to positions `destination`; the rest keep their order."""
    x = _t(input, "movedim")
    src = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    dst = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {src} and destination {dst} differ in length")
    src = [_dim(s, x.ndim, "movedim") for s in src]
    dst = [_dim(s, x.ndim, "movedim") for s in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"movedim: repeated dim in source {src} or destination {dst}")
    if x.ndim == 0:
        return x
    order = [None] * x.ndim
    for s, t in zip(src, dst):
        order[t] = s
    rest = iter(d for d in range(x.ndim) if d not in src)
    return x.permute(*[o if o is not None else next(rest) for o in order])


moveaxis = movedim


# -- splitting and stacking ----------------------------------------------------------------
def tensor_split(input, indices_or_sections, dim=0) -> tuple:
    """An int n: n nearly equal parts (the first n % size one longer). A list: cut before each
    index, with Python's slice rules (negative indices count from the end)."""
    op = "tensor_split"
    x = _need_ndim(_t(input, op), 1, op)
    d = _dim(dim, x.ndim, op)
    n = x.shape[d]
    cuts = indices_or_sections
    if isinstance(cuts, Tensor):
        _int_tensor(cuts, op, x, "indices_or_sections")
        if cuts.ndim > 1:
            raise ValueError(f"{op}: indices_or_sections must be 0-D or 1-D, got {_desc(cuts)}")
        cuts = int(cuts.item()) if cuts.ndim == 0 else cuts.tolist()
    if isinstance(cuts, (int, np.integer)) and not isinstance(cuts, bool):
        if cuts <= 0:
            raise ValueError(f"{op}: number of sections must be positive, got {cuts}")
        q, r = divmod(n, int(cuts))
        sizes = [q + 1] * r + [q] * (int(cuts) - r)
        cuts = [sum(sizes[:i + 1]) for i in range(len(sizes) - 1)]
    elif isinstance(cuts, (list, tuple)):
        cuts = [_need_int(c, op) for c in cuts]
    else:
        raise TypeError(f"{op}: indices_or_sections must be an int, a list of ints or an "
                        f"integer tensor, got {type(cuts).__name__}")
    bounds = [None] + cuts + [None]
    head = (slice(None),) * d
    return tuple(x[head + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:]))


def _split_dim(op: str, input, indices_or_sections, min_ndim: int, d) -> tuple:
    x = _need_ndim(_t(input, op), min_ndim, op)
    d = d(x)
    s = indices_or_sections
    if isinstance(s, (int, np.integer)) and (s <= 0 or x.shape[d] % s):
        raise ValueError(f"{op}: dimension {d} of size {x.shape[d]} (shape {tuple(x.shape)}) "
                         f"does not split into {s} equal sections")
    return tensor_split(x, s, d)


def hsplit(input, indices_or_sections) -> tuple:
    """tensor_split along dim 1 (dim 0 for a 1-D input); an int must divide the size."""
    return _split_dim("hsplit", input, indices_or_sections, 1, lambda x: 1 if x.ndim > 1 else 0)


def vsplit(input, indices_or_sections) -> tuple:
    """tensor_split along dim 0 of an input with at least 2 dims; an int must divide the size."""
    return _split_dim("vsplit", input, indices_or_sections, 2, lambda x: 0)


def dsplit(input, indices_or_sections) -> tuple:
    """tensor_split along dim 2 of an input with at least 3 dims; an int must divide the size."""
    return _split_dim("dsplit", input, indices_or_sections, 3, lambda x: 2)


def _atleast(x: Tensor, n: int) -> Tensor:
    """Leading 1s up to n dims, except that atleast_3d puts a 1-D (k,) at (1, k, 1) and a
    2-D (m, k) at (m, k, 1), as NumPy and torch do."""
    if x.ndim >= n:
        return x
    if n == 3 and x.ndim == 2:
        return x.unsqueeze(-1)
    if n == 3 and x.ndim == 1:
        return x.reshape(1, -1, 1)
    return x.reshape((1,) * (n - x.ndim) + tuple(x.shape))


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


def hstack(tensors) -> Tensor:
    """Concatenate along dim 1 (dim 0 when the inputs are 1-D)."""
    ts = [_atleast(t, 1) for t in _tensors(tensors, "hstack")]
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Concatenate along dim 0 after making each input at least 2-D."""
    return cat([_atleast(t, 2) for t in _tensors(tensors, "vstack")], 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    """Concatenate along dim 2 after making each input at least 3-D."""
    return cat([_atleast(t, 3) for t in _tensors(tensors, "dstack")], 2)


def column_stack(tensors) -> Tensor:
    """0-D and 1-D inputs become columns; everything is concatenated along dim 1."""
    ts = _tensors(tensors, "column_stack")
    return cat([t.reshape(-1, 1) if t.ndim < 2 else t for t in ts], 1)


# -- flips and rotations -------------------------------------------------------------------
def rot90(input, k=1, dims=(0, 1)) -> Tensor:
    """Rotate by k * 90 degrees in the plane of dims, from the first towards the second."""
    x = _need_ndim(_t(input, "rot90"), 2, "rot90")
    k = _need_int(k, "rot90") % 4
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
    return _need_ndim(_t(input, "fliplr"), 2, "fliplr").flip(1)


def flipud(input) -> Tensor:
    """Reverse dim 0 (up-down)."""
    return _need_ndim(_t(input, "flipud"), 1, "flipud").flip(0)


# -- gathering -----------------------------------------------------------------------------
def take(input, index) -> Tensor:
    """input viewed as 1-D, picked at index; the result has index's shape."""
    x = _t(input, "take")
    idx = _int_tensor(index, "take", x)
    _in_range(idx._data, x.numel(), 0, "take", negative=True)
    return x.reshape(-1)[idx]


def take_along_dim(input, indices, dim=None) -> Tensor:
    """gather along dim, with input and indices broadcast against each other in the other dims;
    dim None: both are flattened first."""
    op = "take_along_dim"
    x = _t(input, op)
    idx = _int_tensor(indices, op, x, "indices")
    if dim is None:
        return x.reshape(-1).gather(0, idx.reshape(-1))
    d = _dim(dim, x.ndim, op)
    if idx.ndim != x.ndim:
        raise ValueError(f"{op}: input and indices must have the same number of dimensions, got "
                         f"{_desc(x, idx)}")
    try:
        rest = np.broadcast_shapes(x.shape[:d] + x.shape[d + 1:], idx.shape[:d] + idx.shape[d + 1:])
    except ValueError:
        raise ValueError(f"{op}: input and indices do not broadcast outside dim {d}: "
                         f"{_desc(x, idx)}") from None
    x = x.expand(rest[:d] + (x.shape[d],) + rest[d:])
    return x.gather(d, idx.expand(rest[:d] + (idx.shape[d],) + rest[d:]))


# -- scattering ----------------------------------------------------------------------------
def _scatter_index(x: Tensor, dim, index, op: str):
    idx = _int_tensor(index, op, x)
    d = _dim(dim, x.ndim, op)
    if idx.ndim != x.ndim or any(i > n for k, (i, n) in enumerate(zip(idx.shape, x.shape))
                                 if k != d):
        raise ValueError(f"{op}: index {tuple(idx.shape)} must have input's dimensions and be "
                         f"no larger outside dim {d} (input {tuple(x.shape)})")
    _in_range(idx._data, x.shape[d] if x.ndim else 1, d, op)
    return d, idx._data


def scatter(input, dim, index, src=None, value=None, *, reduce=None) -> Tensor:
    """out = input with out[..index[i]..] = src[i] (or value) along dim. With repeated indices
    which write wins is undefined (as in torch); reduce= is not supported."""
    x = _t(input, "scatter")
    if reduce is not None:
        raise ValueError(f"scatter: reduce={reduce!r} is not supported (only reduce=None); use "
                         "scatter_add or index_add for sums")
    if src is not None and not isinstance(src, Tensor):
        src, value = value, src          # scatter(dim, index, 1.5): the number is the value
    if (src is None) == (value is None):
        raise TypeError("scatter: expected exactly one of src (a Tensor) and value (a number)")
    if not x.ndim and isinstance(index, Tensor) and not index.ndim:
        # 0-d as a 1-element vector, so the backward's gather has an axis to work along
        if src is not None and not src.ndim:
            src = src.reshape(1)
        return scatter(x.reshape(1), dim, index.reshape(1), src, value).reshape(())
    d, idx = _scatter_index(x, dim, index, "scatter")
    xp = array_module(x._data)
    if src is None:
        return x.masked_fill(_const(IX.written_mask(xp, x.shape, idx, d)), value)
    _same_dtype("scatter", x, src, "src")
    if src.ndim != idx.ndim or any(s < i for s, i in zip(src.shape, idx.shape)):
        raise ValueError(f"scatter: src {tuple(src.shape)} must be at least as large as index "
                         f"{tuple(idx.shape)} in every dimension")
    if src.shape != idx.shape:
        src = src[tuple(slice(0, n) for n in idx.shape)]
    return IX.Scatter.apply(x, src, index=idx, axis=d)


def _index_along(x: Tensor, dim, index, op: str, negative: bool = False):
    """dim and the 1-D index array of the index_* ops, checked against x's size along dim."""
    _need_ndim(x, 1, op)
    d = _dim(dim, x.ndim, op)
    idx = _int_tensor(index, op, x)
    if idx.ndim > 1:
        raise ValueError(f"{op}: index must be 0-D or 1-D, got {_desc(idx)}")
    _in_range(idx._data, x.shape[d], d, op, negative)
    return d, idx._data.reshape(-1)


def _source_along(x: Tensor, d: int, k: int, source, op: str) -> Tensor:
    src = _t(source, op)
    _same_dtype(op, x, src)
    want = x.shape[:d] + (k,) + x.shape[d + 1:]
    if tuple(src.shape) != want:
        raise ValueError(f"{op}: source of shape {tuple(src.shape)} must have shape {want} "
                         f"(input {tuple(x.shape)}, {k} indices along dim {d})")
    return src


def _spread(idx, d: int, shape: tuple):
    """The 1-D index placed along dim d and broadcast to shape (a scatter index)."""
    view = [1] * len(shape)
    view[d] = -1
    return array_module(idx).broadcast_to(idx.reshape(view), shape)


def _scalar_along(x: Tensor, dim, index, op: str, source=None):
    """A 0-d input taken as one element along dim 0 (torch allows dim 0 or -1): the input, the
    index and source as 1-element vectors; the caller reshapes the result back to 0-d."""
    _dim(dim, 0, op)
    idx = _int_tensor(index, op, x)
    if idx.numel() != 1 and (source is not None or op == "index_select"):
        raise ValueError(f"{op}: an index into a 0-d tensor must have one element, got "
                         f"{_desc(idx)}")
    src = None
    if source is not None:
        src = _t(source, op)
        if src.numel() != 1:
            raise ValueError(f"{op}: source of shape {tuple(src.shape)} must have one element "
                             "for a 0-d input")
        src = src.reshape(1)
    return x.reshape(1), idx.reshape(-1), src


def index_add(input, dim, index, source, *, alpha=1) -> Tensor:
    """out = input with alpha * source[i] added at input[.., index[i], ..] (repeats accumulate)."""
    x = _t(input, "index_add")
    if not x.ndim:
        x, index, source = _scalar_along(x, dim, index, "index_add", source)
        return index_add(x, 0, index, source, alpha=alpha).reshape(())
    d, idx = _index_along(x, dim, index, "index_add")
    src = _source_along(x, d, idx.shape[0], source, "index_add")
    if alpha != 1:
        src = src * alpha
    return IX.ScatterAdd.apply(x, src, index=_spread(idx, d, src.shape), axis=d)


def index_copy(input, dim, index, source) -> Tensor:
    """out = input with input[.., index[i], ..] replaced by source[i] along dim."""
    x = _t(input, "index_copy")
    if not x.ndim:
        x, index, source = _scalar_along(x, dim, index, "index_copy", source)
        return index_copy(x, 0, index, source).reshape(())
    d, idx = _index_along(x, dim, index, "index_copy")
    src = _source_along(x, d, idx.shape[0], source, "index_copy")
    return IX.Scatter.apply(x, src, index=_spread(idx, d, src.shape), axis=d)


def index_fill(input, dim, index, value) -> Tensor:
    """out = input with the slices at index along dim set to value."""
    x = _t(input, "index_fill")
    if not x.ndim:
        x, index, _ = _scalar_along(x, dim, index, "index_fill")
        return index_fill(x, 0, index, value).reshape(())
    d, idx = _index_along(x, dim, index, "index_fill", negative=True)
    mask = array_module(x._data).zeros(x.shape, dtype=bool)
    mask[(slice(None),) * d + (idx,)] = True
    return x.masked_fill(_const(mask), value)


def index_put_(input, indices, values, accumulate=False) -> Tensor:
    """input[indices] = values in place (+= with accumulate, where repeated indices add up)."""
    x = _t(input, "index_put_")
    if not isinstance(indices, (tuple, list)) or not all(isinstance(i, Tensor) for i in indices):
        raise TypeError(f"index_put_: indices must be a tuple of Tensors, got {indices!r}")
    for i in indices:
        if i.dtype.kind not in "biu":
            raise TypeError(f"index_put_: indices must be integer or bool tensors, got {_desc(i)}")
    idx, _ = _convert_index(tuple(indices), x)
    try:
        target = x._data[idx].shape
    except IndexError as e:
        raise IndexError(f"index_put_: indices {[tuple(i.shape) for i in indices]} do not fit "
                         f"a tensor of shape {tuple(x.shape)}: {e}") from None
    v = _like(values, x)
    if isinstance(values, Tensor):
        _same_dtype("index_put_", x, v, "values")
    elif v.dtype != x.dtype:
        v = v.to(x.dtype)
    if not _broadcasts_to(v.shape, target):
        raise ValueError(f"index_put_: values of shape {tuple(v.shape)} do not broadcast to the "
                         f"indexed shape {target} (input {tuple(x.shape)})")
    if not accumulate:
        setitem(x, idx, v)
        return x
    v = v.expand(target)
    return _inplace(x, lambda t: t + IX.IndexAdd.apply(v, shape=x.shape, index=idx,
                                                      advanced=True), False)


def _broadcasts_to(shape, target) -> bool:
    try:
        return tuple(np.broadcast_shapes(tuple(shape), tuple(target))) == tuple(target)
    except ValueError:
        return False


def index_put(input, indices, values, accumulate=False) -> Tensor:
    """Out-of-place index_put_: a copy of input with input[indices] = values (or +=)."""
    return index_put_(_t(input, "index_put").clone(), indices, values, accumulate)


def _bool_mask(mask, x: Tensor, op: str) -> Tensor:
    if not isinstance(mask, Tensor) or mask.dtype.kind != "b":
        kind = _desc(mask) if isinstance(mask, Tensor) else type(mask).__name__
        raise TypeError(f"{op}: mask must be a bool tensor, got {kind}")
    if mask.device != x.device:
        raise RuntimeError(f"{op}: mask is on {mask.device} but input is on {x.device}")
    return mask


def masked_select(input, mask) -> Tensor:
    """The 1-D tensor of input's entries where mask (broadcast with input) is True."""
    x = _t(input, "masked_select")
    m = _bool_mask(mask, x, "masked_select")
    shape = broadcast_shapes(x.shape, m.shape)
    return x.expand(shape)[m.expand(shape)]


def masked_scatter(input, mask, source) -> Tensor:
    """out = input with the places where mask is True filled, in row-major order, by the first
    entries of source."""
    x = _t(input, "masked_scatter")
    m = _bool_mask(mask, x, "masked_scatter")
    src = _t(source, "masked_scatter")
    _same_dtype("masked_scatter", x, src)
    shape = tuple(broadcast_shapes(x.shape, m.shape))
    xp = array_module(x._data)
    where_true = xp.broadcast_to(m._data, shape)
    pos = xp.nonzero(where_true.reshape(-1))[0]
    if pos.size > src.numel():
        raise ValueError(f"masked_scatter: mask selects {pos.size} places but source has only "
                         f"{src.numel()} elements ({_desc(x, src)})")
    vals = src.reshape(-1)[:pos.size]
    placed = IX.IndexAdd.apply(vals, shape=(math.prod(shape),), index=(pos,), advanced=True)
    return where(_const(where_true), placed.reshape(shape), x)


# -- windows and diagonals -----------------------------------------------------------------
def unfold(input, dimension, size, step) -> Tensor:
    """Tensor.unfold: every window of `size` along dimension, `step` apart, as a new last dim.
    A copy here (torch returns a view)."""
    x = _t(input, "unfold")
    size, step = _need_int(size, "unfold"), _need_int(step, "unfold")
    if step <= 0 or size < 0:
        raise ValueError(f"unfold: step must be positive and size non-negative, got size {size} "
                         f"step {step}")
    if x.ndim == 0:
        _dim(dimension, 0, "unfold")
        return unfold(x.reshape(1), 0, size, step).reshape(size)
    d = _dim(dimension, x.ndim, "unfold")
    n = x.shape[d]
    if size > n:
        raise ValueError(f"unfold: size {size} is larger than dimension {d}'s size {n} (shape "
                         f"{tuple(x.shape)})")
    count = (n - size) // step + 1
    xp = array_module(x._data)
    pos = (xp.arange(count)[:, None] * step + xp.arange(size)[None, :]).reshape(-1)
    out = x.index_select(d, _const(pos.astype(np.int64)))
    out = out.reshape(x.shape[:d] + (count, size) + x.shape[d + 1:])
    return movedim(out, d + 1, -1)


def diag_embed(input, offset=0, dim1=-2, dim2=-1) -> Tensor:
    """Put input's last dim on the offset diagonal over (dim1, dim2) of a new zero tensor."""
    x = _need_ndim(_t(input, "diag_embed"), 1, "diag_embed")
    offset = _need_int(offset, "diag_embed")
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
    r, c = fn(row, _need_int(offset, op), col)
    return tensor(np.stack([r, c]), dtype=dtype, device=device)


def tril_indices(row, col, offset=0, *, dtype=D.int64, device=None, layout=None) -> Tensor:
    """2 x N coordinates of the lower triangle (on and below diagonal `offset`), row by row."""
    return _tri_indices("tril_indices", np.tril_indices, row, col, offset, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=D.int64, device=None, layout=None) -> Tensor:
    """2 x N coordinates of the upper triangle (on and above diagonal `offset`), row by row."""
    return _tri_indices("triu_indices", np.triu_indices, row, col, offset, dtype, device)


# -- checked matrix products (tl.mm/bmm/outer in functions.py stay the lenient matmul forms) --
def _product_args(op: str, a, b, ndims: tuple, what: str) -> tuple:
    a, b = _t(a, op), _t(b, op)
    if (a.ndim, b.ndim) != ndims:
        raise ValueError(f"{op}: expected {what}, got {_desc(a, b)}")
    if a.dtype != b.dtype:
        raise TypeError(f"{op}: expected both inputs to have the same dtype, got {_desc(a, b)}")
    k = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if a.shape[-1] != k:
        raise ValueError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} do not line up "
                         f"({a.shape[-1]} != {k})")
    return a, b


def mm(input, mat2) -> Tensor:
    """Matrix product of two 2-D tensors."""
    a, b = _product_args("mm", input, mat2, (2, 2), "two matrices")
    return a @ b


def bmm(input, mat2) -> Tensor:
    """Batched matrix product of (b, n, m) and (b, m, p)."""
    a, b = _product_args("bmm", input, mat2, (3, 3), "two 3-D tensors")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: batch sizes differ: {_desc(a, b)}")
    return a @ b


def mv(input, vec) -> Tensor:
    """Matrix-vector product: (n, m) @ (m,) -> (n,)."""
    a, b = _product_args("mv", input, vec, (2, 1), "a matrix and a vector")
    return a @ b


def dot(input, other) -> Tensor:
    """Inner product of two 1-D tensors of the same length (a 0-D result)."""
    a, b = _product_args("dot", input, other, (1, 1), "two 1-D tensors")
    return a @ b


def outer(input, vec2) -> Tensor:
    """out[i, j] = input[i] * vec2[j] for 1-D inputs."""
    a, b = _t(input, "outer"), _t(vec2, "outer")
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"outer: expected two 1-D tensors, got {_desc(a, b)}")
    return a.reshape(-1, 1) * b.reshape(1, -1)


def inner(input, other) -> Tensor:
    """Sum over the last dims: out[i.., j..] = sum_k input[i.., k] * other[j.., k]."""
    a, b = _t(input, "inner"), _t(other, "inner")
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.dtype != b.dtype:
        raise TypeError(f"inner: expected both inputs to have the same dtype, got {_desc(a, b)}")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"inner: last dimensions differ: {_desc(a, b)}")
    return tensordot(a, b, dims=([-1], [-1]))


def stride(x: Tensor, dim=None):
    """The strides, in elements, torch reports for a contiguous tensor of x's shape. This engine
    keeps NumPy/CuPy arrays, whose real layout may differ (after transpose, say); every op here
    accepts any layout, so these numbers describe the logical contiguous layout only."""
    out, step = [], 1
    for n in reversed(x.shape):
        out.append(step)
        step *= builtins.max(n, 1)
    strides = tuple(reversed(out))
    if dim is None:
        return strides
    if x.ndim == 0:
        raise IndexError("stride: a 0-D tensor has no dimensions to ask about")
    return strides[_dim(dim, x.ndim, "stride")]


def _is_sequence(value) -> bool:
    """A list, tuple, 1-d array or tensor; not a string or a single (0-d) number."""
    return hasattr(value, "__len__") and not isinstance(value, str) and \
        getattr(value, "ndim", 1) > 0


def _int(value, op: str, name: str) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int, got {type(value).__name__} "
                        f"{value!r}") from None


def _ints(value, op: str, name: str) -> tuple:
    """One int or a sequence of ints as a tuple; a TypeError naming op otherwise."""
    try:
        if _is_sequence(value):
            return tuple(operator.index(v) for v in value)
        return (operator.index(value),)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int or a sequence of ints, got "
                        f"{type(value).__name__} {value!r}") from None


def _view(out, x):
    """When `out` shares x's memory, share x's version counter too (as torch's views do), so an
    in-place change through either one invalidates what backward saved of the other."""
    if getattr(out._data, "base", None) is not None:
        out._version = x._version
        if out.grad_fn is not None:
            # lets an in-place op on the view write through to x's graph (tensor._inplace);
            # x holds no link back to this node, so no cycle
            out.grad_fn.view_base = x
    return out


def reshape(x, shape):
    shape = tuple(shape)
    if shape == x.shape:
        return x
    known = [s for s in shape if s != -1]
    if shape.count(-1) > 1 or any(s < -1 for s in shape):
        raise ValueError(f"reshape: invalid shape {shape}")
    total = int(np.prod(known, dtype=np.int64)) if known else 1
    n = x.numel()
    if (-1 not in shape and total != n) or (-1 in shape and (total == 0 or n % total)):
        raise ValueError(f"reshape: shape {shape} is invalid for input of size {n} "
                         f"(shape {tuple(x.shape)})")
    return _view(Reshape.apply(x, shape=shape), x)


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return x.reshape(1)
    s, e = _dim(start_dim, x.ndim, "flatten"), _dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:s] + (int(np.prod(x.shape[s:e + 1], dtype=np.int64)),) + x.shape[e + 1:]
    return reshape(x, shape)


def unflatten(x, dim, sizes):
    d = _dim(dim, x.ndim, "unflatten")
    sizes = tuple(sizes)
    if -1 not in sizes and int(np.prod(sizes)) != x.shape[d]:
        raise ValueError(f"unflatten: sizes {sizes} do not multiply to dimension {d}'s size "
                         f"{x.shape[d]}")
    return reshape(x, x.shape[:d] + sizes + x.shape[d + 1:])


def permute(x, dims):
    if len(dims) != x.ndim:
        raise ValueError(f"permute: got {len(dims)} dims for a tensor with {x.ndim} dimensions "
                         f"(shape {tuple(x.shape)})")
    dims = tuple(_dim(d, x.ndim, "permute") for d in dims)
    if len(set(dims)) != len(dims):
        raise ValueError(f"permute: repeated dim in {dims}")
    if dims == tuple(range(x.ndim)):
        return x
    return _view(Permute.apply(x, dims=dims), x)


def transpose(x, d0, d1):
    if x.ndim < 2 and x.ndim == 0:
        return x
    a, b = _dim(d0, x.ndim, "transpose"), _dim(d1, x.ndim, "transpose")
    if a == b:
        return x
    dims = list(range(x.ndim))
    dims[a], dims[b] = dims[b], dims[a]
    return _view(Permute.apply(x, dims=tuple(dims)), x)


def squeeze(x, dim=None):
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        dims = {_dim(d, x.ndim, "squeeze") for d in dims} if x.ndim else set()
        shape = tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1))
    return reshape(x, shape)


def unsqueeze(x, dim):
    d = _dim(dim, x.ndim + 1, "unsqueeze")
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def expand(x, shape):
    shape = tuple(shape)
    if len(shape) < x.ndim:
        raise ValueError(f"expand: the number of sizes ({len(shape)}) must be at least the "
                         f"tensor's dimensions ({x.ndim}), shape {tuple(x.shape)}")
    lead = len(shape) - x.ndim
    out = list(shape)
    for i, n in enumerate(x.shape):
        want = shape[lead + i]
        if want == -1:
            out[lead + i] = n
        elif n != 1 and n != want:
            raise ValueError(f"expand: the expanded size {want} must match the existing size {n} "
                             f"at dimension {lead + i} (shape {tuple(x.shape)} -> {shape})")
    out = tuple(out)
    if out == x.shape:
        return x
    return _view(Expand.apply(x, shape=out), x)


def repeat(x, sizes):
    """Tile x: composed from reshape + expand + reshape so it differentiates for free."""
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: number of repeat dims ({len(sizes)}) can not be smaller than "
                         f"the tensor's dimensions ({x.ndim})")
    shape = (1,) * (len(sizes) - x.ndim) + x.shape
    x = x.reshape(shape)
    inter = []
    for n in shape:
        inter += [1, n]
    big = []
    for r, n in zip(sizes, shape):
        big += [r, n]
    out = x.reshape(inter).expand(big).reshape(tuple(r * n for r, n in zip(sizes, shape)))
    if any(st == 0 and n > 1 for st, n in zip(out._data.strides, out.shape)):
        out = out.clone()       # torch's repeat always copies: the result takes in-place ops
    return out


# -- indexing ------------------------------------------------------------------------------
def _convert_index(index, x):
    """Tensors inside an index become arrays on x's device; lists become int64 arrays."""
    xp = array_module(x._data)
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    advanced = False
    for i in index:
        if isinstance(i, Tensor):
            if i.device != x.device and x.device == "cpu":
                raise RuntimeError(f"getitem: index on {i.device} but tensor on {x.device}")
            i = i._data if i.device == x.device else xp.asarray(i._data)   # torch moves a CPU index
            if i.dtype.kind not in "biu":
                raise IndexError(f"getitem: tensors used as indices must be long or bool, "
                                 f"got {i.dtype}")
        elif isinstance(i, list):
            i = xp.asarray(i)
            if i.dtype.kind not in "biu":
                raise IndexError("getitem: lists used as indices must hold ints or bools")
        elif isinstance(i, np.ndarray) and xp is not np:
            i = xp.asarray(i)
        if hasattr(i, "dtype") and getattr(i, "ndim", 0) >= 0 and not isinstance(i, np.generic):
            advanced = True
        out.append(i)
    return tuple(out), advanced


def getitem(x, index):
    idx, advanced = _convert_index(index, x)
    try:
        out = GetItem.apply(x, index=idx, advanced=advanced)
    except IndexError as e:
        raise IndexError(f"getitem: index {index!r} does not fit shape {tuple(x.shape)}: {e}") \
            from None
    return out if advanced else _view(out, x)


def setitem(x, index, value):
    idx, advanced = _convert_index(index, x)
    v = _like(value, x)
    if v.dtype != x.dtype:
        v = v.to(x.dtype)
    if v.device != x.device:
        raise RuntimeError(f"setitem: value on {v.device} but tensor on {x.device}")
    try:
        np.broadcast_shapes(np.empty(x.shape, np.bool_)[idx].shape if x.device == "cpu"
                            else v.shape, v.shape)
    except (ValueError, IndexError) as e:
        raise ValueError(f"setitem: cannot assign value of shape {tuple(v.shape)} to index "
                         f"{index!r} of a tensor of shape {tuple(x.shape)}: {e}") from None
    assert isinstance(x, Tensor)
    # SetItem saves nothing of x, so it may write straight into x's array
    _inplace(x, lambda t: SetItem.apply(t, v, index=idx, advanced=advanced), False)


def _check_index(x, dim, index, op):
    """(dim, index on x's device) once the index fits x for gather/scatter along dim."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}: index must be a Tensor, got {type(index).__name__}")
    index = _index_on(x, index, op)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got {index.dtype}")
    if index.ndim != x.ndim:
        raise ValueError(f"{op}: index {tuple(index.shape)} and input {tuple(x.shape)} must have "
                         "the same number of dimensions")
    d = _dim(dim, x.ndim, op)
    if any(i > n for k, (i, n) in enumerate(zip(index.shape, x.shape)) if k != d):
        raise ValueError(f"{op}: index {tuple(index.shape)} must not be larger than input "
                         f"{tuple(x.shape)} apart from dimension {d}")
    _check_range(index._data, x.shape[d], f"{op}: index out of range for dimension {d} of "
                                        f"size {x.shape[d]}")
    return d, index


def _check_range(index, n: int, message: str) -> None:
    """-n <= index < n: at once on the host; on the GPU at the next sync (no stall here)."""
    if not index.size:
        return
    xp = array_module(index)
    failed = (index.max() >= n) | (index.min() < -n)
    if xp is np:
        if failed:
            raise IndexError(message)
    else:
        check_later(failed, f"IndexError: {message}")


def _index_on(x, index, op):
    """The index tensor on x's device: torch takes a CPU index for a CUDA tensor."""
    if index.device == x.device:
        return index
    if x.device == "cpu":
        raise RuntimeError(f"{op}: index on {index.device} but input on {x.device}")
    return index.to(x.device)


def gather(x, dim, index):
    if x.ndim == 0 and isinstance(index, Tensor) and index.ndim == 0:
        return gather(x.reshape(1), dim, index.reshape(1)).reshape(())   # torch allows 0-d
    d, index = _check_index(x, dim, index, "gather")
    return Gather.apply(x, index=index._data, axis=d)


def scatter_add(x, dim, index, src):
    if x.ndim == 0 and isinstance(index, Tensor) and index.ndim == 0:
        return scatter_add(x.reshape(1), dim, index.reshape(1), src.reshape(1)).reshape(())
    d, index = _check_index(x, dim, index, "scatter_add")
    if src.dtype != x.dtype:
        src = src.to(x.dtype)
    if src.ndim != index.ndim or any(s < i for s, i in zip(src.shape, index.shape)):
        raise ValueError(f"scatter_add: src {tuple(src.shape)} must be at least as large as "
                         f"index {tuple(index.shape)} in every dimension")
    if src.shape != index.shape:
        src = src[tuple(slice(0, n) for n in index.shape)]
    return ScatterAdd.apply(x, src, index=index._data, axis=d)


def index_select(x, dim, index):
    d = _dim(dim, x.ndim, "index_select")
    index = _index_on(x, index, "index_select")
    if index.ndim > 1 or index.dtype.kind not in "iu":
        raise TypeError(f"index_select: index must be a 1-D integer tensor, got shape "
                        f"{tuple(index.shape)} dtype {index.dtype}")
    if not x.ndim:                  # torch: one index into a 0-d tensor gives it back, 0-d
        if index.numel() != 1:
            raise ValueError(f"index_select: an index into a 0-d tensor must have one element, "
                             f"got shape {tuple(index.shape)}")
        return x.reshape(1)[index.reshape(-1)].reshape(())
    return x[(slice(None),) * d + (index.reshape(-1),)]


def split(x, size_or_sections, dim=0):
    d = _dim(dim, x.ndim, "split")
    n = x.shape[d]
    sections = _ints(size_or_sections, "split", "split_size_or_sections")
    if not _is_sequence(size_or_sections):
        size_or_sections = sections[0]
        if size_or_sections <= 0:
            raise ValueError(f"split: split_size must be positive, got {size_or_sections}")
        sizes = [size_or_sections] * (n // size_or_sections)
        if n % size_or_sections:
            sizes.append(n % size_or_sections)
    else:
        sizes = list(sections)
        if sum(sizes) != n or any(k < 0 for k in sizes):
            raise ValueError(f"split: sections {sizes} do not sum to dimension {d}'s size {n}")
    out, start = [], 0
    for s in sizes:
        out.append(x.narrow(d, start, s))
        start += s
    return tuple(out)


def chunk(x, chunks, dim=0):
    d = _dim(dim, x.ndim, "chunk")
    chunks = _int(chunks, "chunk", "chunks")
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    size = -(-x.shape[d] // chunks)
    return split(x, max(size, 1), d)


def roll(x, shifts, dims=None):
    shifts = _ints(shifts, "roll", "shifts")
    if dims is None:
        flat = x.reshape(-1)
        return Roll.apply(flat, shifts=shifts[:1], axes=(0,)).reshape(x.shape)
    dims = _ints(dims, "roll", "dims")
    if len(shifts) != len(dims):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} differ in length")
    return Roll.apply(x, shifts=shifts, axes=tuple(_dim(d, x.ndim, "roll") for d in dims))


def flip(x, dims):
    dims = _ints(dims, "flip", "dims")
    axes = tuple(_dim(d, x.ndim, "flip") for d in dims)
    if not x.ndim:                  # dim 0 / -1 of a 0-d tensor: nothing to reverse
        return Flip.apply(x.reshape(1), axes=(0,)).reshape(())
    return Flip.apply(x, axes=axes)


def tri(x, diagonal, lower):
    diagonal = _int(diagonal, "tril" if lower else "triu", "diagonal")
    if x.ndim < 2:
        raise ValueError(f"{'tril' if lower else 'triu'}: input must have at least 2 dimensions, "
                         f"got shape {tuple(x.shape)}")
    xp = array_module(x._data)
    n, m = x.shape[-2:]
    keep = xp.tri(n, m, diagonal, dtype=bool) if lower else ~xp.tri(n, m, diagonal - 1, dtype=bool)
    return x.masked_fill(_const(~keep), 0)


def argsort(x, dim=-1, descending=False):
    xp = array_module(x._data)
    d = _dim(dim, x.ndim, "argsort")
    data = -x._data if descending and x.dtype.kind != "b" else x._data
    idx = xp.argsort(data, axis=d, kind="stable").reshape(x.shape)   # 0-d stays 0-d
    return _const(idx.astype(np.int64))


def _tensor_list(tensors, op):
    """A list of Tensors from a sequence, or a TypeError naming op and what was given."""
    if isinstance(tensors, Tensor) or not hasattr(tensors, "__iter__"):
        raise TypeError(f"{op}: expected a sequence of Tensors, got {type(tensors).__name__}")
    tensors = list(tensors)
    bad = [type(t).__name__ for t in tensors if not isinstance(t, Tensor)]
    if bad:
        raise TypeError(f"{op}: expected a sequence of Tensors, got a sequence holding {bad[0]}")
    return tensors


def cat(tensors, dim=0):
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    ref = tensors[0]
    d = _dim(dim, max(ref.ndim, 1), "cat")
    dt = ref.dtype
    for t in tensors[1:]:
        if t.dtype != dt:
            from .dtypes import promote
            dt = promote(dt, t.dtype)
    for t in tensors:
        if t.ndim != ref.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, ref.shape))
                                     if i != d):
            shapes = [tuple(x.shape) for x in tensors]
            raise ValueError(f"cat: sizes of tensors must match except in dimension {d}, got "
                             f"{shapes}")
    tensors = [t if t.dtype == dt else t.to(dt) for t in tensors]
    return Cat.apply(*tensors, axis=d)


def stack(tensors, dim=0):
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: expects each tensor to be equal size, got {sorted(shapes)}")
    d = _dim(dim, tensors[0].ndim + 1, "stack")
    return cat([t.unsqueeze(d) for t in tensors], dim=d)


def pad(x, pad_widths, mode="constant", value=0.0):
    """torch's F.pad: pad_widths lists (left, right) pairs starting from the LAST dimension."""
    if not _is_sequence(pad_widths):
        raise TypeError(f"pad: padding must be a sequence of ints, got "
                        f"{type(pad_widths).__name__} {pad_widths!r}")
    pad_widths = _ints(pad_widths, "pad", "padding")
    if len(pad_widths) % 2 or len(pad_widths) // 2 > x.ndim:
        raise ValueError(f"pad: padding {tuple(pad_widths)} must have an even length of at most "
                         f"2 * ndim (shape {tuple(x.shape)})")
    k = len(pad_widths) // 2
    widths = [(0, 0)] * (x.ndim - k)
    for i in range(k - 1, -1, -1):
        widths.append((int(pad_widths[2 * i]), int(pad_widths[2 * i + 1])))
    # negative pads crop first; circular then wraps around the cropped input (as torch does)
    if mode in ("constant", "circular") and any(lo < 0 or hi < 0 for lo, hi in widths):
        slices = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(widths, x.shape))
        return pad(x[slices], [max(p, 0) for p in pad_widths], mode, value)
    if mode == "constant":
        return PadConstant.apply(x, widths=tuple(widths), value=value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be constant, reflect, replicate or circular, "
                         f"got {mode!r}")
    xp = array_module(x._data)
    out = x
    for axis, (lo, hi) in enumerate(widths):
        if lo == 0 and hi == 0:
            continue
        n = x.shape[axis]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(f"pad: reflect padding ({lo}, {hi}) must be smaller than the input "
                             f"size {n} at dimension {axis}")
        pos = np.arange(-lo, n + hi)
        if mode == "reflect":
            period = 2 * (n - 1) if n > 1 else 1
            pos = np.abs(pos) % period
            pos = np.where(pos >= n, period - pos, pos)
        elif mode == "replicate":
            pos = np.clip(pos, 0, n - 1)
        else:
            pos = pos % n
        out = out[(slice(None),) * axis + (xp.asarray(pos),)]
    return out
