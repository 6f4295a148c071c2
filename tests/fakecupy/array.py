"""The fake device array: NumPy memory behind CuPy's ndarray surface, and nothing more.

`FakeArray` is not an `np.ndarray` subclass. It answers only the attributes and methods the
installed CuPy's ndarray has (checked against CuPy's own docstring signatures), refuses every
implicit conversion to NumPy (`np.asarray`, `__array__`, a host array as an operand), has no
read-only flag, and counts each device-to-host transfer and host-to-device copy in `STATS`.
"""
from __future__ import annotations

import contextlib
import inspect
import operator
import re
import sys
from collections import Counter

import numpy as np

# "d2h_implicit": bool()/float()/int()/item()/tolist()/repr() of a device value (a sync);
# "d2h_explicit": get()/asnumpy(); "h2d": host data copied to the device.
STATS: Counter = Counter()
# GPU arithmetic never warns about overflow, division by zero or NaN; neither does the stand-in
def quiet():
    return np.errstate(all="ignore")


class FakeCupyError(TypeError):
    """Raised where real CuPy raises (or would silently misbehave) and NumPy would not."""


def host_array_error(where: str, value) -> FakeCupyError:
    return FakeCupyError(f"fake cupy: {where}: Unsupported type {type(value)} "
                         f"(a host array reached a device op; move it with cupy.asarray)")


class Transfers(Counter):
    """Transfers by kind, and `.where`: by kind and the line that made them."""
    where: Counter


@contextlib.contextmanager
def counting():
    """Yield a Transfers counter of what happened inside the block."""
    before, before_where = Counter(STATS), Counter(WHERE)
    seen = Transfers()
    seen.where = Counter()
    try:
        yield seen
    finally:
        seen.update(STATS - before)
        seen.where.update(WHERE - before_where)


# where each transfer came from: the innermost frame outside the stand-in ("file:line fn")
WHERE: Counter = Counter()


def _caller() -> str:
    frame = sys._getframe(2)
    while frame is not None and "/fakecupy/" in frame.f_code.co_filename:
        frame = frame.f_back
    if frame is None:
        return "?"
    return f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno} {frame.f_code.co_name}"


def _record(kind: str) -> None:
    """Count one transfer of `kind` and the line outside the stand-in that made it."""
    STATS[kind] += 1
    WHERE[f"{kind} at {_caller()}"] += 1


def unwrap(value, where: str, host_ok: bool = False):
    """FakeArray -> its NumPy memory; containers element by element; host arrays refused."""
    if isinstance(value, FakeArray):
        return value._a
    if isinstance(value, np.ndarray):
        if not host_ok:
            raise host_array_error(where, value)
        _record("h2d")
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(unwrap(v, where, host_ok) for v in value)
    return value


def wrap(value):
    """NumPy results -> FakeArrays (NumPy scalars become 0-d arrays, as CuPy returns)."""
    if isinstance(value, np.ndarray):
        return FakeArray(value)
    if isinstance(value, np.generic):
        return FakeArray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(wrap(v) for v in value)
    if isinstance(value, list):
        return [wrap(v) for v in value]
    return value


def doc_signature(obj) -> inspect.Signature | None:
    """The signature in the first line of a Cython docstring: `name(self, a, b=None)`."""
    doc = getattr(obj, "__doc__", None) or ""
    m = re.match(r"\s*[\w.]+(\(.*?\))(\s*->.*)?\s*$", doc.splitlines()[0] if doc else "")
    if not m:
        return None
    text = m.group(1).replace("\\*", "*")
    # Cython writes typed parameters ("str code=None"): keep the names
    text = re.sub(r"\b(?:str|bool|tuple|int|float|object|dict|list|bytes)\s+(\w+)", r"\1", text)
    try:
        ns: dict = {}
        exec(f"def _f{text}: pass", {}, ns)   # noqa: S102  (CuPy's own docstring, not user data)
        return inspect.signature(ns["_f"])
    except SyntaxError:
        return None


def signature_of(obj) -> inspect.Signature | None:
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return doc_signature(obj)


def checked(name: str, sig: inspect.Signature | None, args, kwargs, drop_self=False) -> None:
    """Bind the call to CuPy's signature: an unknown keyword or a wrong count raises."""
    if sig is None:
        return
    if drop_self:
        args = (None,) + tuple(args)
    try:
        sig.bind(*args, **kwargs)
    except TypeError as e:
        raise FakeCupyError(f"fake cupy: {name}{sig}: {e}") from None


class _Flags:
    """CuPy's flags: c_contiguous, f_contiguous, owndata; there is no `writeable`."""

    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, a: np.ndarray):
        self.c_contiguous = bool(a.flags.c_contiguous)
        self.f_contiguous = bool(a.flags.f_contiguous)
        self.owndata = bool(a.flags.owndata)

    def __getitem__(self, key):
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous,
                "OWNDATA": self.owndata}[key]


