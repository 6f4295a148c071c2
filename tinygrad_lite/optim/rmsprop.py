"""RMSprop, plain or centered, with optional momentum."""
from __future__ import annotations

from typing import Any

from .. import backend
from .._checks import is_finite_at_least
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _check, _lerp_, _state_tensor, _step_tensor


class RMSprop(Optimizer):
    """RMSprop (Hinton), torch's update.

    v = alpha * v + (1 - alpha) * g^2;  centered: m = lerp(m, g, 1 - alpha), v' = v - m^2;
    a = sqrt(v') + eps;  momentum: b = momentum * b + g / a, p -= lr * b;  else p -= lr * g / a
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False):
        _check("RMSprop", "learning rate", lr, is_finite_at_least(lr))
        _check("RMSprop", "epsilon value", eps, eps >= 0.0)
        _check("RMSprop", "momentum value", momentum, momentum >= 0.0)
        _check("RMSprop", "weight_decay value", weight_decay, weight_decay >= 0.0)
        _check("RMSprop", "alpha value", alpha, alpha >= 0.0)
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p: Tensor, grad, group: dict[str, Any], state: dict[str, Any]) -> None:
        xp = backend.array_module(p._data)
        if not state:
            state["step"] = _step_tensor()
            state["square_avg"] = _state_tensor(xp.zeros_like(p._data))
        momentum, centered = float(group["momentum"]), group["centered"]
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = _state_tensor(xp.zeros_like(p._data))
        if centered and "grad_avg" not in state:
            state["grad_avg"] = _state_tensor(xp.zeros_like(p._data))
        lr, alpha = float(group["lr"]), float(group["alpha"])
        eps, wd = float(group["eps"]), float(group["weight_decay"])
        if group["maximize"]:
            grad = -grad
        state["step"]._data += 1
        if wd != 0:
            grad = grad + wd * p._data
        v = state["square_avg"]._data
        v *= alpha
        v += (1.0 - alpha) * (grad * grad)
        if centered:
            m = state["grad_avg"]._data
            _lerp_(m, grad, 1.0 - alpha)
            avg = xp.sqrt(v - m * m)
        else:
            avg = xp.sqrt(v)
        avg += eps
        if momentum > 0:
            buf = state["momentum_buffer"]._data
            buf *= momentum
            buf += grad / avg
            p._data -= lr * buf
        else:
            p._data -= lr * (grad / avg)
