"""Issue 14's added ops against PyTorch (float64 and float32, on every test device): the
linalg norms, special functions, scatter_reduce, searching helpers, pointwise binaries,
NumPy-style aliases, tl.special, and hardshrink/softshrink as F. and nn. modules."""
import math

import numpy as np
import pytest
import torch

import tinygrad_lite as tl
from helpers import assert_close, check_vs_torch, to_torch

DTYPES = [np.float64, np.float32]
INF = math.inf


def _lib(x):
    return tl if isinstance(x, tl.Tensor) else torch


def _F(x):
    return tl.nn.functional if isinstance(x, tl.Tensor) else torch.nn.functional


def _pos(x):
    return x.abs() + 0.3


# name -> (fn on both libraries, input shapes)
DIFFERENTIABLE = {
    "vector_norm_2": (lambda x: _lib(x).linalg.vector_norm(x), [(3, 4)]),
    "vector_norm_dims": (lambda x: _lib(x).linalg.vector_norm(x, 3.5, (0, 2), True),
                         [(3, 4, 2)]),
    "vector_norm_1": (lambda x: _lib(x).linalg.vector_norm(x, 1, -1), [(3, 4)]),
    "vector_norm_neg": (lambda x: _lib(x).linalg.vector_norm(x, -1.5, 0), [(3, 4)]),
    "vector_norm_inf": (lambda x: _lib(x).linalg.vector_norm(x, INF, 1), [(3, 4)]),
    "vector_norm_ninf": (lambda x: _lib(x).linalg.vector_norm(x, -INF), [(3, 4)]),
    "vector_norm_0": (lambda x: _lib(x).linalg.vector_norm(x, 0, 1), [(3, 4)]),
    "matrix_norm_fro": (lambda x: _lib(x).linalg.matrix_norm(x), [(2, 3, 4)]),
    "matrix_norm_nuc": (lambda x: _lib(x).linalg.matrix_norm(x, "nuc"), [(2, 3, 4)]),
    "matrix_norm_2": (lambda x: _lib(x).linalg.matrix_norm(x, 2, (0, 2), True), [(3, 2, 4)]),
    "matrix_norm_m2": (lambda x: _lib(x).linalg.matrix_norm(x, -2), [(4, 3)]),
    "matrix_norm_1": (lambda x: _lib(x).linalg.matrix_norm(x, 1), [(2, 3, 4)]),
    "matrix_norm_m1": (lambda x: _lib(x).linalg.matrix_norm(x, -1, keepdim=True), [(3, 4)]),
    "matrix_norm_inf": (lambda x: _lib(x).linalg.matrix_norm(x, INF, (2, 0)), [(3, 2, 4)]),
    "matrix_norm_ninf": (lambda x: _lib(x).linalg.matrix_norm(x, -INF), [(3, 4)]),
    "linalg_norm": (lambda x: _lib(x).linalg.norm(x), [(3, 4, 2)]),
    "linalg_norm_ord": (lambda x: _lib(x).linalg.norm(x, 3, 1), [(3, 4, 2)]),
    "linalg_norm_matrix": (lambda x: _lib(x).linalg.norm(x, "nuc"), [(3, 4)]),
    "linalg_norm_dims": (lambda x: _lib(x).linalg.norm(x, dim=(0, 1)), [(3, 4, 2)]),
    "svdvals": (lambda x: _lib(x).linalg.svdvals(x), [(2, 5, 3)]),
    "erfinv": (lambda x: _lib(x).erfinv(x * 0.45), [(3, 4)]),
    "lgamma": (lambda x: _lib(x).lgamma(x), [(3, 4)]),
    "digamma": (lambda x: x.digamma(), [(3, 4)]),
    "polygamma_1": (lambda x: _lib(x).polygamma(1, _pos(x)), [(3, 4)]),
    "polygamma_2": (lambda x: _pos(x).polygamma(2), [(3, 4)]),
    "mvlgamma": (lambda x: _lib(x).mvlgamma(_pos(x) + 2, 3), [(3, 4)]),
    "i0": (lambda x: _lib(x).i0(x), [(3, 4)]),
    "fmax": (lambda a, b: _lib(a).fmax(a, b), [(3, 4), (4,)]),
    "fmin": (lambda a, b: a.fmin(b), [(3, 4), (3, 4)]),
    "copysign": (lambda a, b: _lib(a).copysign(a, b), [(3, 4), (4,)]),
    "ldexp": (lambda a, b: _lib(a).ldexp(a, b), [(3, 4), (4,)]),
    "frexp": (lambda x: _lib(x).frexp(x * 5), [(3, 4)]),
    "hardshrink": (lambda x: _F(x).hardshrink(x, 0.7), [(3, 4)]),
    "hardshrink_method": (lambda x: x.hardshrink(), [(3, 4)]),
    "softshrink": (lambda x: _F(x).softshrink(x, 0.7), [(3, 4)]),
    "addmv": (lambda a, m, v: _lib(a).addmv(a, m, v, beta=0.5, alpha=2), [(3,), (3, 4), (4,)]),
    "addr": (lambda a, u, v: a.addr(u, v, alpha=-1.5), [(3, 1), (3,), (4,)]),
    "vdot": (lambda a, b: _lib(a).vdot(a, b), [(5,), (5,)]),
    "cov": (lambda x: _lib(x).cov(x), [(3, 6)]),
    "cov_1d": (lambda x: x.cov(correction=0), [(6,)]),
    "corrcoef": (lambda x: _lib(x).corrcoef(x), [(3, 6)]),
    "aminmax": (lambda x: _lib(x).aminmax(x, dim=1), [(3, 4)]),
    "aminmax_all": (lambda x: x.aminmax(keepdim=True), [(3, 4)]),
    "ravel": (lambda x: _lib(x).ravel(x.mT), [(3, 4)]),
    "clip": (lambda x: _lib(x).clip(x, -0.5, 0.7), [(3, 4)]),
    "multiply": (lambda a, b: _lib(a).multiply(a, b), [(3, 4), (4,)]),
    "multiply_method": (lambda a, b: a.multiply(b), [(3, 4), (4,)]),
    "subtract": (lambda a, b: _lib(a).subtract(a, b, alpha=2), [(3, 4), (4,)]),
    "divide": (lambda a, b: _lib(a).divide(a, _pos(b)), [(3, 4), (4,)]),
    "divide_method": (lambda a, b: a.divide(_pos(b)), [(3, 4), (4,)]),
    "negative": (lambda x: _lib(x).negative(x), [(3, 4)]),
    "swapaxes": (lambda x: _lib(x).swapaxes(x, 0, 2), [(3, 4, 2)]),
    "swapdims": (lambda x: _lib(x).swapdims(x, 0, 1) * x.swapdims(1, 0), [(3, 3)]),
    "reciprocal": (lambda x: _lib(x).reciprocal(_pos(x)), [(3, 4)]),
    "select": (lambda x: _lib(x).select(x, 1, -1), [(3, 4)]),
    "t": (lambda x: _lib(x).t(x), [(3, 4)]),
    "H": (lambda x: x.H, [(3, 4)]),
    "mH": (lambda x: x.mH, [(2, 3, 4)]),
    "special_erf": (lambda x: _lib(x).special.erf(x) + _lib(x).special.erfc(x) * 2, [(3, 4)]),
    "special_erfinv": (lambda x: _lib(x).special.erfinv(x * 0.4), [(3, 4)]),
    "special_erfcx": (lambda x: _lib(x).special.erfcx(x), [(3, 4)]),
    "special_expit": (lambda x: _lib(x).special.expit(x), [(3, 4)]),
    "special_logit": (lambda x: _lib(x).special.logit(x.sigmoid()), [(3, 4)]),
    "special_xlogy": (lambda a, b: _lib(a).special.xlogy(a, _pos(b)), [(3, 4), (4,)]),
    "special_xlog1py": (lambda a, b: _lib(a).special.xlog1py(a, _pos(b)), [(3, 4), (4,)]),
    "special_gammaln": (lambda x: _lib(x).special.gammaln(x), [(3, 4)]),
    "special_psi": (lambda x: _lib(x).special.psi(x) + _lib(x).special.digamma(x), [(3, 4)]),
    "special_polygamma": (lambda x: _lib(x).special.polygamma(3, _pos(x)), [(3, 4)]),
    "special_multigammaln": (lambda x: _lib(x).special.multigammaln(_pos(x) + 1, 2), [(3, 4)]),
    "special_softmax": (lambda x: _lib(x).special.softmax(x, 1) *
                        _lib(x).special.log_softmax(x, 0), [(3, 4)]),
    "special_logsumexp": (lambda x: _lib(x).special.logsumexp(x, 1, True), [(3, 4)]),
    "special_sinc": (lambda x: _lib(x).special.sinc(x), [(3, 4)]),
    "special_i0": (lambda x: _lib(x).special.i0(x) * _lib(x).special.i0e(x), [(3, 4)]),
    "special_i1": (lambda x: _lib(x).special.i1(x) * _lib(x).special.i1e(x), [(3, 4)]),
    "special_ndtr": (lambda x: _lib(x).special.ndtr(x), [(3, 4)]),
    "special_ndtri": (lambda x: _lib(x).special.ndtri(x.sigmoid()), [(3, 4)]),
    "special_log_ndtr": (lambda x: _lib(x).special.log_ndtr(x * 4), [(3, 4)]),
    "special_entr": (lambda x: _lib(x).special.entr(_pos(x)), [(3, 4)]),
    "special_exp2": (lambda x: _lib(x).special.exp2(x) + _lib(x).special.expm1(x) +
                     _lib(x).special.log1p(_pos(x)), [(3, 4)]),
    "top_level_layer_norm": (lambda x, w: _lib(x).layer_norm(x, (4,), w), [(3, 4), (4,)]),
    "top_level_conv1d": (lambda x, w: _lib(x).conv1d(x, w, padding=1), [(2, 3, 6), (4, 3, 3)]),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_matches_torch(name, dtype, device):
    fn, shapes = DIFFERENTIABLE[name]
    check_vs_torch(fn, shapes, dtype=dtype, device=device, away_from=[0.0, -0.7, 0.7, -1.0,
                                                                      -2.0])


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_scatter_reduce(reduce, include_self, dtype, device):
    rng = np.random.default_rng(1)
    x = tl.tensor(rng.uniform(-2, 2, (3, 5)).astype(dtype), device=device, requires_grad=True)
    src = tl.tensor(rng.uniform(-2, 2, (3, 4)).astype(dtype), device=device, requires_grad=True)
    idx = tl.tensor(np.array([[0, 1, 0, 2], [1, 1, 3, 0], [2, 0, 0, 0]]), device=device)
    check_vs_torch(lambda x, s, i: _lib(x).scatter_reduce(x, 1, i, s, reduce,
                                                          include_self=include_self),
                   inputs=[x, src, idx], dtype=dtype)
    # ties and zeros: amax/amin split the gradient, prod passes the others' product
    x = tl.tensor(np.array([[1.0, 0.0, 2.0, 0.5]], dtype), device=device, requires_grad=True)
    src = tl.tensor(np.array([[2.0, 0.0, 2.0, 0.0]], dtype), device=device, requires_grad=True)
    idx = tl.tensor(np.array([[2, 1, 2, 3]]), device=device)
    check_vs_torch(lambda x, s, i: x.scatter_reduce(1, i, s, reduce,
                                                    include_self=include_self),
                   inputs=[x, src, idx], dtype=dtype)


def test_non_differentiable_helpers(device):
    a = tl.tensor([12, 18, -4, 0, 7], device=device)
    b = tl.tensor([8, 27, 6, 5, 7], device=device)
    at, bt = to_torch(a), to_torch(b)
    assert_close(tl.gcd(a, b), torch.gcd(at, bt))
    assert_close(a.lcm(b), torch.lcm(at, bt))
    assert_close(tl.isin(a, b), torch.isin(at, bt))
    assert_close(tl.isin(a, 7, invert=True), torch.isin(at, 7, invert=True))
    assert_close(tl.greater(a, b), torch.greater(at, bt))
    assert_close(a.less_equal(b), at.less_equal(bt))
    assert_close(tl.greater_equal(a, 0), torch.greater_equal(at, 0))
    assert_close(tl.less(a, b), torch.less(at, bt))
    assert_close(tl.not_equal(a, b), torch.not_equal(at, bt))
    assert_close(tl.logical_xor(a, b - 7), torch.logical_xor(at, bt - 7))
    assert_close(tl.argwhere(a > 0), torch.argwhere(at > 0))
    assert_close((a > 0).reshape(1, 5).argwhere(), (at > 0).reshape(1, 5).argwhere())
    bounds = tl.tensor([1.0, 3.0, 5.0], device=device)
    v = tl.tensor([[0.5, 1.0, 3.0], [4.0, 5.0, 9.0]], device=device)
    for right in (False, True):
        assert_close(tl.bucketize(v, bounds, right=right),
                     torch.bucketize(to_torch(v), to_torch(bounds), right=right))
    ours = tl.unravel_index(tl.tensor([4, 7, -1, 0], device=device), (2, 4))
    theirs = torch.unravel_index(torch.tensor([4, 7, -1, 0]), (2, 4))
    for o, t in zip(ours, theirs):
        assert_close(o, t)
    x = tl.tensor([1.0, -2.0, 0.0], device=device)
    assert_close(tl.nextafter(x, tl.tensor([2.0, 2.0, -1.0], device=device)),
                 torch.nextafter(to_torch(x), torch.tensor([2.0, 2.0, -1.0], dtype=x_dtype(x))))
    nan = float("nan")
    p = tl.tensor([1.0, nan, 2.0, nan], device=device)
    q = tl.tensor([nan, 3.0, 1.0, nan], device=device)
    assert_close(tl.fmax(p, q), torch.fmax(to_torch(p), to_torch(q)))
    assert_close(tl.fmin(p, q), torch.fmin(to_torch(p), to_torch(q)))
    z = tl.tensor([1.0, -2.0], device=device)
    assert_close(tl.copysign(z, -0.0), torch.copysign(to_torch(z), -0.0))


def x_dtype(x):
    return getattr(torch, str(x.dtype))


def test_multinomial_method(device):
    tl.manual_seed(0)
    w = tl.tensor([[0.0, 1.0, 3.0], [2.0, 0.0, 0.0]], device=device)
    draws = w.multinomial(4, replacement=True)
    assert draws.shape == (2, 4)
    got = draws.numpy()
    assert (got[0] != 0).all() and (got[1] == 0).all()


def test_modules_and_errors():
    assert repr(tl.nn.Hardshrink(0.3)) == repr(torch.nn.Hardshrink(0.3))
    assert repr(tl.nn.Softshrink()) == repr(torch.nn.Softshrink())
    x = tl.tensor([1.0, -0.2, -2.0])
    assert_close(tl.nn.Softshrink(0.5)(x), torch.nn.Softshrink(0.5)(to_torch(x)))
    assert_close(tl.nn.Hardshrink()(x), torch.nn.Hardshrink()(to_torch(x)))
    with pytest.raises(ValueError, match="softshrink"):
        tl.nn.functional.softshrink(x, -1.0)
    with pytest.raises(ValueError, match="matrix_norm"):
        tl.linalg.matrix_norm(x)
    with pytest.raises(TypeError, match="vector_norm"):
        tl.linalg.vector_norm(tl.tensor([1, 2]))
    with pytest.raises(ValueError, match="scatter_reduce"):
        tl.scatter_reduce(x, 0, tl.tensor([0]), x, "max")
    with pytest.raises(ValueError, match="polygamma"):
        tl.polygamma(-1, x)
    assert all(hasattr(torch.special, n) for n in tl.special.__all__)


def _sign(t):
    """A +-1 target (no gradient), from a random tensor."""
    return (t.detach() > 0).to(t.dtype) * 2 - 1


LOSSES = {
    "margin_ranking_loss": (lambda a, b, y, r: _F(a).margin_ranking_loss(a, b, _sign(y), 0.3,
                                                                         reduction=r),
                            [(6,), (6,), (6,)]),
    "soft_margin_loss": (lambda x, y, r: _F(x).soft_margin_loss(x, _sign(y), reduction=r),
                         [(3, 4), (3, 4)]),
    "hinge_embedding_loss": (lambda x, y, r: _F(x).hinge_embedding_loss(x, _sign(y), 0.5,
                                                                        reduction=r),
                             [(3, 4), (3, 4)]),
    "poisson_nll_loss": (lambda x, y, r: _F(x).poisson_nll_loss(x, y.detach().abs() * 2,
                                                                reduction=r), [(3, 4), (3, 4)]),
    "poisson_nll_loss_full": (lambda x, y, r: _F(x).poisson_nll_loss(
        _pos(x), y.detach().abs() * 2, log_input=False, full=True, reduction=r),
        [(3, 4), (3, 4)]),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_match_torch(name, dtype, reduction, device):
    fn, shapes = LOSSES[name]
    check_vs_torch(lambda *a: fn(*a, reduction), shapes, dtype=dtype, device=device,
                   away_from=[0.0])


def test_loss_modules():
    rng = np.random.default_rng(0)
    a, b = (tl.tensor(rng.standard_normal(5)) for _ in range(2))
    y = tl.tensor(np.sign(rng.standard_normal(5)))
    at, bt, yt = to_torch(a), to_torch(b), to_torch(y)
    pairs = [(tl.nn.MarginRankingLoss(0.2), torch.nn.MarginRankingLoss(0.2), (a, b, y),
              (at, bt, yt)),
             (tl.nn.SoftMarginLoss(reduction="sum"), torch.nn.SoftMarginLoss(reduction="sum"),
              (a, y), (at, yt)),
             (tl.nn.HingeEmbeddingLoss(0.5), torch.nn.HingeEmbeddingLoss(0.5), (a, y), (at, yt)),
             (tl.nn.PoissonNLLLoss(full=True), torch.nn.PoissonNLLLoss(full=True),
              (a, b.abs() * 3), (at, bt.abs() * 3))]
    for ours, theirs, args, args_t in pairs:
        assert_close(ours(*args), theirs(*args_t))
