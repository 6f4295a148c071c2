"""bfloat16 against torch's CPU bfloat16: bits of casts, op results in bf16 ulps, promotion,
finfo, a training step's gradients, files (torch .pt, npz, safetensors) both ways, and the
message when ml_dtypes is missing."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import dtypes as D

torch = pytest.importorskip("torch", reason="torch is the reference for bfloat16")
pytest.importorskip("ml_dtypes", reason="bfloat16 needs ml_dtypes (pip install ml_dtypes)")
tF = torch.nn.functional


def bits(x) -> np.ndarray:
    """The uint16 bit patterns of a bfloat16 tensor (ours or torch's)."""
    if isinstance(x, torch.Tensor):
        assert x.dtype == torch.bfloat16
        return x.detach().view(torch.int16).numpy().view(np.uint16)
    assert x.dtype == tl.bfloat16, x.dtype
    return np.asarray(x.detach().numpy()).view(np.uint16)


def to_torch(x: tl.Tensor, requires_grad=False) -> "torch.Tensor":
    t = torch.from_numpy(np.array(bits(x)).view(np.int16)).view(torch.bfloat16)
    return t.requires_grad_(requires_grad)


def ulps(ours, theirs) -> int:
    """The largest distance in bf16 steps between two bfloat16 tensors (NaN must match NaN)."""
    a, b = bits(ours).astype(np.int32), bits(theirs).astype(np.int32)
    assert a.shape == b.shape
    nan_a, nan_b = (a & 0x7FFF) > 0x7F80, (b & 0x7FFF) > 0x7F80
    np.testing.assert_array_equal(nan_a, nan_b)
    order = lambda u: np.where(u >= 0x8000, 0x8000 - u, u)  # noqa: E731  monotone in value
    d = np.abs(order(a) - order(b))[~nan_a]
    return int(d.max()) if d.size else 0


def rand(*shape, seed=0, scale=1.0) -> tl.Tensor:
    g = np.random.default_rng(seed + sum(shape))
    return tl.tensor((g.standard_normal(shape) * scale).astype(np.float32)).bfloat16()


# -- the dtype itself ------------------------------------------------------------------------
def test_dtype_surface():
    bf = tl.bfloat16
    assert bf is D.bfloat16 is tl.dtypes.load_bfloat16()
    assert str(bf) == "bfloat16" and str(tl.float32) == "float32"    # as our dtypes print
    assert bf.itemsize == 2 and tl.finfo(bf).bits == 16
    table = {"float32": tl.float32, "bfloat16": tl.bfloat16, "float16": tl.float16}
    x = tl.tensor([1.0, 2.5], dtype=table["bfloat16"])
    assert x.dtype == tl.bfloat16 and x.dtype != tl.float16 and x.is_floating_point()
    assert tl.is_floating_point(x) and x.element_size() == 2
    assert repr(x) == repr(x.float())[:-1] + ", dtype=tl.bfloat16)"     # the values print alike
    assert "0.1001" in repr(x - 1.0 + 0.1)     # 0.1 in bf16, printed to 4 decimals
    assert x.type() == "tinygrad_lite.BFloat16Tensor"
    assert tl.ones(2).to(tl.bfloat16).dtype == tl.bfloat16
    assert tl.ones(2).to("bfloat16").dtype == tl.bfloat16
    assert tl.ones(2).bfloat16().dtype == tl.bfloat16
    assert tl.zeros(3, dtype=tl.bfloat16).dtype == tl.bfloat16
    m = tl.nn.Linear(3, 2).bfloat16()
    assert m.weight.dtype == tl.bfloat16 and m.bias.dtype == tl.bfloat16
    assert tl.cuda.is_bf16_supported() is False


def test_finfo_matches_torch():
    ours, theirs = tl.finfo(tl.bfloat16), torch.finfo(torch.bfloat16)
    for k in ("bits", "eps", "max", "min", "tiny", "resolution", "smallest_normal"):
        assert getattr(ours, k) == getattr(theirs, k), k
    assert ours.eps == 0.0078125 and ours.resolution == 0.01
    assert tl.finfo(tl.float32).resolution == torch.finfo(torch.float32).resolution


@pytest.mark.parametrize("a, b", [("bfloat16", "float16"), ("bfloat16", "float32"),
                                  ("bfloat16", "float64"), ("bfloat16", "int64"),
                                  ("bfloat16", "int32"), ("bfloat16", "uint8"),
                                  ("bfloat16", "bool"), ("float16", "bfloat16"),
                                  ("int8", "bfloat16")])
def test_promotion_table(a, b):
    ta, tb = getattr(torch, a), getattr(torch, b)
    want = str((torch.ones(2, dtype=ta) + torch.ones(2, dtype=tb)).dtype).split(".")[1]
    got = (tl.ones(2, dtype=D.to_dtype(a)) + tl.ones(2, dtype=D.to_dtype(b))).dtype
    assert str(got) == want
    # a 0-dim tensor of another float kind does not widen a dimensioned bf16 one
    want0 = str((torch.ones(2, dtype=ta) + torch.tensor(1, dtype=tb)).dtype).split(".")[1]
    got0 = (tl.ones(2, dtype=D.to_dtype(a)) + tl.tensor(1, dtype=D.to_dtype(b))).dtype
    assert str(got0) == want0


def test_python_scalars_keep_bfloat16():
    x = tl.ones(3, dtype=tl.bfloat16)
    for y in (x + 1.5, x * 2, 2.0 - x, x / 3, x ** 2.0, x + True):
        assert y.dtype == tl.bfloat16
    assert (tl.ones(3, dtype=tl.int64) + tl.tensor(1.0, dtype=tl.bfloat16)).dtype == tl.bfloat16


# -- casts: bit-exact against torch -----------------------------------------------------------
def _specials():
    g = np.random.default_rng(1)
    vals = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, 3.3895314e38, 3.39e38, 1e-40, -1e-45,
            1.17549435e-38, 1.00390625, 1.01171875, 1.0039063, 257.0, 65504.0, 1e30]
    return np.concatenate([np.array(vals), g.standard_normal(500) * 10.0 ** g.integers(-30, 30,
                                                                                      500)])


