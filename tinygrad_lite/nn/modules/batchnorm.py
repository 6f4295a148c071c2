"""BatchNorm1d/2d (running statistics) and SyncBatchNorm.

SyncBatchNorm uses batch statistics over the whole global batch (every rank's part) in training.

In eval mode, or with no process group, it is the plain BatchNorm. In training the per-channel
sum and sum of squared deviations are all_reduced, so every rank normalises with the same mean
and variance a single process would see on the concatenated batch. The reductions are
differentiable: each rank's loss depends on every rank's inputs through the shared statistics,
so the backward of a sum over ranks is again a sum over ranks.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ... import dtypes as D
from ...autograd.function import Function
from ...distributed import process_group as _group
from ...distributed.collectives import all_reduce
from ...tensor import Tensor
from .. import functional as F
from ..._checks import check_int
from ._utils import _full
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "SyncBatchNorm"]


class _BatchNorm(Module):
    _dims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None, dtype=None,
                 *, bias: bool = True):
        super().__init__()
        num_features = check_int(num_features, "num_features", type(self).__name__)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.register_parameter(
            "weight", Parameter(_full((num_features,), 1.0, device, dtype)) if affine else None)
        self.register_parameter(
            "bias",
            Parameter(_full((num_features,), 0.0, device, dtype)) if affine and bias else None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(_full((num_features,), 0.0, device,
                                                              dtype)))
            self.register_buffer("running_var", Tensor(_full((num_features,), 1.0, device,
                                                             dtype)))
            self.register_buffer("num_batches_tracked",
                                 Tensor(_full((), 0, device, D.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            self.weight._data[...] = 1
            if self.bias is not None:
                self.bias._data[...] = 0

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor) or input.ndim not in self._dims:
            got = f"{input.ndim}D" if isinstance(input, Tensor) else type(input).__name__
            want = " or ".join(f"{d}D" for d in self._dims)
            raise ValueError(f"{type(self).__name__}: expected {want} input (got {got} input)")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: input {tuple(input.shape)} {input.dtype} "
                             f"has {input.shape[1]} channels but the layer expects "
                             f"{self.num_features}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._data += 1
            self.num_batches_tracked._version.v += 1
            if self.momentum is None:       # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        keep = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if keep else None,
                            self.running_var if keep else None, self.weight, self.bias,
                            use_batch, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) input, per channel C."""

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W) input, per channel C."""

    _dims = (4,)


class _AllReduceSum(Function):
    """y = sum over the group's ranks of x (on every rank);  dx = sum over ranks of dy"""

    def forward(self, x, group=None):
        self.group = group
        out = Tensor._make(x.copy(), False, None, None)
        all_reduce(out, group=group)
        return out._data

    def backward(self, grad):
        g = Tensor._make(grad._data.copy(), False, None, None)
        all_reduce(g, group=self.group)
        return g


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over (N, C, *) input whose training statistics span all ranks."""

    _dims = (2, 3, 4, 5)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        self.process_group = process_group

    def forward(self, input: Tensor) -> Tensor:
        if not (self.training and _group.is_initialized()):
            return super().forward(input)
        pg = _group.resolve(self.process_group, "SyncBatchNorm")
        if pg is None:
            raise ValueError("SyncBatchNorm: this rank is not a member of process_group")
        if pg.size == 1:
            return super().forward(input)
        if not isinstance(input, Tensor) or input.ndim < 2:
            got = f"{input.ndim}D" if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"SyncBatchNorm: expected at least 2D input (got {got} input)")
        c = input.shape[1]
        if c != self.num_features:
            raise ValueError(f"SyncBatchNorm: input {tuple(input.shape)} {input.dtype} has {c} "
                             f"channels but the layer expects {self.num_features}")
        dims = (0,) + tuple(range(2, input.ndim))
        shape = (1, c) + (1,) * (input.ndim - 2)
        count = Tensor._make(np.array(input.numel() // max(c, 1), dtype=np.int64), False, None,
                             None)
        all_reduce(count, group=pg)
        n = int(count._data)
        if n <= 1:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel over all "
                             f"ranks when training, got input {tuple(input.shape)}")
        mean = _AllReduceSum.apply(input.sum(dims), group=pg) / n
        centred = input - mean.reshape(shape)
        var = _AllReduceSum.apply((centred * centred).sum(dims), group=pg) / n
        y = centred / (var.reshape(shape) + self.eps).sqrt()
        if self.weight is not None:
            y = y * self.weight.reshape(shape)
        if self.bias is not None:
            y = y + self.bias.reshape(shape)
        if self.track_running_stats and self.running_mean is not None:
            self.num_batches_tracked._data += 1
            self.num_batches_tracked._version.v += 1
            m = 1.0 / float(self.num_batches_tracked.item()) if self.momentum is None \
                else self.momentum
            m = self.running_mean._data.dtype.type(m)
            self.running_mean._data *= 1 - m
            self.running_mean._data += m * mean._data
            self.running_mean._version.v += 1
            self.running_var._data *= 1 - m
            self.running_var._data += (m * n / (n - 1)) * var._data
            self.running_var._version.v += 1
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """Return `module` with every BatchNorm layer replaced by a SyncBatchNorm sharing its
        parameters and buffers."""
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            if module.affine:
                out.weight = module.weight
                if module.bias is not None:
                    out.bias = module.bias
                else:
                    out.bias = None
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            return out
        for name, child in list(module.named_children()):
            if child is not None:
                setattr(module, name, cls.convert_sync_batchnorm(child, process_group))
        return module
