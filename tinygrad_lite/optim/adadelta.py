"""Adadelta: a learning rate per coordinate from running averages of g^2 and of the updates."""
from __future__ import annotations

from typing import Any

from .. import backend
from .._checks import is_finite_at_least
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _check, _state_tensor, _step_tensor


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012), torch's update.

    v = rho * v + (1 - rho) * g^2;  d = sqrt(u + eps) / sqrt(v + eps) * g;
    u = rho * u + (1 - rho) * d^2;  p -= lr * d
    """

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, *, maximize: bool = False):
        _check("Adadelta", "learning rate", lr, is_finite_at_least(lr))
        _check("Adadelta", "rho value", rho, 0.0 <= rho <= 1.0)
        _check("Adadelta", "epsilon value", eps, eps >= 0.0)
        _check("Adadelta", "weight_decay value", weight_decay, weight_decay >= 0.0)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p: Tensor, grad, group: dict[str, Any], state: dict[str, Any]) -> None:
        xp = backend.array_module(p._data)
        if not state:
            state["step"] = _step_tensor()
            state["square_avg"] = _state_tensor(xp.zeros_like(p._data))
            state["acc_delta"] = _state_tensor(xp.zeros_like(p._data))
        lr, rho = float(group["lr"]), float(group["rho"])
        eps, wd = float(group["eps"]), float(group["weight_decay"])
        state["step"]._data += 1
        if group["maximize"]:
            grad = -grad
        if wd != 0:
            grad = grad + wd * p._data
        v, u = state["square_avg"]._data, state["acc_delta"]._data
        v *= rho
        v += (1.0 - rho) * (grad * grad)
        delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * grad
        u *= rho
        u += (1.0 - rho) * (delta * delta)
        p._data -= lr * delta
