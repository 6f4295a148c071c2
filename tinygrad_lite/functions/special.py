"""torch.special's functions that are not top-level torch names as well: erfcx, ndtr/ndtri/
log_ndtr, i0e/i1/i1e, entr, xlog1py, expit, and special's own softmax/log_softmax, logsumexp,
exp2/expm1/log1p/round; `tinygrad_lite.special` re-exports them with the top-level ones
(erf, digamma, logit, ...) under torch.special's names."""
from __future__ import annotations

import math

from .. import dtypes as D
from .._checks import check_tensor as _tensor
from ..ops import pointwise as X
from ..tensor import Tensor, _dim
from .pointwise import _float, digamma, erf, erfc, erfinv, i0, logit, polygamma, sinc, xlogy
from .pointwise import _apply_pair
from .pointwise import lgamma as gammaln
from .pointwise import mvlgamma as multigammaln

__all__ = ["erf", "erfc", "erfcx", "erfinv", "expit", "logit", "xlogy", "xlog1py", "gammaln",
           "digamma", "psi", "polygamma", "multigammaln", "log_softmax", "softmax", "logsumexp",
           "sinc", "i0", "i0e", "i1", "i1e", "ndtr", "ndtri", "log_ndtr", "entr", "exp2", "expm1",
           "log1p", "round"]


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
    return X.Entr.apply(_float(input, "special.entr"))


def xlog1py(input, other) -> Tensor:
    """x * log1p(y), 0 where x == 0 (unless y is NaN)."""
    return _apply_pair("special.xlog1py", X.Xlog1py, _float(input, "special.xlog1py"), other)


def softmax(input, dim, *, dtype=None) -> Tensor:
    x = _tensor(input, "special.softmax")
    return (x.to(D.to_dtype(dtype)) if dtype is not None else x).softmax(_dim(dim, x.ndim,
                                                                                "softmax"))


def log_softmax(input, dim, *, dtype=None) -> Tensor:
    x = _tensor(input, "special.log_softmax")
    return (x.to(D.to_dtype(dtype)) if dtype is not None else x).log_softmax(
        _dim(dim, x.ndim, "log_softmax"))


psi = digamma


i0e, i1, i1e = bessel("i0e"), bessel("i1"), bessel("i1e")


def expit(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), the logistic sigmoid."""
    return input.sigmoid()


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    return input.logsumexp(dim, keepdim)


def exp2(input: Tensor) -> Tensor:
    return input.exp2()


def expm1(input: Tensor) -> Tensor:
    return input.expm1()


def log1p(input: Tensor) -> Tensor:
    return input.log1p()


def round(input: Tensor, decimals: int = 0) -> Tensor:  # noqa: A001  (torch's name)
    return input.round(decimals)
