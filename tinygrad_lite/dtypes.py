"""Data types are NumPy dtypes (CuPy shares them), exported under torch's names."""
from __future__ import annotations

import numpy as np

float16 = half = np.dtype("float16")
float32 = float = np.dtype("float32")
float64 = double = np.dtype("float64")
int8 = np.dtype("int8")
uint8 = np.dtype("uint8")
int16 = short = np.dtype("int16")
int32 = int = np.dtype("int32")
int64 = long = np.dtype("int64")
bool_ = np.dtype("bool")

_by_name = {
    "float16": float16, "half": float16, "float32": float32, "float": float32,
    "float64": float64, "double": float64, "int8": int8, "uint8": uint8, "int16": int16,
    "int32": int32, "int64": int64, "long": int64, "bool": bool_,
}


def to_dtype(dtype) -> np.dtype:
    """Accept a dtype, a name ("float32"), or a Python type and return the NumPy dtype."""
    if isinstance(dtype, np.dtype):
        return dtype
    if isinstance(dtype, str):
        if dtype in _by_name:
            return _by_name[dtype]
        raise TypeError(f"dtype: unknown dtype name {dtype!r}")
    if dtype is builtins_float:
        return _default_float
    if dtype is builtins_int:
        return int64
    if dtype is builtins_bool:
        return bool_
    try:
        return np.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"dtype: cannot interpret {dtype!r} as a dtype") from e


import builtins as _b  # noqa: E402

builtins_float, builtins_int, builtins_bool = _b.float, _b.int, _b.bool


def is_floating(dtype) -> bool:
    return dtype.kind == "f"


def promote(a: np.dtype, b: np.dtype, a_dim0: bool = False, b_dim0: bool = False) -> np.dtype:
    """torch's promotion: a 0-dim tensor does not widen a dimensioned one of its own kind."""
    if a == b:
        return a
    ka, kb = _kind(a), _kind(b)
    if ka != kb:
        return a if ka > kb else b      # float beats int beats bool, keeping the float's width
    if a_dim0 and not b_dim0:
        return b
    if b_dim0 and not a_dim0:
        return a
    return np.promote_types(a, b)


def _kind(d: np.dtype) -> int:
    return 2 if d.kind == "f" else (0 if d.kind == "b" else 1)


def scalar_dtype(tensor_dtype: np.dtype, value) -> np.dtype:
    """The result dtype of tensor (op) Python/NumPy scalar, as torch decides it."""
    if isinstance(value, (bool, np.bool_)):
        return tensor_dtype
    if isinstance(value, (_b.int, np.integer)):
        return int64 if tensor_dtype.kind == "b" else tensor_dtype    # bool + 2 is int64
    if isinstance(value, (_b.float, np.floating)):
        return tensor_dtype if tensor_dtype.kind == "f" else _default_float
    raise TypeError(f"unsupported scalar type {type(value).__name__}")


# -- the default floating dtype (torch.set_default_dtype) -----------------------------------
# read by the creation functions and by tensor() of Python floats; float32 unless changed
_default_float = float32


def get_default_dtype() -> np.dtype:
    """The dtype that Python floats and float factories (zeros, rand, arange(0.5)...) get."""
    return _default_float


def set_default_dtype(dtype) -> None:
    """torch.set_default_dtype: float32 or float64 only."""
    global _default_float
    try:
        dt = to_dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt not in (float32, float64):   # (np.dtype == None compares to float64)
        raise TypeError(f"set_default_dtype: only float32 and float64 are supported, got "
                        f"{dtype!r}")
    _default_float = dt


class finfo:
    """torch.finfo: machine limits of a floating dtype (the default dtype when none is given)."""

    def __init__(self, dtype=None):
        dt = _default_float if dtype is None else to_dtype(dtype)
        if dt.kind != "f":
            raise TypeError(f"finfo: expected a floating dtype, got {dt}")
        info = np.finfo(dt)
        self.dtype = dt
        self.bits = info.bits
        self.eps = _b.float(info.eps)
        self.max = _b.float(info.max)
        self.min = _b.float(info.min)
        self.tiny = self.smallest_normal = _b.float(info.smallest_normal)
        self.resolution = _b.float(info.resolution)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """torch.iinfo: the range of an integer (or bool) dtype."""

    def __init__(self, dtype):
        dt = to_dtype(dtype)
        if dt.kind not in "iub":
            raise TypeError(f"iinfo: expected an integer dtype, got {dt}")
        info = np.iinfo(np.uint8 if dt.kind == "b" else dt)
        self.dtype = dt
        self.bits = 8 if dt.kind == "b" else info.bits
        self.max = 1 if dt.kind == "b" else _b.int(info.max)
        self.min = 0 if dt.kind == "b" else _b.int(info.min)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
