"""Kernel benchmark: kernels/attention.cu and kernels/conv2d.cu against PyTorch on the same GPU.

`run(repeat, quick)` returns one dict per measurement: name, ours_ms, torch_ms, ratio (ours/torch),
tflops (ours), notes. Times are medians of CUDA-event timings after warm-up. Attention is compared
with torch SDPA with each backend forced (cuDNN, FLASH, EFFICIENT, MATH); conv with F.conv2d under
cudnn.benchmark=True. Torch's precision flags are pinned and printed first.
"""
from __future__ import annotations

import statistics

ATTN_SHAPES = [(8, 16, n, d) for n in (1024, 2048, 4096) for d in (64, 128)]
CONV_LAYERS = [  # name, C_in, C_out, kernel, stride, padding, H=W, batch
    ("stem 3->64 7x7 s2 @224", 3, 64, 7, 2, 3, 224, 32),
    ("64->64 3x3 @56", 64, 64, 3, 1, 1, 56, 32),
    ("128->128 3x3 @28", 128, 128, 3, 1, 1, 28, 32),
    ("256->256 3x3 @14", 256, 256, 3, 1, 1, 14, 32),
]


def _median_ms(fn, repeat: int, warmup: int = 3) -> float:
    import cupy as cp
    for _ in range(warmup):
        fn()
    cp.cuda.Device().synchronize()
    times = []
    for _ in range(repeat):
        start, stop = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, stop))
    return statistics.median(times)


def _pin_torch_flags(torch) -> str:
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    flags = (f"torch {torch.__version__}: cuda.matmul.allow_tf32="
             f"{torch.backends.cuda.matmul.allow_tf32}, cudnn.allow_tf32="
             f"{torch.backends.cudnn.allow_tf32}, cudnn.benchmark={torch.backends.cudnn.benchmark}")
    print(flags)
    return flags


def _row(name, ours, theirs, flops, notes):
    return {"name": name, "ours_ms": round(ours, 4), "torch_ms": round(theirs, 4),
            "ratio": round(ours / theirs, 3) if theirs == theirs and theirs > 0 else float("nan"),
            "tflops": round(flops / (ours * 1e-3) / 1e12, 1), "notes": notes}


def _attention_rows(torch, cp, kernels, repeat, quick):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    backends = {"cuDNN": SDPBackend.CUDNN_ATTENTION, "FLASH": SDPBackend.FLASH_ATTENTION,
                "EFFICIENT": SDPBackend.EFFICIENT_ATTENTION, "MATH": SDPBackend.MATH}
    shapes = ATTN_SHAPES[:2] if quick else ATTN_SHAPES
    rows = []
    for dtype_name in ("bfloat16", "float32"):
        tdt = getattr(torch, dtype_name)
        for b, h, n, d in shapes:
            for causal in (False, True):
                q, k, v, do = (torch.randn(b, h, n, d, device="cuda", dtype=tdt)
                               for _ in range(4))
                # torch bf16 tensors reach cupy as raw uint16 bits
                view = (lambda t: cp.from_dlpack(t.view(torch.int16)).view(cp.uint16)) \
                    if dtype_name == "bfloat16" else cp.from_dlpack
                cq, ck, cv, cdo = (view(t) for t in (q, k, v, do))
                bf16 = dtype_name == "bfloat16"
                o, lse = kernels.attention_forward(cq, ck, cv, causal=causal, bf16=bf16)
                fwd_flops = 4 * b * h * n * n * d / (2 if causal else 1)
                ours_f = _median_ms(lambda: kernels.attention_forward(
                    cq, ck, cv, causal=causal, bf16=bf16), repeat)
                ours_b = _median_ms(lambda: kernels.attention_backward(
                    cq, ck, cv, o, lse, cdo, causal=causal, bf16=bf16), repeat)
                tag = f"attn {dtype_name} B{b} H{h} N{n} d{d} {'causal' if causal else 'full'}"
                for bname, backend in backends.items():
                    if bname == "MATH" and n > 2048:
                        continue                       # the [N, N] matrix; slow and memory-bound
                    tq, tk, tv = (t.clone().requires_grad_() for t in (q, k, v))
                    try:
                        with sdpa_kernel([backend]):
                            def tfwd():
                                return torch.nn.functional.scaled_dot_product_attention(
                                    tq, tk, tv, is_causal=causal)
                            out = tfwd()
                            t_f = _median_ms(tfwd, repeat)
                            t_b = _median_ms(lambda: torch.autograd.grad(
                                out, (tq, tk, tv), do, retain_graph=True), repeat)
                        note = f"vs torch {bname}"
                    except RuntimeError as e:          # backend refuses this dtype / shape
                        t_f = t_b = float("nan")
                        note = f"torch {bname} unavailable: {str(e).splitlines()[0][:60]}"
                    rows.append(_row(f"{tag} fwd", ours_f, t_f, fwd_flops, note))
                    rows.append(_row(f"{tag} bwd", ours_b, t_b, 2.5 * fwd_flops, note))
    return rows


