"""python -m benchmarks [--device cpu|cuda] [--suite ops|models|conv|kernels|distributed|all]
                        [--repeat N]
                        [--out DIR] [--quick] [--only NAME,...] [--conv-algorithm ALGO]

Prints a table (ours ms, torch ms, ratio, ours MB, torch MB, % of roofline), writes JSON and a
PNG bar chart under --out, and refreshes docs/benchmarks.md after a full (non --quick) run.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys

from . import WAIT_POLICY, distributed_suite


def _progress(items, desc):
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, desc=desc, file=sys.stderr, leave=False)


def _threads() -> int:
    """NumPy's BLAS thread count, so torch gets the same number of cores."""
    try:
        from threadpoolctl import threadpool_info
        for info in threadpool_info():
            if info.get("user_api") == "blas" and "numpy" in info.get("filepath", ""):
                return int(info["num_threads"])
    except ImportError:
        pass
    return os.cpu_count() or 1


def run(args) -> dict:
    import numpy as np
    import torch

    import tinygrad_lite as tl

    from .timing import compare, measure_sgemm_gflops, peak_rss_delta_mb
    from .workloads import all_workloads

    threads = _threads()
    torch.set_num_threads(threads)
    if args.conv_algorithm:     # the memory probes' fresh processes read it from the environment
        os.environ["BENCH_CONV_ALGORITHM"] = args.conv_algorithm
    tl.backends.cpu.conv_algorithm = os.environ.get("BENCH_CONV_ALGORITHM", "auto")
    os.environ["BENCH_THREADS"] = str(threads)
    if args.device == "cuda" and not tl.cuda_is_available():
        raise SystemExit("benchmarks: --device cuda but no GPU is visible to CuPy")
    roof = measure_sgemm_gflops(512 if args.quick else 1024)
    rows = []
    suites = {"all": ("models", "ops", "conv", "kernels")}.get(args.suite, (args.suite,))
    chosen = [w for w in all_workloads() if w.suite in suites]
    if args.only:
        names = set(args.only.split(","))
        chosen = [w for w in chosen if w.name in names]
    if args.quick:
        keep = {"mlp", "matmul_128", "softmax", "chain_300_ops"}
        chosen = [w for w in chosen if w.name in keep]
    repeat = args.repeat or (3 if args.quick else 15)
    for w in _progress(chosen, "benchmarks"):
        ours = w.build("ours", args.device, args.quick)
        theirs = w.build("torch", args.device, args.quick)
        a, b = ours.value(), theirs.value()
        if not np.isclose(a, b, rtol=2e-3, atol=1e-3):
            raise SystemExit(f"benchmarks: {w.name}: the two sides disagree before timing "
                             f"(ours {a:.6g}, torch {b:.6g}); refusing to time different work")
        pair = compare(ours.step, theirs.step, repeat=repeat, warmup=1 if args.quick else 3,
                       device=args.device)
        row = {"name": w.name, "suite": w.suite, "note": w.note, "ours_ms": pair.ours_ms,
               "torch_ms": pair.torch_ms, "ratio": pair.ratio, "ratio_q1": pair.ratio_lo,
               "ratio_q3": pair.ratio_hi, "pairs": pair.samples, "check_value": a}
        flops = w.flops(args.quick)
        row["gflops"] = flops / pair.ours_ms / 1e6
        row["roofline_pct"] = 100.0 * row["gflops"] / roof["numpy"]
        if ours.infer is not None:
            inf = compare(ours.infer, theirs.infer, repeat=repeat, warmup=1, device=args.device)
            row.update(infer_ours_ms=inf.ours_ms, infer_torch_ms=inf.torch_ms,
                       infer_ratio=inf.ratio)
        # memory probes start fresh processes (seconds each): --quick probes only the first model
        probe = not args.no_memory and args.device == "cpu" and (
            not args.quick or w.name == chosen[0].name)
        if probe:
            row["ours_mb"] = peak_rss_delta_mb("ours", w.name, args.device, steps=2)
            row["torch_mb"] = peak_rss_delta_mb("torch", w.name, args.device, steps=2)
        rows.append(row)
    if "kernels" in suites and args.device == "cuda":
        from . import kernels_suite
        for r in kernels_suite.run(repeat=repeat, quick=args.quick):
            r.setdefault("suite", "kernels")
            rows.append(r)
    return {
        "rows": rows,
        "machine": {
            "platform": platform.platform(), "python": platform.python_version(),
            "cpu_count": os.cpu_count(), "threads": threads, "numpy": np.__version__,
            "torch": torch.__version__, "tinygrad_lite": tl.__version__,
            "device": args.device, "sgemm_gflops": roof,
            "conv_algorithm": tl.backends.cpu.conv_algorithm,
            "wait_policy": {k: os.environ.get(k) for k in WAIT_POLICY},
        },
        "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick, "repeat": repeat,
    }


