"""The CUDA kernels on a GPU against float64 NumPy references and torch (collected only with a GPU).

Fresh random inputs each test; outputs are poisoned with NaN before each launch so a kernel that
skips a write fails. Error is the relative Frobenius norm ||ours - ref|| / ||ref||.
"""
import numpy as np
import pytest

from tinygrad_lite.backend import cuda_is_available

if not cuda_is_available():
    pytest.skip("cuda: no GPU visible (CuPy missing or no device)", allow_module_level=True)

import cupy as cp  # noqa: E402

from tinygrad_lite.backend import kernels  # noqa: E402
from tinygrad_lite.ops.attention_ref import (attention_reference_backward,  # noqa: E402
                                             attention_reference_forward)
from tinygrad_lite.ops.conv_ref import (conv2d_reference_backward_data,  # noqa: E402
                                        conv2d_reference_backward_weight,
                                        conv2d_reference_forward)

# (storage dtype, tf32, tolerance)
PRECISIONS = [("float32", False, 1e-5), ("float32", True, 3e-4), ("float16", None, 1e-2),
              ("bfloat16", None, 1e-2)]
PREC_IDS = ["fp32-exact", "tf32", "fp16", "bf16"]


def _rel(ours, ref) -> float:
    ref = np.asarray(ref, np.float64)
    err = np.linalg.norm(np.asarray(ours, np.float64) - ref)
    return float(err / max(np.linalg.norm(ref), 1e-30))


def _to_dev(a, dtype):
    """float64 host array -> device array in `dtype` (bfloat16 as uint16 bits, round to nearest)."""
    if dtype == "bfloat16":
        bits = np.asarray(a, np.float32).view(np.uint32)
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
        return cp.asarray(bits.astype(np.uint16))
    return cp.asarray(np.asarray(a, dtype))


def _to_host(a, dtype):
    if dtype == "bfloat16":
        return (cp.asnumpy(a).astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return cp.asnumpy(a).astype(np.float64)


def _rounded(a, dtype):
    """What the kernel actually sees after the cast to the storage type."""
    return _to_host(_to_dev(a, dtype), dtype)


@pytest.fixture
def poison(monkeypatch):
    """Make every cupy.empty / empty_like hand out NaN-filled (0xFFFF-filled) memory."""
    real_empty, real_like = cp.empty, cp.empty_like

    def empty(*a, **k):
        out = real_empty(*a, **k)
        out.fill(np.nan if out.dtype.kind == "f" else 0xFFFF)
        return out

    def empty_like(*a, **k):
        out = real_like(*a, **k)
        out.fill(np.nan if out.dtype.kind == "f" else 0xFFFF)
        return out

    monkeypatch.setattr(cp, "empty", empty)
    monkeypatch.setattr(cp, "empty_like", empty_like)


CONV_CASES = [  # x shape, w shape, stride, padding, dilation, groups
    ((2, 3, 17, 19), (8, 3, 3, 3), 1, 1, 1, 1),
    ((2, 16, 15, 13), (32, 16, 3, 3), 2, 1, 1, 1),
    ((1, 8, 20, 20), (12, 4, 3, 3), (2, 1), (0, 2), (2, 1), 2),
    ((3, 32, 9, 9), (32, 1, 3, 3), 1, 1, 1, 32),                 # depthwise
    ((2, 3, 40, 40), (64, 3, 7, 7), 2, 3, 1, 1),                 # ResNet stem, small
    ((4, 70, 7, 7), (130, 70, 1, 1), 1, 0, 1, 1),                # tails in every GEMM axis
]


@pytest.mark.parametrize("dtype,tf32,tol", PRECISIONS, ids=PREC_IDS)
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: f"x{c[0]}w{c[1]}s{c[2]}g{c[5]}")
def test_cuda_conv2d_vs_float64_reference(poison, case, dtype, tf32, tol):
    xs, ws, s, p, d, g = case
    rng = np.random.default_rng()
    x, w = _rounded(rng.standard_normal(xs), dtype), _rounded(rng.standard_normal(ws), dtype)
    y_ref = conv2d_reference_forward(x, w, s, p, d, g)
    gy = _rounded(rng.standard_normal(y_ref.shape), dtype)
    bf16 = dtype == "bfloat16"
    xd, wd, gd = _to_dev(x, dtype), _to_dev(w, dtype), _to_dev(gy, dtype)
    kernels.reset_stats()
    y = kernels.conv2d_forward(xd, wd, s, p, d, g, tf32=tf32, bf16=bf16)
    dx = kernels.conv2d_backward_data(gd, wd, xs, s, p, d, g, tf32=tf32, bf16=bf16)
    dw = kernels.conv2d_backward_weight(xd, gd, ws, s, p, d, g, tf32=tf32, bf16=bf16)
    cp.cuda.Device().synchronize()
    assert _rel(_to_host(y, dtype), y_ref) < tol
    assert _rel(_to_host(dx, dtype), conv2d_reference_backward_data(gy, w, xs, s, p, d, g)) < tol
    assert _rel(_to_host(dw, dtype), conv2d_reference_backward_weight(x, gy, ws, s, p, d, g)) < tol
    assert kernels.stats()["conv2d_forward"] == {"kernel": 1, "fallback": 0}


