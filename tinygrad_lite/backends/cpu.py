"""torch.backends.cpu, plus the CPU convolution switch.

`conv_algorithm` picks how 3x3, stride-1, undilated, ungrouped float32 convolutions run on the
CPU: "auto" (the default: Winograd F(4x4,3x3) or F(2x2,3x3) from 16 input channels, the direct
im2col GEMM below), "direct" (always im2col, the most accurate), "winograd2" or "winograd4"
(forced wherever Winograd applies). float64 and the "cuda" device always run their own path.
Accuracy per algorithm: docs/benchmarks.md and tinygrad_lite/ops/winograd.py.

`fuse_conv_relu_pool` (default True): inside an nn.Sequential, a Conv2d immediately followed by a
ReLU and a MaxPool2d(2) (stride 2, no padding or dilation, floor mode, no indices) runs as one op,
ops/conv.py's ConvBiasReluPool, which pools before the ReLU, so the ReLU and the bias gradient
run on a quarter of the data. Its output and the input and weight gradients equal the three
modules' bit for bit; the bias gradient sums the same terms in another order (equal but for
float rounding). It runs only on the CPU, for
batched float inputs, with no hooks on the three modules and no profiler, anomaly mode or ONNX
export watching (those see the three modules). False runs the three modules one by one.
"""
from __future__ import annotations

from ..ops import conv, winograd
from ._flag import install


def get_cpu_capability() -> str:
    """NumPy picks its SIMD kernels itself at run time; there is no capability to report."""
    return "DEFAULT"


install(__name__, {"conv_algorithm": (winograd.get_algorithm, winograd.set_algorithm),
                   "fuse_conv_relu_pool": (conv.get_fuse_conv_relu_pool,
                                           conv.set_fuse_conv_relu_pool)})
