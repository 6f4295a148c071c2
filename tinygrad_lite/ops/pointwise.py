"""Elementwise ops. Broadcasting is undone by the engine, never here."""
from __future__ import annotations

import contextlib
import math

from .. import dtypes as D
from ..autograd.function import Function
from ..autograd.function import constant as _const
from ..backend import array_module, to_device


def _zeros_like(t):
    return _const(array_module(t._data).zeros_like(t._data))


def quiet(xp):
    """Silence NumPy's warnings where inf/nan results are the intended answer (log(0), ...)."""
    errstate = getattr(xp, "errstate", None)
    return errstate(all="ignore") if errstate is not None else contextlib.nullcontext()


_LN2 = math.log(2.0)


class Add(Function):
    """y = a + b;  da = dy;  db = dy"""

    arithmetic_backward = True

    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    """y = a - b;  da = dy;  db = -dy"""

    arithmetic_backward = True

    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, (-grad if self.needs_input_grad[1] else None)


class Mul(Function):
    """y = a * b;  da = dy * b;  db = dy * a"""

    arithmetic_backward = True

    def forward(self, a, b):
        need_a, need_b = self.needs_input_grad
        self.save_for_backward(b if need_a else None, a if need_b else None)
        return a * b

    def backward(self, grad):
        b, a = self.saved_tensors
        return (grad * b if self.needs_input_grad[0] else None,
                grad * a if self.needs_input_grad[1] else None)


class Div(Function):
    """y = a / b;  da = dy / b;  db = -dy * y / b"""

    arithmetic_backward = True

    def forward(self, a, b):
        y = a / b
        self.save_for_backward(b, y if self.needs_input_grad[1] else None)
        return y

    def backward(self, grad):
        b, y = self.saved_tensors
        ga = grad / b
        return (ga if self.needs_input_grad[0] else None,
                -ga * y if self.needs_input_grad[1] else None)


class Pow(Function):
    """y = a ** b;  da = dy * b * a**(b-1);  db = dy * y * log(a)  (0 where a == 0)"""

    def forward(self, a, b):
        with quiet(array_module(a, b)):      # 0 ** -1 = inf, silently, as torch
            y = a ** b
        self.save_for_backward(a, b, y)
        return y

    def backward(self, grad):
        # torch's conventions: da is 0 where b == 0 (also at 0 ** 0); db is y * log(a), NaN for
        # a < 0, and 0 at 0 ** b for b >= 0
        a, b, y = self.saved_tensors
        ga = gb = None
        bd = b.detach()
        with quiet(array_module(bd._data)):
            if self.needs_input_grad[0]:
                ga = grad * (b * a ** (b - 1)).where(bd != 0, 0.0)
            if self.needs_input_grad[1]:
                if isinstance(a, (int, float)):          # a number base: 2 ** x
                    log_a = math.log(a) if a > 0 else (-math.inf if a == 0 else math.nan)
                    at_zero = (bd >= 0) if a == 0 else None
                else:
                    log_a = a.log()
                    at_zero = (a.detach() == 0) & (bd >= 0)
                gb = y * log_a
                gb = grad * (gb if at_zero is None else gb.where(~at_zero, 0.0))
        return ga, gb


class PowScalar(Function):
    """y = x ** c;  dx = dy * c * x**(c-1)"""

    def forward(self, x, exponent):
        self.c = exponent
        self.save_for_backward(x)
        return x ** exponent

    def backward(self, grad):
        (x,) = self.saved_tensors
        c = self.c
        if c == 0:
            return grad * 0.0
        if c == 1:
            return grad
        if c == 2:
            return grad * x * 2.0
        return grad * (x ** (c - 1) * c)


class Neg(Function):
    """y = -x;  dx = -dy"""

    arithmetic_backward = True

    def forward(self, x):
        return -x

    def backward(self, grad):
        return -grad


class Clone(Function):
    """y = copy of x;  dx = dy"""

    def forward(self, x):
        return x.copy()

    def backward(self, grad):
        return grad


