"""torch.backends.cudnn. There is no cuDNN here (CuPy 14 dropped it): convolution on "cuda" runs
the project's own kernels. `allow_tf32` (default True, as torch's) picks their TF32 path for
float32; `benchmark`, `deterministic` and `enabled` are remembered and change nothing (the
kernels have one algorithm each, and their results do not depend on a search)."""
from __future__ import annotations

from ..backend import kernels
from ._flag import install

benchmark = False
deterministic = False
enabled = True


def is_available() -> bool:
    return False


def version():
    return None


install(__name__, {"allow_tf32": (lambda: kernels.get_allow_tf32("conv"),
                                  lambda v: kernels.set_allow_tf32(bool(v), "conv"))})
