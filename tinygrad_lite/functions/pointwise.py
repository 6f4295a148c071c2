"""Pointwise math (torch's "Pointwise Ops"): arithmetic with torch's promotion, exp/log and
the trig family, the gamma family (lgamma, digamma, polygamma, mvlgamma), erf/erfinv, i0,
clamp/clip, addcmul/addcdiv, logit, nan_to_num, bitwise ops, float_power, frexp/ldexp,
hardshrink/softshrink, and NumPy's names for torch's own functions (multiply, divide, ...).
Differentiable ones compose existing ops or call a Function in ops/pointwise.py."""
from __future__ import annotations

import math
import numbers
from collections import namedtuple

import numpy as np

from .. import dtypes as D
from .._checks import check_number
from .._checks import check_tensor as _tensor
from .._checks import describe as _desc
from .._checks import tensor_or_array as _t
from ..backend import array_module
from ..ops import pointwise as X
from ..tensor import (
    Tensor,
    _binary,
    _broadcastable,
    _const,
    _floating,
    _like,
    _nondiff_binary,
    where,
)


def add(a, b, alpha=1):
    if not isinstance(a, Tensor) and isinstance(b, Tensor):     # torch.add(2, x): a number first
        return (b if alpha == 1 else b * alpha).__radd__(a)
    return _t(a).add(b, alpha=alpha)


def sub(a, b, alpha=1):
    if not isinstance(a, Tensor) and isinstance(b, Tensor):
        return (b if alpha == 1 else b * alpha).__rsub__(a)
    return _t(a).sub(b, alpha=alpha)


def mul(a, b): return _t(a).mul(b) if isinstance(a, Tensor) else _t(b).mul(a)


def div(a, b, rounding_mode=None):
    if not isinstance(a, Tensor) and isinstance(b, Tensor) and rounding_mode is None:
        return b.__rtruediv__(a)
    if not isinstance(a, Tensor) and isinstance(b, Tensor):
        a = _full_like_scalar(a, b)
    return _t(a).div(b, rounding_mode=rounding_mode)


def _full_like_scalar(value, like):
    """A number as a 0-d tensor on like's device, typed as torch types a wrapped number."""
    from ..tensor import _like  # noqa: PLC0415
    return _like(value, like)


def pow(a, b): return _t(a).pow(b) if isinstance(a, Tensor) else _t(b).__rpow__(a)


def neg(x): return _t(x).neg()


def exp(x): return _t(x).exp()


def expm1(x): return _t(x).expm1()


def log(x): return _t(x).log()


def log1p(x): return _t(x).log1p()


def log2(x): return _t(x).log2()


def sqrt(x): return _t(x).sqrt()


def rsqrt(x): return _t(x).rsqrt()


def square(x): return _t(x).square()


def abs(x): return _t(x).abs()


def sign(x): return _t(x).sign()


def sin(x): return _t(x).sin()


def cos(x): return _t(x).cos()


def tanh(x): return _t(x).tanh()


def sigmoid(x): return _t(x).sigmoid()


def relu(x): return _t(x).relu()


def clamp(x, min=None, max=None): return _t(x).clamp(min, max)


def softmax(x, dim, dtype=None): return _t(x).softmax(dim, dtype=dtype)


def log_softmax(x, dim, dtype=None): return _t(x).log_softmax(dim, dtype=dtype)


def floor(x): return _t(x).floor()


def ceil(x): return _t(x).ceil()


def round(x, decimals=0): return _t(x).round(decimals)


def logical_and(a, b): return _t(a).logical_and(b)


def logical_or(a, b): return _t(a).logical_or(b)


def logical_not(a): return _t(a).logical_not()


def lerp(a, b, w): return _t(a).lerp(b, w)




# -- elementwise ------------------------------------------------------------------------------
def tan(input): return _tensor(input, "tan").tan()


def asin(input): return _tensor(input, "asin").asin()


def acos(input): return _tensor(input, "acos").acos()


def atan(input): return _tensor(input, "atan").atan()


def sinh(input): return _tensor(input, "sinh").sinh()


def cosh(input): return _tensor(input, "cosh").cosh()


