"""ConvBiasReluPool: conv2d + bias + ReLU + 2x2 max-pool as one op, and the nn.Sequential rule
that runs Conv2d, ReLU, MaxPool2d(2) through it.

The fused op pools before it applies the ReLU (exact: ReLU is monotone). It is
held to its composed reference (the three ops one by one) bit for bit in output, input and weight
gradients, and to rounding in the bias gradient (the same terms summed in another order); to
torch in float64 with random upstream gradients; to finite differences; and in float32 under
each conv algorithm at that algorithm's documented tolerance.
"""
import numpy as np
import pytest
from helpers import to_numpy, torch

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn
from tinygrad_lite.autograd import gradcheck, gradgradcheck
from tinygrad_lite.nn.functional.convolution import _conv_bias_relu_pool
from tinygrad_lite.ops import conv as K

TF = torch.nn.functional
TOL32 = {"direct": 5e-6, "winograd2": 5e-6, "winograd4": 1e-4}     # as test_conv_algorithms


@pytest.fixture
def switches():
    """Restores conv_algorithm and fuse_conv_relu_pool after the test."""
    before = (tl.backends.cpu.conv_algorithm, tl.backends.cpu.fuse_conv_relu_pool)
    yield tl.backends.cpu
    tl.backends.cpu.conv_algorithm, tl.backends.cpu.fuse_conv_relu_pool = before


def _inputs(n, c, h, w, k, dtype, seed=0, kernel=3, bias=True, groups=1):
    rng = np.random.default_rng(seed)
    cg = c // groups
    return (rng.standard_normal((n, c, h, w)).astype(dtype),
            (rng.standard_normal((k, cg, kernel, kernel)) / np.sqrt(cg * kernel * kernel))
            .astype(dtype),
            rng.standard_normal(k).astype(dtype) if bias else None)


def _run(fn, arrays, g, device="cpu"):
    """fn's output and the gradients of <fn(...), g> w.r.t. every array input."""
    ts = [None if a is None else tl.tensor(a, device=device, requires_grad=True) for a in arrays]
    y = fn(*ts)
    y.backward(tl.tensor(g, device=device))
    return [to_numpy(y)] + [to_numpy(t.grad) for t in ts if t is not None]


def _torch(arrays, g, geom):
    ts = [None if a is None else torch.from_numpy(a).requires_grad_(True) for a in arrays]
    y = TF.max_pool2d(TF.relu(TF.conv2d(*ts, **geom)), 2)
    y.backward(torch.from_numpy(g))
    return [to_numpy(y)] + [to_numpy(t.grad) for t in ts if t is not None]


def _fused(geom):
    return lambda x, w, b=None: _conv_bias_relu_pool(x, w, b, **geom)


def _composed(geom):
    return lambda x, w, b=None: F.max_pool2d(F.relu(F.conv2d(x, w, b, **geom)), 2)


def _upstream(arrays, geom, seed=1):
    x, w = arrays[:2]
    y = TF.max_pool2d(TF.conv2d(torch.from_numpy(x), torch.from_numpy(w), **geom), 2)
    return np.random.default_rng(seed).standard_normal(tuple(y.shape)).astype(x.dtype)


def _assert_as_reference(fused, ref, dtype):
    """Bit for bit but for the bias gradient, which sums in another order."""
    for i, (a, b) in enumerate(zip(fused, ref)):
        if i == 3:
            np.testing.assert_allclose(a, b, rtol=1e-12 if dtype == np.float64 else 1e-5,
                                       atol=1e-12 if dtype == np.float64 else 1e-5)
        else:
            np.testing.assert_array_equal(a, b)


SHAPES = [  # (n, c, h, w, k, geometry)
    (2, 3, 8, 8, 4, dict(padding=1)),
    (1, 1, 7, 9, 1, dict(padding=1)),                     # batch 1, one channel, odd sizes
    (3, 5, 11, 6, 7, dict(padding=0)),                    # odd conv output: the pool floors
    (2, 4, 12, 10, 6, dict(stride=2, padding=2, dilation=2, groups=2)),
]


