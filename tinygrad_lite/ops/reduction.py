"""Reductions and the softmax family, written to stay finite at extreme inputs."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..backend import array_module, device_of
from .pointwise import quiet

MaxMin = namedtuple("MaxMin", ["values", "indices"])
SortResult = namedtuple("SortResult", ["values", "indices"])


def _kept_shape(shape, axes):
    """The reduced shape with keepdim=True."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _with_kept_dims(node, *tensors) -> tuple:
    """Put the reduced axes back (as size 1) on tensors shaped like a keepdim=False output."""
    if node.keepdim:
        return tensors
    kept = _kept_shape(node.in_shape, node.axes)
    return tuple(t.reshape(kept) for t in tensors)


def check_extent(shape, axes, op: str, nodim_error=RuntimeError) -> None:
    """max/min-like reductions need something to pick in each slice (torch's two errors)."""
    if axes is None:
        if 0 in shape:
            raise nodim_error(f"{op}: cannot reduce an empty tensor of shape {tuple(shape)} "
                              "without a dim (specify the reduction dim)")
        return
    for a in axes:
        if shape[a] == 0:
            raise IndexError(f"{op}: expected reduction dim {a} to have non-zero size (shape "
                             f"{tuple(shape)})")


def _count(shape, axes) -> int:
    if axes is None:
        return int(np.prod(shape, dtype=np.int64))
    return int(np.prod([shape[a] for a in axes], dtype=np.int64))


class Sum(Function):
    """y = sum(x, axes);  dx = dy broadcast back to x's shape"""

    def forward(self, x, axes, keepdim):
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        return x.sum(axis=axes, keepdims=keepdim)

    def backward(self, grad):
        if not self.keepdim:
            grad = grad.reshape(_kept_shape(self.in_shape, self.axes))
        return grad.expand(self.in_shape)


class Mean(Function):
    """y = mean(x, axes);  dx = dy / n broadcast back"""

    def forward(self, x, axes, keepdim):
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        self.n = _count(x.shape, axes)
        if self.n == 0:                     # the mean of nothing is nan, silently (as torch)
            with quiet(array_module(x)):
                return x.sum(axis=axes, keepdims=keepdim) / x.dtype.type(0)
        return x.mean(axis=axes, keepdims=keepdim)

    def backward(self, grad):
        if not self.keepdim:
            grad = grad.reshape(_kept_shape(self.in_shape, self.axes))
        return grad.expand(self.in_shape) * (1.0 / max(self.n, 1))


class Prod(Function):
    """y = prod(x, axis);  dx = dy * (product of the other elements), exact when x has zeros"""

    def forward(self, x, axes, keepdim):
        xp = array_module(x)
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        y = x.prod(axis=axes, keepdims=keepdim)
        # On the GPU the exact path always runs (it is right without zeros too): asking whether
        # there is a zero would stall the launch queue. None = not known yet.
        self.has_zero = bool((x == 0).any()) if device_of(x) == "cpu" else None
        if axes == ():                  # a 0-d input over dim 0 / -1: y = x, dy/dx = 1
            self.has_zero = False
            self.save_for_backward(x, y, None)
        elif self.has_zero is not False:
            flat = x.reshape(-1) if axes is None else x
            ax = 0 if axes is None else axes[0]
            n = flat.shape[ax]
            head = (slice(None),) * ax
            ones = xp.ones_like(flat[head + (slice(0, 1),)])
            left = xp.cumprod(xp.concatenate([ones, flat], axis=ax), axis=ax)[head + (slice(0, n),)]
            rev = xp.flip(flat, axis=ax)
            right = xp.cumprod(xp.concatenate([ones, rev], axis=ax), axis=ax)
            right = xp.flip(right[head + (slice(0, n),)], axis=ax)
            self.save_for_backward(x, y, (left * right).reshape(x.shape))
        else:
            self.save_for_backward(x, y, None)
        return y

    def backward(self, grad):
        x, y, others = self.saved_tensors
        if self.axes == ():
            return grad
        if not self.keepdim:
            grad = grad.reshape(_kept_shape(self.in_shape, self.axes))
            y = y.reshape(_kept_shape(self.in_shape, self.axes))
        if self.has_zero is None and state.grad_enabled:
            self.has_zero = bool((x._data == 0).any())     # double backward only: a sync
        if self.has_zero is not False:
            if state.grad_enabled:      # create_graph=True: `others` below is a constant
                raise RuntimeError("prod: double backward through a product with zeros is not "
                                   "supported")
            return grad * others
        return grad * y / x


class EvenPick(Function):
    """y = a value of x (median, nanmedian);  dx = dy split evenly over the elements of x
    equal to it (torch's rule when no dim is given)"""

    def forward(self, x, value, mask):
        self.save_for_backward((mask / mask.sum()).astype(x.dtype, copy=False))
        return value

    def backward(self, grad):
        (weights,) = self.saved_tensors
        return grad * weights


class AmaxAmin(Function):
    """y = amax/amin(x, axes);  dx = dy split evenly among the tied extremes (like torch)"""

    def forward(self, x, axes, keepdim, kind):
        check_extent(x.shape, axes, kind)
        y = x.max(axis=axes, keepdims=True) if kind == "max" else x.min(axis=axes, keepdims=True)
        mask = (x == y)
        if x.dtype.kind == "f":       # a NaN extreme: its gradient goes to the NaNs, as torch
            mask |= (x != x) & (y != y)
        count = mask.sum(axis=axes, keepdims=True)
        self.save_for_backward((mask / count).astype(x.dtype, copy=False))
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        return y if keepdim else y.reshape([n for i, n in enumerate(y.shape)
                                            if not (axes is None or i in axes)])

    def backward(self, grad):
        (weights,) = self.saved_tensors
        if not self.keepdim:
            grad = grad.reshape(_kept_shape(self.in_shape, self.axes))
        return grad * weights


