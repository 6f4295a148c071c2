"""functions_math.py against PyTorch: addcmul/addcdiv, nan-aware reductions, order statistics,
quantile, logaddexp/xlogy/logit/logcumsumexp (also at extreme inputs), scans, bit operations,
in-place forms, and the seeded random fills (reproducible, in range, right mean)."""
import math

import numpy as np
import pytest
import torch

import tinygrad_lite as tl
from helpers import assert_close, check_hvp_vs_torch, check_vs_torch, make, to_torch

DTYPES = [np.float64, np.float32]


def _lib(x):
    return tl if isinstance(x, tl.Tensor) else torch


def _pos(x):
    return x.abs() + 0.25


def _unit(x):
    """(-2, 2) -> (0.05, 0.95), differentiably."""
    return x.sigmoid() * 0.9 + 0.05


def _values(out):
    return out[0]


# name -> (fn working on both libraries, input shapes)
SMOOTH = {
    "addcmul": (lambda x, a, b: _lib(x).addcmul(x, a, b, value=0.5), [(3, 4), (3, 4), (4,)]),
    "addcmul_method": (lambda x, a, b: x.addcmul(a, b), [(3, 4), (1, 4), (3, 1)]),
    "addcdiv": (lambda x, a, b: _lib(x).addcdiv(x, a, _pos(b), value=-2), [(3, 4), (3, 4),
                                                                          (3, 4)]),
    "float_power": (lambda x: _lib(x).float_power(_pos(x), 1.7), [(3, 4)]),
    "float_power_tensor": (lambda x, e: _pos(x).float_power(e), [(3, 4), (4,)]),
    "logaddexp": (lambda a, b: _lib(a).logaddexp(a * 3, b), [(3, 4), (4,)]),
    "logaddexp2": (lambda a, b: a.logaddexp2(b * 3), [(3, 4), (3, 4)]),
    "xlogy": (lambda a, b: _lib(a).xlogy(a, _pos(b)), [(3, 4), (3, 4)]),
    "sinc": (lambda x: _lib(x).sinc(x), [(3, 4)]),
    "deg2rad": (lambda x: x.deg2rad() * x, [(3, 4)]),
    "rad2deg": (lambda x: _lib(x).rad2deg(x) * x, [(3, 4)]),
    "logit": (lambda x: _lib(x).logit(_unit(x)), [(3, 4)]),
    "logit_eps": (lambda x: _unit(x).logit(eps=0.2), [(3, 4)]),
    "logcumsumexp": (lambda x: _lib(x).logcumsumexp(x * 3, 1), [(3, 5)]),
    "logcumsumexp_dim0": (lambda x: (x * x).logcumsumexp(-3), [(4, 2, 3)]),
    "renorm": (lambda x: _lib(x).renorm(x, 2, 0, 1.5), [(3, 4)]),
    "renorm_p1": (lambda x: x.renorm(1, 1, 2.0), [(3, 4, 2)]),
    "true_divide": (lambda a, b: _lib(a).true_divide(a, _pos(b)), [(3, 4), (4,)]),
}

