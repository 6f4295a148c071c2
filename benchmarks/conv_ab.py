"""python -m benchmarks.conv_ab [--repeat N] [--only NAME,...]: conv algorithms A/B in one process.

On a busy machine a workload's time swings several-fold between processes, so comparing two
`python -m benchmarks` runs (one per tl.backends.cpu.conv_algorithm) mostly compares the load.
Here each round times torch, then ours under every algorithm, in a rotating order, in one
process; each algorithm's ratio is the median (and q1-q3) of its per-round ratios to torch.
`--fuse on,off` adds tl.backends.cpu.fuse_conv_relu_pool as a second axis (each algorithm with
the Conv2d-ReLU-MaxPool2d fusion on and off, in the same rotation).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

from . import WAIT_POLICY

DEFAULT = ["cnn", "resnet_block", "conv2d", "conv2d_64_32", "conv2d_128_16"]
ALGOS = ["direct", "auto"]


def _quartiles(xs):
    q = statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0]] * 3
    return q[0], statistics.median(xs), q[2]


def _use(tl, variant) -> None:
    tl.backends.cpu.conv_algorithm, tl.backends.cpu.fuse_conv_relu_pool = variant


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.conv_ab", description=__doc__)
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--only", default=",".join(DEFAULT))
    p.add_argument("--algorithms", default=",".join(ALGOS))
    p.add_argument("--fuse", default="on", help="on, off or on,off")
    args = p.parse_args(argv)
    for k, v in WAIT_POLICY.items():
        os.environ.setdefault(k, v)
    import torch

    import tinygrad_lite as tl

    from .__main__ import _threads
    from .timing import time_once
    from .workloads import all_workloads
    torch.set_num_threads(_threads())
    fuses = [f == "on" for f in args.fuse.split(",")]
    algos = [(a, f) for a in args.algorithms.split(",") for f in fuses]
    names = args.only.split(",")
    works = {w.name: w for w in all_workloads()}
    print(f"{'workload':<16}{'algorithm':<11}{'ours ms':>9}{'torch ms':>10}{'ratio':>7}"
          f"{'(q1-q3)':>13}")
    for name in names:
        w = works[name]
        ours, theirs = w.build("ours", "cpu", False), w.build("torch", "cpu", False)
        for a in algos:         # warm-up: every path once
            _use(tl, a)
            ours.step()
        theirs.step()
        times = {a: [] for a in algos}
        ratios = {a: [] for a in algos}
        torch_ms = []
        for i in range(args.repeat):
            order = algos[i % len(algos):] + algos[:i % len(algos)]
            t = time_once(theirs.step)
            torch_ms.append(t)
            for a in order:
                _use(tl, a)
                o = time_once(ours.step)
                times[a].append(o)
                ratios[a].append(o / t)
        _use(tl, ("auto", True))
        for a in algos:
            lo, mid, hi = _quartiles(ratios[a])
            label = a[0] if len(fuses) == 1 else f"{a[0]}{'+fuse' if a[1] else ''}"
            print(f"{name:<16}{label:<11}{statistics.median(times[a]):>9.2f}"
                  f"{statistics.median(torch_ms):>10.2f}{mid:>7.2f}{f'{lo:.2f}-{hi:.2f}':>13}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
