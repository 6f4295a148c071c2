"""torch.backends.cpu."""


def get_cpu_capability() -> str:
    """NumPy picks its SIMD kernels itself at run time; there is no capability to report."""
    return "DEFAULT"
