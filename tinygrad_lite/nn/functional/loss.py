"""torch.nn.functional's basic family: linear, activations, norms, dropout, embedding, losses.

Inputs are checked here, at the public boundary; the Functions in ops/ then run unchecked.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Optional, Sequence, Union

import numpy as np

from ... import random
from ...backend import array_module, check_later
from ...ops import movement as M
from ...ops import nn_ops as N
from ...tensor import Tensor, _const, _inplace, where

__all__ = ["linear", "bilinear", "relu", "relu_", "leaky_relu", "elu", "gelu", "silu", "tanh",
           "sigmoid", "softplus", "softmax", "log_softmax", "batch_norm", "layer_norm",
           "group_norm", "dropout", "dropout2d", "embedding", "one_hot", "pad", "cross_entropy",
           "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
           "margin_ranking_loss", "soft_margin_loss", "hinge_embedding_loss", "poisson_nll_loss"]


def _desc(t: Tensor) -> str:
    return f"{tuple(t.shape)} {t.dtype}" + ("" if t.device == "cpu" else f" on {t.device}")


def _tensor(x, op: str, name: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def _same(x: Tensor, other: Optional[Tensor], op: str, name: str) -> None:
    """Other tensors of an op must share the input's floating dtype and device."""
    if other is None:
        return
    _tensor(other, op, name)
    if other.dtype != x.dtype or other.device != x.device:
        raise TypeError(f"{op}: {name} {_desc(other)} on {other.device} does not match input "
                        f"{_desc(x)} on {x.device} (same dtype and device expected)")


def _check_inplace(inplace, op: str) -> bool:
    # torch's functional ops take a plain flag; a tensor here is almost always a misplaced arg
    if not isinstance(inplace, (bool, np.bool_, numbers.Integral)):
        raise TypeError(f"{op}: inplace must be a bool, got {type(inplace).__name__}")
    return bool(inplace)


def _maybe_inplace(x: Tensor, inplace: bool, fn, op: str):
    return _inplace(x, fn) if _check_inplace(inplace, op) else fn(x)


# -- linear --------------------------------------------------------------------------------------
def linear(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """y = x @ W^T + b"""
    _tensor(input, "linear")
    _tensor(weight, "linear", "weight")
    if weight.ndim != 2 or input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        n = input.shape[-1] if input.ndim else 0
        want = weight.shape[1] if weight.ndim == 2 else "a 2-D weight"
        raise ValueError(f"linear: input {_desc(input)} has {n} features but weight "
                         f"{_desc(weight)} expects {want}")
    _same(input, weight, "linear", "weight")
    if bias is not None:
        _same(input, bias, "linear", "bias")
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias {_desc(bias)} should have shape "
                             f"({weight.shape[0]},) for weight {_desc(weight)}")
    return N.Linear.apply(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Optional[Tensor] = None) -> Tensor:
    """y_o = x1^T A_o x2 + b_o"""
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        _tensor(t, "bilinear", name)
    if (weight.ndim != 3 or input1.shape[-1] != weight.shape[1]
            or input2.shape[-1] != weight.shape[2] or input1.shape[:-1] != input2.shape[:-1]):
        raise ValueError(f"bilinear: input1 {_desc(input1)} and input2 {_desc(input2)} do not "
                         f"fit weight {_desc(weight)} (expects (..., in1) and (..., in2) with "
                         "equal leading dims)")
    out, in1, in2 = weight.shape
    # x1 @ A reshaped to (in1, out * in2), then a dot with x2 along in2
    z = input1 @ weight.permute(1, 0, 2).reshape(in1, out * in2)
    z = z.reshape(input1.shape[:-1] + (out, in2))
    y = (z * input2.unsqueeze(-2)).sum(-1)
    return y if bias is None else y + bias


# -- activations --------------------------------------------------------------------------------
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """y = max(x, 0)"""
    x = _tensor(input, "relu")
    return x.relu_() if _check_inplace(inplace, "relu") else x.relu()


