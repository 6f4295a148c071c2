"""Adamax (torch.optim.adamax): Adam with the infinity norm of past gradients.

It follows torch's single-tensor update (foreach=False) term by term, so float64 runs agree with
torch to rounding.
"""
from __future__ import annotations

from .. import backend
from ._common import _AdamLike
from .optimizer import ParamsT, _lerp_


class Adamax(_AdamLike):
    """Adamax (Kingma & Ba, 2014, section 7), torch's update.

    m = lerp(m, g, 1 - b1);  u = max(b2 * u, |g| + eps);  p -= lr / (1 - b1^t) * m / u
    """

    _second_moment = "exp_inf"

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, *, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, maximize)

    def _adam_update(self, p, grad, state, step, lr, beta1, beta2, eps, group) -> None:
        xp = backend.array_module(p._data)
        m, u = state["exp_avg"]._data, state["exp_inf"]._data
        _lerp_(m, grad, 1.0 - beta1)
        u *= beta2
        bound = xp.abs(grad)
        bound += eps
        xp.maximum(u, bound, out=u)
        p._data -= lr / (1.0 - beta1 ** step) * (m / u)
