"""torch.cpu's names: the CPU as a device module (always there, one device) and its amp
aliases, torch.cpu.amp.autocast (bfloat16 by default) and GradScaler (device 'cpu')."""
from __future__ import annotations


def is_available() -> bool:
    return True


def device_count() -> int:
    return 1


def current_device() -> str:
    return "cpu"


def synchronize(device=None) -> None:
    """Nothing to wait for: CPU ops finish before they return."""


class _CpuAmp:
    """torch.cpu.amp's old spelling: autocast and GradScaler there mean device 'cpu'."""

    @staticmethod
    def autocast(enabled=True, dtype=None, cache_enabled=True):
        from . import amp as _amp  # noqa: PLC0415
        _amp.deprecated_alias("cpu", "autocast")
        return _amp.autocast("cpu", dtype, enabled, cache_enabled)

    @staticmethod
    def GradScaler(init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,  # noqa: N802
                   growth_interval=2000, enabled=True):
        from . import amp as _amp  # noqa: PLC0415
        _amp.deprecated_alias("cpu", "GradScaler")
        return _amp.GradScaler("cpu", init_scale, growth_factor, backoff_factor,
                               growth_interval, enabled)


amp = _CpuAmp()