PIECEWISE = {
    "median": (lambda x: x.median(), [(3, 5)]),
    "median_dim": (lambda x: _values(_lib(x).median(x, 1)), [(3, 5)]),
    "median_even_keep": (lambda x: _lib(x).median(x, 0, keepdim=True), [(4, 3)]),
    "nanmedian_dim": (lambda x: x.nanmedian(-1), [(3, 4)]),
    "kthvalue": (lambda x: _lib(x).kthvalue(x, 2, 1), [(3, 5)]),
    "kthvalue_keep": (lambda x: x.kthvalue(3, 0, keepdim=True), [(4, 3)]),
    "cummax": (lambda x: _lib(x).cummax(x, 1), [(3, 6)]),
    "cummin": (lambda x: x.cummin(0), [(5, 3)]),
    "clamp_min": (lambda x: _lib(x).clamp_min(x, -0.5), [(3, 4)]),
    "clamp_max": (lambda x: x.clamp_max(0.5), [(3, 4)]),
    "frac": (lambda x: _lib(x).frac(x * 3), [(3, 4)]),
    "absolute": (lambda x: _lib(x).absolute(x), [(3, 4)]),
    "quantile": (lambda x: _lib(x).quantile(x, 0.3), [(3, 5)]),
    "quantile_dim": (lambda x: x.quantile(0.75, dim=1, keepdim=True), [(3, 5)]),
    "nanquantile": (lambda x: _lib(x).nanquantile(x, 0.4, dim=0), [(4, 3)]),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", sorted(SMOOTH) + sorted(PIECEWISE))
def test_matches_torch(name, dtype, device):
    fn, shapes = SMOOTH[name] if name in SMOOTH else PIECEWISE[name]
    check_vs_torch(fn, shapes, dtype=dtype, device=device, away_from=[0.0, -0.5, 0.5])


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_second_derivative_matches_torch(name, device):
    fn, shapes = SMOOTH[name]
    check_hvp_vs_torch(fn, shapes, device=device, away_from=[0.0])


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_quantile_interpolations_and_q_tensor(interpolation, dtype, device):
    q = tl.tensor([0.0, 0.25, 0.5, 0.9, 1.0], dtype=dtype, device=device)
    qt = torch.from_numpy(q.numpy())

    def fn(x):
        qq = q if isinstance(x, tl.Tensor) else qt
        return (_lib(x).quantile(x, qq, dim=1, interpolation=interpolation),
                x.quantile(0.5, interpolation=interpolation),
                x.nanquantile(qq, dim=0, keepdim=True, interpolation=interpolation))
    check_vs_torch(fn, [(3, 6)], dtype=dtype, device=device)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_nan_aware_ops_match_torch(dtype, device):
    a = np.random.default_rng(3).uniform(-2, 2, (4, 5))
    a[0, 1] = a[2, 3] = np.nan
    a[1, 0], a[3, 4] = np.inf, -np.inf
    a[:, 2] = np.nan
    x = tl.tensor(a.astype(dtype), device=device, requires_grad=True)

    def fn(x):
        lib = _lib(x)
        fin = lib.nan_to_num(x, posinf=9.0, neginf=-9.0)    # finite but for nan
        return (lib.nan_to_num(x, posinf=8.0, neginf=-7.0) * 0.5,
                x.nan_to_num(nan=1.5, posinf=3.0, neginf=-3.0),
                lib.nansum(fin), fin.nansum(1, keepdim=True), lib.nanmean(fin, 0),
                x.nanmedian(1)[0], lib.nanquantile(fin, 0.3, dim=1),
                x.quantile(0.5, dim=0), x.median(0).values, x.nanmedian())
    check_vs_torch(fn, inputs=[x], dtype=dtype, device=device)
    assert_close(tl.nan_to_num(x.detach()), torch.nan_to_num(to_torch(x.detach())), dtype)


def test_median_ties_split_the_gradient_and_pick_the_lower_median(device):
    a = np.array([[2.0, 1.0, 2.0, 1.0, 3.0, 2.0], [4.0, 4.0, 1.0, 1.0, 0.0, 5.0]])
    check_vs_torch(lambda x: x.median(), inputs=[tl.tensor(a, device=device,
                                                         requires_grad=True)])
    check_vs_torch(lambda x: _lib(x).nanmedian(x), inputs=[tl.tensor(a, device=device,
                                                                      requires_grad=True)])
    ours, theirs = tl.tensor(a, device=device).median(1), torch.from_numpy(a).median(1)
    assert_close(ours.values, theirs.values)
    assert_close(ours.indices, theirs.indices)     # the first of the tied values, as torch


def test_mode_matches_torch(device):
    a = np.array([[1.0, 2.0, 2.0, 1.0, 3.0, 1.0], [4.0, 4.0, 4.0, 5.0, 5.0, 5.0],
                  [0.5, -1.0, 0.5, 0.0, -1.0, 7.0]])
    for fn in (lambda x: _lib(x).mode(x, 1), lambda x: x.mode(0, keepdim=True),
               lambda x: x.mode()):
        check_vs_torch(fn, inputs=[tl.tensor(a, device=device, requires_grad=True)])


def test_cummax_ties_and_nan_follow_torch(device):
    a = np.array([1.0, 3.0, 3.0, 2.0, 3.0, np.nan, 1.0, np.nan, 5.0])
    for name in ("cummax", "cummin"):
        ours = getattr(tl.tensor(a, device=device), name)(0)
        theirs = getattr(torch.from_numpy(a), name)(0)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


def test_extreme_inputs(device):
    big = [1e4, -1e4, 0.0, 1e4, -1e4, 3.0, 1e308]
    a = np.array(big + [np.inf, -np.inf, -np.inf, np.inf])
    b = np.array([1e4, 1e4, -1e4, -1e4, -1e4, 0.0, 1e308, np.inf, -np.inf, 3.0, -np.inf])
    ta, tb = tl.tensor(a, device=device), tl.tensor(b, device=device)
    pa, pb = torch.from_numpy(a), torch.from_numpy(b)
    assert_close(tl.logaddexp(ta, tb), torch.logaddexp(pa, pb))
    assert_close(tl.logaddexp2(ta, tb), torch.logaddexp2(pa, pb))
    assert_close(tl.logcumsumexp(ta, 0), torch.logcumsumexp(pa, 0))
    assert_close(tl.logcumsumexp(-tb, 0), torch.logcumsumexp(-pb, 0))
    x = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 1e4, -3.0, 0.0])
    y = np.array([0.0, -1.0, np.nan, np.inf, 0.0, np.inf, 1e-300, 1e300, 2.0])
    assert_close(tl.xlogy(tl.tensor(x, device=device), tl.tensor(y, device=device)),
                 torch.xlogy(torch.from_numpy(x), torch.from_numpy(y)))
    assert_close(tl.xlogy(0.0, tl.tensor(y, device=device)), torch.xlogy(0.0, torch.from_numpy(y)))
    p = np.array([0.0, 1.0, 1e-300, 1 - 1e-16, 0.5, 1e-4])
    for eps in (None, 1e-6):
        assert_close(tl.logit(tl.tensor(p, device=device), eps),
                     torch.logit(torch.from_numpy(p), eps))
    # gradients at large but finite inputs
    fin = tl.tensor([1e4, -1e4, 0.0, 1e4, -1e4, 3.0], dtype=tl.float64, device=device)
    other = tl.tensor([1e4, 1e4, -1e4, -1e4, 0.0, 1e4], dtype=tl.float64, device=device)
    for fn in (lambda u, v: _lib(u).logaddexp(u, v), lambda u, v: u.logaddexp2(v),
               lambda u, v: _lib(u).logcumsumexp(u, 0) + v.logcumsumexp(0)):
        check_vs_torch(fn, inputs=[fin.clone().requires_grad_(), other.clone().requires_grad_()])
    check_vs_torch(lambda u: u.logit(eps=1e-3), inputs=[tl.tensor(p, device=device,
                                                                   requires_grad=True)])
    zx = tl.tensor([0.0, 0.0, 1.5, 0.0], dtype=tl.float64, device=device,
                    requires_grad=True)
    zy = tl.tensor(np.array([2.0, 0.5, 3.0, 1e-200]), device=device, requires_grad=True)
    check_vs_torch(lambda u, v: _lib(u).xlogy(u, v), inputs=[zx, zy])


