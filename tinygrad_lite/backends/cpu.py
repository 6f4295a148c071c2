"""torch.backends.cpu, plus the CPU convolution switch.

`conv_algorithm` picks how 3x3, stride-1, undilated, ungrouped float32 convolutions run on the
CPU: "auto" (the default: Winograd F(4x4,3x3) or F(2x2,3x3) from 16 input channels, the direct
im2col GEMM below), "direct" (always im2col, the most accurate), "winograd2" or "winograd4"
(forced wherever Winograd applies). float64 and the "cuda" device always run their own path.
Accuracy per algorithm: docs/benchmarks.md and tinygrad_lite/ops/winograd.py.
"""
from __future__ import annotations

from ..ops import winograd
from ._flag import install


def get_cpu_capability() -> str:
    """NumPy picks its SIMD kernels itself at run time; there is no capability to report."""
    return "DEFAULT"


install(__name__, {"conv_algorithm": (winograd.get_algorithm, winograd.set_algorithm)})
