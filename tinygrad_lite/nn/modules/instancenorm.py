"""InstanceNorm1d/2d: per-sample, per-channel normalisation, batched or unbatched."""
from __future__ import annotations

import warnings
from typing import Optional

from ...tensor import Tensor
from .. import functional as F
from .batchnorm import _BatchNorm

__all__ = ["InstanceNorm1d", "InstanceNorm2d"]


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
