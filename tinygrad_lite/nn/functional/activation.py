"""torch.nn.functional's less common pieces: more activations, normalize and distances,
pixel shuffle, RMS and instance norm, channel dropout for sequences.

Everything here is composed from differentiable Tensor ops, so backward and double backward
come from the ops themselves. Inputs are checked here, at the public boundary.
"""
from __future__ import annotations

import math
import numbers
from typing import Optional, Sequence, Union

import numpy as np

from ... import functions_pointwise as FP
from ...ops import movement as M
from ...tensor import Tensor, where
from ..._checks import check_number
from .loss import (_check_inplace, _check_p, _desc, _dropout_with, _maybe_inplace, _same,
                       _softmax_dim, _tensor, batch_norm, group_norm, softmax)

__all__ = ["relu6", "hardtanh", "hardtanh_", "hardswish", "hardsigmoid", "mish", "glu",
           "logsigmoid", "softsign", "tanhshrink", "threshold", "threshold_", "prelu", "selu",
           "celu", "softmin", "normalize", "cosine_similarity", "pairwise_distance",
           "pixel_shuffle", "pixel_unshuffle", "rms_norm", "instance_norm", "dropout1d",
           "hardshrink", "softshrink"]

# SELU's fixed point constants (Klambauer et al., 2017, "Self-Normalizing Neural Networks")
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


