"""Checks and helpers shared by several groups of nn.functional."""
from __future__ import annotations

import math
import numbers
from typing import Optional, Sequence, Union

import numpy as np

from ..._checks import check_tensor, describe
from ...tensor import Tensor, _inplace
from ...dtypes import is_floating


def _desc(t: Tensor) -> str:
    return f"{tuple(t.shape)} {t.dtype}" + ("" if t.device == "cpu" else f" on {t.device}")


def _tensor(x, op: str, name: str = "input") -> Tensor:
    return check_tensor(x, op, name=name)


def _same(x: Tensor, other: Optional[Tensor], op: str, name: str) -> None:
    """Other tensors of an op must share the input's floating dtype and device."""
    if other is None:
        return
    _tensor(other, op, name)
    if other.dtype != x.dtype or other.device != x.device:
        raise TypeError(f"{op}: {name} {_desc(other)} on {other.device} does not match input "
                        f"{_desc(x)} on {x.device} (same dtype and device expected)")


def _check_inplace(inplace, op: str) -> bool:
    # torch's functional ops take a plain flag; a tensor here is almost always a misplaced arg
    if not isinstance(inplace, (bool, np.bool_, numbers.Integral)):
        raise TypeError(f"{op}: inplace must be a bool, got {type(inplace).__name__}")
    return bool(inplace)


def _maybe_inplace(x: Tensor, inplace: bool, fn, op: str):
    return _inplace(x, fn) if _check_inplace(inplace, op) else fn(x)


def _norm(x: Tensor, p, dim, keepdim: bool, op: str) -> Tensor:
    """The p-norm along dim, for any real p (0 counts the nonzeros), as torch's vector norm."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise ValueError(f"{op}: p must be a real number, got {p!r}")
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise IndexError(f"{op}: dim {dim} is out of range for input {_desc(x)}")
    if p == -math.inf:
        return x.abs().amin(dim, keepdim)
    return x.norm(p, dim, keepdim)


# -- the NCHW convolutions and pools ---------------------------------------------------------------
_IntOr = Union[int, Sequence[int]]


# shape and dtype; the conv and pool messages name devices themselves where they matter
_shape_dtype = describe


def _ints(v, n: int, name: str, op: str, low: int) -> tuple:
    """An int or a length-n sequence of ints, each >= low, as an n-tuple."""
    if isinstance(v, bool) or not isinstance(v, (int, tuple, list)) and not hasattr(v, "__index__"):
        raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v!r}")
    vals = (v,) * n if not isinstance(v, (tuple, list)) else tuple(v)
    if len(vals) == 1 and n > 1:
        vals = vals * n
    try:
        vals = tuple(int(a.__index__()) for a in vals)
    except (AttributeError, TypeError):
        raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v!r}") from None
    if len(vals) != n:
        raise ValueError(f"{op}: {name} must have {n} values, got {v!r}")
    if min(vals) < low:
        raise ValueError(f"{op}: {name} must be >= {low}, got {v!r}")
    return vals


def _tensor_args(op: str, nd: int, x, w=None, bias=None) -> bool:
    """Check types, ranks, dtypes and devices; return whether x carries a batch axis."""
    for name, t in (("input", x), ("weight", w), ("bias", bias)):
        if t is not None:
            check_tensor(t, op, name=name)
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, "
                         f"got {_shape_dtype(x)}")
    if not is_floating(x.dtype):
        raise TypeError(f"{op}: input {_shape_dtype(x)} must be a floating-point tensor")
    others = [t for t in (w, bias) if t is not None]
    for t in others:
        if t.dtype != x.dtype or t.device != x.device:
            desc = ", ".join(f"{_shape_dtype(t)} on {t.device}" for t in [x] + others)
            raise TypeError(f"{op}: input, weight and bias must share one dtype and device, "
                            f"got {desc}")
    if w is not None and w.ndim != nd + 2:
        raise ValueError(f"{op}: weight must be {nd + 2}-D, got {_shape_dtype(w)}")
    return x.ndim == nd + 2


def _as_2d(x: Tensor, nd: int, batched: bool) -> Tensor:
    if not batched:
        x = x.unsqueeze(0)
    return x.unsqueeze(2) if nd == 1 else x


def _from_2d(y: Tensor, nd: int, batched: bool) -> Tensor:
    if nd == 1:
        y = y.squeeze(2)
    return y if batched else y.squeeze(0)


def _lift(vals: tuple, nd: int, fill: int) -> tuple:
    """A 1-D parameter as the 2-D one with a trivial height axis."""
    return (fill,) + vals if nd == 1 else vals
