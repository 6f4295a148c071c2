"""autocast against torch's CPU autocast: the output dtype of each op family inside a region,
the values (to the lower dtype's rounding), training steps with GradScaler, and the region's
rules (nesting, enabled=False, decorator form, thread-locality, float32 parameters).
On "cuda" (a GPU or the CuPy stand-in) the same ops follow torch's cuda lists, and conv and
attention reach the half-precision kernels."""
from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite.backend import kernels

HAS_BF16 = hasattr(tl, "bfloat16")
LOWER = [pytest.param("float16", id="float16"),
         pytest.param("bfloat16", id="bfloat16", marks=pytest.mark.skipif(
             not HAS_BF16, reason="bfloat16 dtype not in this build"))]
TOL = {"float16": 4e-3, "bfloat16": 3e-2}      # a few units of each dtype's rounding

rng = np.random.default_rng(0)
A = {
    "x": rng.standard_normal((4, 6)), "m": rng.standard_normal((6, 6)),
    "w": rng.standard_normal((5, 6)), "b": rng.standard_normal(5),
    "c": rng.standard_normal((4, 6)), "bx": rng.standard_normal((2, 4, 6)),
    "bm": rng.standard_normal((2, 6, 3)), "bc": rng.standard_normal((2, 4, 3)),
    "img": rng.standard_normal((2, 3, 8, 8)), "k": rng.standard_normal((4, 3, 3, 3)),
    "kb": rng.standard_normal(4), "kt": rng.standard_normal((3, 4, 3, 3)),
    "seq": rng.standard_normal((2, 3, 10)), "k1": rng.standard_normal((4, 3, 3)),
    "q": rng.standard_normal((2, 2, 5, 8)), "p": rng.uniform(0.05, 0.95, (4, 6)),
    "v6": rng.standard_normal(6), "u6": rng.standard_normal(6), "a": np.array([0.2]),
    "g": rng.uniform(0.5, 1.5, 6), "h": rng.standard_normal(6),
    "g3": rng.uniform(0.5, 1.5, 3), "h3": rng.standard_normal(3),
    "W3": rng.standard_normal((3, 6, 6)), "one": np.ones(4), "pm": np.sign(rng.standard_normal(6)),
}
TARGET = np.array([1, 0, 5, 3])
LENIENT = {"bilinear", "tensordot"}     # take mixed dtypes (promoting) where torch refuses them

