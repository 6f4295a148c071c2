"""Hypothesis: every differentiable op passes a float64 gradcheck over random small shapes,
including the broadcast pairs (1,)x(5,4), (4,1)x(1,4) and ()x(2,3)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl
from tinygrad_lite.autograd import gradcheck

SMALL = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
PAIRS = st.one_of(st.sampled_from([((1,), (5, 4)), ((4, 1), (1, 4)), ((), (2, 3))]),
                  hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)
                  .map(lambda b: b.input_shapes))


def _leaf(shape, seed, low=-2.0, high=2.0, away=True):
    a = np.random.default_rng(seed).uniform(low, high, size=shape)
    if away:       # keep off the kinks at 0 and off ties, for relu/abs/max
        a = np.where(np.abs(a) < 0.1, a + 0.3, a)
    return tl.tensor(a, dtype=tl.float64, requires_grad=True)


UNARY = {
    "exp": lambda x: x.exp(), "log": lambda x: (x * x + 0.5).log(), "sqrt": lambda x:
    (x * x + 0.5).sqrt(), "rsqrt": lambda x: (x * x + 0.5).rsqrt(), "log1p": lambda x:
    (x * x).log1p(), "abs": lambda x: x.abs(), "sin": lambda x: x.sin(), "cos": lambda x:
    x.cos(), "tanh": lambda x: x.tanh(), "sigmoid": lambda x: x.sigmoid(), "relu": lambda x:
    x.relu(), "leaky_relu": lambda x: x.leaky_relu(0.1), "elu": lambda x: x.elu(),
    "gelu": lambda x: x.gelu(), "gelu_tanh": lambda x: x.gelu("tanh"), "silu": lambda x:
    x.silu(), "softplus": lambda x: x.softplus(), "pow": lambda x: x ** 3, "neg": lambda x: -x,
    "clamp": lambda x: x.clamp(-1.05, 1.05), "sum": lambda x: x.sum(), "mean": lambda x:
    x.mean(), "prod": lambda x: x.prod(), "amax": lambda x: x.amax(), "norm": lambda x: x.norm(),
    "logsumexp": lambda x: x.logsumexp(-1) if x.ndim else x.exp(), "softmax": lambda x:
    x.softmax(-1) if x.ndim else x, "log_softmax": lambda x: x.log_softmax(-1) if x.ndim else x,
    "cumsum": lambda x: x.cumsum(-1) if x.ndim else x, "flip": lambda x: x.flip(0) if x.ndim
    else x, "transpose": lambda x: x.T, "flatten": lambda x: x.flatten(), "unsqueeze":
    lambda x: x.unsqueeze(0), "repeat": lambda x: x.repeat(*([2] * max(x.ndim, 1))),
    "var": lambda x: x.var() if x.numel() > 1 else x.sum(),
    "getitem": lambda x: x[..., :1] if x.ndim else x[None],
    # the less common elementwise ops and scans, each on the domain where it is smooth
    "tan": lambda x: (x * 0.5).tan(), "asin": lambda x: (x.tanh() * 0.9).asin(),
    "acos": lambda x: (x.tanh() * 0.9).acos(), "atan": lambda x: x.atan(),
    "sinh": lambda x: x.sinh(), "cosh": lambda x: x.cosh(), "asinh": lambda x: x.asinh(),
    "acosh": lambda x: (x * x + 1.5).acosh(), "atanh": lambda x: (x.tanh() * 0.9).atanh(),
    "erf": lambda x: x.erf(), "erfc": lambda x: x.erfc(), "exp2": lambda x: x.exp2(),
    "log10": lambda x: (x * x + 0.5).log10(), "logit": lambda x: x.sigmoid().logit(),
    "mish": lambda x: tl.nn.functional.mish(x), "logsigmoid": lambda x:
    tl.nn.functional.logsigmoid(x), "cumprod": lambda x: x.cumprod(-1) if x.ndim else x,
    "logcumsumexp": lambda x: x.logcumsumexp(-1) if x.ndim else x,
    "addcmul": lambda x: tl.addcmul(x, x, x.sin(), value=0.5),
}

BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 0.5), "pow": lambda a, b: (a * a + 0.5) ** b,
    "maximum": lambda a, b: a.maximum(b), "minimum": lambda a, b: a.minimum(b),
    "where": lambda a, b: tl.where(a > b, a, b * 2),
    "atan2": lambda a, b: tl.atan2(a, b), "hypot": lambda a, b: tl.hypot(a, b),
    "logaddexp": lambda a, b: tl.logaddexp(a, b), "xlogy": lambda a, b: tl.xlogy(a, b * b + 0.5),
    "einsum": lambda a, b: tl.einsum("...,...->...", a, b),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=SMALL, seed=st.integers(0, 2 ** 16))
def test_unary_gradcheck(name, shape, seed):
    assert gradcheck(UNARY[name], (_leaf(shape, seed),))


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes=PAIRS, seed=st.integers(0, 2 ** 16))
def test_binary_gradcheck_broadcast(name, shapes, seed):
    a, b = _leaf(shapes[0], seed), _leaf(shapes[1], seed + 1)
    if name in ("maximum", "minimum", "where"):
        # a and b on disjoint grids: no ties
        b = tl.tensor(np.round(b.detach().numpy() * 4) / 4 + 0.125, requires_grad=True)
        a = tl.tensor(np.round(a.detach().numpy() * 4) / 4, requires_grad=True)
    assert gradcheck(BINARY[name], (a, b))
    out = BINARY[name](a, b)
    out.backward(tl.ones(out.shape, dtype=tl.float64))
    assert a.grad.shape == a.shape and b.grad.shape == b.shape


@given(shapes=hnp.mutually_broadcastable_shapes(signature="(n?,k),(k,m?)->(n?,m?)",
                                                max_dims=3, max_side=3),
       seed=st.integers(0, 2 ** 16))
def test_matmul_gradcheck(shapes, seed):
    a, b = _leaf(shapes.input_shapes[0], seed), _leaf(shapes.input_shapes[1], seed + 1)
    assert gradcheck(lambda x, y: x @ y, (a, b))


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3),
       seed=st.integers(0, 2 ** 16))
def test_gradgradcheck_composite(shape, seed):
    x = _leaf(shape, seed)
    assert tl.autograd.gradgradcheck(lambda t: (t.tanh() * t.exp()).sum(-1).sigmoid(), (x,))


@given(shape=SMALL, seed=st.integers(0, 2 ** 16))
def test_forward_matches_numpy_for_reductions(shape, seed):
    x = _leaf(shape, seed)
    a = x.detach().numpy()
    np.testing.assert_allclose(x.sum().item(), a.sum())
    np.testing.assert_allclose(x.amax().item(), a.max())
    np.testing.assert_allclose(x.exp().mean().item(), np.exp(a).mean())
