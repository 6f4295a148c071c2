"""tl.autograd.functional against torch.autograd.functional: values, return structures,
create_graph, strict mode and argument errors, all in float64."""
import numpy as np
import pytest
import torch

import tinygrad_lite as tl
from helpers import to_numpy

F = tl.autograd.functional
TF = torch.autograd.functional
TOL = {"rtol": 1e-12, "atol": 1e-12}
_X = np.random.default_rng(7).standard_normal((5, 3))   # the MLP's fixed batch


def mlp(lib, w1, b1, w2):
    return (lib.tensor(_X) @ w1 + b1).tanh() @ w2


# name -> (func taking the library first, input shapes; a bare shape means a bare tensor input)
CASES = {
    "elementwise": (lambda lib, x: x.exp() * x.sin() + x.tanh(), (5,)),
    "matmul": (lambda lib, x, w: (x @ w).tanh(), [(3, 4), (4, 2)]),
    "mlp": (mlp, [(3, 6), (6,), (6, 2)]),
    "multi_out": (lambda lib, x, y: (x * y, (x.exp() + y).sum(), x.sin()), [(2, 3), (2, 3)]),
    "single_in_tuple": (lambda lib, x: (x * x,), [(4,)]),
}
SCALAR_CASES = {
    "exp_x": (lambda lib, x: (x.exp() * x).sum(), (2, 3)),
    "two_inputs": (lambda lib, x, y: (x.sin() * y.cos()).sum() + (x * x * y).sum(),
                   [(3,), (3,)]),
    "mlp_loss": (lambda lib, w1, b1, w2: (mlp(lib, w1, b1, w2) ** 2).sum(),
                 [(3, 4), (4,), (4, 1)]),
    "one_element": (lambda lib, x: (x * x * x).sum(), (1,)),
}


def build(shapes, seed=0, requires_grad=False):
    """The same random inputs for both libraries, as a tensor or a tuple like `shapes`."""
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-1.5, 1.5, s) for s in (shapes if isinstance(shapes, list) else
                                                    [shapes])]
    ours = tuple(tl.tensor(a, requires_grad=requires_grad) for a in arrays)
    theirs = tuple(torch.tensor(a, requires_grad=requires_grad) for a in arrays)
    if isinstance(shapes, list):
        return ours, theirs
    return ours[0], theirs[0]


def funcs(case):
    fn = case[0]
    return (lambda *xs: fn(tl, *xs)), (lambda *xs: fn(torch, *xs))


def like(theirs, seed):
    """A random tensor (or tuple) shaped like torch's `theirs`, for both libraries."""
    rng = np.random.default_rng(seed)
    if isinstance(theirs, tuple):
        pairs = [like(t, seed + 1 + i) for i, t in enumerate(theirs)]
        return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
    a = rng.standard_normal(tuple(theirs.shape))
    return tl.tensor(a), torch.tensor(a)


def assert_same(ours, theirs, path="result", detached=True):
    """Same nesting of tuples, same shapes, values to 1e-12; detached unless create_graph."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple), f"{path}: torch gives a tuple, we give {type(ours)}"
        assert len(ours) == len(theirs), f"{path}: length {len(ours)} != {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, f"{path}[{i}]", detached)
        return
    assert isinstance(ours, tl.Tensor), f"{path}: torch gives a Tensor, we give {type(ours)}"
    assert tuple(ours.shape) == tuple(theirs.shape), f"{path}: {ours.shape} != {theirs.shape}"
    assert not detached or not ours.requires_grad, f"{path}: not detached"
    np.testing.assert_allclose(to_numpy(ours), to_numpy(theirs), err_msg=path, **TOL)


def both(name, ours_args, theirs_args, **kw):
    """Run our and torch's `name`; either both raise RuntimeError or both give the same result."""
    try:
        theirs = getattr(TF, name)(*theirs_args, **kw)
    except RuntimeError:
        with pytest.raises(RuntimeError, match=f"^{name}: "):
            getattr(F, name)(*ours_args, **kw)
        return
    assert_same(getattr(F, name)(*ours_args, **kw), theirs,
                detached=not kw.get("create_graph", False))


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
@pytest.mark.parametrize("case", list(CASES))
def test_jacobian_matches_torch(case, strategy):
    (f, ft), (x, xt) = funcs(CASES[case]), build(CASES[case][1])
    ours = F.jacobian(f, x, strategy=strategy, vectorize=strategy == "forward-mode")
    assert_same(ours, TF.jacobian(ft, xt))