def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """y = x if x > 0 else slope * x"""
    return _maybe_inplace(_tensor(input, "leaky_relu"), inplace,
                          lambda t: t.leaky_relu(negative_slope), "leaky_relu")


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """y = x if x > 0 else alpha * (exp(x) - 1)"""
    return _maybe_inplace(_tensor(input, "elu"), inplace, lambda t: t.elu(alpha), "elu")


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """y = x * Phi(x) (or its tanh approximation)"""
    return _tensor(input, "gelu").gelu(approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """y = x * sigmoid(x)"""
    return _maybe_inplace(_tensor(input, "silu"), inplace, lambda t: t.silu(), "silu")


def tanh(input: Tensor) -> Tensor:
    """y = tanh(x)"""
    return _tensor(input, "tanh").tanh()


def sigmoid(input: Tensor) -> Tensor:
    """y = 1 / (1 + exp(-x))"""
    return _tensor(input, "sigmoid").sigmoid()


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """y = log(1 + exp(beta * x)) / beta (x itself above threshold)"""
    return _tensor(input, "softplus").softplus(beta, threshold)


def _softmax_dim(ndim: int) -> int:
    # torch's legacy choice when dim is not given
    return 0 if ndim in (0, 1, 3) else 1


def _empty_safe(x: Tensor, fn, dim: int) -> Tensor:
    """torch returns an empty result for an empty input; NumPy's max has no identity there."""
    if x.numel() == 0:
        n = max(x.ndim, 1)
        if not -n <= dim < n:
            raise IndexError(f"{fn.__name__}: dimension out of range (expected to be in range "
                             f"of [{-n}, {n - 1}], but got {dim}) for input {_desc(x)}")
        return x * 0.0
    return fn(dim)


def softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """y = exp(x) / sum(exp(x)) along dim"""
    x = _tensor(input, "softmax")
    if dtype is not None:
        x = x.to(dtype)
    return _empty_safe(x, x.softmax, _softmax_dim(x.ndim) if dim is None else dim)


def log_softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """y = x - logsumexp(x) along dim"""
    x = _tensor(input, "log_softmax")
    if dtype is not None:
        x = x.to(dtype)
    return _empty_safe(x, x.log_softmax, _softmax_dim(x.ndim) if dim is None else dim)


# -- normalisation ------------------------------------------------------------------------------
def batch_norm(input: Tensor, running_mean: Optional[Tensor], running_var: Optional[Tensor],
               weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """y = (x - mean_c) / sqrt(var_c + eps) * w_c + b_c; batch stats in training (and the running
    stats move toward them by momentum), running stats otherwise"""
    x = _tensor(input, "batch_norm")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input with at least 2 dims (N, C, ...), got "
                         f"{_desc(x)}")
    c = x.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None:
            _same(x, t, "batch_norm", name)
            if t.shape != (c,):
                raise ValueError(f"batch_norm: {name} {_desc(t)} should have shape ({c},) for "
                                 f"input {_desc(x)} with {c} channels")
    if training and x.numel() == 0:
        # torch: an empty batch comes back empty, the running stats stay, weight and bias get
        # zero gradients
        y = x * 0.0
        shape = (1, c) + (1,) * (x.ndim - 2)
        if weight is not None:
            y = y * weight.reshape(shape)
        if bias is not None:
            y = y + bias.reshape(shape)
        return y
    if training:
        n = x.numel() // max(c, 1)
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input {_desc(x)}")
        stats = {}
        y = N.BatchNormTrain.apply(x, weight, bias, eps=eps, stats=stats)
        if running_mean is not None:
            m = x._data.dtype.type(momentum)
            running_mean._data *= 1 - m
            running_mean._data += m * stats["mean"]
            running_mean._version.v += 1
        if running_var is not None:
            m = x._data.dtype.type(momentum)
            running_var._data *= 1 - m
            running_var._data += (m * n / (n - 1)) * stats["var"]
            running_var._version.v += 1
        return y
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are needed when not training")
    shape = (1, c) + (1,) * (x.ndim - 2)
    xp = array_module(x._data)
    rstd = 1.0 / xp.sqrt(running_var._data + x.dtype.type(eps))
    scale = _const(rstd.reshape(shape))
    shift = _const((-running_mean._data * rstd).reshape(shape))
    if weight is not None:
        w = weight.reshape(shape)
        scale, shift = scale * w, shift * w
    if bias is not None:
        shift = shift + bias.reshape(shape)
    return x * scale + shift


def layer_norm(input: Tensor, normalized_shape: Union[int, Sequence[int]],
               weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               eps: float = 1e-5) -> Tensor:
    """y = (x - mean) / sqrt(var + eps) * w + b over the last len(normalized_shape) dims"""
    x = _tensor(input, "layer_norm")
    ns = M._ints(normalized_shape, "layer_norm", "normalized_shape")
    k = len(ns)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k:]) != ns:
        raise ValueError(f"layer_norm: input {_desc(x)} does not end with normalized_shape {ns}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None:
            _same(x, t, "layer_norm", name)
            if tuple(t.shape) != ns:
                raise ValueError(f"layer_norm: {name} {_desc(t)} should have shape {ns}")
    if math.prod(ns) == 0:      # nothing to normalise; torch returns the empty input's shape
        return x * 0.0
    return N.LayerNorm.apply(x, weight, bias, normalized_ndim=k, eps=eps)


def group_norm(input: Tensor, num_groups: int, weight: Optional[Tensor] = None,
               bias: Optional[Tensor] = None, eps: float = 1e-5) -> Tensor:
    """y = per-group (x - mean) / sqrt(var + eps), then w_c, b_c per channel"""
    x = _tensor(input, "group_norm")
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups < 1:
        raise ValueError(f"group_norm: num_groups must be a positive int, got {num_groups!r}")
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ValueError(f"group_norm: input {_desc(x)} needs a channel dim divisible by "
                         f"num_groups={num_groups}")
    if x.dtype.kind != "f":
        raise TypeError(f"group_norm: input must be floating point, got {_desc(x)}")
    n, c = x.shape[0], x.shape[1]
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"group_norm: {name} {_desc(t)} should have shape ({c},) for "
                             f"input {_desc(x)} with {c} channels")
    per_group = (c // num_groups) * math.prod(x.shape[2:])
    if per_group == 0:
        raise ValueError(f"group_norm: input {_desc(x)} has no values in each of its "
                         f"{num_groups} groups to normalise")
    g = x.reshape(n, num_groups, per_group)     # explicit: -1 is ambiguous when n == 0
    y = N.LayerNorm.apply(g, None, None, normalized_ndim=1, eps=eps).reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    if weight is not None:
        _same(x, weight, "group_norm", "weight")
        y = y * weight.reshape(shape)
    if bias is not None:
        _same(x, bias, "group_norm", "bias")
        y = y + bias.reshape(shape)
    return y


# -- dropout and embedding ----------------------------------------------------------------------
def _check_p(p: float, op: str) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"{op}: p must be a number in [0, 1], got {type(p).__name__} {p!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def _dropout_with(x: Tensor, p: float, mask_shape, inplace: bool, op: str) -> Tensor:
    if p == 1.0:
        return _maybe_inplace(x, inplace, lambda t: t * 0.0, op)
    mask = random.bernoulli_mask(mask_shape, 1.0 - p, x.dtype, x.device)
    mask *= x.dtype.type(1.0 / (1.0 - p))     # keep, then rescale, in one multiply
    return _maybe_inplace(x, inplace, lambda t: t * _const(mask), op)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """y = x * mask / (1 - p), mask ~ Bernoulli(1 - p), in training; y = x otherwise"""
    x = _tensor(input, "dropout")
    p = _check_p(p, "dropout")
    if training and p > 0.0 and x.dtype.kind != "f":
        # the 1 / (1 - p) rescale cannot be held by an integer tensor
        raise TypeError(f"dropout: input must be floating point, got {_desc(x)}")
    if not training or p == 0.0:
        return x
    return _dropout_with(x, p, x.shape, inplace, "dropout")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """dropout that zeroes whole channels: one mask value per (n, c)"""
    x = _tensor(input, "dropout2d")
    p = _check_p(p, "dropout2d")
    if training and p > 0.0 and x.dtype.kind != "f":
        raise TypeError(f"dropout2d: input must be floating point, got {_desc(x)}")
    if x.ndim == 2:
        # torch warns and drops element by element here (a deprecation, not yet an error)
        warnings.warn("dropout2d: received a 2-D input; it is dropped element by element, as "
                      "dropout does (dropout2d drops channels of 3-D or 4-D inputs)",
                      UserWarning, stacklevel=2)
        mask_shape = x.shape
    elif x.ndim in (3, 4):
        mask_shape = x.shape[:2] + (1,) * (x.ndim - 2)
    else:
        raise ValueError(f"dropout2d: expected a 2-D, 3-D or 4-D input, got {_desc(x)}")
    if not training or p == 0.0:
        return x
    return _dropout_with(x, p, mask_shape, inplace, "dropout2d")


def embedding(input: Tensor, weight: Tensor, padding_idx: Optional[int] = None,
              max_norm: Optional[float] = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """y = W[idx] (the padding_idx row gets no gradient)"""
    _tensor(input, "embedding")
    _tensor(weight, "embedding", "weight")
    if input.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor, got {_desc(input)}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D, got {_desc(weight)}")
    if input.device != weight.device:
        raise RuntimeError(f"embedding: indices on {input.device} but weight on {weight.device}")
    num = weight.shape[0]
    if input.numel() and input.device == "cuda":       # read at the next sync, no stall here
        check_later((input._data.max() >= num) | (input._data.min() < 0),
                    f"IndexError: embedding: index out of range for weight {_desc(weight)} "
                    f"with {num} rows")
    elif input.numel() and (int(input._data.max()) >= num or int(input._data.min()) < 0):
        raise IndexError(f"embedding: index out of range: indices span "
                         f"[{int(input._data.min())}, {int(input._data.max())}] but weight "
                         f"{_desc(weight)} has {num} rows")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within the "
                             f"{num} rows of weight")
        padding_idx %= num
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse are not supported")
    if max_norm is not None:
        _renorm_rows(weight, input._data, max_norm, norm_type)
    return N.Embedding.apply(weight, input._data, padding_idx=padding_idx)


def _renorm_rows(weight: Tensor, idx, max_norm: float, norm_type: float) -> None:
    """torch's max_norm: rows that are looked up and too long are scaled down in place."""
    xp = array_module(weight._data)
    rows = xp.unique(idx.reshape(-1))
    w = weight._data[rows]
    norms = (xp.abs(w) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    weight._data[rows] = w * scale[:, None]
    weight._version.v += 1


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """y[..., c] = 1 where tensor == c (int64)"""
    t = _tensor(tensor, "one_hot", "tensor")
    if t.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor, got {_desc(t)}")
    xp = array_module(t._data)
    if num_classes < 0:
        num_classes = int(t._data.max()) + 1 if t.numel() else 0
    if t.numel() and (int(t._data.min()) < 0 or int(t._data.max()) >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got "
                         f"[{int(t._data.min())}, {int(t._data.max())}]")
    return _const((t._data[..., None] == xp.arange(num_classes)).astype(np.int64))


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",
        value: Optional[float] = None) -> Tensor:
    """F.pad: (left, right) pairs starting from the last dimension"""
    return M.pad(_tensor(input, "pad"), pad, mode, 0.0 if value is None else value)


# -- losses -------------------------------------------------------------------------------------
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
