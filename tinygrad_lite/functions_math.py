"""More torch-level math for ported code: addcmul/addcdiv, nan-aware reductions, median, mode,
kthvalue, quantile, logaddexp, xlogy, logit, cummax/cummin, logcumsumexp, bitwise ops, and the
random fills behind bernoulli_/exponential_/random_/... . Differentiable ones compose existing
ops (order statistics pick values with gather, so the gradient reaches the chosen element) or
call a Function in ops/math_extra.py; the Tensor methods in tensor.py call these."""
from __future__ import annotations

import math
import numbers
from collections import namedtuple

import numpy as np

from . import backend as B
from . import dtypes as D
from . import random as R
from .backend import array_module
from .functions_extra import _desc, _need_float, _need_int, _t
from .ops import pointwise as MX
from .ops import reduction as RD
from .ops import scan as SC
from .tensor import Tensor, _axes, _broadcastable, _const, _dim, _floating, _like, where

__all__ = [
    "addcmul", "addcdiv", "nan_to_num", "nanmean", "nansum", "median", "nanmedian", "mode",
    "kthvalue", "quantile", "nanquantile", "count_nonzero", "clamp_min", "clamp_max",
    "float_power", "logaddexp", "logaddexp2", "xlogy", "sinc", "deg2rad", "rad2deg", "frac",
    "trunc", "fix", "cummax", "cummin", "logcumsumexp", "signbit", "isneginf", "isposinf",
    "heaviside", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "logit",
    "true_divide", "absolute", "is_floating_point", "renorm", "bernoulli", "poisson",
    "randint_like", "logspace", "dropout",
]

_Median = namedtuple("median", ["values", "indices"])
_NanMedian = namedtuple("nanmedian", ["values", "indices"])
_Mode = namedtuple("mode", ["values", "indices"])
_KthValue = namedtuple("kthvalue", ["values", "indices"])
_CumMax = namedtuple("cummax", ["values", "indices"])
_CumMin = namedtuple("cummin", ["values", "indices"])


