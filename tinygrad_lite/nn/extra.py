"""Layers PyTorch code often reaches for beyond the basics: more activations, PReLU, distances,
padding, pixel shuffle, RMSNorm, InstanceNorm1d/2d and Dropout1d, as thin Modules over
fn_extra and fn_basic with torch's names, defaults, parameters and extra_repr."""
from __future__ import annotations

import numbers
import warnings
from typing import Optional, Sequence, Union

from ..tensor import Tensor
from . import fn_basic as FB
from . import fn_extra as F
from .._checks import check_int
from .modules.dropout import _DropoutNd
from .modules.module import Module, Parameter
from .modules.normalization import _BatchNorm, _full

__all__ = ["ReLU6", "Hardtanh", "Hardswish", "Hardsigmoid", "Mish", "GLU", "LogSigmoid",
           "Softsign", "Tanhshrink", "Threshold", "PReLU", "SELU", "CELU", "Softmin", "Softmax2d",
           "CosineSimilarity", "PairwiseDistance", "ZeroPad1d", "ZeroPad2d", "ConstantPad1d",
           "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d",
           "ReplicationPad2d", "PixelShuffle", "PixelUnshuffle", "RMSNorm", "InstanceNorm1d",
           "InstanceNorm2d", "Dropout1d", "Hardshrink", "Softshrink"]


# -- activations --------------------------------------------------------------------------------
class _Stateless(Module):
    """An activation with no arguments: forward is `_fn(input)`."""

    _fn = None

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input)


class _Pointwise(Module):
    """An activation `_fn(input, *args, inplace)`: the attributes named in `_args` go first and
    are shown by extra_repr, followed by inplace=True when set (torch hides it for some)."""

    _fn = None
    _args: tuple = ()
    _show_inplace = True

    def __init__(self, *values, inplace: bool = False):
        super().__init__()
        for name, value in zip(self._args, values):
            setattr(self, name, value)
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, *(getattr(self, a) for a in self._args), self.inplace)

    def extra_repr(self) -> str:
        parts = [f"{a}={getattr(self, a)}" for a in self._args]
        return ", ".join(parts + (["inplace=True"] if self.inplace and self._show_inplace
                                  else []))


class Hardtanh(_Pointwise):
    """y = clamp(x, min_val, max_val)"""

    _fn, _args = staticmethod(F.hardtanh), ("min_val", "max_val")

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: Optional[float] = None, max_value: Optional[float] = None):
        if min_value is not None or max_value is not None:
            warnings.warn("Hardtanh: min_value and max_value are deprecated; use min_val and "
                          "max_val", DeprecationWarning, stacklevel=2)
            min_val = min_val if min_value is None else min_value
            max_val = max_val if max_value is None else max_value
        if max_val < min_val:
            raise ValueError(f"{type(self).__name__}: max_val ({max_val}) must be >= min_val "
                             f"({min_val})")
        super().__init__(min_val, max_val, inplace=inplace)


class ReLU6(Hardtanh):
    """y = min(max(x, 0), 6)"""

    def __init__(self, inplace: bool = False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Hardswish(_Pointwise):
    """y = x * relu6(x + 3) / 6"""

    _fn, _show_inplace = staticmethod(F.hardswish), False

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class Hardsigmoid(_Pointwise):
    """y = relu6(x + 3) / 6"""

    _fn, _show_inplace = staticmethod(F.hardsigmoid), False

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class Mish(_Pointwise):
    """y = x * tanh(softplus(x))"""

    _fn = staticmethod(F.mish)

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class SELU(_Pointwise):
    """y = scale * elu(x, alpha) with SELU's fixed constants"""

    _fn = staticmethod(F.selu)

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class CELU(_Pointwise):
    """y = x if x > 0 else alpha * (exp(x / alpha) - 1)"""

    _fn, _args = staticmethod(F.celu), ("alpha",)

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(alpha, inplace=inplace)


class Threshold(_Pointwise):
    """y = x if x > threshold else value"""

    _fn, _args = staticmethod(F.threshold), ("threshold", "value")

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__(threshold, value, inplace=inplace)


class LogSigmoid(_Stateless):
    """y = log(sigmoid(x))"""

    _fn = staticmethod(F.logsigmoid)


class Softsign(_Stateless):
    """y = x / (1 + |x|)"""

    _fn = staticmethod(F.softsign)


class Tanhshrink(_Stateless):
    """y = x - tanh(x)"""

    _fn = staticmethod(F.tanhshrink)


class Hardshrink(Module):
    """y = x where |x| > lambd, else 0"""

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """y = x - lambd above lambd, x + lambd below -lambd, 0 between"""

    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)