# -- activations --------------------------------------------------------------------------------
def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """y = clamp(x, min_val, max_val);  dx = dy only strictly inside (min_val, max_val)"""
    x = _tensor(input, "hardtanh")
    check_number(min_val, "min_val", "hardtanh", finite=False)
    check_number(max_val, "max_val", "hardtanh", finite=False)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not be greater than max_val "
                         f"({max_val})")
    # as torch: the gradient only strictly inside, the value below/above replaced, and at the
    # bounds themselves or at NaN the input kept (-0. stays -0.) with no gradient
    def clip(t):
        inside = (t > min_val) & (t < max_val)
        return where(inside, t, where(t < min_val, min_val,
                                      where(t > max_val, max_val, t.detach())))
    return _maybe_inplace(x, inplace, clip, "hardtanh")


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """y = min(max(x, 0), 6)"""
    return hardtanh(_tensor(input, "relu6"), 0.0, 6.0, _check_inplace(inplace, "relu6"))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """y = relu6(x + 3) / 6"""
    return _maybe_inplace(_tensor(input, "hardsigmoid"), inplace,
                          lambda t: hardtanh(t + 3.0, 0.0, 6.0) / 6.0, "hardsigmoid")


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """y = x * relu6(x + 3) / 6"""
    return _maybe_inplace(_tensor(input, "hardswish"), inplace,
                          lambda t: t * hardtanh(t + 3.0, 0.0, 6.0) / 6.0, "hardswish")


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """y = x * tanh(softplus(x))"""
    return _maybe_inplace(_tensor(input, "mish"), inplace, lambda t: t * t.softplus().tanh(),
                          "mish")


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """y = a * sigmoid(b), where a and b are the two halves of x along dim"""
    x = _tensor(input, "glu")
    if x.ndim == 0:
        raise ValueError(f"glu: does not support a 0-d input ({_desc(x)}): there is no "
                         "dimension to halve")
    dim = M._int(dim, "glu", "dim")
    if not -x.ndim <= dim < x.ndim:
        raise IndexError(f"glu: dim {dim} is out of range for input {_desc(x)}")
    n = x.shape[dim]
    if n % 2:
        raise ValueError(f"glu: halving dimension must be even, but dimension {dim} of input "
                         f"{_desc(x)} has size {n}")
    # narrow, not chunk: chunk gives no pieces for an empty dim, and torch returns it empty
    a, b = x.narrow(dim, 0, n // 2), x.narrow(dim, n // 2, n // 2)
    return a * b.sigmoid()


def logsigmoid(input: Tensor) -> Tensor:
    """y = log(sigmoid(x)) = -softplus(-x), which never overflows"""
    # an infinite threshold keeps softplus's stable branch everywhere, so the
    # result is exact (not just x) far below zero
    return 0.0 - (-_tensor(input, "logsigmoid")).softplus(1.0, math.inf)   # +0. at +inf


def softsign(input: Tensor) -> Tensor:
    """y = x / (1 + |x|)"""
    x = _tensor(input, "softsign")
    return x / (x.abs() + 1.0)


def tanhshrink(input: Tensor) -> Tensor:
    """y = x - tanh(x)"""
    x = _tensor(input, "tanhshrink")
    return x - x.tanh()


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """y = x where |x| > lambd, else 0"""
    return _tensor(input, "hardshrink").hardshrink(check_number(lambd, "lambd", "hardshrink"))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """y = x - lambd above lambd, x + lambd below -lambd, 0 between"""
    return FP.softshrink(_tensor(input, "softshrink"), check_number(lambd, "lambd", "softshrink"))


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """y = x if x > threshold else value"""
    check_number(threshold, "threshold", "threshold", finite=False)
    check_number(value, "value", "threshold", finite=False)
    return _maybe_inplace(_tensor(input, "threshold"), inplace,
                          lambda t: where(t <= threshold, value, t), "threshold")  # NaN stays


_threshold = threshold     # the parameter named `threshold` hides the function below


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return _threshold(input, threshold, value, inplace=True)


def _prelu_channels(x: Tensor) -> int:
    return x.shape[1] if x.ndim >= 2 else 1


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """y = x if x > 0 else w_c * x, with one w per channel (dim 1) or one shared w"""
    x = _tensor(input, "prelu")
    _same(x, weight, "prelu", "weight")
    if weight.ndim > 1:
        raise ValueError(f"prelu: weight must be a scalar or 1-D, got {_desc(weight)}")
    k, c = weight.numel(), _prelu_channels(x)
    if k != 1 and k != c:
        raise ValueError(f"prelu: weight {_desc(weight)} has {k} parameters but input "
                         f"{_desc(x)} has {c} channels (dim 1); expected 1 or {c}")
    w = weight.reshape((c,) + (1,) * (x.ndim - 2)) if k > 1 else weight.reshape(())
    return where(x > 0, x, w * x)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """y = scale * (x if x > 0 else alpha * (exp(x) - 1)), with the fixed SELU constants"""
    return _maybe_inplace(_tensor(input, "selu"), inplace,
                          lambda t: t.elu(_SELU_ALPHA) * _SELU_SCALE, "selu")


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """y = x if x > 0 else alpha * (exp(x / alpha) - 1)"""
    x = _tensor(input, "celu")
    alpha = check_number(alpha, "alpha", "celu", finite=False)
    if alpha == 0:
        raise ValueError(f"celu: alpha must not be 0 (it divides x), input {_desc(x)}")
    return _maybe_inplace(x, inplace, lambda t: (t / alpha).elu(1.0) * alpha, "celu")


def softmin(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """y = softmax(-x) along dim"""
    x = _tensor(input, "softmin")
    if dtype is not None:
        x = x.to(dtype)
    return softmax(-x, _softmax_dim(x.ndim) if dim is None else dim)


# -- normalize and distances --------------------------------------------------------------------
def _norm(x: Tensor, p, dim, keepdim: bool, op: str) -> Tensor:
    """The p-norm along dim, for p > 0, inf and -inf (what torch's vector norm takes, less 0)."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or math.isnan(p) or (
            p <= 0 and p != -math.inf):
        raise ValueError(f"{op}: p must be a positive number, inf or -inf, got {p!r}")
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise IndexError(f"{op}: dim {dim} is out of range for input {_desc(x)}")
    if p == -math.inf:
        return x.abs().amin(dim, keepdim)
    return x.norm(p, dim, keepdim)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out=None) -> Tensor:
    """y = x / max(||x||_p, eps) along dim"""
    x = _tensor(input, "normalize")
    if out is not None:
        raise TypeError("normalize: out= is not supported; use the returned tensor")
    return x / _norm(x, p, dim, True, "normalize").clamp(min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """y = sum((x1 / max(||x1||, eps)) * (x2 / max(||x2||, eps))) along dim"""
    _tensor(x1, "cosine_similarity", "x1")
    _same(x1, x2, "cosine_similarity", "x2")
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"cosine_similarity: x1 {_desc(x1)} and x2 {_desc(x2)} do not "
                         "broadcast") from None
    a, b = x1.broadcast_to(shape), x2.broadcast_to(shape)

    def unit(t: Tensor) -> Tensor:
        # torch clamps the norm in place under no_grad: the value is clamped, while the
        # gradient flows as if it were not (a straight-through clamp)
        n = _norm(t, 2, dim, True, "cosine_similarity")
        floor = n.detach()
        return t / (n + (floor.clamp(min=eps) - floor))

    return (unit(a) * unit(b)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """y = ||x1 - x2 + eps||_p over the last dimension"""
    _tensor(x1, "pairwise_distance", "x1")
    _same(x1, x2, "pairwise_distance", "x2")
    try:
        np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"pairwise_distance: x1 {_desc(x1)} and x2 {_desc(x2)} do not "
                         "broadcast") from None
    d = x1 - x2 + eps
    if d.ndim == 0:
        return d.abs()
    return _norm(d, p, -1, keepdim, "pairwise_distance")


# -- pixel shuffle ------------------------------------------------------------------------------
def _pixel_args(input, r, name: str, op: str):
    """The checked (input, factor, leading dims, C, H, W) of pixel_shuffle/unshuffle."""
    x = _tensor(input, op)
    if isinstance(r, bool) or not isinstance(r, numbers.Integral) or r < 1:
        raise ValueError(f"{op}: {name} must be a positive int, got {r!r}")
    if x.ndim < 3:
        raise ValueError(f"{op}: expected an input with at least 3 dims (*, C, H, W), got "
                         f"{_desc(x)}")
    return (x, int(r)) + tuple(x.shape[:-3]) + tuple(x.shape[-3:])


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): y[c, h r + i, w r + j] = x[c r^2 + i r + j, h, w]"""
    x, r, *lead, c, h, w = _pixel_args(input, upscale_factor, "upscale_factor", "pixel_shuffle")
    if c % (r * r):
        raise ValueError(f"pixel_shuffle: input {_desc(x)} has {c} channels, which is not "
                         f"divisible by upscale_factor^2 = {r * r}")
    k = len(lead)
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    # (*, C, i, j, H, W) -> (*, C, H, i, W, j)
    return y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2).reshape(
        *lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of pixel_shuffle"""
    x, r, *lead, c, h, w = _pixel_args(input, downscale_factor, "downscale_factor",
                                       "pixel_unshuffle")
    if h % r or w % r:
        raise ValueError(f"pixel_unshuffle: input {_desc(x)} has height {h} and width {w}, "
                         f"which are not both divisible by downscale_factor = {r}")
    k = len(lead)
    # (*, C, H, i, W, j) -> (*, C, i, j, H, W)
    y = x.reshape(*lead, c, h // r, r, w // r, r).permute(*range(k), k, k + 2, k + 4, k + 1,
                                                           k + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)


# -- normalisation ------------------------------------------------------------------------------
def rms_norm(input: Tensor, normalized_shape: Union[int, Sequence[int]],
             weight: Optional[Tensor] = None, eps: Optional[float] = None) -> Tensor:
    """y = x / sqrt(mean(x^2) + eps) * w over the trailing normalized_shape;
    eps=None means the dtype's machine epsilon, as in torch"""
    x = _tensor(input, "rms_norm")
    ns = M._ints(normalized_shape, "rms_norm", "normalized_shape")
    k = len(ns)
    if x.dtype.kind != "f":
        raise TypeError(f"rms_norm: input must be floating point, got {_desc(x)}")
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k:]) != ns:
        raise ValueError(f"rms_norm: input {_desc(x)} does not end with normalized_shape {ns}")
    if weight is not None:
        _same(x, weight, "rms_norm", "weight")
        if tuple(weight.shape) != ns:
            raise ValueError(f"rms_norm: weight {_desc(weight)} should have shape {ns}")
    if eps is None:
        eps = float(np.finfo(x.dtype).eps)
    ms = (x * x).mean(tuple(range(x.ndim - k, x.ndim)), keepdim=True)
    y = x * (ms + eps).rsqrt()
    return y if weight is None else y * weight