# name -> fn(lib, functional, t, target): the same call spelled for both libraries; t(key)
# makes an input tensor from A[key] in the case's dtype mode
CASES = {
    "matmul": lambda L, F, t, y: t("x") @ t("m"),
    "mm": lambda L, F, t, y: L.mm(t("x"), t("m")),
    "bmm": lambda L, F, t, y: L.bmm(t("bx"), t("bm")),
    "addmm": lambda L, F, t, y: L.addmm(t("c"), t("x"), t("m")),
    "baddbmm": lambda L, F, t, y: L.baddbmm(t("bc"), t("bx"), t("bm")),
    "mv": lambda L, F, t, y: L.mv(t("m"), t("v6")),
    "dot": lambda L, F, t, y: L.dot(t("v6"), t("u6")),
    "einsum": lambda L, F, t, y: L.einsum("ij,jk->ik", t("x"), t("m")),
    "tensordot": lambda L, F, t, y: L.tensordot(t("x"), t("m"), 1),
    "linear": lambda L, F, t, y: F.linear(t("x"), t("w"), t("b")),
    "bilinear": lambda L, F, t, y: F.bilinear(t("x"), t("c"), t("W3")),
    "conv2d": lambda L, F, t, y: F.conv2d(t("img"), t("k"), t("kb"), padding=1),
    "conv1d": lambda L, F, t, y: F.conv1d(t("seq"), t("k1"), t("kb")),
    "conv_transpose2d": lambda L, F, t, y: F.conv_transpose2d(t("img"), t("kt"), t("kb")),
    "prelu": lambda L, F, t, y: F.prelu(t("x"), t("a")),
    "sdpa": lambda L, F, t, y: F.scaled_dot_product_attention(t("q"), t("q"), t("q")),
    "softmax": lambda L, F, t, y: F.softmax(t("x"), -1),
    "log_softmax": lambda L, F, t, y: F.log_softmax(t("x"), -1),
    "layer_norm": lambda L, F, t, y: F.layer_norm(t("x"), (6,), t("g"), t("h")),
    "group_norm": lambda L, F, t, y: F.group_norm(t("img"), 3, t("g3"), t("h3")),
    "batch_norm": lambda L, F, t, y: F.batch_norm(t("img"), None, None, t("g3"), t("h3"),
                                                  training=True),
    "exp": lambda L, F, t, y: L.exp(t("x")),
    "sum": lambda L, F, t, y: t("x").sum(),
    "prod": lambda L, F, t, y: t("p").prod(),
    "cumsum": lambda L, F, t, y: t("x").cumsum(0),
    "relu": lambda L, F, t, y: F.relu(t("x")),
    "gelu": lambda L, F, t, y: F.gelu(t("x")),
    "add": lambda L, F, t, y: t("x") + t("c"),
    "cat": lambda L, F, t, y: L.cat([t("x"), t("c")]),
    "cross_entropy": lambda L, F, t, y: F.cross_entropy(t("x"), y),
    "nll_loss": lambda L, F, t, y: F.nll_loss(t("x"), y),
    "mse_loss": lambda L, F, t, y: F.mse_loss(t("x"), t("p")),
    "l1_loss": lambda L, F, t, y: F.l1_loss(t("x"), t("p")),
    "smooth_l1_loss": lambda L, F, t, y: F.smooth_l1_loss(t("x"), t("p")),
    "huber_loss": lambda L, F, t, y: F.huber_loss(t("x"), t("p")),
    "bce": lambda L, F, t, y: F.binary_cross_entropy(t("p"), t("p")),
    "bce_with_logits": lambda L, F, t, y: F.binary_cross_entropy_with_logits(t("x"), t("p")),
    "kl_div": lambda L, F, t, y: F.kl_div(t("x"), t("p"), reduction="batchmean"),
    "soft_margin": lambda L, F, t, y: F.soft_margin_loss(t("v6"), t("pm")),
    "cosine_similarity": lambda L, F, t, y: F.cosine_similarity(t("x"), t("c")),
    "cdist": lambda L, F, t, y: L.cdist(t("x"), t("c")),
    "inverse": lambda L, F, t, y: L.inverse(t("m") + 6 * L.eye(6, dtype=t("m").dtype)),
    "trace": lambda L, F, t, y: L.trace(t("m")),
}


def _maker(lib, lower, mode, device="cpu"):
    """t(key): A[key] as a tensor of `lib` in float32 ("f32"), the lower dtype ("low"), or the
    lower dtype for the first tensor made and float32 after ("mixed")."""
    made = []

    def t(key):
        first = not made
        made.append(key)
        dt = lower if mode == "low" or (mode == "mixed" and first) else "float32"
        if lib is torch:
            return torch.tensor(A[key], dtype=torch.float32).to(getattr(torch, dt))
        return tl.tensor(A[key], dtype=tl.float32, device=device).to(getattr(tl, dt))
    return t


def _run(lib, name, lower, mode, device="cpu"):
    """(dtype name, float64 values) of case `name` under autocast, or the exception raised."""
    fn = CASES[name]
    functional = TF if lib is torch else F
    target = (torch if lib is torch else tl).tensor(TARGET)
    if lib is tl and device != "cpu":
        target = target.to(device)
    try:
        with lib.autocast(device, dtype=getattr(lib, lower)):
            out = fn(lib, functional, _maker(lib, lower, mode, device), target)
    except Exception as e:      # noqa: BLE001  (a refusal is compared too)
        return e
    if lib is torch:
        return str(out.dtype).replace("torch.", ""), out.detach().double().numpy()
    return out.dtype.name, np.asarray(out.detach().double().cpu().numpy())