@pytest.mark.parametrize("src", ["float32", "float64", "float16"])
def test_cast_to_bfloat16_bits(src):
    with np.errstate(over="ignore"):
        a = _specials().astype(src)
        ours = tl.tensor(a).to(tl.bfloat16)
    theirs = torch.from_numpy(a).to(torch.bfloat16)
    np.testing.assert_array_equal(bits(ours), bits(theirs))


def test_cast_nan_stays_nan():
    ours = tl.tensor([float("nan"), -float("nan")]).bfloat16()
    assert np.isnan(ours.float().numpy()).all()


@pytest.mark.parametrize("dst", ["float32", "float64", "float16", "int64", "int32", "bool"])
def test_cast_from_bfloat16(dst):
    x = rand(300, scale=100.0)
    theirs = to_torch(x).to(getattr(torch, dst)).numpy()
    with np.errstate(over="ignore", invalid="ignore"):
        ours = x.to(D.to_dtype(dst)).numpy()
    np.testing.assert_array_equal(ours, theirs)


def test_integers_to_bfloat16_bits():
    a = np.array([0, 1, -7, 255, 257, 1000, 65537, 2 ** 40 + 3, -(2 ** 50) - 1], np.int64)
    np.testing.assert_array_equal(bits(tl.tensor(a).bfloat16()),
                                  bits(torch.from_numpy(a).bfloat16()))


def test_round_trip_through_float32_is_exact():
    x = rand(1000, scale=1e3)
    np.testing.assert_array_equal(bits(x.float().bfloat16()), bits(x))
    np.testing.assert_array_equal(bits(tl.tensor(x.tolist(), dtype=tl.bfloat16)), bits(x))


# -- elementwise ops ---------------------------------------------------------------------------
# (ours, torch's, largest bf16 ulp distance): the arithmetic is exact (float32 math rounded
# once, as torch does); transcendentals may differ by one ulp where float32 libms differ
UNARY = [("neg", lambda t: -t, 0), ("abs", lambda t: t.abs(), 0),
         ("relu", lambda t: t.relu(), 0), ("square", lambda t: t * t, 0),
         ("exp", lambda t: t.exp(), 1), ("log", lambda t: t.abs().log(), 1),
         ("sqrt", lambda t: t.abs().sqrt(), 0), ("tanh", lambda t: t.tanh(), 1),
         ("sigmoid", lambda t: t.sigmoid(), 1), ("sin", lambda t: t.sin(), 1),
         ("reciprocal", lambda t: 1.0 / t, 0), ("pow3", lambda t: t ** 3, 1),
         ("floor", lambda t: t.floor(), 0), ("clamp", lambda t: t.clamp(-0.5, 0.5), 0)]


@pytest.mark.parametrize("name, fn, tol", UNARY, ids=[u[0] for u in UNARY])
def test_unary_vs_torch(name, fn, tol):
    x = rand(4000, scale=3.0)
    ours, theirs = fn(x), fn(to_torch(x))
    assert ours.dtype == tl.bfloat16
    assert ulps(ours, theirs) <= tol