def test_cuda_conv2d_vs_torch_on_device():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here")
    torch.backends.cudnn.allow_tf32 = False
    rng = np.random.default_rng()
    x = rng.standard_normal((4, 32, 28, 28)).astype(np.float32)
    w = rng.standard_normal((64, 32, 3, 3)).astype(np.float32)
    ours = cp.asnumpy(kernels.conv2d_forward(cp.asarray(x), cp.asarray(w), 1, 1, tf32=False))
    ref = torch.nn.functional.conv2d(torch.from_numpy(x).cuda(), torch.from_numpy(w).cuda(),
                                     padding=1).cpu().numpy()
    assert _rel(ours, ref) < 1e-5


ATTN_CASES = [  # B, H, Lq, Lk, D, causal, kv_len
    (2, 3, 64, 64, 64, False, None),
    (2, 2, 100, 100, 64, True, None),
    (1, 2, 65, 130, 32, False, None),
    (2, 1, 130, 77, 128, True, None),
    (2, 2, 33, 90, 64, False, [90, 0]),            # batch entry 1: every row fully masked
    (1, 1, 1, 1, 32, True, None),
    (1, 2, 257, 257, 128, True, [200]),
]


@pytest.mark.parametrize("dtype,tf32,tol", PRECISIONS, ids=PREC_IDS)
@pytest.mark.parametrize("case", ATTN_CASES, ids=lambda c: "-".join(map(str, c[:6])))
def test_cuda_attention_vs_float64_reference(poison, case, dtype, tf32, tol):
    b, h, lq, lk, d, causal, kv_len = case
    rng = np.random.default_rng()
    q, k, v = (_rounded(rng.standard_normal((b, h, n, d)), dtype) for n in (lq, lk, lk))
    do = _rounded(rng.standard_normal((b, h, lq, d)), dtype)
    o_ref, lse_ref = attention_reference_forward(q, k, v, None, causal, kv_len=kv_len)
    grads_ref = attention_reference_backward(q, k, v, o_ref, lse_ref, do, None, causal,
                                             kv_len=kv_len)
    bf16 = dtype == "bfloat16"
    dev = [_to_dev(a, dtype) for a in (q, k, v, do)]
    o, lse = kernels.attention_forward(*dev[:3], None, causal, kv_len, tf32=tf32, bf16=bf16)
    grads = kernels.attention_backward(*dev[:3], o, lse, dev[3], None, causal, kv_len,
                                       tf32=tf32, bf16=bf16)
    cp.cuda.Device().synchronize()
    o_h = _to_host(o, dtype)
    assert np.isfinite(o_h).all()
    assert _rel(o_h, o_ref) < tol
    lse_h = cp.asnumpy(lse)
    np.testing.assert_array_equal(np.isneginf(lse_h), np.isneginf(lse_ref))
    fin = np.isfinite(lse_ref)
    assert _rel(lse_h[fin], lse_ref[fin]) < tol
    for name, ours, ref in zip("qkv", grads, grads_ref):
        ours = _to_host(ours, dtype)
        assert np.isfinite(ours).all(), f"d{name} has NaN/inf"
        assert _rel(ours, ref) < max(tol, 1e-5) * (3 if dtype != "float32" else 1), f"d{name}"


@pytest.mark.parametrize("causal", [False, True])
def test_cuda_attention_vs_torch_sdpa(causal):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here")
    tq = torch.randn(2, 4, 300, 64, device="cuda", dtype=torch.float16, requires_grad=True)
    tk = torch.randn(2, 4, 300, 64, device="cuda", dtype=torch.float16, requires_grad=True)
    tv = torch.randn(2, 4, 300, 64, device="cuda", dtype=torch.float16, requires_grad=True)
    tdo = torch.randn(2, 4, 300, 64, device="cuda", dtype=torch.float16)
    ref = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
    ref.backward(tdo)
    q, k, v, do = (cp.from_dlpack(t.detach()) for t in (tq, tk, tv, tdo))
    o, lse = kernels.attention_forward(q, k, v, causal=causal)
    dq, dk, dv = kernels.attention_backward(q, k, v, o, lse, do, causal=causal)
    assert _rel(cp.asnumpy(o), ref.detach().cpu().numpy()) < 1e-2
    for ours, t in ((dq, tq), (dk, tk), (dv, tv)):
        assert _rel(cp.asnumpy(ours), t.grad.cpu().numpy()) < 2e-2
