"""Finite-difference checks of backward, in float64, against a random upstream gradient.

A plain `.sum()` upstream gradient would hide a wrong scale or a transposed gradient that sums to
the same number, so every check contracts the output with a random tensor `v` first.
"""
from __future__ import annotations

import numpy as np

from . import function as _function
from ..dtypes import is_floating


class GradcheckError(AssertionError):
    pass


def _name(fn) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


def _contract(fn, inputs, v):
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    total = None
    for o, w in zip(outs, v):
        if o is None or w is None:
            continue
        term = (o * w).sum()
        total = term if total is None else total + term
    return total


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0, raise_exception: bool = True, nondet_tol: float = 0.0) -> bool:
    """Compare backward with central differences for every float64 input that requires grad."""
    Tensor = _function.Tensor    # bound by tensor.py (autograd never imports it)
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64:
            raise GradcheckError(f"gradcheck({_name(fn)}): input {i} is {t.dtype}; "
                                 "finite differences need float64")
    rng = np.random.default_rng(seed)
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    v = []
    for o in outs:
        if isinstance(o, Tensor) and is_floating(o.dtype):
            w = rng.standard_normal(o.shape)
            v.append(Tensor(w, dtype=o.dtype, device=o.device))
        else:
            v.append(None)
    diff_pos = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    diff = [inputs[i] for i in diff_pos]
    for t in diff:
        t.grad = None
        if not t._data.flags.c_contiguous:
            t._data = t._data.copy()
    total = _contract(fn, inputs, v)
    from . import grad as autograd_grad
    if total is None or not total.requires_grad:
        # the output does not depend on any input (a constant first derivative, say): all zero
        analytic = (None,) * len(diff)
    else:
        analytic = autograd_grad(total, diff, allow_unused=True)
    for idx, t in enumerate(diff):
        a = np.zeros(t.shape) if analytic[idx] is None else \
            np.asarray(analytic[idx].detach().numpy(), dtype=np.float64)
        num = np.zeros(t.shape)
        flat = t._data.reshape(-1)        # a view: writes go into t._data
        for j in range(flat.size):
            old = flat[j].item()
            flat[j] = old + eps
            plus = _contract(fn, inputs, v).item()
            flat[j] = old - eps
            minus = _contract(fn, inputs, v).item()
            flat[j] = old
            num.reshape(-1)[j] = (plus - minus) / (2 * eps)
        err = np.abs(a - num)
        bad = err > atol + rtol * np.abs(num)
        if bad.any():
            k = int(np.argmax(np.where(bad, err, -1)))
            pos = np.unravel_index(k, t.shape) if t.ndim else ()
            rel = float(err.reshape(-1)[k] / max(abs(num.reshape(-1)[k]), 1e-12))
            msg = (f"gradcheck({_name(fn)}): input {diff_pos[idx]} "
                   f"element {tuple(int(p) for p in pos)}: analytic {a.reshape(-1)[k]:.6g} vs "
                   f"numeric {num.reshape(-1)[k]:.6g}; max abs error {float(err.max()):.3g}, "
                   f"relative error there {rel:.3g}")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  seed: int = 0, raise_exception: bool = True) -> bool:
    """Check second derivatives: gradcheck of (inputs -> grad of <fn(inputs), v>)."""
    Tensor = _function.Tensor    # bound by tensor.py (autograd never imports it)
    from . import grad as autograd_grad
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    rng = np.random.default_rng(seed + 1)
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    v = [Tensor(rng.standard_normal(o.shape), dtype=o.dtype, device=o.device) for o in outs]
    diff_idx = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]

    def first_grads(*xs):
        diff = [xs[i] for i in diff_idx]
        total = _contract(fn, xs, v)
        gs = autograd_grad(total, diff, create_graph=True, allow_unused=True)
        return tuple(g if g is not None else d * 0.0 for g, d in zip(gs, diff))

    first_grads.__name__ = f"grad of {_name(fn)}"
    return gradcheck(first_grads, inputs, eps, atol, rtol, seed + 2, raise_exception)
