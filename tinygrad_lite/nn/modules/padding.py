"""Padding layers: constant, zero, reflection and replication
padding of the last one or two dims."""
from __future__ import annotations

import numbers
from typing import Sequence, Union

from ...tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["ConstantPad1d", "ConstantPad2d", "ZeroPad1d", "ZeroPad2d", "ReflectionPad1d",
           "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d"]


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
        return F.pad(input, self.padding, self._mode, getattr(self, "value", None))

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