def table(result) -> str:
    head = (f"{'workload':<16}{'ours ms':>10}{'torch ms':>10}{'ratio':>8}{'(q1-q3)':>14}"
            f"{'ours MB':>9}{'torch MB':>9}{'% roof':>8}  note")
    lines = [head, "-" * len(head)]
    for r in result["rows"]:
        if r.get("suite") == "kernels":
            continue
        mb_o = f"{r['ours_mb']:.1f}" if "ours_mb" in r else "-"
        mb_t = f"{r['torch_mb']:.1f}" if "torch_mb" in r else "-"
        roof = f"{r['roofline_pct']:.0f}" if "roofline_pct" in r else "-"
        spread = f"{r.get('ratio_q1', r['ratio']):.2f}-{r.get('ratio_q3', r['ratio']):.2f}"
        lines.append(f"{r['name']:<16}{r['ours_ms']:>10.2f}{r['torch_ms']:>10.2f}"
                     f"{r['ratio']:>8.2f}{spread:>14}{mb_o:>9}{mb_t:>9}{roof:>8}  "
                     f"{r.get('note', '')}")
    m = result["machine"]
    lines.append(f"ratio = ours/torch time (median of interleaved pairs; < 1 is faster). "
                 f"SGEMM roofline (NumPy) {m['sgemm_gflops']['numpy']:.0f} GFLOP/s, torch "
                 f"{m['sgemm_gflops']['torch']:.0f} GFLOP/s; {m['threads']} threads; "
                 f"conv_algorithm {m.get('conv_algorithm', 'auto')!r} (the chosen one in [ ]; "
                 "Winograd's GFLOP/s count a direct conv's multiplies).")
    return "\n".join(lines)


def chart(result, path) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = result["rows"]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(rows) + 1.5))
    names = [r["name"] for r in rows]
    ratios = [r["ratio"] for r in rows]
    colors = ["tab:green" if x <= 1.0 else "tab:red" for x in ratios]
    ax.barh(names, ratios, color=colors)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xlabel("time ratio tinygrad_lite / PyTorch (lower is better)")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def goals(result) -> list:
    """The CPU goals of the project, each with the measured value and whether it is met."""
    rows = {r["name"]: r for r in result["rows"]}
    out = []
    for name in ("mlp", "cnn", "lstm", "transformer", "chain_300_ops"):
        if name in rows:
            r = rows[name]["ratio"]
            out.append((f"{name} time <= 1.0x torch", f"{r:.2f}x", r <= 1.0))
    for name in ("mlp", "cnn", "lstm", "transformer"):
        r = rows.get(name, {})
        if r.get("torch_mb"):
            ratio = r["ours_mb"] / r["torch_mb"]
            value = f"{r['ours_mb']:.1f} / {r['torch_mb']:.1f} MB = {ratio:.2f}x"
            out.append((f"{name} peak memory <= 1.2x torch", value, ratio <= 1.2))
    for name in ("conv2d_64_32", "conv2d_128_16"):
        if name in rows:
            r = rows[name]["ratio"]
            out.append((f"{name} time <= 1.0x torch", f"{r:.2f}x", r <= 1.0))
    if "max_pool2d" in rows:
        r = rows["max_pool2d"]["ratio"]
        out.append(("max_pool2d time <= 0.8x torch", f"{r:.2f}x", r <= 0.8))
    if "cnn" in rows:
        pct = rows["cnn"]["roofline_pct"]
        out.append(("cnn step >= 50% of SGEMM roofline", f"{pct:.0f}%", pct >= 50))
    return out


