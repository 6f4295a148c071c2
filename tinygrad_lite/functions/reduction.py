"""Reductions (torch's "Reduction Ops"): sum/mean/prod, max/min/amax/amin/aminmax,
argmax/argmin, var/std and their *_mean forms, norm, logsumexp, the nan-aware sums and means,
median/nanmedian, mode, quantile/nanquantile, count_nonzero, unique, all/any."""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from .. import backend as B
from .._checks import check_number
from .._checks import check_tensor as _tensor
from .._checks import describe as _desc
from .._checks import need_float as _need_float
from .._checks import tensor_or_array as _t
from ..autograd.autocast_mode import autocast_op
from ..backend import array_module
from ..dtypes import is_floating
from ..ops import linalg as LA
from ..ops import reduction as RD
from ..ops import scan as SC
from ..ops.reduction import MaxMin, Norm2, NormP, _count, check_extent
from ..tensor import Tensor, _axes, _const, _dim, _var_dim, where


def sum(x, dim=None, keepdim=False, dtype=None): return _t(x).sum(dim, keepdim, dtype=dtype)


def mean(x, dim=None, keepdim=False): return _t(x).mean(dim, keepdim)


def prod(x, dim=None, keepdim=False): return _t(x).prod(dim, keepdim)


def max(x, dim=None, keepdim=False): return _t(x).max(dim, keepdim)


def min(x, dim=None, keepdim=False): return _t(x).min(dim, keepdim)


def amax(x, dim=None, keepdim=False): return _t(x).amax(dim, keepdim)


def amin(x, dim=None, keepdim=False): return _t(x).amin(dim, keepdim)


def argmax(x, dim=None, keepdim=False): return _t(x).argmax(dim, keepdim)


def argmin(x, dim=None, keepdim=False): return _t(x).argmin(dim, keepdim)


