"""torch.backends.cuda. `matmul.allow_tf32` (default False, as torch's) picks the attention
kernels' TF32 path for float32; plain matrix products run in CuPy's cuBLAS, which reads its TF32
choice only from the CUPY_TF32 environment variable at start-up, so for them it changes
nothing. The SDPA backend switches are remembered and change nothing: one fused kernel serves
every backend torch would pick."""
from __future__ import annotations

import contextlib

from ..backend import kernels
from ._flag import SwitchModule


class _Matmul(SwitchModule):
    _switches = {"allow_tf32": (lambda: kernels.get_allow_tf32("attention"),
                                lambda v: kernels.set_allow_tf32(bool(v), "attention"))}


matmul = _Matmul("tinygrad_lite.backends.cuda.matmul")
matmul.allow_fp16_reduced_precision_reduction = True
matmul.allow_bf16_reduced_precision_reduction = True

_sdp = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def is_built() -> bool:
    return True


def flash_sdp_enabled() -> bool:
    return _sdp["flash"]


def enable_flash_sdp(enabled: bool) -> None:
    _sdp["flash"] = bool(enabled)


def mem_efficient_sdp_enabled() -> bool:
    return _sdp["mem_efficient"]


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _sdp["mem_efficient"] = bool(enabled)


def math_sdp_enabled() -> bool:
    return _sdp["math"]


def enable_math_sdp(enabled: bool) -> None:
    _sdp["math"] = bool(enabled)


def cudnn_sdp_enabled() -> bool:
    return _sdp["cudnn"]


def enable_cudnn_sdp(enabled: bool) -> None:
    _sdp["cudnn"] = bool(enabled)


@contextlib.contextmanager
def sdp_kernel(enable_flash=True, enable_math=True, enable_mem_efficient=True,
               enable_cudnn=True):
    """Remembered for the block, then restored; changes nothing here."""
    saved = dict(_sdp)
    _sdp.update(flash=enable_flash, math=enable_math, mem_efficient=enable_mem_efficient,
                cudnn=enable_cudnn)
    try:
        yield
    finally:
        _sdp.update(saved)

