"""Pointwise torch-level functions: the gamma family (lgamma, digamma, polygamma,
multigammaln), erfinv, the Bessel functions i0/i0e/i1/i1e, the normal distribution's ndtr /
ndtri / log_ndtr, fmax/fmin, copysign, ldexp/frexp, gcd/lcm/nextafter, hardshrink and
softshrink, and NumPy's names for torch's own functions (multiply, greater, clip, ...).
Special functions call a Function in ops/extra.py; the rest compose existing ops."""
from __future__ import annotations

import math
from collections import namedtuple

from . import dtypes as D
from .backend import array_module
from .functions_extra import _t
from .ops import pointwise as X
from .tensor import (Tensor, _binary, _const, _dim, _floating, _like, _nondiff_binary,
                     where)

__all__ = [
    "erfinv", "lgamma", "digamma", "polygamma", "mvlgamma", "i0", "fmax", "fmin", "copysign",
    "ldexp", "frexp", "gcd", "lcm", "nextafter", "hardshrink", "clip", "multiply", "subtract",
    "divide", "negative", "greater", "less", "greater_equal", "less_equal", "not_equal",
    "swapaxes", "swapdims", "logical_xor", "reciprocal", "select", "t",
]

_Frexp = namedtuple("frexp", ["mantissa", "exponent"])


def _float(x, op: str) -> Tensor:
    return _floating(_t(x, op))


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


# -- binary -----------------------------------------------------------------------------------
def _promoted(op: str, input, other) -> tuple:
    a, b = _t(input, op), _t(other, op)
    if a.dtype != b.dtype:
        dt = D.promote(a.dtype, b.dtype, a.ndim == 0, b.ndim == 0)
        a, b = a.to(dt), b.to(dt)
    return a, b


def fmax(input, other) -> Tensor:
    """max(a, b) ignoring NaN (NaN only where both are);  dy goes to the one taken."""
    a, b = _promoted("fmax", input, other)
    return where((a >= b).logical_or(b.isnan()), a, b)


def fmin(input, other) -> Tensor:
    """min(a, b) ignoring NaN (NaN only where both are);  dy goes to the one taken."""
    a, b = _promoted("fmin", input, other)
    return where((a <= b).logical_or(b.isnan()), a, b)


def copysign(input, other) -> Tensor:
    """|a| with the sign of b (signed zeros count);  da = dy * y / a (0 at a == 0);  db = 0."""
    a = _float(input, "copysign")
    b = other if isinstance(other, Tensor) else _like(float(other), a)
    return _binary(X.Copysign, a, _floating(b))


def ldexp(input, other) -> Tensor:
    """input * 2**other."""
    x, e = _t(input, "ldexp"), _t(other, "ldexp")
    x = x if x.dtype.kind == "f" or e.dtype.kind == "f" else _floating(x)
    return x * (2.0 ** (e if e.dtype.kind == "f" else e.to(x.dtype)))


def frexp(input):
    """(mantissa, exponent) with input = mantissa * 2**exponent, |mantissa| in [0.5, 1);
    d mantissa = dy / 2**exponent."""
    x = _t(input, "frexp")
    if x.dtype.kind != "f":
        raise TypeError(f"frexp: expected a floating point tensor, got {x.dtype}")
    xp = array_module(x._data)
    _, e = xp.frexp(x._data)
    scale = xp.ldexp(xp.ones_like(x._data), -e)
    return _Frexp(x * _const(scale), _const(e.astype(D.int32)))


def gcd(input, other) -> Tensor:
    """Greatest common divisor of integer tensors (no gradient)."""
    return _nondiff_binary(_t(input, "gcd"), other, "gcd")


def lcm(input, other) -> Tensor:
    """Least common multiple of integer tensors (no gradient)."""
    return _nondiff_binary(_t(input, "lcm"), other, "lcm")


def nextafter(input, other) -> Tensor:
    """The next floating point value after input towards other (no gradient)."""
    return _nondiff_binary(_t(input, "nextafter"), other, "nextafter")


