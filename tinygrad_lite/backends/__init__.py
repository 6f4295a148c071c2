"""torch.backends' switches that scripts set unconditionally.

`cudnn.allow_tf32` and `cuda.matmul.allow_tf32` choose the CUDA kernels' TF32 path (convolution
and attention respectively; see docs/kernels.md). The others are accepted and remembered so
ported code runs, and say in their docstrings that they change nothing here.
"""
from . import cpu, cuda, cudnn, mps  # noqa: F401
