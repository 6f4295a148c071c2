"""The intra-op thread pool: a large CPU op splits its batch over a few Python threads.

NumPy releases the GIL inside its loops and BLAS calls, so threads run array code in parallel.
Inside a split region the BLAS is pinned to one thread: the many small GEMMs of a Winograd
convolution gain nothing from BLAS threads, and on a busy machine every multi-threaded BLAS call
pays a wake-up of milliseconds. That is torch's intra-op model. The pool has
`tl.set_num_threads(n)` threads (the caller's thread is one of them); before any call it is as
large as the CPUs this process may run on. Small ops are left alone by their callers. A region
entered from inside another, or from any thread but the main one, runs serially: the BLAS
thread count is process-wide, and some OpenBLAS builds ignore a change to it made from a thread
other than the one that made the last (so a limit set there would neither hold nor lift).
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

_lock = threading.Lock()
_size = None            # set by set_num_threads; None until then (the CPU count)
_pool = None            # ThreadPoolExecutor with _size - 1 workers
_local = threading.local()
_controller = None      # threadpoolctl's controller; False where threadpoolctl is missing


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def set_threads(n: int) -> None:
    """Size the pool (tl.set_num_threads calls this with the BLAS's count)."""
    global _size, _pool
    with _lock:
        if n != _size and _pool is not None:
            _pool.shutdown(wait=False)
            _pool = None
        _size = n


def threads() -> int:
    """How many threads a split region uses."""
    return _size if _size is not None else _cpus()


def _blas():
    global _controller
    if _controller is None:
        try:
            import threadpoolctl  # optional
            _controller = threadpoolctl.ThreadpoolController()
        except ImportError:
            _controller = False
    return _controller


def _get_pool(n: int):
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=n - 1, thread_name_prefix="tl-intraop")
        return _pool


def _run(fn, i):
    _local.inside = True
    try:
        return fn(i)
    finally:
        _local.inside = False


def parallel_for(fn, parts: int, pin: bool = False) -> list:
    """[fn(0), ..., fn(parts - 1)], spread over the pool with the BLAS at one thread.

    fn works on arrays only (no Tensors, no graph) and must write disjoint outputs; results come
    back in order, so whatever the caller sums from them sums in a fixed order. pin=True keeps
    the BLAS at one thread even when the parts run serially (ops whose GEMMs are too small for
    BLAS threads to help, where each multi-threaded call only adds a wake-up).
    """
    nested = getattr(_local, "inside", False) \
        or threading.current_thread() is not threading.main_thread()
    split = not nested and min(threads(), parts) > 1
    ctl = _blas() if not nested and threads() > 1 and (split or pin) else None
    if not ctl:
        return [fn(i) for i in range(parts)]
    with ctl.limit(limits=1, user_api="blas"):
        if not split:
            return [fn(i) for i in range(parts)]
        futures = [_get_pool(threads()).submit(_run, fn, i) for i in range(1, parts)]
        try:
            first = _run(fn, 0)
        finally:
            wait(futures)                           # all done before the BLAS limit lifts
    return [first] + [f.result() for f in futures]
