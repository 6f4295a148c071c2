"""Devices: "cpu" runs on NumPy, "cuda" on CuPy (imported lazily, optional)."""
from __future__ import annotations

import numpy as np

_cupy = None          # the cupy module once imported
_cupy_error = None    # why "cuda" is unavailable, once known
_default_device = "cpu"


class Device(str):
    """A device name that also answers `.type`, like torch.device ("cpu" or "cuda")."""

    __slots__ = ()

    def __new__(cls, name="cpu"):
        name = str(name)
        kind = name.split(":")[0]
        if kind not in ("cpu", "cuda"):
            raise ValueError(f"device: unknown device {name!r}; expected 'cpu' or 'cuda'")
        if kind == "cuda" and name not in ("cuda", "cuda:0"):
            raise ValueError(f"device: only one GPU is supported ('cuda' or 'cuda:0'), "
                             f"got {name!r}")
        return str.__new__(cls, kind)

    @property
    def type(self) -> str:
        return str(self)

    @property
    def index(self):
        return 0 if self == "cuda" else None

    def __repr__(self):
        return f"device(type='{self}')"


CPU = Device("cpu")
CUDA = Device("cuda")


def _load_cupy():
    """Import cupy on first use; remember why it failed so every error can say so."""
    global _cupy, _cupy_error
    if _cupy is not None or _cupy_error is not None:
        return _cupy
    try:
        import cupy  # noqa: PLC0415  (lazy, optional)
    except Exception as e:  # ImportError, or a broken CUDA install
        _cupy_error = f"CuPy is not installed or failed to import ({type(e).__name__}: {e}); " \
                      "install the 'cuda' extra: pip install 'tinygrad_lite[cuda]'"
        return None
    try:
        ok = cupy.is_available()
    except Exception as e:
        ok, _cupy_error = False, f"CuPy imported but found no usable GPU ({e})"
    if not ok:
        _cupy_error = _cupy_error or "CuPy imported but no GPU or CUDA driver is visible"
        return None
    _cupy = cupy
    return cupy


def cuda_is_available() -> bool:
    """True when CuPy imports and sees a GPU."""
    return _load_cupy() is not None


def get_cupy():
    """Return the cupy module or raise a RuntimeError that says why it cannot be used."""
    cp = _load_cupy()
    if cp is None:
        raise RuntimeError(f"device 'cuda' is unavailable: {_cupy_error}")
    return cp


def device_of(array) -> Device:
    if isinstance(array, np.ndarray):
        return CPU
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return CUDA
    return CPU


def array_module(*arrays):
    """numpy or cupy, chosen by the arrays (or Tensors) given; numpy when none is on the GPU."""
    if _cupy is not None:
        nd = _cupy.ndarray
        for a in arrays:
            # a raw array first: a CuPy array's own `.data` is a memory pointer, not an array
            # (and a NumPy one's a memoryview, which a bfloat16 array cannot give)
            if isinstance(a, nd) or (type(a) is not np.ndarray
                                     and isinstance(getattr(a, "data", None), nd)):
                return _cupy
    return np


def module_for(device) -> object:
    return get_cupy() if Device(device) == "cuda" else np


def set_default_device(device) -> None:
    """Make new tensors live on `device` unless told otherwise."""
    global _default_device
    device = Device(device)
    if device == "cuda":
        get_cupy()
    _default_device = device


def get_default_device() -> Device:
    return Device(_default_device)


def to_device(array, device):
    """Copy an array to `device` ("cpu" or "cuda"); no copy when it is already there."""
    device = Device(device)
    here = device_of(array)
    if here == device:
        return array
    if device == "cuda":
        no_bf16_on_cuda(array.dtype, device, "to", array.shape)
        return get_cupy().asarray(array)
    raise_deferred()
    return _cupy.asnumpy(array)


def no_bf16_on_cuda(dtype, device, op: str, shape=None) -> None:
    """bfloat16 stays on the CPU: CuPy has no bfloat16 dtype (the kernels take its bits as
    uint16, but the array ops around them cannot)."""
    if device == "cuda" and getattr(dtype, "name", None) == "bfloat16":
        what = "a bfloat16 tensor" + (f" of shape {tuple(shape)}" if shape is not None else "")
        raise TypeError(f"{op}: {what} cannot be on cuda: CuPy has no bfloat16 dtype, so "
                        "bfloat16 tensors stay on the CPU (use float16 on the GPU)")


# -- checks that would need the GPU's answer -------------------------------------------------
# A check such as "every index is in range" needs a value from the GPU, and asking for it stalls
# the launch queue. On "cuda" such a check computes its verdict on the device and is queued
# here; the verdicts are read at the next point where the host waits for the GPU anyway
# (.item(), .numpy(), .tolist(), a copy to the CPU, tl.cuda.synchronize()), the way CUDA reports
# a device-side assert. The error names the op as the check saw it.
_deferred: list = []
_DEFERRED_MAX = 256     # read them anyway after this many, so memory stays bounded


def check_later(failed, message: str) -> None:
    """Raise IndexError/ValueError `message` at the next sync if the 0-d device bool `failed`
    is true. `message` starts with the exception's name: "IndexError: gather: ..."."""
    _deferred.append((failed, message))
    if len(_deferred) >= _DEFERRED_MAX:
        raise_deferred()


def raise_deferred() -> None:
    """Read every queued device-side check (one transfer) and raise the first that failed."""
    if not _deferred:
        return
    pending = list(_deferred)
    _deferred.clear()
    verdicts = _cupy.asnumpy(_cupy.stack([f.reshape(()) for f, _ in pending]))
    for bad, (_, message) in zip(verdicts, pending):
        if bad:
            kind, _, text = message.partition(": ")
            raise {"IndexError": IndexError, "ValueError": ValueError,
                   "RuntimeError": RuntimeError}[kind](text)


def kernel_stats() -> dict:
    """How often each GPU kernel ran and how often a call fell back to the composed path."""
    from . import kernels
    return kernels.stats()


def reset_kernel_stats() -> None:
    from . import kernels
    kernels.reset_stats()
