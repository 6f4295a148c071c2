"""A strict stand-in for CuPy that runs the "cuda" code paths on the CPU.

Names and signatures come from the installed real CuPy (cupy-cuda13x imports without a GPU),
so the stand-in cannot drift from it: a name CuPy lacks is missing here too, and a keyword CuPy
does not take raises. The memory is NumPy's, but the array type is not an `np.ndarray` (see
array.py): an implicit conversion to NumPy or a host array inside a device op raises, as on a
GPU. `RawModule` checks every kernel launch against the kernel's `__global__` signature and then
runs a NumPy emulation of it (launch.py). Transfers are counted in `STATS`.

What it does not judge: numerics of the real kernels, races, speed. That needs a real GPU.

    from tests import fakecupy; fakecupy.install()   # before tinygrad_lite first imports cupy
"""
from __future__ import annotations

import importlib
import sys
import types

import numpy as np

from .array import (STATS, FakeArray, FakeCupyError, FakeDevice, _record, checked, counting,
                    install_methods, quiet, signature_of, unwrap, wrap)

__all__ = ["install", "uninstall", "STATS", "counting", "FakeArray", "FakeCupyError"]

_installed: dict = {}
_real = {}


def _real_module(name: str):
    if name not in _real:
        saved = {k: v for k, v in sys.modules.items() if k == "cupy" or k.startswith("cupy.")
                 or k == "cupyx" or k.startswith("cupyx.")}
        for k in saved:
            if isinstance(saved[k], _FakeModule):
                del sys.modules[k]
        _real[name] = importlib.import_module(name)
        sys.modules.update(saved)
    return _real[name]


class _FakeModule(types.ModuleType):
    """A module of the stand-in; a name the real module has but we cannot emulate raises."""


# -- functions -------------------------------------------------------------------------------
def _function(qualname: str, real_fn, np_fn, host_ok: bool = False, sig=None,
              drop_self: bool = False):
    """NumPy's np_fn on device memory, called as CuPy's real_fn is (or as `sig` says; drop_self
    for a method's signature)."""
    sig = signature_of(real_fn) if sig is None else sig

    def fn(*args, **kwargs):
        checked(qualname, sig, args, kwargs, drop_self=drop_self)
        a = unwrap(args, qualname, host_ok)
        k = {key: unwrap(v, qualname, host_ok) for key, v in kwargs.items()}
        with quiet():
            return wrap(np_fn(*a, **k))
    fn.__name__ = qualname.rsplit(".", 1)[-1]
    fn.__qualname__ = qualname
    fn.__doc__ = f"fake {qualname}: NumPy's {getattr(np_fn, '__name__', np_fn)} on device memory"
    return fn


def _missing(qualname: str):
    def fn(*args, **kwargs):
        raise FakeCupyError(f"fake cupy: {qualname} exists in CuPy but is not emulated here")
    fn.__name__ = qualname.rsplit(".", 1)[-1]
    return fn


class FakeUfunc:
    """A CuPy ufunc: call, at, reduce, accumulate, outer, reduceat, checked against CuPy's."""

    def __init__(self, name: str, real, np_ufunc):
        self.__name__ = name
        self.name = real.name
        self.nin, self.nout, self.nargs = real.nin, real.nout, real.nargs
        self.types = real.types
        self._np = np_ufunc
        self._sig = signature_of(real)
        self._method_sigs = {m: signature_of(getattr(real, m))
                             for m in ("at", "reduce", "accumulate", "outer", "reduceat")
                             if hasattr(real, m)}

    def __call__(self, *args, **kwargs):
        checked(self.__name__, self._sig, args, kwargs)
        a = [self._operand(v) for v in args]
        k = {key: unwrap(v, self.__name__) for key, v in kwargs.items()}
        with quiet():
            return wrap(self._np(*a, **k))

    def _operand(self, v):
        if isinstance(v, (list, tuple)):
            raise FakeCupyError(f"fake cupy: {self.__name__}: Unsupported type {type(v)}")
        return unwrap(v, self.__name__)

    def _call_method(self, method, args, kwargs):
        if method not in self._method_sigs:
            raise AttributeError(f"fake cupy: {self.__name__} has no {method}")
        checked(f"{self.__name__}.{method}", self._method_sigs[method], args, kwargs,
                drop_self=True)
        a = [unwrap(v, f"{self.__name__}.{method}") for v in args]
        k = {key: unwrap(v, self.__name__) for key, v in kwargs.items()}
        with quiet():
            return wrap(getattr(self._np, method)(*a, **k))

    def at(self, *args, **kwargs):
        if not isinstance(args[0] if args else kwargs.get("a"), FakeArray):
            raise FakeCupyError(f"fake cupy: {self.__name__}.at needs a device array")
        return self._call_method("at", args, kwargs)

    def reduce(self, *args, **kwargs):
        return self._call_method("reduce", args, kwargs)

    def accumulate(self, *args, **kwargs):
        return self._call_method("accumulate", args, kwargs)

    def outer(self, *args, **kwargs):
        return self._call_method("outer", args, kwargs)

    def reduceat(self, *args, **kwargs):
        return self._call_method("reduceat", args, kwargs)

    def __repr__(self):
        return f"<ufunc '{self.name}' (fake)>"