def goals_text(result) -> str:
    return "\n".join(f"{'met    ' if ok else 'NOT met'}  {what}: {value}"
                     for what, value, ok in goals(result))


CONV_ALGORITHMS = """## Convolution algorithms on the CPU

`tl.backends.cpu.conv_algorithm` chooses how 3x3, stride-1, undilated, ungrouped float32
convolutions run on the CPU (float64 and the "cuda" device always keep their own path):

- `"auto"` (default): C_in < 16 direct (im2col + GEMM, the 3->32 first layer's best), and so
  are batches of fewer than 128 4x4 tiles (batch 1-8 at 8x8-16x16); otherwise Winograd
  F(4x4,3x3) where each side is a multiple of 4 or >= 16, F(2x2,3x3) otherwise.
  `python -m benchmarks` shows the choice in [ ] after a conv row.
- `"direct"`: always im2col + GEMM (the reference, and the most accurate).
- `"winograd2"`, `"winograd4"`: forced wherever Winograd applies.

Winograd runs channels-last inside (results are NCHW-shaped views), a chunk of the batch at a
time over the intra-op pool (`tl.set_num_threads`) with the BLAS at one thread inside, and
keeps its transformed input for the weight gradient. A direct convolution whose columns
reach 1 MB splits its batch over the same pool. Rows for other algorithms come from
`python -m benchmarks --conv-algorithm direct` (or winograd2/winograd4).

Accuracy in float32 (max |error| / max |exact|, against float64, random data, weights scaled
1/sqrt(9 C), padding 1; output / input gradient / weight gradient):

```
channels  size   direct                   winograd2                winograd4
16->16    8      4.1e-7 1.8e-7 3.0e-7     1.7e-7 1.6e-7 2.4e-7     1.6e-6 1.1e-6 1.8e-6
32->64    16     5.3e-7 2.3e-7 3.8e-7     2.3e-7 3.1e-7 4.0e-7     4.9e-6 1.4e-6 2.8e-6
64->64    32     5.6e-7 1.9e-7 4.5e-7     4.1e-7 2.9e-7 7.0e-7     7.7e-6 3.2e-6 4.0e-6
128->128  16     6.3e-7 2.5e-7 5.8e-7     4.2e-7 3.6e-7 6.4e-7     7.0e-6 4.0e-6 4.2e-6
256->256  8      5.0e-7 5.0e-7 3.0e-7     7.0e-7 6.1e-7 2.3e-7     1.1e-5 1.4e-6 2.6e-6
512->64   8      3.9e-7 2.0e-7 2.9e-7     6.5e-7 3.1e-7 3.3e-7     1.7e-5 3.8e-6 2.8e-6
```

The tests (tests/test_conv_algorithms.py) hold each algorithm to torch and to the float64
direct conv at 5e-6 (direct, winograd2) and 1e-4 (winograd4) in this measure; F(4x4)'s error
grows with the channels (its transforms carry constants up to 8 and 1/24), F(2x2)'s does not.
"""


AB_HEADING = "### Before and after"


def _kept_ab(path) -> list:
    """The conv_ab section already in the file (written by hand from benchmarks.conv_ab runs)."""
    try:
        with open(path) as f:
            old = f.read()
    except OSError:
        return []
    if AB_HEADING not in old:
        return []
    part = old[old.index(AB_HEADING):]
    end = part.find("GPU kernel results:")
    return (part if end < 0 else part[:end]).rstrip("\n").splitlines() + [""]


