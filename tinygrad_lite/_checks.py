"""Argument checks shared by every layer (tensor, functions, nn, optim): one of each, so a bad
argument fails where it was given, with a message that names the op and the value."""
from __future__ import annotations

import functools
import math
import numbers
import operator
import sys

import numpy as np

from .autograd import function as _function
from .backend import device_of
from .dtypes import is_floating


def check_int(value, name, who: str, low=1, *, index: bool = False) -> int:
    """An int that is at least `low` (low=None: any int); the error names the layer and the value
    (name=None: "expected an int"). Bools are refused, unless index=True, which takes whatever
    operator.index takes (bools, NumPy integers, 0-d integer tensors), as Python's sequences do."""
    what = "expected an int" if name is None else f"{name} must be an int"
    if index:
        try:
            value = operator.index(value)
        except TypeError:
            raise TypeError(f"{who}: {what}, got {type(value).__name__} {value!r}") from None
    elif isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{who}: {what}, got {type(value).__name__} {value!r}")
    if low is not None and value < low:
        bound = "positive" if low == 1 else f">= {low}"
        raise ValueError(f"{who}: {name} must be {bound}, got {value}")
    return int(value)


def check_ints(values, name: str, who: str, low: int = 1) -> tuple:
    return tuple(check_int(v, name, who, low) for v in values)


def check_number(value, name: str, who: str, finite: bool = True, *, as_float: bool = True):
    """A real number, finite unless finite=False (NaN and inf give a ValueError naming `who`);
    returned as a float, or unchanged with as_float=False (an int stays an int, so an op's
    result dtype does not change)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{who}: {name} must be a number, got {type(value).__name__} {value!r}")
    if finite and not math.isfinite(value):
        raise ValueError(f"{who}: {name} must be finite, got {value}")
    return float(value) if as_float else value


def check_probability(p, name: str, who: str) -> float:
    """A number in [0, 1] (NaN is rejected)."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"{who}: {name} must be a number in [0, 1], got {type(p).__name__} "
                        f"{p!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{who}: {name} has to be between 0 and 1, but got {p}")
    return float(p)


def is_finite_at_least(value, low: float = 0.0) -> bool:
    """True for a finite number (or 0-d tensor) >= low; False for NaN, inf, strings, None."""
    if isinstance(value, (str, bytes, bool)) or value is None:
        return False
    try:
        v = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(v) and v >= low


def dim_index(dim, ndim, op) -> int:
    """Normalise one dimension index (negative counts from the end); name the op on error."""
    try:
        d = operator.index(dim)     # ints and integer scalars; not floats, strings or None
    except TypeError:
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__} {dim!r}") from None
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {d})")
    return d % n


def axes(dim, ndim, single=False, op="reduce"):
    """None -> None (all); int or sequence -> a tuple of non-negative axes."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        if single:
            raise TypeError(f"{op}: takes a single dim, got {dim!r}")
        out = tuple(sorted(set(dim_index(d, ndim, op) for d in dim)))
    else:
        out = (dim_index(dim, ndim, op),)
    # torch takes dim 0 and -1 of a 0-d tensor; the array itself has no axis to reduce
    return out if ndim else ()


def shape_arg(shape, op="shape", *, size: bool = False) -> tuple:
    """Sizes given as separate ints or as one tuple/list (torch's two spellings). size=True is a
    factory's `size` (zeros, rand, ...): negative sizes are refused there, while a view's shape
    may hold -1."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        out = tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"{op}: {'size' if size else 'sizes'} must be ints or one tuple of ints, "
                        f"got {tuple(shape)!r}") from None
    if size and any(s < 0 for s in out):
        raise ValueError(f"{op}: negative dimension in size {out}")
    return out


def check_tensor(x, op=None, *, arrays=False, name=None):
    """`x` itself when it is a Tensor, else a TypeError naming `op` (by default the calling
    function's name, the tl.<op> that was called). With arrays=True a raw NumPy or CuPy array
    is taken as a constant tensor rather than refused, as it was when `.data` was the array
    (`torch.max(outputs.data, 1)` now passes a Tensor anyway). With `name`, the message names
    the argument ("conv2d: weight must be a Tensor, got list")."""
    # Tensor is reached through autograd.function, where tensor.py binds it, so that this
    # module (which tensor.py imports) does not import tensor.py back
    tensor = _function.Tensor
    if isinstance(x, tensor):
        return x
    if arrays and (isinstance(x, np.ndarray) or device_of(x) == "cuda"):
        return tensor._make(x, False, None, None)
    if op is None:
        op = sys._getframe(1).f_code.co_name
    if name is not None:
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")


# the torch-level one-liners (tl.exp(x), ...): a C-level partial adds no Python frame, so the
# op check_tensor names is still the caller's
tensor_or_array = functools.partial(check_tensor, arrays=True)


def describe(*ts) -> str:
    """"(2, 3) float32 and (3,) int64": tensors' shapes and dtypes for an error message."""
    return " and ".join(f"{tuple(t.shape)} {t.dtype}" for t in ts)


def need_float(x, op: str):
    if not is_floating(x.dtype):
        raise TypeError(f"{op}: expected a floating point tensor, got shape {tuple(x.shape)} "
                        f"{x.dtype}")
    return x


def broadcast_shape(op: str, *ts) -> tuple:
    try:
        return tuple(np.broadcast_shapes(*(t.shape for t in ts)))
    except ValueError:
        raise ValueError(f"{op}: shapes {' and '.join(str(tuple(t.shape)) for t in ts)} do not "
                         "broadcast") from None
