"""How the benchmarks measure: warm-up, interleaved A/B pairs, per-pair ratios, their median.

Interleaving (ours, torch, ours, torch, ...) means a burst of load from another process on a
shared machine hits both sides alike, so the per-pair ratio is steadier than either time alone.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field


@dataclass
class Pair:
    """The result of one interleaved A/B measurement."""

    ours_ms: float
    torch_ms: float
    ratio: float            # median of per-pair ratios ours/torch (< 1 means we are faster)
    ratio_lo: float         # 25th percentile of the ratios
    ratio_hi: float         # 75th percentile
    samples: int
    extra: dict = field(default_factory=dict)


def _sync(device: str) -> None:
    """Wait for queued GPU work so a timer measures it (a no-op on the CPU)."""
    if device != "cuda":
        return
    import cupy
    import torch
    cupy.cuda.Device().synchronize()
    torch.cuda.synchronize()


def time_once(fn, device: str = "cpu") -> float:
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return (time.perf_counter() - t0) * 1e3


def compare(ours, theirs, repeat: int = 20, warmup: int = 3, device: str = "cpu",
            min_time_ms: float = 0.0) -> Pair:
    """Time two callables in alternating order; report medians and the spread of the ratios."""
    for _ in range(warmup):
        ours()
        theirs()
    a_times, b_times, ratios = [], [], []
    start = time.perf_counter()
    i = 0
    while i < repeat or (time.perf_counter() - start) * 1e3 < min_time_ms:
        if i % 2 == 0:
            a = time_once(ours, device)
            b = time_once(theirs, device)
        else:
            b = time_once(theirs, device)
            a = time_once(ours, device)
        a_times.append(a)
        b_times.append(b)
        ratios.append(a / b if b > 0 else float("inf"))
        i += 1
        if i >= 10 * repeat:
            break
    q = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratios[0]] * 3
    return Pair(statistics.median(a_times), statistics.median(b_times), statistics.median(ratios),
                q[0], q[2], len(ratios))


def peak_rss_delta_mb(framework: str, workload: str, device: str, steps: int = 3) -> float:
    """Peak resident memory of a fresh process running `steps` of the workload, minus what it held
    just before them (after a warm-up step and a heap trim: the same rule for both sides; see
    benchmarks/memprobe.py)."""
    cmd = [sys.executable, "-m", "benchmarks.memprobe", framework, workload, device, str(steps)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [os.getcwd(),
                                                                    os.environ.get("PYTHONPATH")])))
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"memory probe {framework}/{workload} failed: {out.stderr[-500:]}")
    return float(out.stdout.strip().splitlines()[-1])


def rss_kb(field_name: str) -> int:
    """VmRSS (now) or VmHWM (peak so far) of this process, from /proc (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field_name} not found in /proc/self/status")


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux 4.0+: write 5 to clear_refs); False if not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure_sgemm_gflops(n: int = 1024, repeat: int = 5) -> dict:
    """The machine's float32 GEMM rate through NumPy and through torch: the roofline we report."""
    import numpy as np
    import torch
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    a @ b
    ta @ tb
    np_ms = min(time_once(lambda: a @ b) for _ in range(repeat))
    t_ms = min(time_once(lambda: ta @ tb) for _ in range(repeat))
    flops = 2.0 * n ** 3
    return {"numpy": flops / np_ms / 1e6, "torch": flops / t_ms / 1e6, "n": n}
