"""torch.nn.functional's loss functions, with torch's reductions and its deprecated
size_average/reduce pair.

Inputs are checked here, at the public boundary; the Functions in ops/ then run unchecked.
"""
from __future__ import annotations

import math
import warnings
from typing import Optional

import numpy as np

from ...backend import array_module, check_later
from ...ops import nn_ops as N
from ...tensor import Tensor, _const, where
from ._utils import _desc, _same, _tensor

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
           "margin_ranking_loss", "soft_margin_loss", "hinge_embedding_loss",
           "poisson_nll_loss"]


_REDUCTIONS = ("none", "mean", "sum")


def _reduction(reduction: str, op: str, size_average=None, reduce=None, extra=()) -> str:
    if size_average is not None or reduce is not None:   # torch's deprecated pair
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in _REDUCTIONS + tuple(extra):
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS + tuple(extra)}, got "
                         f"{reduction!r}")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _pair(input, target, op: str, broadcast_ok: bool = True):
    """Check a (prediction, target) pair of float tensors; torch warns and broadcasts on shape."""
    _tensor(input, op)
    target = _tensor(target, op, "target")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {_desc(input)}")
    if input.device != target.device:
        raise RuntimeError(f"{op}: input {_desc(input)} on {input.device} and target "
                           f"{_desc(target)} on {target.device} must share a device")
    if target.dtype != input.dtype:
        target = target.to(input.dtype)
    if target.shape != input.shape:
        if not broadcast_ok:
            raise ValueError(f"{op}: target {_desc(target)} must have the same shape as input "
                             f"{_desc(input)}")
        try:
            np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ValueError(f"{op}: input {_desc(input)} and target {_desc(target)} do not "
                             "broadcast") from None
        warnings.warn(f"{op}: target size {tuple(target.shape)} differs from input size "
                      f"{tuple(input.shape)}; they will be broadcast, which is likely wrong",
                      stacklevel=3)
    return input, target


def _class_targets(input: Tensor, target: Tensor, weight, ignore_index: int, op: str):
    """Flatten (N, C, d...) input to (M, C) and check the class indices; return arrays."""
    x = input
    if x.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension, (C,) or (N, C, ...), got "
                         f"{_desc(input)}")
    if x.ndim == 1:
        x = x.unsqueeze(0)
        if target.ndim != 0:
            raise ValueError(f"{op}: for unbatched input {_desc(input)} the target must be 0-d, "
                             f"got {_desc(target)}")
        target = target.reshape(1)
    c = x.shape[1]
    want = (x.shape[0],) + tuple(x.shape[2:])
    if tuple(target.shape) != want:
        raise ValueError(f"{op}: target {_desc(target)} does not fit input {_desc(input)} "
                         f"(expected target shape {want})")
    if x.ndim > 2:
        x = x.permute(0, *range(2, x.ndim), 1).reshape(-1, c)
    t = target._data.reshape(-1)
    if target.device != input.device:
        raise RuntimeError(f"{op}: input on {input.device} but target on {target.device}")
    valid = t != ignore_index
    if t.size:
        bad = (valid & ((t < 0) | (t >= c))).any()
        if input.device == "cpu":
            if bad:
                t_bad = t[valid & ((t < 0) | (t >= c))]
                raise IndexError(f"{op}: target {int(t_bad[0])} is out of bounds for {c} "
                                 f"classes (input {_desc(input)})")
        else:   # read at the next sync, so the step does not wait for the GPU here
            check_later(bad, f"IndexError: {op}: a target is out of bounds for {c} classes "
                             f"(input {_desc(input)})")
    w = None
    if weight is not None:
        _tensor(weight, op, "weight")
        if weight.shape != (c,):
            raise ValueError(f"{op}: weight {_desc(weight)} should have one entry per class "
                             f"({c},)")
        w = weight._data.astype(x.dtype, copy=False)
    return x, t, w, valid, want


def cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """l = -sum_c q_c * w_c * log_softmax(x)_c, with q one-hot (or given probabilities),
    smoothed toward uniform by label_smoothing"""
    op = "cross_entropy"
    x = _tensor(input, op)
    target = _tensor(target, op, "target")
    reduction = _reduction(reduction, op, size_average, reduce)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {_desc(x)}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if target.dtype.kind == "f":
        return _cross_entropy_probs(x, target, weight, reduction, label_smoothing)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold class indices (int) or probabilities (float), "
                        f"got {_desc(target)}")
    x2, t, w, valid, shape = _class_targets(x, target, weight, ignore_index, op)
    loss = N.CrossEntropy.apply(x2, t, w, valid, smoothing=float(label_smoothing),
                                reduction=reduction)
    if reduction == "none":
        return loss.reshape(shape if input.ndim > 1 else ())
    return loss


def _cross_entropy_probs(x, target, weight, reduction, smoothing):
    op = "cross_entropy"
    if target.shape != x.shape:
        raise ValueError(f"{op}: probability target {_desc(target)} must have the input's shape "
                         f"{_desc(x)}")
    _same(x, target, op, "target")
    cdim = 0 if x.ndim == 1 else 1
    c = x.shape[cdim]
    if smoothing:
        target = target * (1.0 - smoothing) + smoothing / c
    logp = x.log_softmax(cdim)
    if weight is not None:
        _same(x, weight, op, "weight")
        logp = logp * weight.reshape((c,) + (1,) * (x.ndim - cdim - 1))
    loss = -(logp * target).sum(cdim)
    if reduction == "mean":
        return loss.sum() / max(x.numel() // max(c, 1), 1) if x.numel() else loss.sum() / 0.0
    return _reduce(loss, reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
             size_average=None, ignore_index: int = -100, reduce=None,
             reduction: str = "mean") -> Tensor:
    """l_i = -w_t * x[i, t_i]; mean divides by the sum of the w_t not ignored"""
    op = "nll_loss"
    x = _tensor(input, op)
    target = _tensor(target, op, "target")
    reduction = _reduction(reduction, op, size_average, reduce)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold class indices, got {_desc(target)}")
    x2, t, w, valid, shape = _class_targets(x, target, weight, ignore_index, op)
    xp = array_module(x._data)
    safe = xp.where(valid, t, 0)
    wt = valid.astype(x.dtype) if w is None else w[safe] * valid
    picked = x2[xp.arange(x2.shape[0]), safe]
    loss = -(picked * _const(wt))
    if reduction == "none":
        return loss.reshape(shape if input.ndim > 1 else ())
    total = loss.sum()
    if reduction == "sum":
        return total
    return total / _const(xp.asarray(wt.sum(), dtype=x.dtype))


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean") -> Tensor:
    """l = (x - y)^2"""
    reduction = _reduction(reduction, "mse_loss", size_average, reduce)
    x, y = _pair(input, target, "mse_loss")
    d = x - y
    return _reduce(d * d, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean") -> Tensor:
    """l = |x - y|"""
    reduction = _reduction(reduction, "l1_loss", size_average, reduce)
    x, y = _pair(input, target, "l1_loss")
    return _reduce((x - y).abs(), reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """l = 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta"""
    reduction = _reduction(reduction, "smooth_l1_loss", size_average, reduce)
    x, y = _pair(input, target, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    d = x - y
    a = d.abs()
    if beta == 0.0:
        return _reduce(a, reduction)
    return _reduce(where(a < beta, d * d * (0.5 / beta), a - 0.5 * beta), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",
               delta: float = 1.0) -> Tensor:
    """l = 0.5 d^2 if |d| < delta else delta * (|d| - 0.5 delta)"""
    reduction = _reduction(reduction, "huber_loss")
    x, y = _pair(input, target, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    d = x - y
    a = d.abs()
    return _reduce(where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta), reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """l = -w * (y log(x) + (1 - y) log(1 - x)), each log clamped at -100 like torch"""
    op = "binary_cross_entropy"
    reduction = _reduction(reduction, op, size_average, reduce)
    x, y = _pair(input, target, op, broadcast_ok=False)
    if x.numel() and x.device == "cuda":                 # read at the next sync, no stall here
        check_later((x._data.min() < 0.0) | (x._data.max() > 1.0),
                    f"ValueError: {op}: input values must be probabilities in [0, 1] "
                    f"({_desc(x)})")
    elif x.numel():
        lo, hi = float(x._data.min()), float(x._data.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(f"{op}: input values must be probabilities in [0, 1], got "
                             f"[{lo}, {hi}] in {_desc(x)}")
    loss = N.BinaryCrossEntropy.apply(x, y)
    if weight is not None:
        _same(x, weight, op, "weight")
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Optional[Tensor] = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Optional[Tensor] = None) -> Tensor:
    """l = w * ((1 - y) x + (1 + (pw - 1) y) * log(1 + exp(-x))), computed without overflow"""
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(reduction, op, size_average, reduce)
    x, y = _pair(input, target, op, broadcast_ok=False)
    arrays = []
    for name, t in (("weight", weight), ("pos_weight", pos_weight)):
        if t is None:
            arrays.append(None)
            continue
        _tensor(t, op, name)
        if t.device != x.device:
            raise RuntimeError(f"{op}: {name} on {t.device} but input on {x.device}")
        try:
            np.broadcast_shapes(t.shape, x.shape)
        except ValueError:
            raise ValueError(f"{op}: {name} {_desc(t)} does not broadcast to input "
                             f"{_desc(x)}") from None
        arrays.append(t._data.astype(x.dtype, copy=False))
    loss = N.BCEWithLogits.apply(x, y, arrays[0], arrays[1])
    return _reduce(loss, reduction)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """l = y * (log y - x) (input x is log-probabilities); with log_target, exp(y) * (y - x)"""
    op = "kl_div"
    reduction = _reduction(reduction, op, size_average, reduce, extra=("batchmean",))
    x, y = _pair(input, target, op)
    if log_target:
        loss = y.exp() * (y - x)
    else:
        zero = y == 0       # xlogy: 0 * log 0 = 0; negative targets give nan, as in torch
        ylogy = where(zero, 0.0, y * where(zero, 1.0, y).log())
        loss = ylogy - y * x
    if reduction == "batchmean":
        return loss.sum() / (x.shape[0] if x.ndim else 1)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """l = max(0, -y (x1 - x2) + margin)"""
    reduction = _reduction(reduction, "margin_ranking_loss", size_average, reduce)
    x1, x2 = _tensor(input1, "margin_ranking_loss"), _tensor(input2, "margin_ranking_loss")
    y = _tensor(target, "margin_ranking_loss", "target")
    return _reduce((-y * (x1 - x2) + margin).clamp(min=0), reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """l = log(1 + exp(-y x))"""
    reduction = _reduction(reduction, "soft_margin_loss", size_average, reduce)
    x, y = _pair(input, target, "soft_margin_loss")
    return _reduce((-y * x).softplus(), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """l = x where y == 1, max(0, margin - x) where y == -1 (both terms where y is neither)"""
    reduction = _reduction(reduction, "hinge_embedding_loss", size_average, reduce)
    x, y = _pair(input, target, "hinge_embedding_loss")
    from ...tensor import where
    loss = (where(y != 1, (margin - x).clamp(min=0), 0.0) + where(y != -1, x, 0.0))
    return _reduce(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """l = exp(x) - y x (log_input), else x - y log(x + eps); full adds Stirling's
    y log y - y + log(2 pi y) / 2 where y > 1"""
    reduction = _reduction(reduction, "poisson_nll_loss", size_average, reduce)
    x, y = _pair(input, target, "poisson_nll_loss")
    loss = x.exp() - y * x if log_input else x - y * (x + eps).log()
    if full:
        safe = where(y > 1, y, 1.0)
        stirling = safe * safe.log() - safe + (safe * (2 * math.pi)).log() * 0.5
        loss = loss + where(y > 1, stirling, 0.0)
    return _reduce(loss, reduction)
