"""Elementwise ops against PyTorch: forward, backward with a random upstream gradient, and
second derivatives, in float32 and float64."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import tinygrad_lite as tl
from helpers import assert_close, check_hvp_vs_torch, check_vs_torch, make


def _is_ours(x) -> bool:
    return isinstance(x, tl.Tensor)


def _pos(x):
    """Map any input to a strictly positive one, differentiably, in both libraries."""
    return x.abs() + 0.25


# name -> (fn, shapes, kwargs for check_vs_torch); fn works on both libraries unless it
# branches on _is_ours. Inputs stay 0.05 away from 0, the kink of abs/relu/sign/clamp's edges.
UNARY = {
    "neg": (lambda x: -x, [(3, 4)]),
    "neg_method": (lambda x: x.neg(), [(3, 4)]),
    "exp": (lambda x: x.exp(), [(3, 4)]),
    "expm1": (lambda x: x.expm1(), [(3, 4)]),
    "log": (lambda x: _pos(x).log(), [(3, 4)]),
    "log1p": (lambda x: _pos(x).log1p(), [(3, 4)]),
    "sqrt": (lambda x: _pos(x).sqrt(), [(3, 4)]),
    "rsqrt": (lambda x: _pos(x).rsqrt(), [(3, 4)]),
    "abs": (lambda x: x.abs(), [(3, 4)]),
    "abs_builtin": (lambda x: abs(x), [(3, 4)]),
    "sign": (lambda x: x.sign() * x, [(3, 4)]),
    "sin": (lambda x: x.sin(), [(3, 4)]),
    "cos": (lambda x: x.cos(), [(3, 4)]),
    "tanh": (lambda x: x.tanh(), [(3, 4)]),
    "sigmoid": (lambda x: x.sigmoid(), [(3, 4)]),
    "relu": (lambda x: x.relu(), [(3, 4)]),
    "leaky_relu": (lambda x: x.leaky_relu(0.2) if _is_ours(x) else F.leaky_relu(x, 0.2),
                   [(3, 4)]),
    "elu": (lambda x: x.elu(0.7) if _is_ours(x) else F.elu(x, 0.7), [(3, 4)]),
    "gelu": (lambda x: x.gelu() if _is_ours(x) else F.gelu(x), [(3, 4)]),
    "gelu_tanh": (lambda x: x.gelu("tanh") if _is_ours(x) else F.gelu(x, approximate="tanh"),
                  [(3, 4)]),
    "silu": (lambda x: x.silu() if _is_ours(x) else F.silu(x), [(3, 4)]),
    "softplus": (lambda x: x.softplus() if _is_ours(x) else F.softplus(x), [(3, 4)]),
    "softplus_beta": (lambda x: (x * 8).softplus(beta=2.0, threshold=5.0) if _is_ours(x)
                      else F.softplus(x * 8, beta=2.0, threshold=5.0), [(3, 4)]),
    "clamp": (lambda x: x.clamp(-0.5, 0.7), [(3, 4)]),
    "clamp_min": (lambda x: x.clamp(min=-0.5), [(3, 4)]),
    "clamp_max": (lambda x: x.clamp(max=0.5), [(3, 4)]),
    "clip": (lambda x: x.clip(-0.5, 0.7), [(3, 4)]),
    "square": (lambda x: x.square(), [(3, 4)]),
    "reciprocal": (lambda x: _pos(x).reciprocal(), [(3, 4)]),
    "pow_int": (lambda x: x ** 3, [(3, 4)]),
    "pow_two": (lambda x: x ** 2, [(3, 4)]),
    "pow_frac": (lambda x: _pos(x) ** 1.5, [(3, 4)]),
    "pow_neg": (lambda x: _pos(x) ** -0.5, [(3, 4)]),
    "pow_zero": (lambda x: x ** 0, [(3, 4)]),
    "rpow": (lambda x: 2.0 ** x, [(3, 4)]),
    "radd": (lambda x: 2.0 + x, [(3, 4)]),
    "rsub": (lambda x: 2.0 - x, [(3, 4)]),
    "rmul": (lambda x: 3.0 * x, [(3, 4)]),
    "rdiv": (lambda x: 2.0 / _pos(x), [(3, 4)]),
    "scalar_ops": (lambda x: (x + 1) * 2 - 0.5 / (x * x + 1), [(3, 4)]),
    "clone": (lambda x: x.clone() * 2, [(3, 4)]),
    "lerp": (lambda x: x.lerp(x * x, 0.3), [(3, 4)]),
}

BINARY = {
    "add": lambda a, b: a + b,
    "add_alpha": lambda a, b: a.add(b, alpha=2.5),
    "sub": lambda a, b: a - b,
    "sub_alpha": lambda a, b: a.sub(b, alpha=0.5),
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / _pos(b),
    "pow": lambda a, b: _pos(a) ** b,
    "maximum": lambda a, b: a.maximum(b),
    "minimum": lambda a, b: a.minimum(b),
    "where": lambda a, b: (tl if _is_ours(a) else torch).where(a > b, a * b, b - a),
    "tl_functions": lambda a, b: (tl if _is_ours(a) else torch).mul(
        (tl if _is_ours(a) else torch).add(a, b), (tl if _is_ours(a) else torch).exp(b)),
}

BROADCAST_PAIRS = [((3, 4), (3, 4)), ((1,), (5, 4)), ((4, 1), (1, 4)), ((), (2, 3)),
                   ((2, 3), ()), ((2, 1, 3), (4, 1))]

DTYPES = [np.float64, np.float32]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_torch(name, dtype, device):
    fn, shapes = UNARY[name]
    check_vs_torch(fn, shapes, dtype=dtype, device=device, away_from=[0.0, -0.5, 0.5, 0.7])


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_second_derivative_matches_torch(name, device):
    fn, shapes = UNARY[name]
    check_hvp_vs_torch(fn, shapes, device=device, away_from=[0.0, -0.5, 0.5, 0.7])


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_matches_torch(name, shapes, dtype, device):
    # keep a and b apart so maximum/minimum/where have no ties
    rng = np.random.default_rng(1)
    a = make(shapes[0], dtype, device, rng=rng)
    b = make(shapes[1], dtype, device, rng=rng, away_from=[0.0])
    if name in ("maximum", "minimum", "where"):
        b = tl.tensor(np.round(b.detach().numpy() * 4) / 4 + 0.125, device=device)
        b.requires_grad_(True)
    check_vs_torch(BINARY[name], inputs=[a, b], dtype=dtype, device=device)


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS[:4], ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_second_derivative_matches_torch(name, shapes, device):
    rng = np.random.default_rng(2)
    a = make(shapes[0], np.float64, device, rng=rng)
    b = make(shapes[1], np.float64, device, rng=rng, away_from=[0.0])
    if name in ("maximum", "minimum", "where"):
        b = tl.tensor(np.round(b.detach().numpy() * 4) / 4 + 0.125, device=device)
        b.requires_grad_(True)
    check_hvp_vs_torch(BINARY[name], inputs=[a, b], device=device)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow"])
def test_gradgradcheck_binary(op, device):
    fns = {"add": lambda a, b: (a + b) * a, "sub": lambda a, b: (a - b) * b,
           "mul": lambda a, b: a * b, "div": lambda a, b: a / b, "pow": lambda a, b: a ** b}
    a = make((2, 3), device=device, low=0.5, high=2.0)
    b = make((3,), device=device, low=0.5, high=2.0)
    assert tl.autograd.gradcheck(fns[op], (a, b))
    assert tl.autograd.gradgradcheck(fns[op], (a, b))


@pytest.mark.parametrize("shape_a, shape_b", [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)),
                                              ((2, 3), (3, 4)), ((2, 2, 3), (3, 4)),
                                              ((2, 5, 2, 3), (5, 3, 4)), ((2, 1, 2, 3),
                                                                          (5, 3, 4))])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_matmul_matches_torch(shape_a, shape_b, dtype, device):
    check_vs_torch(lambda a, b: a @ b, [shape_a, shape_b], dtype=dtype, device=device)
    check_hvp_vs_torch(lambda a, b: (a @ b) * (a @ b), [shape_a, shape_b], device=device)


def test_matmul_functions_and_reflected(device):
    check_vs_torch(lambda a, b: tl.matmul(a, b) if _is_ours(a) else torch.matmul(a, b),
                   [(2, 3), (3, 2)], device=device)
    check_vs_torch(lambda a, b: tl.mm(a, b) if _is_ours(a) else torch.mm(a, b),
                   [(2, 3), (3, 2)], device=device)
    check_vs_torch(lambda a, b: tl.bmm(a, b) if _is_ours(a) else torch.bmm(a, b),
                   [(2, 2, 3), (2, 3, 2)], device=device)
    b = make((3, 2), device=device)
    out = np.ones((2, 3)) @ b
    assert isinstance(out, tl.Tensor) and out.shape == (2, 2)
    assert_close(out, np.ones((2, 3)) @ b.detach().numpy())


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_inplace_ops_match_torch(dtype, device):
    def fn(x, w):
        y = x * 1.0
        y.mul_(w).add_(x, alpha=0.5).sub_(w).div_(1.5)
        y += x
        y -= 0.25
        y *= w
        y /= 2.0
        y.clamp_(-1.0, 1.0)
        return y
    check_vs_torch(fn, [(3, 4), (4,)], dtype=dtype, device=device, low=-1.0, high=1.0)


def test_inplace_fill_zero_copy(device):
    def fn(x, s):
        y = x * 2
        y[0].zero_()
        y[1].fill_(3.0)
        y[2].copy_(s)
        return y * x
    check_vs_torch(fn, [(4, 3), (3,)], device=device)


def test_inplace_second_derivative(device):
    def fn(x, w):
        y = x * x
        y.mul_(w)
        return y
    check_hvp_vs_torch(fn, [(3, 4), (4,)], device=device)


def test_setitem_is_tracked(device):
    def fn(x, v):
        y = x * 1.0
        y[1:3, ::2] = v * v
        y[0, -1] = 7.0
        y[[3, 3]] = v.sum() * 2
        return y * x
    check_vs_torch(fn, [(4, 3), (2, 2)], device=device)
    check_hvp_vs_torch(fn, [(4, 3), (2, 2)], device=device)


def test_comparison_and_logical_ops_never_require_grad(device):
    x = make((3, 4), device=device)
    y = make((3, 4), device=device, rng=np.random.default_rng(5))
    xt, yt = torch.from_numpy(x.detach().numpy()), torch.from_numpy(y.detach().numpy())
    pairs = [(x < y, xt < yt), (x <= y, xt <= yt), (x > y, xt > yt), (x >= y, xt >= yt),
             (x == y, xt == yt), (x != y, xt != yt), (x > 0.5, xt > 0.5),
             ((x > 0) & (y > 0), (xt > 0) & (yt > 0)), ((x > 0) | (y > 0), (xt > 0) | (yt > 0)),
             ((x > 0) ^ (y > 0), (xt > 0) ^ (yt > 0)), (~(x > 0), ~(xt > 0)),
             ((x > 0).logical_not(), (xt > 0).logical_not()),
             (tl.logical_and(x > 0, y > 0), torch.logical_and(xt > 0, yt > 0)),
             (tl.logical_or(x > 0, y > 0), torch.logical_or(xt > 0, yt > 0)),
             ((x * 3).floor(), (xt * 3).floor()), ((x * 3).ceil(), (xt * 3).ceil()),
             ((x * 3).round(), (xt * 3).round()), ((x * 3).trunc(), (xt * 3).trunc()),
             (x.sign(), xt.sign())]
    for i, (ours, theirs) in enumerate(pairs):
        assert not (ours.requires_grad and ours.grad_fn is None), i
        if ours.dtype == np.bool_:
            assert not ours.requires_grad, i
        np.testing.assert_array_equal(ours.detach().numpy(), theirs.numpy(), err_msg=str(i))
    for ours in [x.isnan(), x.isinf(), x.isfinite(), x.argmax(), x.argmin(1), x.argsort(), x > y]:
        assert not ours.requires_grad and ours.grad_fn is None
    for ours in [x.floor(), x.ceil(), x.round(), x.trunc()]:     # in torch's graph, zero grads
        assert ours.requires_grad and ours.grad_fn is not None


def test_isnan_isinf(device):
    x = tl.tensor([1.0, float("nan"), float("inf"), -float("inf")], device=device)
    assert x.isnan().tolist() == [False, True, False, False]
    assert x.isinf().tolist() == [False, False, True, True]
    assert x.isfinite().tolist() == [True, False, False, False]
    assert tl.isnan(x).tolist() == [False, True, False, False]


def test_integer_and_bool_arithmetic_follows_torch(device):
    i = tl.tensor([1, 2, 3], device=device)
    ti = torch.tensor([1, 2, 3])
    cases = [(i + 1, ti + 1), (i * 2.5, ti * 2.5), (i / 2, ti / 2), (i // 2, ti // 2),
             (i % 2, ti % 2), (i + tl.tensor([0.5], device=device), ti + torch.tensor([0.5])),
             (i.float() * 2, ti.float() * 2), (-i, -ti), (i ** 2, ti ** 2),
             (i.div(2, rounding_mode="floor"), ti.div(2, rounding_mode="floor")),
             (i.div(-2, rounding_mode="trunc"), ti.div(-2, rounding_mode="trunc"))]
    for ours, theirs in cases:
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (ours, theirs)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="gelu: approximate"):
        tl.ones(2).gelu("fast")


def test_relu_large_mask_is_packed_and_exact(device):
    # above PACK_MASK_ELEMENTS the mask is kept as bits; a size that is not a multiple of 8
    # or of the unpack slice checks the tail
    from tinygrad_lite.ops.pointwise import PACK_MASK_ELEMENTS
    n = PACK_MASK_ELEMENTS + 13
    rng = np.random.default_rng(3)
    x_np, g_np = rng.standard_normal((n,)), rng.standard_normal((n,))
    x = tl.tensor(x_np, device=device, requires_grad=True)
    y = x.relu()
    assert y.grad_fn.packed
    (gx,) = tl.autograd.grad(y, [x], grad_outputs=[tl.tensor(g_np, device=device)],
                             create_graph=False, retain_graph=True)
    np.testing.assert_array_equal(gx.numpy(), g_np * (x_np > 0))
    # with create_graph the gradient is itself differentiable in the upstream gradient
    g = tl.tensor(g_np, device=device, requires_grad=True)
    (gx,) = tl.autograd.grad(y, [x], grad_outputs=[g], create_graph=True)
    v = rng.standard_normal((n,))
    (gg,) = tl.autograd.grad((gx * tl.tensor(v, device=device)).sum(), [g])
    np.testing.assert_array_equal(gg.numpy(), v * (x_np > 0))


def test_zero_base_power_gradient_matches_torch(device):
    """d/dx 0 ** x: -inf below 0, 0 at and above 0 (a number base, so Pow's reflected path)."""
    x = tl.tensor([-1.0, 0.0, 2.0], device=device, requires_grad=True)
    (0 ** x).sum().backward()
    t = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    (0 ** t).sum().backward()
    assert_close(x.grad, t.grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided"])
def test_relu_signed_zero_and_nan_match_torch_in_every_layout(device, dtype, layout):
    # the forward is max(0, x) where the array module's tie order keeps -0. (a probe decides);
    # a long array reaches the vector loop, a transposed or strided view the others
    rng = np.random.default_rng(4)
    a = rng.standard_normal((8, 6, 33, 31)).astype(dtype)
    a[rng.random(a.shape) < 0.1] = -0.0
    a[rng.random(a.shape) < 0.02] = np.nan
    a[rng.random(a.shape) < 0.01] = -np.inf
    view = {"contiguous": lambda v: v, "transposed": lambda v: v.permute(0, 3, 1, 2),
            "strided": lambda v: v[:, :, ::2, 1::3]}[layout]
    got = view(tl.tensor(a, device=device)).relu().numpy()
    want = view(torch.from_numpy(a)).relu().numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