@pytest.mark.parametrize("mode", ["f32", "low", "mixed"])
@pytest.mark.parametrize("lower", LOWER)
@pytest.mark.parametrize("name", sorted(CASES))
def test_op_dtype_and_values_match_torch_cpu(name, lower, mode):
    theirs = _run(torch, name, lower, mode)
    ours = _run(tl, name, lower, mode)
    if isinstance(theirs, Exception) and name in LENIENT:
        assert not isinstance(ours, Exception) and ours[0] in (lower, "float32"), ours
        return
    if isinstance(theirs, Exception):
        assert isinstance(ours, Exception), f"{name}: torch raises {theirs!r}, we gave {ours}"
        return
    assert not isinstance(ours, Exception), f"{name}: {ours!r}"
    assert ours[0] == theirs[0], f"{name} ({mode}): dtype {ours[0]}, torch gives {theirs[0]}"
    ref = theirs[1]
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(ours[1], ref, rtol=TOL[lower], atol=TOL[lower] * scale)


def test_outside_autocast_nothing_is_cast():
    x, m = tl.tensor(A["x"], dtype=tl.float32), tl.tensor(A["m"], dtype=tl.float32)
    assert (x @ m).dtype == tl.float32
    assert not tl.is_autocast_enabled("cpu")


# -- the region's rules -------------------------------------------------------------------------
def test_defaults_and_queries_match_torch():
    assert tl.get_autocast_dtype("cuda") == tl.float16
    if HAS_BF16:
        assert tl.get_autocast_dtype("cpu") == tl.bfloat16
    assert tl.amp.is_autocast_available("cpu") and tl.amp.is_autocast_available("cuda")
    assert not tl.amp.is_autocast_available("tpu")
    with tl.autocast("cpu", dtype=tl.float16):
        assert tl.is_autocast_enabled("cpu") and not tl.is_autocast_enabled()
        assert tl.get_autocast_dtype("cpu") == tl.float16
        with tl.autocast("cpu"):        # a nested region without dtype keeps the current one
            assert tl.get_autocast_dtype("cpu") == tl.float16
    assert not tl.is_autocast_enabled("cpu")
    with pytest.raises(ValueError, match="device_type"):
        tl.autocast(3)
    with pytest.raises(RuntimeError, match="tpu"):
        tl.autocast("tpu")


def test_unsupported_dtype_warns_and_disables():
    with pytest.warns(UserWarning, match="target dtype is not supported"):
        region = tl.autocast("cpu", dtype=tl.float64)
    with region:
        assert not tl.is_autocast_enabled("cpu")
        x = tl.tensor(A["x"], dtype=tl.float32)
        assert (x @ x.T).dtype == tl.float32


def _mm_dtype():
    x = tl.tensor(A["x"], dtype=tl.float32)
    return (x @ x.T).dtype


def test_nested_enabled_false_and_exit_restore():
    with tl.autocast("cpu", dtype=tl.float16):
        assert _mm_dtype() == tl.float16
        with tl.autocast("cpu", enabled=False):
            assert not tl.is_autocast_enabled("cpu")
            assert tl.get_autocast_dtype("cpu") == tl.float16     # as torch reports it
            assert _mm_dtype() == tl.float32
            with tl.autocast("cpu", dtype=tl.float16):
                assert _mm_dtype() == tl.float16
            assert _mm_dtype() == tl.float32
        assert _mm_dtype() == tl.float16
    assert _mm_dtype() == tl.float32


def test_exit_restores_after_an_exception():
    with pytest.raises(KeyError):
        with tl.autocast("cpu", dtype=tl.float16):
            raise KeyError("inside")
    assert not tl.is_autocast_enabled("cpu") and _mm_dtype() == tl.float32


def test_decorator_form_and_reuse():
    @tl.autocast("cpu", dtype=tl.float16)
    def f():
        return _mm_dtype(), tl.is_autocast_enabled("cpu")

    @tl.amp.autocast("cpu", dtype=tl.float16)
    def recurse(n):
        return _mm_dtype() if n == 0 else recurse(n - 1)
    assert f() == (tl.float16, True)
    assert f() == (tl.float16, True)
    assert recurse(3) == tl.float16
    assert not tl.is_autocast_enabled("cpu") and _mm_dtype() == tl.float32


