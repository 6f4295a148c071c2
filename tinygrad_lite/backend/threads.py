"""torch.set_num_threads / get_num_threads: how many threads the BLAS under NumPy may use.

NumPy's matrix products run in the BLAS it was built with (OpenBLAS, MKL, BLIS); threadpoolctl
is the maintained way to reach their thread pools at run time, so it is used here (an optional
dependency: it ships with scikit-learn, and `pip install threadpoolctl` brings it alone).
On a shared machine small products are many times slower with a busy core in the pool, which is
why the `tinygrad-lite` command asks for one thread; the library leaves the BLAS default alone
until the caller sets a number.

The same number sizes the library's own intra-op pool (backend/intraop.py), over which large CPU
ops such as the Winograd convolution split their batch with the BLAS at one thread inside.
"""
from __future__ import annotations

from . import intraop

_limits = None      # the live threadpool_limits object, kept so the setting holds


def _threadpoolctl():
    try:
        import threadpoolctl  # noqa: PLC0415  (optional)
    except ImportError:
        raise RuntimeError("set_num_threads: needs threadpoolctl to reach NumPy's BLAS "
                           "(pip install threadpoolctl)") from None
    return threadpoolctl


def set_num_threads(n: int) -> None:
    """Let the BLAS and the intra-op pool use `n` threads from now on (torch.set_num_threads)."""
    global _limits
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    tpc = _threadpoolctl()
    _limits = tpc.threadpool_limits(limits=n, user_api="blas")
    intraop.set_threads(n)


def get_num_threads() -> int:
    """The BLAS's thread count (the largest, if NumPy links several BLAS libraries)."""
    tpc = _threadpoolctl()
    counts = [p["num_threads"] for p in tpc.threadpool_info() if p.get("user_api") == "blas"]
    return max(counts) if counts else 1
