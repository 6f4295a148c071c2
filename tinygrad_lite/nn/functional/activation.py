"""torch.nn.functional's non-linear activations: relu and its kin, the shrinks, softmax,
log_softmax and softmin, glu, prelu.

The ones beyond relu's family are composed from differentiable Tensor ops, so backward and
double backward come from the ops themselves. Inputs are checked here, at the public boundary.
"""
from __future__ import annotations

import math
from typing import Optional

from ..._checks import check_int, check_number
from ...autograd.autocast_mode import autocast_op
from ...functions import pointwise as FP
from ...tensor import Tensor, where
from ._utils import _check_inplace, _desc, _maybe_inplace, _same, _tensor

__all__ = ["relu", "relu_", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", "softplus",
           "softmax", "log_softmax", "hardtanh", "hardtanh_", "relu6", "hardsigmoid",
           "hardswish", "mish", "glu", "logsigmoid", "softsign", "tanhshrink",
           "hardshrink", "softshrink", "threshold", "threshold_", "prelu", "selu",
           "celu", "softmin"]

# SELU's fixed point constants (Klambauer et al., 2017, "Self-Normalizing Neural Networks")
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """y = max(x, 0)"""
    x = _tensor(input, "relu")
    return x.relu_() if _check_inplace(inplace, "relu") else x.relu()