def test_a_thread_started_inside_does_not_inherit():
    seen = {}

    def worker():
        seen["enabled"] = tl.is_autocast_enabled("cpu")
        seen["dtype"] = _mm_dtype()
    with tl.autocast("cpu", dtype=tl.float16):
        th = threading.Thread(target=worker)
        th.start()
        th.join()
        assert _mm_dtype() == tl.float16
    assert seen == {"enabled": False, "dtype": tl.float32}
    with torch.autocast("cpu", dtype=torch.float16):     # torch's rule, for the record
        th = threading.Thread(target=lambda: seen.update(torch=torch.is_autocast_enabled("cpu")))
        th.start()
        th.join()
    assert seen["torch"] is False


def test_cuda_region_leaves_cpu_tensors_alone():
    if not tl.cuda_is_available():
        with pytest.warns(UserWarning, match="CUDA is not available"):
            region = tl.autocast("cuda")
    else:
        region = tl.autocast("cuda")
    with region:
        assert _mm_dtype() == tl.float32


def test_explicit_dtype_opts_out_of_fp32_casts():
    x = tl.tensor(A["x"], dtype=tl.float16)
    with tl.autocast("cpu", dtype=tl.float16):
        assert F.mse_loss(x, x).dtype == tl.float32
    t = torch.tensor(A["x"], dtype=torch.float16)
    with torch.autocast("cpu", dtype=torch.float16):
        assert TF.mse_loss(t, t).dtype == torch.float32


def test_parameters_stay_float32_and_get_float32_grads():
    lin = tl.nn.Linear(6, 5)
    x = tl.tensor(A["x"], dtype=tl.float32)
    with tl.autocast("cpu", dtype=tl.float16):
        y = lin(x)
        assert y.dtype == tl.float16
        assert lin.weight.dtype == tl.float32 and lin.bias.dtype == tl.float32
    y.float().sum().backward()
    assert lin.weight.grad.dtype == tl.float32 and lin.bias.grad.dtype == tl.float32


def test_backward_runs_in_forward_dtypes_and_matches_torch():
    """d(sum(softmax(x @ w^T)))/dx and /dw: the half matmul's gradients in half, cast back."""
    g = rng.standard_normal((4, 5))
    ours, theirs = {}, {}
    for lib, out in ((tl, ours), (torch, theirs)):
        x = lib.tensor(A["x"], dtype=lib.float32, requires_grad=True)
        w = lib.tensor(A["w"], dtype=lib.float32, requires_grad=True)
        with lib.autocast("cpu", dtype=lib.float16):
            y = (x @ w.T).relu()
        (y.float() * lib.tensor(g, dtype=lib.float32)).sum().backward()
        out["x"], out["w"] = x.grad, w.grad
    for k in ("x", "w"):
        assert str(ours[k].dtype).endswith("float32")
        np.testing.assert_allclose(ours[k].numpy(), theirs[k].numpy(), rtol=5e-3, atol=5e-3)


def test_a_parameter_used_twice_is_cast_once():
    w = tl.tensor(A["m"], dtype=tl.float32, requires_grad=True)
    x = tl.tensor(A["x"], dtype=tl.float32)
    with tl.autocast("cpu", dtype=tl.float16):
        a, b = x @ w, x @ w
        assert a.grad_fn.parents[1] is b.grad_fn.parents[1]     # one Cast node feeds both
        with tl.no_grad():
            c = x @ w
        assert c.grad_fn is None
    with tl.autocast("cpu", dtype=tl.float16, cache_enabled=False):
        a, b = x @ w, x @ w
        assert a.grad_fn.parents[1] is not b.grad_fn.parents[1]
    (a.float().sum() + b.float().sum()).backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * A["x"].sum(0)[:, None].repeat(6, 1),
                               rtol=2e-3)


