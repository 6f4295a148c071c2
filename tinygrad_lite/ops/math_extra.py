"""Differentiable ops behind functions_math.py that do not compose stably from others:
logaddexp(2), xlogy, logit, logcumsumexp, and the evenly split pick of median(). Forward runs
on arrays with the inputs' array module; backward is written in Tensor ops (double backward
works). Broadcasting is undone by the engine."""
from __future__ import annotations

import contextlib
import math

from ..autograd.function import Function
from ..backend import array_module

_LN2 = math.log(2.0)


def quiet(xp):
    """Silence NumPy's warnings where inf/nan results are the intended answer (log(0), ...)."""
    errstate = getattr(xp, "errstate", None)
    return errstate(all="ignore") if errstate is not None else contextlib.nullcontext()


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


class LogAddExp(Function):
    """y = log_base(base**a + base**b);  da = dy * s;  db = dy * (1 - s);
    s = sigmoid((a - b) ln(base))"""

    def forward(self, a, b, base2):
        xp = array_module(a)
        self.scale = _LN2 if base2 else 1.0
        self.save_for_backward(a, b)
        with quiet(xp):
            return (xp.logaddexp2 if base2 else xp.logaddexp)(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        d = a - b
        s = (d * self.scale if self.scale != 1.0 else d).sigmoid()
        return (grad * s if self.needs_input_grad[0] else None,
                grad * (1.0 - s) if self.needs_input_grad[1] else None)


class Xlogy(Function):
    """y = x * log(z) (0 where x == 0 and z is not nan);
    dx = dy * log(z) (0 where x == 0 and z <= 0);  dz = dy * x / z  (torch's rules)"""

    def forward(self, x, z):
        xp = array_module(x)
        self.save_for_backward(x, z)
        with quiet(xp):
            out = x * xp.log(z)
            return xp.where((x == 0) & ~xp.isnan(z), 0, out).astype(out.dtype, copy=False)

    def backward(self, grad):
        from ..tensor import where
        x, z = self.saved_tensors
        gx = gz = None
        if self.needs_input_grad[0]:
            masked = (x.detach() == 0) & (z.detach() <= 0)
            gx = grad * where(masked, 1.0, z).log()
        if self.needs_input_grad[1]:
            gz = grad * x / z
        return gx, gz


class Logit(Function):
    """y = log(z / (1 - z)), z = clamp(x, eps, 1 - eps);
    dx = dy / (x (1 - x)), 0 outside [eps, 1 - eps] (torch's rule)"""

    def forward(self, x, eps):
        xp = array_module(x)
        self.eps = eps
        self.save_for_backward(x)
        z = x if eps is None else xp.clip(x, eps, 1.0 - eps)
        with quiet(xp):
            return xp.log(z / (1.0 - z)).astype(x.dtype, copy=False)

    def backward(self, grad):
        from ..tensor import where
        (x,) = self.saved_tensors
        if self.eps is None:
            # outside [0, 1] the log is NaN, and so is torch's gradient there
            xd = x.detach()
            return where((xd < 0) | (xd > 1), math.nan, grad / (x * (1.0 - x)))
        outside = (x.detach() < self.eps) | (x.detach() > 1.0 - self.eps)
        safe = where(outside, 0.5, x)
        return where(outside, 0.0, grad / (safe * (1.0 - safe)))


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
        from ..tensor import _const, where
        x, y = self.saved_tensors
        xp = array_module(grad._data)
        # the dtype's lowest finite value, not -inf: -inf - y would give nan in double backward
        lowest = _const(xp.asarray(xp.finfo(grad.dtype).min, dtype=grad.dtype))
        g = grad.detach()
        log_abs = where(g == 0, 1.0, grad).abs().log()
        pos = where(g > 0, log_abs, lowest)
        neg = where(g < 0, log_abs, lowest)
        with quiet(xp):     # in double backward, lowest + lowest overflows to -inf: exp gives 0
            out_pos = (_reverse_logcumsumexp(pos - y, self.axis) + x).exp()
            out_neg = (_reverse_logcumsumexp(neg - y, self.axis) + x).exp()
        return out_pos - out_neg


class EvenPick(Function):
    """y = a value of x (median, nanmedian);  dx = dy split evenly over the elements of x
    equal to it (torch's rule when no dim is given)"""

    def forward(self, x, value, mask):
        self.save_for_backward((mask / mask.sum()).astype(x.dtype, copy=False))
        return value

    def backward(self, grad):
        (weights,) = self.saved_tensors
        return grad * weights