def asinh(input): return _tensor(input, "asinh").asinh()


def acosh(input): return _tensor(input, "acosh").acosh()


def atanh(input): return _tensor(input, "atanh").atanh()


def erf(input): return _tensor(input, "erf").erf()


def erfc(input): return _tensor(input, "erfc").erfc()


def exp2(input): return _tensor(input, "exp2").exp2()


def log10(input): return _tensor(input, "log10").log10()


arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh


def _second(other, a: Tensor, op: str):
    """The second operand of a binary op: a Tensor, or a number left as a number."""
    if isinstance(other, Tensor) or isinstance(other, (int, float, np.number)):
        return other
    raise TypeError(f"{op}: other must be a Tensor or a number, got {type(other).__name__} "
                    f"(input {_desc(a)})")


def _float_operands(op: str, input, other) -> tuple:
    """input as a floating tensor and other as a number or a tensor, promoted as torch does
    before going to floating point (int16 with float16 stays float16)."""
    a = _tensor(input, op)
    b = _second(other, a, op)
    if isinstance(b, Tensor) and not D.is_floating(a.dtype) and D.is_floating(b.dtype):
        return a.to(b.dtype), b
    return _floating(a), b


def atan2(input, other) -> Tensor:
    """atan2(input, other), the angle of the point (other, input), with broadcasting."""
    return _binary(X.Atan2, *_float_operands("atan2", input, other))


arctan2 = atan2


def hypot(input, other) -> Tensor:
    """sqrt(input**2 + other**2), with broadcasting."""
    return _binary(X.Hypot, *_float_operands("hypot", input, other))


def remainder(input, other) -> Tensor:
    """Python's %: the result takes the sign of `other`."""
    if not isinstance(input, Tensor) and isinstance(other, Tensor):
        return _binary(X.Remainder, other, _second(input, other, "remainder"), reflected=True)
    a = _tensor(input, "remainder")
    return _binary(X.Remainder, a, _second(other, a, "remainder"))


def fmod(input, other) -> Tensor:
    """C's fmod: the result takes the sign of `input`."""
    a = _tensor(input, "fmod")
    return _binary(X.Fmod, a, _second(other, a, "fmod"))


def floor_divide(input, other) -> Tensor:
    """floor(input / other); not differentiable (its gradient is zero almost everywhere)."""
    a = _tensor(input, "floor_divide")
    return _nondiff_binary(a, _second(other, a, "floor_divide"), "floor_divide")




def _operand(v, ref: Tensor, op: str) -> Tensor:
    """A second operand as a Tensor on ref's device (a number takes ref's dtype, like torch)."""
    if isinstance(v, Tensor):
        return v
    if isinstance(v, (numbers.Number, np.number, np.bool_)):
        return _like(v, ref)
    raise TypeError(f"{op}: expected a Tensor or a number, got {type(v).__name__} "
                    f"(input {_desc(ref)})")


def _pair(op: str, input, other) -> tuple:
    """(a, b) as floating Tensors of one dtype; one of them may be a number."""
    if not isinstance(input, Tensor):
        b = _tensor(other, op)
        a = _operand(input, b, op)
    else:
        a = input
        b = _operand(other, a, op)
    if a.dtype != b.dtype:          # promote first: float16 with int16 stays float16
        dt = D.promote(a.dtype, b.dtype, a.ndim == 0, b.ndim == 0)
        a, b = a.to(dt), b.to(dt)
    return _floating(a), _floating(b)


# -- elementwise ------------------------------------------------------------------------------
def addcmul(input, tensor1, tensor2, *, value=1) -> Tensor:
    """input + value * tensor1 * tensor2."""
    x = _tensor(input, "addcmul")
    prod = _tensor(tensor1, "addcmul") * _tensor(tensor2, "addcmul")
    if value == 1:
        return x + prod
    return x + prod * check_number(value, "value", "addcmul", finite=False)


