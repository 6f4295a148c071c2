"""DataParallel on one device: the module itself, wrapped (forward passes straight through)."""
from __future__ import annotations

from ..modules.module import Module

__all__ = ["DataParallel"]


class DataParallel(Module):
    """torch's DataParallel with one device: `.module` holds the model, forward calls it.

    State dict keys carry the `module.` prefix, as torch's do. For several processes use
    DistributedDataParallel.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: expected a Module, got {type(module).__name__}")
        if device_ids is not None and len(device_ids) > 1:
            raise ValueError(f"DataParallel: only one device is supported here, got device_ids="
                             f"{list(device_ids)}; use DistributedDataParallel with one process "
                             f"per device")
        self.module = module
        self.device_ids = list(device_ids) if device_ids is not None else []
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
