"""Test helpers: PyTorch parity with a random upstream gradient, and tensor builders."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch", reason="torch is needed for the parity tests "
                                           "(pip install -e '.[test]')")

TOL = {np.float64: dict(rtol=1e-7, atol=1e-9), np.float32: dict(rtol=1e-4, atol=1e-5)}


def to_torch(t: tl.Tensor, requires_grad=None):
    a = np.array(t.detach().numpy(), copy=True)
    out = torch.from_numpy(a)
    if requires_grad if requires_grad is not None else t.requires_grad:
        out.requires_grad_(True)
    return out


def to_numpy(x) -> np.ndarray:
    if isinstance(x, tl.Tensor):
        return np.asarray(x.detach().numpy())
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy(force=True)
    return np.asarray(x)


def assert_close(ours, theirs, dtype=np.float64, rtol=None, atol=None, msg=""):
    tol = dict(TOL[np.dtype(dtype).type])
    if rtol is not None:
        tol["rtol"] = rtol
    if atol is not None:
        tol["atol"] = atol
    a, b = to_numpy(ours), to_numpy(theirs)
    assert a.shape == b.shape, f"{msg} shape {a.shape} != {b.shape}"
    np.testing.assert_allclose(a, b, err_msg=msg, **tol)


def make(shape, dtype=np.float64, device="cpu", low=-2.0, high=2.0, requires_grad=True, rng=None,
         away_from=None):
    """A random tensor; `away_from` keeps values at least 0.05 from the given kink points."""
    rng = rng or np.random.default_rng(0)
    a = rng.uniform(low, high, size=shape)
    if away_from is not None:
        for k in np.atleast_1d(away_from):
            close = np.abs(a - k) < 0.05
            a[close] = k + 0.1 * np.where(a[close] >= k, 1, -1)
    t = tl.tensor(a.astype(dtype), device=device)
    return t.requires_grad_(True) if requires_grad else t


def check_vs_torch(fn, shapes=None, inputs=None, torch_fn=None, dtype=np.float64, device="cpu",
                   low=-2.0, high=2.0, seed=0, rtol=None, atol=None, away_from=None,
                   grad_inputs=None):
    """Run fn on our tensors and torch_fn (default: fn) on torch copies; compare the outputs and
    the gradients of <output, g> for a random g, so a wrong scale or a transposed gradient shows."""
    rng = np.random.default_rng(seed)
    if inputs is None:
        inputs = [make(s, dtype, device, low, high, rng=rng, away_from=away_from) for s in shapes]
    # the upstream gradients live where the inputs do, whatever `device` the caller passed
    device = next((t.device for t in inputs if isinstance(t, tl.Tensor)), device)
    if grad_inputs is not None:
        for i, t in enumerate(inputs):
            if isinstance(t, tl.Tensor) and i not in grad_inputs and t.requires_grad:
                t.requires_grad = False
    theirs_in = [to_torch(t) if isinstance(t, tl.Tensor) else t for t in inputs]
    out = fn(*inputs)
    out_t = (torch_fn or fn)(*theirs_in)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    outs_t = out_t if isinstance(out_t, (tuple, list)) else (out_t,)
    total, total_t = None, None
    for i, (o, ot) in enumerate(zip(outs, outs_t)):
        assert_close(o, ot, dtype, rtol, atol, msg=f"forward output {i}")
        if isinstance(o, tl.Tensor) and isinstance(ot, torch.Tensor) and ot.is_floating_point():
            assert str(o.dtype) == str(ot.dtype).replace("torch.", ""), \
                f"forward output {i}: dtype {o.dtype} but torch gives {ot.dtype}"
        if isinstance(o, tl.Tensor) and o.requires_grad:
            g = rng.standard_normal(o.shape).astype(dtype)
            term = (o * tl.tensor(g, device=device)).sum()
            term_t = (ot * torch.from_numpy(g)).sum()
            total = term if total is None else total + term
            total_t = term_t if total_t is None else total_t + term_t
    if total is None:
        return out
    total.backward()
    total_t.backward()
    for i, (t, tt) in enumerate(zip(inputs, theirs_in)):
        if isinstance(t, tl.Tensor) and t.requires_grad:
            if tt.grad is None:
                assert t.grad is None or np.all(to_numpy(t.grad) == 0), f"input {i} grad"
                continue
            assert t.grad is not None, f"input {i}: no gradient reached it"
            assert t.grad.dtype == t.dtype, f"input {i}: grad dtype {t.grad.dtype} != {t.dtype}"
            assert_close(t.grad, tt.grad, dtype, rtol, atol, msg=f"gradient of input {i}")
    return out


def check_hvp_vs_torch(fn, shapes=None, inputs=None, torch_fn=None, device="cpu", low=-2.0,
                       high=2.0, seed=0, rtol=1e-6, atol=1e-8, away_from=None):
    """Second derivatives against torch in float64: with random v and u, compare
    d/dx <d<fn(x), v>/dx, u> (a Hessian-vector product through create_graph=True)."""
    rng = np.random.default_rng(seed)
    if inputs is None:
        inputs = [make(s, np.float64, device, low, high, rng=rng, away_from=away_from)
                  for s in shapes]
    diff = [t for t in inputs if isinstance(t, tl.Tensor) and t.requires_grad]
    theirs_in = [to_torch(t) if isinstance(t, tl.Tensor) else t for t in inputs]
    diff_t = [t for t in theirs_in if isinstance(t, torch.Tensor) and t.requires_grad]
    out, out_t = fn(*inputs), (torch_fn or fn)(*theirs_in)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    outs_t = out_t if isinstance(out_t, (tuple, list)) else (out_t,)
    total, total_t = 0.0, 0.0
    for o, ot in zip(outs, outs_t):
        if isinstance(o, tl.Tensor) and o.requires_grad:
            v = rng.standard_normal(o.shape)
            total = total + (o * tl.tensor(v, device=device)).sum()
            total_t = total_t + (ot * torch.from_numpy(v)).sum()
    grads = tl.autograd.grad(total, diff, create_graph=True, allow_unused=True)
    grads_t = torch.autograd.grad(total_t, diff_t, create_graph=True, allow_unused=True)
    second, second_t = 0.0, 0.0
    for g, gt, x in zip(grads, grads_t, diff):
        if gt is not None:
            assert g is not None, "first derivative missing"
            assert_close(g, gt, np.float64, rtol, atol, msg="first derivative")
            u = rng.standard_normal(tuple(x.shape))
            if g.requires_grad:
                second = second + (g * tl.tensor(u, device=device)).sum()
            if gt.requires_grad:
                second_t = second_t + (gt * torch.from_numpy(u)).sum()
    hv = (tl.autograd.grad(second, diff, allow_unused=True)
          if isinstance(second, tl.Tensor) and second.requires_grad else (None,) * len(diff))
    hv_t = (torch.autograd.grad(second_t, diff_t, allow_unused=True)
            if isinstance(second_t, torch.Tensor) and second_t.requires_grad
            else (None,) * len(diff_t))
    for i, (h, ht, x) in enumerate(zip(hv, hv_t, diff)):
        want = np.zeros(tuple(x.shape)) if ht is None else to_numpy(ht)
        got = np.zeros(tuple(x.shape)) if h is None else to_numpy(h)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol,
                                   err_msg=f"Hessian-vector product of input {i}")


# -- one call, either library: for tests written once for tinygrad_lite and torch ----------------
def lib_of(x):
    """tinygrad_lite or torch, whichever made x."""
    return tl if isinstance(x, tl.Tensor) else torch


def functional_of(x):
    return tl.nn.functional if isinstance(x, tl.Tensor) else torch.nn.functional


def same_in(x, array, dtype=np.int64):
    """The same tensor in x's library, on x's device."""
    if isinstance(x, tl.Tensor):
        return tl.tensor(np.asarray(array, dtype=dtype), device=x.device)
    return torch.from_numpy(np.asarray(array, dtype=dtype))
