"""Comparisons (torch's "Comparison Ops"): eq/ne/lt/le/gt/ge and their NumPy names,
allclose/isclose/equal, maximum/minimum/fmax/fmin, isnan/isinf/isfinite/isposinf/isneginf,
isin, and the sorting ones: sort, argsort, topk, kthvalue."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import dtypes as D
from .._checks import broadcast_shape as _broadcast_shape
from .._checks import check_int
from .._checks import check_tensor as _tensor
from .._checks import tensor_or_array as _t
from ..backend import array_module
from ..tensor import Tensor, _const, _dim, _like, where
from .pointwise import _flag, _second
from .reduction import _last_axis, _pick


def maximum(a, b): return _t(a).maximum(b)


def minimum(a, b): return _t(a).minimum(b)


def isnan(x): return _t(x).isnan()


def isinf(x): return _t(x).isinf()


def isfinite(x): return _t(x).isfinite()


def sort(x, dim=-1, descending=False, stable=False):
    return _t(x).sort(dim, descending, stable)


def argsort(x, dim=-1, descending=False, stable=False):
    return _t(x).argsort(dim, descending, stable)


def topk(x, k, dim=-1, largest=True, sorted=True): return _t(x).topk(k, dim, largest, sorted)


def eq(a, b): return _t(a) == b


def ne(a, b): return _t(a) != b


def lt(a, b): return _t(a) < b


def le(a, b): return _t(a) <= b


def gt(a, b): return _t(a) > b


def ge(a, b): return _t(a) >= b


def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    return _t(a).allclose(b, rtol, atol, equal_nan)


def equal(a, b): return _t(a).equal(b)




def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> Tensor:
    """|input - other| <= atol + rtol * |other|, elementwise (bool)."""
    a = _tensor(input, "isclose")
    b = _like(_second(other, a, "isclose"), a)
    _broadcast_shape("isclose", a, b)
    return _const(array_module(a._data).isclose(a._data, b._data, rtol, atol, equal_nan))




_KthValue = namedtuple("kthvalue", ["values", "indices"])


def isposinf(input) -> Tensor:
    return _flag(_tensor(input, "isposinf"), lambda xp, a: a == xp.inf)


def isneginf(input) -> Tensor:
    return _flag(_tensor(input, "isneginf"), lambda xp, a: a == -xp.inf)


def kthvalue(input, k, dim=-1, keepdim=False):
    """The k-th smallest element along dim (k counts from 1) as (values, indices)."""
    x = _tensor(input, "kthvalue")
    k = check_int(k, None, "kthvalue", low=None)
    a, d = _last_axis(x, dim, "kthvalue")
    n = a.shape[-1]
    if not 1 <= k <= n:
        raise ValueError(f"kthvalue: k={k} is out of range for dimension {d} of size {n} "
                         f"(shape {tuple(x.shape)})")
    xp = array_module(a)
    order = xp.argsort(a, axis=-1, kind="stable")
    return _pick(_KthValue, x, d, order[..., k - 1:k], keepdim)




def _argsort(x, dim=-1, descending=False):
    xp = array_module(x._data)
    d = _dim(dim, x.ndim, "argsort")
    data = -x._data if descending and x.dtype.kind != "b" else x._data
    idx = xp.argsort(data, axis=d, kind="stable").reshape(x.shape)   # 0-d stays 0-d
    return _const(idx.astype(np.int64))




# -- binary -----------------------------------------------------------------------------------
def _promoted(op: str, input, other) -> tuple:
    a, b = _tensor(input, op), _tensor(other, op)
    if a.dtype != b.dtype:
        dt = D.promote(a.dtype, b.dtype, a.ndim == 0, b.ndim == 0)
        a, b = a.to(dt), b.to(dt)
    return a, b


def fmax(input, other) -> Tensor:
    """max(a, b) ignoring NaN (NaN only where both are);  dy goes to the one taken."""
    a, b = _promoted("fmax", input, other)
    return where((a >= b).logical_or(b.isnan()), a, b)


def fmin(input, other) -> Tensor:
    """min(a, b) ignoring NaN (NaN only where both are);  dy goes to the one taken."""
    a, b = _promoted("fmin", input, other)
    return where((a <= b).logical_or(b.isnan()), a, b)


def greater(input, other) -> Tensor:
    return _tensor(input, "greater") > other


def less(input, other) -> Tensor:
    return _tensor(input, "less") < other


def greater_equal(input, other) -> Tensor:
    return _tensor(input, "greater_equal") >= other


def less_equal(input, other) -> Tensor:
    return _tensor(input, "less_equal") <= other


def not_equal(input, other) -> Tensor:
    return _tensor(input, "not_equal") != other




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


def msort(input):
    """input sorted along its first dim (ascending)."""
    return _t(input).sort(0).values