def _is_ufunc(obj) -> bool:
    return type(obj).__name__ in ("ufunc",) and hasattr(obj, "nin")


def _populate(fake: types.ModuleType, real: types.ModuleType, np_mod, prefix: str,
              special: dict, skip=()):
    """Copy CuPy's namespace: ufuncs and functions become NumPy-backed wrappers, types,
    dtypes and constants are copied (they are NumPy's own objects in CuPy)."""
    for name in dir(real):
        if name.startswith("_") or name in skip:
            continue
        qual = f"{prefix}.{name}"
        if name in special:
            setattr(fake, name, special[name])
            continue
        obj = getattr(real, name)
        if isinstance(obj, types.ModuleType):
            continue
        np_obj = getattr(np_mod, name, None)
        if _is_ufunc(obj):
            setattr(fake, name, FakeUfunc(name, obj, np_obj) if np_obj is not None
                    else _missing(qual))
        elif isinstance(obj, type) or not callable(obj):
            setattr(fake, name, obj)
        elif np_obj is not None and callable(np_obj):
            setattr(fake, name, _function(qual, obj, np_obj))
        else:
            setattr(fake, name, _missing(qual))


# -- special cases ---------------------------------------------------------------------------
def _creation(qualname, real_fn, np_fn, drop=()):
    """array/asarray: the one door through which host data may come in (counted)."""
    sig = signature_of(real_fn)

    def fn(*args, **kwargs):
        checked(qualname, sig, args, kwargs)
        for key in drop:
            kwargs.pop(key, None)
        src = args[0] if args else kwargs.get("obj", kwargs.get("a"))
        if isinstance(src, FakeArray):
            a = (src._a,) + tuple(args[1:])
            return wrap(np_fn(*a, **kwargs))
        if isinstance(src, (list, tuple, np.generic, int, float, bool, complex)):
            _record("h2d")                         # (a host ndarray is counted by unwrap)
        a = (unwrap(src, qualname, host_ok=True),) + tuple(args[1:])
        out = np_fn(*a, **kwargs)
        return FakeArray(np.array(out, copy=True))    # a device copy, never host memory
    fn.__name__ = qualname.rsplit(".", 1)[-1]
    return fn


def _asnumpy(a, stream=None, order="C", out=None, blocking=True):
    if isinstance(a, FakeArray):
        return a.get(order=order, out=out)
    return np.asarray(a, order=order)


def _broadcast_to(array, shape):
    """CuPy has no read-only arrays: its broadcast views are writable (stride 0)."""
    a = unwrap(array, "broadcast_to")
    view = np.broadcast_to(a, shape)
    return FakeArray(np.lib.stride_tricks.as_strided(a, view.shape, view.strides,
                                                     writeable=True))


def _take_along_axis(a, indices, axis):
    """Out-of-range indices wrap, as CuPy's advanced indexing does (it checks nothing)."""
    arr, idx = unwrap(a, "take_along_axis"), unwrap(indices, "take_along_axis")
    ax = axis if axis is not None else 0
    if axis is None:
        arr = arr.reshape(-1)
    return FakeArray(np.take_along_axis(arr, idx % arr.shape[ax] if idx.size else idx, axis=ax))


def _as_strided(x, shape=None, strides=None):
    a = unwrap(x, "lib.stride_tricks.as_strided")
    return FakeArray(np.lib.stride_tricks.as_strided(a, shape, strides, writeable=True))


class _MemoryPool:
    def __init__(self):
        self._limit = 0

    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_bytes(self):
        return 0

    def free_all_blocks(self, stream=None):
        return None

    def n_free_blocks(self):
        return 0

    def set_limit(self, size=None, fraction=None):
        self._limit = int(size or 0)

    def get_limit(self):
        return self._limit


_POOL, _PINNED = _MemoryPool(), _MemoryPool()