def addcdiv(input, tensor1, tensor2, *, value=1) -> Tensor:
    """input + value * tensor1 / tensor2 (integer tensor1 and tensor2 are refused, as in torch)."""
    x, t1, t2 = _tensor(input, "addcdiv"), _tensor(tensor1, "addcdiv"), _tensor(tensor2, "addcdiv")
    if not D.is_floating(t1.dtype) and not D.is_floating(t2.dtype):
        raise TypeError(f"addcdiv: integer division of tensor1 and tensor2 is not supported, got "
                        f"{_desc(t1, t2)}; use floating point tensors")
    quot = t1 / t2
    if value == 1:
        return x + quot
    return x + quot * check_number(value, "value", "addcdiv", finite=False)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None) -> Tensor:
    """nan -> nan, +inf -> posinf, -inf -> neginf (the dtype's extremes by default);
    the gradient is 0 at the replaced elements."""
    x = _tensor(input, "nan_to_num")
    if not D.is_floating(x.dtype):
        return _const(x._data.copy())
    xp = array_module(x._data)
    info = D.finfo(x.dtype)
    hi = info.max if posinf is None else check_number(posinf, "posinf", "nan_to_num", finite=False)
    lo = info.min if neginf is None else check_number(neginf, "neginf", "nan_to_num", finite=False)
    fill = xp.where(xp.isnan(x._data), check_number(nan, "nan", "nan_to_num", finite=False),
                    xp.where(x._data > 0, hi, lo)).astype(x.dtype)
    return where(_const(xp.isfinite(x._data)), x, _const(fill))


def clamp_min(input, min) -> Tensor:
    return _tensor(input, "clamp_min").clamp(min=min)


def clamp_max(input, max) -> Tensor:
    return _tensor(input, "clamp_max").clamp(max=max)


def float_power(input, exponent) -> Tensor:
    """input ** exponent computed in float64 (the result is float64, as in torch)."""
    if not isinstance(input, Tensor):
        e = _tensor(exponent, "float_power").double()
        return e.__rpow__(check_number(input, "input", "float_power", finite=False))
    x = input.double()
    if isinstance(exponent, Tensor):
        if not _broadcastable(x.shape, exponent.shape):
            raise ValueError(f"float_power: shapes {tuple(x.shape)} and "
                             f"{tuple(exponent.shape)} do not broadcast")
        return x.pow(exponent.double())
    return x.pow(check_number(exponent, "exponent", "float_power", finite=False))


def _apply_pair(op: str, fn, input, other, **params) -> Tensor:
    a, b = _pair(op, input, other)
    if a.dtype != b.dtype:
        dt = D.promote(a.dtype, b.dtype, a.ndim == 0, b.ndim == 0)
        a, b = a.to(dt), b.to(dt)
    if a.device != b.device:
        raise RuntimeError(f"{op}: expected both tensors on one device, got {a.device} and "
                           f"{b.device}")
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {_desc(a, b)} do not broadcast") from None
    return fn.apply(a, b, **params)


def logaddexp(input, other) -> Tensor:
    """log(exp(input) + exp(other)), finite wherever the answer is."""
    return _apply_pair("logaddexp", X.LogAddExp, input, other, base2=False)


def logaddexp2(input, other) -> Tensor:
    """log2(2**input + 2**other), finite wherever the answer is."""
    return _apply_pair("logaddexp2", X.LogAddExp, input, other, base2=True)


def xlogy(input, other) -> Tensor:
    """input * log(other), 0 where input == 0 (unless other is nan)."""
    return _apply_pair("xlogy", X.Xlogy, input, other)


def sinc(input) -> Tensor:
    """sin(pi x) / (pi x), 1 at x == 0."""
    x = _floating(_tensor(input, "sinc"))
    zero = x.detach() == 0
    px = where(zero, 1.0, x) * math.pi
    return where(zero, 1.0, px.sin() / px)


def deg2rad(input) -> Tensor:
    return _floating(_tensor(input, "deg2rad")) * (math.pi / 180.0)


def rad2deg(input) -> Tensor:
    return _floating(_tensor(input, "rad2deg")) * (180.0 / math.pi)


def trunc(input) -> Tensor:
    return _tensor(input, "trunc").trunc()


fix = trunc


def frac(input) -> Tensor:
    """input - trunc(input), keeping the sign;  d/dx = 1."""
    x = _tensor(input, "frac")
    if not D.is_floating(x.dtype):
        raise TypeError(f"frac: expected a floating point tensor, got {_desc(x)}")
    return x - _const(array_module(x._data).trunc(x._data))