@pytest.mark.parametrize("n,c,h,w,k,geom", SHAPES)
def test_fused_equals_reference_and_torch_float64(n, c, h, w, k, geom):
    arrays = _inputs(n, c, h, w, k, np.float64, groups=geom.get("groups", 1))
    g = _upstream(arrays, geom)
    fused = _run(_fused(geom), arrays, g)
    ref = _run(_composed(geom), arrays, g)
    _assert_as_reference(fused, ref, np.float64)
    for a, b in zip(fused, _torch(arrays, g, geom)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_fused_node_is_the_fused_op_and_reference_is_composed():
    arrays = _inputs(2, 3, 6, 6, 4, np.float64)
    xs = [tl.tensor(a, requires_grad=True) for a in arrays]
    y = _conv_bias_relu_pool(*xs, padding=1)
    assert type(y.grad_fn) is K.ConvBiasReluPool
    ref = K.conv_bias_relu_pool_reference(*xs, stride=(1, 1), padding=(1, 1, 1, 1),
                                          dilation=(1, 1), groups=1)
    assert type(ref.grad_fn) is K.MaxPool2d
    np.testing.assert_array_equal(to_numpy(y), to_numpy(ref))


def test_no_bias_and_the_bias_gradient_alone():
    arrays = _inputs(2, 3, 8, 8, 4, np.float64, bias=False)
    g = _upstream(arrays, dict(padding=1))
    fused = _run(_fused(dict(padding=1)), arrays, g)
    ref = _run(_composed(dict(padding=1)), arrays, g)
    _assert_as_reference(fused, ref, np.float64)
    x, w, b = (tl.tensor(a) for a in _inputs(2, 3, 8, 8, 4, np.float64))
    b.requires_grad_(True)
    _conv_bias_relu_pool(x, w, b, padding=1).sum().backward()
    tb = torch.from_numpy(b.detach().numpy()).requires_grad_(True)
    TF.max_pool2d(TF.relu(TF.conv2d(torch.from_numpy(x.numpy()), torch.from_numpy(w.numpy()), tb,
                                    padding=1)), 2).sum().backward()
    np.testing.assert_allclose(to_numpy(b.grad), to_numpy(tb.grad), rtol=1e-12)


def test_gradcheck_and_double_backward():
    rng = np.random.default_rng(5)
    x, w, b = (tl.tensor(rng.standard_normal(s), requires_grad=True)
               for s in ((2, 2, 6, 5), (3, 2, 3, 3), (3,)))
    fn = _fused(dict(padding=1))
    assert gradcheck(fn, (x, w, b), eps=1e-6, atol=1e-5)
    assert gradgradcheck(fn, (x, w, b), eps=1e-6, atol=1e-5)


def test_create_graph_matches_torch_second_order():
    arrays = _inputs(2, 3, 6, 6, 4, np.float64, seed=3)
    ours = [tl.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.from_numpy(a).requires_grad_(True) for a in arrays]
    y = _conv_bias_relu_pool(*ours, padding=1)
    (gx,) = tl.autograd.grad((y * y).sum(), [ours[0]], create_graph=True)
    (gx * gx).sum().backward()
    ty = TF.max_pool2d(TF.relu(TF.conv2d(*theirs, padding=1)), 2)
    (tgx,) = torch.autograd.grad((ty * ty).sum(), [theirs[0]], create_graph=True)
    (tgx * tgx).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(to_numpy(a.grad), to_numpy(b.grad), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("algo", ["direct", "winograd2", "winograd4"])
@pytest.mark.parametrize("c,k,hw", [(16, 32, 16), (32, 64, 13), (64, 16, 8)])
def test_float32_per_algorithm(switches, algo, c, k, hw):
    switches.conv_algorithm = algo
    arrays = _inputs(8, c, hw, hw, k, np.float32, seed=c)
    g = _upstream(arrays, dict(padding=1))
    fused = _run(_fused(dict(padding=1)), arrays, g)
    ref = _run(_composed(dict(padding=1)), arrays, g)
    _assert_as_reference(fused, ref, np.float32)
    exact = _torch([a.astype(np.float64) for a in arrays], g.astype(np.float64),
                   dict(padding=1))
    for a, b in zip(fused, exact):
        assert np.abs(a - b).max() <= TOL32[algo] * max(np.abs(b).max(), 1e-30)


def test_ties_made_by_the_bias_route_as_the_unfused_path():
    # 2^-30 and 2^-29 are distinct, but 1 + either rounds to 1.0 in float32: adding the bias
    # ties the window, and both paths send the gradient to its first position
    x = np.zeros((1, 1, 2, 2), np.float32)
    x[0, 0] = [[2.0 ** -30, 2.0 ** -29], [0.0, -1.0]]
    w = np.ones((1, 1, 1, 1), np.float32)
    b = np.ones(1, np.float32)
    g = np.ones((1, 1, 1, 1), np.float32)
    fused = _run(_fused({}), [x, w, b], g)
    ref = _run(_composed({}), [x, w, b], g)
    _assert_as_reference(fused, ref, np.float32)
    assert fused[1][0, 0, 0, 0] == 1.0 and fused[1][0, 0, 0, 1] == 0.0


def test_nan_and_inf_follow_the_unfused_path():
    arrays = list(_inputs(2, 2, 6, 6, 3, np.float64, seed=7))
    arrays[0][0, 0, 1, 1] = np.nan
    arrays[0][1, 1, 2, 3] = np.inf
    g = _upstream(arrays, dict(padding=1))
    fused = _run(_fused(dict(padding=1)), arrays, g)
    ref = _run(_composed(dict(padding=1)), arrays, g)
    for a, b in zip(fused[:3], ref[:3]):
        np.testing.assert_array_equal(a, b)


def _cnn(c=3, width=8, inplace=False, dtype=None):
    return nn.Sequential(nn.Conv2d(c, width, 3, padding=1, dtype=dtype),
                         nn.ReLU(inplace=inplace), nn.MaxPool2d(2),
                         nn.Conv2d(width, 2 * width, 3, padding=1, dtype=dtype),
                         nn.ReLU(inplace=inplace), nn.MaxPool2d(kernel_size=(2, 2), stride=2),
                         nn.Flatten(), nn.Linear(2 * width * 16, 5, dtype=dtype))


def _sequential_grads(model, x, fuse, switches):
    switches.fuse_conv_relu_pool = fuse
    model.zero_grad()
    xt = tl.tensor(x, requires_grad=True)
    y = model(xt)
    y.sum().backward()
    return [to_numpy(y), to_numpy(xt.grad)] + [to_numpy(p.grad) for p in model.parameters()]


def _fused_calls(monkeypatch):
    seen = []
    fwd = K.ConvBiasReluPool.forward

    def forward(self, *a, **k):
        seen.append(a[0].shape)
        return fwd(self, *a, **k)
    monkeypatch.setattr(K.ConvBiasReluPool, "forward", forward)
    return seen


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("train", [True, False])
def test_sequential_runs_fused_with_the_unfused_numbers(switches, monkeypatch, inplace, train):
    tl.manual_seed(0)
    model = _cnn(inplace=inplace, dtype=tl.float64).train(train)
    x = np.random.default_rng(2).standard_normal((3, 3, 16, 16))
    seen = _fused_calls(monkeypatch)
    fused = _sequential_grads(model, x, True, switches)
    assert len(seen) == 2
    unfused = _sequential_grads(model, x, False, switches)
    assert len(seen) == 2
    for i, (a, b) in enumerate(zip(fused, unfused)):
        # parameters: w1, b1, w2, b2, ...; the conv biases' gradients sum in another order
        if i in (3, 5):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
        else:
            np.testing.assert_array_equal(a, b)


def test_switch_rejects_non_bools(switches):
    with pytest.raises(TypeError, match="fuse_conv_relu_pool"):
        switches.fuse_conv_relu_pool = "yes"


@pytest.mark.parametrize("where", ["forward_hook", "pre_hook", "backward_hook"])
@pytest.mark.parametrize("which", [0, 1, 2])
def test_sequential_with_hooks_falls_back(switches, monkeypatch, where, which):
    model = _cnn(dtype=tl.float64)
    seen = _fused_calls(monkeypatch)
    calls = []
    m = model[which]
    if where == "forward_hook":
        m.register_forward_hook(lambda mod, args, out: calls.append(type(mod).__name__))
    elif where == "pre_hook":
        m.register_forward_pre_hook(lambda mod, args: calls.append(type(mod).__name__))
    else:
        m.register_full_backward_hook(lambda mod, gi, go: calls.append(type(mod).__name__))
    model(tl.tensor(np.ones((1, 3, 16, 16)), requires_grad=True)).sum().backward()
    assert calls == [type(m).__name__]
    assert len(seen) == 1           # the second block has no hooks and still runs fused


def test_rule_needs_the_exact_pattern(switches, monkeypatch):
    seen = _fused_calls(monkeypatch)
    x = tl.tensor(np.ones((1, 2, 8, 8), np.float32))
    for tail in ([nn.ReLU(), nn.MaxPool2d(2, padding=1)], [nn.ReLU(), nn.MaxPool2d(3)],
                 [nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True)], [nn.ReLU(), nn.MaxPool2d(2, 1)],
                 [nn.ReLU(), nn.AvgPool2d(2)], [nn.GELU(), nn.MaxPool2d(2)],
                 [nn.MaxPool2d(2), nn.ReLU()]):
        nn.Sequential(nn.Conv2d(2, 3, 3), *tail)(x)
    nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), nn.ReLU(),
                  nn.MaxPool2d(2))(x)
    assert seen == []
    nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.MaxPool2d(2))(x)
    assert len(seen) == 1
    # an output smaller than the pool window: max_pool2d's own error, as unfused
    with pytest.raises(RuntimeError, match="max_pool2d"):
        nn.Sequential(nn.Conv2d(2, 3, 8), nn.ReLU(), nn.MaxPool2d(2))(x)


