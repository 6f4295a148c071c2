


"""Normalization layers' primitives: layer norm and training-mode batch norm, each with
a fast path on raw arrays and a Tensor-op path when a graph of the gradient is wanted."""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.function import constant as _const
from ..autograd.grad_mode import state
from ..backend import array_module


def _scalar(value, like):
    """A NumPy scalar of like's dtype, so a Python number never upcasts float32 to float64;
    a scalar, not an array, so on the GPU it rides in the kernel's arguments (no copy)."""
    return like.dtype.type(value)


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
