"""Fused loss ops: cross-entropy, binary cross-entropy, BCE-with-logits.

Each is one Function so a training step makes few array passes and few graph nodes. backward has
two paths: a fast one on raw arrays when no graph is being built, and one written in Tensor ops
(taken under create_graph=True) so double backward stays exact. Each op has a plain composed
reference beside it, and tests hold the two together.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.function import constant as _const
from ..autograd.grad_mode import state
from ..backend import array_module
from .pointwise import sigmoid_array


# -- losses -------------------------------------------------------------------------------------
class CrossEntropy(Function):
    """l_i = (1 - s) * w_t * (lse_i - x_it) + s / C * sum_c w_c * (lse_i - x_ic)   (s: smoothing);
    dx_ic = g_i * ((1 - s) * w_t * (p_ic - [c = t]) + s / C * (W p_ic - w_c)),  W = sum_c w_c.

    x is (M, C); target, weight (or None) and the valid mask are constant arrays. reduction
    'mean' divides by the sum of the targets' weights over the rows not ignored, as torch does.
    """

    def forward(self, x, target, weight, valid, smoothing, reduction):
        xp = array_module(x)
        m, c = x.shape
        rows = xp.arange(m)
        mx = x.max(axis=1, keepdims=True)
        safe_t = xp.where(valid, target, 0)
        # lse - x_t as log(s) - (x_t - max): adding the max back first loses the loss at large
        # logits (four equal logits at -1e8 must give log 4, not 0)
        shifted_t = x[rows, safe_t] - mx[:, 0]
        shifted_sum = None
        if smoothing:
            shifted = x - mx
            shifted_sum = shifted.sum(axis=1) if weight is None else shifted @ weight
        e = x - mx
        xp.exp(e, out=e)
        s = e.sum(axis=1)
        log_s = xp.log(s)
        wt = valid.astype(x.dtype) if weight is None else weight[safe_t] * valid
        loss = wt * (log_s - shifted_t)
        if smoothing:
            w_total = c if weight is None else weight.sum()
            smooth = w_total * log_s - shifted_sum
            loss = (1.0 - smoothing) * loss + (smoothing / c) * (smooth * valid)
        denom = wt.sum()
        self.rows, self.safe_t, self.wt, self.valid = rows, safe_t, wt, valid
        self.weight, self.smoothing = weight, smoothing
        self.reduction, self.denom = reduction, denom
        self.save_for_backward(x, e, s)
        if reduction == "none":
            return loss.astype(x.dtype, copy=False)
        total = loss.sum()
        if reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):   # 0/0 = nan, like torch
                total = total / denom
        return xp.asarray(total, dtype=x.dtype)

    def _coefs(self, xp, c, dtype):
        """Per-row multiplier of p, the amount taken from the target entry, and the w_c term."""
        s = self.smoothing
        valid = self.valid.astype(dtype)
        a = (1.0 - s) * self.wt
        w_total = c if self.weight is None else self.weight.sum()
        coef = a + (s / c) * w_total * valid
        return coef.astype(dtype, copy=False), a.astype(dtype, copy=False), valid

    def backward(self, grad):
        x, e, s = self.saved_tensors
        m, c = x.shape
        xp = array_module(x._data)
        dt = x.dtype
        coef, a, valid = self._coefs(xp, c, dt)
        sm = self.smoothing
        if self.reduction == "none":
            gr = grad
        elif self.reduction == "mean":
            gr = grad / _const(xp.asarray(self.denom, dtype=dt))
        else:
            gr = grad
        if not state.grad_enabled:
            g = gr._data.reshape(-1, 1)
            dx = e._data * ((coef / s._data)[:, None] * g)
            dx[self.rows, self.safe_t] -= a * g[:, 0]
            if sm:
                wc = xp.ones(c, dtype=dt) if self.weight is None else self.weight.astype(dt)
                dx -= ((sm / c) * valid)[:, None] * wc[None, :] * g
            return _const(dx), None, None, None
        p = x.softmax(1)
        hot = xp.zeros((m, c), dtype=dt)
        hot[self.rows, self.safe_t] = a
        inner = p * _const(coef[:, None]) - _const(hot)
        if sm:
            wc = xp.ones(c, dtype=dt) if self.weight is None else self.weight.astype(dt)
            inner = inner - _const(((sm / c) * valid)[:, None] * wc[None, :])
        g = gr.reshape(-1, 1) if gr.ndim == 1 else gr
        return inner * g, None, None, None


class BinaryCrossEntropy(Function):
    """l = -(y * max(log x, -100) + (1 - y) * max(log(1 - x), -100));
    dx = (x - y) / max(x (1 - x), 1e-12);  dy = max(log(1 - x), -100) - max(log x, -100)

    As torch: the logs are clamped, and so is dx's denominator, so a probability of exactly 0 or
    1 (sigmoid(20.) in float32) gives 0 where the prediction is right, never NaN."""

    def forward(self, x, y):
        xp = array_module(x)
        with np.errstate(divide="ignore"):                 # log(0) = -inf, clamped next
            log_x = xp.maximum(xp.log(x), -100.0)
            log_1mx = xp.maximum(xp.log1p(-x), -100.0)
        self.dlog = (log_1mx - log_x).astype(x.dtype, copy=False)
        self.save_for_backward(x, y)
        return (-(y * log_x + (1.0 - y) * log_1mx)).astype(x.dtype, copy=False)

    def backward(self, grad):
        x, y = self.saved_tensors
        need_x, need_y = self.needs_input_grad
        if not state.grad_enabled:
            xp = array_module(x._data)
            xa, ya, g = x._data, y._data, grad._data
            gx = g * (xa - ya) / xp.maximum(xa * (1.0 - xa), 1e-12) if need_x else None
            gy = g * self.dlog if need_y else None
            return (None if gx is None else _const(gx.astype(xa.dtype, copy=False)),
                    None if gy is None else _const(gy))
        gx = grad * (x - y) / (x * (1.0 - x)).clamp(min=1e-12) if need_x else None
        gy = grad * _const(self.dlog) if need_y else None
        return gx, gy


class BCEWithLogits(Function):
    """l = w * ((1 - y) * x + (1 + (pw - 1) * y) * softplus(-x));
    dx = w * ((1 - y) - (1 + (pw - 1) * y) * sigmoid(-x));  dy = w * (-x + (pw - 1) * softplus(-x))

    weight and pos_weight are constant arrays (or None) that broadcast against x.
    """

    def forward(self, x, y, weight, pos_weight):
        xp = array_module(x)
        # softplus(-x) = max(-x, 0) + log1p(exp(-|x|)): exp never sees a positive argument
        sp = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
        loss = (1.0 - y) * x
        loss += sp if pos_weight is None else (1.0 + (pos_weight - 1.0) * y) * sp
        if weight is not None:
            loss = loss * weight
        self.weight, self.pos_weight = weight, pos_weight
        self.save_for_backward(x, y)
        return loss.astype(x.dtype, copy=False)

    def backward(self, grad):
        x, y = self.saved_tensors
        need_x, need_y = self.needs_input_grad[:2]
        pw, w = self.pos_weight, self.weight
        if not state.grad_enabled:
            xa, ya, g = x._data, y._data, grad._data
            xp = array_module(xa)
            if w is not None:
                g = g * w
            gx = gy = None
            if need_x:
                lw = 1.0 if pw is None else 1.0 + (pw - 1.0) * ya
                gx = _const(((1.0 - ya) - lw * sigmoid_array(-xa)) * g)
            if need_y:
                d = -xa
                if pw is not None:
                    sp = xp.maximum(-xa, 0) + xp.log1p(xp.exp(-xp.abs(xa)))
                    d = d + (pw - 1.0) * sp
                gy = _const(d * g)
            return gx, gy, None, None
        g = grad if w is None else grad * _const(w)
        lw = 1.0 if pw is None else 1.0 + _const(pw - 1.0) * y
        gx = ((1.0 - y) - lw * (-x).sigmoid()) * g if need_x else None
        gy = None
        if need_y:
            d = -x if pw is None else -x + _const(pw - 1.0) * (-x).softplus()
            gy = d * g
        return gx, gy, None, None


def bce_with_logits_reference(x, y):
    """The composed oracle for BCEWithLogits (no weights)."""
    return (1.0 - y) * x + (-x).softplus()


