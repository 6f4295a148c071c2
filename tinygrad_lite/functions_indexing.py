"""Indexing and searching functions: scatter_reduce (a Function in ops/movement_extra.py),
isin, bucketize, argwhere, unravel_index, ravel, and aminmax (min and max in one call)."""
from __future__ import annotations

import numbers
from collections import namedtuple

import numpy as np

from . import dtypes as D
from .backend import array_module
from .functions_extra import _desc, _t, searchsorted
from . import functions_shape as FS
from .ops import indexing as IX
from .tensor import Tensor, _const, _like

__all__ = ["scatter_reduce", "isin", "ravel", "bucketize", "aminmax", "argwhere",
           "unravel_index"]

_AminMax = namedtuple("aminmax", ["min", "max"])
_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True) -> Tensor:
    """input with each src[i] reduced (sum, prod, mean, amax, amin) into the place index[i]
    names along dim; include_self=False leaves input's own values out where something lands."""
    op = "scatter_reduce"
    x, s = _t(input, op), _t(src, op)
    if reduce not in _REDUCTIONS:
        raise ValueError(f"{op}: reduce must be one of {', '.join(_REDUCTIONS)}, got {reduce!r}")
    if x.ndim == 0:
        return scatter_reduce(x.reshape(1), dim, index.reshape(1), s.reshape(1), reduce,
                              include_self=include_self).reshape(())
    d, index = FS._check_index(x, dim, index, op)
    if s.dtype != x.dtype:
        raise TypeError(f"{op}: src must have input's dtype, got {_desc(x, s)}")
    if s.ndim != index.ndim or any(a < i for a, i in zip(s.shape, index.shape)):
        raise ValueError(f"{op}: src {tuple(s.shape)} must be at least as large as index "
                         f"{tuple(index.shape)} in every dimension")
    if s.shape != index.shape:
        s = s[tuple(slice(0, n) for n in index.shape)]
    return IX.ScatterReduce.apply(x, s, index=index._data, axis=d, reduce=reduce,
                                  include_self=bool(include_self))


def isin(elements, test_elements, *, assume_unique=False, invert=False) -> Tensor:
    """Whether each element of `elements` occurs in test_elements (either may be a number)."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin: elements or test_elements must be a Tensor")
    ref = elements if isinstance(elements, Tensor) else test_elements
    e, t = _like(elements, ref), _like(test_elements, ref)
    if e.device != t.device:
        raise RuntimeError(f"isin: expected one device, got {e.device} and {t.device}")
    xp = array_module(e._data)
    return _const(xp.isin(e._data, t._data.ravel(), assume_unique=assume_unique, invert=invert))


def ravel(input) -> Tensor:
    """The tensor flattened to 1-D."""
    return _t(input, "ravel").reshape(-1)


def bucketize(input, boundaries, *, out_int32=False, right=False) -> Tensor:
    """Index of each value's bucket in the sorted 1-D boundaries: boundaries[i-1] < x <=
    boundaries[i] (right=False) or boundaries[i-1] <= x < boundaries[i] (right=True)."""
    b = _t(boundaries, "bucketize")
    if b.ndim != 1:
        raise ValueError(f"bucketize: boundaries must be 1-D, got shape {tuple(b.shape)}")
    if isinstance(input, numbers.Number):
        input = _like(input, b)
    return searchsorted(b, input, out_int32=out_int32, right=right)


def aminmax(input, *, dim=None, keepdim=False):
    """(min, max) over dim (over everything when None)."""
    x = _t(input, "aminmax")
    if x.numel() == 0:
        raise RuntimeError(f"aminmax: cannot reduce an empty tensor of shape {tuple(x.shape)}")
    if dim is None and keepdim:
        axes = tuple(range(x.ndim))
        return _AminMax(x.amin(axes, True), x.amax(axes, True))
    return _AminMax(x.amin(dim, keepdim), x.amax(dim, keepdim))


def argwhere(input) -> Tensor:
    """(n, ndim) indices of the nonzero elements, in row-major order."""
    return _t(input, "argwhere").nonzero()


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