class Cast(Function):
    """y = x as dtype;  dx = dy as x's dtype (the engine casts)"""

    bf16_in_float32 = False     # a cast from bfloat16 reads it as it is

    def forward(self, x, dtype):
        return D.astype(x, dtype)

    def backward(self, grad):
        return grad


class ToDevice(Function):
    """y = x copied to another device;  dx = dy copied back"""

    bf16_in_float32 = False

    def forward(self, x, device):
        self.src = "cuda" if device == "cpu" else "cpu"
        return to_device(x, device)

    def backward(self, grad):
        return grad.to(self.src)


class Fill(Function):
    """y = value everywhere;  dx = 0"""

    def forward(self, x, value):
        return array_module(x).full_like(x, value)

    def backward(self, grad):
        return grad * 0.0


class CopyFrom(Function):
    """y = src broadcast to x's shape;  dx = 0;  dsrc = dy (summed to src's shape)"""

    def forward(self, x, src):
        return array_module(x).broadcast_to(src, x.shape).astype(x.dtype, copy=True)

    def backward(self, grad):
        return (grad * 0.0 if self.needs_input_grad[0] else None), grad


class Exp(Function):
    """y = exp(x);  dx = dy * y"""

    arithmetic_backward = True

    def forward(self, x):
        y = array_module(x).exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * y


