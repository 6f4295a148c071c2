"""Rprop: a step size per coordinate, grown or shrunk by the sign agreement of successive grads."""
from __future__ import annotations

from typing import Any

from .. import backend
from .._checks import is_finite_at_least
from ..tensor import Tensor
from ._common import begin_step
from .optimizer import Optimizer, ParamsT, _check, _state_tensor, _step_tensor


class Rprop(Optimizer):
    """Resilient backpropagation (Riedmiller & Braun, 1993), torch's update.

    s = sign(g * g_prev);  step_size = clip(step_size * (eta+ if s > 0, eta- if s < 0,
    else 1), step_sizes);  where s < 0 the gradient counts as 0;  p -= sign(g) * step_size
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, etas: tuple = (0.5, 1.2),
                 step_sizes: tuple = (1e-6, 50), *, maximize: bool = False):
        _check("Rprop", "learning rate", lr, is_finite_at_least(lr))
        if len(etas) != 2 or not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Rprop: invalid eta values {etas!r}; need 0 < etaminus < 1 < "
                             "etaplus")
        if len(step_sizes) != 2 or not 0.0 <= step_sizes[0] <= step_sizes[1]:
            raise ValueError(f"Rprop: invalid step_sizes {step_sizes!r}; need "
                             "0 <= min_step <= max_step")
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p: Tensor, grad, group: dict[str, Any], state: dict[str, Any]) -> None:
        xp = backend.array_module(p._data)
        if not state:
            state["step"] = _step_tensor()
            state["prev"] = _state_tensor(xp.zeros_like(p._data))
            state["step_size"] = _state_tensor(xp.full_like(p._data, float(group["lr"])))
        etaminus, etaplus = (float(e) for e in group["etas"])
        step_min, step_max = (float(s) for s in group["step_sizes"])
        grad, _ = begin_step(p, grad, group, state)
        prev, step_size = state["prev"]._data, state["step_size"]._data
        agree = xp.sign(grad * prev)
        factor = xp.where(agree > 0, etaplus, xp.where(agree < 0, etaminus, 1.0))
        step_size *= factor.astype(step_size.dtype, copy=False)
        xp.clip(step_size, step_min, step_max, out=step_size)
        # after a sign change the step is skipped and the change is forgotten
        grad = xp.where(agree < 0, 0, grad).astype(p._data.dtype, copy=False)
        p._data -= xp.sign(grad) * step_size
        prev[...] = grad
