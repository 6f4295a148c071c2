"""The CUDA kernels on a GPU against float64 NumPy references and torch (collected only with a GPU).

Inputs are seeded per test (reruns see the same numbers); outputs are poisoned with NaN before
each launch so a kernel that skips a write fails. Errors are rms and max of ours - ref over the
reference's rms, held to `kernels.tolerance(precision, k)` (derived from the unit roundoff and the
reduction length; tests/test_kernels_build.py checks it against emulated rounding without a GPU).
"""
import zlib

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

# (storage dtype, tf32)
PRECISIONS = [("float32", False), ("float32", True), ("float16", None), ("bfloat16", None)]
PREC_IDS = ["fp32-exact", "tf32", "fp16", "bf16"]


@pytest.fixture
def rng(request):
    """A generator seeded from the test id: each case has its own inputs, the same on every run."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def _assert_close(ours, ref, precision, k, what, scale=None):
    tol_rms, tol_max = kernels.tolerance(precision, k)
    e_rms, e_max = kernels.error_stats(ours, ref, scale)
    assert e_rms <= tol_rms and e_max <= tol_max, (
        f"{what} ({precision}, k={k}): rms error {e_rms:.3g} (tolerance {tol_rms:.3g}), "
        f"max error {e_max:.3g} (tolerance {tol_max:.3g})")


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


@pytest.mark.parametrize("dtype,tf32", PRECISIONS, ids=PREC_IDS)
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: f"x{c[0]}w{c[1]}s{c[2]}g{c[5]}")
def test_cuda_conv2d_vs_float64_reference(poison, rng, case, dtype, tf32):
    xs, ws, s, p, d, g = case
    prec = kernels.precision_name(dtype, tf32)
    k_fwd, k_data, k_weight = kernels.conv_reduction_lengths(xs, ws, s, p, d, g)
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
    _assert_close(_to_host(y, dtype), y_ref, prec, k_fwd, "y")
    _assert_close(_to_host(dx, dtype), conv2d_reference_backward_data(gy, w, xs, s, p, d, g),
                  prec, k_data, "dx")
    _assert_close(_to_host(dw, dtype), conv2d_reference_backward_weight(x, gy, ws, s, p, d, g),
                  prec, k_weight, "dw")
    assert kernels.stats()["conv2d_forward"] == {"kernel": 1, "fallback": 0}


@pytest.mark.parametrize("tf32", [False, True], ids=["fp32-exact", "tf32"])
def test_cuda_conv2d_vs_torch_float64_on_device(rng, tf32):
    """torch's own convolution in float64 on the GPU (cuDNN double: no TF32, no reordering
    tricks) is the oracle for the layout and padding conventions."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here")
    x = rng.standard_normal((4, 32, 28, 28)).astype(np.float32)
    w = rng.standard_normal((64, 32, 3, 3)).astype(np.float32)
    ours = cp.asnumpy(kernels.conv2d_forward(cp.asarray(x), cp.asarray(w), 1, 1, tf32=tf32))
    ref = torch.nn.functional.conv2d(torch.from_numpy(x).double().cuda(),
                                     torch.from_numpy(w).double().cuda(), padding=1)
    k_fwd = kernels.conv_reduction_lengths(x.shape, w.shape, 1, 1)[0]
    _assert_close(ours, ref.cpu().numpy(), kernels.precision_name("float32", tf32), k_fwd, "y")


ATTN_CASES = [  # B, H, Lq, Lk, D, causal, kv_len
    (2, 3, 64, 64, 64, False, None),
    (2, 2, 100, 100, 64, True, None),
    (1, 2, 65, 130, 32, False, None),
    (2, 1, 130, 77, 128, True, None),
    (2, 2, 33, 90, 64, False, [90, 0]),            # batch entry 1: every row fully masked
    (1, 1, 1, 1, 32, True, None),
    (1, 2, 257, 257, 128, True, [200]),
]


@pytest.mark.parametrize("dtype,tf32", PRECISIONS, ids=PREC_IDS)
@pytest.mark.parametrize("case", ATTN_CASES, ids=lambda c: "-".join(map(str, c[:6])))
def test_cuda_attention_vs_float64_reference(poison, rng, case, dtype, tf32):
    b, h, lq, lk, d, causal, kv_len = case
    prec = kernels.precision_name(dtype, tf32)
    k_fwd, k_bwd = kernels.attention_reduction_lengths(lq, lk, d)
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
    _assert_close(o_h, o_ref, prec, k_fwd, "O")
    lse_h = cp.asnumpy(lse)
    np.testing.assert_array_equal(np.isneginf(lse_h), np.isneginf(lse_ref))
    fin = np.isfinite(lse_ref)
    # an LSE error e scales every probability of its row by exp(e): absolute error is what counts
    _assert_close(lse_h[fin], lse_ref[fin], prec, k_fwd, "LSE", scale=1.0)
    # one loss, one scale: dQ and dK cancel to ~0 where a row sees a single key (Lk = 1)
    g_scale = max(float(np.sqrt(np.mean(g * g))) for g in grads_ref) or 1.0
    for name, ours, ref in zip("qkv", grads, grads_ref):
        ours = _to_host(ours, dtype)
        assert np.isfinite(ours).all(), f"d{name} has NaN/inf"
        _assert_close(ours, ref, prec, k_bwd, f"d{name}", scale=g_scale)


@pytest.mark.parametrize("causal", [False, True])
def test_cuda_attention_vs_torch_sdpa(rng, causal):
    """float16 kernels against torch SDPA run in float64 on the GPU (its math backend): torch is
    the oracle for the scale and the causal alignment, float64 keeps its rounding out."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here")
    shape = (2, 4, 300, 64)
    q, k, v, do = (rng.standard_normal(shape).astype(np.float16) for _ in range(4))
    tq, tk, tv = (torch.from_numpy(a.astype(np.float64)).cuda().requires_grad_()
                  for a in (q, k, v))
    ref = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
    ref.backward(torch.from_numpy(do.astype(np.float64)).cuda())
    o, lse = kernels.attention_forward(*(cp.asarray(a) for a in (q, k, v)), causal=causal)
    grads = kernels.attention_backward(*(cp.asarray(a) for a in (q, k, v)), o, lse,
                                       cp.asarray(do), causal=causal)
    k_fwd, k_bwd = kernels.attention_reduction_lengths(300, 300, 64)
    _assert_close(cp.asnumpy(o), ref.detach().cpu().numpy(), "fp16", k_fwd, "O")
    refs = [t.grad.cpu().numpy() for t in (tq, tk, tv)]
    g_scale = max(float(np.sqrt(np.mean(g * g))) for g in refs)
    for name, ours, ref_g in zip("qkv", grads, refs):
        _assert_close(cp.asnumpy(ours), ref_g, "fp16", k_bwd, f"d{name}", scale=g_scale)
