"""PixelShuffle and PixelUnshuffle: move values between channels and space."""
from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from ..._checks import check_int
from .module import Module

__all__ = ["PixelShuffle", "PixelUnshuffle"]


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