class Norm2(Function):
    """y = sqrt(sum(x^2));  dx = dy * x / y  (0 where y == 0, like torch)"""

    def forward(self, x, axes, keepdim):
        xp = array_module(x)
        y = xp.sqrt((x * x).sum(axis=axes, keepdims=keepdim))
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        # save the output itself (not a reshaped copy) so double backward can follow it
        self.save_for_backward(x, y)
        return y

    def backward(self, grad):
        x, y = self.saved_tensors
        grad, y = _with_kept_dims(self, grad, y)
        at_zero = y.detach() == 0
        safe = y.where(~at_zero, 1.0)
        return (grad * x / safe).where(~at_zero, 0.0)


class NormP(Function):
    """y = (sum |x|^p)^(1/p) for p other than 0, 1, 2 and +-inf (negative p included);
    dx = dy * sign(x) |x|^(p-1) / y^(p-1), with torch's zeros: where y == 0 (p >= 1) and
    where x == 0 (p < 1)"""

    def forward(self, x, p, axes, keepdim):
        xp = array_module(x)
        with quiet(xp):                     # 0 ** negative p is inf, and the norm then 0
            y = (xp.abs(x) ** p).sum(axis=axes, keepdims=keepdim) ** (1.0 / p)
        self.p, self.in_shape, self.axes, self.keepdim = p, x.shape, axes, keepdim
        self.save_for_backward(x, y)
        return y

    def backward(self, grad):
        x, y = self.saved_tensors
        grad, y = _with_kept_dims(self, grad, y)
        p = self.p
        with quiet(array_module(x.detach()._data)):
            if p < 1:
                scaled = (x.sign() * x.abs() ** (p - 1)).where(x.detach() != 0, 0.0)
                return scaled * grad * y ** (1 - p)
            scaled = x.sign() * x.abs() ** (p - 1) if p < 2 else x * x.abs() ** (p - 2)
            return scaled * (grad / y ** (p - 1)).where(y.detach() != 0, 0.0)


def _stable_max(x, axes):
    """Max over axes, with rows that are all -inf mapped to 0 so x - max stays finite."""
    xp = array_module(x)
    if x.size == 0:                 # nothing to reduce: any shift works, and max() would raise
        return xp.zeros([1 if axes is None or i in _as_tuple(axes) else n
                         for i, n in enumerate(x.shape)], dtype=x.dtype)
    m = x.max(axis=axes, keepdims=True)
    return xp.where(xp.isfinite(m), m, 0).astype(x.dtype, copy=False)


def _as_tuple(axes) -> tuple:
    return axes if isinstance(axes, tuple) else (axes,)


class LogSumExp(Function):
    """y = m + log(sum(exp(x - m)));  dx = dy * exp(x - y)"""

    def forward(self, x, axes, keepdim):
        xp = array_module(x)
        m = _stable_max(x, axes)
        with quiet(xp):                     # log(0) = -inf over an empty slice, as torch
            y = xp.log(xp.exp(x - m).sum(axis=axes, keepdims=True)) + m
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        if not keepdim:
            y = y.reshape([n for i, n in enumerate(y.shape) if not (axes is None or i in axes)])
        # save the output itself (not a reshaped copy) so double backward can follow it
        self.save_for_backward(x, y)
        return y

    def backward(self, grad):
        x, y = self.saved_tensors
        grad, y = _with_kept_dims(self, grad, y)
        return grad * (x - y).exp()


class Softmax(Function):
    """y = exp(x - max) / sum;  dx = y * (dy - sum(dy * y))"""

    def forward(self, x, axis):
        if x.size == 0:             # an empty slice stays empty (torch agrees)
            self.axis = axis
            self.save_for_backward(x)
            return x.copy()
        xp = array_module(x)
        e = x - _stable_max(x, axis)
        if not x.ndim:              # 0-d minus 0-d gives a NumPy scalar, which exp can't fill
            e = xp.asarray(e)
        xp.exp(e, out=e)
        e /= e.sum(axis=axis, keepdims=True)
        self.axis = axis
        self.save_for_backward(e)
        return e

    arithmetic_backward = True

    def backward(self, grad):
        (y,) = self.saved_tensors
        if self._on_arrays:             # the same formula in one buffer
            dx = grad * y
            xp = array_module(dx)
            xp.subtract(grad, dx.sum(axis=self.axis, keepdims=True), out=dx)
            dx *= y
            return dx
        return y * (grad - (grad * y).sum(dim=self.axis, keepdim=True))


class LogSoftmax(Function):
    """y = x - logsumexp(x);  dx = dy - exp(y) * sum(dy)"""

    def forward(self, x, axis):
        if x.size == 0:             # an empty slice stays empty (torch agrees)
            self.axis = axis
            self.save_for_backward(x)
            return x.copy()
        xp = array_module(x)
        y = x - _stable_max(x, axis)
        y -= xp.log(xp.exp(y).sum(axis=axis, keepdims=True))
        self.axis = axis
        self.save_for_backward(y)
        return y

    arithmetic_backward = True

    def backward(self, grad):
        (y,) = self.saved_tensors
        if self._on_arrays:             # the same formula in one buffer
            xp = array_module(y)
            dx = xp.exp(y)
            dx *= grad.sum(axis=self.axis, keepdims=True)
            xp.subtract(grad, dx, out=dx)
            return dx
        return grad - y.exp() * grad.sum(dim=self.axis, keepdim=True)


