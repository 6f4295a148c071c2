"""What the newer optimizers share: the start of every step, the Adam family's checks, and the
base of Adam's relatives (Adamax, NAdam, RAdam) with their shared moment update."""
from __future__ import annotations

from typing import Any

from .. import backend
from .._checks import is_finite_at_least
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _check, _lerp_, _state_tensor, _step_tensor


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


class _AdamLike(Optimizer):
    """Checks, defaults and the common start of the step; subclasses write `_adam_update`."""

    _second_moment = "exp_avg_sq"      # the state name of the second-moment buffer

    def __init__(self, params: ParamsT, lr, betas, eps, weight_decay, maximize, **extra):
        betas = check_adam_args(type(self).__name__, lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, **extra,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p: Tensor, grad, group: dict[str, Any], state: dict[str, Any]) -> None:
        if not state:
            self._init_state(p, state)
        grad, step = begin_step(p, grad, group, state, group.get("decoupled_weight_decay", False))
        beta1, beta2 = (float(b) for b in group["betas"])
        self._adam_update(p, grad, state, step, float(group["lr"]), beta1, beta2,
                          float(group["eps"]), group)

    def _init_state(self, p: Tensor, state: dict[str, Any]) -> None:
        """step = 0 and zeroed first and second moments."""
        xp = backend.array_module(p._data)
        state["step"] = _step_tensor()
        state["exp_avg"] = _state_tensor(xp.zeros_like(p._data))
        state[self._second_moment] = _state_tensor(xp.zeros_like(p._data))

    def _adam_update(self, p: Tensor, grad, state: dict[str, Any], step: float, lr: float,
                     beta1: float, beta2: float, eps: float, group: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement _adam_update")


def _moments(state: dict[str, Any], grad, beta1: float, beta2: float) -> tuple:
    """m = lerp(m, g, 1 - b1);  v = b2 * v + (1 - b2) * g^2; returns (m, v), updated in place."""
    m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
    _lerp_(m, grad, 1.0 - beta1)
    v *= beta2
    v += (1.0 - beta2) * grad * grad     # torch's addcmul order: (value * g) * g
    return m, v
