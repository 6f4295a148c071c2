"""Launch every kernel instance once on tiny shapes, for compute-sanitizer.

    compute-sanitizer --tool memcheck python3 benchmarks/sanitize_kernels.py [--only conv]
(and likewise racecheck, initcheck, synccheck; benchmarks/gpu_check.sh runs all four).
CuPy's memory pool is switched off first: with it on, an overrun lands in a neighbouring block
of the pool, which memcheck counts as valid memory.

Covered: conv forward, data and weight gradients (with split-K and the cast to the storage type)
and attention forward and backward (delta, the dQ cast) in exact float32, TF32, float16 and
bfloat16; attention at head dims 32, 64 and 128, each causal and not, with kv_len on some (a
fully masked batch entry included); lengths and channels with tails in every tile axis. Exit 1
unless every instance of kernels._name_expressions was launched, 2 when there is no GPU.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

# (storage dtype, tf32, bf16 bits in uint16)
PRECISIONS = [("float32", False, False), ("float32", True, False), ("float16", None, False),
              ("uint16", None, True)]
# head dim, causal, kv_len (batch 2): every head dim both causal and not, kv_len in both modes
ATTN_CONFIGS = [(32, False, None), (32, True, [40, 0]), (64, False, [40, 0]), (64, True, None),
                (128, False, None), (128, True, [30, 45])]
ATTN_LENGTHS = (70, 45)          # Lq, Lk: tails in both 64-row tiles
CONV_CASES = [  # x shape, w shape, stride, padding, dilation, groups
    ((2, 6, 11, 9), (10, 3, 3, 3), 2, 1, 1, 2),
    ((1, 3, 23, 23), (70, 3, 7, 7), 2, 3, 1, 1),
    ((2, 8, 7, 7), (8, 8, 3, 3), 1, 2, 2, 1),
]


def _track_launches(kernels) -> set:
    """Record the name of every kernel the launchers fetch (each fetch is followed by a launch)."""
    launched: set = set()
    fetch = kernels._function

    def tracking(filename, name, smem=0):
        launched.add(name)
        return fetch(filename, name, smem)

    kernels._function = tracking
    return launched


def _attention(kernels, arr, tf32, bf16):
    lq, lk = ATTN_LENGTHS
    for d, causal, kv_len in ATTN_CONFIGS:
        q, k, v, do = arr(2, 2, lq, d), arr(2, 2, lk, d), arr(2, 2, lk, d), arr(2, 2, lq, d)
        o, lse = kernels.attention_forward(q, k, v, None, causal, kv_len, tf32=tf32, bf16=bf16)
        kernels.attention_backward(q, k, v, o, lse, do, None, causal, kv_len, tf32=tf32,
                                   bf16=bf16)


def _conv(kernels, arr, tf32, bf16):
    for xs, ws, s, p, dil, g in CONV_CASES:
        x, w = arr(*xs), arr(*ws)
        y = kernels.conv2d_forward(x, w, s, p, dil, g, tf32=tf32, bf16=bf16)
        dy = arr(*y.shape)
        kernels.conv2d_backward_data(dy, w, xs, s, p, dil, g, tf32=tf32, bf16=bf16)
        kernels.conv2d_backward_weight(x, dy, ws, s, p, dil, g, tf32=tf32, bf16=bf16)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=["conv", "attention"], help="one kernel family")
    args = ap.parse_args(argv)

    from tinygrad_lite.backend import cuda_is_available, get_cupy
    if not cuda_is_available():
        try:
            get_cupy()
        except RuntimeError as e:
            print(f"sanitize: no GPU: {e}", flush=True)
        return 2
    import cupy as cp

    from tinygrad_lite.backend import kernels
    cp.cuda.set_allocator(None)                  # plain cudaMalloc per array: see the docstring
    cp.cuda.set_pinned_memory_allocator(None)
    launched = _track_launches(kernels)
    families = {"conv": ("conv2d.cu", _conv), "attention": ("attention.cu", _attention)}
    chosen = [args.only] if args.only else list(families)
    rng = np.random.default_rng(0)
    for dt, tf32, bf16 in PRECISIONS:
        def arr(*shape):
            a = rng.standard_normal(shape).astype(np.float32)
            if bf16:
                return cp.asarray((a.view(np.uint32) >> 16).astype(np.uint16))
            return cp.asarray(a.astype(dt))
        for family in chosen:
            start = time.perf_counter()
            families[family][1](kernels, arr, tf32, bf16)
            cp.cuda.Device().synchronize()
            label = "bfloat16" if bf16 else dt + ("" if tf32 is None else f" tf32={tf32}")
            print(f"sanitize: {family} {label}: done in {time.perf_counter() - start:.1f} s",
                  flush=True)
    if "attention" in chosen:
        # the launchers never cast a float32 dQ (it is the workspace itself): launch it directly
        acc = cp.asarray(rng.standard_normal(1000).astype(np.float32))
        kernels._function("attention.cu", "attn_cast<float>")(
            (4,), (256,), (acc, cp.empty_like(acc), np.int64(acc.size)))
        cp.cuda.Device().synchronize()
    wanted = {n for f in chosen for n in kernels._name_expressions(families[f][0])}
    missing = sorted(wanted - launched)
    print(f"sanitize: launched {len(wanted & launched)} of {len(wanted)} kernel instances; "
          f"stats {kernels.stats()}", flush=True)
    if missing:
        print(f"sanitize: never launched: {missing}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