class Expm1(Function):
    """y = exp(x) - 1;  dx = dy * (y + 1)"""

    def forward(self, x):
        y = array_module(x).expm1(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * (y + 1.0)


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


class Log(Function):
    """y = log(x);  dx = dy / x"""

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).log(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / x


class Log1p(Function):
    """y = log(1 + x);  dx = dy / (1 + x)"""

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).log1p(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / (x + 1.0)


class Sqrt(Function):
    """y = sqrt(x);  dx = dy / (2 y)"""

    def forward(self, x):
        y = array_module(x).sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad / (y * 2.0)


class Rsqrt(Function):
    """y = 1 / sqrt(x);  dx = -dy * y**3 / 2"""

    def forward(self, x):
        xp = array_module(x)
        y = xp.reciprocal(xp.sqrt(x))
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * (y * y * y) * -0.5


class Abs(Function):
    """y = |x|;  dx = dy * sign(x)  (0 at x == 0 and at NaN, like torch)"""

    def forward(self, x):
        xp = array_module(x)
        s = xp.sign(x)
        if x.dtype.kind == "f":
            s = xp.where(s == s, s, 0)        # sign(NaN) is NaN in NumPy, 0 in torch
        self.save_for_backward(s)
        return xp.abs(x)

    def backward(self, grad):
        (s,) = self.saved_tensors
        return grad * s


class Sign(Function):
    """y = sign(x);  dx = 0"""

    def forward(self, x):
        self.shape = x.shape
        xp = array_module(x)
        if x.dtype.kind == "f":             # torch: sign(nan) is 0, where NumPy gives nan
            return xp.where(xp.isnan(x), x.dtype.type(0), xp.sign(x))
        return xp.sign(x)

    def backward(self, grad):
        return grad * 0.0


class Rounding(Function):
    """y = floor, ceil, trunc or round(x, decimals): piecewise constant, so dx = 0 (as torch)"""

    def forward(self, x, fn, decimals=0):
        if x.dtype.kind in "biu" and fn != "round":
            return x.copy()         # integers are already whole (torch keeps their dtype)
        xp = array_module(x)
        return xp.round(x, decimals) if fn == "round" else getattr(xp, fn)(x)

    def backward(self, grad):
        return _zeros_like(grad)


class RoundingDiv(Function):
    """y = a / b rounded down ("floor") or toward zero ("trunc");  da = db = 0 (as torch)"""

    def forward(self, a, b, mode):
        xp = array_module(a)
        if mode == "floor":
            return xp.floor_divide(a, b)
        out = xp.trunc(a / b)
        return out.astype(a.dtype) if a.dtype.kind in "biu" else out

    def backward(self, grad):
        return _zeros_like(grad), _zeros_like(grad)


class Sin(Function):
    """y = sin(x);  dx = dy * cos(x)"""

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).sin(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * x.cos()


class Cos(Function):
    """y = cos(x);  dx = -dy * sin(x)"""

    def forward(self, x):
        self.save_for_backward(x)
        return array_module(x).cos(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return -grad * x.sin()


class Tanh(Function):
    """y = tanh(x);  dx = dy * (1 - y**2)"""

    arithmetic_backward = True

    def forward(self, x):
        y = array_module(x).tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * (1.0 - y * y)


# -- inverse trigonometric and hyperbolic ----------------------------------------------------------
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


def sigmoid_array(x):
    """1 / (1 + exp(-x)) without overflow: exp only ever sees -|x|."""
    xp = array_module(x)
    e = xp.exp(-xp.abs(x))
    r = 1.0 / (1.0 + e)
    return xp.where(x >= 0, r, e * r).astype(x.dtype, copy=False)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x));  dx = dy * y * (1 - y)"""

    arithmetic_backward = True

    def forward(self, x):
        y = sigmoid_array(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return grad * (y * (1.0 - y))


# Relu masks of at least this many elements are kept as bits: a CNN's first ReLU mask is alive
# through the whole backward, and 1 byte per element of it sat in the training step's peak
PACK_MASK_ELEMENTS = 1 << 20
# elements unpacked per slice in backward (a multiple of 8), so the byte mask never exists whole
_UNPACK_SLICE = 1 << 18


def _times_bits(grad, bits):
    """grad * mask for a mask packed by packbits (flat, 1 bit per element)."""
    xp = array_module(grad)
    flat = xp.ascontiguousarray(grad).reshape(-1)
    out = xp.empty_like(flat)
    for s in range(0, flat.size, _UNPACK_SLICE):
        e = min(s + _UNPACK_SLICE, flat.size)
        mask = xp.unpackbits(bits[s // 8:(e + 7) // 8])[:e - s].view(bool)
        xp.multiply(flat[s:e], mask, out=out[s:e])
    return out.reshape(grad.shape)


_MAX_IS_RELU = {}


def relu_array(x):
    """max(x, 0) with torch's -0. and NaN rules, on an array.

    np.where(x < 0, 0, x) branches per element: 8 ms for 2M float32 elements of random sign, where
    maximum(0, x) takes 0.8 ms. maximum returns its second operand on a tie, so -0. stays -0. and a
    NaN propagates; that order is the array module's choice, so a probe checks it once per module
    and dtype (a contiguous run long enough for the vector loop, a strided one and a tail), and
    where() stays the answer where maximum disagrees (and on the GPU, where it does not branch).
    """
    xp = array_module(x)
    key = (xp.__name__, x.dtype)
    ok = _MAX_IS_RELU.get(key)
    if ok is None:
        ok = False
        if x.dtype.kind == "f" and xp.__name__ == "numpy":
            probe = xp.asarray([-0.0, -1.5, float("nan"), 2.0, 0.0] * 40, dtype=x.dtype)
            ok = True
            for v in (probe, probe[1::3], probe[:3]):
                want = xp.where(v < 0, x.dtype.type(0), v)
                got = xp.maximum(xp.zeros((), dtype=x.dtype), v)
                ok = ok and bool((xp.signbit(got) == xp.signbit(want)).all()
                                 and (xp.isnan(got) == xp.isnan(want)).all()
                                 and ((got == want) | xp.isnan(want)).all())
        _MAX_IS_RELU[key] = ok
    if ok:
        return xp.maximum(xp.zeros((), dtype=x.dtype), x)
    return xp.where(x < 0, x.dtype.type(0), x)


class Relu(Function):
    """y = max(x, 0);  dx = dy * not(x <= 0)   (as torch: relu(-0.) = -0., and a NaN keeps its
    place and passes the gradient on)"""

    arithmetic_backward = True

    def forward(self, x):
        xp = array_module(x)
        y = relu_array(x)
        mask = ~(x <= 0)
        self.packed = mask.size >= PACK_MASK_ELEMENTS
        self.save_for_backward(xp.packbits(mask) if self.packed else mask)
        return y

    def backward(self, grad):
        (mask,) = self.saved_tensors
        if not self.packed:
            # Mul straight on the bool mask: NumPy multiplies float by bool in one pass, where
            # `grad * mask` would first cast the mask to a float copy
            return grad * mask if self._on_arrays else Mul.apply(grad, mask)
        if self._on_arrays:
            return _times_bits(grad, mask)
        # building a graph (create_graph): the whole mask, as a constant of the product
        bits = mask._data
        whole = array_module(bits).unpackbits(bits)[:grad._data.size].view(bool)
        return Mul.apply(grad, _const(whole.reshape(grad.shape)))


class LeakyRelu(Function):
    """y = x if x > 0 else slope * x;  dx = dy * (1 or slope)"""

    def forward(self, x, slope):
        xp = array_module(x)
        scale = xp.where(x > 0, x.dtype.type(1), x.dtype.type(slope))
        self.save_for_backward(scale)
        return x * scale

    def backward(self, grad):
        (scale,) = self.saved_tensors
        return grad * scale


class Elu(Function):
    """y = x if x > 0 else alpha * (exp(x) - 1);  dx = dy * (1 or y + alpha)"""

    def forward(self, x, alpha):
        xp = array_module(x)
        neg = xp.where(x > 0, x.dtype.type(0), x)          # keeps -0. and NaN, as torch does
        y = xp.where(x > 0, x, alpha * xp.expm1(neg)).astype(x.dtype, copy=False)
        self.alpha = alpha
        self.save_for_backward(x, y)
        return y

    def backward(self, grad):
        x, y = self.saved_tensors
        # x <= 0, not x > 0: at a NaN torch passes the gradient on unchanged
        return (grad * (y + self.alpha)).where(x.detach() <= 0, grad)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class Gelu(Function):
    """exact: y = x * Phi(x);  tanh: y = x/2 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3)))"""

    def forward(self, x, approximate):
        xp = array_module(x)
        self.approximate = approximate
        self.save_for_backward(x)
        if approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)
            return (0.5 * x * (1.0 + xp.tanh(inner))).astype(x.dtype, copy=False)
        return (0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))).astype(x.dtype, copy=False)

    def backward(self, grad):
        (x,) = self.saved_tensors
        if self.approximate == "tanh":
            inner = (x + x * x * x * 0.044715) * _SQRT_2_OVER_PI
            t = inner.tanh()
            d_inner = (x * x * (3 * 0.044715) + 1.0) * _SQRT_2_OVER_PI
            return grad * ((t + 1.0) * 0.5 + x * 0.5 * (1.0 - t * t) * d_inner)
        cdf = (Erf.apply(x * (1.0 / math.sqrt(2.0))) + 1.0) * 0.5
        pdf = (x * x * -0.5).exp() * (1.0 / math.sqrt(2.0 * math.pi))
        return grad * (cdf + x * pdf)


def _erf(x):
    """erf from SciPy when it is installed (it is optional), else math.erf element by element."""
    xp = array_module(x)
    if xp.__name__ != "numpy":
        import cupyx.scipy.special as sp  # noqa: PLC0415
        return sp.erf(x)
    try:
        from scipy.special import erf  # noqa: PLC0415
    except ImportError:
        return _erf_vec(x).astype(x.dtype)
    return erf(x)


_erf_vec = __import__("numpy").vectorize(math.erf, otypes=["float64"])


class Erf(Function):
    """y = erf(x);  dx = dy * 2/sqrt(pi) * exp(-x**2)"""

    def forward(self, x):
        self.save_for_backward(x)
        return _erf(x).astype(x.dtype, copy=False)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * ((x * x * -1.0).exp() * (2.0 / math.sqrt(math.pi)))


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


class Erfc(Function):
    """y = erfc(x) = 1 - erf(x);  dx = -dy * 2/sqrt(pi) * exp(-x**2)"""

    def forward(self, x):
        self.save_for_backward(x)
        return _erfc(x).astype(x.dtype, copy=False)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * ((x * x * -1.0).exp() * -_TWO_OVER_SQRT_PI)


class Softplus(Function):
    """y = log(1 + exp(beta x)) / beta (linear above threshold);  dx = dy * sigmoid(beta x)"""

    def forward(self, x, beta, threshold):
        xp = array_module(x)
        bx = x * beta
        # log1p(exp(-|bx|)) + max(bx, 0) never overflows
        soft = (xp.log1p(xp.exp(-xp.abs(bx))) + xp.maximum(bx, 0)) / beta
        self.beta, self.threshold = beta, threshold
        self.save_for_backward(x)
        return xp.where(bx > threshold, x, soft).astype(x.dtype, copy=False)

    def backward(self, grad):
        (x,) = self.saved_tensors
        bx = x * self.beta
        return grad.where(bx.detach() > self.threshold, grad * bx.sigmoid())


class Clamp(Function):
    """y = min(max(x, lo), hi);  dx = dy where lo <= x <= hi, else 0 (like torch)"""

    def forward(self, x, lo, hi):
        xp = array_module(x)
        mask = xp.ones(x.shape, dtype=bool)
        if lo is not None:
            mask &= x >= lo
        if hi is not None:
            mask &= x <= hi
        self.save_for_backward(mask)
        return xp.clip(x, lo, hi).astype(x.dtype, copy=False)

    def backward(self, grad):
        (mask,) = self.saved_tensors
        # Mul straight on the bool mask: NumPy multiplies float by bool in one pass, where
        # `grad * mask` would first cast the mask to a float copy
        return Mul.apply(grad, mask)


class Maximum(Function):
    """y = max(a, b);  the gradient goes to the larger input, split in half at ties (like torch)"""

    def forward(self, a, b):
        xp = array_module(a)
        self.save_for_backward(*_tie_weights(xp, a, b, a > b))
        return xp.maximum(a, b)

    def backward(self, grad):
        wa, wb = self.saved_tensors
        return grad * wa, grad * wb


class Minimum(Function):
    """y = min(a, b);  the gradient goes to the smaller input, split in half at ties (like torch)"""

    def forward(self, a, b):
        xp = array_module(a)
        self.save_for_backward(*_tie_weights(xp, a, b, a < b))
        return xp.minimum(a, b)

    def backward(self, grad):
        wa, wb = self.saved_tensors
        return grad * wa, grad * wb


def _tie_weights(xp, a, b, a_wins):
    """(wa, wb) for maximum/minimum: 1 to the winner, halves at a tie, and, as torch, the whole
    gradient to both where either is NaN (the result is NaN there)."""
    wa = (a_wins + 0.5 * (a == b)).astype(a.dtype)
    wb = 1.0 - wa
    if a.dtype.kind == "f":
        nan = (a != a) | (b != b)
        wa = xp.where(nan, a.dtype.type(1), wa)     # where, not a boolean index (a GPU sync)
        wb = xp.where(nan, a.dtype.type(1), wb)
    return wa, wb


class Where(Function):
    """y = a where cond else b;  da = dy where cond else 0;  db = dy where not cond else 0"""

    def forward(self, cond, a, b):
        self.save_for_backward(cond)
        return array_module(a).where(cond, a, b)

    def backward(self, grad):
        (cond,) = self.saved_tensors
        zero = 0.0
        ga = grad.where(cond, zero) if self.needs_input_grad[1] else None
        gb = grad.where(~cond, zero) if self.needs_input_grad[2] else None
        return None, ga, gb


class MaskedFill(Function):
    """y = value where mask else x;  dx = dy where not mask else 0"""

    def forward(self, x, mask, value):
        self.save_for_backward(mask)
        return array_module(x).where(mask, x.dtype.type(value), x)

    def backward(self, grad):
        (mask,) = self.saved_tensors
        return grad.where(~mask, 0.0), None


# -- more binary ops -------------------------------------------------------------------------------
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
            zero = r2.detach() == 0
            scaled = (grad / r2.where(~zero, 1.0)).where(~zero, 0.0)
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
        x, z = self.saved_tensors
        gx = gz = None
        if self.needs_input_grad[0]:
            masked = (x.detach() == 0) & (z.detach() <= 0)
            gx = grad * z.where(~masked, 1.0).log()
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
        (x,) = self.saved_tensors
        if self.eps is None:
            # outside [0, 1] the log is NaN, and so is torch's gradient there
            xd = x.detach()
            return (grad / (x * (1.0 - x))).where(~((xd < 0) | (xd > 1)), math.nan)
        outside = (x.detach() < self.eps) | (x.detach() > 1.0 - self.eps)
        safe = x.where(~outside, 0.5)
        return (grad / (safe * (1.0 - safe))).where(~outside, 0.0)


# -- special functions (SciPy on the host, cupyx.scipy.special on the GPU) -------------------------
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
        x, y = self.saved_tensors
        kind = self.kind
        if kind == "i0":
            return grad * Bessel.apply(x, kind="i1")
        if kind == "i0e":
            return grad * (Bessel.apply(x, kind="i1e") - x.sign() * y)
        at_zero = x.detach() == 0
        safe = x.where(~at_zero, 1.0)
        if kind == "i1":      # i1'(0) = 1/2
            return grad * (Bessel.apply(x, kind="i0") - y / safe).where(~at_zero, 0.5)
        return grad * (Bessel.apply(x, kind="i0e") - y * (x.sign() + 1.0 / safe)).where(
            ~at_zero, 0.5)


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


class NondiffBinary(Function):
    """y = fn(a, b) for a NumPy ufunc with no gradient: comparisons (equal, less, ...), logical
    and bitwise and/or/xor, floor_divide. Tensor runs these on the arrays directly; it goes
    through apply only while a tracer (ONNX export) watches, so the trace holds them."""

    differentiable = False

    def forward(self, a, b, fn):
        return getattr(array_module(a), fn)(a, b)


class NondiffUnary(Function):
    """y = fn(x) for a NumPy ufunc with no gradient (logical_not, invert, isnan, isinf,
    isfinite); through apply only while a tracer watches, as NondiffBinary."""

    differentiable = False

    def forward(self, x, fn):
        return getattr(array_module(x), fn)(x)


class Detach(Function):
    """y = x, the same array, with no graph: detach() while a tracer (ONNX export) watches."""

    differentiable = False

    def forward(self, x):
        return x


class Xlog1py(Function):
    """y = x * log1p(z) (0 where x == 0 and z is not nan);
    dx = dy * log1p(z) (0 where x == 0 and z <= -1);  dz = dy * x / (1 + z)  (torch's rules)"""

    def forward(self, x, z):
        xp = array_module(x)
        self.save_for_backward(x, z)
        with quiet(xp):
            out = x * xp.log1p(z)
            return xp.where((x == 0) & ~xp.isnan(z), 0, out).astype(out.dtype, copy=False)

    def backward(self, grad):
        x, z = self.saved_tensors
        gx = gz = None
        if self.needs_input_grad[0]:
            masked = (x.detach() == 0) & (z.detach() <= -1)
            gx = grad * z.where(~masked, 0.0).log1p()
        if self.needs_input_grad[1]:
            gz = grad * x / (z + 1.0)
        return gx, gz


class Entr(Function):
    """y = -x log x for x > 0, 0 at 0, -inf below;  dx = -dy (1 + log x)  (NaN below 0, as
    torch's)"""

    def forward(self, x):
        xp = array_module(x)
        self.save_for_backward(x)
        with quiet(xp):
            out = xp.where(x > 0, -x * xp.log(xp.where(x > 0, x, 1)), 0)
            out = xp.where(x < 0, -xp.inf, out)
            return xp.where(xp.isnan(x), x, out).astype(x.dtype, copy=False)     # NaN stays

    def backward(self, grad):
        (x,) = self.saved_tensors
        with quiet(array_module(x.detach()._data)):
            return grad * -(x.log() + 1.0)


class NextAfter(Function):
    """y = the next float after a towards b;  da = dy, db = 0  (torch's rule)"""

    def forward(self, a, b):
        return array_module(a, b).nextafter(a, b)

    def backward(self, grad):
        return grad, grad * 0.0
