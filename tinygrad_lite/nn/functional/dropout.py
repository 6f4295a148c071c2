"""torch.nn.functional's dropout functions: element-wise and whole-channel."""
from __future__ import annotations

import numbers
import warnings


from ... import random
from ...tensor import Tensor, _const
from ._utils import _desc, _maybe_inplace, _tensor
from ...dtypes import is_floating

__all__ = ["dropout", "dropout2d", "dropout1d"]


def _check_p(p: float, op: str) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"{op}: p must be a number in [0, 1], got {type(p).__name__} {p!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def _dropout_with(x: Tensor, p: float, mask_shape, inplace: bool, op: str) -> Tensor:
    if p == 1.0:
        return _maybe_inplace(x, inplace, lambda t: t * 0.0, op)
    mask = random.bernoulli_mask(mask_shape, 1.0 - p, x.dtype, x.device)
    mask *= x.dtype.type(1.0 / (1.0 - p))     # keep, then rescale, in one multiply
    return _maybe_inplace(x, inplace, lambda t: t * _const(mask), op)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """y = x * mask / (1 - p), mask ~ Bernoulli(1 - p), in training; y = x otherwise"""
    x = _tensor(input, "dropout")
    p = _check_p(p, "dropout")
    if training and p > 0.0 and not is_floating(x.dtype):
        # the 1 / (1 - p) rescale cannot be held by an integer tensor
        raise TypeError(f"dropout: input must be floating point, got {_desc(x)}")
    if not training or p == 0.0:
        return x
    return _dropout_with(x, p, x.shape, inplace, "dropout")


def torch_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """torch.dropout(input, p, train): dropout under torch's top-level name and argument names
    (the package binds it as tinygrad_lite.dropout; it is not one of F's names)."""
    return dropout(input, p, training=train)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """dropout that zeroes whole channels: one mask value per (n, c)"""
    x = _tensor(input, "dropout2d")
    p = _check_p(p, "dropout2d")
    if training and p > 0.0 and not is_floating(x.dtype):
        raise TypeError(f"dropout2d: input must be floating point, got {_desc(x)}")
    if x.ndim == 2:
        # torch warns and drops element by element here (a deprecation, not yet an error)
        warnings.warn("dropout2d: received a 2-D input; it is dropped element by element, as "
                      "dropout does (dropout2d drops channels of 3-D or 4-D inputs)",
                      UserWarning, stacklevel=2)
        mask_shape = x.shape
    elif x.ndim in (3, 4):
        mask_shape = x.shape[:2] + (1,) * (x.ndim - 2)
    else:
        raise ValueError(f"dropout2d: expected a 2-D, 3-D or 4-D input, got {_desc(x)}")
    if not training or p == 0.0:
        return x
    return _dropout_with(x, p, mask_shape, inplace, "dropout2d")


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """dropout that zeroes whole channels of (N, C, L) or (C, L): one mask value per channel"""
    x = _tensor(input, "dropout1d")
    if x.ndim not in (2, 3):
        raise ValueError(f"dropout1d: expected a 2-D (C, L) or 3-D (N, C, L) input, got "
                         f"{_desc(x)}")
    p = _check_p(p, "dropout1d")
    if not training or p == 0.0:
        return x
    if not is_floating(x.dtype):         # the 1 / (1 - p) rescale needs a float
        raise TypeError(f"dropout1d: input must be floating point, got {_desc(x)}")
    return _dropout_with(x, p, x.shape[:-1] + (1,), inplace, "dropout1d")
