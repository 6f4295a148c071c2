"""What the newer optimizers share: the start of every step and the Adam family's checks."""
from __future__ import annotations

from typing import Any

from .._checks import is_finite_at_least
from ..tensor import Tensor
from .optimizer import _check


def begin_step(p: Tensor, grad, group: dict[str, Any], state: dict[str, Any],
               decoupled: bool = False) -> tuple:
    """Negate the gradient for maximize, count the step, apply weight decay; torch's order.

    Weight decay either shrinks p (decoupled, AdamW style) or adds wd * p to the gradient (L2).
    Returns (gradient, step number).
    """
    if group["maximize"]:
        grad = -grad
    state["step"]._data += 1
    lr, wd = float(group["lr"]), float(group.get("weight_decay", 0.0))
    if wd != 0:
        if decoupled:
            p._data *= 1.0 - lr * wd
        else:
            grad = grad + wd * p._data
    return grad, float(state["step"]._data)


def check_adam_args(name: str, lr, betas, eps, weight_decay) -> tuple:
    """The checks every Adam-like optimizer makes; returns betas as a tuple."""
    _check(name, "learning rate", lr, is_finite_at_least(lr))
    _check(name, "epsilon value", eps, is_finite_at_least(eps))
    if len(betas) != 2:
        raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
    _check(name, "beta parameter at index 0", betas[0], 0.0 <= betas[0] < 1.0)
    _check(name, "beta parameter at index 1", betas[1], 0.0 <= betas[1] < 1.0)
    _check(name, "weight_decay value", weight_decay, weight_decay >= 0.0)
    return tuple(betas)
