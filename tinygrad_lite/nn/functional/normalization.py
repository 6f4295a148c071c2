"""torch.nn.functional's normalisation: batch, instance, layer, group and RMS norm, normalize."""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import numpy as np

from ...autograd.autocast_mode import autocast_op
from ...backend import array_module
from ...dtypes import is_floating
from ...functions.indexing import _ints
from ...ops import normalization as N
from ...tensor import Tensor, _const
from ._utils import _desc, _norm, _same, _tensor

__all__ = ["batch_norm", "layer_norm", "group_norm", "rms_norm", "instance_norm", "normalize",
           "local_response_norm"]


@autocast_op("batch_norm")
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


@autocast_op("layer_norm")
def layer_norm(input: Tensor, normalized_shape: Union[int, Sequence[int]],
               weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               eps: float = 1e-5) -> Tensor:
    """y = (x - mean) / sqrt(var + eps) * w + b over the last len(normalized_shape) dims"""
    x = _tensor(input, "layer_norm")
    ns = _ints(normalized_shape, "layer_norm", "normalized_shape")
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


@autocast_op("group_norm")
def group_norm(input: Tensor, num_groups: int, weight: Optional[Tensor] = None,
               bias: Optional[Tensor] = None, eps: float = 1e-5) -> Tensor:
    """y = per-group (x - mean) / sqrt(var + eps), then w_c, b_c per channel"""
    x = _tensor(input, "group_norm")
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups < 1:
        raise ValueError(f"group_norm: num_groups must be a positive int, got {num_groups!r}")
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ValueError(f"group_norm: input {_desc(x)} needs a channel dim divisible by "
                         f"num_groups={num_groups}")
    if not is_floating(x.dtype):
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


def rms_norm(input: Tensor, normalized_shape: Union[int, Sequence[int]],
             weight: Optional[Tensor] = None, eps: Optional[float] = None) -> Tensor:
    """y = x / sqrt(mean(x^2) + eps) * w over the trailing normalized_shape;
    eps=None means the dtype's machine epsilon, as in torch"""
    x = _tensor(input, "rms_norm")
    ns = _ints(normalized_shape, "rms_norm", "normalized_shape")
    k = len(ns)
    if not is_floating(x.dtype):
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
    if not is_floating(x.dtype):
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


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out=None) -> Tensor:
    """y = x / max(||x||_p, eps) along dim"""
    x = _tensor(input, "normalize")
    if out is not None:
        raise TypeError("normalize: out= is not supported; use the returned tensor")
    return x / _norm(x, p, dim, True, "normalize").clamp(min=eps)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """y = x / (k + alpha * mean of x^2 over the `size` neighbouring channels)^beta (torch's
    window: size // 2 before, (size - 1) // 2 after, zeros past the ends)."""
    from .pooling import avg_pool2d, avg_pool3d      # noqa: PLC0415
    from .vision import pad                          # noqa: PLC0415
    x = _tensor(input, "local_response_norm")
    if x.ndim < 3:
        raise ValueError(f"local_response_norm: expected 3 or more dimensions (N, C, ...), got "
                         f"{_desc(x)}")
    if x.numel() == 0:
        return x
    sq = (x * x).unsqueeze(1)
    before, after = size // 2, (size - 1) // 2
    if x.ndim == 3:
        div = avg_pool2d(pad(sq, [0, 0, before, after]), (size, 1), stride=1).squeeze(1)
    else:
        n, c = x.shape[:2]
        sq = sq.reshape(n, 1, c, x.shape[2], -1)
        div = avg_pool3d(pad(sq, [0, 0, 0, 0, before, after]), (size, 1, 1), stride=1)
        div = div.squeeze(1).reshape(tuple(x.shape))
    return x / (div * alpha + k) ** beta