"""NumPy attention: the float64 reference (torch parity, central differences, masked rows) and
the tiled online-softmax emulation of kernels/attention.cu against it at many tiles/lengths."""
import itertools

import numpy as np
import pytest

from tinygrad_lite.ops.attention_ref import (attention_reference_backward,
                                             attention_reference_forward,
                                             attention_tiled_backward, attention_tiled_forward)

torch = pytest.importorskip("torch")


def _qkvg(rng, b, h, lq, lk, d, dtype=np.float64):
    q = rng.standard_normal((b, h, lq, d)).astype(dtype)
    k = rng.standard_normal((b, h, lk, d)).astype(dtype)
    v = rng.standard_normal((b, h, lk, d)).astype(dtype)
    g = rng.standard_normal((b, h, lq, d)).astype(dtype)
    return q, k, v, g


def _torch_sdpa(q, k, v, g, causal=False, mask=None, scale=None):
    ts = [torch.from_numpy(a).requires_grad_() for a in (q, k, v)]
    m = None if mask is None else torch.from_numpy(np.asarray(mask))
    out = torch.nn.functional.scaled_dot_product_attention(*ts, attn_mask=m, is_causal=causal,
                                                           scale=scale)
    out.backward(torch.from_numpy(g))
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("causal,mask_kind,lq,lk", [
    (False, None, 5, 7), (True, None, 6, 6), (True, None, 7, 4), (False, "bool", 5, 6),
    (False, "float", 4, 9), (True, "bool", 6, 8)])