def write_docs(result, text, path=None) -> None:
    m = result["machine"]
    path = path or ("docs/benchmarks.md" if m["device"] == "cpu" else "docs/benchmarks_cuda.md")
    body = [
        "# Benchmarks", "",
        "Latest table from `python -m benchmarks` (written by the benchmark itself). Each row",
        "times the same work in tinygrad_lite and PyTorch, interleaved in one process; the ratio",
        "is the median of per-pair ratios ours/torch (below 1 means tinygrad_lite is faster) and",
        "q1-q3 its spread. Memory is the peak extra RSS of a fresh process per framework and",
        "workload during two steps, after a warm-up step and a heap trim (imports, model, data",
        "and optimizer state excluded on both sides; the trim hands back what the warm-up freed,",
        "so reused pages still count). `% roof` is the workload's FLOP rate as a share of this",
        "machine's measured NumPy SGEMM rate. Thread pools sleep when idle on both sides",
        "(see benchmarks/__init__.py), so one side's spinning threads do not slow the other.", "",
        f"Run at {result['when']} on {m['platform']}, Python {m['python']}, {m['cpu_count']} "
        f"cores, {m['threads']} BLAS/torch threads, NumPy {m['numpy']}, PyTorch {m['torch']}, "
        f"device {m['device']}, "
        + ", ".join(f"{k}={v}" for k, v in m.get("wait_policy", {}).items()) + ".", "",
        "```", text, "```", "",
    ]
    if m["device"] == "cpu":
        body += ["## Goals on the CPU", "", "```", goals_text(result), "```", ""]
        body += CONV_ALGORITHMS.splitlines() + [""] + _kept_ab(path)
        body += distributed_suite.kept_section(path)
        cuda = os.path.join(os.path.dirname(path), "benchmarks_cuda.md")
        body += ["GPU kernel results: " + (
            "[benchmarks_cuda.md](benchmarks_cuda.md)." if os.path.exists(cuda) else
            "not measured yet; `benchmarks/gpu_check.sh` on a GPU machine writes them to "
            "docs/benchmarks_cuda.md."), ""]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(body))


def _distributed(args) -> int:
    """The distributed suite: its own launches and table; docs/benchmarks.md gets its section."""
    result = distributed_suite.run(quick=args.quick, repeat=args.repeat)
    text = distributed_suite.table(result)
    print(text)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "distributed.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    if not args.quick and not args.no_docs:
        when = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        distributed_suite.write_docs(result, text, when, platform.platform())
    print(f"wrote {path}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--suite", choices=["ops", "models", "conv", "kernels", "distributed", "all"],
                   default="all", help="distributed: 1 vs 2 MPI ranks (not part of all)")
    p.add_argument("--only", default="", help="comma-separated workload names to run")
    p.add_argument("--conv-algorithm", default="",
                   choices=["", "auto", "direct", "winograd2", "winograd4"],
                   help="tl.backends.cpu.conv_algorithm for the run (default auto)")
    p.add_argument("--repeat", type=int, default=None, help="interleaved pairs per workload")
    p.add_argument("--out", default="bench_out", help="folder for results.json and ratios.png")
    p.add_argument("--quick", action="store_true", help="a few workloads, few repeats (CI)")
    p.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    p.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = p.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        p.error("--repeat must be positive")
    if args.suite == "distributed":
        return _distributed(args)
    result = run(args)
    text = table(result)
    print(text)
    if args.device == "cpu" and not args.quick:
        print(goals_text(result))
    kernel_rows = [r for r in result["rows"] if r.get("suite") == "kernels"]
    if kernel_rows:
        import contextlib
        import io

        from . import kernels_suite
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            kernels_suite.print_table(kernel_rows)
        print(buf.getvalue(), end="")
        text += "\n\n" + buf.getvalue()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(result, f, indent=2)
    chart(result, os.path.join(args.out, "ratios.png"))
    if not args.quick and not args.no_docs and not args.only:
        write_docs(result, text)
    print(f"wrote {os.path.join(args.out, 'results.json')} and ratios.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
