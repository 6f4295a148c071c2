"""ASGD: SGD with a decaying step and a running (Polyak) average of the iterates."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from .._checks import is_finite_at_least
from ..tensor import Tensor
from ._common import begin_step
from .optimizer import Optimizer, ParamsT, _check, _state_tensor, _step_tensor


class ASGD(Optimizer):
    """Averaged SGD (Polyak & Juditsky, 1992), torch's update.

    p = p * (1 - lambd * eta) - eta * g;  ax = p while mu == 1, else ax += mu * (p - ax);
    eta = lr / (1 + lambd * lr * t)^alpha;  mu = 1 / max(1, t - t0)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lambd: float = 1e-4,
                 alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0.0,
                 *, maximize: bool = False):
        _check("ASGD", "learning rate", lr, is_finite_at_least(lr))
        _check("ASGD", "weight_decay value", weight_decay, weight_decay >= 0.0)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p: Tensor, grad, group: dict[str, Any], state: dict[str, Any]) -> None:
        xp = backend.array_module(p._data)
        lr = float(group["lr"])
        if not state:
            state["step"] = _step_tensor()
            # eta and mu are float32 scalars in torch; their rounding is part of the update
            state["eta"] = _step_tensor(lr)
            state["mu"] = _step_tensor(1.0)
            state["ax"] = _state_tensor(xp.zeros_like(p._data))
        lambd, alpha, t0 = float(group["lambd"]), float(group["alpha"]), float(group["t0"])
        grad, step = begin_step(p, grad, group, state)
        eta, mu = float(state["eta"]._data), float(state["mu"]._data)
        p._data *= 1.0 - lambd * eta
        p._data -= eta * grad
        ax = state["ax"]._data
        if mu != 1.0:
            ax += (p._data - ax) * mu
        else:
            ax[...] = p._data
        # torch builds the new values as float32 tensors, so they are rounded to float32 even
        # where a loaded state_dict made eta and mu float64
        state["eta"]._data[...] = np.float32(lr / (1.0 + lambd * lr * step) ** alpha)
        state["mu"]._data[...] = np.float32(1.0 / max(1.0, step - t0))
