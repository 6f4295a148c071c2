"""torch's "Indexing, Slicing, Joining, Mutating Ops": cat/stack and the h/v/d/column stacks,
splits and chunks, reshape/permute/transpose/squeeze and the other views, gather and scatter
(with scatter_add, scatter_reduce and the index_* family), take, masked_select/masked_scatter,
where-style selection, unfold, pad, and the __getitem__/__setitem__ behind tensor indexing.

Differentiable ones compose existing ops or call a Function in ops/indexing.py and
ops/movement.py; in-place forms go through tensor._inplace like add_ does."""
from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from .. import dtypes as D
from .._checks import check_int
from .._checks import check_tensor as _tensor
from .._checks import describe as _desc
from .._checks import tensor_or_array as _t
from ..backend import array_module, check_later
from ..ops import indexing as IX
from ..ops.indexing import Gather, GetItem, ScatterAdd, SetItem
from ..ops.movement import Cat, Expand, PadConstant, Permute, Reshape
from ..tensor import Tensor, _const, _dim, _inplace, _like, where


def reshape(x, shape): return _t(x).reshape(shape)


def transpose(x, d0, d1): return _t(x).transpose(d0, d1)


def permute(x, dims): return _t(x).permute(*dims)


def squeeze(x, dim=None): return _t(x).squeeze(dim)


def unsqueeze(x, dim): return _t(x).unsqueeze(dim)


def gather(x, dim, index): return _t(x).gather(dim, index)


def scatter_add(x, dim, index, src): return _t(x).scatter_add(dim, index, src)


def index_select(x, dim, index): return _t(x).index_select(dim, index)


def masked_fill(x, mask, value): return _t(x).masked_fill(mask, value)


def split(x, size, dim=0): return _t(x).split(size, dim)


def chunk(x, chunks, dim=0): return _t(x).chunk(chunks, dim)


def unbind(x, dim=0): return _t(x).unbind(dim)


def narrow(x, dim, start, length): return _t(x).narrow(dim, start, length)



def nonzero(x, as_tuple=False): return _t(x).nonzero(as_tuple)




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
    values = tuple(check_int(v, None, op, low=None) for v in values)
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
    return [_tensor(t, op) for t in tensors]


def _varargs(tensors, op: str) -> list:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    return [_tensor(t, op) for t in tensors]


def tile(input, dims) -> Tensor:
    """repeat, with dims padded by leading 1s when it is shorter than input's dimensions."""
    x = _tensor(input, "tile")
    if not isinstance(dims, (tuple, list)):
        raise TypeError(f"tile: dims must be a tuple of ints, got {type(dims).__name__} "
                        f"{dims!r} (input {tuple(x.shape)} {x.dtype})")
    dims = _non_negative(dims, "tile", "dims")
    return x.repeat((1,) * (x.ndim - len(dims)) + dims)


def movedim(input, source, destination) -> Tensor:
    """Move dims `source` to positions `destination`; the rest keep their order."""
    x = _tensor(input, "movedim")
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
    x = _need_ndim(_tensor(input, op), 1, op)
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
        cuts = [check_int(c, None, op, low=None) for c in cuts]
    else:
        raise TypeError(f"{op}: indices_or_sections must be an int, a list of ints or an "
                        f"integer tensor, got {type(cuts).__name__}")
    bounds = [None] + cuts + [None]
    head = (slice(None),) * d
    return tuple(x[head + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:]))


def _split_dim(op: str, input, indices_or_sections, min_ndim: int, d) -> tuple:
    x = _need_ndim(_tensor(input, op), min_ndim, op)
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


# -- gathering -----------------------------------------------------------------------------
def take(input, index) -> Tensor:
    """input viewed as 1-D, picked at index; the result has index's shape."""
    x = _tensor(input, "take")
    idx = _int_tensor(index, "take", x)
    _in_range(idx._data, x.numel(), 0, "take", negative=True)
    return x.reshape(-1)[idx]


def take_along_dim(input, indices, dim=None) -> Tensor:
    """gather along dim, with input and indices broadcast against each other in the other dims;
    dim None: both are flattened first."""
    op = "take_along_dim"
    x = _tensor(input, op)
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
    x = _tensor(input, "scatter")
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
    src = _tensor(source, op)
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
        src = _tensor(source, op)
        if src.numel() != 1:
            raise ValueError(f"{op}: source of shape {tuple(src.shape)} must have one element "
                             "for a 0-d input")
        src = src.reshape(1)
    return x.reshape(1), idx.reshape(-1), src