class _WithDim(Module):
    """An activation along one dim: forward is `_fn(input, dim)`."""

    _fn = None

    def __init__(self, dim: Optional[int]):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class GLU(_WithDim):
    """y = a * sigmoid(b) for the halves a, b of x along dim"""

    _fn = staticmethod(F.glu)

    def __init__(self, dim: int = -1):
        super().__init__(dim)


class Softmin(_WithDim):
    """y = softmax(-x) along dim"""

    _fn = staticmethod(F.softmin)

    def __init__(self, dim: Optional[int] = None):
        super().__init__(dim)


class PReLU(Module):
    """y = x if x > 0 else weight_c * x; one learned slope, or one per channel (dim 1)"""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = check_int(num_parameters, "num_parameters", "PReLU")
        self.init = init
        self.weight = Parameter(_full((self.num_parameters,), init, device, dtype))

    def reset_parameters(self) -> None:
        self.weight._data[...] = self.init

    def forward(self, input: Tensor) -> Tensor:
        k = self.num_parameters
        if k > 1 and isinstance(input, Tensor) and F._prelu_channels(input) != k:
            raise ValueError(f"PReLU: num_parameters={k} does not match input "
                             f"{tuple(input.shape)} {input.dtype} with "
                             f"{F._prelu_channels(input)} channels (dim 1)")
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Softmax2d(Module):
    """softmax over the channels of (N, C, H, W) or (C, H, W), at each location"""

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor) or input.ndim not in (3, 4):
            got = f"{input.ndim}D {tuple(input.shape)} {input.dtype}" \
                if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"Softmax2d: expected a 3D or 4D input, got {got}")
        return FB.softmax(input, -3)


# -- distances ----------------------------------------------------------------------------------
class CosineSimilarity(Module):
    """y = <x1, x2> / (max(||x1||, eps) * max(||x2||, eps)) along dim"""

    def __init__(self, dim: int = 1, eps: float = 1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """y = ||x1 - x2 + eps||_p over the last dimension"""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim      # torch names p `norm`

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


# -- padding ------------------------------------------------------------------------------------
class _PadNd(Module):
    """Pads the last `_k` dims through F.pad: padding = p or (left, right[, top, bottom])."""

    _k = 1
    _mode = "constant"

    def __init__(self, padding: Union[int, Sequence[int]]):
        super().__init__()
        name, n = type(self).__name__, 2 * self._k
        if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
            padding = (int(padding),) * n
        elif (not isinstance(padding, (tuple, list)) or len(padding) != n
              or any(isinstance(p, bool) or not isinstance(p, numbers.Integral)
                     for p in padding)):
            raise TypeError(f"{name}: padding must be an int or a tuple of {n} ints, got "
                            f"{padding!r}")
        self.padding = tuple(int(p) for p in padding)

    def forward(self, input: Tensor) -> Tensor:
        if self._mode != "constant":
            dims = (self._k + 1, self._k + 2)
            if not isinstance(input, Tensor) or input.ndim not in dims:
                got = f"{tuple(input.shape)} {input.dtype}" if isinstance(input, Tensor) \
                    else type(input).__name__
                raise ValueError(f"{type(self).__name__}: expected a {dims[0]}D or {dims[1]}D "
                                 f"input, got {got}")
        return FB.pad(input, self.padding, self._mode, getattr(self, "value", None))

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ConstantPad1d(_PadNd):
    """Pads the last dim with `value`."""

    def __init__(self, padding: Union[int, Sequence[int]], value: float):
        super().__init__(padding)
        self.value = value

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad2d(ConstantPad1d):
    """Pads the last two dims with `value`."""

    _k = 2


class ZeroPad1d(ConstantPad1d):
    """Pads the last dim with zeros."""

    def __init__(self, padding: Union[int, Sequence[int]]):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ZeroPad1d):
    """Pads the last two dims with zeros."""

    _k = 2