def _conv_rows(torch, cp, kernels, repeat, quick):
    import torch.nn.functional as F
    rows = []
    for name, c, k, r, s, p, hw, n in (CONV_LAYERS[:2] if quick else CONV_LAYERS):
        for dtype_name in ("float32", "bfloat16"):
            tdt = getattr(torch, dtype_name)
            x = torch.randn(n, c, hw, hw, device="cuda", dtype=tdt)
            w = torch.randn(k, c, r, r, device="cuda", dtype=tdt)
            y = F.conv2d(x, w, stride=s, padding=p)
            dy = torch.randn_like(y)
            bf16 = dtype_name == "bfloat16"
            view = (lambda t: cp.from_dlpack(t.view(torch.int16)).view(cp.uint16)) if bf16 \
                else cp.from_dlpack
            cx, cw, cdy = view(x), view(w), view(dy)
            flops = 2 * n * k * y.shape[2] * y.shape[3] * c * r * r
            gi = torch.nn.grad
            cases = {
                "fwd": (lambda: kernels.conv2d_forward(cx, cw, s, p, bf16=bf16),
                        lambda: F.conv2d(x, w, stride=s, padding=p)),
                "dgrad": (lambda: kernels.conv2d_backward_data(cdy, cw, x.shape, s, p, bf16=bf16),
                          lambda: gi.conv2d_input(x.shape, w, dy, stride=s, padding=p)),
                "wgrad": (lambda: kernels.conv2d_backward_weight(cx, cdy, w.shape, s, p, bf16=bf16),
                          lambda: gi.conv2d_weight(x, w.shape, dy, stride=s, padding=p)),
            }
            for which, (ours, theirs) in cases.items():
                rows.append(_row(f"conv {name} {dtype_name} {which}", _median_ms(ours, repeat),
                                 _median_ms(theirs, repeat), flops,
                                 "tf32" if dtype_name == "float32" and kernels.get_allow_tf32()
                                 else dtype_name))
    return rows


def run(repeat: int = 20, quick: bool = False) -> list[dict]:
    """Measure every kernel against torch; needs CuPy, a GPU and torch built with CUDA."""
    import cupy as cp
    import torch

    from tinygrad_lite.backend import kernels
    if not torch.cuda.is_available():
        raise RuntimeError("kernels suite: torch sees no CUDA device")
    flags = _pin_torch_flags(torch)
    kernels.set_allow_tf32(True)           # the same TF32 choice as torch's flags above
    print(f"tinygrad_lite kernels: allow_tf32 conv={kernels.get_allow_tf32('conv')}, "
          f"attention={kernels.get_allow_tf32('attention')}")
    rows = _attention_rows(torch, cp, kernels, repeat, quick)
    rows += _conv_rows(torch, cp, kernels, repeat, quick)
    if rows:
        rows[0]["notes"] += "; " + flags
    return rows


def print_table(rows: list[dict]) -> None:
    print(f"{'name':62s} {'ours ms':>9s} {'torch ms':>9s} {'ratio':>6s} {'TFLOP/s':>8s}  notes")
    for r in rows:
        print(f"{r['name']:62s} {r['ours_ms']:9.3f} {r['torch_ms']:9.3f} {r['ratio']:6.2f} "
              f"{r['tflops']:8.1f}  {r['notes']}")


if __name__ == "__main__":
    import sys
    print_table(run(repeat=10, quick="--quick" in sys.argv))