def instance_norm(input: Tensor, running_mean: Optional[Tensor] = None,
                  running_var: Optional[Tensor] = None, weight: Optional[Tensor] = None,
                  bias: Optional[Tensor] = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """y = (x - mean_nc) / sqrt(var_nc + eps) * w_c + b_c, statistics per sample and channel
    (or the running statistics when not use_input_stats); running stats move toward the
    batch average of the per-sample statistics by momentum"""
    x = _tensor(input, "instance_norm")
    if x.ndim < 2:
        raise ValueError(f"instance_norm: expected input with at least 2 dims (N, C, ...), got "
                         f"{_desc(x)}")
    if x.dtype.kind != "f":
        raise TypeError(f"instance_norm: input must be floating point, got {_desc(x)}")
    n, c = x.shape[0], x.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None:
            _same(x, t, "instance_norm", name)
            if tuple(t.shape) != (c,):
                raise ValueError(f"instance_norm: {name} {_desc(t)} should have shape ({c},) "
                                 f"for input {_desc(x)} with {c} channels")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: running_mean and running_var are needed when "
                             "use_input_stats=False")
        return batch_norm(x, running_mean, running_var, weight, bias, False, momentum, eps)
    spatial = math.prod(x.shape[2:])
    if spatial <= 1:
        raise ValueError(f"instance_norm: expected more than 1 spatial element when using "
                         f"input statistics, got input {_desc(x)}")
    y = group_norm(x, c, weight, bias, eps)      # one group per channel is instance norm
    if n and (running_mean is not None or running_var is not None):
        flat = x._data.reshape(n, c, spatial)
        m = x.dtype.type(momentum)
        for stat, value in ((running_mean, flat.mean(axis=2)),
                            (running_var, flat.var(axis=2, ddof=1))):
            if stat is not None:
                stat._data *= 1 - m
                stat._data += m * value.mean(axis=0)
                stat._version.v += 1
    return y


# -- dropout ------------------------------------------------------------------------------------
def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """dropout that zeroes whole channels of (N, C, L) or (C, L): one mask value per channel"""
    x = _tensor(input, "dropout1d")
    if x.ndim not in (2, 3):
        raise ValueError(f"dropout1d: expected a 2-D (C, L) or 3-D (N, C, L) input, got "
                         f"{_desc(x)}")
    p = _check_p(p, "dropout1d")
    if not training or p == 0.0:
        return x
    if x.dtype.kind != "f":         # the 1 / (1 - p) rescale needs a float
        raise TypeError(f"dropout1d: input must be floating point, got {_desc(x)}")
    return _dropout_with(x, p, x.shape[:-1] + (1,), inplace, "dropout1d")
