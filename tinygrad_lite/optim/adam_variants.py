"""Adam's relatives from torch.optim: Adamax (infinity norm), NAdam (Nesterov), RAdam (rectified).

Each follows torch's single-tensor update (foreach=False) term by term, so float64 runs agree
with torch to rounding.
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Tensor
from ._common import begin_step, check_adam_args
from .optimizer import Optimizer, ParamsT, _check, _lerp_, _state_tensor, _step_tensor


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
