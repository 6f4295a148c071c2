"""Shape, indexing and data-movement ops."""
from __future__ import annotations

import operator

import numpy as np

from ..autograd.function import Function
from ..backend import array_module, check_later


def _tensor_cls():
    from ..tensor import Tensor
    return Tensor


def _dim(d, ndim, op):
    from ..tensor import _dim as norm
    return norm(d, ndim, op)


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


# -- views ---------------------------------------------------------------------------------
class Reshape(Function):
    """y = x viewed as shape;  dx = dy viewed as x's shape"""

    def forward(self, x, shape):
        self.in_shape = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return grad.reshape(self.in_shape)


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


class Permute(Function):
    """y = x with axes reordered;  dx = dy with the inverse order"""

    def forward(self, x, dims):
        self.inverse = tuple(np.argsort(dims))
        return x.transpose(dims)

    def backward(self, grad):
        return grad.permute(*self.inverse)


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


class Expand(Function):
    """y = x broadcast to shape;  dx = dy summed back (the engine's unbroadcast)"""

    def forward(self, x, shape):
        return array_module(x).broadcast_to(x, shape)

    def backward(self, grad):
        return grad


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
    Tensor = _tensor_cls()
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


class GetItem(Function):
    """y = x[index];  dx = zeros with dy added at index (repeated indices accumulate)"""

    def forward(self, x, index, advanced):
        self.in_shape, self.index, self.advanced = x.shape, index, advanced
        return x[index]

    def backward(self, grad):
        return IndexAdd.apply(grad, shape=self.in_shape, index=self.index, advanced=self.advanced)


class IndexAdd(Function):
    """y = zeros(shape) with g added at index;  dg = dy[index]"""

    def forward(self, g, shape, index, advanced):
        xp = array_module(g)
        self.index, self.advanced = index, advanced
        out = xp.zeros(shape, dtype=g.dtype)
        if advanced:
            xp.add.at(out, index, g)
        else:
            out[index] = g
        return out

    def backward(self, grad):
        return GetItem.apply(grad, index=self.index, advanced=self.advanced)


def getitem(x, index):
    idx, advanced = _convert_index(index, x)
    try:
        out = GetItem.apply(x, index=idx, advanced=advanced)
    except IndexError as e:
        raise IndexError(f"getitem: index {index!r} does not fit shape {tuple(x.shape)}: {e}") \
            from None
    return out if advanced else _view(out, x)


class SetItem(Function):
    """y = x with y[index] = v (in place);  dx = dy with index zeroed;  dv = dy[index]"""

    def forward(self, x, v, index, advanced):
        x[index] = v
        self.index, self.advanced, self.shape = index, advanced, x.shape
        return x

    def backward(self, grad):
        from ..tensor import _const
        gx = gv = None
        if self.needs_input_grad[0]:
            xp = array_module(grad._data)
            keep = xp.ones(self.shape, dtype=grad.dtype)
            keep[self.index] = 0
            gx = grad * _const(keep)
        if self.needs_input_grad[1]:
            gv = GetItem.apply(grad, index=self.index, advanced=self.advanced)
        return gx, gv


def setitem(x, index, value):
    from ..tensor import Tensor, _inplace, _like
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


class Gather(Function):
    """y[i][j] = x[i][index[i][j]] (along dim);  dx = scatter_add of dy at index"""

    def forward(self, x, index, axis):
        self.in_shape, self.index, self.axis = x.shape, index, axis
        if any(i != n for d, (i, n) in enumerate(zip(index.shape, x.shape)) if d != axis):
            # torch lets index be smaller than x off the gather axis: read only that corner
            x = x[tuple(slice(None) if d == axis else slice(0, i)
                        for d, i in enumerate(index.shape))]
        return array_module(x).take_along_axis(x, index, axis=axis)

    def backward(self, grad):
        return ScatterAddInto.apply(grad, shape=self.in_shape, index=self.index, axis=self.axis)


class ScatterAddInto(Function):
    """y = zeros(shape) with src added at index along axis;  dsrc = gather(dy, index)"""

    def forward(self, src, shape, index, axis):
        xp = array_module(src)
        self.index, self.axis = index, axis
        out = xp.zeros(shape, dtype=src.dtype)
        _scatter_add(out, axis, index, src)
        return out

    def backward(self, grad):
        return Gather.apply(grad, index=self.index, axis=self.axis)


def open_grid(xp, shape) -> tuple:
    """np.indices(shape, sparse=True), which CuPy lacks: one broadcastable arange per axis."""
    n = len(shape)
    return tuple(xp.arange(size).reshape((1,) * d + (size,) + (1,) * (n - d - 1))
                 for d, size in enumerate(shape))


def along(xp, index, axis: int) -> tuple:
    """The advanced index that sends entry (i0, .., ik) of index to position index[i0, .., ik]
    along axis and to i_d along every other dim d."""
    grids = open_grid(xp, index.shape)
    return tuple(index if d == axis else grids[d] for d in range(index.ndim))


