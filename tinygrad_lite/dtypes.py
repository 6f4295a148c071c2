"""Data types are NumPy dtypes (CuPy shares them), exported under torch's names.

bfloat16 comes from the ml_dtypes package (a NumPy dtype extension), imported the first time
bfloat16 is asked for, so `import tinygrad_lite` needs NumPy alone. Its NumPy kind is "V", not
"f": checks for a floating dtype go through is_floating()."""
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


# -- bfloat16, loaded on first use ----------------------------------------------------------
BF16 = None      # the bfloat16 dtype once loaded (ops compare `arr.dtype is BF16`)
_BF16_NAMES = ("bfloat16", "bf16")
_MISSING = "bfloat16 needs the ml_dtypes package: pip install ml_dtypes"


class _MissingBFloat16:
    """tl.bfloat16 where ml_dtypes is not installed: a dtype table naming it still builds, and
    using it raises the one line that says what to install."""

    def __repr__(self) -> str:
        return "bfloat16 (unavailable: pip install ml_dtypes)"

    def __eq__(self, other) -> bool:
        return other is self

    __hash__ = object.__hash__


MISSING_BF16 = _MissingBFloat16()


def load_bfloat16() -> np.dtype:
    """The bfloat16 dtype; raises ImportError with the install line when ml_dtypes is absent."""
    global BF16
    if BF16 is None:
        try:
            import ml_dtypes
        except ImportError:
            raise ImportError(_MISSING) from None
        BF16 = np.dtype(ml_dtypes.bfloat16)
        _by_name["bfloat16"] = BF16
    return BF16


def __getattr__(name):
    if name == "bfloat16":
        try:
            return load_bfloat16()
        except ImportError:
            return MISSING_BF16
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_dtype(dtype) -> np.dtype:
    """Accept a dtype, a name ("float32"), or a Python type and return the NumPy dtype."""
    if isinstance(dtype, np.dtype):
        return dtype
    if dtype is MISSING_BF16:
        raise ImportError(_MISSING)
    if isinstance(dtype, str):
        if dtype in _by_name:
            return _by_name[dtype]
        if dtype in _BF16_NAMES:
            return load_bfloat16()
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


def astype(arr, dtype):
    """arr as dtype; into bfloat16 through float32, as torch converts (a float64 or int64 value
    then rounds twice, as it does in torch)."""
    if dtype is BF16 and arr.dtype != float32 and BF16 is not None:
        arr = arr.astype(float32)
    return arr.astype(dtype)


def is_floating(dtype) -> bool:
    """float16/32/64 and bfloat16 (whose NumPy kind is "V")."""
    return dtype.kind == "f" or dtype is BF16


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
    if ka == 2 and (a is BF16 or b is BF16):    # bfloat16 with float16 meets in float32
        return float64 if max(a.itemsize, b.itemsize) == 8 else float32
    return np.promote_types(a, b)


def _kind(d: np.dtype) -> int:
    return 2 if is_floating(d) else (0 if d.kind == "b" else 1)


def scalar_dtype(tensor_dtype: np.dtype, value) -> np.dtype:
    """The result dtype of tensor (op) Python/NumPy scalar, as torch decides it."""
    if isinstance(value, (bool, np.bool_)):
        return tensor_dtype
    if isinstance(value, (_b.int, np.integer)):
        return int64 if tensor_dtype.kind == "b" else tensor_dtype    # bool + 2 is int64
    if isinstance(value, (_b.float, np.floating)):
        return tensor_dtype if is_floating(tensor_dtype) else _default_float
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
        if not is_floating(dt):
            raise TypeError(f"finfo: expected a floating dtype, got {dt}")
        if dt is BF16:
            import ml_dtypes
            info = ml_dtypes.finfo(dt)
        else:
            info = np.finfo(dt)
        self.dtype = dt
        self.bits = info.bits
        self.eps = _b.float(info.eps)
        self.max = _b.float(info.max)
        self.min = _b.float(info.min)
        self.tiny = self.smallest_normal = _b.float(info.smallest_normal)
        self.resolution = 10.0 ** -info.precision      # (ml_dtypes rounds it to bfloat16)

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