@pytest.mark.parametrize("fn", [lambda a, b: a.logaddexp(b), lambda a, b: a.xlogy(b.abs() + 0.5),
                                lambda a, b: (a.sigmoid() * 0.8 + 0.1).logit() * b,
                                lambda a, b: a.logcumsumexp(1) * b, lambda a, b: a.sinc() + b,
                                lambda a, b: a.cummax(1).values * b,
                                lambda a, b: a.quantile(0.3, dim=1, keepdim=True) * b,
                                lambda a, b: a.renorm(2, 0, 1.0) * b],
                         ids=["logaddexp", "xlogy", "logit", "logcumsumexp", "sinc", "cummax",
                              "quantile", "renorm"])
def test_gradcheck_float64(fn, device):
    a = make((3, 4), device=device, rng=np.random.default_rng(4))
    b = make((3, 4), device=device, rng=np.random.default_rng(5))
    assert tl.autograd.gradcheck(fn, (a, b))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_inplace_forms_match_torch(dtype, device):
    def fn(x, a, b):
        # a fresh tensor before each op whose backward needs its own output (torch checks that)
        y = x * 1.0
        y.abs_().add_(0.5).log_()
        y = y * 1.0
        y.sigmoid_()
        y = y * 3.0
        y.tanh_()
        y = y * 1.0
        y.clamp_min_(0.2).clamp_max_(0.9)
        y.addcmul_(a, b, value=0.5).addcdiv_(a, b.abs() + 1.0, value=2.0)
        y = y.abs() * 1.0
        y.sqrt_()
        y = y * 1.0
        y.exp_()
        y = y * 1.0
        return y.neg_().relu_() + y * x
    check_vs_torch(fn, [(3, 4), (3, 4), (4,)], dtype=dtype, device=device)
    z = tl.tensor([np.nan, np.inf, 1.0], dtype=dtype, device=device)
    z.nan_to_num_(posinf=2.0)
    assert z.tolist() == [0.0, 2.0, 1.0]


