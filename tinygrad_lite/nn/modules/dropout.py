"""Dropout layers: zero with probability p, rescale by 1 / (1 - p) in training; identity in eval."""
from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from ..._checks import check_probability
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d"]


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        check_probability(p, "dropout probability", type(self).__name__)
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """y = x * mask / (1 - p), mask ~ Bernoulli(1 - p) per element"""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """y = x * mask / (1 - p), one mask value per (sample, channel)"""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """y = x * mask / (1 - p), one mask value per (sample, channel) of (N, C, L) or (C, L)"""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)