def index_add(input, dim, index, source, *, alpha=1) -> Tensor:
    """out = input with alpha * source[i] added at input[.., index[i], ..] (repeats accumulate)."""
    x = _tensor(input, "index_add")
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
    x = _tensor(input, "index_copy")
    if not x.ndim:
        x, index, source = _scalar_along(x, dim, index, "index_copy", source)
        return index_copy(x, 0, index, source).reshape(())
    d, idx = _index_along(x, dim, index, "index_copy")
    src = _source_along(x, d, idx.shape[0], source, "index_copy")
    return IX.Scatter.apply(x, src, index=_spread(idx, d, src.shape), axis=d)


def index_fill(input, dim, index, value) -> Tensor:
    """out = input with the slices at index along dim set to value."""
    x = _tensor(input, "index_fill")
    if not x.ndim:
        x, index, _ = _scalar_along(x, dim, index, "index_fill")
        return index_fill(x, 0, index, value).reshape(())
    d, idx = _index_along(x, dim, index, "index_fill", negative=True)
    mask = array_module(x._data).zeros(x.shape, dtype=bool)
    mask[(slice(None),) * d + (idx,)] = True
    return x.masked_fill(_const(mask), value)


def index_put_(input, indices, values, accumulate=False) -> Tensor:
    """input[indices] = values in place (+= with accumulate, where repeated indices add up)."""
    x = _tensor(input, "index_put_")
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
    return index_put_(_tensor(input, "index_put").clone(), indices, values, accumulate)


def _bool_mask(mask, x: Tensor, op: str) -> Tensor:
    if not isinstance(mask, Tensor) or mask.dtype.kind != "b":
        kind = _desc(mask) if isinstance(mask, Tensor) else type(mask).__name__
        raise TypeError(f"{op}: mask must be a bool tensor, got {kind}")
    if mask.device != x.device:
        raise RuntimeError(f"{op}: mask is on {mask.device} but input is on {x.device}")
    return mask


def masked_select(input, mask) -> Tensor:
    """The 1-D tensor of input's entries where mask (broadcast with input) is True."""
    from .other import broadcast_shapes  # other imports this module
    x = _tensor(input, "masked_select")
    m = _bool_mask(mask, x, "masked_select")
    shape = broadcast_shapes(x.shape, m.shape)
    return x.expand(shape)[m.expand(shape)]


def masked_scatter(input, mask, source) -> Tensor:
    """out = input with the places where mask is True filled, in row-major order, by the first
    entries of source."""
    from .other import broadcast_shapes  # other imports this module
    x = _tensor(input, "masked_scatter")
    m = _bool_mask(mask, x, "masked_scatter")
    src = _tensor(source, "masked_scatter")
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
    x = _tensor(input, "unfold")
    size = check_int(size, None, "unfold", low=None)
    step = check_int(step, None, "unfold", low=None)
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


def _reshape(x, shape):
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


def _permute(x, dims):
    if len(dims) != x.ndim:
        raise ValueError(f"permute: got {len(dims)} dims for a tensor with {x.ndim} dimensions "
                         f"(shape {tuple(x.shape)})")
    dims = tuple(_dim(d, x.ndim, "permute") for d in dims)
    if len(set(dims)) != len(dims):
        raise ValueError(f"permute: repeated dim in {dims}")
    if dims == tuple(range(x.ndim)):
        return x
    return _view(Permute.apply(x, dims=dims), x)


def _transpose(x, d0, d1):
    if x.ndim < 2 and x.ndim == 0:
        return x
    a, b = _dim(d0, x.ndim, "transpose"), _dim(d1, x.ndim, "transpose")
    if a == b:
        return x
    dims = list(range(x.ndim))
    dims[a], dims[b] = dims[b], dims[a]
    return _view(Permute.apply(x, dims=tuple(dims)), x)


def _squeeze(x, dim=None):
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        dims = {_dim(d, x.ndim, "squeeze") for d in dims} if x.ndim else set()
        shape = tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1))
    return _reshape(x, shape)


def _unsqueeze(x, dim):
    d = _dim(dim, x.ndim + 1, "unsqueeze")
    return _reshape(x, x.shape[:d] + (1,) + x.shape[d:])


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


def _gather(x, dim, index):
    if x.ndim == 0 and isinstance(index, Tensor) and index.ndim == 0:
        return _gather(x.reshape(1), dim, index.reshape(1)).reshape(())   # torch allows 0-d
    d, index = _check_index(x, dim, index, "gather")
    return Gather.apply(x, index=index._data, axis=d)