def test_non_differentiable_ops_match_torch(device):
    a = np.array([[-2.5, -0.0, 0.0, 1.5], [np.inf, -np.inf, np.nan, 3.0]])
    x, t = tl.tensor(a, device=device), torch.from_numpy(a)
    i = np.array([[5, -3, 0, 12], [7, 1, 0, -8]])
    xi, ti = tl.tensor(i, device=device), torch.from_numpy(i)
    bx, bt = xi > 0, ti > 0
    vals = tl.tensor([0.5, 0.25, 0.75, 1.0], dtype=tl.float64, device=device)
    pairs = [(tl.count_nonzero(x), torch.count_nonzero(t)),
             (x.count_nonzero(1), t.count_nonzero(1)), (xi.count_nonzero((0, 1)),
                                                          ti.count_nonzero((0, 1))),
             (tl.signbit(x), torch.signbit(t)), (xi.signbit(), ti.signbit()),
             (tl.isposinf(x), torch.isposinf(t)), (x.isneginf(), t.isneginf()),
             (tl.heaviside(x, vals), torch.heaviside(t, torch.from_numpy(vals.numpy()))),
             (tl.bitwise_and(xi, 6), torch.bitwise_and(ti, 6)),
             (xi.bitwise_or(3), ti.bitwise_or(3)),
             (tl.bitwise_xor(xi, xi * 2), torch.bitwise_xor(ti, ti * 2)),
             (tl.bitwise_not(xi), torch.bitwise_not(ti)), (bx.bitwise_not(), bt.bitwise_not()),
             (tl.bitwise_and(bx, xi < 6), torch.bitwise_and(bt, ti < 6)),
             (xi & 6, ti & 6), (xi | 1, ti | 1), (xi ^ 5, ti ^ 5), (~xi, ~ti),
             (tl.trunc(x * 1.7), torch.trunc(t * 1.7)), (tl.fix(x * 1.7), torch.fix(t * 1.7)),
             ((x * 1.7).fix(), (t * 1.7).fix()), (xi.isposinf(), ti.isposinf())]
    for k, (ours, theirs) in enumerate(pairs):
        assert not ours.requires_grad, k
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (k, ours.dtype)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=str(k))
    assert tl.is_floating_point(x) and not tl.is_floating_point(xi)
    assert x.is_floating_point() and not xi.is_floating_point()


def test_logspace_and_dropout_follow_torch(device):
    assert_close(tl.logspace(-2, 3, 7, dtype=tl.float64, device=device),
                 torch.logspace(-2, 3, 7, dtype=torch.float64))
    assert_close(tl.logspace(0, 4, 5, base=2.0), torch.logspace(0, 4, 5, base=2.0),
                 dtype=np.float32)
    assert tl.logspace(0, 1, 3).dtype == tl.float32
    x = tl.ones(200, 500, device=device)
    tl.manual_seed(1)
    y = tl.dropout(x, 0.25, True)
    kept = (y.numpy() != 0).mean()
    assert abs(kept - 0.75) < 0.01 and np.allclose(y.numpy()[y.numpy() != 0], 1 / 0.75)
    assert tl.dropout(x, 0.25, False) is x


