"""Run one workload in a fresh process and print its peak extra memory in MB.

Usage (internal): python -m benchmarks.memprobe {ours,torch} WORKLOAD DEVICE STEPS
The figure is peak RSS during the steps minus RSS just before them, after one warm-up step,
so imports, the model, the data and lazily made state (optimizer moments, code pages) are
excluded the same way for both frameworks. Before the baseline is read, malloc_trim hands the
warm-up step's freed heap back to the system: otherwise the steps reuse pages that are already
resident and their memory shows only where an allocator could not reuse them.
"""
from __future__ import annotations

import ctypes
import gc
import os
import sys

from .timing import reset_peak_rss, rss_kb
from .workloads import all_workloads


def _trim_heap() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):     # not glibc: the figure is then a lower bound
        pass


def main(argv) -> None:
    fw, name, device, steps = argv[0], argv[1], argv[2], int(argv[3])
    if fw == "torch":
        import torch
        torch.set_num_threads(int(__import__("os").environ.get("BENCH_THREADS", "2")))
    import tinygrad_lite as tl
    tl.backends.cpu.conv_algorithm = os.environ.get("BENCH_CONV_ALGORITHM", "auto")
    w = next(w for w in all_workloads() if w.name == name)
    prep = w.build(fw, device, True)
    prep.step()
    gc.collect()
    _trim_heap()
    reset_peak_rss()
    base = rss_kb("VmRSS")
    for _ in range(steps):
        prep.step()
    peak = rss_kb("VmHWM")
    print(max(peak - base, 0) / 1024.0)


if __name__ == "__main__":
    main(sys.argv[1:])
