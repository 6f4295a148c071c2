"""Less common differentiable ops: inverse trig and hyperbolic functions, erfc, exp2, atan2,
hypot, remainder/fmod, cumprod and the diagonal pair. Broadcasting is undone by the engine."""
from __future__ import annotations

import math

from ..autograd.function import Function
from ..backend import array_module, device_of
from .elementwise import _erf
from .math_extra import quiet

_LN2 = math.log(2.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erfc(x):
    """erfc from SciPy (CuPy's on the GPU) when installed; else 1 - erf, which loses the tail."""
    xp = array_module(x)
    if xp.__name__ != "numpy":
        import cupyx.scipy.special as sp  # noqa: PLC0415
        return sp.erfc(x)
    try:
        from scipy.special import erfc  # noqa: PLC0415
    except ImportError:
        return 1.0 - _erf(x)
    return erfc(x)


# -- unary ------------------------------------------------------------------------------------
class Tan(Function):
    """y = tan(x);  dx = dy * (1 + y**2)"""

    arithmetic_backward = True

    def forward(self, x):
        y = array_module(x).tan(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * (y * y + 1.0)


class Asin(Function):
    """y = asin(x);  dx = dy / sqrt(1 - x**2)"""

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).arcsin(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * (1.0 - x * x).rsqrt()


class Acos(Function):
    """y = acos(x);  dx = -dy / sqrt(1 - x**2)"""

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).arccos(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return -grad * (1.0 - x * x).rsqrt()


class Atan(Function):
    """y = atan(x);  dx = dy / (1 + x**2)"""

    arithmetic_backward = True

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).arctan(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / (x * x + 1.0)


class Sinh(Function):
    """y = sinh(x);  dx = dy * cosh(x)"""

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).sinh(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * Cosh.apply(x)


class Cosh(Function):
    """y = cosh(x);  dx = dy * sinh(x)"""

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).cosh(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * Sinh.apply(x)


class Asinh(Function):
    """y = asinh(x);  dx = dy / sqrt(x**2 + 1)"""

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).arcsinh(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * (x * x + 1.0).rsqrt()


class Acosh(Function):
    """y = acosh(x);  dx = dy / sqrt(x**2 - 1)"""

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).arccosh(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * (x * x - 1.0).rsqrt()


class Atanh(Function):
    """y = atanh(x);  dx = dy / (1 - x**2)"""

    arithmetic_backward = True

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).arctanh(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / (1.0 - x * x)


class Erfc(Function):
    """y = erfc(x) = 1 - erf(x);  dx = -dy * 2/sqrt(pi) * exp(-x**2)"""

    def forward(self, x):
        self.save_for_backward(x)
        return _erfc(x).astype(x.dtype, copy=False)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * ((x * x * -1.0).exp() * -_TWO_OVER_SQRT_PI)


class Exp2(Function):
    """y = 2**x;  dx = dy * y * ln 2"""

    arithmetic_backward = True

    def forward(self, x):
        y = array_module(x).exp2(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * y * _LN2


# -- binary -----------------------------------------------------------------------------------
class Atan2(Function):
    """y = atan2(a, b);  da = dy * b / (a**2 + b**2);  db = -dy * a / (a**2 + b**2)"""

    arithmetic_backward = True

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return array_module(a, b).arctan2(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        r2 = a * a + b * b
        # at (±0, ±0) torch's gradient is 0, not 0/0 (backward runs on arrays or on Tensors)
        if self._on_arrays:
            xp = array_module(r2)
            zero = r2 == 0
            scaled = xp.where(zero, r2.dtype.type(0), grad / xp.where(zero, 1, r2))
        else:
            from ..tensor import where
            zero = r2.detach() == 0
            scaled = where(zero, 0.0, grad / where(zero, 1.0, r2))
        return (scaled * b if self.needs_input_grad[0] else None,
                -scaled * a if self.needs_input_grad[1] else None)


class Hypot(Function):
    """y = sqrt(a**2 + b**2);  da = dy * a / y;  db = dy * b / y"""

    arithmetic_backward = True

    def forward(self, a, b):
        y = array_module(a, b).hypot(a, b)
        self.save_for_backward(a, b, y)
        return y

    def backward(self, grad):
        a, b, y = self.saved_tensors
        scaled = grad / y
        return (scaled * a if self.needs_input_grad[0] else None,
                scaled * b if self.needs_input_grad[1] else None)


class Remainder(Function):
    """y = a - floor(a / b) * b (sign of b);  da = dy;  db = -dy * floor(a / b)"""

    arithmetic_backward = True

    def forward(self, a, b):
        xp = array_module(a, b)
        self.save_for_backward(xp.floor_divide(a, b) if self.needs_input_grad[1] else None)
        return xp.remainder(a, b)

    def backward(self, grad):
        (q,) = self.saved_tensors
        return grad, (-grad * q if self.needs_input_grad[1] else None)


class Fmod(Function):
    """y = a - trunc(a / b) * b (sign of a);  da = dy;  db = -dy * trunc(a / b)"""

    arithmetic_backward = True

    def forward(self, a, b):
        xp = array_module(a, b)
        self.save_for_backward(xp.trunc(a / b) if self.needs_input_grad[1] else None)
        return xp.fmod(a, b)

    def backward(self, grad):
        (q,) = self.saved_tensors
        return grad, (-grad * q if self.needs_input_grad[1] else None)


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
        from ..autograd.grad_mode import state
        from ..tensor import where
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
        at_zero = revcumsum(grad * Cumprod.apply(where(first_zero, 1.0, x), axis=ax))
        head = revcumsum(grad * y) / where(before, x, 1.0)
        return where(before, head, where(first_zero, at_zero, 0.0))


# -- diagonals --------------------------------------------------------------------------------
def _diag_index(xp, length, offset):
    """Row and column indices of the `offset` diagonal, `length` entries long."""
    i = xp.arange(length)
    return (i, i + offset) if offset >= 0 else (i - offset, i)


class Diagonal(Function):
    """y = the offset diagonal of x over (dim1, dim2), as a new last axis;  dx = dy put back
    on that diagonal of zeros"""

    def forward(self, x, offset, dim1, dim2):
        self.in_shape, self.offset, self.dims = x.shape, offset, (dim1, dim2)
        return array_module(x).diagonal(x, offset, dim1, dim2).copy()

    def backward(self, grad):
        return DiagonalScatter.apply(grad, shape=self.in_shape, offset=self.offset,
                                     dim1=self.dims[0], dim2=self.dims[1])


class DiagonalScatter(Function):
    """y = zeros(shape) with g on the offset diagonal over (dim1, dim2);  dg = that diagonal of dy.
    Makes a matrix from a vector (diag) and is Diagonal's backward."""

    def forward(self, g, shape, offset, dim1, dim2):
        xp = array_module(g)
        self.offset, self.dims = offset, (dim1, dim2)
        out = xp.zeros(shape, dtype=g.dtype)
        rows, cols = _diag_index(xp, g.shape[-1], offset)
        xp.moveaxis(out, (dim1, dim2), (-2, -1))[..., rows, cols] = g
        return out

    def backward(self, grad):
        return Diagonal.apply(grad, offset=self.offset, dim1=self.dims[0], dim2=self.dims[1])


# -- special functions (SciPy on the host, cupyx.scipy.special on the GPU) ---------------------
def special(name: str, *args):
    """scipy.special.<name>(*args), or cupyx.scipy.special's on CuPy arrays; the result keeps
    the dtype of the last argument (SciPy computes float32 in float64 for some of these)."""
    x = args[-1]
    xp = array_module(x)
    if xp.__name__ == "numpy":
        import scipy.special as sp  # noqa: PLC0415
    else:
        import cupyx.scipy.special as sp  # noqa: PLC0415
    with quiet(xp):
        return getattr(sp, name)(*args).astype(x.dtype, copy=False)


class Erfinv(Function):
    """y = erfinv(x);  dx = dy * sqrt(pi)/2 * exp(y**2)"""

    def forward(self, x):
        y = special("erfinv", x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * ((y * y).exp() * (math.sqrt(math.pi) / 2.0))


class Lgamma(Function):
    """y = log|gamma(x)|;  dx = dy * digamma(x)"""

    def forward(self, x):
        self.save_for_backward(x)
        return special("gammaln", x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * Polygamma.apply(x, n=0)


class Polygamma(Function):
    """y = psi^(n)(x) (n = 0: digamma);  dx = dy * psi^(n+1)(x)"""

    def forward(self, x, n):
        self.n = n
        self.save_for_backward(x)
        if n == 0:
            return special("digamma", x)
        return special("polygamma", n, x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * Polygamma.apply(x, n=self.n + 1)


class Bessel(Function):
    """y = i0, i0e, i1 or i1e of x (modified Bessel functions of the first kind);
    i0' = i1;  i0e' = i1e - sign(x) i0e;  i1' = i0 - i1/x;  i1e' = i0e - i1e (sign(x) + 1/x)"""

    def forward(self, x, kind):
        self.kind = kind
        y = special(kind, x)
        self.save_for_backward(x, y)
        return y

    def backward(self, grad):
        from ..tensor import where
        x, y = self.saved_tensors
        kind = self.kind
        if kind == "i0":
            return grad * Bessel.apply(x, kind="i1")
        if kind == "i0e":
            return grad * (Bessel.apply(x, kind="i1e") - x.sign() * y)
        safe = where(x.detach() == 0, 1.0, x)
        if kind == "i1":      # i1'(0) = 1/2
            return grad * where(x.detach() == 0, 0.5, Bessel.apply(x, kind="i0") - y / safe)
        return grad * where(x.detach() == 0, 0.5,
                            Bessel.apply(x, kind="i0e") - y * (x.sign() + 1.0 / safe))


class LogNdtr(Function):
    """y = log(Phi(x));  dx = dy * exp(-x**2/2 - y) / sqrt(2 pi)"""

    def forward(self, x):
        y = special("log_ndtr", x)
        self.save_for_backward(x, y)
        return y

    def backward(self, grad):
        x, y = self.saved_tensors
        return grad * ((x * x * -0.5 - y).exp() * (1.0 / math.sqrt(2.0 * math.pi)))


class Ndtri(Function):
    """y = Phi^-1(x);  dx = dy * sqrt(2 pi) * exp(y**2 / 2)"""

    def forward(self, x):
        y = special("ndtri", x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * ((y * y * 0.5).exp() * math.sqrt(2.0 * math.pi))


class Erfcx(Function):
    """y = exp(x**2) erfc(x);  dx = dy * (2 x y - 2/sqrt(pi))"""

    def forward(self, x):
        y = special("erfcx", x)
        self.save_for_backward(x, y)
        return y

    def backward(self, grad):
        x, y = self.saved_tensors
        return grad * (x * y * 2.0 - _TWO_OVER_SQRT_PI)


class Copysign(Function):
    """y = |a| with b's sign;  da = dy * y / a (0 where a == 0);  db = 0 (torch's rules)"""

    def forward(self, a, b):
        xp = array_module(a)
        y = xp.copysign(a, b)
        if self.needs_input_grad[0]:
            with quiet(xp):
                self.save_for_backward(xp.where(a == 0, 0, y / a).astype(y.dtype, copy=False))
        return y

    def backward(self, grad):
        ga = gb = None
        if self.needs_input_grad[0]:
            (ratio,) = self.saved_tensors
            ga = grad * ratio
        if self.needs_input_grad[1]:
            gb = grad * 0.0
        return ga, gb
