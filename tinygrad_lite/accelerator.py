"""torch.accelerator: the one accelerator this library knows is an NVIDIA GPU through CuPy."""
from __future__ import annotations

from . import backend


def is_available() -> bool:
    return backend.cuda_is_available()


def current_accelerator(check_available: bool = False):
    """device('cuda') where a GPU is visible, else None."""
    return backend.Device("cuda") if backend.cuda_is_available() else None


def device_count() -> int:
    return 1 if backend.cuda_is_available() else 0


def current_device_index() -> int:
    return 0 if backend.cuda_is_available() else -1


def set_device_index(index: int) -> None:
    if index != 0:
        raise ValueError(f"accelerator.set_device_index: only device 0 exists, got {index}")
    backend.get_cupy()


def synchronize(device=None) -> None:
    from . import cuda  # noqa: PLC0415
    cuda.synchronize(device)
