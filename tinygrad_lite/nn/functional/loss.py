"""torch.nn.functional's loss functions, with torch's reductions and its deprecated
size_average/reduce pair.

Inputs are checked here, at the public boundary; the Functions in ops/ then run unchecked.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Callable, Optional, Union

import numpy as np

from ...autograd.autocast_mode import autocast_op
from ...backend import array_module, check_later
from ...dtypes import is_floating
from ...functions.creation import arange
from ...functions.creation import full as _full
from ...ops import loss as N
from ...tensor import Tensor, _const, where
from ._utils import _desc, _same, _tensor
from .activation import logsigmoid
from .distance import pairwise_distance

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
           "margin_ranking_loss", "soft_margin_loss", "hinge_embedding_loss", "poisson_nll_loss",
           "triplet_margin_loss", "triplet_margin_with_distance_loss", "cosine_embedding_loss",
           "multi_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss",
           "gaussian_nll_loss"]


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
    if not is_floating(input.dtype):
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


@autocast_op("cross_entropy")
def cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """l = -sum_c q_c * w_c * log_softmax(x)_c, with q one-hot (or given probabilities),
    smoothed toward uniform by label_smoothing"""
    op = "cross_entropy"
    x = _tensor(input, op)
    target = _tensor(target, op, "target")
    reduction = _reduction(reduction, op, size_average, reduce)
    if not is_floating(x.dtype):
        raise TypeError(f"{op}: input must be floating point, got {_desc(x)}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if is_floating(target.dtype):
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


@autocast_op("nll_loss")
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


@autocast_op("mse_loss")
def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean") -> Tensor:
    """l = (x - y)^2"""
    reduction = _reduction(reduction, "mse_loss", size_average, reduce)
    x, y = _pair(input, target, "mse_loss")
    d = x - y
    return _reduce(d * d, reduction)


@autocast_op("l1_loss")
def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean") -> Tensor:
    """l = |x - y|"""
    reduction = _reduction(reduction, "l1_loss", size_average, reduce)
    x, y = _pair(input, target, "l1_loss")
    return _reduce((x - y).abs(), reduction)


@autocast_op("smooth_l1_loss")
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


@autocast_op("huber_loss")
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


@autocast_op("binary_cross_entropy")
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


@autocast_op("binary_cross_entropy_with_logits")
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


@autocast_op("kl_div")
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


@autocast_op("margin_ranking_loss")
def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """l = max(0, -y (x1 - x2) + margin)"""
    reduction = _reduction(reduction, "margin_ranking_loss", size_average, reduce)
    x1, x2 = _tensor(input1, "margin_ranking_loss"), _tensor(input2, "margin_ranking_loss")
    y = _tensor(target, "margin_ranking_loss", "target")
    return _reduce((-y * (x1 - x2) + margin).clamp(min=0), reduction)


@autocast_op("soft_margin_loss")
def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """l = log(1 + exp(-y x))"""
    reduction = _reduction(reduction, "soft_margin_loss", size_average, reduce)
    x, y = _pair(input, target, "soft_margin_loss")
    return _reduce((-y * x).softplus(), reduction)


@autocast_op("hinge_embedding_loss")
def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """l = x where y == 1, max(0, margin - x) where y == -1 (both terms where y is neither)"""
    reduction = _reduction(reduction, "hinge_embedding_loss", size_average, reduce)
    x, y = _pair(input, target, "hinge_embedding_loss")
    from ...tensor import where
    loss = (where(y != 1, (margin - x).clamp(min=0), 0.0) + where(y != -1, x, 0.0))
    return _reduce(loss, reduction)


@autocast_op("poisson_nll_loss")
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

def _float_input(x, op: str, name: str = "input") -> Tensor:
    _tensor(x, op, name)
    if not is_floating(x.dtype):
        raise TypeError(f"{op}: {name} must be floating point, got {_desc(x)}")
    return x


def _broadcast(op: str, **tensors: Tensor) -> tuple:
    """The broadcast shape of the named tensors, or an error naming each of them."""
    try:
        return np.broadcast_shapes(*(t.shape for t in tensors.values()))
    except ValueError:
        listed = ", ".join(f"{name} {_desc(t)}" for name, t in tensors.items())
        raise ValueError(f"{op}: {listed} do not broadcast") from None


def _raise_if(bad: Tensor, error: type, message: str) -> None:
    """Raise error(message) where the 0-d bool `bad` is true: at once on the host, at the next
    sync on a GPU (so a training step does not wait here)."""
    if bad.device == "cpu":
        if bad.item():
            raise error(message)
    else:
        check_later(bad._data, f"{error.__name__}: {message}")


def _atleast_2d(x: Tensor) -> Tensor:
    return x.reshape((1,) * (2 - x.ndim) + tuple(x.shape)) if x.ndim < 2 else x


def _class_scores(x: Tensor, op: str) -> None:
    if x.ndim > 2 or (x.ndim and x.shape[-1] == 0):
        raise ValueError(f"{op}: input must be a non-empty vector (C,) or matrix (N, C), N may "
                         f"be 0, got {_desc(x)}")


def _index_target(t, op: str) -> Tensor:
    _tensor(t, op, "target")
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold class indices (an integer dtype), got "
                        f"{_desc(t)}")
    return t


# -- triplets ------------------------------------------------------------------------------------
def _triplet(anchor, positive, negative, distance, margin, swap: bool, reduction: str,
             op: str) -> Tensor:
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        _tensor(t, op, name)
    if isinstance(margin, bool) or not isinstance(margin, numbers.Real) or not margin > 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin!r}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ValueError(f"{op}: anchor, positive and negative must have the same number of "
                         f"dimensions, got anchor {_desc(anchor)}, positive {_desc(positive)} "
                         f"and negative {_desc(negative)}")
    d_pos, d_neg = distance(anchor, positive), distance(anchor, negative)
    if swap:    # Balntas et al. 2016: the positive may be the nearer corner to the negative
        d_neg = d_neg.minimum(distance(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)


@autocast_op("triplet_margin_loss")
def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """l = max(0, margin + ||a - p + eps||_p - ||a - n + eps||_p) over the last dimension;
    swap uses min(||a - n||, ||p - n||) for the negative distance"""
    op = "triplet_margin_loss"
    reduction = _reduction(reduction, op, size_average, reduce)
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        _float_input(t, op, name)
    _broadcast(op, anchor=anchor, positive=positive, negative=negative)
    return _triplet(anchor, positive, negative,
                    lambda x, y: pairwise_distance(x, y, p, eps), margin, swap, reduction, op)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function: Optional[Callable] = None,
                                      margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean") -> Tensor:
    """l = max(0, margin + d(a, p) - d(a, n)) for any distance d (pairwise_distance by default);
    swap uses min(d(a, n), d(p, n))"""
    op = "triplet_margin_with_distance_loss"
    reduction = _reduction(reduction, op)
    if distance_function is not None and not callable(distance_function):
        raise TypeError(f"{op}: distance_function must be callable, got "
                        f"{type(distance_function).__name__}")
    return _triplet(anchor, positive, negative, distance_function or pairwise_distance,
                    margin, swap, reduction, op)


# -- cosine embedding ----------------------------------------------------------------------------
@autocast_op("cosine_embedding_loss")
def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """l = 1 - cos(x1, x2) where y == 1, max(0, cos(x1, x2) - margin) where y == -1, 0 elsewhere;
    cos = <x1, x2> / sqrt((|x1|^2 + 1e-12) (|x2|^2 + 1e-12))"""
    op = "cosine_embedding_loss"
    reduction = _reduction(reduction, op, size_average, reduce)
    x1, x2 = _float_input(input1, op, "input1"), _float_input(input2, op, "input2")
    y = _tensor(target, op, "target")
    if y.ndim > 1:
        raise ValueError(f"{op}: target must be 0-d or 1-d (multi-target is not supported), got "
                         f"{_desc(y)}")
    if x1.ndim != y.ndim + 1 or x2.ndim != y.ndim + 1:
        raise ValueError(f"{op}: a {y.ndim}-d target {_desc(y)} expects {y.ndim + 1}-d inputs, "
                         f"got input1 {_desc(x1)} and input2 {_desc(x2)}")
    shape = _broadcast(op, input1=x1, input2=x2)
    try:
        np.broadcast_shapes(shape[:-1], y.shape)
    except ValueError:
        raise ValueError(f"{op}: target {_desc(y)} does not match the batch of input1 "
                         f"{_desc(x1)} and input2 {_desc(x2)}") from None
    if y.device != x1.device or x2.device != x1.device:
        raise RuntimeError(f"{op}: input1 on {x1.device}, input2 on {x2.device} and target on "
                           f"{y.device} must share a device")
    dim, tiny = y.ndim, 1e-12
    dot = (x1 * x2).sum(dim)
    cos = dot / (((x1 * x1).sum(dim) + tiny) * ((x2 * x2).sum(dim) + tiny)).sqrt()
    loss = where(y == 1, 1.0 - cos, 0.0) + where(y == -1, (cos - margin).clamp(min=0), 0.0)
    return _reduce(loss, reduction)


# -- multi-class and multi-label margins ---------------------------------------------------------
@autocast_op("multi_margin_loss")
def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Optional[Tensor] = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """l_i = sum_{j != y_i} w_{y_i} max(0, margin - x[i, y_i] + x[i, j])^p / C"""
    op = "multi_margin_loss"
    reduction = _reduction(reduction, op, size_average, reduce)
    x, t = _float_input(input, op), _index_target(target, op)
    if isinstance(p, bool) or p not in (1, 2):
        raise ValueError(f"{op}: only p == 1 and p == 2 are supported, got {p!r}")
    _class_scores(x, op)
    x2 = _atleast_2d(x)
    n, c = x2.shape
    if t.ndim > 1 or t.numel() != n:
        raise ValueError(f"{op}: target should be 1-d with one class per sample, ({n},), got "
                         f"{_desc(t)} for input {_desc(x)}")
    if t.device != x.device:
        raise RuntimeError(f"{op}: input on {x.device} but target on {t.device}")
    if weight is not None:
        _same(x, weight, op, "weight")
        if weight.ndim != 1 or weight.shape[0] != c:
            raise ValueError(f"{op}: weight {_desc(weight)} must be 1-d with one entry per "
                             f"class ({c},)")
    if n:
        _raise_if(((t < 0) | (t >= c)).any(), IndexError,
                  f"{op}: a target is out of range for {c} classes (input {_desc(x)})")
    t = t.reshape(n, 1)
    z = (margin - x2.gather(1, t) + x2).clamp(min=0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight.gather(0, t.reshape(n)).reshape(n, 1)
    per_sample = where(arange(c, device=x.device) != t, z, 0.0).sum(1) / c
    if reduction == "none":
        return per_sample.reshape(target.shape if x.ndim < 2 else (n,))
    return _reduce(per_sample, reduction)


@autocast_op("multilabel_margin_loss")
def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """l_i = sum_{j in y_i} sum_{k not in y_i} max(0, 1 - (x[i, j] - x[i, k])) / C, where y_i is
    the row's class indices up to its first -1"""
    op = "multilabel_margin_loss"
    reduction = _reduction(reduction, op, size_average, reduce)
    x, t = _float_input(input, op), _index_target(target, op)
    _class_scores(x, op)
    if t.shape != x.shape:
        raise ValueError(f"{op}: target {_desc(t)} must have the input's shape {_desc(x)}")
    if t.device != x.device:
        raise RuntimeError(f"{op}: input on {x.device} but target on {t.device}")
    x2, t2 = _atleast_2d(x), _atleast_2d(t)
    n, c = x2.shape
    if n:   # torch checks every entry, the ones after the first -1 too
        _raise_if(((t2 < -1) | (t2 >= c)).any(), IndexError,
                  f"{op}: a target is out of range: entries must lie in [-1, {c}) "
                  f"(input {_desc(x)})")
    classes = arange(c, device=x.device)
    first_end = where(t2 == -1, classes, c).amin(1, keepdim=True)
    used = classes < first_end                                      # (N, slot)
    t2 = where(used, t2, 0)
    is_target = ((classes == t2.unsqueeze(2)) & used.unsqueeze(2)).any(1)   # (N, class)
    z = (1.0 - x2.gather(1, t2).unsqueeze(2) + x2.unsqueeze(1)).clamp(min=0)  # (N, slot, class)
    keep = used.unsqueeze(2) & ~is_target.unsqueeze(1)
    per_sample = where(keep, z, 0.0).sum((1, 2)) / c
    if reduction == "none":
        return per_sample.reshape(()) if x.ndim < 2 else per_sample
    return _reduce(per_sample, reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                                size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    """l = -mean_c w_c (y_c log sigmoid(x_c) + (1 - y_c) log sigmoid(-x_c)) over the last
    dimension"""
    op = "multilabel_soft_margin_loss"
    reduction = _reduction(reduction, op, size_average, reduce)
    x, y = _float_input(input, op), _tensor(target, op, "target")
    if x.ndim == 0:
        raise ValueError(f"{op}: input needs a class dimension, (C,) or (N, C), got {_desc(x)}")
    named = dict(input=x, target=y) if weight is None else dict(input=x, target=y, weight=weight)
    if _broadcast(op, **named) != x.shape:
        listed = ", ".join(f"{name} {_desc(t)}" for name, t in named.items())
        raise ValueError(f"{op}: target and weight must broadcast to the input's shape: {listed}")
    if any(t.device != x.device for t in named.values()):
        raise RuntimeError(f"{op}: input, target and weight must share a device: " +
                           ", ".join(f"{name} on {t.device}" for name, t in named.items()))
    y = y.to(x.dtype)
    loss = -(y * logsigmoid(x) + (1.0 - y) * logsigmoid(-x))
    if weight is not None:
        loss = loss * weight
    c = x.shape[-1]
    per_sample = loss.sum(-1) / c if c else loss.sum(-1) * math.nan   # 0 / 0, as in torch
    return _reduce(per_sample, reduction)


# -- Gaussian negative log likelihood ------------------------------------------------------------
def gaussian_nll_loss(input: Tensor, target: Tensor, var: Union[Tensor, float],
                      full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """l = (log v + (x - y)^2 / v) / 2 with v = max(var, eps), plus log(2 pi) / 2 when full;
    the clamp passes the gradient through unchanged, as torch's in-place no-grad clamp does"""
    op = "gaussian_nll_loss"
    x, y = _float_input(input, op), _tensor(target, op, "target")
    if isinstance(var, numbers.Real) and not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"{op}: var has a negative entry ({var})")
        var = _full(x.shape, float(var), dtype=x.dtype, device=x.device)
    v = _tensor(var, op, "var")
    if v.shape != x.shape:
        if tuple(x.shape[:-1]) == tuple(v.shape):        # one variance per row: (N, D) and (N,)
            v = v.unsqueeze(-1)
        elif not (x.ndim == v.ndim and
                  sum(b for a, b in zip(x.shape, v.shape) if a != b) == 1):
            raise ValueError(f"{op}: var {_desc(v)} is of incorrect size for input {_desc(x)}: "
                             "it must match the input, lack its last dimension, or have size 1 "
                             "in the one dimension where they differ")
    reduction = _reduction(reduction, op)
    _broadcast(op, input=x, target=y, var=v)
    if y.device != x.device or v.device != x.device:
        raise RuntimeError(f"{op}: input on {x.device}, target on {y.device} and var on "
                           f"{v.device} must share a device")
    if v.numel():
        _raise_if((v < 0).any(), ValueError, f"{op}: var has negative entry/entries "
                                             f"(var {_desc(v)})")
    floor = v.detach()
    v = (v - floor) + floor.clamp(min=eps)     # the value clamped, the gradient straight through
    d = x - y.to(x.dtype)
    loss = 0.5 * (v.log() + d * d / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)
