"""Tensor and Module hooks, checked against torch: what they see, what they change, removal."""
import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.nn import Module, Parameter

from helpers import assert_close, to_numpy, torch


class _TinyLinear(Module):
    """Stand-in with torch's parameter names, used only if nn.Linear is missing."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = Parameter(np.zeros((n_out, n_in)))
        self.bias = Parameter(np.zeros(n_out))

    def forward(self, x):
        return x @ self.weight.T + self.bias


class _TinyReLU(Module):
    def forward(self, x):
        return x.relu()


def _models():
    """The same 3-5-2 MLP in tinygrad_lite and torch, float64, with equal weights."""
    lin = getattr(tl.nn, "Linear", None) or _TinyLinear
    relu = getattr(tl.nn, "ReLU", None) or _TinyReLU
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(),
                                 torch.nn.Linear(5, 2)).double()
    ours = tl.nn.Sequential(lin(3, 5), relu(), lin(5, 2)).double()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _inputs(shape=(4, 3), seed=0):
    a = np.random.default_rng(seed).standard_normal(shape)
    return tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _upstream(shape, seed=1):
    g = np.random.default_rng(seed).standard_normal(shape)
    return tl.tensor(g), torch.tensor(g)


def _as_list(grads):
    return [None if g is None else to_numpy(g).copy() for g in grads]


# -- Tensor.register_hook ------------------------------------------------------------------
@pytest.mark.parametrize("where", ["leaf", "nonleaf"])
def test_tensor_hook_replaces_gradient_like_torch(where):
    results = []
    for lib, (x, _) in ((tl, _inputs((3,))), (torch, (None, None))):
        if lib is torch:
            x = torch.tensor(np.random.default_rng(0).standard_normal(3), requires_grad=True)
        seen = []
        h = x * 2.0 if where == "nonleaf" else x
        if where == "nonleaf":
            h.retain_grad()
        handle = h.register_hook(lambda g: (seen.append(to_numpy(g).copy()), g * 10.0)[1])
        (h.exp() * h).sum().backward()
        results.append((seen[0], to_numpy(x.grad).copy(), to_numpy(h.grad).copy()))
        handle.remove()
        x.grad = None
        if where == "nonleaf":
            h = x * 2.0
        (h.exp() * h).sum().backward()
        results.append(to_numpy(x.grad).copy())
    (seen_o, xg_o, hg_o), after_o, (seen_t, xg_t, hg_t), after_t = results
    assert_close(seen_o, seen_t)
    assert_close(xg_o, xg_t)
    assert_close(hg_o, hg_t)
    assert_close(after_o, after_t)
    assert not np.allclose(xg_o, after_o)       # the hook really did change the gradient


def test_tensor_hook_returning_none_only_observes_and_handles_are_independent():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    h1 = x.register_hook(lambda g: calls.append("a"))
    x.register_hook(lambda g: calls.append("b") or g * 3.0)
    (x * x).sum().backward()
    assert calls == ["a", "b"]
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])
    h1.remove()
    h1.remove()                                 # a second remove is harmless
    x.grad = None
    (x * x).sum().backward()
    assert calls == ["a", "b", "b"]


# -- forward hooks ---------------------------------------------------------------------------
def test_forward_pre_hook_and_forward_hook_change_values_like_torch():
    ours, theirs = _models()
    grads = []
    for model, (x, xt) in ((ours, _inputs()), (theirs, _inputs())):
        x = x if model is ours else xt
        seen = []
        h_pre = model[0].register_forward_pre_hook(lambda m, args: (args[0] * 2.0,))
        h_fwd = model[1].register_forward_hook(
            lambda m, args, out: (seen.append(to_numpy(args[0]).copy()), out + 1.0)[1])
        out = model(x)
        g, gt = _upstream(out.shape)
        out.backward(g if model is ours else gt)
        grads.append((to_numpy(out).copy(), seen[0], to_numpy(x.grad).copy(),
                      to_numpy(model[0].weight.grad).copy()))
        h_pre.remove()
        h_fwd.remove()
        plain = model(x)
        grads.append(to_numpy(plain).copy())
    o, o_plain, t, t_plain = grads
    for a, b in zip(o, t):
        assert_close(a, b)
    assert_close(o_plain, t_plain)
    assert not np.allclose(o[0], o_plain)       # the hooks changed the output while present


def test_forward_hooks_see_module_and_args():
    ours, _ = _models()
    seen = []
    handle = ours.register_forward_pre_hook(lambda m, args: seen.append((m, len(args))))
    ours(tl.ones(2, 3, dtype=tl.float64))
    assert seen == [(ours, 1)]
    handle.remove()
    ours(tl.ones(2, 3, dtype=tl.float64))
    assert len(seen) == 1


# -- full backward hooks ---------------------------------------------------------------------
def _run_backward_hooks(model, x, g, scale_relu_input=None):
    """Hook every layer; returns {layer index: (grad_input, grad_output)} and the handles."""
    record = {}
    handles = []
    for i, layer in enumerate(model):
        def hook(m, gin, gout, i=i):
            record[i] = (_as_list(gin), _as_list(gout))
            if scale_relu_input is not None and i == 1:
                return tuple(None if t is None else t * scale_relu_input for t in gin)
            return None
        handles.append(layer.register_full_backward_hook(hook))
    model(x).backward(g)
    return record, handles


@pytest.mark.parametrize("scale", [None, 0.5])
def test_full_backward_hook_matches_torch_on_mlp(scale):
    ours, theirs = _models()
    x, xt = _inputs()
    g, gt = _upstream((4, 2))
    rec_o, handles_o = _run_backward_hooks(ours, x, g, scale)
    rec_t, _ = _run_backward_hooks(theirs, xt, gt, scale)
    assert sorted(rec_o) == sorted(rec_t) == [0, 1, 2]
    for i in rec_o:
        for ours_side, torch_side in zip(rec_o[i], rec_t[i]):
            assert len(ours_side) == len(torch_side)
            for a, b in zip(ours_side, torch_side):
                assert (a is None) == (b is None)
                if a is not None:
                    assert_close(a, b, msg=f"layer {i}")
    assert_close(x.grad, xt.grad)
    for (name, p), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, pt.grad, msg=name)
    # after remove() the hooks are gone and no wrapper node is recorded any more
    for h in handles_o:
        h.remove()
    out = ours(x)
    assert not ({"ModuleInputs", "ModuleInputView", "ModuleOutput"}
                & set(tl.autograd.graph_stats(out)["ops"]))


class _Gate(Module):
    """Two tensor inputs and a non-tensor one, returning a tuple of two outputs."""

    def __init__(self, w):
        super().__init__()
        self.w = Parameter(w)

    def forward(self, x, y, scale):
        h = x @ self.w
        return h * y * scale, (h + y).tanh()


class _TorchGate(torch.nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(w))

    def forward(self, x, y, scale):
        h = x @ self.w
        return h * y * scale, (h + y).tanh()


def test_full_backward_hook_with_several_inputs_and_outputs():
    rng = np.random.default_rng(3)
    w, xa, ya = rng.standard_normal((3, 2)), rng.standard_normal((4, 3)), rng.standard_normal(2)
    runs = []
    for mod, T in ((_Gate(w), tl.tensor), (_TorchGate(w), torch.tensor)):
        rec = []
        mod.register_full_backward_hook(lambda m, gi, go: (
            rec.append((_as_list(gi), _as_list(go))),
            (gi[0] * -1.0, gi[1] * 2.0, None))[1])
        x, y = T(xa, requires_grad=True), T(ya, requires_grad=True)
        a, b = mod(x, y, 1.5)
        (a.sum() + (b * b).sum()).backward()
        runs.append((rec, to_numpy(x.grad).copy(), to_numpy(y.grad).copy(),
                     to_numpy(mod.w.grad).copy()))
    (rec_o, *grads_o), (rec_t, *grads_t) = runs
    assert len(rec_o) == len(rec_t) == 1
    (gi_o, go_o), (gi_t, go_t) = rec_o[0], rec_t[0]
    assert gi_o[2] is None and gi_t[2] is None
    for a, b in zip(gi_o[:2] + go_o, gi_t[:2] + go_t):
        assert_close(a, b)
    for a, b in zip(grads_o, grads_t):
        assert_close(a, b)


def test_full_backward_hook_fires_when_no_input_requires_grad():
    ours, _ = _models()
    seen = []
    ours[0].register_full_backward_hook(lambda m, gi, go: seen.append((gi, go[0].shape)))
    ours(tl.ones(4, 3, dtype=tl.float64)).sum().backward()
    assert seen == [((None,), (4, 5))]
    assert ours[0].weight.grad is not None


def test_full_backward_hook_errors():
    ours, _ = _models()
    x, _ = _inputs()
    h = ours[2].register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="returned 2 gradients"):
        ours(x).sum().backward()
    h.remove()
    ours[0].register_full_backward_hook(lambda m, gi, go: (go[0],))
    with pytest.raises(RuntimeError, match="requires grad"):
        ours(tl.ones(4, 3, dtype=tl.float64)).sum().backward()


def test_full_backward_hook_fires_on_each_backward_with_retain_graph():
    ours, _ = _models()
    x, _ = _inputs()
    seen = []
    ours[1].register_full_backward_hook(lambda m, gi, go: seen.append(_as_list(go)[0]))
    loss = (ours(x) ** 2).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert len(seen) == 2
    np.testing.assert_array_equal(seen[0], seen[1])


def test_no_backward_hook_work_under_no_grad():
    ours, _ = _models()
    seen = []
    ours[0].register_full_backward_hook(lambda m, gi, go: seen.append(1))
    with tl.no_grad():
        out = ours(tl.ones(1, 3, dtype=tl.float64))
    assert out.grad_fn is None and seen == []


def test_full_backward_pre_hook_matches_torch():
    rng = np.random.default_rng(4)
    w, xa, g = rng.standard_normal((3, 4)), rng.standard_normal((2, 4)), rng.standard_normal((2, 3))
    results = []
    for lib in (tl, torch):
        layer = lib.nn.Linear(4, 3, bias=False).double()
        layer.load_state_dict({"weight": lib.tensor(w)})
        seen = []
        layer.register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
        layer.register_full_backward_pre_hook(lambda m, go: seen.append(go[0].sum().item()))
        handle = layer.register_full_backward_hook(
            lambda m, gi, go: seen.append(go[0].sum().item()))
        x = lib.tensor(xa, requires_grad=True)
        (layer(x) * lib.tensor(g)).sum().backward()
        handle.remove()
        results.append((x.grad.detach().numpy().copy(), layer.weight.grad.detach().numpy().copy(),
                        seen))
    ours, theirs = results
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)


def test_full_backward_pre_hook_errors():
    layer = tl.nn.Linear(2, 2)
    layer.register_full_backward_pre_hook(lambda m, go: (tl.zeros(5),))
    with pytest.raises(RuntimeError, match=r"backward pre-hook of Linear: grad_output has shape"):
        layer(tl.ones(1, 2, requires_grad=True)).sum().backward()