def test_switch_off_profiler_and_anomaly_see_the_three_modules(switches, monkeypatch):
    model = _cnn(dtype=tl.float64)
    seen = _fused_calls(monkeypatch)
    x = tl.tensor(np.ones((1, 3, 16, 16)))
    with tl.autograd.profile() as prof:
        model(x).sum().backward()
    names = {s.name for s in prof.key_averages()}
    assert {"Conv2d", "Relu", "MaxPool2d"} <= names and "ConvBiasReluPool" not in names
    with tl.autograd.detect_anomaly():
        model(x).sum().backward()
    switches.fuse_conv_relu_pool = False
    model(x).sum().backward()
    assert seen == []


def test_cuda_device_falls_back(device, monkeypatch):
    seen = _fused_calls(monkeypatch)
    model = _cnn(dtype=tl.float64).to(device)
    x = np.random.default_rng(0).standard_normal((2, 3, 16, 16))
    y = model(tl.tensor(x, device=device))
    assert len(seen) == (2 if device == "cpu" else 0)
    cpu = _cnn(dtype=tl.float64)
    cpu.load_state_dict({k: to_numpy(v) for k, v in model.state_dict().items()})
    np.testing.assert_allclose(to_numpy(y), to_numpy(cpu(tl.tensor(x))), rtol=1e-10, atol=1e-12)