class MemoryPointer:
    """What `ndarray.data` is in CuPy: a pointer, not the array (code that unwraps with
    `getattr(a, "data", a)` gets this and must fail)."""

    __slots__ = ("ptr",)

    def __init__(self, ptr: int):
        self.ptr = ptr

    def __int__(self):
        return self.ptr


class FakeDevice:
    __slots__ = ("id",)

    def __init__(self, device=0):
        self.id = int(device)

    def synchronize(self):
        return None

    def use(self):
        return None

    @property
    def compute_capability(self) -> str:
        return "90"

    @property
    def mem_info(self):
        return (64 << 30, 141 << 30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


def _operand(value, op: str):
    if isinstance(value, FakeArray):
        return value._a
    if isinstance(value, np.ndarray):
        raise host_array_error(op, value)
    if isinstance(value, (bool, int, float, complex, np.generic)):
        return value
    raise FakeCupyError(f"fake cupy: {op}: Unsupported type {type(value)}")


def _binary(name: str, fn, reflected: bool = False):
    def method(self, other):
        b = _operand(other, name)
        with quiet():
            return wrap(fn(b, self._a) if reflected else fn(self._a, b))
    method.__name__ = name
    return method


def _inplace(name: str, fn):
    def method(self, other):
        with quiet():
            fn(self._a, _operand(other, name))
        return self
    method.__name__ = name
    return method


def _key(key, where="__getitem__"):
    """An index: device arrays, ints, slices, None, Ellipsis; host lists/arrays are copied."""
    if isinstance(key, tuple):
        return tuple(_key(k, where) for k in key)
    if isinstance(key, FakeArray):
        return key._a
    if isinstance(key, (np.ndarray, list)):
        _record("h2d")
        return np.asarray(key)
    return key


def wrap_indices(key: tuple, shape: tuple) -> tuple:
    """CuPy does not check integer array indices: out-of-range ones wrap around (no error, no
    sync). Do the same where each index entry maps to one axis (no None, Ellipsis or bool)."""
    if len(key) > len(shape) or any(k is None or k is Ellipsis or (
            isinstance(k, np.ndarray) and k.dtype == np.bool_) for k in key):
        return key
    return tuple(k % shape[i] if isinstance(k, np.ndarray) and k.dtype.kind in "iu" and k.size
                 else k for i, k in enumerate(key))


class FakeArray:
    """A device array backed by NumPy memory (`_a`), with CuPy's surface only."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 100
    __array_ufunc__ = None          # NumPy ufuncs defer to us, and we refuse host operands

    def __init__(self, a: np.ndarray):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"FakeArray wraps an np.ndarray, got {type(a)}")
        if a.dtype.kind == "V":     # ml_dtypes' bfloat16 (and other void dtypes): not in CuPy
            raise FakeCupyError(f"fake cupy: Unsupported dtype {a.dtype}")
        self._a = a

    # -- implicit conversions: refused, or counted as a sync -------------------------------
    def __array__(self, *args, **kwargs):
        raise FakeCupyError("fake cupy: Implicit conversion to a NumPy array is not allowed. "
                            "Please use `.get()` to construct a NumPy array explicitly.")

    def __bool__(self):
        _record("d2h_implicit")
        return bool(self._a)

    def __float__(self):
        _record("d2h_implicit")
        return float(self._a)

    def __int__(self):
        _record("d2h_implicit")
        return int(self._a)

    def __complex__(self):
        _record("d2h_implicit")
        return complex(self._a)

    def __index__(self):
        _record("d2h_implicit")
        return operator.index(self._a)

    def item(self):
        _record("d2h_implicit")
        return self._a.item()

    def tolist(self):
        _record("d2h_implicit")
        return self._a.tolist()

    def get(self, stream=None, order="C", out=None, blocking=True):
        _record("d2h_explicit")
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order)

    def set(self, arr, stream=None):
        if not isinstance(arr, np.ndarray) or arr.shape != self._a.shape:
            raise FakeCupyError(f"fake cupy: set: expected a host array of shape "
                                f"{self._a.shape}, got {type(arr)}")
        _record("h2d")
        self._a[...] = arr

    def __repr__(self):
        _record("d2h_implicit")
        return repr(self._a).replace("array(", "fakecupy.array(", 1)

    def __str__(self):
        _record("d2h_implicit")
        return str(self._a)

    def __format__(self, spec):
        _record("d2h_implicit")
        return format(self._a, spec) if self._a.ndim == 0 else format(str(self._a), spec)

    # -- attributes ----------------------------------------------------------------------------
    @property
    def shape(self):
        return self._a.shape

    @shape.setter
    def shape(self, value):
        self._a.shape = value

    @property
    def dtype(self):
        return self._a.dtype

    @property
    def ndim(self):
        return self._a.ndim

    @property
    def size(self):
        return self._a.size

    @property
    def itemsize(self):
        return self._a.itemsize

    @property
    def nbytes(self):
        return self._a.nbytes

    @property
    def strides(self):
        return self._a.strides

    @property
    def flags(self):
        return _Flags(self._a)

    @property
    def data(self):
        return MemoryPointer(self._a.ctypes.data)

    @property
    def device(self):
        return FakeDevice(0)

    @property
    def base(self):
        return None if self._a.base is None or not isinstance(self._a.base, np.ndarray) \
            else FakeArray(self._a.base)

    @property
    def T(self):
        return FakeArray(self._a.T)

    @property
    def mT(self):
        return FakeArray(np.swapaxes(self._a, -1, -2))

    @property
    def real(self):
        return FakeArray(self._a.real)

    @property
    def imag(self):
        return FakeArray(self._a.imag)

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self.dtype.str, "version": 3,
                "data": (self._a.ctypes.data, False),
                "strides": None if self._a.flags.c_contiguous else self.strides}

    # -- indexing ------------------------------------------------------------------------------
    def __getitem__(self, key):
        key = _key(key)
        if not isinstance(key, tuple):
            key = (key,)
        key = wrap_indices(key, self._a.shape)
        if not any(k is Ellipsis for k in key):
            key = key + (Ellipsis,)       # a full integer index gives a 0-d view, as CuPy does
        return FakeArray(self._a[key])

    def __setitem__(self, key, value):
        self._a[_key(key, "__setitem__")] = _operand(value, "__setitem__")

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (FakeArray(self._a[i, ...]) for i in range(len(self._a)))

    __hash__ = None

    def __copy__(self):
        return FakeArray(self._a.copy())

    def __deepcopy__(self, memo):
        return FakeArray(self._a.copy())

    def __reduce__(self):
        raise FakeCupyError("fake cupy: pickling a device array copies it to the host; "
                            "call .get() first")

    # -- arithmetic ----------------------------------------------------------------------------
    def __neg__(self):
        return wrap(-self._a)

    def __pos__(self):
        return wrap(+self._a)

    def __abs__(self):
        return wrap(abs(self._a))

    def __invert__(self):
        return wrap(~self._a)


for _name, _fn in [("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("matmul", operator.matmul), ("truediv", operator.truediv),
                   ("floordiv", operator.floordiv), ("mod", operator.mod),
                   ("pow", operator.pow), ("and", operator.and_), ("or", operator.or_),
                   ("xor", operator.xor), ("lshift", operator.lshift),
                   ("rshift", operator.rshift), ("divmod", divmod)]:
    setattr(FakeArray, f"__{_name}__", _binary(f"__{_name}__", _fn))
    setattr(FakeArray, f"__r{_name}__", _binary(f"__r{_name}__", _fn, reflected=True))
for _name, _fn in [("add", operator.iadd), ("sub", operator.isub), ("mul", operator.imul),
                   ("truediv", operator.itruediv), ("floordiv", operator.ifloordiv),
                   ("mod", operator.imod), ("pow", operator.ipow), ("and", operator.iand),
                   ("or", operator.ior), ("xor", operator.ixor), ("matmul", operator.imatmul)]:
    setattr(FakeArray, f"__i{_name}__", _inplace(f"__i{_name}__", _fn))
for _name, _fn in [("eq", operator.eq), ("ne", operator.ne), ("lt", operator.lt),
                   ("le", operator.le), ("gt", operator.gt), ("ge", operator.ge)]:
    setattr(FakeArray, f"__{_name}__", _binary(f"__{_name}__", _fn))

# methods written out above, or handled specially below
_SPECIAL = {"get", "set", "item", "tolist", "T", "mT", "real", "imag", "flags", "data", "device",
            "base", "shape", "dtype", "ndim", "size", "itemsize", "nbytes", "strides"}


def _method(name: str, sig):
    np_method = getattr(np.ndarray, name)

    def method(self, *args, **kwargs):
        checked(f"ndarray.{name}", sig, args, kwargs, drop_self=True)
        a = unwrap(args, f"ndarray.{name}")
        k = {key: unwrap(v, f"ndarray.{name}") for key, v in kwargs.items()}
        with quiet():
            return wrap(np_method(self._a, *a, **k))
    method.__name__ = name
    return method


def _view(self, dtype=None, type=None):
    if type is not None:
        raise FakeCupyError("fake cupy: ndarray.view(type=...) is not supported")
    return FakeArray(self._a.view() if dtype is None else self._a.view(dtype))


def install_methods(real_ndarray) -> None:
    """Give FakeArray every public method CuPy's ndarray has (and NumPy's ndarray can run)."""
    for name in dir(real_ndarray):
        if name.startswith("_") or name in _SPECIAL or hasattr(FakeArray, name):
            continue
        if not callable(getattr(real_ndarray, name)):
            continue
        if name == "view":
            FakeArray.view = _view
            continue
        if not hasattr(np.ndarray, name):
            continue                  # CuPy-only (scatter_add, toDlpack, ...): left out
        setattr(FakeArray, name, _method(name, signature_of(getattr(real_ndarray, name))))
