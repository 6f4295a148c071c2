"""Creation ops (torch's "Creation Ops"): tensor, as_tensor, from_numpy, zeros/ones/empty/full
and their *_like forms, arange, linspace, logspace, eye, with torch's dtypes."""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend as B
from .. import dtypes as D
from .._checks import check_int, check_number, shape_arg
from ..tensor import Tensor, _as_tensor, _const


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None,
             requires_grad=False) -> Tensor:
    """base ** linspace(start, end, steps)."""
    steps = check_int(steps, None, "logspace", low=None)
    if steps < 0:
        raise ValueError(f"logspace: number of steps must be non-negative, got {steps}")
    ends = []
    for name, v in (("start", start), ("end", end)):
        if isinstance(v, Tensor):               # torch takes 0-d tensor ends, read as numbers
            if v.ndim:
                raise ValueError(f"logspace: {name} must be a number or a 0-d tensor, got "
                                 f"shape {tuple(v.shape)}")
            v = v.item()
        ends.append(check_number(v, name, "logspace", finite=False))
    expo = np.linspace(ends[0], ends[1], steps)
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    dev = B.Device(device) if device is not None else B.get_default_device()
    base = check_number(base, "base", "logspace", finite=False)
    out = _const(B.to_device((base ** expo).astype(dt), dev))
    return out.requires_grad_(True) if requires_grad else out




def _finish(array, dtype, device, requires_grad) -> Tensor:
    dev = B.Device(device) if device is not None else B.get_default_device()
    if dtype is not None and array.dtype != D.to_dtype(dtype):
        array = D.astype(array, D.to_dtype(dtype))
    t = Tensor._make(B.to_device(array, dev), False, None, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _xp(device):
    dev = B.Device(device) if device is not None else B.get_default_device()
    return B.module_for(dev), dev


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (Python floats get the default dtype)."""
    t = _as_tensor(data, dtype, device)
    if isinstance(data, Tensor) or t._data is data:
        t = Tensor._make(t._data.copy(), False, None, None)
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None) -> Tensor:
    return _as_tensor(data, dtype, device)


def from_numpy(array: np.ndarray) -> Tensor:
    """Share memory with a NumPy array (stays on the CPU)."""
    return Tensor._make(array, False, None, None)


def _filled(size, value, dtype, device, requires_grad, op):
    xp, dev = _xp(device)
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    B.no_bf16_on_cuda(dt, dev, op)
    if not isinstance(value, (numbers.Number, np.generic)):
        raise TypeError(f"{op}: fill value must be a number, got {type(value).__name__} "
                        f"{value!r}")
    t = Tensor._make(xp.full(shape_arg(size, op, size=True), value, dtype=dt), False, None, None)
    return t.requires_grad_(True) if requires_grad else t


def _positional_or_keyword(args: tuple, size, op: str) -> tuple:
    """torch takes the size as arguments (zeros(2, 3), zeros((2, 3))) or as size=(2, 3)."""
    if size is None:
        return args
    if args:
        raise TypeError(f"{op}: got the size both as arguments {args} and as size={size!r}")
    return (size,)


def zeros(*args, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(_positional_or_keyword(args, size, "zeros"), 0, dtype, device, requires_grad,
                   "zeros")


def ones(*args, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(_positional_or_keyword(args, size, "ones"), 1, dtype, device, requires_grad,
                   "ones")


def empty(*args, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _filled(_positional_or_keyword(args, size, "empty"), 0, dtype, device, requires_grad,
                   "empty")


def full(size, fill_value, dtype=None, device=None, requires_grad=False, *,
         _op="full") -> Tensor:
    if isinstance(fill_value, Tensor) and fill_value.numel() == 1:
        fill_value = fill_value.item()
    if dtype is None:
        dtype = D.bool_ if isinstance(fill_value, bool) else (
            D.int64 if isinstance(fill_value, int) else D.get_default_dtype())
    if isinstance(size, Tensor) or not isinstance(size, (int, tuple, list)):
        raise TypeError(f"full: size must be an int or a tuple of ints, got "
                        f"{type(size).__name__}")
    return _filled((size,) if isinstance(size, int) else tuple(size), fill_value, dtype, device,
                   requires_grad, _op)


def _like_args(t, dtype, device, op):
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(t).__name__}")
    return (dtype if dtype is not None else t.dtype), (device if device is not None else t.device)


def zeros_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt, dev = _like_args(t, dtype, device, "zeros_like")
    return zeros(t.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt, dev = _like_args(t, dtype, device, "ones_like")
    return ones(t.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def empty_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt, dev = _like_args(t, dtype, device, "empty_like")
    return zeros(t.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt, dev = _like_args(t, dtype, device, "full_like")
    return full(t.shape, fill_value, dtype=dt, device=dev, requires_grad=requires_grad,
                _op="full_like")


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    if end is None:
        start, end = 0, start
    for name, v in (("start", start), ("end", end), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, (numbers.Real, np.generic)):
            raise TypeError(f"arange: {name} must be a number, got {type(v).__name__} {v!r}")
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if dtype is None:
        ints = all(isinstance(v, int) for v in (start, end, step))
        dtype = D.int64 if ints else D.get_default_dtype()
    a = np.arange(start, end, step, dtype=np.float64 if D.is_floating(D.to_dtype(dtype)) else None)
    return _finish(a, dtype, device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False) -> Tensor:
    for name, v in (("start", start), ("end", end), ("steps", steps)):
        if isinstance(v, bool) or not isinstance(v, (numbers.Real, np.generic, Tensor)):
            raise TypeError(f"linspace: {name} must be a number, got {type(v).__name__} {v!r}")
    if steps < 0:
        raise ValueError(f"linspace: number of steps must be non-negative, got {steps}")
    ends = []
    for name, v in (("start", start), ("end", end)):
        if isinstance(v, Tensor) and v.ndim:
            raise ValueError(f"linspace: {name} must be a number or a 0-d tensor, got shape "
                             f"{tuple(v.shape)}")
        # a tensor's own dtype must not set the precision: the grid is computed in float64
        ends.append(v.item() if isinstance(v, Tensor) else v)
    return _finish(np.linspace(ends[0], ends[1], int(steps)), dtype or D.get_default_dtype(),
                   device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    n, m = shape_arg((n, n if m is None else m), "eye", size=True)
    return _finish(np.eye(n, m), dtype or D.get_default_dtype(), device, requires_grad)