def logit(input, eps=None) -> Tensor:
    """log(z / (1 - z)) with z = input clamped to [eps, 1 - eps] when eps is given."""
    x = _floating(_tensor(input, "logit"))
    if eps is not None:
        eps = check_number(eps, "eps", "logit", finite=False)
        if not 0.0 <= eps <= 0.5:
            raise ValueError(f"logit: eps must be in [0, 0.5], got {eps}")
    return X.Logit.apply(x, eps=eps)


def true_divide(input, other) -> Tensor:
    return _tensor(input, "true_divide").div(other)


def absolute(input) -> Tensor:
    return _tensor(input, "absolute").abs()


# -- predicates and bit operations (never differentiable) -------------------------------------
def _flag(x: Tensor, fn) -> Tensor:
    xp = array_module(x._data)
    if not D.is_floating(x.dtype):
        return _const(xp.zeros(x.shape, dtype=bool))
    return _const(fn(xp, x._data))


def signbit(input) -> Tensor:
    x = _tensor(input, "signbit")
    if x.dtype.kind in "iu":
        return _const(x._data < 0)
    return _flag(x, lambda xp, a: xp.signbit(a))


def heaviside(input, values) -> Tensor:
    """0 where input < 0, values where input == 0, 1 where input > 0 (and 0 for nan)."""
    x, v = _tensor(input, "heaviside"), _tensor(values, "heaviside")
    if x.dtype != v.dtype:
        raise TypeError(f"heaviside: input and values must have one dtype, got {_desc(x, v)}")
    xp = array_module(x._data)
    try:
        out = xp.where(x._data == 0, v._data, (x._data > 0).astype(x.dtype))
    except ValueError:
        raise ValueError(f"heaviside: shapes {_desc(x, v)} do not broadcast") from None
    return _const(out.astype(x.dtype, copy=False))


def _bitwise(op: str, input, other, fn) -> Tensor:
    x = _tensor(input, op)
    ok = isinstance(other, (bool, int, np.integer, np.bool_)) or (
        isinstance(other, Tensor) and other.dtype.kind in "biu")
    if x.dtype.kind not in "biu" or not ok:
        kind = _desc(other) if isinstance(other, Tensor) else type(other).__name__
        raise TypeError(f"{op}: expected integer or bool tensors, got {_desc(x)} and {kind}")
    return fn(x, other)


def bitwise_and(input, other) -> Tensor:
    return _bitwise("bitwise_and", input, other, lambda a, b: a & b)


def bitwise_or(input, other) -> Tensor:
    return _bitwise("bitwise_or", input, other, lambda a, b: a | b)


def bitwise_xor(input, other) -> Tensor:
    return _bitwise("bitwise_xor", input, other, lambda a, b: a ^ b)


def bitwise_not(input) -> Tensor:
    return _bitwise("bitwise_not", input, 0, lambda a, _: ~a)




_Frexp = namedtuple("frexp", ["mantissa", "exponent"])


def _float(x, op: str) -> Tensor:
    return _floating(_tensor(x, op))


# -- special functions ------------------------------------------------------------------------
def erfinv(input) -> Tensor:
    """y with erf(y) = x, on (-1, 1);  dy/dx = sqrt(pi)/2 exp(y^2)."""
    return X.Erfinv.apply(_float(input, "erfinv"))


def lgamma(input) -> Tensor:
    """log |gamma(x)|;  d/dx = digamma(x)."""
    return X.Lgamma.apply(_float(input, "lgamma"))


def digamma(input) -> Tensor:
    """psi(x) = d/dx log gamma(x);  d/dx = polygamma(1, x)."""
    return X.Polygamma.apply(_float(input, "digamma"), n=0)


