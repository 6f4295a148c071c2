


"""Scans along one axis: cumsum, cumprod, logcumsumexp (and the ufunc scan that
cummax/cummin use). Arrays in, arrays out; backward in Tensor ops."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.function import constant as _const
from ..autograd.grad_mode import state
from ..backend import array_module, device_of
from .pointwise import quiet


def scan(ufunc: str, x, axis: int):
    """Inclusive scan of a binary ufunc along axis: NumPy's accumulate, or (where the array
    module has none) log-step doubling, which takes log2(n) vectorised passes."""
    xp = array_module(x)
    fn = getattr(xp, ufunc)
    accumulate = getattr(fn, "accumulate", None)
    if accumulate is not None:
        try:
            with quiet(xp):
                return accumulate(x, axis=axis)
        except (NotImplementedError, TypeError):
            pass
    out = xp.moveaxis(x, axis, -1).copy()
    shift = 1
    with quiet(xp):
        while shift < out.shape[-1]:
            out[..., shift:] = fn(out[..., shift:], out[..., :-shift])
            shift *= 2
    return xp.moveaxis(out, -1, axis)


class Cumsum(Function):
    """y = cumsum(x, axis);  dx = reversed cumsum of dy"""

    def forward(self, x, axis):
        self.axis = axis
        out = array_module(x).cumsum(x, axis=axis)
        return out.astype(np.int64) if x.dtype.kind in "biu" else out

    def backward(self, grad):
        return grad.flip(self.axis).cumsum(self.axis).flip(self.axis)


# -- scans ------------------------------------------------------------------------------------
class Cumprod(Function):
    """y_i = prod_{j<=i} x_j;  dx_k = sum_{i>=k} dy_i * prod_{j<=i, j!=k} x_j.

    Without zeros that is revcumsum(dy * y) / x. With zeros, along each slice let z be the
    first zero: before z the same formula holds (every later term already contains x_z = 0);
    at z it is revcumsum(dy * y') with y' = cumprod(x with x_z set to 1); after z it is 0, since
    every term contains x_z. That is exact for any number of zeros (a test holds it to torch).
    Its double backward is not exact there (the zero branch treats its masks as constants), so
    create_graph through a cumprod with zeros raises rather than answer wrongly.
    """

    def forward(self, x, axis):
        xp = array_module(x)
        self.axis = axis
        y = xp.cumprod(x, axis=axis)
        zeros = x == 0
        # the GPU takes the exact path unasked (a sync would stall it); None = not known yet
        self.has_zero = bool(zeros.any()) if device_of(x) == "cpu" else None
        if self.has_zero is not False:
            seen = xp.cumsum(zeros, axis=axis)
            self.save_for_backward(x, y, seen == 0, zeros & (seen == 1))
        else:
            self.save_for_backward(x, y, None, None)
        return y

    def backward(self, grad):
        x, y, before, first_zero = self.saved_tensors
        ax = self.axis

        def revcumsum(t):
            return t.flip(ax).cumsum(ax).flip(ax)

        if self.has_zero is None and state.grad_enabled:
            self.has_zero = bool((x._data == 0).any())     # double backward only: a sync
        if self.has_zero is False:
            return revcumsum(grad * y) / x
        if state.grad_enabled:
            raise RuntimeError("cumprod: double backward (create_graph=True) through a cumprod "
                               "whose input has zeros is not supported")
        at_zero = revcumsum(grad * Cumprod.apply(x.where(~first_zero, 1.0), axis=ax))
        head = revcumsum(grad * y) / x.where(before, 1.0)
        return head.where(before, at_zero.where(first_zero, 0.0))


def _reverse_logcumsumexp(t, axis: int):
    return LogCumSumExp.apply(t.flip(axis), axis=axis).flip(axis)


class LogCumSumExp(Function):
    """y_i = log(sum_{j<=i} exp(x_j));  dx_j = sum_{i>=j} dy_i exp(x_j - y_i), summed in log
    space separately for the positive and the negative dy (TensorFlow's and torch's scheme)"""

    def forward(self, x, axis):
        self.axis = axis
        y = scan("logaddexp", x, axis)
        self.save_for_backward(x, y)
        return y

    def backward(self, grad):
        x, y = self.saved_tensors
        xp = array_module(grad._data)
        # the dtype's lowest finite value, not -inf: -inf - y would give nan in double backward
        lowest = _const(xp.asarray(xp.finfo(grad.dtype).min, dtype=grad.dtype))
        g = grad.detach()
        log_abs = grad.where(~(g == 0), 1.0).abs().log()
        pos = log_abs.where(g > 0, lowest)
        neg = log_abs.where(g < 0, lowest)
        with quiet(xp):     # in double backward, lowest + lowest overflows to -inf: exp gives 0
            out_pos = (_reverse_logcumsumexp(pos - y, self.axis) + x).exp()
            out_neg = (_reverse_logcumsumexp(neg - y, self.axis) + x).exp()
        return out_pos - out_neg