def _scatter_add(x, dim, index, src):
    if x.ndim == 0 and isinstance(index, Tensor) and index.ndim == 0:
        return _scatter_add(x.reshape(1), dim, index.reshape(1), src.reshape(1)).reshape(())
    d, index = _check_index(x, dim, index, "scatter_add")
    if src.dtype != x.dtype:
        src = src.to(x.dtype)
    if src.ndim != index.ndim or any(s < i for s, i in zip(src.shape, index.shape)):
        raise ValueError(f"scatter_add: src {tuple(src.shape)} must be at least as large as "
                         f"index {tuple(index.shape)} in every dimension")
    if src.shape != index.shape:
        src = src[tuple(slice(0, n) for n in index.shape)]
    return ScatterAdd.apply(x, src, index=index._data, axis=d)


def _index_select(x, dim, index):
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


def _split(x, size_or_sections, dim=0):
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


def _chunk(x, chunks, dim=0):
    d = _dim(dim, x.ndim, "chunk")
    chunks = check_int(chunks, "chunks", "chunk", low=None, index=True)
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    size = -(-x.shape[d] // chunks)
    return _split(x, max(size, 1), d)


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
    dt = ref.dtype
    for t in tensors[1:]:
        if t.dtype != dt:
            from ..dtypes import promote
            dt = promote(dt, t.dtype)
    # torch skips the legacy empty tensors of shape (0,) beside others (after dtype promotion)
    kept = [t for t in tensors if tuple(t.shape) != (0,)]
    if kept and len(kept) < len(tensors):
        tensors, ref = kept, kept[0]
    d = _dim(dim, max(ref.ndim, 1), "cat")
    for t in tensors:
        if t.ndim != ref.ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, ref.shape))
                                     if i != d):
            shapes = [tuple(x.shape) for x in tensors]
            raise ValueError(f"cat: sizes of tensors must match except in dimension {d}, got "
                             f"{shapes}")
    tensors = [t if t.dtype == dt else t.to(dt) for t in tensors]
    return Cat.apply(*tensors, axis=d)


concat = concatenate = cat


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




def swapaxes(input, axis0, axis1) -> Tensor:
    return _tensor(input, "swapaxes").transpose(axis0, axis1)


def swapdims(input, dim0, dim1) -> Tensor:
    return _tensor(input, "swapdims").transpose(dim0, dim1)


def select(input, dim, index) -> Tensor:
    return _tensor(input, "select").select(dim, index)


def t(input) -> Tensor:
    return _tensor(input, "t").t()




_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True) -> Tensor:
    """input with each src[i] reduced (sum, prod, mean, amax, amin) into the place index[i]
    names along dim; include_self=False leaves input's own values out where something lands."""
    op = "scatter_reduce"
    x, s = _tensor(input, op), _tensor(src, op)
    if reduce not in _REDUCTIONS:
        raise ValueError(f"{op}: reduce must be one of {', '.join(_REDUCTIONS)}, got {reduce!r}")
    if x.ndim == 0:
        return scatter_reduce(x.reshape(1), dim, index.reshape(1), s.reshape(1), reduce,
                              include_self=include_self).reshape(())
    d, index = _check_index(x, dim, index, op)
    if s.dtype != x.dtype:
        raise TypeError(f"{op}: src must have input's dtype, got {_desc(x, s)}")
    if s.ndim != index.ndim or any(a < i for a, i in zip(s.shape, index.shape)):
        raise ValueError(f"{op}: src {tuple(s.shape)} must be at least as large as index "
                         f"{tuple(index.shape)} in every dimension")
    if s.shape != index.shape:
        s = s[tuple(slice(0, n) for n in index.shape)]
    return IX.ScatterReduce.apply(x, s, index=index._data, axis=d, reduce=reduce,
                                  include_self=bool(include_self))


def argwhere(input) -> Tensor:
    """(n, ndim) indices of the nonzero elements, in row-major order."""
    return _tensor(input, "argwhere").nonzero()


def unravel_index(indices, shape) -> tuple:
    """The coordinates in `shape` of each flat (row-major) index, one tensor per dim."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    shape = tuple(int(n) for n in shape)
    if any(n < 0 for n in shape):
        raise ValueError(f"unravel_index: sizes must be non-negative, got {shape}")
    idx = indices if isinstance(indices, Tensor) else _const(np.asarray(indices))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"unravel_index: expected an integer tensor, got {idx.dtype}")
    flat = idx._data.astype(D.int64)
    xp = array_module(flat)
    total = int(np.prod(shape))
    if xp is np and flat.size and (flat.min() < -total or flat.max() >= total):
        raise RuntimeError(f"unravel_index: index out of bounds for shape {shape}")
    flat = xp.where(flat < 0, flat + total, flat)
    out = []
    for n in reversed(shape):
        out.append(_const(flat % n if n else flat))
        flat = flat // n if n else flat
    return tuple(reversed(out))
