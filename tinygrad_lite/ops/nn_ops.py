"""Fused layer ops: Linear, LayerNorm, BatchNorm (training), cross-entropy, BCE-with-logits.

Each is one Function so a training step makes few array passes and few graph nodes. backward has
two paths: a fast one on raw arrays when no graph is being built, and one written in Tensor ops
(taken under create_graph=True) so double backward stays exact. Each op has a plain composed
reference beside it, and tests hold the two together.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..backend import array_module


def _const(array):
    from ..tensor import Tensor
    return Tensor._make(array, False, None, None)


def _scalar(value, like):
    """A NumPy scalar of like's dtype, so a Python number never upcasts float32 to float64;
    a scalar, not an array, so on the GPU it rides in the kernel's arguments (no copy)."""
    return like.dtype.type(value)


# -- Linear -----------------------------------------------------------------------------------
class Linear(Function):
    """y = x @ W^T + b;  dx = dy @ W;  dW = dy^T @ x;  db = sum(dy) over batch dims"""

    def forward(self, x, w, b):
        need_x, need_w, _ = self.needs_input_grad
        self.save_for_backward(x if need_w else None, w if need_x else None)
        # one GEMM over all leading dims instead of a batched matmul
        y = x.reshape(-1, x.shape[-1]) @ w.T
        if b is not None:
            y += b
        return y.reshape(x.shape[:-1] + (w.shape[0],))

    def backward(self, grad):
        x, w = self.saved_tensors
        need_x, need_w, need_b = self.needs_input_grad
        if not state.grad_enabled:      # no graph to build: two GEMMs and a sum on the arrays
            g2 = grad._data.reshape(-1, grad.shape[-1])
            gx = _const((g2 @ w._data).reshape(grad.shape[:-1] + (w.shape[1],))) if need_x else None
            gw = _const(g2.T @ x._data.reshape(-1, x.shape[-1])) if need_w else None
            gb = _const(g2.sum(0)) if need_b else None
            return gx, gw, gb
        g2 = grad.reshape(-1, grad.shape[-1])
        gx = grad @ w if need_x else None
        gw = g2.mT @ x.reshape(-1, x.shape[-1]) if need_w else None
        gb = g2.sum(0) if need_b else None
        return gx, gw, gb


def linear_reference(x, w, b=None):
    """The composed oracle for Linear."""
    y = x @ w.mT
    return y if b is None else y + b


# -- normalisation ----------------------------------------------------------------------------
def _norm_backward_arrays(g, xhat, rstd, w, axes):
    """dx for y = xhat * w + b, xhat = (x - mean) * rstd, means over `axes`."""
    dxhat = g * w if w is not None else g
    m1 = dxhat.mean(axis=axes, keepdims=True)
    m2 = (dxhat * xhat).mean(axis=axes, keepdims=True)
    return (dxhat - m1 - xhat * m2) * rstd


def _norm_backward_tensors(g, x, w, axes, eps):
    """The same formula in Tensor ops, recomputing xhat from x so it is differentiable."""
    mu = x.mean(axes, keepdim=True)
    xc = x - mu
    rstd = ((xc * xc).mean(axes, keepdim=True) + eps).rsqrt()
    xhat = xc * rstd
    dxhat = g * w if w is not None else g
    m1 = dxhat.mean(axes, keepdim=True)
    m2 = (dxhat * xhat).mean(axes, keepdim=True)
    return (dxhat - m1 - xhat * m2) * rstd, xhat