def polygamma(n, input) -> Tensor:
    """psi^(n)(x), the n-th derivative of digamma;  d/dx = psi^(n+1)(x)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative int, got {n!r}")
    return X.Polygamma.apply(_float(input, "polygamma"), n=n)


def mvlgamma(input, p) -> Tensor:
    """log of the multivariate gamma function: sum_i lgamma(x - i/2) + p(p-1)/4 log(pi)."""
    if isinstance(p, bool) or not isinstance(p, int) or p < 1:
        raise ValueError(f"mvlgamma: p must be a positive int, got {p!r}")
    x = _float(input, "mvlgamma")
    total = lgamma(x)
    for i in range(1, p):
        total = total + lgamma(x - i / 2.0)
    return total + p * (p - 1) / 4.0 * math.log(math.pi)


def i0(input) -> Tensor:
    """The modified Bessel function of the first kind, order 0;  d/dx = i1(x)."""
    return X.Bessel.apply(_float(input, "i0"), kind="i0")


def copysign(input, other) -> Tensor:
    """|a| with the sign of b (signed zeros count);  da = dy * y / a (0 at a == 0);  db = 0."""
    a = _float(input, "copysign")
    b = other if isinstance(other, Tensor) else _like(float(other), a)
    return _binary(X.Copysign, a, _floating(b))


def ldexp(input, other) -> Tensor:
    """input * 2**other."""
    x, e = _tensor(input, "ldexp"), _tensor(other, "ldexp")
    x = x if D.is_floating(x.dtype) or D.is_floating(e.dtype) else _floating(x)
    return x * (2.0 ** (e if D.is_floating(e.dtype) else e.to(x.dtype)))


def frexp(input):
    """(mantissa, exponent) with input = mantissa * 2**exponent, |mantissa| in [0.5, 1);
    d mantissa = dy / 2**exponent."""
    x = _tensor(input, "frexp")
    if not D.is_floating(x.dtype):
        raise TypeError(f"frexp: expected a floating point tensor, got {x.dtype}")
    xp = array_module(x._data)
    _, e = xp.frexp(x._data)
    scale = xp.ldexp(xp.ones_like(x._data), -e)
    return _Frexp(x * _const(scale), _const(e.astype(D.int32)))


def nextafter(input, other) -> Tensor:
    """The next floating point value after input towards other (gradient: 1 to input, 0 to
    other, as torch's)."""
    x = _tensor(input, "nextafter")
    if x.dtype.kind != "f":
        return _nondiff_binary(x, other, "nextafter")
    return _apply_pair("nextafter", X.NextAfter, x, other)


def hardshrink(input, lambd=0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    x = _tensor(input, "hardshrink")
    return where((x > lambd).logical_or(x < -lambd), x, 0.0)


def softshrink(input, lambd=0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""
    x = _tensor(input, "softshrink")
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be at least 0, got {lambd}")
    return where(x > lambd, x - lambd, where(x < -lambd, x + lambd, 0.0))


# -- NumPy's names for torch functions ---------------------------------------------------------
def clip(input, min=None, max=None) -> Tensor:
    return _tensor(input, "clip").clamp(min, max)


def multiply(input, other) -> Tensor:
    return _tensor(input, "multiply").mul(other) if isinstance(input, Tensor) else \
        _tensor(other, "multiply").mul(input)


def subtract(input, other, *, alpha=1) -> Tensor:
    return _tensor(input, "subtract").sub(other, alpha=alpha)


def divide(input, other, *, rounding_mode=None) -> Tensor:
    return _tensor(input, "divide").div(other, rounding_mode=rounding_mode)


def negative(input) -> Tensor:
    return _tensor(input, "negative").neg()


def logical_xor(input, other) -> Tensor:
    return _tensor(input, "logical_xor").logical_xor(other)


def reciprocal(input) -> Tensor:
    return _tensor(input, "reciprocal").reciprocal()


def positive(input) -> Tensor:
    """input itself (torch returns the same tensor); bool tensors are refused, as torch's."""
    x = _tensor(input, "positive")
    if x.dtype.kind == "b":
        raise TypeError("positive: bool tensors are not supported, got a bool tensor of shape "
                        f"{tuple(x.shape)}")
    return x


def rsub(input, other, *, alpha=1) -> Tensor:
    """other - alpha * input."""
    x = _tensor(input, "rsub")
    return x.__rsub__(other) if alpha == 1 else (x * alpha).__rsub__(other)