def test_a_cached_cast_follows_an_in_place_update():
    w = tl.tensor(A["m"], dtype=tl.float32, requires_grad=True)
    x = tl.tensor(A["x"], dtype=tl.float32)
    with tl.autocast("cpu", dtype=tl.float16):
        before = (x @ w).float().detach().numpy()
        with tl.no_grad():
            w.mul_(2.0)
        after = (x @ w).float().detach().numpy()
    np.testing.assert_allclose(after, 2 * before, rtol=2e-3, atol=2e-3)


# -- the deprecated aliases and GradScaler's names ------------------------------------------------
def test_aliases():
    with pytest.warns(FutureWarning, match="cpu.amp.autocast"):
        region = tl.cpu.amp.autocast(dtype=tl.float16)
    with region:
        assert _mm_dtype() == tl.float16
    with pytest.warns(FutureWarning, match="cuda.amp.autocast"):
        if tl.cuda_is_available():
            tl.cuda.amp.autocast()
        else:
            with pytest.warns(UserWarning, match="CUDA is not available"):
                tl.cuda.amp.autocast()
    with pytest.warns(FutureWarning, match="cpu.amp.GradScaler"):
        assert tl.cpu.amp.GradScaler().is_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cuda_scaler = tl.cuda.amp.GradScaler()
    assert cuda_scaler.is_enabled() == tl.cuda_is_available()
    assert tl.amp.GradScaler("cpu").get_scale() == 2.0 ** 16


def test_custom_fwd_casts_inputs():
    @tl.amp.custom_fwd(device_type="cpu", cast_inputs=tl.float32)
    def fwd(a, b):
        return a @ b, tl.is_autocast_enabled("cpu")
    x = tl.tensor(A["x"], dtype=tl.float16)
    with tl.autocast("cpu", dtype=tl.float16):
        out = fwd(x, x.T)[0]
        assert out.dtype == tl.float32          # cast in, then run with autocast off
        assert (x @ x.T).dtype == tl.float16
    assert fwd(x, x.T)[0].dtype == tl.float16     # outside a region: as called
    assert tl.amp.custom_bwd(device_type="cpu")(len) is len


# -- training steps against torch ---------------------------------------------------------------
def _mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(6, 16), nn.GELU(), nn.LayerNorm(16), nn.Linear(16, 3))


def _cnn(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def _copy_weights(ours, theirs):
    for (n1, p1), (n2, p2) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n1 == n2 and tuple(p1.shape) == tuple(p2.shape)
        p1.data = tl.tensor(p2.detach().numpy())


@pytest.mark.parametrize("lower", LOWER)
@pytest.mark.parametrize("make, shape", [(_mlp, (8, 6)), (_cnn, (4, 3, 8, 8))], ids=["mlp", "cnn"])
def test_training_step_with_grad_scaler_matches_torch(make, shape, lower):
    torch.manual_seed(0)
    theirs = make(torch)
    ours = make(tl)
    _copy_weights(ours, theirs)
    x = rng.standard_normal(shape).astype(np.float32)
    y = np.array([0, 1, 2, 1, 0, 2, 1, 0][:shape[0]])
    results = {}
    for lib, model in ((tl, ours), (torch, theirs)):
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        scaler = lib.amp.GradScaler("cpu", init_scale=1024.0)
        losses = []
        for _ in range(2):
            opt.zero_grad()
            with lib.autocast("cpu", dtype=getattr(lib, lower)):
                logits = model(lib.tensor(x))
                loss = F.cross_entropy(logits, tl.tensor(y)) if lib is tl \
                    else TF.cross_entropy(logits, torch.tensor(y))
            assert str(logits.dtype).endswith(lower) and str(loss.dtype).endswith("float32")
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            grads = [p.grad.detach().numpy().copy() for p in model.parameters()]
            assert all(g.dtype == np.float32 for g in grads)
            scaler.step(opt)
            scaler.update()
            losses.append(float(loss.item()))
        results[lib.__name__] = losses, grads, [p.detach().numpy() for p in model.parameters()]
        assert all(str(p.dtype).endswith("float32") for p in model.parameters())
    (l_ours, g_ours, p_ours), (l_theirs, g_theirs, p_theirs) = results["tinygrad_lite"], \
        results["torch"]
    tol = 10 * TOL[lower]
    np.testing.assert_allclose(l_ours, l_theirs, rtol=tol, atol=tol)
    for a, b in zip(g_ours, g_theirs):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()))
    for a, b in zip(p_ours, p_theirs):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_grad_scaler_skips_the_step_on_inf_under_autocast():
    lin = tl.nn.Linear(6, 3)
    opt = tl.optim.SGD(lin.parameters(), lr=0.1)
    scaler = tl.amp.GradScaler("cpu", init_scale=2.0 ** 20)
    before = lin.weight.detach().numpy().copy()
    x = tl.tensor(A["x"] * 1e4, dtype=tl.float32)
    with tl.autocast("cpu", dtype=tl.float16):
        loss = (lin(x).float() ** 2).sum()
    scaler.scale(loss).backward()               # the half matmul's gradient overflows
    scaler.step(opt)
    scaler.update()
    np.testing.assert_array_equal(lin.weight.detach().numpy(), before)
    assert scaler.get_scale() == 2.0 ** 19


