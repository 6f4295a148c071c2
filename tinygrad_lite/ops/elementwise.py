"""Elementwise ops. Broadcasting is undone by the engine, never here."""
from __future__ import annotations

import math

from ..autograd.function import Function
from ..backend import array_module, to_device


def _zeros_like(t):
    from ..tensor import Tensor
    return Tensor._make(array_module(t._data).zeros_like(t._data), False, None, None)


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
        from .math_extra import quiet
        with quiet(array_module(a, b)):      # 0 ** -1 = inf, silently, as torch
            y = a ** b
        self.save_for_backward(a, b, y)
        return y

    def backward(self, grad):
        a, b, y = self.saved_tensors
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = grad * b * a ** (b - 1)
        if self.needs_input_grad[1]:
            from ..tensor import Tensor, where
            if isinstance(a, Tensor):
                ad = a.detach()
                safe_log = where(ad > 0, a, 1.0).log()
                # 0 ** b: torch's 0 for b >= 0, and y * log(0) = -inf below
                safe_log = where((ad == 0) & (b < 0), -math.inf, safe_log)
            else:                   # a number base: 2 ** x
                safe_log = math.log(a) if a > 0 else 0.0
                if a == 0:
                    safe_log = where(b < 0, -math.inf, 0.0)
            gb = grad * y * safe_log
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

    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, grad):
        return grad


class ToDevice(Function):
    """y = x copied to another device;  dx = dy copied back"""

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


class Relu(Function):
    """y = max(x, 0);  dx = dy * not(x <= 0)   (as torch: relu(-0.) = -0., and a NaN keeps its
    place and passes the gradient on)"""

    arithmetic_backward = True

    def forward(self, x):
        xp = array_module(x)
        y = xp.where(x < 0, x.dtype.type(0), x)
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
        from ..tensor import Tensor
        bits = mask._data
        whole = array_module(bits).unpackbits(bits)[:grad._data.size].view(bool)
        return Mul.apply(grad, Tensor._make(whole.reshape(grad.shape), False, None, None))


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
        from ..tensor import where
        x, y = self.saved_tensors
        # x <= 0, not x > 0: at a NaN torch passes the gradient on unchanged
        return where(x.detach() <= 0, grad * (y + self.alpha), grad)


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
        from ..tensor import where
        (x,) = self.saved_tensors
        bx = x * self.beta
        return where(bx.detach() > self.threshold, grad, grad * bx.sigmoid())


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
        from ..tensor import where
        (cond,) = self.saved_tensors
        zero = 0.0
        ga = where(cond, grad, zero) if self.needs_input_grad[1] else None
        gb = where(cond, zero, grad) if self.needs_input_grad[2] else None
        return None, ga, gb


class MaskedFill(Function):
    """y = value where mask else x;  dx = dy where not mask else 0"""

    def forward(self, x, mask, value):
        self.save_for_backward(mask)
        return array_module(x).where(mask, x.dtype.type(value), x)

    def backward(self, grad):
        from ..tensor import where
        (mask,) = self.saved_tensors
        return where(mask, 0.0, grad), None
