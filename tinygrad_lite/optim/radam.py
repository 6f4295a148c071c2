"""RAdam (torch.optim.radam): Adam with its variance rectified.

It follows torch's single-tensor update (foreach=False) term by term, so float64 runs agree with
torch to rounding.
"""
from __future__ import annotations

from .. import backend
from ._common import _AdamLike, _moments
from .optimizer import ParamsT


class RAdam(_AdamLike):
    """RAdam (Liu et al., 2019), torch's update.

    rho_inf = 2 / (1 - b2) - 1;  rho_t = rho_inf - 2 t b2^t / (1 - b2^t);
    rho_t > 5: p -= lr * m / (1 - b1^t) * sqrt(1 - b2^t) / (sqrt(v) + eps) * r_t, with
    r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t));
    otherwise p -= lr * m / (1 - b1^t)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, maximize,
                         decoupled_weight_decay=decoupled_weight_decay)

    def _adam_update(self, p, grad, state, step, lr, beta1, beta2, eps, group) -> None:
        xp = backend.array_module(p._data)
        m, v = _moments(state, grad, beta1, beta2)
        bias_correction2 = 1.0 - beta2 ** step
        corrected = m / (1.0 - beta1 ** step)
        rho_inf = 2.0 / (1.0 - beta2) - 1.0
        rho_t = rho_inf - 2.0 * step * beta2 ** step / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                    / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)) ** 0.5
            adaptive = xp.sqrt(v)
            adaptive += eps
            adaptive = bias_correction2 ** 0.5 / adaptive
            corrected *= lr
            corrected *= adaptive
            corrected *= rect
            p._data -= corrected
        else:
            p._data -= corrected * lr