def var(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return _t(x).var(dim, unbiased, keepdim, correction)


def std(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return _t(x).std(dim, unbiased, keepdim, correction)


def norm(x, p="fro", dim=None, keepdim=False): return _t(x).norm(p, dim, keepdim)


def logsumexp(x, dim, keepdim=False): return _t(x).logsumexp(dim, keepdim)


def all(x, dim=None, keepdim=False): return _t(x).all(dim, keepdim)


def any(x, dim=None, keepdim=False): return _t(x).any(dim, keepdim)


def arg_reduce(x, fn, dim, keepdim, op=None):
    """argmax/argmin: int64 indices, never part of the graph (`op` names the caller in errors)."""
    xp = array_module(x._data)
    axes = None if dim is None else (_dim(dim, x.ndim, op or fn),) if x.ndim else ()
    check_extent(x.shape, axes, op or fn, IndexError)
    if dim is None:
        out = getattr(xp, fn)(x._data.reshape(-1))
        if keepdim:
            out = xp.asarray(out).reshape((1,) * x.ndim)
        return _const(xp.asarray(out, dtype=np.int64))
    d = _dim(dim, x.ndim, fn)
    if not x.ndim:                  # torch: dim 0 / -1 of a 0-d tensor, index 0
        return _const(xp.zeros((), dtype=np.int64))
    out = getattr(xp, fn)(x._data, axis=d, keepdims=keepdim)
    return _const(out.astype(np.int64, copy=False))


def max_min_dim(x, dim, keepdim, kind):
    """max/min along dim: (values, indices); the gradient goes to the chosen index only."""
    idx = arg_reduce(x, "argmax" if kind == "max" else "argmin", dim, True, op=kind)
    values = x.gather(dim, idx)
    if not keepdim:
        values, idx = values.squeeze(dim), idx.squeeze(dim)
    return MaxMin(values, idx)


def _var(x, dim, correction, keepdim, op="var"):
    """var = sum((x - mean)^2) / (n - correction), composed so it differentiates twice."""
    axes = _axes(dim, x.ndim, op=op)
    n = _count(x.shape, axes)
    mu = x.mean(dim=axes, keepdim=True)
    d = x - mu
    return (d * d).sum(dim=axes, keepdim=keepdim) * (1.0 / builtins.max(n - correction, 0) if
                                                      n - correction > 0 else float("nan"))


def _norm(x, p, dim, keepdim):
    axes = _axes(dim, x.ndim)
    if not isinstance(p, (str, int, float, np.number)):
        raise TypeError(f"norm: p must be a number or 'fro', got {type(p).__name__} for input "
                        f"{tuple(x.shape)} {x.dtype}")
    if p in ("fro", 2, 2.0):
        return Norm2.apply(x, axes=axes, keepdim=keepdim)
    if p in (float("inf"), "inf"):
        return x.abs().amax(dim=axes, keepdim=keepdim)
    if p in (1, 1.0):
        return x.abs().sum(dim=axes, keepdim=keepdim)
    if p in (float("-inf"), "-inf"):
        return x.abs().amin(dim=axes, keepdim=keepdim)
    if p == 0:
        return x.abs().sign().sum(dim=axes, keepdim=keepdim)   # gradient 0, as torch
    if p == "nuc":
        return _nuclear(x, dim, keepdim)
    if isinstance(p, (int, float, np.number)) and not isinstance(p, bool):
        return NormP.apply(x, p=float(p), axes=axes, keepdim=keepdim)
    raise ValueError(f"norm: unsupported p={p!r} (use 'fro', 'nuc', a number, or +-inf)")


def _nuclear(x, dim, keepdim):
    """torch.norm(p='nuc'): the sum of singular values over two dims (a 2-D input's both)."""
    if dim is None:
        if x.ndim != 2:
            raise ValueError(f"norm: p='nuc' without dim needs a 2-D input, got shape "
                             f"{tuple(x.shape)}")
        dim = (0, 1)
    r, c = (_dim(d, x.ndim, "norm") for d in dim)
    out = LA.Svdvals.apply(x.movedim((r, c), (-2, -1))).sum(-1)
    for d in sorted((r, c)) if keepdim else ():
        out = out.unsqueeze(d)
    return out




# -- statistics -------------------------------------------------------------------------------
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None) -> tuple:
    """(var, mean) over dim, with var's correction rules."""
    x = _need_float(_tensor(input, "var_mean"), "var_mean")
    dim, unbiased = _var_dim("var_mean", dim, unbiased, keepdim, correction)
    dim = _axes(dim, x.ndim, op="var_mean")
    return x.var(dim, unbiased, keepdim, correction), x.mean(dim, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None) -> tuple:
    """(std, mean) over dim, with std's correction rules."""
    x = _need_float(_tensor(input, "std_mean"), "std_mean")
    dim, unbiased = _var_dim("std_mean", dim, unbiased, keepdim, correction)
    dim = _axes(dim, x.ndim, op="std_mean")
    return x.std(dim, unbiased, keepdim, correction), x.mean(dim, keepdim)


# -- non-differentiable utilities -------------------------------------------------------------
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """Sorted distinct values (or slices along dim), with optional inverse indices and counts."""
    x = _tensor(input, "unique")
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




_Median = namedtuple("median", ["values", "indices"])


_NanMedian = namedtuple("nanmedian", ["values", "indices"])


_Mode = namedtuple("mode", ["values", "indices"])


# -- nan-aware reductions and counts ----------------------------------------------------------
def nansum(input, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    """Sum with nan counted as 0 (its gradient is 0 there)."""
    x = _tensor(input, "nansum")
    if dtype is not None:
        x = x.to(dtype)
    if is_floating(x.dtype):
        x = where(x.detach().isnan(), 0.0, x)
    return x.sum(dim, keepdim)


def nanmean(input, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    """Mean over the elements that are not nan."""
    x = _tensor(input, "nanmean")
    if dtype is not None:
        x = x.to(dtype)
    _need_float(x, "nanmean")
    dim = _axes(dim, x.ndim, op="nanmean")
    count = (~x.detach().isnan()).sum(dim, keepdim).to(x.dtype)
    # dividing by nan, not 0, where nothing is counted: nan as in torch, without a warning
    return nansum(x, dim, keepdim) / where(count == 0, float("nan"), count)


def count_nonzero(input, dim=None) -> Tensor:
    """Number of nonzero elements over dim (all when None), as int64."""
    x = _tensor(input, "count_nonzero")
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
        if not is_floating(x.dtype):
            raise ValueError(f"{op}: cannot take the median of an empty tensor ({_desc(x)})")
        # torch: nan, and a zero gradient
        return RD.EvenPick.apply(x, value=xp.asarray(xp.nan, dtype=x.dtype),
                                 mask=xp.zeros(x.shape, dtype=bool))
    nan = xp.isnan(flat) if is_floating(x.dtype) else xp.zeros(flat.shape, dtype=bool)
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
    nan = xp.isnan(a) if is_floating(a.dtype) else xp.zeros(a.shape, dtype=bool)
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
    x = _tensor(input, "median")
    if dim is None:
        return _median_all("median", x, ignore_nan=False)
    return _median_dim("median", _Median, x, dim, keepdim, ignore_nan=False)


def nanmedian(input, dim=None, keepdim=False):
    """median that ignores nan (nan only where every element is nan)."""
    x = _tensor(input, "nanmedian")
    if dim is None:
        return _median_all("nanmedian", x, ignore_nan=True)
    return _median_dim("nanmedian", _NanMedian, x, dim, keepdim, ignore_nan=True)


def mode(input, dim=-1, keepdim=False):
    """The most frequent value along dim (the smallest among equally frequent ones) and the
    index of its last occurrence, as (values, indices)."""
    x = _tensor(input, "mode")
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
    x = _need_float(_tensor(input, op), op)
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
        scalar_q, qa = True, xp.asarray([check_number(q, "q", op, finite=False)])
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


@autocast_op("quantile")
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear") -> Tensor:
    """The q-th quantiles over dim (all elements when None); nan where the data hold nan."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, ignore_nan=False)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear") -> Tensor:
    """quantile that ignores nan."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, ignore_nan=True)




_AminMax = namedtuple("aminmax", ["min", "max"])


def aminmax(input, *, dim=None, keepdim=False):
    """(min, max) over dim (over everything when None)."""
    x = _tensor(input, "aminmax")
    if x.numel() == 0:
        raise RuntimeError(f"aminmax: cannot reduce an empty tensor of shape {tuple(x.shape)}")
    if dim is None and keepdim:
        axes = tuple(range(x.ndim))
        return _AminMax(x.amin(axes, True), x.amax(axes, True))
    return _AminMax(x.amin(dim, keepdim), x.amax(dim, keepdim))


def dist(input, other, p=2) -> Tensor:
    """The p-norm of input - other (broadcast)."""
    return (_tensor(input, "dist") - _tensor(other, "dist")).norm(p)