def _number(v, op: str, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{op}: {name} must be a number, got {type(v).__name__} {v!r}")
    return float(v)


def _operand(v, ref: Tensor, op: str) -> Tensor:
    """A second operand as a Tensor on ref's device (a number takes ref's dtype, like torch)."""
    if isinstance(v, Tensor):
        return v
    if isinstance(v, (numbers.Number, np.number, np.bool_)):
        return _like(v, ref)
    raise TypeError(f"{op}: expected a Tensor or a number, got {type(v).__name__} "
                    f"(input {_desc(ref)})")


def _pair(op: str, input, other) -> tuple:
    """(a, b) as floating Tensors of one dtype; one of them may be a number."""
    if not isinstance(input, Tensor):
        b = _t(other, op)
        a = _operand(input, b, op)
    else:
        a = input
        b = _operand(other, a, op)
    if a.dtype != b.dtype:          # promote first: float16 with int16 stays float16
        dt = D.promote(a.dtype, b.dtype, a.ndim == 0, b.ndim == 0)
        a, b = a.to(dt), b.to(dt)
    return _floating(a), _floating(b)


# -- elementwise ------------------------------------------------------------------------------
def addcmul(input, tensor1, tensor2, *, value=1) -> Tensor:
    """input + value * tensor1 * tensor2."""
    x = _t(input, "addcmul")
    prod = _t(tensor1, "addcmul") * _t(tensor2, "addcmul")
    return x + (prod if value == 1 else prod * _number(value, "addcmul", "value"))


def addcdiv(input, tensor1, tensor2, *, value=1) -> Tensor:
    """input + value * tensor1 / tensor2 (integer tensor1 and tensor2 are refused, as in torch)."""
    x, t1, t2 = _t(input, "addcdiv"), _t(tensor1, "addcdiv"), _t(tensor2, "addcdiv")
    if t1.dtype.kind != "f" and t2.dtype.kind != "f":
        raise TypeError(f"addcdiv: integer division of tensor1 and tensor2 is not supported, got "
                        f"{_desc(t1, t2)}; use floating point tensors")
    quot = t1 / t2
    return x + (quot if value == 1 else quot * _number(value, "addcdiv", "value"))


def nan_to_num(input, nan=0.0, posinf=None, neginf=None) -> Tensor:
    """nan -> nan, +inf -> posinf, -inf -> neginf (the dtype's extremes by default);
    the gradient is 0 at the replaced elements."""
    x = _t(input, "nan_to_num")
    if x.dtype.kind != "f":
        return _const(x._data.copy())
    xp = array_module(x._data)
    info = D.finfo(x.dtype)
    hi = info.max if posinf is None else _number(posinf, "nan_to_num", "posinf")
    lo = info.min if neginf is None else _number(neginf, "nan_to_num", "neginf")
    fill = xp.where(xp.isnan(x._data), _number(nan, "nan_to_num", "nan"),
                    xp.where(x._data > 0, hi, lo)).astype(x.dtype)
    return where(_const(xp.isfinite(x._data)), x, _const(fill))


def clamp_min(input, min) -> Tensor:
    return _t(input, "clamp_min").clamp(min=min)


def clamp_max(input, max) -> Tensor:
    return _t(input, "clamp_max").clamp(max=max)


def float_power(input, exponent) -> Tensor:
    """input ** exponent computed in float64 (the result is float64, as in torch)."""
    if not isinstance(input, Tensor):
        e = _t(exponent, "float_power").double()
        return e.__rpow__(_number(input, "float_power", "input"))
    x = input.double()
    if isinstance(exponent, Tensor):
        if not _broadcastable(x.shape, exponent.shape):
            raise ValueError(f"float_power: shapes {tuple(x.shape)} and "
                             f"{tuple(exponent.shape)} do not broadcast")
        return x.pow(exponent.double())
    return x.pow(_number(exponent, "float_power", "exponent"))


def _apply_pair(op: str, fn, input, other, **params) -> Tensor:
    a, b = _pair(op, input, other)
    if a.dtype != b.dtype:
        dt = D.promote(a.dtype, b.dtype, a.ndim == 0, b.ndim == 0)
        a, b = a.to(dt), b.to(dt)
    if a.device != b.device:
        raise RuntimeError(f"{op}: expected both tensors on one device, got {a.device} and "
                           f"{b.device}")
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {_desc(a, b)} do not broadcast") from None
    return fn.apply(a, b, **params)


def logaddexp(input, other) -> Tensor:
    """log(exp(input) + exp(other)), finite wherever the answer is."""
    return _apply_pair("logaddexp", MX.LogAddExp, input, other, base2=False)


def logaddexp2(input, other) -> Tensor:
    """log2(2**input + 2**other), finite wherever the answer is."""
    return _apply_pair("logaddexp2", MX.LogAddExp, input, other, base2=True)


def xlogy(input, other) -> Tensor:
    """input * log(other), 0 where input == 0 (unless other is nan)."""
    return _apply_pair("xlogy", MX.Xlogy, input, other)


def sinc(input) -> Tensor:
    """sin(pi x) / (pi x), 1 at x == 0."""
    x = _floating(_t(input, "sinc"))
    zero = x.detach() == 0
    px = where(zero, 1.0, x) * math.pi
    return where(zero, 1.0, px.sin() / px)


def deg2rad(input) -> Tensor:
    return _floating(_t(input, "deg2rad")) * (math.pi / 180.0)


def rad2deg(input) -> Tensor:
    return _floating(_t(input, "rad2deg")) * (180.0 / math.pi)


def trunc(input) -> Tensor:
    return _t(input, "trunc").trunc()


fix = trunc


def frac(input) -> Tensor:
    """input - trunc(input), keeping the sign;  d/dx = 1."""
    x = _t(input, "frac")
    if x.dtype.kind != "f":
        raise TypeError(f"frac: expected a floating point tensor, got {_desc(x)}")
    return x - _const(array_module(x._data).trunc(x._data))


def logit(input, eps=None) -> Tensor:
    """log(z / (1 - z)) with z = input clamped to [eps, 1 - eps] when eps is given."""
    x = _floating(_t(input, "logit"))
    if eps is not None:
        eps = _number(eps, "logit", "eps")
        if not 0.0 <= eps <= 0.5:
            raise ValueError(f"logit: eps must be in [0, 0.5], got {eps}")
    return MX.Logit.apply(x, eps=eps)


def true_divide(input, other) -> Tensor:
    return _t(input, "true_divide").div(other)


def absolute(input) -> Tensor:
    return _t(input, "absolute").abs()


def is_floating_point(input) -> bool:
    return _t(input, "is_floating_point").is_floating_point()


# -- predicates and bit operations (never differentiable) -------------------------------------
def _flag(x: Tensor, fn) -> Tensor:
    xp = array_module(x._data)
    if x.dtype.kind != "f":
        return _const(xp.zeros(x.shape, dtype=bool))
    return _const(fn(xp, x._data))


def signbit(input) -> Tensor:
    x = _t(input, "signbit")
    if x.dtype.kind in "iu":
        return _const(x._data < 0)
    return _flag(x, lambda xp, a: xp.signbit(a))


def isposinf(input) -> Tensor:
    return _flag(_t(input, "isposinf"), lambda xp, a: a == xp.inf)


def isneginf(input) -> Tensor:
    return _flag(_t(input, "isneginf"), lambda xp, a: a == -xp.inf)


def heaviside(input, values) -> Tensor:
    """0 where input < 0, values where input == 0, 1 where input > 0 (and 0 for nan)."""
    x, v = _t(input, "heaviside"), _t(values, "heaviside")
    if x.dtype != v.dtype:
        raise TypeError(f"heaviside: input and values must have one dtype, got {_desc(x, v)}")
    xp = array_module(x._data)
    try:
        out = xp.where(x._data == 0, v._data, (x._data > 0).astype(x.dtype))
    except ValueError:
        raise ValueError(f"heaviside: shapes {_desc(x, v)} do not broadcast") from None
    return _const(out.astype(x.dtype, copy=False))


def _bitwise(op: str, input, other, fn) -> Tensor:
    x = _t(input, op)
    ok = isinstance(other, (bool, int, np.integer, np.bool_)) or (
        isinstance(other, Tensor) and other.dtype.kind in "biu")
    if x.dtype.kind not in "biu" or not ok:
        kind = _desc(other) if isinstance(other, Tensor) else type(other).__name__
        raise TypeError(f"{op}: expected integer or bool tensors, got {_desc(x)} and {kind}")
    return fn(x, other)


def bitwise_and(input, other) -> Tensor:
    return _bitwise("bitwise_and", input, other, lambda a, b: a & b)


def bitwise_or(input, other) -> Tensor:
    return _bitwise("bitwise_or", input, other, lambda a, b: a | b)


def bitwise_xor(input, other) -> Tensor:
    return _bitwise("bitwise_xor", input, other, lambda a, b: a ^ b)


def bitwise_not(input) -> Tensor:
    return _bitwise("bitwise_not", input, 0, lambda a, _: ~a)


# -- nan-aware reductions and counts ----------------------------------------------------------
def nansum(input, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    """Sum with nan counted as 0 (its gradient is 0 there)."""
    x = _t(input, "nansum")
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind == "f":
        x = where(x.detach().isnan(), 0.0, x)
    return x.sum(dim, keepdim)


def nanmean(input, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    """Mean over the elements that are not nan."""
    x = _t(input, "nanmean")
    if dtype is not None:
        x = x.to(dtype)
    _need_float(x, "nanmean")
    dim = _axes(dim, x.ndim, op="nanmean")
    count = (~x.detach().isnan()).sum(dim, keepdim).to(x.dtype)
    # dividing by nan, not 0, where nothing is counted: nan as in torch, without a warning
    return nansum(x, dim, keepdim) / where(count == 0, float("nan"), count)


def count_nonzero(input, dim=None) -> Tensor:
    """Number of nonzero elements over dim (all when None), as int64."""
    x = _t(input, "count_nonzero")
    xp = array_module(x._data)
    axes = _axes(dim, x.ndim, op="count_nonzero")
    return _const(xp.asarray((x._data != 0).sum(axis=axes), dtype=np.int64))


# -- order statistics -------------------------------------------------------------------------
def _last_axis(x: Tensor, dim, op: str):
    """x's array with dim moved last (0-d becomes 1-element), and the normalised dim."""
    d = _dim(dim, x.ndim, op)
    a = x._data.reshape(1) if x.ndim == 0 else array_module(x._data).moveaxis(x._data, d, -1)
    if a.shape[-1] == 0:
        raise IndexError(f"{op}: expected reduction dim {d} to have non-zero size (shape "
                         f"{tuple(x.shape)})")
    return a, d


def _pick(result, x: Tensor, d: int, idx, keepdim: bool):
    """(values, indices) from indices of shape (..., 1) along the last axis of _last_axis."""
    xp = array_module(x._data)
    if x.ndim == 0:
        i = _const(xp.zeros((), dtype=np.int64))
        return result(x.clone(), i)
    idx = xp.moveaxis(idx.astype(np.int64, copy=False), -1, d)
    ind = _const(idx)
    values = x.gather(d, ind)
    if not keepdim:
        values, ind = values.squeeze(d), ind.squeeze(d)
    return result(values, ind)


def _take(a, idx):
    return array_module(a).take_along_axis(a, idx, axis=-1)


def _median_all(op: str, x: Tensor, ignore_nan: bool) -> Tensor:
    xp = array_module(x._data)
    flat = x._data.reshape(-1)
    if flat.size == 0:
        if x.dtype.kind != "f":
            raise ValueError(f"{op}: cannot take the median of an empty tensor ({_desc(x)})")
        # torch: nan, and a zero gradient
        return RD.EvenPick.apply(x, value=xp.asarray(xp.nan, dtype=x.dtype),
                                 mask=xp.zeros(x.shape, dtype=bool))
    nan = xp.isnan(flat) if x.dtype.kind == "f" else xp.zeros(flat.shape, dtype=bool)
    count = int(flat.size - nan.sum()) if ignore_nan else flat.size
    if count == 0 or (not ignore_nan and bool(nan.any())):
        value, mask = xp.asarray(xp.nan, dtype=x.dtype), nan
    else:
        value = xp.sort(flat)[(count - 1) // 2]
        mask = x._data == value
    return RD.EvenPick.apply(x, value=xp.asarray(value, dtype=x.dtype), mask=mask)


def _median_dim(op: str, result, x: Tensor, dim, keepdim: bool, ignore_nan: bool):
    a, d = _last_axis(x, dim, op)
    xp = array_module(a)
    order = xp.argsort(a, axis=-1, kind="stable")        # nan sorts last
    nan = xp.isnan(a) if a.dtype.kind == "f" else xp.zeros(a.shape, dtype=bool)
    if ignore_nan:
        count = a.shape[-1] - nan.sum(axis=-1, keepdims=True)
        idx = _take(order, xp.maximum((count - 1) // 2, 0))
    else:
        k = xp.full(a.shape[:-1] + (1,), (a.shape[-1] - 1) // 2, dtype=np.int64)
        idx = _take(order, k)
        first_nan = xp.argmax(nan, axis=-1, keepdims=True)
        idx = xp.where(nan.any(axis=-1, keepdims=True), first_nan, idx)
    return _pick(result, x, d, idx, keepdim)


def median(input, dim=None, keepdim=False):
    """The lower median: of all elements (gradient split over ties), or along dim as
    (values, indices); nan if the elements contain nan."""
    x = _t(input, "median")
    if dim is None:
        return _median_all("median", x, ignore_nan=False)
    return _median_dim("median", _Median, x, dim, keepdim, ignore_nan=False)


def nanmedian(input, dim=None, keepdim=False):
    """median that ignores nan (nan only where every element is nan)."""
    x = _t(input, "nanmedian")
    if dim is None:
        return _median_all("nanmedian", x, ignore_nan=True)
    return _median_dim("nanmedian", _NanMedian, x, dim, keepdim, ignore_nan=True)


def kthvalue(input, k, dim=-1, keepdim=False):
    """The k-th smallest element along dim (k counts from 1) as (values, indices)."""
    x = _t(input, "kthvalue")
    k = _need_int(k, "kthvalue")
    a, d = _last_axis(x, dim, "kthvalue")
    n = a.shape[-1]
    if not 1 <= k <= n:
        raise ValueError(f"kthvalue: k={k} is out of range for dimension {d} of size {n} "
                         f"(shape {tuple(x.shape)})")
    xp = array_module(a)
    order = xp.argsort(a, axis=-1, kind="stable")
    return _pick(_KthValue, x, d, order[..., k - 1:k], keepdim)


def mode(input, dim=-1, keepdim=False):
    """The most frequent value along dim (the smallest among equally frequent ones) and the
    index of its last occurrence, as (values, indices)."""
    x = _t(input, "mode")
    a, d = _last_axis(x, dim, "mode")
    xp = array_module(a)
    n = a.shape[-1]
    order = xp.argsort(a, axis=-1, kind="stable")
    s = _take(a, order)
    pos = xp.broadcast_to(xp.arange(n), s.shape)
    starts = xp.ones(s.shape, dtype=bool)
    starts[..., 1:] = s[..., 1:] != s[..., :-1]
    ends = xp.ones(s.shape, dtype=bool)
    ends[..., :-1] = starts[..., 1:]
    run_start = SC.scan("maximum", xp.where(starts, pos, 0), -1)
    run_end = xp.flip(SC.scan("minimum", xp.flip(xp.where(ends, pos, n), -1), -1), -1)
    best = xp.argmax(run_end - run_start, axis=-1, keepdims=True)   # first = smallest value
    # the stable sort keeps equal values in input order: a run's end is the last occurrence
    idx = _take(order, _take(run_end, best))
    return _pick(_Mode, x, d, idx, keepdim)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(op: str, input, q, dim, keepdim: bool, interpolation: str, ignore_nan: bool):
    x = _need_float(_t(input, op), op)
    if x.numel() == 0:
        raise ValueError(f"{op}: input tensor must be non-empty, got shape {tuple(x.shape)}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{op}: interpolation must be one of {', '.join(_INTERPOLATIONS)}, "
                         f"got {interpolation!r}")
    xp = array_module(x._data)
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise ValueError(f"{op}: q must be a scalar or 1-D tensor, got shape "
                             f"{tuple(q.shape)}")
        scalar_q, qa = q.ndim == 0, B.to_device(q._data, x.device).reshape(-1)
    else:
        scalar_q, qa = True, xp.asarray([_number(q, op, "q")])
    qa = qa.astype(x.dtype)
    if bool(((qa < 0) | (qa > 1) | xp.isnan(qa)).any()):
        raise ValueError(f"{op}: q values must be in the range [0, 1], got "
                         f"{B.to_device(qa, 'cpu').tolist()}")
    if dim is None:
        v, d = x.reshape(-1), 0
    else:
        d = _dim(dim, x.ndim, op)
        v = x.reshape(1) if x.ndim == 0 else \
            x.permute(*[i for i in range(x.ndim) if i != d], d)
    v = v.sort(-1).values
    n = v.shape[-1]
    nan = xp.isnan(v._data)
    if ignore_nan:
        last = n - nan.sum(axis=-1, keepdims=True) - 1        # -1 where all are nan
        ranks = qa * last.astype(x.dtype)
        masked = last < 0
        ranks = xp.where(masked, n - 1, ranks)
    else:
        last, masked = n - 1, nan[..., -1:]
        ranks = xp.where(masked, n - 1, qa * (n - 1)).astype(x.dtype)
    lo = xp.floor(ranks).astype(np.int64)
    hi = xp.ceil(ranks).astype(np.int64)
    if interpolation == "nearest":
        out = v.gather(-1, _const(xp.round(ranks).astype(np.int64)))
    elif interpolation == "lower":
        out = v.gather(-1, _const(lo))
    elif interpolation == "higher":
        out = v.gather(-1, _const(hi))
    else:
        below, above = v.gather(-1, _const(lo)), v.gather(-1, _const(hi))
        if interpolation == "midpoint":
            w = 0.5
        elif isinstance(q, Tensor) and q.requires_grad:
            # torch differentiates q through the weight q * last - lo (rows pinned by nan: none)
            scale = _const(xp.asarray(last, dtype=x.dtype))
            w = where(_const(masked), 0.0,
                      q.reshape(-1).to(x.dtype) * scale - _const(lo.astype(x.dtype)))
        else:
            w = _const((ranks - lo).astype(x.dtype))
        out = below + (above - below) * w
    # out is (..., Q); torch puts the q dimension first
    out = out.permute(out.ndim - 1, *range(out.ndim - 1))
    if keepdim:
        kept = (1,) * x.ndim if dim is None else \
            tuple(1 if i == d else s for i, s in enumerate(x.shape))
        out = out.reshape((out.shape[0],) + kept)
    return out.squeeze(0) if scalar_q else out


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear") -> Tensor:
    """The q-th quantiles over dim (all elements when None); nan where the data hold nan."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, ignore_nan=False)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear") -> Tensor:
    """quantile that ignores nan."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, ignore_nan=True)


# -- scans ------------------------------------------------------------------------------------
def _cumextreme(op: str, result, input, dim, ufunc: str):
    x = _t(input, op)
    d = _dim(dim, x.ndim, op)
    if x.ndim == 0:
        return result(x.clone(), _const(array_module(x._data).zeros((), dtype=np.int64)))
    xp = array_module(x._data)
    a = x._data
    running = SC.scan(ufunc, a, d)
    hit = a == running
    if a.dtype.kind == "f":
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
    x = _floating(_t(input, "logcumsumexp"))
    d = _dim(dim, x.ndim, "logcumsumexp")
    if x.ndim == 0:
        return x * 1.0
    return SC.LogCumSumExp.apply(x, axis=d)


def renorm(input, p, dim, maxnorm) -> Tensor:
    """Each slice along dim whose p-norm exceeds maxnorm is scaled down to norm maxnorm."""
    x = _need_float(_t(input, "renorm"), "renorm")
    p = _number(p, "renorm", "p")
    maxnorm = _number(maxnorm, "renorm", "maxnorm")
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


# -- random -----------------------------------------------------------------------------------
def _probabilities(p, ref: Tensor, op: str):
    """p as an array on ref's device in [0, 1] (a number or a tensor broadcast to ref)."""
    xp = array_module(ref._data)
    if isinstance(p, Tensor):
        a = B.to_device(p._data, ref.device)
        try:
            a = xp.broadcast_to(a, ref.shape)
        except ValueError:
            raise ValueError(f"{op}: p of shape {tuple(p.shape)} does not broadcast to "
                             f"{tuple(ref.shape)}") from None
    else:
        a = xp.asarray(_number(p, op, "p"))
    if a.size and not bool(((a >= 0) & (a <= 1)).all()):
        raise ValueError(f"{op}: p must be in [0, 1] (shape {tuple(ref.shape)} {ref.dtype})")
    return a


def bernoulli_fill(self: Tensor, p=0.5) -> np.ndarray:
    """0/1 draws with probability p, in self's dtype: what bernoulli_ writes."""
    prob = _probabilities(p, self, "bernoulli_")
    u = R.uniform(self.shape, 0.0, 1.0, np.float64, self.device)
    return (u < prob).astype(self.dtype)


def _float_target(self: Tensor, op: str) -> Tensor:
    if not isinstance(self, Tensor) or self.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point tensor, got "
                        f"{_desc(self) if isinstance(self, Tensor) else type(self).__name__}")
    return self


def exponential_fill(self: Tensor, lambd=1.0):
    _float_target(self, "exponential_")
    lambd = _number(lambd, "exponential_", "lambd")
    if lambd <= 0:
        raise ValueError(f"exponential_: lambd must be positive, got {lambd}")
    return R.sample("exponential", self.shape, self.dtype, self.device, 1.0 / lambd)


def cauchy_fill(self: Tensor, median=0.0, sigma=1.0):
    _float_target(self, "cauchy_")
    sigma = _number(sigma, "cauchy_", "sigma")
    if sigma <= 0:
        raise ValueError(f"cauchy_: sigma must be positive, got {sigma}")
    z = R.sample("standard_cauchy", self.shape, np.float64, "cpu")
    return B.to_device((_number(median, "cauchy_", "median") + sigma * z).astype(self.dtype),
                       self.device)


def log_normal_fill(self: Tensor, mean=1.0, std=2.0):
    _float_target(self, "log_normal_")
    std = _number(std, "log_normal_", "std")
    if std <= 0:
        raise ValueError(f"log_normal_: std must be positive, got {std}")
    return R.sample("lognormal", self.shape, self.dtype, self.device,
                    _number(mean, "log_normal_", "mean"), std)


def geometric_fill(self: Tensor, p):
    p = _number(p, "geometric_", "p")
    if not 0 < p < 1:
        raise ValueError(f"geometric_: p must be in (0, 1), got {p}")
    return R.sample("geometric", self.shape, self.dtype, self.device, p)


def random_fill(self: Tensor, *args, **kwargs):
    """random_(), random_(to), random_(from, to): integers in [from, to) (torch's defaults:
    [0, 2**mantissa] for floats, [0, max] for integers)."""
    low = kwargs.pop("from", None)
    high = kwargs.pop("to", None)
    if kwargs or len(args) > 2:
        raise TypeError(f"random_: takes (from, to), got {args!r} {sorted(kwargs)}")
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        if low is None:
            low, high = (0, args[0]) if high is None else (args[0], high)
        else:
            high = args[0]
    low = 0 if low is None else _need_int(low, "random_")
    dt = self.dtype
    if high is None:
        if dt.kind == "f":
            top = 2 ** (np.finfo(dt).nmant + 1)
        else:
            top = D.iinfo(dt).max
        return R.sample("integers", self.shape, dt, self.device, low, top, endpoint=True)
    high = _need_int(high, "random_")
    if high <= low:
        raise ValueError(f"random_: expects 'from' ({low}) to be less than 'to' ({high})")
    return R.sample("integers", self.shape, dt, self.device, low, high)


def bernoulli(input, p=None, *, generator=None) -> Tensor:
    """0/1 draws with probability `input` (or p), in input's dtype."""
    x = _t(input, "bernoulli")
    return _const(bernoulli_fill(x, x if p is None else p))


def poisson(input, generator=None) -> Tensor:
    """Poisson draws with rate `input`, in input's dtype."""
    x = _need_float(_t(input, "poisson"), "poisson")
    if x.numel() and not bool((x._data >= 0).all()):
        raise ValueError(f"poisson: rates must be non-negative ({_desc(x)})")
    return _const(R.sample("poisson", x.shape, x.dtype, x.device, x._data))


def randint_like(input, low=0, high=None, *, dtype=None, device=None,
                 requires_grad=False) -> Tensor:
    """Integers in [low, high) with input's shape (and dtype and device unless given)."""
    x = _t(input, "randint_like")
    if high is None:
        low, high = 0, low
    low, high = _need_int(low, "randint_like"), _need_int(high, "randint_like")
    if high <= low:
        raise ValueError(f"randint_like: high ({high}) must be greater than low ({low})")
    dt = D.to_dtype(dtype) if dtype is not None else x.dtype
    dev = device if device is not None else x.device
    out = _const(R.integers(x.shape, low, high, dt, dev))
    return out.requires_grad_(True) if requires_grad else out


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None,
             requires_grad=False) -> Tensor:
    """base ** linspace(start, end, steps)."""
    steps = _need_int(steps, "logspace")
    if steps < 0:
        raise ValueError(f"logspace: number of steps must be non-negative, got {steps}")
    ends = []
    for name, v in (("start", start), ("end", end)):
        if isinstance(v, Tensor):               # torch takes 0-d tensor ends, read as numbers
            if v.ndim:
                raise ValueError(f"logspace: {name} must be a number or a 0-d tensor, got "
                                 f"shape {tuple(v.shape)}")
            v = v.item()
        ends.append(_number(v, "logspace", name))
    expo = np.linspace(ends[0], ends[1], steps)
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    dev = B.Device(device) if device is not None else B.get_default_device()
    out = _const(B.to_device((_number(base, "logspace", "base") ** expo).astype(dt), dev))
    return out.requires_grad_(True) if requires_grad else out


def dropout(input, p: float, train: bool) -> Tensor:
    """torch.dropout(input, p, train): nn.functional.dropout under torch's top-level name."""
    from .nn import functional as F
    return F.dropout(input, p, training=train)