def hardshrink(input, lambd=0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    x = _t(input, "hardshrink")
    return where((x > lambd).logical_or(x < -lambd), x, 0.0)


def softshrink(input, lambd=0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""
    x = _t(input, "softshrink")
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be at least 0, got {lambd}")
    return where(x > lambd, x - lambd, where(x < -lambd, x + lambd, 0.0))


# -- NumPy's names for torch functions ---------------------------------------------------------
def clip(input, min=None, max=None) -> Tensor:
    return _t(input, "clip").clamp(min, max)


def multiply(input, other) -> Tensor:
    return _t(input, "multiply").mul(other) if isinstance(input, Tensor) else \
        _t(other, "multiply").mul(input)


def subtract(input, other, *, alpha=1) -> Tensor:
    return _t(input, "subtract").sub(other, alpha=alpha)


def divide(input, other, *, rounding_mode=None) -> Tensor:
    return _t(input, "divide").div(other, rounding_mode=rounding_mode)


def negative(input) -> Tensor:
    return _t(input, "negative").neg()


def greater(input, other) -> Tensor:
    return _t(input, "greater") > other


def less(input, other) -> Tensor:
    return _t(input, "less") < other


def greater_equal(input, other) -> Tensor:
    return _t(input, "greater_equal") >= other


def less_equal(input, other) -> Tensor:
    return _t(input, "less_equal") <= other


def not_equal(input, other) -> Tensor:
    return _t(input, "not_equal") != other


def swapaxes(input, axis0, axis1) -> Tensor:
    return _t(input, "swapaxes").transpose(axis0, axis1)


def swapdims(input, dim0, dim1) -> Tensor:
    return _t(input, "swapdims").transpose(dim0, dim1)


def logical_xor(input, other) -> Tensor:
    return _t(input, "logical_xor").logical_xor(other)


def reciprocal(input) -> Tensor:
    return _t(input, "reciprocal").reciprocal()


def select(input, dim, index) -> Tensor:
    return _t(input, "select").select(dim, index)


def t(input) -> Tensor:
    return _t(input, "t").t()


# -- torch.special's own functions (tl.special gathers them with the rest) ---------------------
def erfcx(input) -> Tensor:
    """exp(x^2) erfc(x), without the overflow."""
    return X.Erfcx.apply(_float(input, "special.erfcx"))


def ndtr(input) -> Tensor:
    """Phi(x), the standard normal CDF: erfc(-x / sqrt 2) / 2."""
    return (_float(input, "special.ndtr") * (-1.0 / math.sqrt(2.0))).erfc() * 0.5


def ndtri(input) -> Tensor:
    """Phi^-1(p), the standard normal quantile."""
    return X.Ndtri.apply(_float(input, "special.ndtri"))


def log_ndtr(input) -> Tensor:
    """log Phi(x), accurate far in the lower tail."""
    return X.LogNdtr.apply(_float(input, "special.log_ndtr"))


def bessel(kind: str):
    def fn(input) -> Tensor:
        return X.Bessel.apply(_float(input, f"special.{kind}"), kind=kind)
    fn.__name__ = fn.__qualname__ = kind
    fn.__doc__ = f"The modified Bessel function {kind} (scipy.special.{kind})."
    return fn


def entr(input) -> Tensor:
    """-x log x for x > 0, 0 at 0, -inf below."""
    x = _float(input, "special.entr")
    safe = where(x > 0, x, 1.0)
    return where(x > 0, -x * safe.log(), where(x == 0, 0.0, _like(-math.inf, x)))


def xlog1py(input, other) -> Tensor:
    """x * log1p(y), 0 where x == 0 (unless y is NaN)."""
    x = _float(input, "special.xlog1py")
    y = other if isinstance(other, Tensor) else _like(float(other), x)
    out = x * y.log1p()
    return where((x == 0).logical_and(y.isnan().logical_not()), 0.0, out)


def softmax(input, dim, *, dtype=None) -> Tensor:
    x = _t(input, "special.softmax")
    return (x.to(D.to_dtype(dtype)) if dtype is not None else x).softmax(_dim(dim, x.ndim,
                                                                                "softmax"))


def log_softmax(input, dim, *, dtype=None) -> Tensor:
    x = _t(input, "special.log_softmax")
    return (x.to(D.to_dtype(dtype)) if dtype is not None else x).log_softmax(
        _dim(dim, x.ndim, "log_softmax"))
