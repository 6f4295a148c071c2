"""Adam (L2 weight decay folded into the gradient) and AdamW (decoupled weight decay)."""
from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..tensor import Tensor
from ._common import check_adam_args
from .optimizer import Optimizer, ParamsT, _lerp_, _state_tensor, _step_tensor


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2014), torch's update.

    m = lerp(m, g, 1 - b1);  v = b2 * v + (1 - b2) * g^2;  (amsgrad: v_max = max(v_max, v))
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    """

    _decoupled = False

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False,
                 *, maximize: bool = False):
        betas = check_adam_args(type(self).__name__, lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, p: Tensor, grad, group: dict[str, Any], state: dict[str, Any]) -> None:
        xp = backend.array_module(p._data)
        if not state:
            state["step"] = _step_tensor()
            state["exp_avg"] = _state_tensor(xp.zeros_like(p._data))
            state["exp_avg_sq"] = _state_tensor(xp.zeros_like(p._data))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = _state_tensor(xp.zeros_like(p._data))
        # Python floats throughout: they act as weak scalars, so float32 stays float32.
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        if group["maximize"]:
            grad = -grad
        state["step"]._data += 1
        step = float(state["step"]._data)
        if wd != 0:
            if self._decoupled:
                p._data *= 1.0 - lr * wd
            else:
                grad = grad + wd * p._data
        m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
        _lerp_(m, grad, 1.0 - beta1)
        # in place with one scratch array: a training step should not allocate a temporary
        # the size of every parameter per term
        sq = xp.multiply(grad, grad, out=xp.empty_like(v))   # out=: stays an array even 0-d
        sq *= 1.0 - beta2
        v *= beta2
        v += sq
        step_size = lr / (1.0 - beta1 ** step)
        bias_correction2_sqrt = math.sqrt(1.0 - beta2 ** step)
        if group["amsgrad"]:
            if "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = _state_tensor(xp.zeros_like(p._data))
            v_max = state["max_exp_avg_sq"]._data
            xp.maximum(v_max, v, out=v_max)
            v = v_max
        update = xp.sqrt(v, out=sq)         # sq is free again: reuse it
        update /= bias_correction2_sqrt
        update += eps
        xp.divide(m, update, out=update)
        update *= step_size
        p._data -= update
