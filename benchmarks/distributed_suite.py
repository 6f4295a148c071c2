"""`python -m benchmarks --suite distributed`: all_reduce by size, and the seed models' training
steps on 1 and 2 ranks (strong and weak scaling, the share of a step spent communicating).

The driver starts `mpiexec -n 1` and `mpiexec -n 2` runs of this module (`--worker`); rank 0 of
each writes its measurements as JSON, and the driver prints one table. Every rank runs one BLAS
and one intra-op thread, in both runs, so the 2-rank run adds a process and nothing else (on a
shared machine, two threads per op also wait on each other's stragglers).

- all_reduce: float32 SUM, median time per call over `repeat` rounds of several calls each;
  algbw = bytes / time, busbw = algbw * 2 (n - 1) / n (the bytes a ring moves per rank).
- strong scaling: the global batch B stays, each of 2 ranks takes B / 2; speedup = t1 / t2.
- weak scaling: each rank takes B; efficiency = t1 / t2.
- comm share: on 2 ranks at B / 2 each, 1 - (step inside no_sync()) / (step with DDP's
  gradient averaging): what the averaging adds to a step, as a share of it.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

SIZES = [8, 1 << 10, 1 << 13, 1 << 16, 1 << 19, 1 << 22]        # bytes per all_reduce
QUICK_SIZES = [8, 1 << 16]
MODELS = ["mlp", "cnn", "lstm", "transformer"]
HEADING = "## Distributed training (`python -m benchmarks --suite distributed`)"


def _stats(times_ms):
    q = statistics.quantiles(times_ms, n=4, method="inclusive") if len(times_ms) > 1 \
        else times_ms * 3
    return {"ms": statistics.median(times_ms), "q1": q[0], "q3": q[-1], "n": len(times_ms)}


def _seed_model(name):
    """The seed models of tinygrad_lite.models at their `tinygrad-lite train` sizes (8x8 digits)."""
    from tinygrad_lite.models import CNN, MLP, PatchTransformer, RowLSTM
    return {"mlp": lambda: MLP(64, 10, hidden=256), "cnn": lambda: CNN((1, 8, 8), 10),
            "lstm": lambda: RowLSTM((1, 8, 8), 10, hidden=64),
            "transformer": lambda: PatchTransformer((1, 8, 8), 10)}[name]()


def _time_steps(step, repeat, warmup, dist):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeat):
        if dist is not None:
            dist.barrier()
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    if dist is not None:     # a step lasts as long as its slowest rank
        import tinygrad_lite as tl
        t = tl.tensor(times)
        dist.all_reduce(t, dist.ReduceOp.MAX)
        times = t.tolist()
    return times


def _train_rows(world, rank, batch, repeat, warmup, dist):
    import numpy as np

    import tinygrad_lite as tl
    from tinygrad_lite.nn.parallel import DistributedDataParallel as DDP
    rows = []
    per_rank = {"strong": batch // world, "weak": batch} if world > 1 else {"single": batch}
    for name in MODELS:
        for kind, n in per_rank.items():
            tl.manual_seed(0)
            model = _seed_model(name)
            net = DDP(model) if world > 1 else model
            opt = tl.optim.Adam(net.parameters(), lr=1e-3)
            rng = np.random.default_rng(rank)
            x = tl.tensor(rng.standard_normal((n, 1, 8, 8)).astype(np.float32))
            y = tl.tensor(rng.integers(0, 10, n))

            def step():
                opt.zero_grad()
                tl.nn.functional.cross_entropy(net(x), y).backward()
                opt.step()
            row = {"model": name, "kind": kind, "ranks": world, "per_rank_batch": n,
                   **_stats(_time_steps(step, repeat, warmup, dist))}
            if kind == "strong":
                with net.no_sync():
                    row["no_sync"] = _stats(_time_steps(step, repeat, warmup, dist))
            rows.append(row)
    return rows


def _allreduce_rows(sizes, repeat, dist):
    import numpy as np

    import tinygrad_lite as tl
    rows = []
    for nbytes in sizes:
        t = tl.tensor(np.ones(max(nbytes // 4, 1), dtype=np.float32))
        calls = max(1, min(50, (1 << 20) // nbytes))     # enough calls to outlast the timer
        dist.all_reduce(t)

        def round_():
            for _ in range(calls):
                dist.all_reduce(t)
        times = [ms / calls for ms in _time_steps(round_, repeat, 1, dist)]
        row = {"bytes": t.numel() * 4, "calls_per_round": calls, **_stats(times)}
        row["algbw_mb_s"] = row["bytes"] / (row["ms"] * 1e-3) / 1e6
        world = dist.get_world_size()
        row["busbw_mb_s"] = row["algbw_mb_s"] * 2 * (world - 1) / world
        rows.append(row)
    return rows


def worker(out, quick, repeat, batch):
    import tinygrad_lite as tl
    import tinygrad_lite.distributed as dist
    dist.init_process_group("mpi", timeout=300)
    world, rank = dist.get_world_size(), dist.get_rank()
    tl.set_num_threads(1)
    result = {"ranks": world, "threads_per_rank": tl.get_num_threads()}
    if world > 1:
        result["allreduce"] = _allreduce_rows(QUICK_SIZES if quick else SIZES, repeat, dist)
    result["train"] = _train_rows(world, rank, batch, repeat, 1 if quick else 3,
                                  dist if world > 1 else None)
    if rank == 0:
        with open(out, "w") as f:
            json.dump(result, f)
    dist.destroy_process_group()


def _mpiexec():
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.exists(beside):
        return beside
    raise SystemExit("benchmarks --suite distributed: no mpiexec beside the interpreter "
                     "(pip install mpi4py mpich)")


def run(quick=False, repeat=None, batch=None) -> dict:
    """Both launches; returns {"one": ..., "two": ..., "repeat": ..., "batch": ...}."""
    repeat = repeat or (2 if quick else 15)
    batch = batch or (8 if quick else 64)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    threads = max(1, (os.cpu_count() or 1))
    result = {"repeat": repeat, "batch": batch, "cpu_count": threads, "quick": quick,
              "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
    for key, n in (("one", 1), ("two", 2)):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "rank0.json")
            env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                       MKL_NUM_THREADS="1",
                       PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
            cmd = [_mpiexec(), "-n", str(n), sys.executable, "-m", "benchmarks.distributed_suite",
                   "--worker", "--out", path, "--repeat", str(repeat), "--batch", str(batch)]
            if quick:
                cmd.append("--quick")
            proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True,
                                  timeout=1800)
            if proc.returncode != 0:
                raise SystemExit(f"benchmarks --suite distributed: the {n}-rank run failed:\n"
                                 f"{proc.stderr[-3000:]}")
            with open(path) as f:
                result[key] = json.load(f)
    return result


def _spread(r, scale=1.0, digits=2):
    return f"{r['q1'] * scale:.{digits}f}-{r['q3'] * scale:.{digits}f}"


def _cell(r) -> str:
    return f"{r['ms']:.2f} ({_spread(r)})"


def table(result) -> str:
    two = result["two"]
    lines = [f"all_reduce, float32 SUM, {two['ranks']} ranks (median of {result['repeat']} "
             f"rounds)",
             f"{'bytes':>10}{'us per call':>13}{'(q1-q3 us)':>18}{'algbw MB/s':>12}"
             f"{'busbw MB/s':>12}"]
    for r in two.get("allreduce", []):
        lines.append(f"{r['bytes']:>10}{r['ms'] * 1e3:>13.1f}{_spread(r, 1e3, 1):>18}"
                     f"{r['algbw_mb_s']:>12.1f}{r['busbw_mb_s']:>12.1f}")
    one = {r["model"]: r for r in result["one"]["train"]}
    strong = {r["model"]: r for r in two["train"] if r["kind"] == "strong"}
    weak = {r["model"]: r for r in two["train"] if r["kind"] == "weak"}
    b = result["batch"]
    lines += ["", f"training step (Adam), ms, median (q1-q3) of {result['repeat']} steps; "
              f"batch {b} on 1 rank; 1 thread per rank",
              f"{'model':<12}{'1 rank':>22}{f'2 ranks x {b // 2}':>22}{'speedup':>9}"
              f"{f'2 ranks x {b}':>22}{'weak eff':>10}{'comm share':>12}"]
    for name in MODELS:
        if name not in one:
            continue
        o, s, w = one[name], strong[name], weak[name]
        share = max(0.0, 1 - s["no_sync"]["ms"] / s["ms"])
        lines.append(f"{name:<12}{_cell(o):>22}{_cell(s):>22}{o['ms'] / s['ms']:>8.2f}x"
                     f"{_cell(w):>22}{o['ms'] / w['ms']:>10.2f}{100 * share:>11.0f}%")
    return "\n".join(lines)


def docs_section(result, text, when, machine) -> list:
    return [HEADING, "",
            f"Run at {when} on {machine}, {result['cpu_count']} cores shared with other work "
            f"(load average {result.get('load_average') or 0:.1f} when it started), so the "
            f"numbers are noisy: each is the median of {result['repeat']} repeats, with "
            "the q1-q3 spread beside it. Every rank runs one thread, in both runs, so the "
            "speedup is what a second process buys; below 1 it means the second core was busy "
            "with other work. The ranks talk through shared memory, not a network. The module "
            "docstring of benchmarks/distributed_suite.py says how each column is measured.", "",
            "```", text, "```", ""]


def kept_section(path) -> list:
    """The distributed section already in docs/benchmarks.md (other suites' runs keep it)."""
    try:
        with open(path) as f:
            old = f.read()
    except OSError:
        return []
    if HEADING not in old:
        return []
    part = old[old.index(HEADING):]
    end = part.find("\n## ", len(HEADING))
    return (part if end < 0 else part[:end]).rstrip("\n").splitlines() + [""]


def write_docs(result, text, when, machine, path="docs/benchmarks.md") -> None:
    """Put the section into docs/benchmarks.md, replacing the previous one, leaving the rest."""
    with open(path) as f:
        old = f.read()
    new = "\n".join(docs_section(result, text, when, machine))
    if HEADING in old:
        start = old.index(HEADING)
        end = old.find("\n## ", start + len(HEADING))
        old = old[:start] + (old[end + 1:] if end >= 0 else "")
    with open(path, "w") as f:
        f.write(old.rstrip("\n") + "\n\n" + new)


def _worker_main(argv) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m benchmarks.distributed_suite")
    p.add_argument("--worker", action="store_true")
    p.add_argument("--out", required=True)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeat", type=int, default=15)
    p.add_argument("--batch", type=int, default=64)
    args = p.parse_args(argv)
    worker(args.out, args.quick, args.repeat, args.batch)
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
