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
        return float32
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
        return tensor_dtype
    if isinstance(value, (_b.float, np.floating)):
        return tensor_dtype if tensor_dtype.kind == "f" else float32
    raise TypeError(f"unsupported scalar type {type(value).__name__}")