def test_mixed_dtypes_and_unbatched_inputs_fall_back(monkeypatch):
    seen = _fused_calls(monkeypatch)
    w = tl.tensor(np.ones((2, 1, 3, 3), np.float32))
    with pytest.raises(TypeError, match="conv2d: input, weight and bias must share"):
        _conv_bias_relu_pool(tl.tensor(np.ones((1, 1, 6, 6), np.float64)), w)
    y = _conv_bias_relu_pool(tl.tensor(np.ones((1, 6, 6), np.float32)), w)
    assert tuple(y.shape) == (2, 2, 2) and seen == []


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("hw", [(8, 8), (7, 9)])
def test_max_pool2_fast_path_ties_and_indices_match_torch(layout, hw):
    # integers in a small range tie often; torch takes a window's first max, as the fast path's
    # ne0 * (1 + ne1 * (1 + ne2)) does; -inf windows and an odd edge (floor mode) too
    rng = np.random.default_rng(9)
    a = rng.integers(-2, 2, size=(3, 5) + hw).astype(np.float32)
    a[0, 0, :2, :2] = -np.inf
    x = np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2) \
        if layout == "nhwc" else a
    xt = tl.tensor(x, requires_grad=True)
    y, idx = F.max_pool2d(xt, 2, return_indices=True)
    g = rng.standard_normal(tuple(y.shape)).astype(np.float32)
    y.backward(tl.tensor(g))
    tt = torch.from_numpy(a).requires_grad_(True)
    ty, tidx = TF.max_pool2d(tt, 2, return_indices=True)
    ty.backward(torch.from_numpy(g))
    np.testing.assert_array_equal(to_numpy(y), to_numpy(ty))
    np.testing.assert_array_equal(to_numpy(idx), to_numpy(tidx))
    np.testing.assert_array_equal(to_numpy(xt.grad), to_numpy(tt.grad))


@pytest.mark.parametrize("lower", ["float16", "bfloat16"])
def test_autocast_runs_the_three_modules_with_torchs_dtypes(lower):
    """Inside autocast the conv is cast by autocast's lists, so the Sequential rule stands aside
    and the result has torch's dtype and values."""
    tl.manual_seed(0)
    ours = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                                 torch.nn.MaxPool2d(2))
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    with tl.autocast("cpu", dtype=getattr(tl, lower)):
        y = ours(tl.tensor(x))
    with torch.autocast("cpu", dtype=getattr(torch, lower)):
        want = theirs(torch.tensor(x))
    assert y.dtype.name == str(want.dtype).replace("torch.", "")
    np.testing.assert_allclose(y.detach().float().numpy(), want.detach().float().numpy(),
                               rtol=2e-2, atol=2e-2)
