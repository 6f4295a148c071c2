"""SGD with momentum, dampening, Nesterov momentum, L2 weight decay and maximize."""
from __future__ import annotations

from typing import Any

from .. import backend
from .._checks import is_finite_at_least
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _check, _state_tensor


class SGD(Optimizer):
    """Stochastic gradient descent, torch's form of momentum.

    g = grad (+ weight_decay * p);
    b = g on the first step, else momentum * b + (1 - dampening) * g;
    d = g + momentum * b (nesterov) or b;  p -= lr * d.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False):
        _check("SGD", "learning rate", lr, is_finite_at_least(lr))
        _check("SGD", "momentum value", momentum, momentum >= 0.0)
        _check("SGD", "weight_decay value", weight_decay, weight_decay >= 0.0)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"SGD: Nesterov momentum needs momentum > 0 and dampening 0, got "
                             f"momentum={momentum!r}, dampening={dampening!r}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p: Tensor, grad, group: dict[str, Any], state: dict[str, Any]) -> None:
        xp = backend.array_module(p._data)
        lr, momentum = float(group["lr"]), float(group["momentum"])
        wd = float(group["weight_decay"])
        if group["maximize"]:
            grad = -grad
        if wd != 0:
            grad = grad + wd * p._data
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = _state_tensor(xp.array(grad, copy=True))
            else:
                b = buf._data
                b *= momentum
                b += (1.0 - float(group["dampening"])) * grad
            grad = grad + momentum * buf._data if group["nesterov"] else buf._data
        p._data -= lr * grad
