"""tinygrad_lite.special: torch.special's names for the functions that exist here."""
from __future__ import annotations

from .functions_extra import erf, erfc
from .functions_math import logit, sinc, xlogy
from .functions_pointwise import (bessel, digamma, entr, erfcx, erfinv, i0, log_ndtr,
                                  log_softmax, ndtr, ndtri, polygamma, softmax, xlog1py)
from .functions_pointwise import lgamma as gammaln
from .functions_pointwise import mvlgamma as multigammaln
from .tensor import Tensor

__all__ = ["erf", "erfc", "erfcx", "erfinv", "expit", "logit", "xlogy", "xlog1py", "gammaln",
           "digamma", "psi", "polygamma", "multigammaln", "log_softmax", "softmax", "logsumexp",
           "sinc", "i0", "i0e", "i1", "i1e", "ndtr", "ndtri", "log_ndtr", "entr", "exp2", "expm1",
           "log1p", "round"]

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
