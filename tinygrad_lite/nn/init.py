"""Weight initialisation (torch.nn.init): every function fills its tensor in place, without grad.

Numbers come from the seeded CPU generator in `tinygrad_lite.random`, so one seed gives the same
weights on every device. Fan-in and fan-out follow torch: dim 1 is the input, dim 0 the output,
and the remaining dimensions (a convolution's kernel) multiply both.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from .. import random
from ..backend import to_device
from ..tensor import Tensor
from ..dtypes import is_floating

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "eye_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
           "orthogonal_", "trunc_normal_"]


_ANY_DTYPE = ("constant_", "eye_")


def _check(tensor, op: str) -> Tensor:
    if isinstance(tensor, np.ndarray) or (hasattr(tensor, "__cuda_array_interface__")
                                          and hasattr(tensor, "shape")):
        # a raw array is filled in place through a wrapper sharing it (as when `.data` was the
        # array; DCGAN-style `nn.init.normal_(m.weight.data, 0.0, 0.02)` now passes a Tensor)
        tensor = Tensor._make(tensor, False, None, None)
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init.{op}: expected a Tensor, got {type(tensor).__name__}")
    if op not in _ANY_DTYPE and not is_floating(tensor.dtype):
        # random draws would be truncated to integers without a word
        raise TypeError(f"init.{op}: expected a floating-point tensor, got "
                        f"{tuple(tensor.shape)} {tensor.dtype}")
    return tensor


def _fill(tensor: Tensor, array) -> Tensor:
    """Write values into the tensor's own array (no graph) and bump its version."""
    if tensor._data.size:
        tensor._data[...] = to_device(np.asarray(array), tensor.device).astype(tensor.dtype,
                                                                              copy=False)
    tensor._version.v += 1
    return tensor


def calculate_gain(nonlinearity: str, param: Optional[float] = None) -> float:
    """The std multiplier torch recommends for each nonlinearity (relu: sqrt(2), tanh: 5/3, ...)."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple:
    """fan_in = size(1) * receptive field, fan_out = size(0) * receptive field (torch's rule)."""
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(f"init: fan in and fan out can not be computed for a tensor with fewer "
                         f"than 2 dimensions (shape {shape})")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode {mode!r} not supported, use 'fan_in' or 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """tensor ~ U(a, b)"""
    tensor = _check(tensor, "uniform_")
    if not a <= b:
        raise ValueError(f"init.uniform_: lower bound a={a} must not exceed upper bound b={b}")
    return _fill(tensor, random.uniform(tensor.shape, a, b, tensor.dtype, "cpu"))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """tensor ~ N(mean, std^2)"""
    tensor = _check(tensor, "normal_")
    if not std >= 0:
        raise ValueError(f"init.normal_: std must be >= 0, got {std}")
    return _fill(tensor, random.normal(tensor.shape, mean, std, tensor.dtype, "cpu"))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator=None) -> Tensor:
    """tensor ~ N(mean, std^2) restricted to [a, b] (rejection: redraw only what fell outside)."""
    tensor = _check(tensor, "trunc_normal_")
    if not a < b:
        raise ValueError(f"trunc_normal_: lower bound a={a} must be below upper bound b={b}")
    gen = random.generator("cpu")
    out = gen.normal(mean, std, size=tensor.shape)
    bad = (out < a) | (out > b)
    for _ in range(1000):
        n = int(bad.sum())
        if n == 0:
            break
        out[bad] = gen.normal(mean, std, size=n)
        bad = (out < a) | (out > b)
    # an interval far in the tail can defeat rejection; clipping the stragglers keeps the bounds
    return _fill(tensor, np.clip(out, a, b))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """tensor = val"""
    tensor = _check(tensor, "constant_")
    return _fill(tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    """tensor = 0"""
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """tensor = 1"""
    return constant_(tensor, 1.0)


def eye_(tensor: Tensor) -> Tensor:
    """tensor = I (a 2-D tensor only)"""
    tensor = _check(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tuple(tensor.shape)}")
    return _fill(tensor, np.eye(*tensor.shape))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """tensor ~ U(-s, s), s = gain * sqrt(6 / (fan_in + fan_out))"""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_uniform_"))
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """tensor ~ N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out))"""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_normal_"))
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)))


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """tensor ~ U(-s, s), s = gain(nonlinearity, a) * sqrt(3 / fan)"""
    fan = _calculate_correct_fan(_check(tensor, "kaiming_uniform_"), mode)
    if fan == 0:
        return tensor       # torch leaves an empty tensor alone too
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """tensor ~ N(0, s^2), s = gain(nonlinearity, a) / sqrt(fan)"""
    fan = _calculate_correct_fan(_check(tensor, "kaiming_normal_"), mode)
    if fan == 0:
        return tensor
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """tensor = gain * Q, with Q from the QR of a Gaussian matrix (sign-fixed so Q is uniform)"""
    tensor = _check(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, "
                         f"got shape {tuple(tensor.shape)}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = random.normal((rows, cols), 0.0, 1.0, np.float64, "cpu")
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape))
