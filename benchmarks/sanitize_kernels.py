"""Launch every kernel once on small shapes, for compute-sanitizer (memcheck, racecheck).

    compute-sanitizer --tool memcheck python benchmarks/sanitize_kernels.py
Shapes have tails in every tile axis; all dtypes and both float32 modes are exercised.
"""
from __future__ import annotations

import numpy as np


def main() -> int:
    import cupy as cp

    from tinygrad_lite.backend import kernels
    rng = np.random.default_rng(0)
    dtypes = [("float32", False, False), ("float32", True, False), ("float16", None, False),
              ("uint16", None, True)]                          # uint16 = bfloat16 bits
    for dt, tf32, bf16 in dtypes:
        def arr(*shape):
            a = rng.standard_normal(shape).astype(np.float32)
            if bf16:
                return cp.asarray((a.view(np.uint32) >> 16).astype(np.uint16))
            return cp.asarray(a.astype(dt))
        for d, causal, kv_len in [(32, False, None), (64, True, [40, 0]), (128, True, None)]:
            q, k, v, do = arr(2, 2, 70, d), arr(2, 2, 45, d), arr(2, 2, 45, d), arr(2, 2, 70, d)
            o, lse = kernels.attention_forward(q, k, v, None, causal, kv_len, tf32=tf32, bf16=bf16)
            kernels.attention_backward(q, k, v, o, lse, do, None, causal, kv_len, tf32=tf32,
                                       bf16=bf16)
        for xs, ws, s, p, dil, g in [((2, 6, 11, 9), (10, 3, 3, 3), 2, 1, 1, 2),
                                     ((1, 3, 23, 23), (70, 3, 7, 7), 2, 3, 1, 1),
                                     ((2, 8, 7, 7), (8, 8, 3, 3), 1, 2, 2, 1)]:
            x, w = arr(*xs), arr(*ws)
            y = kernels.conv2d_forward(x, w, s, p, dil, g, tf32=tf32, bf16=bf16)
            dy = arr(*y.shape)
            kernels.conv2d_backward_data(dy, w, xs, s, p, dil, g, tf32=tf32, bf16=bf16)
            kernels.conv2d_backward_weight(x, dy, ws, s, p, dil, g, tf32=tf32, bf16=bf16)
        cp.cuda.Device().synchronize()
        print(f"sanitize: {dt}{' (bf16)' if bf16 else ''} tf32={tf32}: all kernels launched")
    print("sanitize: kernel stats", kernels.stats())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