def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """y = x if x > 0 else slope * x"""
    return _maybe_inplace(_tensor(input, "leaky_relu"), inplace,
                          lambda t: t.leaky_relu(negative_slope), "leaky_relu")


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """y = x if x > 0 else alpha * (exp(x) - 1)"""
    return _maybe_inplace(_tensor(input, "elu"), inplace, lambda t: t.elu(alpha), "elu")


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """y = x * Phi(x) (or its tanh approximation)"""
    return _tensor(input, "gelu").gelu(approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """y = x * sigmoid(x)"""
    return _maybe_inplace(_tensor(input, "silu"), inplace, lambda t: t.silu(), "silu")


def tanh(input: Tensor) -> Tensor:
    """y = tanh(x)"""
    return _tensor(input, "tanh").tanh()


def sigmoid(input: Tensor) -> Tensor:
    """y = 1 / (1 + exp(-x))"""
    return _tensor(input, "sigmoid").sigmoid()


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """y = log(1 + exp(beta * x)) / beta (x itself above threshold)"""
    return _tensor(input, "softplus").softplus(beta, threshold)


def _softmax_dim(ndim: int) -> int:
    # torch's legacy choice when dim is not given
    return 0 if ndim in (0, 1, 3) else 1


def _empty_safe(x: Tensor, fn, dim: int) -> Tensor:
    """torch returns an empty result for an empty input; NumPy's max has no identity there."""
    if x.numel() == 0:
        n = max(x.ndim, 1)
        if not -n <= dim < n:
            raise IndexError(f"{fn.__name__}: dimension out of range (expected to be in range "
                             f"of [{-n}, {n - 1}], but got {dim}) for input {_desc(x)}")
        return x * 0.0
    return fn(dim)


def softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """y = exp(x) / sum(exp(x)) along dim"""
    x = _tensor(input, "softmax")
    if dtype is not None:
        x = x.to(dtype)
    return _empty_safe(x, x.softmax, _softmax_dim(x.ndim) if dim is None else dim)


def log_softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """y = x - logsumexp(x) along dim"""
    x = _tensor(input, "log_softmax")
    if dtype is not None:
        x = x.to(dtype)
    return _empty_safe(x, x.log_softmax, _softmax_dim(x.ndim) if dim is None else dim)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """y = clamp(x, min_val, max_val);  dx = dy only strictly inside (min_val, max_val)"""
    x = _tensor(input, "hardtanh")
    check_number(min_val, "min_val", "hardtanh", finite=False)
    check_number(max_val, "max_val", "hardtanh", finite=False)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not be greater than max_val "
                         f"({max_val})")
    # as torch: the gradient only strictly inside, the value below/above replaced, and at the
    # bounds themselves or at NaN the input kept (-0. stays -0.) with no gradient
    def clip(t):
        inside = (t > min_val) & (t < max_val)
        return where(inside, t, where(t < min_val, min_val,
                                      where(t > max_val, max_val, t.detach())))
    return _maybe_inplace(x, inplace, clip, "hardtanh")


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """y = min(max(x, 0), 6)"""
    return hardtanh(_tensor(input, "relu6"), 0.0, 6.0, _check_inplace(inplace, "relu6"))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """y = relu6(x + 3) / 6"""
    return _maybe_inplace(_tensor(input, "hardsigmoid"), inplace,
                          lambda t: hardtanh(t + 3.0, 0.0, 6.0) / 6.0, "hardsigmoid")


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """y = x * relu6(x + 3) / 6"""
    return _maybe_inplace(_tensor(input, "hardswish"), inplace,
                          lambda t: t * hardtanh(t + 3.0, 0.0, 6.0) / 6.0, "hardswish")


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """y = x * tanh(softplus(x))"""
    return _maybe_inplace(_tensor(input, "mish"), inplace, lambda t: t * t.softplus().tanh(),
                          "mish")


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """y = a * sigmoid(b), where a and b are the two halves of x along dim"""
    x = _tensor(input, "glu")
    if x.ndim == 0:
        raise ValueError(f"glu: does not support a 0-d input ({_desc(x)}): there is no "
                         "dimension to halve")
    dim = check_int(dim, "dim", "glu", low=None, index=True)
    if not -x.ndim <= dim < x.ndim:
        raise IndexError(f"glu: dim {dim} is out of range for input {_desc(x)}")
    n = x.shape[dim]
    if n % 2:
        raise ValueError(f"glu: halving dimension must be even, but dimension {dim} of input "
                         f"{_desc(x)} has size {n}")
    # narrow, not chunk: chunk gives no pieces for an empty dim, and torch returns it empty
    a, b = x.narrow(dim, 0, n // 2), x.narrow(dim, n // 2, n // 2)
    return a * b.sigmoid()


def logsigmoid(input: Tensor) -> Tensor:
    """y = log(sigmoid(x)) = -softplus(-x), which never overflows"""
    # an infinite threshold keeps softplus's stable branch everywhere, so the
    # result is exact (not just x) far below zero
    return 0.0 - (-_tensor(input, "logsigmoid")).softplus(1.0, math.inf)   # +0. at +inf


def softsign(input: Tensor) -> Tensor:
    """y = x / (1 + |x|)"""
    x = _tensor(input, "softsign")
    return x / (x.abs() + 1.0)


def tanhshrink(input: Tensor) -> Tensor:
    """y = x - tanh(x)"""
    x = _tensor(input, "tanhshrink")
    return x - x.tanh()


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """y = x where |x| > lambd, else 0"""
    return _tensor(input, "hardshrink").hardshrink(check_number(lambd, "lambd", "hardshrink"))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """y = x - lambd above lambd, x + lambd below -lambd, 0 between"""
    return FP.softshrink(_tensor(input, "softshrink"), check_number(lambd, "lambd", "softshrink"))


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """y = x if x > threshold else value"""
    check_number(threshold, "threshold", "threshold", finite=False)
    check_number(value, "value", "threshold", finite=False)
    return _maybe_inplace(_tensor(input, "threshold"), inplace,
                          lambda t: where(t <= threshold, value, t), "threshold")  # NaN stays


_threshold = threshold     # the parameter named `threshold` hides the function below


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return _threshold(input, threshold, value, inplace=True)


def _prelu_channels(x: Tensor) -> int:
    return x.shape[1] if x.ndim >= 2 else 1


@autocast_op("prelu")
def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """y = x if x > 0 else w_c * x, with one w per channel (dim 1) or one shared w"""
    x = _tensor(input, "prelu")
    _same(x, weight, "prelu", "weight")
    if weight.ndim > 1:
        raise ValueError(f"prelu: weight must be a scalar or 1-D, got {_desc(weight)}")
    k, c = weight.numel(), _prelu_channels(x)
    if k != 1 and k != c:
        raise ValueError(f"prelu: weight {_desc(weight)} has {k} parameters but input "
                         f"{_desc(x)} has {c} channels (dim 1); expected 1 or {c}")
    w = weight.reshape((c,) + (1,) * (x.ndim - 2)) if k > 1 else weight.reshape(())
    return where(x > 0, x, w * x)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """y = scale * (x if x > 0 else alpha * (exp(x) - 1)), with the fixed SELU constants"""
    return _maybe_inplace(_tensor(input, "selu"), inplace,
                          lambda t: t.elu(_SELU_ALPHA) * _SELU_SCALE, "selu")


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """y = x if x > 0 else alpha * (exp(x / alpha) - 1)"""
    x = _tensor(input, "celu")
    alpha = check_number(alpha, "alpha", "celu", finite=False)
    if alpha == 0:
        raise ValueError(f"celu: alpha must not be 0 (it divides x), input {_desc(x)}")
    return _maybe_inplace(x, inplace, lambda t: (t / alpha).elu(1.0) * alpha, "celu")


def softmin(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """y = softmax(-x) along dim"""
    x = _tensor(input, "softmin")
    if dtype is not None:
        x = x.to(dtype)
    return softmax(-x, _softmax_dim(x.ndim) if dim is None else dim)