def _scatter_add(out, axis, index, src):
    """out[..., index[...], ...] += src along axis, accumulating repeated indices."""
    xp = array_module(out)
    src = src[tuple(slice(0, n) for n in index.shape)]
    xp.add.at(out, along(xp, index, axis), src)


def _check_index(x, dim, index, op):
    """(dim, index on x's device) once the index fits x for gather/scatter along dim."""
    Tensor = _tensor_cls()
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
    if x.ndim == 0 and isinstance(index, _tensor_cls()) and index.ndim == 0:
        return gather(x.reshape(1), dim, index.reshape(1)).reshape(())   # torch allows 0-d
    d, index = _check_index(x, dim, index, "gather")
    return Gather.apply(x, index=index._data, axis=d)


class ScatterAdd(Function):
    """y = x + (src scattered-added at index);  dx = dy;  dsrc = gather(dy, index)"""

    def forward(self, x, src, index, axis):
        self.index, self.axis = index, axis
        out = x.copy()
        _scatter_add(out, axis, index, src)
        return out

    def backward(self, grad):
        return grad, Gather.apply(grad, index=self.index, axis=self.axis)


def scatter_add(x, dim, index, src):
    if x.ndim == 0 and isinstance(index, _tensor_cls()) and index.ndim == 0:
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


class Roll(Function):
    """y = x rolled by shifts;  dx = dy rolled back"""

    def forward(self, x, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return array_module(x).roll(x, shifts, axis=axes)

    def backward(self, grad):
        return Roll.apply(grad, shifts=tuple(-s for s in self.shifts), axes=self.axes)


def roll(x, shifts, dims=None):
    shifts = _ints(shifts, "roll", "shifts")
    if dims is None:
        flat = x.reshape(-1)
        return Roll.apply(flat, shifts=shifts[:1], axes=(0,)).reshape(x.shape)
    dims = _ints(dims, "roll", "dims")
    if len(shifts) != len(dims):
        raise ValueError(f"roll: shifts {shifts} and dims {dims} differ in length")
    return Roll.apply(x, shifts=shifts, axes=tuple(_dim(d, x.ndim, "roll") for d in dims))


class Flip(Function):
    """y = x reversed along axes;  dx = dy reversed"""

    def forward(self, x, axes):
        self.axes = axes
        return array_module(x).flip(x, axis=axes)

    def backward(self, grad):
        return Flip.apply(grad, axes=self.axes)


def flip(x, dims):
    dims = _ints(dims, "flip", "dims")
    axes = tuple(_dim(d, x.ndim, "flip") for d in dims)
    if not x.ndim:                  # dim 0 / -1 of a 0-d tensor: nothing to reverse
        return Flip.apply(x.reshape(1), axes=(0,)).reshape(())
    return Flip.apply(x, axes=axes)


def tri(x, diagonal, lower):
    from ..tensor import _const
    diagonal = _int(diagonal, "tril" if lower else "triu", "diagonal")
    if x.ndim < 2:
        raise ValueError(f"{'tril' if lower else 'triu'}: input must have at least 2 dimensions, "
                         f"got shape {tuple(x.shape)}")
    xp = array_module(x._data)
    n, m = x.shape[-2:]
    keep = xp.tri(n, m, diagonal, dtype=bool) if lower else ~xp.tri(n, m, diagonal - 1, dtype=bool)
    return x.masked_fill(_const(~keep), 0)


def argsort(x, dim=-1, descending=False):
    from ..tensor import _const
    xp = array_module(x._data)
    d = _dim(dim, x.ndim, "argsort")
    data = -x._data if descending and x.dtype.kind != "b" else x._data
    idx = xp.argsort(data, axis=d, kind="stable").reshape(x.shape)   # 0-d stays 0-d
    return _const(idx.astype(np.int64))


# -- joining and padding -------------------------------------------------------------------
class Cat(Function):
    """y = concatenation along axis;  each dx = its slice of dy"""

    def forward(self, *arrays, axis):
        self.axis = axis
        self.sizes = [a.shape[axis] for a in arrays]
        return array_module(arrays[0]).concatenate(arrays, axis=axis)

    def backward(self, grad):
        return tuple(grad.split(self.sizes, self.axis))


def _tensor_list(tensors, op):
    """A list of Tensors from a sequence, or a TypeError naming op and what was given."""
    Tensor = _tensor_cls()
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
            from ..dtypes import promote
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


class PadConstant(Function):
    """y = x surrounded by value;  dx = the middle of dy"""

    def forward(self, x, widths, value):
        xp = array_module(x)
        self.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return xp.pad(x, widths, mode="constant", constant_values=value)

    def backward(self, grad):
        return grad[self.slices]


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