class LayerNorm(Function):
    """y = (x - mean) / sqrt(var + eps) * w + b over the last dims;
    dx = rstd * (dxh - mean(dxh) - xh * mean(dxh * xh)), dxh = dy * w;  dw = sum(dy * xh)"""

    def forward(self, x, w, b, normalized_ndim, eps):
        xp = array_module(x)
        d = 1
        for n in x.shape[x.ndim - normalized_ndim:]:
            d *= n
        x2 = x.reshape(-1, d)
        mu = x2.mean(axis=1, keepdims=True)
        xc = x2 - mu
        var = xp.einsum("ij,ij->i", xc, xc)[:, None] / d
        rstd = 1.0 / xp.sqrt(var + _scalar(eps, x))
        xhat = xc
        xhat *= rstd
        y = xhat * w.reshape(-1) if w is not None else xhat.copy()
        if b is not None:
            y += b.reshape(-1)
        self.eps, self.d, self.x_shape = eps, d, x.shape
        self.save_for_backward(x, w, xhat, rstd)
        return y.reshape(x.shape)

    def backward(self, grad):
        x, w, xhat, rstd = self.saved_tensors
        need_x, need_w, need_b = self.needs_input_grad[:3]
        wshape = None if w is None else w.shape
        if not state.grad_enabled:
            g = grad._data.reshape(-1, self.d)
            wf = None if w is None else w._data.reshape(-1)
            gx = gw = gb = None
            if need_x:
                gx = _const(_norm_backward_arrays(g, xhat._data, rstd._data, wf, 1)
                            .reshape(self.x_shape))
            if need_w:
                gw = _const(array_module(g).einsum("ij,ij->j", g, xhat._data).reshape(wshape))
            if need_b:
                gb = _const(g.sum(axis=0).reshape(wshape))
            return gx, gw, gb
        g = grad.reshape(-1, self.d)
        wf = None if w is None else w.reshape(-1)
        gx, xh = _norm_backward_tensors(g, x.reshape(-1, self.d), wf, 1, self.eps)
        return (gx.reshape(self.x_shape) if need_x else None,
                (g * xh).sum(0).reshape(wshape) if need_w else None,
                g.sum(0).reshape(wshape) if need_b else None)


def layer_norm_reference(x, normalized_ndim, w=None, b=None, eps=1e-5):
    """The composed oracle for LayerNorm."""
    axes = tuple(range(x.ndim - normalized_ndim, x.ndim))
    mu = x.mean(axes, keepdim=True)
    var = ((x - mu) * (x - mu)).mean(axes, keepdim=True)
    y = (x - mu) * (var + eps).rsqrt()
    if w is not None:
        y = y * w
    return y if b is None else y + b


class BatchNormTrain(Function):
    """y = (x - mean_c) / sqrt(var_c + eps) * w_c + b_c with batch statistics over all but dim 1;
    dx = rstd * (dxh - mean(dxh) - xh * mean(dxh * xh));  dw = sum(dy * xh);  db = sum(dy)"""

    def forward(self, x, w, b, eps, stats):
        xp = array_module(x)
        axes = (0,) + tuple(range(2, x.ndim))
        bshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        mu = x.mean(axis=axes, keepdims=True)
        xc = x - mu
        var = (xc * xc).mean(axis=axes, keepdims=True)
        rstd = 1.0 / xp.sqrt(var + _scalar(eps, x))
        xhat = xc
        xhat *= rstd
        y = xhat * w.reshape(bshape) if w is not None else xhat.copy()
        if b is not None:
            y += b.reshape(bshape)
        stats["mean"], stats["var"] = mu.reshape(-1), var.reshape(-1)
        self.eps, self.axes, self.bshape = eps, axes, bshape
        self.save_for_backward(x, w, xhat, rstd)
        return y

    def backward(self, grad):
        x, w, xhat, rstd = self.saved_tensors
        need_x, need_w, need_b = self.needs_input_grad[:3]
        axes, bshape = self.axes, self.bshape
        if not state.grad_enabled:
            g = grad._data
            wb = None if w is None else w._data.reshape(bshape)
            gx = gw = gb = None
            if need_x:
                gx = _const(_norm_backward_arrays(g, xhat._data, rstd._data, wb, axes))
            if need_w:
                gw = _const((g * xhat._data).sum(axis=axes))
            if need_b:
                gb = _const(g.sum(axis=axes))
            return gx, gw, gb
        wb = None if w is None else w.reshape(bshape)
        gx, xh = _norm_backward_tensors(grad, x, wb, axes, self.eps)
        return (gx if need_x else None,
                (grad * xh).sum(axes) if need_w else None,
                grad.sum(axes) if need_b else None)


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
            from .elementwise import sigmoid_array
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


# -- embedding --------------------------------------------------------------------------------
class Embedding(Function):
    """y = W[idx];  dW = zeros with dy rows added at idx (repeats accumulate), padding row kept 0"""

    def forward(self, w, idx, padding_idx):
        self.w_shape, self.idx, self.padding_idx = w.shape, idx, padding_idx
        return w[idx]

    def backward(self, grad):
        from .movement import IndexAdd
        gw = IndexAdd.apply(grad, shape=self.w_shape, index=(self.idx,), advanced=True)
        if self.padding_idx is not None:
            xp = array_module(grad._data)
            keep = xp.ones((self.w_shape[0], 1), dtype=grad.dtype)
            keep[self.padding_idx] = 0
            gw = gw * _const(keep)
        return gw, None