N = 100_000


def _fill(method, *args, dtype=tl.float32, shape=(N,), device="cpu", **kwargs):
    t = tl.zeros(*shape, dtype=dtype, device=device)
    out = getattr(t, method)(*args, **kwargs)
    assert out is t and t.shape == shape and t.dtype == dtype
    return t.numpy().astype(np.float64)


def _near(sample, mean, sd, k=5.0):
    se = sd / math.sqrt(sample.size)
    assert abs(sample.mean() - mean) < k * se, (sample.mean(), mean, se)


def test_random_fills_have_the_right_distribution(device):
    tl.manual_seed(7)
    b = _fill("bernoulli_", 0.3, device=device)
    assert set(np.unique(b)) <= {0.0, 1.0}
    _near(b, 0.3, math.sqrt(0.21))
    p = tl.tensor([[0.2], [0.9]], device=device)
    bt = _fill("bernoulli_", p, shape=(2, N // 2), device=device, dtype=tl.int64)
    _near(bt[0], 0.2, 0.4)
    _near(bt[1], 0.9, 0.3)
    probs = tl.full((N,), 0.6, device=device)
    draws = tl.bernoulli(probs)
    assert draws.dtype == tl.float32 and not draws.requires_grad
    _near(draws.numpy(), 0.6, math.sqrt(0.24))
    _near(probs.bernoulli().numpy(), 0.6, math.sqrt(0.24))
    e = _fill("exponential_", 2.0, device=device, dtype=tl.float64)
    assert e.min() >= 0
    _near(e, 0.5, 0.5)
    r = _fill("random_", 3, 10, device=device, dtype=tl.int64)
    assert r.min() == 3 and r.max() == 9
    _near(r, 6.0, math.sqrt((7 ** 2 - 1) / 12))
    r5 = _fill("random_", 5, device=device, dtype=tl.int32)
    assert r5.min() == 0 and r5.max() == 4
    rf = _fill("random_", device=device)
    assert rf.min() >= 0 and rf.max() <= 2 ** 24 and np.all(rf == np.round(rf))
    rk = _fill("random_", to=4, device=device, **{"from": 2})
    assert set(np.unique(rk)) == {2.0, 3.0}
    c = _fill("cauchy_", 1.0, 0.5, device=device)
    assert abs(np.median(c) - 1.0) < 5 * math.pi * 0.5 / (2 * math.sqrt(N))
    ln = _fill("log_normal_", 0.0, 0.5, device=device, dtype=tl.float64)
    assert ln.min() > 0
    _near(ln, math.exp(0.125), math.sqrt((math.exp(0.25) - 1) * math.exp(0.25)))
    g = _fill("geometric_", 0.25, device=device)
    assert g.min() >= 1 and np.all(g == np.round(g))
    _near(g, 4.0, math.sqrt(0.75) / 0.25)
    rates = tl.full((N,), 3.0, dtype=tl.float64, device=device)
    ps = tl.poisson(rates)
    assert ps.dtype == tl.float64 and ps.shape == (N,)
    _near(ps.numpy(), 3.0, math.sqrt(3.0))
    ri = tl.randint_like(rates, 2, 8)
    assert ri.dtype == tl.float64 and ri.numpy().min() == 2 and ri.numpy().max() == 7
    assert tl.randint_like(rates, 3, dtype=tl.int64).numpy().max() == 2


def test_random_fills_follow_manual_seed(device):
    def draw():
        t = tl.empty(50, device=device)
        return np.concatenate([
            t.bernoulli_(0.5).numpy().copy(), t.exponential_().numpy().copy(),
            t.random_(0, 100).numpy().copy(), t.cauchy_().numpy().copy(),
            t.log_normal_().numpy().copy(), t.geometric_(0.5).numpy().copy(),
            tl.poisson(t.abs()).numpy(), tl.bernoulli(t.sigmoid()).numpy(),
            tl.randint_like(t, 10).numpy()])
    tl.manual_seed(123)
    first = draw()
    tl.manual_seed(123)
    np.testing.assert_array_equal(first, draw())
    assert not np.array_equal(first, draw())


def test_bad_inputs_name_the_op(device):
    x = tl.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    i = tl.tensor([1, 2], device=device)
    cases = [
        (TypeError, "addcdiv", lambda: tl.addcdiv(x, i, i)),
        (TypeError, "addcmul", lambda: tl.addcmul([1.0], x, x)),
        (TypeError, "addcmul", lambda: x.addcmul(x, x, value="2")),
        (ValueError, "quantile", lambda: x.quantile(1.5)),
        (ValueError, "quantile", lambda: x.quantile(0.5, interpolation="cubic")),
        (ValueError, "quantile", lambda: tl.quantile(tl.zeros(0), 0.5)),
        (ValueError, "nanquantile", lambda: x.nanquantile(tl.tensor([[0.5]], device=device))),
        (TypeError, "quantile", lambda: i.quantile(0.5)),
        (ValueError, "kthvalue", lambda: x.kthvalue(3, 1)),
        (TypeError, "kthvalue", lambda: x.kthvalue(1.5)),
        (IndexError, "median", lambda: tl.zeros(2, 0).median(1)),   # tl.zeros(0): nan, as torch
        (IndexError, "mode", lambda: x.mode(2)),
        (TypeError, "median", lambda: tl.median([1.0, 2.0])),
        (TypeError, "bitwise_and", lambda: x.bitwise_and(x)),
        (TypeError, "bitwise_or", lambda: i.bitwise_or(1.5)),
        (TypeError, "bitwise_not", lambda: tl.bitwise_not(x)),
        (TypeError, "heaviside", lambda: tl.heaviside(x, i)),
        (ValueError, "heaviside", lambda: tl.heaviside(x, tl.zeros(3, dtype=tl.float32,
                                                                   device=device))),
        (ValueError, "logit", lambda: x.logit(eps=0.7)),
        (ValueError, "logaddexp", lambda: x.logaddexp(tl.zeros(3, device=device))),
        (TypeError, "xlogy", lambda: tl.xlogy(x, "a")),
        (TypeError, "frac", lambda: i.frac()),
        (ValueError, "renorm", lambda: x.renorm(0, 0, 1.0)),
        (ValueError, "renorm", lambda: x.renorm(2, 0, -1.0)),
        (TypeError, "nanmean", lambda: i.nanmean()),
        (TypeError, "exponential_", lambda: tl.zeros(3, dtype=tl.int64).exponential_()),
        (ValueError, "exponential_", lambda: tl.zeros(3).exponential_(-1.0)),
        (ValueError, "bernoulli_", lambda: tl.zeros(3).bernoulli_(1.5)),
        (ValueError, "bernoulli_", lambda: tl.zeros(3).bernoulli_(tl.full((2,), 0.5))),
        (ValueError, "random_", lambda: tl.zeros(3).random_(5, 2)),
        (TypeError, "random_", lambda: tl.zeros(3).random_(1, 2, 3)),
        (ValueError, "geometric_", lambda: tl.zeros(3).geometric_(1.5)),
        (ValueError, "cauchy_", lambda: tl.zeros(3).cauchy_(0.0, -1.0)),
        (ValueError, "log_normal_", lambda: tl.zeros(3).log_normal_(0.0, 0.0)),
        (ValueError, "poisson", lambda: tl.poisson(tl.tensor([-1.0]))),
        (ValueError, "randint_like", lambda: tl.randint_like(x, 5, 2)),
        (ValueError, "logspace", lambda: tl.logspace(0, 1, -2)),
    ]
    for k, (err, op, fn) in enumerate(cases):
        with pytest.raises(err, match=op):
            fn()


def test_grad_reaches_chosen_elements_only(device):
    x = tl.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], device=device, requires_grad=True)
    (x.kthvalue(2, 1).values.sum() + x.cummax(1).values[:, -1].sum()).backward()
    want = torch.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], requires_grad=True)
    (want.kthvalue(2, 1).values.sum() + want.cummax(1).values[:, -1].sum()).backward()
    assert_close(x.grad, want.grad)
