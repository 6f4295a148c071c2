"""Graph semantics: accumulation, retain_graph, no_grad, retain_grad, version counters, freeing,
autograd.grad and higher-order gradients."""
import gc
import weakref

import numpy as np
import pytest
import torch

import tinygrad_lite as tl
from helpers import assert_close, make


def test_reused_node_accumulates(device):
    a = tl.tensor(1.5, device=device, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0


def test_diamond_graph_matches_torch(device):
    def fn(lib, x):
        y = x.exp()
        return (y * y.sin() + y.tanh() * x).sum()
    x = make((5,), device=device)
    xt = torch.from_numpy(x.detach().numpy()).requires_grad_(True)
    fn(tl, x).backward()
    fn(torch, xt).backward()
    assert_close(x.grad, xt.grad)


def test_backward_twice_accumulates_like_torch(device):
    x = make((3,), device=device)
    xt = torch.from_numpy(x.detach().numpy()).requires_grad_(True)
    g = np.random.default_rng(3).standard_normal(3)
    y = (x * x * x * tl.tensor(g, device=device)).sum()
    yt = (xt * xt * xt * torch.from_numpy(g)).sum()
    y.backward(retain_graph=True)
    first = x.grad.detach().numpy().copy()
    y.backward()
    yt.backward(retain_graph=True)
    yt.backward()
    assert_close(x.grad, xt.grad)
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_second_backward_through_freed_graph_raises(device):
    x = make((3,), device=device)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_backward_with_explicit_gradient(device):
    x = make((2, 3), device=device)
    g = np.random.default_rng(0).standard_normal((2, 3))
    (x * 3).backward(tl.tensor(g, device=device))
    assert_close(x.grad, 3 * g)
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        (x * 3).backward()


def test_long_chain_backward_then_del(device):
    x = tl.tensor(1.0, device=device, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0
    del y          # frees 100k nodes one after another: must not recurse


def test_no_grad_builds_no_graph(device):
    x = make((3,), device=device)
    with tl.no_grad():
        y = (x * 2).exp()
        assert not tl.is_grad_enabled()
        with tl.enable_grad():
            z = x * 2
    assert tl.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad
    assert z.requires_grad and z.grad_fn is not None

    @tl.no_grad()
    def f(t):
        return t * t
    assert f(x).grad_fn is None
    with tl.set_grad_enabled(False):
        assert (x * 2).grad_fn is None
    assert tl.is_grad_enabled()


def test_no_grad_keeps_no_saved_tensors(device):
    x = make((1000,), device=device)
    with tl.no_grad():
        y = x.exp()
    ref = weakref.ref(y)
    assert y.grad_fn is None
    del y
    assert ref() is None


def test_only_leaves_get_grad_unless_retained(device):
    x = make((3,), device=device)
    y = x * 2
    z = y * 3
    z.retain_grad()
    assert z.retains_grad and not y.retains_grad
    (z * z).sum().backward()
    assert y.grad is None
    assert_close(z.grad, 2 * z.detach().numpy())
    assert x.is_leaf and not y.is_leaf


def test_version_counter_catches_inplace_change_of_saved_tensor(device):
    x = make((3,), device=device)
    y = x * 1
    z = y * y           # saves y
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"Mul: a tensor saved for backward .* modified"):
        z.sum().backward()


def test_version_counter_catches_setitem(device):
    x = make((3,), device=device)
    y = x * 1
    z = y.sin()
    y[0] = 5.0
    with pytest.raises(RuntimeError, match="Sin: a tensor saved for backward"):
        z.sum().backward()


def test_inplace_on_leaf_requiring_grad_raises(device):
    x = make((3,), device=device)
    with pytest.raises(RuntimeError, match="in-place op on a leaf tensor that requires grad"):
        x.add_(1)
    with tl.no_grad():
        x.add_(1)        # allowed, as torch does for optimizer steps


def test_graph_freed_after_backward_and_when_tensor_goes(device):
    gc.disable()
    try:
        x = make((3,), device=device)
        y = (x * 2).exp()
        node = weakref.ref(y.grad_fn)
        loss = y.sum()
        loss.backward()
        with pytest.raises(RuntimeError, match="second time"):
            y.grad_fn.saved_tensors            # saved arrays released by backward
        del y, loss
        assert node() is None                  # no cycle keeps the node alive
        z = (x * 3).tanh()
        node = weakref.ref(z.grad_fn)
        del z
        assert node() is None
    finally:
        gc.enable()


def test_loop_with_item_keeps_no_graph_alive(device):
    w = make((4,), device=device)
    refs = []
    total = 0.0
    gc.disable()
    try:
        for _ in range(200):
            loss = (w * w).sum()
            refs.append(weakref.ref(loss.grad_fn))
            loss.backward()
            total += loss.item()
        del loss
        assert all(r() is None for r in refs)
    finally:
        gc.enable()
    assert isinstance(total, float)


def test_autograd_grad_and_allow_unused(device):
    x = make((3,), device=device)
    w = make((2,), device=device)
    y = (x * x).sum()
    gx, = tl.autograd.grad(y, x, retain_graph=True)
    assert_close(gx, 2 * x.detach().numpy())
    assert x.grad is None
    with pytest.raises(RuntimeError, match="was not used in the graph"):
        tl.autograd.grad(y, [x, w], retain_graph=True)
    gx, gw = tl.autograd.grad(y, [x, w], allow_unused=True)
    assert gw is None and gx is not None


def test_hessian_vector_product_matches_torch(device):
    a = np.random.default_rng(4).standard_normal((3, 3))
    v = np.random.default_rng(5).standard_normal(3)
    x = make((3,), device=device)
    xt = torch.from_numpy(x.detach().numpy()).requires_grad_(True)

    def f(lib, t, m):
        return ((m @ t).tanh() * t.exp()).sum()
    g, = tl.autograd.grad(f(tl, x, tl.tensor(a, device=device)), x, create_graph=True)
    hv, = tl.autograd.grad((g * tl.tensor(v, device=device)).sum(), x)
    gt, = torch.autograd.grad(f(torch, xt, torch.from_numpy(a)), xt, create_graph=True)
    hvt, = torch.autograd.grad((gt * torch.from_numpy(v)).sum(), xt)
    assert_close(hv, hvt)


def test_backward_create_graph_then_grad_of_grad(device):
    x = tl.tensor([1.0, 2.0], dtype=tl.float64, device=device, requires_grad=True)
    y = (x ** 3).sum()
    y.backward(create_graph=True)
    assert x.grad.requires_grad
    gx = x.grad
    x.grad = None
    gx.sum().backward()
    assert x.grad.tolist() == [6.0, 12.0]


def test_backward_inputs_argument(device):
    x, w = make((3,), device=device), make((3,), device=device)
    (x * w).sum().backward(inputs=[x])
    assert w.grad is None
    assert_close(x.grad, w.detach().numpy())


def test_hooks(device):
    x = make((3,), device=device)
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g.tolist()))
    h = x.register_hook(lambda g: g * 10)
    (y * 1).sum().backward()
    assert seen == [[1.0, 1.0, 1.0]]
    assert x.grad.tolist() == [20.0, 20.0, 20.0]
    h.remove()
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_detach_shares_data_and_cuts_graph(device):
    x = make((3,), device=device)
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None
    y = x * 1
    dy = y.detach()
    with tl.no_grad():
        dy.add_(1)
    np.testing.assert_allclose(y.detach().numpy(), dy.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_grad_dtype_follows_input(dtype, device):
    x = make((3,), dtype=dtype, device=device)
    y = (x.double() * 2).float().sum() + (x * np.float64(3.0)).sum()
    y.backward()
    assert x.grad.dtype == dtype


def test_array_fast_path_matches_tensor_backward():
    """Ops with arithmetic_backward run backward on bare arrays unless create_graph is set;
    both paths must give the same first-order gradients (float32 stays float32 on both)."""
    from tinygrad_lite.ops import pointwise as E
    fast = [c for c in vars(E).values()
            if isinstance(c, type) and getattr(c, "arithmetic_backward", False)]
    assert len(fast) >= 5
    rng = np.random.default_rng(3)
    a0 = rng.uniform(0.5, 2.0, (3, 4)).astype(np.float32)
    b0 = rng.uniform(0.5, 2.0, (1, 4)).astype(np.float32)
    g0 = rng.standard_normal((3, 4)).astype(np.float32)

    def grads(create_graph):
        a = tl.tensor(a0, requires_grad=True)
        b = tl.tensor(b0, requires_grad=True)
        y = ((a - b) * a / b).exp().tanh().sigmoid() + (-a)
        return tl.autograd.grad(y, [a, b], tl.tensor(g0), create_graph=create_graph)

    for plain, graphed in zip(grads(False), grads(True)):
        assert plain.dtype == graphed.dtype == np.float32
        np.testing.assert_allclose(plain.numpy(), graphed.detach().numpy(), rtol=1e-6, atol=1e-7)