@pytest.mark.parametrize("case", list(CASES))
def test_vjp_and_jvp_match_torch(case):
    (f, ft), (x, xt) = funcs(CASES[case]), build(CASES[case][1])
    v, vt = like(ft(*(xt if isinstance(xt, tuple) else (xt,))), seed=3)
    assert_same(F.vjp(f, x, v), TF.vjp(ft, xt, vt))
    u, ut = like(xt, seed=4)
    assert_same(F.jvp(f, x, u), TF.jvp(ft, xt, ut))


@pytest.mark.parametrize("case", list(SCALAR_CASES))
def test_hessian_vhp_hvp_match_torch(case):
    (f, ft), (x, xt) = funcs(SCALAR_CASES[case]), build(SCALAR_CASES[case][1])
    assert_same(F.hessian(f, x), TF.hessian(ft, xt))
    assert_same(F.hessian(f, x, outer_jacobian_strategy="forward-mode"), TF.hessian(ft, xt))
    v, vt = like(xt, seed=5)
    assert_same(F.vhp(f, x, v), TF.vhp(ft, xt, vt))
    assert_same(F.hvp(f, x, v), TF.hvp(ft, xt, vt))
    assert_same(F.vjp(f, x), TF.vjp(ft, xt))       # v may be left out for a scalar output
    if case == "one_element":                       # ... and for a one-element input
        assert_same(F.jvp(f, x), TF.jvp(ft, xt))
        assert_same(F.hvp(f, x), TF.hvp(ft, xt))