def test_reference_matches_torch(causal, mask_kind, lq, lk):
    rng = np.random.default_rng(0)
    q, k, v, g = _qkvg(rng, 2, 3, lq, lk, 8)
    mask = None
    if mask_kind == "bool":
        mask = rng.random((1, 3, lq, lk)) < 0.7
        mask[..., 0] = True                                     # torch gives NaN on empty rows
    elif mask_kind == "float":
        mask = rng.standard_normal((lq, lk))
    o, lse = attention_reference_forward(q, k, v, None, causal, mask)
    to, (tdq, tdk, tdv) = _torch_sdpa(q, k, v, g, causal, mask)
    np.testing.assert_allclose(o, to, rtol=1e-10, atol=1e-12)
    dq, dk, dv = attention_reference_backward(q, k, v, o, lse, g, None, causal, mask)
    for ours, theirs in ((dq, tdq), (dk, tdk), (dv, tdv)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_reference_lse_and_scale():
    rng = np.random.default_rng(1)
    q, k, v, _ = _qkvg(rng, 1, 2, 3, 5, 4)
    o, lse = attention_reference_forward(q, k, v, scale=0.3)
    s = 0.3 * q @ np.swapaxes(k, -1, -2)
    np.testing.assert_allclose(lse, np.log(np.exp(s).sum(-1)), rtol=1e-12)
    np.testing.assert_allclose(o, np.exp(s - lse[..., None]) @ v, rtol=1e-12)


def _numeric_grad(f, a, eps=1e-6):
    g = np.zeros_like(a)
    flat, gflat = a.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return g


@pytest.mark.parametrize("causal,kv_len", [(False, None), (True, None), (True, [3, 0])])
def test_reference_gradcheck(causal, kv_len):
    """Central differences with a random upstream gradient; uneven lengths; an empty batch entry."""
    rng = np.random.default_rng(2)
    q, k, v, g = _qkvg(rng, 2, 1, 5, 4, 3)

    def loss():
        return float((attention_reference_forward(q, k, v, 0.7, causal, kv_len=kv_len)[0]
                      * g).sum())

    o, lse = attention_reference_forward(q, k, v, 0.7, causal, kv_len=kv_len)
    grads = attention_reference_backward(q, k, v, o, lse, g, 0.7, causal, kv_len=kv_len)
    for a, ga in zip((q, k, v), grads):
        np.testing.assert_allclose(ga, _numeric_grad(loss, a), rtol=1e-6, atol=1e-8)


def test_fully_masked_rows_are_zero_not_nan():
    rng = np.random.default_rng(3)
    q, k, v, g = _qkvg(rng, 2, 2, 4, 5, 8)
    mask = np.ones((4, 5), bool)
    mask[2] = False                                             # row 2 sees nothing
    o, lse = attention_reference_forward(q, k, v, mask=mask, kv_len=[5, 0])
    assert np.isfinite(o).all() and (o[:, :, 2] == 0).all() and (o[1] == 0).all()
    assert np.isneginf(lse[:, :, 2]).all() and np.isneginf(lse[1]).all()
    grads = attention_reference_backward(q, k, v, o, lse, g, mask=mask, kv_len=[5, 0])
    for gr in grads:
        assert np.isfinite(gr).all()
    assert (grads[0][:, :, 2] == 0).all() and (grads[1][1] == 0).all() and (grads[2][1] == 0).all()
    for kern in (attention_tiled_forward,):
        to, tlse = kern(q.astype(np.float32), k.astype(np.float32), v.astype(np.float32),
                        kv_len=[5, 0], block_m=16, block_n=16)
        assert np.isfinite(to).all() and (to[1] == 0).all() and np.isneginf(tlse[1]).all()


TILES = [(16, 16), (16, 64), (64, 16), (32, 32), (64, 64), (128, 64)]
LENGTHS = [(1, 1), (17, 5), (64, 64), (65, 130), (130, 100)]


@pytest.mark.parametrize("bm,bn", TILES)
def test_tiled_matches_reference_every_tile_and_length(bm, bn):
    rng = np.random.default_rng(bm * 1000 + bn)
    for (lq, lk), causal in itertools.product(LENGTHS, (False, True)):
        kv_len = [lk, max(lk // 3, 0)]
        q, k, v, g = _qkvg(rng, 2, 2, lq, lk, 16)
        ro, rlse = attention_reference_forward(q, k, v, None, causal, kv_len=kv_len)
        rgrads = attention_reference_backward(q, k, v, ro, rlse, g, None, causal, kv_len=kv_len)
        # float64 accumulation: the algorithm itself, to rounding
        o, lse = attention_tiled_forward(q, k, v, None, causal, kv_len, bm, bn, np.float64)
        np.testing.assert_allclose(o, ro, rtol=1e-10, atol=1e-12, err_msg=f"{lq, lk, causal}")
        np.testing.assert_array_equal(np.isneginf(lse), np.isneginf(rlse))
        fin = np.isfinite(rlse)
        np.testing.assert_allclose(lse[fin], rlse[fin], rtol=1e-10, atol=1e-12)
        grads = attention_tiled_backward(q, k, v, ro, rlse, g, None, causal, kv_len, bm, bn,
                                         np.float64)
        for ours, ref in zip(grads, rgrads):
            np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-10,
                                       err_msg=f"{lq, lk, causal}")
        # float32 inputs and accumulation, as the fp32 kernel does it
        f32 = [a.astype(np.float32) for a in (q, k, v, g)]
        o32, lse32 = attention_tiled_forward(*f32[:3], None, causal, kv_len, bm, bn)
        assert np.linalg.norm(o32 - ro) <= 1e-5 * max(np.linalg.norm(ro), 1.0)
        g32 = attention_tiled_backward(*f32[:3], o32, lse32, f32[3], None, causal, kv_len, bm, bn)
        for ours, ref in zip(g32, rgrads):
            assert np.linalg.norm(ours - ref) <= 1e-5 * max(np.linalg.norm(ref), 1.0)


def test_tiled_float16_operands_close():
    """Half inputs: P and dS are rounded to half before the second GEMM, as on tensor cores."""
    rng = np.random.default_rng(5)
    q, k, v, g = _qkvg(rng, 1, 2, 100, 77, 32)
    ro, rlse = attention_reference_forward(q, k, v, causal=True)
    rgrads = attention_reference_backward(q, k, v, ro, rlse, g, causal=True)
    h = [a.astype(np.float16) for a in (q, k, v, g)]
    o, lse = attention_tiled_forward(*h[:3], causal=True)
    assert o.dtype == np.float16
    assert np.linalg.norm(o - ro) / np.linalg.norm(ro) < 1e-2
    for ours, ref in zip(attention_tiled_backward(*h[:3], o, lse, h[3], causal=True), rgrads):
        assert np.linalg.norm(ours.astype(np.float64) - ref) / np.linalg.norm(ref) < 1e-2


def test_tiled_long_sequence_memory_is_tiled():
    """4k keys, one query tile of state at a time: no [L, L] matrix is ever built."""
    rng = np.random.default_rng(6)
    q, k, v, _ = _qkvg(rng, 1, 1, 4096, 4096, 16, np.float32)
    o, lse = attention_tiled_forward(q, k, v, causal=True, block_m=512, block_n=512)
    ro, _ = attention_reference_forward(q[..., -64:, :], k, v, causal=False)
    # the last 64 queries see every key under causal masking except those past their position
    ro_causal, _ = attention_reference_forward(q, k, v, causal=True)
    np.testing.assert_allclose(o[..., -64:, :], ro_causal[..., -64:, :], rtol=2e-4, atol=2e-5)
    assert ro.shape == (1, 1, 64, 16)