ACTIVATIONS = [("gelu", F.gelu, tF.gelu), ("silu", F.silu, tF.silu),
               ("softplus", F.softplus, tF.softplus), ("elu", F.elu, tF.elu),
               ("leaky_relu", F.leaky_relu, tF.leaky_relu)]


@pytest.mark.parametrize("name, ours_fn, torch_fn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activations_within_one_ulp(name, ours_fn, torch_fn):
    """One ulp, except gelu's far tail (x < -4: 1 + erf(x) cancels, and float32 erfs differ
    there: torch's own float32 result is off by more than a bf16 step), held to 1e-6."""
    x = rand(4000, scale=3.0)
    ours, theirs = ours_fn(x), torch_fn(to_torch(x))
    tail = x.float().numpy() < -4.0 if name == "gelu" else np.zeros(x.shape, bool)
    keep = tl.tensor(~tail)
    assert ulps(ours[keep], theirs[torch.from_numpy(~tail)]) <= 1
    np.testing.assert_allclose(ours.float().numpy()[tail], theirs.float().numpy()[tail], atol=1e-6)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum", "minimum"])
def test_binary_exact(op):
    a, b = rand(3000, seed=1), rand(3000, seed=2)
    ours = getattr(tl, op)(a, b)
    theirs = getattr(torch, op)(to_torch(a), to_torch(b))
    assert ulps(ours, theirs) == 0


# -- float32 accumulation: reductions, matmul, conv, norms, losses ----------------------------
def test_sum_and_mean_accumulate_in_float32():
    x = tl.ones(1000, dtype=tl.bfloat16)
    assert x.sum().item() == 1000.0 and x.mean().item() == 1.0    # bf16 adding stops at 256
    assert x.sum().dtype == tl.bfloat16


REDUCTIONS = [("sum", lambda t: t.sum(1)), ("mean", lambda t: t.mean(1)),
              ("var", lambda t: t.var(1)), ("std", lambda t: t.std(1)),
              ("sum_all", lambda t: t.sum()), ("amax", lambda t: t.amax(1)),
              ("logsumexp", lambda t: t.logsumexp(1)), ("norm", lambda t: t.norm(dim=1)),
              ("cumsum", lambda t: t.cumsum(1)),
              ("softmax", lambda t: t.softmax(1)), ("log_softmax", lambda t: t.log_softmax(1))]


@pytest.mark.parametrize("name, fn", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_reductions_within_one_ulp(name, fn):
    x = rand(16, 300, scale=2.0)
    ours, theirs = fn(x), fn(to_torch(x))
    assert ours.dtype == tl.bfloat16
    assert ulps(ours, theirs) <= 1


MATMULS = [("matmul", lambda a, b: a @ b, (32, 200), (200, 24)),
           ("bmm", lambda a, b: (tl if isinstance(a, tl.Tensor) else torch).bmm(a, b),
            (3, 16, 100), (3, 100, 8)),
           ("einsum", lambda a, b: (tl if isinstance(a, tl.Tensor) else torch).einsum(
               "bij,bkj->bik", a, b), (2, 8, 64), (2, 5, 64)),
           ("matvec", lambda a, b: a @ b, (40, 300), (300,))]


@pytest.mark.parametrize("name, fn, sa, sb", MATMULS, ids=[m[0] for m in MATMULS])
def test_matmuls_within_one_ulp(name, fn, sa, sb):
    a, b = rand(*sa, seed=3), rand(*sb, seed=4)
    ours, theirs = fn(a, b), fn(to_torch(a), to_torch(b))
    assert ours.dtype == tl.bfloat16
    assert ulps(ours, theirs) <= 1


def test_linear_and_conv2d_within_one_ulp():
    x, w, b = rand(8, 64), rand(16, 64, seed=1), rand(16, seed=2)
    assert ulps(F.linear(x, w, b), tF.linear(to_torch(x), to_torch(w), to_torch(b))) <= 1
    xi, wc, bc = rand(2, 3, 12, 12), rand(5, 3, 3, 3, seed=5), rand(5, seed=6)
    ours = F.conv2d(xi, wc, bc, stride=1, padding=1)
    theirs = tF.conv2d(to_torch(xi), to_torch(wc), to_torch(bc), stride=1, padding=1)
    assert ours.dtype == tl.bfloat16 and ulps(ours, theirs) <= 1


def test_layer_norm_and_cross_entropy_within_one_ulp():
    x, w, b = rand(6, 40, scale=3.0), rand(40, seed=1), rand(40, seed=2)
    ours = F.layer_norm(x, (40,), w, b)
    theirs = tF.layer_norm(to_torch(x), (40,), to_torch(w), to_torch(b))
    assert ours.dtype == tl.bfloat16 and ulps(ours, theirs) <= 1
    logits, target = rand(12, 7, scale=2.0), np.arange(12) % 7
    for red in ("mean", "sum", "none"):
        ours = F.cross_entropy(logits, tl.tensor(target), reduction=red)
        theirs = tF.cross_entropy(to_torch(logits), torch.from_numpy(target), reduction=red)
        assert ours.dtype == tl.bfloat16 and ulps(ours, theirs) <= 1, red


# -- backward ------------------------------------------------------------------------------
def test_mlp_step_gradients_vs_torch():
    """Linear -> GELU -> Linear -> cross_entropy in bf16, one SGD step, against torch's."""
    x, y = rand(16, 20, seed=7), np.arange(16) % 5
    ws = [rand(32, 20, seed=8, scale=0.3), rand(32, seed=9, scale=0.1),
          rand(5, 32, seed=10, scale=0.3), rand(5, seed=11, scale=0.1)]
    ours = [w.detach().requires_grad_() for w in ws]
    theirs = [to_torch(w, requires_grad=True) for w in ws]

    def forward(lib, f, params, inp, target):
        h = f.gelu(f.linear(inp, params[0], params[1]))
        return f.cross_entropy(f.linear(h, params[2], params[3]), target)

    loss = forward(tl, F, ours, x, tl.tensor(y))
    tloss = forward(torch, tF, theirs, to_torch(x), torch.from_numpy(y))
    assert loss.dtype == tl.bfloat16 and ulps(loss, tloss) <= 1
    loss.backward()
    tloss.backward()
    for p, tp in zip(ours, theirs):
        assert p.grad.dtype == tl.bfloat16
        g, tg = p.grad.float().numpy(), tp.grad.float().numpy()
        # every rounding in the chain may differ by an ulp: a few bf16 steps of the largest value
        np.testing.assert_allclose(g, tg, rtol=2 ** -6, atol=4 * 2 ** -8 * np.abs(tg).max())
    opt = tl.optim.SGD(ours, lr=0.1)
    topt = torch.optim.SGD(theirs, lr=0.1)
    opt.step()
    topt.step()
    for p, tp in zip(ours, theirs):
        assert p.dtype == tl.bfloat16
        np.testing.assert_allclose(p.float().detach().numpy(), tp.float().detach().numpy(),
                                   rtol=2 ** -6, atol=2 ** -8)


def test_backward_of_pointwise_matches_torch():
    x = rand(500, scale=2.0).requires_grad_()
    tx = to_torch(x, requires_grad=True)
    g = rand(500, seed=3)
    (x.tanh() * x).backward(g)
    (tx.tanh() * tx).backward(to_torch(g))
    assert x.grad.dtype == tl.bfloat16 and ulps(x.grad, tx.grad) <= 2


def test_softmax_double_backward_keeps_the_graph():
    """Second order through softmax in bf16 against float64's (the saved output keeps its link:
    without it this gradient would miss the softmax's own second derivative)."""
    x, g1, g2 = rand(4, 6, scale=2.0), rand(4, 6, seed=2), rand(4, 6, seed=3)
    out = {}
    for dt in (tl.bfloat16, tl.float64):
        xd = x.to(dt).detach().requires_grad_()
        (gx,) = tl.autograd.grad((xd.softmax(1) * g1.to(dt)).sum(), xd, create_graph=True)
        assert gx.requires_grad and gx.dtype == dt
        (gx * g2.to(dt)).sum().backward()
        out[dt] = xd.grad.double().numpy()
    np.testing.assert_allclose(out[tl.bfloat16], out[tl.float64],
                               atol=2 ** -6 * np.abs(out[tl.float64]).max())


# -- files -----------------------------------------------------------------------------------
def test_torch_file_from_torch(tmp_path):
    t = torch.randn(5, 3).bfloat16()
    torch.save({"w": t, "dt": torch.bfloat16, "n": torch.arange(3)}, tmp_path / "a.pt")
    out = tl.load(tmp_path / "a.pt")
    assert out["w"].dtype == tl.bfloat16 and out["dt"] == tl.bfloat16
    np.testing.assert_array_equal(bits(out["w"]), bits(t))


def test_torch_file_to_torch(tmp_path):
    x = rand(4, 6)
    view = x[1:3]
    tl.save({"w": x, "v": view, "dt": tl.bfloat16}, tmp_path / "b.pt")
    back = torch.load(tmp_path / "b.pt", weights_only=True)
    assert back["w"].dtype == torch.bfloat16 and back["dt"] is torch.bfloat16
    np.testing.assert_array_equal(bits(back["w"]), bits(x))
    np.testing.assert_array_equal(bits(back["v"]), bits(view))
    assert back["v"].untyped_storage().data_ptr() == back["w"].untyped_storage().data_ptr()


def test_npz_round_trip(tmp_path):
    x = rand(3, 4).requires_grad_()
    tl.save({"x": x, "a": x.detach().numpy()}, tmp_path / "c.npz")
    out = tl.load(tmp_path / "c.npz")
    assert out["x"].dtype == tl.bfloat16 and out["x"].requires_grad
    assert out["a"].dtype == tl.bfloat16
    np.testing.assert_array_equal(bits(out["x"]), bits(x))


def test_state_dict_round_trip_into_a_bf16_model(tmp_path):
    m = tl.nn.Linear(4, 3).bfloat16()
    tl.save(m.state_dict(), tmp_path / "m.pt")
    m2 = tl.nn.Linear(4, 3).bfloat16()
    m2.load_state_dict(tl.load(tmp_path / "m.pt"))
    np.testing.assert_array_equal(bits(m2.weight), bits(m.weight))


def test_safetensors_both_ways(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    t = torch.randn(3, 5).bfloat16()
    st.save_file({"t": t, "f": torch.ones(2)}, tmp_path / "a.safetensors")
    out = tl.safetensors.load_file(tmp_path / "a.safetensors")
    np.testing.assert_array_equal(bits(out["t"]), bits(t))
    assert out["f"].dtype == tl.float32
    with tl.safetensors.safe_open(tmp_path / "a.safetensors") as f:
        np.testing.assert_array_equal(bits(f.get_slice("t")[1:]), bits(t[1:]))
    np.testing.assert_array_equal(bits(tl.safetensors.load(st.save({"t": t}))["t"]), bits(t))
    x = rand(4, 2)
    tl.safetensors.save_file({"x": x}, tmp_path / "b.safetensors")
    np.testing.assert_array_equal(bits(st.load_file(tmp_path / "b.safetensors")["x"]), bits(x))
    np.testing.assert_array_equal(bits(st.load(tl.safetensors.save({"x": x}))["x"]), bits(x))


# -- "cuda": bfloat16 stays on the CPU --------------------------------------------------------
def test_cuda_refuses_bfloat16_by_name(device):
    if device != "cuda":
        pytest.skip("the cuda case: bfloat16 cannot be put on a GPU here")
    with pytest.raises(TypeError, match="zeros: a bfloat16 tensor cannot be on cuda"):
        tl.zeros(2, dtype=tl.bfloat16, device=device)
    with pytest.raises(TypeError, match="to: a bfloat16 tensor of shape .2,. cannot be on cuda"):
        tl.ones(2).bfloat16().to(device)
    with pytest.raises(TypeError, match="to: a bfloat16 tensor .* CuPy has no bfloat16"):
        tl.ones(2, device=device).bfloat16()
    with pytest.raises(TypeError, match="Module.to: a bfloat16 tensor"):
        tl.nn.Linear(2, 2).to(device).bfloat16()


# -- without ml_dtypes ---------------------------------------------------------------------
def test_missing_ml_dtypes_says_what_to_install(monkeypatch):
    monkeypatch.setattr(D, "BF16", None)
    monkeypatch.delitem(D._by_name, "bfloat16")
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)      # import ml_dtypes now fails
    bf = tl.bfloat16              # a dtype table naming bfloat16 still builds
    table = {"float32": tl.float32, "bfloat16": bf}
    assert table["float32"] == tl.float32 and bf != tl.float32
    for use in (lambda: tl.zeros(2, dtype=bf), lambda: tl.ones(2).to("bfloat16"),
                lambda: tl.ones(2).bfloat16(), lambda: tl.tensor([1.0], dtype=bf)):
        with pytest.raises(ImportError, match=r"^bfloat16 needs the ml_dtypes package: "
                                              r"pip install ml_dtypes$"):
            use()


def test_import_needs_no_ml_dtypes():
    code = ("import sys; import tinygrad_lite as tl; assert 'ml_dtypes' not in sys.modules; "
            "sys.modules['ml_dtypes'] = None; t = {'bf16': tl.bfloat16}; "
            "print((tl.ones(2) * 2).sum().item())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=str(__import__("pathlib").Path(tl.__file__).parents[1]))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "4.0"
