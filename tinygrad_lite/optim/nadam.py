"""NAdam (torch.optim.nadam): Adam with Nesterov momentum.

It follows torch's single-tensor update (foreach=False) term by term, so float64 runs agree with
torch to rounding.
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Tensor
from ._common import _AdamLike, _moments
from .optimizer import ParamsT, _check, _step_tensor


class NAdam(_AdamLike):
    """NAdam (Dozat, 2016) with torch's momentum schedule.

    mu_t = b1 * (1 - 0.5 * 0.96^(t * momentum_decay));  P_t = mu_1 ... mu_t;
    d = sqrt(v / (1 - b2^t)) + eps;
    p -= lr * (1 - mu_t) / (1 - P_t) * g / d + lr * mu_{t+1} / (1 - P_t mu_{t+1}) * m / d
    """

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False):
        _check("NAdam", "momentum_decay value", momentum_decay, momentum_decay >= 0.0)
        super().__init__(params, lr, betas, eps, weight_decay, maximize,
                         momentum_decay=momentum_decay,
                         decoupled_weight_decay=decoupled_weight_decay)

    def _init_state(self, p: Tensor, state: dict[str, Any]) -> None:
        super()._init_state(p, state)
        # a float32 scalar on the CPU, as torch keeps it: its rounding is part of the rule
        state["mu_product"] = _step_tensor(1.0)

    def _adam_update(self, p, grad, state, step, lr, beta1, beta2, eps, group) -> None:
        xp = backend.array_module(p._data)
        psi = float(group["momentum_decay"])
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1.0) * psi))
        state["mu_product"]._data *= mu
        mu_product = float(state["mu_product"]._data)
        m, v = _moments(state, grad, beta1, beta2)
        denom = xp.sqrt(v / (1.0 - beta2 ** step))
        denom += eps
        p._data -= lr * (1.0 - mu) / (1.0 - mu_product) * (grad / denom)
        p._data -= lr * mu_next / (1.0 - mu_product * mu_next) * (m / denom)