class _Stream:
    null = None

    def __init__(self, null=False, non_blocking=False, ptds=False, priority=None):
        self.ptr = 0

    def synchronize(self):
        return None

    def use(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_Stream.null = _Stream(null=True)


class _Event:
    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self.done = True

    def record(self, stream=None):
        return None

    def synchronize(self):
        return None


def _elapsed(start, end):
    return 0.0


def _cuda_module(real_cuda) -> types.ModuleType:
    cuda = _FakeModule("cupy.cuda")
    runtime = _FakeModule("cupy.cuda.runtime")
    runtime.getDeviceCount = lambda: 1
    runtime.getDevice = lambda: 0
    runtime.deviceSynchronize = lambda: None
    runtime.runtimeGetVersion = lambda: 13000
    runtime.driverGetVersion = lambda: 13000
    runtime.memGetInfo = lambda: (64 << 30, 141 << 30)
    runtime.getDeviceProperties = lambda device: {
        "name": b"NVIDIA H200 (fake cupy)", "totalGlobalMem": 141 << 30,
        "multiProcessorCount": 132, "major": 9, "minor": 0,
        "sharedMemPerBlockOptin": 227 * 1024, "maxThreadsPerBlock": 1024}
    runtime.CUDARuntimeError = real_cuda.runtime.CUDARuntimeError
    for name in dir(real_cuda.runtime):
        if name.startswith("cuda") and not callable(getattr(real_cuda.runtime, name)):
            setattr(runtime, name, getattr(real_cuda.runtime, name))
    cuda.runtime = runtime
    cuda.Device = FakeDevice
    cuda.Stream = _Stream
    cuda.Event = _Event
    cuda.get_current_stream = lambda device_id=-1: _Stream.null
    cuda.get_elapsed_time = _elapsed
    cuda.is_available = lambda: True
    cuda.get_device_id = lambda: 0
    cuda.set_allocator = lambda allocator=None: None
    cuda.set_pinned_memory_allocator = lambda allocator=None: None
    cuda.MemoryPool = _MemoryPool
    cuda.PinnedMemoryPool = _MemoryPool
    cuda.get_cuda_path = real_cuda.get_cuda_path
    cuda.get_nvcc_path = real_cuda.get_nvcc_path
    return cuda


class _FakeGenerator:
    """cupy.random.Generator / RandomState: NumPy's draws, handed out as device arrays; only
    the methods CuPy's class has."""

    def __init__(self, qualname: str, real_cls, host_rng):
        self._qual, self._rng = qualname, host_rng
        self._sigs = {n: signature_of(getattr(real_cls, n)) for n in dir(real_cls)
                      if not n.startswith("_") and callable(getattr(real_cls, n))}

    def __getattr__(self, name):
        if name.startswith("_") or name not in self._sigs:
            raise AttributeError(f"fake cupy: {self._qual} has no attribute {name!r}")
        return _function(f"{self._qual}.{name}", None, getattr(self._rng, name),
                         sig=self._sigs[name], drop_self=True)


def _random_module(real_random) -> types.ModuleType:
    rnd = _FakeModule("cupy.random")
    gen_cls, state_cls = real_random.Generator, real_random.RandomState   # lazy in CuPy
    special = {
        "default_rng": lambda seed=None: _FakeGenerator(
            "cupy.random.Generator", gen_cls, np.random.default_rng(
                unwrap(seed, "default_rng"))),
        "RandomState": lambda seed=None, method=None: _FakeGenerator(
            "cupy.random.RandomState", state_cls,
            np.random.RandomState(unwrap(seed, "RandomState"))),
    }
    _populate(rnd, real_random, np.random, "cupy.random", special)
    return rnd


def _special_module(real_special) -> types.ModuleType:
    import scipy.special as sp
    mod = _FakeModule("cupyx.scipy.special")
    for name in dir(real_special):
        if name.startswith("_"):
            continue
        obj, ref = getattr(real_special, name), getattr(sp, name, None)
        if isinstance(obj, types.ModuleType) or not callable(obj):
            continue
        if ref is None:
            setattr(mod, name, _missing(f"cupyx.scipy.special.{name}"))
        elif isinstance(ref, np.ufunc):
            setattr(mod, name, _function(f"cupyx.scipy.special.{name}", ref, ref))
        else:
            setattr(mod, name, _function(f"cupyx.scipy.special.{name}", obj, ref))
    return mod


def build() -> dict:
    """The stand-in's modules by name, built from the real CuPy's namespace."""
    real = _real_module("cupy")
    install_methods(real.ndarray)
    fake = _FakeModule("cupy", __doc__)
    special = {
        "ndarray": FakeArray,
        "is_available": lambda: True,
        "asnumpy": _asnumpy,
        "broadcast_to": _broadcast_to,
        "take_along_axis": _take_along_axis,
        "get_default_memory_pool": lambda: _POOL,
        "get_default_pinned_memory_pool": lambda: _PINNED,
        "array": _creation("cupy.array", real.array, np.array, drop=("blocking",)),
        "asarray": _creation("cupy.asarray", real.asarray, np.asarray, drop=("blocking",)),
        "asanyarray": _creation("cupy.asanyarray", real.asanyarray, np.asanyarray,
                                drop=("blocking",)),
        "get_array_module": lambda *args: fake if any(isinstance(a, FakeArray) for a in args)
        else np,
    }
    special["RawModule"] = _raw_module_class(real.RawModule)
    for name in ("RawKernel", "ElementwiseKernel", "ReductionKernel", "fuse"):
        special[name] = _missing(f"cupy.{name}")   # nothing here uses them; no emulation
    _populate(fake, real, np, "cupy", special)
    fake.__version__ = real.__version__
    fake.cuda = _cuda_module(real.cuda)
    fake.random = _random_module(real.random)
    fake.linalg = _FakeModule("cupy.linalg")
    _populate(fake.linalg, real.linalg, np.linalg, "cupy.linalg", {})
    fake.linalg.LinAlgError = np.linalg.LinAlgError
    fake.fft = _FakeModule("cupy.fft")
    _populate(fake.fft, real.fft, np.fft, "cupy.fft", {})
    fake.lib = _FakeModule("cupy.lib")
    fake.lib.stride_tricks = _FakeModule("cupy.lib.stride_tricks")
    fake.lib.stride_tricks.as_strided = _as_strided
    mods = {"cupy": fake, "cupy.cuda": fake.cuda, "cupy.cuda.runtime": fake.cuda.runtime,
            "cupy.random": fake.random, "cupy.linalg": fake.linalg, "cupy.fft": fake.fft,
            "cupy.lib": fake.lib, "cupy.lib.stride_tricks": fake.lib.stride_tricks}
    cupyx = _FakeModule("cupyx")
    cupyx.scipy = _FakeModule("cupyx.scipy")
    cupyx.scipy.special = _special_module(_real_module("cupyx.scipy.special"))
    mods.update({"cupyx": cupyx, "cupyx.scipy": cupyx.scipy,
                 "cupyx.scipy.special": cupyx.scipy.special})
    return mods


def _raw_module_class(real_raw_module):
    sig = signature_of(real_raw_module)

    class RawKernel:
        def __init__(self, code, name):
            self.code, self.name = code, name
            self.max_dynamic_shared_size_bytes = 0

        def __call__(self, grid, block, args, *, shared_mem=0, stream=None,
                     enable_cooperative_groups=False):
            from . import launch    # noqa: PLC0415  (the emulations load only when used)
            launch.launch(self.code, self.name, grid, block, args, shared_mem=shared_mem,
                          max_dynamic_shared_size_bytes=self.max_dynamic_shared_size_bytes,
                          stream=stream)

    class RawModule:
        """Compiles nothing; `get_function` hands out launch-checking emulated kernels."""

        def __init__(self, *args, **kwargs):
            checked("cupy.RawModule", sig, args, kwargs)
            self.code = args[0] if args else kwargs.get("code")
            self.options = tuple(kwargs.get("options", ()))
            self.name_expressions = kwargs.get("name_expressions")
            if self.code is None:
                raise FakeCupyError("fake cupy: RawModule(path=...) is not emulated")
            for opt in self.options:
                if not isinstance(opt, str):
                    raise FakeCupyError(f"fake cupy: RawModule option {opt!r} is not a str")

        def get_function(self, name):
            if self.name_expressions is not None and name not in self.name_expressions:
                raise FakeCupyError(f"fake cupy: RawModule.get_function({name!r}): not among "
                                    "the name_expressions given at construction")
            return RawKernel(self.code, name)

    return RawModule


def launch_counts() -> dict:
    """How many launches of each kernel the stand-in has checked and emulated so far."""
    from . import launch    # noqa: PLC0415
    return dict(launch.LAUNCHES)


def install() -> types.ModuleType:
    """Put the stand-in in sys.modules as `cupy` (and cupyx); return it."""
    if not _installed:
        _installed.update(build())
    sys.modules.update(_installed)
    return _installed["cupy"]


def uninstall() -> None:
    for name, mod in _installed.items():
        if sys.modules.get(name) is mod:
            del sys.modules[name]