class ReflectionPad1d(_PadNd):
    """Pads the last dim of (C, L) or (N, C, L) with its mirror image (edge not repeated)."""

    _mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    """Pads H and W of (C, H, W) or (N, C, H, W) with their mirror image."""

    _k = 2


class ReplicationPad1d(_PadNd):
    """Pads the last dim of (C, L) or (N, C, L) by repeating the edge value."""

    _mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    """Pads H and W of (C, H, W) or (N, C, H, W) by repeating the edge values."""

    _k = 2


# -- pixel shuffle ------------------------------------------------------------------------------
class _Shuffle(Module):
    """Holds one positive int factor, named `_arg` as in torch; forward is `_fn(input, r)`."""

    _fn = None
    _arg = ""

    def __init__(self, factor: int):
        super().__init__()
        setattr(self, self._arg, check_int(factor, self._arg, type(self).__name__))

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, getattr(self, self._arg))

    def extra_repr(self) -> str:
        return f"{self._arg}={getattr(self, self._arg)}"


class PixelShuffle(_Shuffle):
    """(*, C r^2, H, W) -> (*, C, H r, W r)"""

    _fn, _arg = staticmethod(F.pixel_shuffle), "upscale_factor"

    def __init__(self, upscale_factor: int):
        super().__init__(upscale_factor)


class PixelUnshuffle(_Shuffle):
    """(*, C, H r, W r) -> (*, C r^2, H, W)"""

    _fn, _arg = staticmethod(F.pixel_unshuffle), "downscale_factor"

    def __init__(self, downscale_factor: int):
        super().__init__(downscale_factor)


# -- normalisation ------------------------------------------------------------------------------
class RMSNorm(Module):
    """y = x / sqrt(mean(x^2) + eps) * weight over the trailing normalized_shape."""

    def __init__(self, normalized_shape: Union[int, Sequence[int]], eps: Optional[float] = None,
                 elementwise_affine: bool = True, device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(check_int(n, "normalized_shape", "RMSNorm", 0)
                                      for n in normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_full(self.normalized_shape, 1.0, device, dtype))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            self.weight._data[...] = 1

    def forward(self, input: Tensor) -> Tensor:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class _InstanceNorm(_BatchNorm):
    """Per-sample, per-channel normalisation; batched or unbatched input."""

    _no_batch_dim = 2       # dims of an unbatched input: (C, L) for 1d

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None, *, bias: bool = True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)

    def forward(self, input: Tensor) -> Tensor:
        name, k = type(self).__name__, self._no_batch_dim
        if not isinstance(input, Tensor) or input.ndim not in (k, k + 1):
            got = f"{input.ndim}D" if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"{name}: expected {k}D or {k + 1}D input (got {got} input)")
        feature_dim = input.ndim - k
        if input.shape[feature_dim] != self.num_features:
            msg = (f"{name}: input {tuple(input.shape)} {input.dtype} has "
                   f"{input.shape[feature_dim]} channels at dim {feature_dim} but "
                   f"num_features is {self.num_features}")
            if self.affine:
                raise ValueError(msg)
            warnings.warn(msg + " (unused, since affine=False)", stacklevel=2)
        x = input.unsqueeze(0) if input.ndim == k else input
        # unlike BatchNorm, torch's InstanceNorm never counts num_batches_tracked
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats,
                            0.0 if self.momentum is None else self.momentum, self.eps)
        return y.squeeze(0) if input.ndim == k else y


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or (C, L) input over L, per sample and channel."""

    _no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or (C, H, W) input over H, W."""

    _no_batch_dim = 3


# -- dropout ------------------------------------------------------------------------------------
class Dropout1d(_DropoutNd):
    """y = x * mask / (1 - p), one mask value per (sample, channel) of (N, C, L) or (C, L)"""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)
