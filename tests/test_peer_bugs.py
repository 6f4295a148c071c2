"""/work/shared/PEER_BUGS.md, one named test per item that concerns the core engine."""
import gc
import warnings
import weakref

import numpy as np
import pytest
import torch

import tinygrad_lite as tl
from helpers import assert_close, check_hvp_vs_torch, check_vs_torch, make


@pytest.mark.parametrize("shapes", [((1,), (5, 4)), ((4, 1), (1, 4)), ((), (2, 3))], ids=str)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_bug01_broadcast_gradients_keep_input_shape(op, shapes, device):
    fn = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "div": lambda a, b: a / (b * b + 1)}[op]
    a, b = make(shapes[0], device=device), make(shapes[1], device=device)
    check_vs_torch(fn, inputs=[a, b], device=device)
    assert a.grad.shape == shapes[0] and b.grad.shape == shapes[1]


def test_bug02_reused_node_accumulates(device):
    a = tl.tensor(2.0, device=device, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0


def test_bug03_backward_twice_accumulates_like_torch(device):
    x = make((4,), device=device)
    xt = torch.from_numpy(x.detach().numpy()).requires_grad_(True)
    for lib, t in ((tl, x), (torch, xt)):
        y = (t.exp() * t).sum()
        y.backward(retain_graph=True)
        y.backward()
    assert_close(x.grad, xt.grad)


def test_bug04_repeated_fancy_indices_accumulate(device):
    x = tl.tensor([1.0, 2.0], device=device, requires_grad=True)
    x[[0, 0, 1]].sum().backward()
    assert x.grad.tolist() == [2.0, 1.0]


def test_bug05_inplace_change_of_saved_tensor_raises(device):
    x = make((3,), device=device)
    y = x * 2
    z = y.exp() * y          # Mul saves y
    y.mul_(3)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.sum().backward()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_bug06_log_softmax_and_logsumexp_at_extreme_logits(dtype, device):
    a = np.array([[1e4, -1e4, 0.0], [-1e10, 1.0, -1e4], [1e4, 1e4, -1e10]], dtype=dtype)
    for fn in [lambda t: t.log_softmax(1), lambda t: t.logsumexp(1), lambda t: t.softmax(1),
               lambda t: t.log_softmax(0)]:
        x = tl.tensor(a, device=device, requires_grad=True)
        out = check_vs_torch(fn, inputs=[x], dtype=dtype, device=device, rtol=1e-6, atol=1e-6)
        assert np.isfinite(out.detach().numpy()).all()
        assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("value", [100.0, 800.0, 1e5])
def test_bug07_sigmoid_softplus_no_overflow(value, device):
    a = np.array([-value, -1.0, 0.5, value])
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # any overflow warning fails the test
        for dtype in (np.float32, np.float64):
            for fn in [lambda t: t.sigmoid(), lambda t: t.log_softmax(0),
                       lambda t: t.silu() if isinstance(t, tl.Tensor)
                       else torch.nn.functional.silu(t),
                       lambda t: t.softplus() if isinstance(t, tl.Tensor)
                       else torch.nn.functional.softplus(t)]:
                x = tl.tensor(a.astype(dtype), device=device, requires_grad=True)
                check_vs_torch(fn, inputs=[x], dtype=dtype, device=device)
                assert np.isfinite(x.grad.numpy()).all()


def test_bug08_ties_split_gradient_like_torch(device):
    a = np.array([[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, 5.0, 0.0]])
    fns = [lambda t: t.max(), lambda t: t.min(), lambda t: t.amax(1), lambda t: t.amin(0),
           lambda t: t.max(1)[0], lambda t: t.min(1)[0], lambda t: t.amax((0, 1)),
           lambda t: t.norm(p=float("inf"))]
    for fn in fns:
        check_vs_torch(fn, inputs=[tl.tensor(a, device=device, requires_grad=True)],
                       device=device)
    b = np.array([[3.0, 1.0, 3.0, 2.0], [5.0, 0.0, 5.0, 0.0]])
    for fn in [lambda x, y: x.maximum(y), lambda x, y: x.minimum(y),
               lambda x, y: x.clamp(min=y) if isinstance(x, tl.Tensor) else x.clamp(min=y)]:
        check_vs_torch(fn, inputs=[tl.tensor(a, device=device, requires_grad=True),
                                   tl.tensor(b, device=device, requires_grad=True)],
                       device=device)


def test_bug09_abs_at_zero_and_where_with_nan_branch(device):
    x = tl.tensor([0.0, -1.0, 2.0], device=device, requires_grad=True)
    x.abs().sum().backward()
    assert x.grad.tolist() == [0.0, -1.0, 1.0]
    x = tl.tensor([-1.0, 0.0, 4.0], device=device, requires_grad=True)
    nan = tl.full((3,), float("nan"), dtype=tl.float32, device=device, requires_grad=True)
    y = tl.where(x > 0, x * 2, nan)
    y.backward(tl.ones(3, device=device))
    assert x.grad.tolist() == [0.0, 0.0, 2.0]
    assert nan.grad.tolist() == [1.0, 1.0, 0.0]

    def safe_log(t):
        lib = tl if isinstance(t, tl.Tensor) else torch
        return lib.where(t > 0, t.log(), t * 0)
    with np.errstate(invalid="ignore", divide="ignore"):   # log(-1) is NaN, silently, in torch
        check_vs_torch(safe_log, inputs=[tl.tensor([-1.0, 0.5, 3.0], dtype=tl.float64,
                                                   device=device, requires_grad=True)],
                       device=device)


def test_bug10_int_and_bool_never_require_grad(device):
    for t in (tl.tensor([1, 2], device=device), tl.tensor([True], device=device)):
        with pytest.raises(RuntimeError, match="only floating point tensors"):
            t.requires_grad_(True)
    with pytest.raises(RuntimeError, match="only floating point tensors"):
        tl.tensor([1, 2], device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="only floating point tensors"):
        tl.zeros(2, dtype=tl.int64, device=device, requires_grad=True)
    x = make((3,), device=device)
    for out in (x.argmax(), x > 0, x == x, x.argsort(), x.max(0)[1], x.long(), x.bool()):
        assert not out.requires_grad and out.grad_fn is None


def test_bug11_gradcheck_uses_random_upstream_gradient(device):
    # a backward that is right only up to a sign flip of a zero-sum pattern passes a .sum() check
    class Wrong(tl.autograd.Function):
        def forward(self, x):
            return x.copy()

        def backward(self, grad):
            return grad.flip(0)
    x = make((4,), device=device)
    with pytest.raises(AssertionError):
        tl.autograd.gradcheck(lambda t: Wrong.apply(t), (x,))


def test_bug12_gradcheck_inputs_kept_away_from_kinks(device):
    x = make((200,), device=device, away_from=[0.0])
    assert np.abs(x.detach().numpy()).min() >= 0.05
    assert tl.autograd.gradcheck(lambda t: t.abs() + t.relu(), (x,))


def test_bug16_hundred_thousand_op_chain(device):
    x = tl.tensor(0.5, device=device, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 0.0
    y.backward()
    del y
    assert x.grad.item() == 1.0


def test_bug17_loop_with_item_has_no_cycles(device):
    w = make((8,), device=device)
    total = 0.0
    gc.disable()
    try:
        gc.collect()
        for _ in range(2000):
            loss = (w.tanh() * w).sum()
            ref = weakref.ref(loss.grad_fn)
            loss.backward()
            total += loss.item()
            del loss
            assert ref() is None
        # no cycles: nothing waits for the collector
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_bug18_float32_stays_float32(device):
    x = make((3,), dtype=np.float32, device=device)
    outs = [x * np.float64(2.0), np.float64(2.0) * x, x + np.float64(1.0), np.float64(1.0) - x,
            x / np.float64(3.0), x ** np.float64(2.0), x * 2.5, sum([x, x, x]), x.mean(),
            x.var(), x.softmax(0), x.norm(), tl.where(x > 0, x, 0.0), x.clamp(-1.0, 1.0)]
    for i, o in enumerate(outs):
        assert o.dtype == np.float32, (i, o.dtype)
    total = sum(o.sum() for o in outs)
    total.backward()
    assert x.grad.dtype == np.float32


def test_bug21_no_grad_builds_no_graph_and_saves_nothing(device):
    x = make((100,), dtype=np.float32, device=device)
    with tl.no_grad():
        y = x.exp().sin() * x
    assert y.grad_fn is None and not y.requires_grad
    ref = weakref.ref(y)
    del y
    assert ref() is None


@pytest.mark.parametrize("fn", [lambda t: t.exp().sin(), lambda t: t.tanh() * t.sigmoid(),
                                lambda t: t.softmax(0).log(), lambda t: (t @ t) * t,
                                lambda t: t.norm() * t.logsumexp(0)],
                         ids=["exp_sin", "tanh_sigmoid", "softmax_log", "matmul", "norm_lse"])
def test_bug22_second_order_matches_torch(fn, device):
    check_hvp_vs_torch(fn, [(4,)], device=device)
