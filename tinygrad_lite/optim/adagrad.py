"""Adagrad with learning-rate decay and an initial accumulator value."""
from __future__ import annotations

from typing import Any

from .. import backend
from .._checks import is_finite_at_least
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _check, _state_tensor, _step_tensor


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011), torch's update.

    s += g^2;  p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False):
        _check("Adagrad", "learning rate", lr, is_finite_at_least(lr))
        _check("Adagrad", "lr_decay value", lr_decay, lr_decay >= 0.0)
        _check("Adagrad", "weight_decay value", weight_decay, weight_decay >= 0.0)
        _check("Adagrad", "initial_accumulator_value", initial_accumulator_value,
               initial_accumulator_value >= 0.0)
        _check("Adagrad", "epsilon value", eps, eps >= 0.0)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)
        # torch fills the accumulators up front, so a fresh state_dict already lists them.
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group, self.state.setdefault(p, {}))

    @staticmethod
    def _init_state(p: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        xp = backend.array_module(p._data)
        state["step"] = _step_tensor()
        init = float(group["initial_accumulator_value"])
        state["sum"] = _state_tensor(xp.full_like(p._data, init))

    def _update(self, p: Tensor, grad, group: dict[str, Any], state: dict[str, Any]) -> None:
        xp = backend.array_module(p._data)
        if not state:
            self._init_state(p, group, state)
        lr, lr_decay = float(group["lr"]), float(group["lr_decay"])
        eps, wd = float(group["eps"]), float(group["weight_decay"])
        state["step"]._data += 1
        step = float(state["step"]._data)
        if group["maximize"]:
            grad = -grad
        if wd != 0:
            grad = grad + wd * p._data
        clr = lr / (1.0 + (step - 1.0) * lr_decay)
        s = state["sum"]._data
        s += grad * grad
        std = xp.sqrt(s)
        std += eps
        p._data -= clr * (grad / std)