@pytest.mark.parametrize("name", ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"])
def test_create_graph_is_differentiable_again(name):
    """d/dx <result, g> for a random g, through create_graph=True, against torch."""
    fn = SCALAR_CASES["two_inputs"][0] if name in ("hessian", "vhp", "hvp") else \
        CASES["matmul"][0]
    shapes = [(3,), (3,)] if name in ("hessian", "vhp", "hvp") else [(3, 4), (4, 2)]
    x, xt = build(shapes, requires_grad=True)
    extra, extra_t = (), ()
    if name != "jacobian" and name != "hessian":
        ref = xt if name != "vjp" else fn(torch, *xt)
        v, vt = like(ref, seed=6)
        extra, extra_t = (v,), (vt,)
    ours = getattr(F, name)(lambda *a: fn(tl, *a), x, *extra, create_graph=True)
    theirs = getattr(TF, name)(lambda *a: fn(torch, *a), xt, *extra_t, create_graph=True)
    assert_same(ours, theirs, detached=False)
    flat, flat_t = [], []
    stack = [(ours, theirs)]
    while stack:
        a, b = stack.pop()
        if isinstance(b, tuple):
            stack.extend(zip(a, b))
        elif b.requires_grad:
            assert a.requires_grad, "create_graph=True result is not differentiable"
            flat.append(a)
            flat_t.append(b)
    g, gt = like(tuple(flat_t), seed=8)
    total = sum(((a * w).sum() for a, w in zip(flat, g)), tl.tensor(0.0))
    total_t = sum((b * w).sum() for b, w in zip(flat_t, gt))
    got = tl.autograd.grad(total, x, allow_unused=True)
    want = torch.autograd.grad(total_t, xt, allow_unused=True)
    for a, b in zip(got, want):
        if b is None:
            assert a is None or not to_numpy(a).any()
        else:
            np.testing.assert_allclose(to_numpy(a), to_numpy(b), **TOL)


def test_callers_tensors_are_not_touched():
    x = tl.tensor(np.arange(3.0))
    w = tl.tensor(np.ones(3), requires_grad=True)
    F.jacobian(lambda a, b: a * b, (x, w))
    F.hessian(lambda a, b: (a * a * b).sum(), (x, w))
    assert not x.requires_grad and x.grad is None and w.grad is None
    assert w.requires_grad and w.grad_fn is None


def test_works_under_no_grad():
    x, xt = build((4,))
    with tl.no_grad():
        ours = F.hessian(lambda a: (a.exp() * a).sum(), x)
        j = F.jacobian(lambda a: a.sin(), x, create_graph=True)
    assert_same(ours, TF.hessian(lambda a: (a.exp() * a).sum(), xt))
    assert_same(j, TF.jacobian(lambda a: a.sin(), xt), detached=False)


def test_jacobian_on_device(device):
    x = tl.tensor(np.linspace(-1, 1, 4), device=device)
    j = F.jacobian(lambda a: a.tanh(), x)
    assert j.device == x.device
    np.testing.assert_allclose(to_numpy(j), np.diag(1 - np.tanh(np.linspace(-1, 1, 4)) ** 2),
                               **TOL)


INDEPENDENT = {   # an output that ignores an input, an output with no graph, a linear function
    "ignores_y": (lambda lib, x, y: (x.exp(), x * 2.0), [(3,), (2,)]),
    "no_graph": (lambda lib, x: x.detach() * 2.0, (3,)),
    "linear": (lambda lib, x: (x * 3.0).sum(), (3,)),
}


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("case", list(INDEPENDENT))
def test_strict_like_torch(case, strict):
    """strict=False: zeros where torch gives zeros; strict=True: a RuntimeError where torch
    raises one (the message names our function)."""
    (f, ft), (x, xt) = funcs(INDEPENDENT[case]), build(INDEPENDENT[case][1])
    outs = ft(*(xt if isinstance(xt, tuple) else (xt,)))
    v, vt = like(outs, seed=9)
    u, ut = like(xt, seed=10)
    both("jacobian", (f, x), (ft, xt), strict=strict)
    both("vjp", (f, x, v), (ft, xt, vt), strict=strict)
    both("jvp", (f, x, u), (ft, xt, ut), strict=strict)
    both("jacobian", (f, x), (ft, xt), strict=strict, create_graph=True)
    if case == "linear":
        both("hessian", (f, x), (ft, xt), strict=strict)
        both("vhp", (f, x, u), (ft, xt, ut), strict=strict)
        both("hvp", (f, x, u), (ft, xt, ut), strict=strict)


def test_strict_forward_mode_is_not_implemented():
    with pytest.raises(NotImplementedError, match="jacobian: strict=True .*forward-mode"):
        F.jacobian(lambda a: a * 2.0, tl.tensor([1.0, 2.0]), strict=True,
                   strategy="forward-mode")


@pytest.mark.parametrize("call, err, match", [
    (lambda x: F.vjp(lambda a: a.exp(), x, tl.tensor(np.ones(2))), RuntimeError,
     r"vjp: v\[0\] has shape \(2,\) but output 0 has shape \(3,\)"),
    (lambda x: F.vjp(lambda a: (a, a), x, tl.tensor(np.ones(3))), RuntimeError,
     "vjp: v has 1 tensor.* but there are 2 outputs"),
    (lambda x: F.vjp(lambda a: a.exp(), x), RuntimeError,
     r"vjp: v may be None only .* output shapes \[\(3,\)\]"),
    (lambda x: F.jvp(lambda a: a.exp(), x, tl.tensor(np.ones((3, 1)))), RuntimeError,
     r"jvp: v\[0\] has shape \(3, 1\) but input 0 has shape \(3,\)"),
    (lambda x: F.hvp(lambda a: a.sum(), x, tl.tensor(np.ones(4))), RuntimeError,
     r"hvp: v\[0\] has shape \(4,\)"),
    (lambda x: F.vhp(lambda a: a.exp(), x, x), RuntimeError,
     r"vhp: func must return a one-element tensor, got shape \(3,\)"),
    (lambda x: F.hessian(lambda a: a * a, x), RuntimeError,
     r"hessian: func must return a one-element tensor, got shape \(3,\)"),
    (lambda x: F.hessian(lambda a: (a.sum(), a.sum()), x), RuntimeError,
     "hessian: func must return a single Tensor"),
    (lambda x: F.jacobian(lambda a: 3.0, x), TypeError,
     "jacobian: the outputs of func must be a Tensor or a tuple of Tensors, got float"),
    (lambda x: F.jvp(lambda a: a, [x], x), TypeError,
     "jvp: inputs must be a Tensor or a tuple of Tensors, got list"),
    (lambda x: F.jacobian(lambda a: a, x, strategy="sideways"), ValueError,
     "jacobian: strategy must be 'reverse-mode' or 'forward-mode', got 'sideways'"),
])
def test_bad_arguments_name_the_function(call, err, match):
    with pytest.raises(err, match=match):
        call(tl.tensor(np.ones(3)))
