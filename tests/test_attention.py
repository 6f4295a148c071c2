"""scaled_dot_product_attention and MultiheadAttention against torch; the fused SDPA Function
against its composed reference; masks, fully masked rows, double backward and bad input."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite import random as tl_random
from tinygrad_lite.autograd import gradcheck, gradgradcheck
from tinygrad_lite.nn import functional as F
from tinygrad_lite.ops.attention import ScaledDotProductAttention, attention_reference

from helpers import assert_close, check_vs_torch, torch

TF = torch.nn.functional


def _sdpa_pair(**kw):
    ours = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kw)  # noqa: E731
    theirs = lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, **kw)  # noqa: E731
    return ours, theirs


@pytest.mark.parametrize("shapes", [
    [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)],      # [B, H, L, E], S != L, Ev != E
    [(4, 5), (6, 5), (6, 3)],                         # no batch dims
    [(2, 3, 4, 5), (1, 3, 6, 5), (2, 1, 6, 5)],      # batch dims broadcast
    [(3, 1, 4), (3, 1, 4), (3, 1, 2)],                # single query and key
])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("scale", [None, 0.3])
def test_sdpa_matches_torch(shapes, causal, scale, device):
    ours, theirs = _sdpa_pair(is_causal=causal, scale=scale)
    check_vs_torch(ours, shapes=shapes, torch_fn=theirs, device=device)


@given(batch=st.lists(st.integers(1, 3), min_size=0, max_size=2), lq=st.integers(1, 6),
       lk=st.integers(1, 6), e=st.integers(1, 5), ev=st.integers(1, 4), causal=st.booleans(),
       with_mask=st.booleans(), seed=st.integers(0, 2**16))
def test_sdpa_shapes_hypothesis(batch, lq, lk, e, ev, causal, with_mask, seed):
    batch = tuple(batch)
    m = np.random.default_rng(seed).random((lq, lk)) > 0.5
    m[:, 0] = True

    def ours(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=tl.tensor(m) if with_mask
                                              else None, is_causal=causal)

    def theirs(q, k, v):
        # torch's math path refuses mask + is_causal together; we AND them (as its CPU
        # flash kernel does), so give torch the combined mask
        if not with_mask:
            return TF.scaled_dot_product_attention(q, k, v, is_causal=causal)
        both = m & np.tril(np.ones((lq, lk), dtype=bool)) if causal else m
        return TF.scaled_dot_product_attention(q, k, v, attn_mask=torch.from_numpy(both))
    check_vs_torch(ours, shapes=[batch + (lq, e), batch + (lk, e), batch + (lk, ev)],
                   torch_fn=theirs, seed=seed)


@pytest.mark.parametrize("mask_shape", [(4, 6), (2, 1, 4, 6), (1, 3, 1, 6)])
@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_bool_mask(mask_shape, causal, device):
    m = np.random.default_rng(1).random(mask_shape) > 0.4
    m[..., 0] = True          # every row sees key 0, so causal + mask never empties a row
    check_vs_torch(lambda q, k, v: F.scaled_dot_product_attention(
                       q, k, v, attn_mask=tl.tensor(m, device=device), is_causal=causal),
                   shapes=[(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5)],
                   torch_fn=lambda q, k, v: TF.scaled_dot_product_attention(
                       q, k, v, attn_mask=torch.from_numpy(m), is_causal=causal),
                   device=device)


@pytest.mark.parametrize("mask_shape", [(4, 6), (3, 1, 6), (2, 3, 4, 6)])
def test_sdpa_float_mask_gets_gradient(mask_shape, device):
    def fn(q, k, v, bias):
        return (F if isinstance(q, tl.Tensor) else TF).scaled_dot_product_attention(
            q, k, v, attn_mask=bias)
    check_vs_torch(fn, shapes=[(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), mask_shape],
                   device=device)


def test_sdpa_float_mask_with_minus_inf(device):
    m = np.zeros((4, 6))
    m[:, 3:] = -np.inf
    check_vs_torch(lambda q, k, v: F.scaled_dot_product_attention(
                       q, k, v, attn_mask=tl.tensor(m, device=device)),
                   shapes=[(2, 4, 5), (2, 6, 5), (2, 6, 5)],
                   torch_fn=lambda q, k, v: TF.scaled_dot_product_attention(
                       q, k, v, attn_mask=torch.from_numpy(m)), device=device)


def test_fully_masked_rows_give_zeros_like_torch(device):
    m = np.random.default_rng(2).random((4, 6)) > 0.3
    m[1] = False
    m[:, 0] |= np.arange(4) != 1
    rng = np.random.default_rng(3)
    q, k, v = (tl.tensor(rng.standard_normal(s), device=device, requires_grad=True)
               for s in [(2, 4, 5), (2, 6, 5), (2, 6, 5)])
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=tl.tensor(m, device=device))
    g = rng.standard_normal(out.shape)
    (out * tl.tensor(g, device=device)).sum().backward()
    assert np.all(out.detach().numpy()[:, 1] == 0)
    for t in (q, k, v):
        assert np.isfinite(t.grad.numpy()).all()
    assert np.all(q.grad.numpy()[:, 1] == 0)
    # torch's CPU kernels also give zeros here (its composed math path would give NaN)
    qt, kt, vt = (torch.tensor(t.detach().numpy(), requires_grad=True) for t in (q, k, v))
    ot = TF.scaled_dot_product_attention(qt, kt, vt, attn_mask=torch.from_numpy(m))
    (ot * torch.from_numpy(g)).sum().backward()
    assert_close(out, ot)
    assert_close(q.grad, qt.grad)
    assert_close(k.grad, kt.grad)


def test_fused_matches_reference_with_everything():
    """The fused Function and the composed reference, with bias, keep, causal and dropout."""
    rng = np.random.default_rng(4)
    q, k, v = (tl.tensor(rng.standard_normal(s), requires_grad=True)
               for s in [(2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6)])
    bias = tl.tensor(rng.standard_normal((3, 1, 7)), requires_grad=True)
    keep = rng.random((5, 7)) > 0.3
    keep[2] = False                                    # one row sees nothing
    drop = (rng.random((2, 3, 5, 7)) > 0.25) / 0.75
    kw = dict(keep=keep, causal=True, scale=0.4, drop=drop)
    g = rng.standard_normal((2, 3, 5, 6))
    results = []
    for fn in (lambda *a: ScaledDotProductAttention.apply(*a, **kw),
               lambda *a: attention_reference(*a, **kw)):
        out = fn(q, k, v, bias)
        grads = tl.autograd.grad((out * tl.tensor(g)).sum(), [q, k, v, bias])
        results.append((out, grads))
    assert_close(results[0][0], results[1][0], msg="forward")
    for i, (a, b) in enumerate(zip(results[0][1], results[1][1])):
        assert_close(a, b, msg=f"grad {i}")


def test_sdpa_gradcheck_and_double_backward():
    rng = np.random.default_rng(5)
    ins = [tl.tensor(rng.standard_normal(s), requires_grad=True)
           for s in [(2, 4, 3), (2, 5, 3), (2, 5, 2), (4, 5)]]
    m = rng.random((4, 5)) > 0.3
    m[:, 0] = True
    keep = tl.tensor(m)

    def fn(q, k, v, b):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=b, scale=0.7)

    def fn_masked(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=keep, is_causal=True)
    assert gradcheck(fn, ins)
    assert gradgradcheck(fn, ins)
    assert gradgradcheck(fn_masked, ins[:3])


def test_sdpa_double_backward_matches_torch():
    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal(s) for s in [(2, 4, 3), (2, 5, 3), (2, 5, 3)]]
    ours = [tl.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    go = tl.autograd.grad(F.scaled_dot_product_attention(*ours).pow(2).sum(), ours[0],
                          create_graph=True)[0]
    gt = torch.autograd.grad(TF.scaled_dot_product_attention(*theirs).pow(2).sum(), theirs[0],
                             create_graph=True)[0]
    assert_close(go, gt)
    w = rng.standard_normal(go.shape)
    (go * tl.tensor(w)).sum().backward()
    (gt * torch.from_numpy(w)).sum().backward()
    for a, b in zip(ours, theirs):
        assert_close(a.grad, b.grad)


def test_sdpa_dropout_uses_one_mask():
    rng = np.random.default_rng(7)
    q, k, v = (tl.tensor(rng.standard_normal(s)) for s in [(2, 4, 3), (2, 5, 3), (2, 5, 3)])
    tl.manual_seed(3)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)
    tl.manual_seed(3)
    drop = tl_random.bernoulli_mask((2, 4, 5), 0.6, q.dtype, "cpu") / 0.6
    want = attention_reference(q, k, v, scale=1 / math.sqrt(3), drop=drop)
    assert_close(out, want)
    plain = F.scaled_dot_product_attention(q, k, v)
    assert np.abs(out.numpy() - plain.numpy()).max() > 1e-3


def test_sdpa_float32_stays_float32(device):
    q = tl.randn(2, 4, 8, device=device, requires_grad=True)
    out = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    out.sum().backward()
    assert out.dtype == np.float32 and q.grad.dtype == np.float32


def test_sdpa_bad_input_raises():
    q, k = tl.randn(2, 4, 5), tl.randn(2, 6, 5)
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention.*\(2, 4, 5\).*\(2, 6, 3\)"):
        F.scaled_dot_product_attention(q, tl.randn(2, 6, 3), tl.randn(2, 6, 3))
    with pytest.raises(TypeError, match="scaled_dot_product_attention.*float64"):
        F.scaled_dot_product_attention(q, k.double(), k)
    with pytest.raises(ValueError, match=r"attn_mask \(3, 6\) does not broadcast"):
        F.scaled_dot_product_attention(q, k, k, attn_mask=tl.ones(3, 6).bool())
    with pytest.raises(ValueError, match="batch dimensions"):
        F.scaled_dot_product_attention(tl.randn(3, 4, 5), k, k)
    with pytest.raises(TypeError, match="attn_mask must be bool or floating"):
        F.scaled_dot_product_attention(q, k, k, attn_mask=tl.ones(4, 6).long())
    with pytest.raises(ValueError, match="dropout_p"):
        F.scaled_dot_product_attention(q, k, k, dropout_p=1.0)


# -- MultiheadAttention ------------------------------------------------------------------------
def _mha_case(device, embed=8, heads=2, lq=4, lk=5, batch=3, batch_first=False, kdim=None,
              vdim=None, bias=True, unbatched=False, attn_mask=None, key_padding_mask=None,
              need_weights=True, average=True, self_attn=False, seed=0):
    rng = np.random.default_rng(seed)
    theirs = torch.nn.MultiheadAttention(embed, heads, kdim=kdim, vdim=vdim, bias=bias,
                                         batch_first=batch_first).double()
    ours = nn.MultiheadAttention(embed, heads, kdim=kdim, vdim=vdim, bias=bias,
                                 batch_first=batch_first)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours.double().to(device)

    def shape(length, dim):
        if unbatched:
            return (length, dim)
        return (batch, length, dim) if batch_first else (length, batch, dim)
    arrays = [rng.standard_normal(shape(lq, embed))]
    if not self_attn:
        arrays += [rng.standard_normal(shape(lk, kdim or embed)),
                   rng.standard_normal(shape(lk, vdim or embed))]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    o_in = [tl.tensor(a, device=device).requires_grad_(True) for a in arrays]
    if self_attn:
        t_in, o_in = t_in * 3, o_in * 3
    tm = lambda m: None if m is None else torch.from_numpy(m)  # noqa: E731
    om = lambda m: None if m is None else tl.tensor(m, device=device)  # noqa: E731
    ot, wt = theirs(*t_in, key_padding_mask=tm(key_padding_mask), need_weights=need_weights,
                    attn_mask=tm(attn_mask), average_attn_weights=average)
    oo, wo = ours(*o_in, key_padding_mask=om(key_padding_mask), need_weights=need_weights,
                  attn_mask=om(attn_mask), average_attn_weights=average)
    assert_close(oo, ot, msg="output")
    g = rng.standard_normal(ot.shape)
    lt, lo = (ot * torch.from_numpy(g)).sum(), (oo * tl.tensor(g, device=device)).sum()
    if need_weights:
        assert_close(wo, wt, msg="weights")
        gw = rng.standard_normal(wt.shape)
        lt = lt + (wt * torch.from_numpy(gw)).sum()
        lo = lo + (wo * tl.tensor(gw, device=device)).sum()
    else:
        assert wo is None and wt is None
    lt.backward()
    lo.backward()
    for i, (a, b) in enumerate(zip(t_in[:len(arrays)], o_in[:len(arrays)])):
        assert_close(b.grad, a.grad, msg=f"input {i} grad")
    ps = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        assert_close(ps[name].grad, p.grad, msg=f"{name} grad")


@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_plain(need_weights, average, batch_first, device):
    _mha_case(device, need_weights=need_weights, average=average, batch_first=batch_first)


def test_mha_self_attention_same_tensor(device):
    _mha_case(device, lk=4, self_attn=True, need_weights=False)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_kdim_vdim(need_weights, device):
    _mha_case(device, kdim=3, vdim=6, need_weights=need_weights)


def test_mha_no_bias_and_unbatched(device):
    _mha_case(device, bias=False)
    m = np.random.default_rng(1).random((4, 5)) > 0.6
    m[:, 2] = False
    _mha_case(device, unbatched=True, attn_mask=m)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("kind", ["bool", "float", "bool3d", "float3d"])
def test_mha_attn_mask(kind, need_weights, device):
    rng = np.random.default_rng(2)
    shape = (4, 5) if kind in ("bool", "float") else (3 * 2, 4, 5)
    if kind.startswith("bool"):
        m = rng.random(shape) > 0.6
        m[..., 1] = False           # True hides in MHA: keep one key visible everywhere
    else:
        m = rng.standard_normal(shape)
    _mha_case(device, attn_mask=m, need_weights=need_weights)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_key_padding_mask(need_weights, device):
    rng = np.random.default_rng(3)
    kp = rng.random((3, 5)) > 0.5
    kp[:, 0] = False
    _mha_case(device, key_padding_mask=kp, need_weights=need_weights)
    m = rng.random((4, 5)) > 0.7
    m[:, 0] = False
    _mha_case(device, key_padding_mask=kp, attn_mask=m, need_weights=need_weights,
              batch_first=True)


def test_mha_init_like_torch():
    mha = nn.MultiheadAttention(16, 4)
    w = mha.in_proj_weight.detach().numpy()
    bound = math.sqrt(6.0 / (16 + 48))              # xavier_uniform_ on [3E, E]
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.all(mha.in_proj_bias.detach().numpy() == 0)
    assert np.all(mha.out_proj.bias.detach().numpy() == 0)
    sep = nn.MultiheadAttention(16, 4, kdim=5, vdim=7)
    assert sep.in_proj_weight is None
    assert sep.k_proj_weight.shape == (16, 5) and sep.v_proj_weight.shape == (16, 7)


def test_mha_dropout_only_in_training():
    mha = nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
    x = tl.randn(2, 5, 8)
    a = mha(x, x, x, need_weights=False)[0].detach().numpy()
    b = mha(x, x, x, need_weights=False)[0].detach().numpy()
    assert np.abs(a - b).max() > 1e-4
    mha.eval()
    c = mha(x, x, x)[0].detach().numpy()
    d = mha(x, x, x, need_weights=False)[0].detach().numpy()
    np.testing.assert_allclose(c, d, rtol=1e-5, atol=1e-6)


def test_mha_bad_input_raises():
    mha = nn.MultiheadAttention(8, 2)
    x = tl.randn(4, 3, 8)
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(8, 3)
    with pytest.raises(ValueError, match=r"MultiheadAttention: key \(4, 3, 5\).*kdim=8"):
        mha(x, tl.randn(4, 3, 5), x)
    with pytest.raises(RuntimeError, match="need attn_mask.*is_causal"):
        mha(x, x, x, is_causal=True)
    with pytest.raises(ValueError, match=r"attn_mask should have shape \(4, 4\)"):
        mha(x, x, x, attn_mask=tl.zeros(3, 4))
    with pytest.raises(ValueError, match=r"key_padding_mask should have shape \(3, 4\)"):
        mha(x, x, x, key_padding_mask=tl.zeros(4, 3).bool())
    with pytest.raises(TypeError, match="float64.*float32"):
        mha(x.double(), x.double(), x.double())
    with pytest.raises(NotImplementedError, match="add_bias_kv"):
        nn.MultiheadAttention(8, 2, add_bias_kv=True)


def test_functional_mha_matches_module():
    mha = nn.MultiheadAttention(8, 2)
    x = tl.randn(4, 3, 8)
    want, w_want = mha(x, x, x)
    got, w_got = F.multi_head_attention_forward(
        x, x, x, 8, 2, mha.in_proj_weight, mha.in_proj_bias, None, None, False, 0.0,
        mha.out_proj.weight, mha.out_proj.bias, training=False)
    assert_close(got, want, np.float32)
    assert_close(w_got, w_want, np.float32)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_fully_masked_row_is_zero_not_nan(need_weights):
    mha = nn.MultiheadAttention(8, 2)
    with tl.no_grad():
        mha.out_proj.bias.uniform_(-1.0, 1.0)
    x = tl.randn(3, 2, 8, requires_grad=True)
    m = tl.zeros(3, 3).bool()
    m[1] = True                       # query 1 may see nothing
    out, w = mha(x, x, x, attn_mask=m, need_weights=need_weights)
    (out * tl.randn(*out.shape)).sum().backward()
    assert np.isfinite(out.detach().numpy()).all() and np.isfinite(x.grad.numpy()).all()
    bias = mha.out_proj.bias.detach().numpy()
    np.testing.assert_allclose(out.detach().numpy()[1], np.broadcast_to(bias, (2, 8)))
    if need_weights:
        assert np.all(w.detach().numpy()[:, 1] == 0)


@pytest.mark.parametrize("causal", [False, True])
def test_long_sequence_tiled_path_matches_torch(causal, monkeypatch):
    """Above TILED_MIN_SCORES an unmasked CPU call runs the O(L x tile) tiled emulation; shrink
    the threshold and the tile so a small case crosses several tiles, ragged ones included."""
    from tinygrad_lite.ops import attention as A
    monkeypatch.setattr(A, "TILED_MIN_SCORES", 0)
    monkeypatch.setattr(A, "TILE", 4)
    q = tl.randn(2, 9, 5, dtype=tl.float64)
    out = F.scaled_dot_product_attention(q, q, q)
    assert out.grad_fn is None                  # no grad asked: no node, nothing saved
    seen = []
    monkeypatch.setattr(A.ScaledDotProductAttention, "_tiled_fits",
                        staticmethod(lambda *a, _f=A.ScaledDotProductAttention._tiled_fits:
                                     seen.append(_f(*a)) or seen[-1]))
    ours, theirs = _sdpa_pair(is_causal=causal)
    check_vs_torch(ours, shapes=[(2, 2, 9, 5), (2, 2, 11, 5), (2, 2, 11, 5)], torch_fn=theirs)
    assert seen == [True]
    ins = [tl.tensor(np.random.default_rng(8).standard_normal(s), requires_grad=True)
           for s in [(1, 6, 3), (1, 7, 3), (1, 7, 3)]]
    assert gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v,
                                                                        is_causal=causal), ins)
