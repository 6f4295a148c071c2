"""torch.cuda's names on CuPy: device queries, seeding, synchronisation and memory figures.

One GPU is supported ("cuda" / "cuda:0"). Memory figures come from CuPy's default memory pool:
`memory_allocated` is what tensors hold, `memory_reserved` what the pool keeps from the driver;
CuPy keeps no peak figure, so `max_memory_allocated` is not offered. Without a GPU every query
answers as torch's does on a machine without one (is_available False, device_count 0) and the
calls that need a device raise, saying why.
"""
from __future__ import annotations

from . import backend
from . import random as _random
from .legacy import make_types

globals().update(make_types("cuda"))      # tl.cuda.FloatTensor, LongTensor, ...


class _CudaAmp:
    """torch.cuda.amp's old spelling: its GradScaler, autocast, custom_fwd and custom_bwd mean
    device 'cuda' (each warns, as torch's deprecated aliases do)."""

    @staticmethod
    def GradScaler(init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,  # noqa: N802
                   growth_interval=2000, enabled=True):
        from .amp import GradScaler  # noqa: PLC0415
        return GradScaler("cuda", init_scale, growth_factor, backoff_factor, growth_interval,
                          enabled)

    @staticmethod
    def autocast(enabled=True, dtype=None, cache_enabled=True):
        from . import amp as _amp  # noqa: PLC0415
        _amp.deprecated_alias("cuda", "autocast")
        return _amp.autocast("cuda", dtype or "float16", enabled, cache_enabled)

    @staticmethod
    def custom_fwd(fwd=None, *, cast_inputs=None):
        from . import amp as _amp  # noqa: PLC0415
        _amp.deprecated_alias("cuda", "custom_fwd")
        return _amp.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)

    @staticmethod
    def custom_bwd(bwd=None):
        from . import amp as _amp  # noqa: PLC0415
        _amp.deprecated_alias("cuda", "custom_bwd")
        return _amp.custom_bwd(bwd, device_type="cuda")


amp = _CudaAmp()


def is_available() -> bool:
    return backend.cuda_is_available()


def device_count() -> int:
    return 1 if backend.cuda_is_available() else 0


def current_device() -> int:
    backend.get_cupy()
    return 0


def set_device(device) -> None:
    """Only device 0 exists here."""
    index = device if isinstance(device, int) else backend.Device(device).index
    if index not in (0, None):
        raise ValueError(f"cuda.set_device: only one GPU is supported, got {device!r}")
    backend.get_cupy()


def _properties() -> dict:
    cp = backend.get_cupy()
    return cp.cuda.runtime.getDeviceProperties(0)


def get_device_name(device=None) -> str:
    name = _properties()["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def get_device_capability(device=None) -> tuple:
    props = _properties()
    return int(props["major"]), int(props["minor"])


def is_bf16_supported() -> bool:
    """False: bfloat16 tensors live on the CPU only (CuPy has no bfloat16 dtype), so a program
    that picks bfloat16 when this says True picks float16 on the GPU here."""
    return False


def manual_seed(seed: int) -> None:
    """Seed the GPU's generator (dropout masks and other draws made on the device)."""
    _random.manual_seed_cuda(seed)


manual_seed_all = manual_seed       # one GPU: the same


def synchronize(device=None) -> None:
    """Wait for the GPU; device-side checks queued since the last sync raise here."""
    if backend.cuda_is_available():
        backend.get_cupy().cuda.Device().synchronize()
        backend.raise_deferred()


def empty_cache() -> None:
    """Hand the memory pool's unused blocks back to the driver."""
    if backend.cuda_is_available():
        backend.get_cupy().get_default_memory_pool().free_all_blocks()


def memory_allocated(device=None) -> int:
    return backend.get_cupy().get_default_memory_pool().used_bytes() if is_available() else 0


def memory_reserved(device=None) -> int:
    return backend.get_cupy().get_default_memory_pool().total_bytes() if is_available() else 0


def mem_get_info(device=None) -> tuple:
    """(free, total) bytes on the device, from the driver."""
    free, total = backend.get_cupy().cuda.runtime.memGetInfo()
    return int(free), int(total)