# -- the cuda half: torch's cuda lists, and the half kernels -------------------------------------
CUDA_DTYPES = {"matmul": "float16", "linear": "float16", "conv2d": "float16", "sdpa": "float16",
               "addmm": "float16", "mv": "float16", "softmax": "float32", "log_softmax": "float32",
               "layer_norm": "float32", "group_norm": "float32", "exp": "float32",
               "sum": "float32", "cumsum": "float32", "mse_loss": "float32",
               "cross_entropy": "float32", "relu": "float16", "batch_norm": "float16",
               "cosine_similarity": "float32", "add": "float32"}


@pytest.mark.parametrize("name", sorted(CUDA_DTYPES))
def test_cuda_lists(device, name):
    if device != "cuda":
        pytest.skip("the cuda lists apply to cuda tensors only")
    mode = "f32" if CUDA_DTYPES[name] == "float16" else "low"
    if name == "relu":
        mode = "low"            # runs in its input's dtype
    if name in ("add", "batch_norm"):
        mode = "mixed"
    ours = _run(tl, name, "float16", mode, device)
    assert not isinstance(ours, Exception), repr(ours)
    assert ours[0] == CUDA_DTYPES[name]
    with torch.autocast("cpu", dtype=torch.float16):   # the values: torch in the same precision
        ref = CASES[name](torch, TF, _maker(torch, "float16", mode), torch.tensor(TARGET))
    if ours[0] == "float32" and str(ref.dtype) != "torch.float32":
        ref = CASES[name](torch, TF, _maker(torch, "float32", "f32"), torch.tensor(TARGET))
    np.testing.assert_allclose(ours[1], ref.double().numpy(), rtol=1e-2, atol=1e-2)


def test_cuda_binary_cross_entropy_is_refused(device):
    if device != "cuda":
        pytest.skip("torch refuses it on cuda only")
    p = tl.tensor(A["p"], dtype=tl.float32, device=device)
    with tl.autocast("cuda"):
        with pytest.raises(RuntimeError, match="unsafe to autocast"):
            F.binary_cross_entropy(p, p)


def test_cuda_conv_and_attention_reach_the_half_kernels(device):
    if device != "cuda":
        pytest.skip("the kernels are cuda's")
    kernels.reset_stats()
    x = tl.tensor(rng.standard_normal((2, 4, 8, 8)), dtype=tl.float32, device=device)
    conv = tl.nn.Conv2d(4, 8, 3, padding=1).to(device)
    q = tl.tensor(rng.standard_normal((2, 2, 16, 32)), dtype=tl.float32, device=device,
                  requires_grad=True)
    with tl.autocast("cuda"):
        y = conv(x)
        o = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    assert y.dtype == tl.float16 and o.dtype == tl.float16
    (y.float().sum() + o.float().sum()).backward()
    assert conv.weight.grad.dtype == tl.float32 and q.grad.dtype == tl.float32
    stats = kernels.stats()
    assert stats.get("attention_forward", {}).get("kernel", 0) >= 1, stats
    assert any(k.startswith("conv2d") and v.get("kernel", 0) >= 1 for k, v in stats.items()), stats
