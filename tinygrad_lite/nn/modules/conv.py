"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, with torch's parameters."""
from __future__ import annotations

import math
from typing import Optional, Union

from ... import backend, random
from ... import dtypes as D
from ...tensor import Tensor
from .. import functional as F
from ..._checks import check_int, check_ints
from .module import Module, Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "Conv3d"]

_PAD_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple(v, n: int, name: str, cls: str, low: int = 1) -> tuple:
    """An int or n ints, each at least `low` (1 for kernel, stride, dilation; 0 for padding)."""
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"{cls}: {name} must be an int or a tuple of {n} ints, got {v!r}")
        return check_ints(v, name, cls, low)
    return (check_int(v, name, cls, low),) * n


class _ConvNd(Module):
    """Shared parameters and init: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), which is
    torch's kaiming_uniform_(a=sqrt(5)) for the weight."""

    _nd = 2
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 output_padding=0, device=None, dtype=None):
        super().__init__()
        cls, nd = type(self).__name__, self._nd
        in_channels = check_int(in_channels, "in_channels", cls)
        out_channels = check_int(out_channels, "out_channels", cls)
        groups = check_int(groups, "groups", cls)
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{cls}: groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}")
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"{cls}: padding_mode must be one of {_PAD_MODES}, got "
                             f"{padding_mode!r}")
        if isinstance(padding, str):
            if padding not in ("same", "valid") or self._transposed:
                raise ValueError(f"{cls}: padding {padding!r} is not supported here")
            if padding == "same" and any(s != 1 for s in _tuple(stride, nd, "stride", cls)):
                raise ValueError(f"{cls}: padding='same' is not supported for strided "
                                 "convolutions")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _tuple(kernel_size, nd, "kernel_size", cls)
        self.stride = _tuple(stride, nd, "stride", cls)
        self.padding = padding if isinstance(padding, str) else _tuple(padding, nd, "padding",
                                                                         cls, low=0)
        self.dilation = _tuple(dilation, nd, "dilation", cls)
        self.output_padding = _tuple(output_padding, nd, "output_padding", cls, low=0)
        self.groups, self.padding_mode = groups, padding_mode
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        dtype = dtype or D.get_default_dtype()
        device = device or backend.get_default_device()
        # torch's fan_in is weight.shape[1] * prod(kernel) for both kinds of layer
        bound = 1.0 / math.sqrt(shape[1] * math.prod(self.kernel_size))
        self.weight = Parameter(Tensor(random.uniform(shape, -bound, bound, dtype, device)))
        if bias:
            self.bias = Parameter(Tensor(random.uniform((out_channels,), -bound, bound, dtype,
                                                        device)))
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        w = self.weight
        bound = 1.0 / math.sqrt(w.shape[1] * math.prod(self.kernel_size))
        w._data = random.uniform(w.shape, -bound, bound, w.dtype, w.device)
        if self.bias is not None:
            self.bias._data = random.uniform(self.bias.shape, -bound, bound, w.dtype, w.device)

    def extra_repr(self) -> str:
        nd = self._nd
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _conv_forward(self, input: Tensor, fn) -> Tensor:
        if self.padding_mode == "zeros":
            return fn(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups)
        from ..functional.vision import pad
        pads = []
        if isinstance(self.padding, str):
            widths = [(0, 0)] * self._nd
            if self.padding == "same":
                widths = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
                          for k, d in zip(self.kernel_size, self.dilation)]
        else:
            widths = [(p, p) for p in self.padding]
        for lo, hi in reversed(widths):
            pads += [lo, hi]
        return fn(pad(input, pads, mode=self.padding_mode), self.weight, self.bias, self.stride,
                  0, self.dilation, self.groups)


class Conv2d(_ConvNd):
    """y = conv2d(x, weight, bias): (N, C_in, H, W) -> (N, C_out, H_out, W_out)."""

    _nd = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding: Union[int, tuple, str] = 0, dilation=1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, 0, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, F.conv2d)


class Conv1d(_ConvNd):
    """y = conv1d(x, weight, bias): (N, C_in, L) -> (N, C_out, L_out)."""

    _nd = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding: Union[int, tuple, str] = 0, dilation=1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, 0, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, F.conv1d)


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f"{type(self).__name__}: only padding_mode='zeros' is supported, "
                             f"got {padding_mode!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, device, dtype)

    def _output_padding(self, output_size: Optional[tuple], input: Tensor) -> tuple:
        """torch's output_size argument: the output_padding that reaches the asked size."""
        if output_size is None:
            return self.output_padding
        nd = self._nd
        want = tuple(output_size)[-nd:]
        extra = []
        for i in range(nd):
            n = input.shape[input.ndim - nd + i]
            base = ((n - 1) * self.stride[i] - 2 * self.padding[i]
                    + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            if not 0 <= want[i] - base < max(self.stride[i], self.dilation[i]):
                raise ValueError(f"{type(self).__name__}: output_size {tuple(output_size)} is "
                                 f"not reachable from input {tuple(input.shape)}")
            extra.append(want[i] - base)
        return tuple(extra)

    def _transpose_forward(self, input: Tensor, output_size, fn) -> Tensor:
        return fn(input, self.weight, self.bias, self.stride, self.padding,
                  self._output_padding(output_size, input), self.groups, self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    """y = conv_transpose2d(x, weight, bias), the adjoint of Conv2d in its input."""

    _nd = 2

    def forward(self, input: Tensor, output_size: Optional[tuple] = None) -> Tensor:
        return self._transpose_forward(input, output_size, F.conv_transpose2d)


class ConvTranspose1d(_ConvTransposeNd):
    """y = conv_transpose1d(x, weight, bias), the adjoint of Conv1d in its input."""

    _nd = 1

    def forward(self, input: Tensor, output_size: Optional[tuple] = None) -> Tensor:
        return self._transpose_forward(input, output_size, F.conv_transpose1d)


class Conv3d(_ConvNd):
    """y = conv3d(x, weight, bias): (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out)."""

    _nd = 3     # _ConvNd's __init__ takes Conv3d's arguments in torch's order

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, F.conv3d)
