"""Checkpoints: `save(obj, f)` and `load(f)` for state_dicts, optimizer states and nested
dicts/lists of tensors and plain values, in two formats.

- Our own .npz (the default): a NumPy archive whose entry `__structure__` is a JSON string
  describing the nesting (dicts with their key types, lists, tuples, numbers, strings, None);
  each tensor or array is its own uncompressed `.npy` entry `a<i>`.
- PyTorch's zip format (`format="torch"`, or a .pt/.pth/.bin/.tar suffix on the path or on an
  open file's name): `<prefix>/data.pkl`, a pickle
  that names `torch._utils._rebuild_tensor_v2` and friends, plus one raw record
  `<prefix>/data/<key>` per storage. `torch.load(f, weights_only=True)` reads what we write, and
  we read what `torch.save` writes, without importing torch: the pickle is run by a small
  pickle machine of our own (`_RestrictedUnpickler`) that admits only the globals of torch's
  `weights_only=True` allow-list and builds our tensors from them; any other global refuses
  the file before anything from it runs. The legacy (pre-1.6, non-zip) torch format is read
  too.

Loading never runs code from the file and never allocates more than the file really holds:
archive entries must be stored (tl.save never compresses) and lie inside the file, every
declared array or tensor size is checked against the bytes behind it in Python ints before
anything is allocated, and every failure is one RuntimeError that names the file.
Writes go to a temporary file beside the target (one name per target and process, so a killed
save leaves at most one, which the next save removes once its process is gone), are fsynced,
then renamed over the target, so a crash leaves either the old checkpoint or the new one.
"""
from __future__ import annotations

import _compat_pickle
import ast
import io
import json
import os
import pickle
import re
import struct
import threading
import zipfile
from collections import Counter, OrderedDict
from typing import Any, Callable, Optional

import numpy as np

from . import backend
from . import dtypes as D
from .tensor import Size, Tensor

__all__ = ["save", "load", "add_safe_globals", "get_safe_globals", "clear_safe_globals",
           "safe_globals"]

_FORMAT = "tinygrad_lite.checkpoint"
_VERSION = 1
_TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".tar")    # .bin: pytorch_model.bin, .tar: .pth.tar


class _Refused(Exception):
    """A file that is not what it claims; turned into one RuntimeError naming the file. The
    message is a predicate ("is a bare .npy array ...") or a reason, which gets "is not a
    readable tinygrad_lite checkpoint: " before it."""


class _NotPlain(TypeError):
    """A value that is no tensor, number, string or container, but an instance of a class from a
    module: the whole-object (pickled) torch format can hold it, the plain formats cannot."""


def _not_plain(obj, where: str, formats: str) -> TypeError:
    """The error for a value the plain writers cannot hold: _NotPlain where pickling could (an
    instance of a class of some module), a plain TypeError for builtins' stray objects
    (object(), functions, modules), which are refused as before."""
    kind = _NotPlain if type(obj).__module__ != "builtins" else TypeError
    return kind(f"save: cannot store {type(obj).__name__} at {where}{formats}")


# -- safe globals: what weights_only=True admits beyond torch's allow-list --------------------

_SAFE_GLOBALS: list = []


def _global_name(entry) -> tuple:
    """(module, qualified name, object) of an add_safe_globals entry: obj or (obj, "mod.name")."""
    if isinstance(entry, tuple):
        if len(entry) != 2 or not isinstance(entry[1], str) or "." not in entry[1]:
            raise TypeError(f"add_safe_globals: expected (obj, 'module.name'), got {entry!r:.80}")
        module, _, name = entry[1].rpartition(".")
        return module, name, entry[0]
    module = getattr(entry, "__module__", None)
    name = getattr(entry, "__qualname__", None) or getattr(entry, "__name__", None)
    if not isinstance(module, str) or not isinstance(name, str):
        raise TypeError(f"add_safe_globals: {entry!r:.80} has no module and name; pass "
                        "(obj, 'module.name')")
    return module, name, entry


def add_safe_globals(safe_globals: list) -> None:
    """Admit these classes or functions (or (obj, "module.name") pairs) under weights_only=True,
    for every later load, as torch.serialization.add_safe_globals. Only these exact globals are
    admitted, not their modules or subclasses."""
    if not isinstance(safe_globals, (list, tuple)):
        raise TypeError(f"add_safe_globals: expected a list, got {type(safe_globals).__name__}")
    for entry in safe_globals:
        _global_name(entry)             # check them all before admitting any
    _SAFE_GLOBALS.extend(safe_globals)


def get_safe_globals() -> list:
    """The globals add_safe_globals admitted (a copy)."""
    return list(_SAFE_GLOBALS)


def clear_safe_globals() -> None:
    """Forget every global add_safe_globals admitted."""
    _SAFE_GLOBALS.clear()


class safe_globals:
    """`with tl.serialization.safe_globals([cls]):` admits cls under weights_only=True inside
    the block only (as torch's context manager)."""

    def __init__(self, safe_globals: list):
        self.globals = list(safe_globals)

    def __enter__(self):
        self._before = len(_SAFE_GLOBALS)
        add_safe_globals(self.globals)
        return self

    def __exit__(self, *exc):
        del _SAFE_GLOBALS[self._before:]
        return False


def _user_globals() -> dict:
    return {(m, n): obj for m, n, obj in map(_global_name, _SAFE_GLOBALS)}


_OPT_IN = ("; if you trust this file, load it with weights_only=False, or admit that global "
           "with tl.serialization.add_safe_globals([{0}]) or "
           "`with tl.serialization.safe_globals([{0}]):`")


class _CallerError(Exception):
    """An error of the caller's map_location, raised past the loader's own error wrapping."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


# -- placement (shared by both formats) ------------------------------------------------------

def _normalize_map_location(map_location):
    if isinstance(map_location, dict):
        return {str(backend.Device(k)): str(backend.Device(v)) for k, v in map_location.items()}
    if map_location is not None and not callable(map_location):
        return backend.Device(str(map_location))
    return map_location


def _saved_device(location: str) -> str:
    """A torch location ('cpu', 'cuda:0', 'mps') as one of our devices."""
    return "cuda" if str(location).startswith("cuda") else "cpu"


def _place(arr: np.ndarray, saved: str, map_location, requires_grad: bool) -> Tensor:
    """Wrap a host array as a Tensor on the device map_location picks for `saved`."""
    t = None
    if callable(map_location):
        # torch's form: called with the tensor on the CPU and the saved location; None keeps
        # the default placement
        try:
            t = map_location(Tensor._make(arr, False, None, None), saved)
        except Exception as e:
            raise _CallerError(e) from e
        if t is not None and not isinstance(t, Tensor):
            raise _CallerError(TypeError(f"load: map_location returned {type(t).__name__}, "
                                         "expected a Tensor or None"))
    if t is None:
        if isinstance(map_location, dict):
            device = map_location.get(saved, saved)
        else:
            device = map_location if isinstance(map_location, str) else saved
        if backend.Device(device) == "cuda" and not backend.cuda_is_available():
            device = "cpu"      # a GPU checkpoint still opens on a machine without one
        t = Tensor._make(backend.to_device(arr, device), False, None, None)
    if requires_grad and D.is_floating(arr.dtype):
        t.requires_grad_(True)
    return t


# -- writing ---------------------------------------------------------------------------------

def _temp_name(path: str) -> str:
    folder, base = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{base}.{os.getpid()}-{threading.get_ident()}.tmp")


def _remove_stale_temps(path: str) -> None:
    """Remove temp files of earlier saves to this target whose process no longer runs."""
    if os.name != "posix":      # os.kill(pid, 0) is a liveness probe on POSIX only
        return
    folder, base = os.path.split(os.path.abspath(path))
    pattern = re.compile(re.escape(f".{base}.") + r"(\d+)-\d+\.tmp\Z")
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for n in names:
        m = pattern.match(n)
        if not m or int(m.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(1)), 0)
            continue                        # still running: maybe saving right now
        except ProcessLookupError:
            pass
        except (PermissionError, OverflowError, OSError):
            continue
        try:
            os.remove(os.path.join(folder, n))
        except OSError:
            pass


def _write_atomically(path: str, write: Callable) -> None:
    """Run write(fh) into a temp file beside path, fsync it, rename it over path."""
    if os.path.isdir(path):
        raise IsADirectoryError(f"save: cannot write {path}: it is a directory")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: cannot write {path}: folder {folder} does not exist")
    _remove_stale_temps(path)
    tmp = _temp_name(path)
    # 0o666 through the umask, as open() and torch.save give (mkstemp's 0600 would not)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    try:        # make the rename itself durable; not every platform lets us open a folder
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def save(obj: Any, f, format: Optional[str] = None) -> None:  # noqa: A002  (torch-like name)
    """Write obj (a state_dict or nested dicts/lists of tensors and plain values) to f.

    format: "npz" (ours, the default), or "torch" (PyTorch's zip format, which
    `torch.load(f, weights_only=True)` reads); a path, or a file object whose `.name` is one,
    ending in .pt, .pth, .bin or .tar picks "torch", one ending in .npz picks "npz". A file
    object with no such name (an io.BytesIO) gets the default, as a path with no suffix does.
    A NumPy array is stored in torch's format as torch.save stores one: pickled by NumPy, so
    loading it back needs weights_only=False, in torch and here.
    Any other picklable object (a Module, an optimizer, a dict holding them) is written in the
    torch format as a whole-object pickle, its tensors as storage records; loading it back
    needs weights_only=False or its classes admitted with `safe_globals`. An explicit
    format="npz" (or a .npz path) refuses such objects."""
    name = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", "")
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if format is None:
        suffix = name.lower() if isinstance(name, str) else ""      # os.fdopen's name is an int
        format = "torch" if suffix.endswith(_TORCH_SUFFIXES) else (
            "npz" if suffix.endswith(".npz") else None)
    if format not in ("npz", "torch", None):
        raise ValueError(f"save: unknown format {format!r}; expected 'npz' or 'torch'")
    arrays: dict = {}
    root = None
    if format != "torch":
        try:
            root = _encode(obj, arrays, "obj")
        except _NotPlain as e:
            if format == "npz":
                raise TypeError(f"{e}; the npz format holds state_dicts, whole objects are "
                                "saved in torch's format (format='torch' or a .pt path)") from None
            format = "torch"            # a whole object given with no format: torch's pickle
    if format == "torch":
        data = _TorchWriter(obj)        # walks obj first: a bad value fails before any I/O
        write = data.write
    else:
        structure = {"format": _FORMAT, "version": _VERSION, "root": root}
        entries = dict(arrays)
        entries["__structure__"] = np.array(json.dumps(structure))

        def write(fh):
            np.savez(fh, **entries)     # np.savez stores; never compressed (load refuses that)
    if not isinstance(f, (str, os.PathLike)):
        if not hasattr(f, "write"):
            raise TypeError(f"save: expected a path or a binary file object, got "
                            f"{type(f).__name__}")
        write(f)       # a file object: the caller owns durability
        return
    _write_atomically(os.fspath(f), write)


# -- the .npz format -------------------------------------------------------------------------

def _encode(obj, arrays: dict, where: str):
    """Return a JSON-able description of obj; arrays found are moved into `arrays`."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return {"float": repr(obj)}      # repr keeps nan/inf and every bit of the value
    if isinstance(obj, np.generic):
        return _encode(obj.item(), arrays, where)
    if isinstance(obj, Tensor):
        key = f"a{len(arrays)}"
        arrays[key] = backend.to_device(obj.detach()._data, "cpu")
        return _bf16_bits({"tensor": key, "device": str(obj.device),
                           "requires_grad": obj.requires_grad}, arrays, key)
    if isinstance(obj, np.ndarray) or hasattr(obj, "__cuda_array_interface__"):
        key = f"a{len(arrays)}"
        arrays[key] = backend.to_device(obj, "cpu")
        return _bf16_bits({"ndarray": key}, arrays, key)
    if isinstance(obj, dict):
        items = [[_encode(k, arrays, where), _encode(v, arrays, f"{where}[{k!r}]")]
                 for k, v in obj.items()]
        return {"odict" if isinstance(obj, OrderedDict) else "dict": items}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]
        return {"tuple" if isinstance(obj, tuple) else "list": items}
    raise _not_plain(obj, where, "; checkpoints hold tensors, arrays, numbers, strings, None "
                     "and dicts/lists/tuples of them")


def _bf16_bits(desc: dict, arrays: dict, key: str) -> dict:
    """.npy has no bfloat16: such an array is written as its uint16 bits, the entry says so."""
    if arrays[key].dtype is D.BF16:
        arrays[key] = arrays[key].view(np.uint16)
        desc["dtype"] = "bfloat16"
    return desc


def _array_of(archive, desc, key):
    arr = archive.array(key)
    if desc.get("dtype") == "bfloat16":
        if arr.dtype != np.uint16:
            raise _Refused(f"its bfloat16 entry {key!r} does not hold 16-bit values")
        arr = arr.view(D.load_bfloat16())
    return arr


def _decode(desc, archive, map_location):
    if desc is None or isinstance(desc, (bool, str, int)):
        return desc
    if not isinstance(desc, dict) or len(desc) - ("dtype" in desc) not in (1, 3):
        raise _Refused(f"it has a malformed structure entry {desc!r:.80}")
    if "float" in desc:
        return float(desc["float"])
    if "tensor" in desc:
        arr = _array_of(archive, desc, desc["tensor"])
        return _place(arr, desc.get("device", "cpu"), map_location,
                      bool(desc.get("requires_grad")))
    if "ndarray" in desc:
        return _array_of(archive, desc, desc["ndarray"])
    if "dict" in desc or "odict" in desc:
        out = OrderedDict() if "odict" in desc else {}
        for k, v in desc.get("dict", desc.get("odict")):
            out[_decode(k, archive, map_location)] = _decode(v, archive, map_location)
        return out
    if "list" in desc:
        return [_decode(v, archive, map_location) for v in desc["list"]]
    if "tuple" in desc:
        return tuple(_decode(v, archive, map_location) for v in desc["tuple"])
    raise _Refused(f"it has an unknown structure entry {desc!r:.80}")


class _Zip:
    """A zip archive checked before use: every entry stored (uncompressed, unencrypted) and
    lying wholly inside the file, so no entry can claim more bytes than the file holds."""

    def __init__(self, fh, size: int):
        self.fh = fh
        self.zf = zipfile.ZipFile(fh)
        self.members = {}
        for info in self.zf.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                raise _Refused(f"entry {info.filename!r} is compressed; checkpoints are written "
                               "uncompressed, so this is a foreign or tampered file")
            if info.flag_bits & 0x1:
                raise _Refused(f"entry {info.filename!r} is encrypted")
            if info.file_size != info.compress_size or info.header_offset + 30 > size:
                raise _Refused(f"entry {info.filename!r} declares {info.file_size} bytes, out of "
                               f"proportion to the file ({size} bytes)")
            fh.seek(info.header_offset)
            head = fh.read(30)
            if len(head) != 30 or head[:4] != b"PK\x03\x04":
                raise _Refused(f"entry {info.filename!r} has no local header (truncated?)")
            name_len, extra_len = struct.unpack("<HH", head[26:30])
            start = info.header_offset + 30 + name_len + extra_len
            if start + info.file_size > size:
                raise _Refused(f"entry {info.filename!r} declares {info.file_size} bytes, but "
                               f"the file ends {max(size - start, 0)} bytes after its start "
                               "(truncated?)")
            self.members[info.filename] = (start, info.file_size)

    def read(self, name: str, limit: Optional[int] = None) -> bytes:
        start, n = self.members[name]
        if limit is not None and n > limit:
            raise _Refused(f"entry {name!r} is {n} bytes, more than the {limit} expected")
        self.fh.seek(start)
        data = self.fh.read(n)
        if len(data) != n:
            raise _Refused(f"entry {name!r} is cut short")
        return data

    def readinto(self, name: str, offset: int, nbytes: int) -> np.ndarray:
        start, n = self.members[name]
        buf = np.empty(nbytes, dtype=np.uint8)
        self.fh.seek(start + offset)
        if nbytes and self.fh.readinto(memoryview(buf)) != nbytes:
            raise _Refused(f"entry {name!r} is cut short")
        return buf


class _NpzArchive:
    """Reads `.npy` entries of a checked zip: header first, then exactly the declared bytes."""

    def __init__(self, z: _Zip):
        self.z = z

    def array(self, key) -> np.ndarray:
        name = f"{key}.npy"
        if not isinstance(key, str) or name not in self.z.members:
            raise _Refused(f"array entry {key!r} is missing")
        start, n = self.z.members[name]
        self.z.fh.seek(start)
        head = io.BytesIO(self.z.fh.read(min(n, 65536 + 16)))
        try:
            version = np.lib.format.read_magic(head)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(head)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(head)
        except ValueError as e:
            raise _Refused(f"array entry {key!r} has a bad .npy header ({e})") from None
        if dtype.hasobject:
            raise _Refused(f"array entry {key!r} holds Python objects (a pickle); loading never "
                           "runs code from a file")
        count = 1
        for d in shape:
            count *= int(d)
        nbytes = count * dtype.itemsize
        if nbytes > n - head.tell():
            raise _Refused(f"array entry {key!r} declares shape {shape} {dtype} ({nbytes} "
                           f"bytes) but holds {n - head.tell()} bytes")
        buf = self.z.readinto(name, head.tell(), nbytes)
        arr = buf.view(dtype) if nbytes else np.empty(0, dtype)
        return arr.reshape(shape, order="F" if fortran else "C")


def _load_npz(z: _Zip, map_location):
    if "__structure__.npy" not in z.members:
        raise _Refused("is an .npz archive but not a tinygrad_lite checkpoint (no "
                       "__structure__ entry)")
    archive = _NpzArchive(z)
    raw = archive.array("__structure__")
    if raw.dtype.kind != "U" or raw.shape != ():
        raise _Refused("its __structure__ entry is not a JSON string")
    structure = json.loads(str(raw[()]))
    if not isinstance(structure, dict) or structure.get("format") != _FORMAT:
        raise _Refused("it is not a tinygrad_lite checkpoint")
    if not isinstance(structure.get("version", 0), int) or structure.get("version", 0) > _VERSION:
        raise _Refused(f"it was written by a newer format (version {structure.get('version')}, "
                       f"this reader knows {_VERSION})")
    return _decode(structure.get("root"), archive, map_location)


# -- torch's formats: the types its weights_only loader admits ---------------------------------

# storage class name -> NumPy dtype (None: admitted by torch, but we have no such dtype)
_STORAGE_DTYPES = {"Float": "float32", "Double": "float64", "Half": "float16", "Long": "int64",
                   "Int": "int32", "Short": "int16", "Char": "int8", "Byte": "uint8",
                   "Bool": "bool", "BFloat16": "bfloat16", "ComplexFloat": None,
                   "ComplexDouble": None, "QInt8": None, "QUInt8": None, "QInt32": None,
                   "QUInt4x2": None, "QUInt2x4": None}
_NP_TO_STORAGE = {v: k for k, v in _STORAGE_DTYPES.items() if v}
_SUPPORTED_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64",
                     "uint8", "bool")
_UNSUPPORTED_DTYPES = (
    ["complex32", "complex64", "complex128", "qint8", "quint8", "qint32",
     "quint4x2", "quint2x4", "bits8", "bits16", "bits1x8", "bits2x4", "bits4x2",
     "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu",
     "float4_e2m1fn_x2", "uint16", "uint32", "uint64", "per_tensor_affine",
     "per_tensor_symmetric", "per_channel_affine", "per_channel_symmetric",
     "per_channel_affine_float_qparams"]
    + [f"int{i}" for i in range(1, 8)] + [f"uint{i}" for i in range(1, 8)])
_UNSUPPORTED_REBUILDS = ("_rebuild_qtensor", "_rebuild_sparse_tensor",
                         "_rebuild_meta_tensor_no_storage", "_rebuild_nested_tensor",
                         "_rebuild_wrapper_subclass", "_rebuild_device_tensor_from_numpy",
                         "_rebuild_device_tensor_from_cpu_tensor")


class _StorageType:
    """What `torch.FloatStorage` and friends stand for in a pickle: a dtype."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: Optional[str]):
        self.name, self.dtype = name, dtype


class _Marker:
    """torch.Tensor, torch.nn.Parameter: classes a pickle may name but never call directly."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


class _Call:
    """An admitted callable; a fresh one per load, with no attributes a pickle could set."""

    __slots__ = ("name", "fn")

    def __init__(self, name: str, fn: Callable):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "fn", fn)

    def __setattr__(self, key, value):
        raise AttributeError(f"{self.name} is read-only")

    def __call__(self, *args):
        return self.fn(*args)


class _Storage:
    """One storage record: its bytes are read (or mapped) once, however many tensors use it."""

    __slots__ = ("key", "dtype", "location", "numel", "raw", "views")

    def __init__(self, key: str, dtype: np.dtype, location: str, numel: int, raw: np.ndarray):
        self.key, self.dtype, self.location, self.numel = key, dtype, location, numel
        self.raw, self.views = raw, {}

    def flat(self, dtype: np.dtype) -> np.ndarray:
        """The storage's bytes as a 1-D array of dtype: the base every tensor view shares."""
        arr = self.views.get(dtype.str)
        if arr is None:
            n = self.raw.size // dtype.itemsize
            arr = self.raw[:n * dtype.itemsize].view(dtype)
            self.views[dtype.str] = arr
        return arr


def _int(x, what: str) -> int:
    if type(x) is not int or x < 0:
        raise _Refused(f"{what} should be a non-negative int, got {x!r:.60}")
    return x


class _TorchReader:
    """Builds our tensors from the pieces a torch pickle names, checking every size first."""

    def __init__(self, storage_loader: Callable, map_location, big_endian: bool):
        self.load_storage = storage_loader      # (key, dtype, location, numel) -> _Storage
        self.map_location = map_location
        self.big_endian = big_endian
        self.storages: dict = {}

    def globals(self) -> dict:
        """(module, name) -> object: exactly torch's weights_only allow-list."""
        g = {("collections", "OrderedDict"): _Call("collections.OrderedDict", self._odict),
             ("collections", "Counter"): _Call("collections.Counter", self._counter),
             ("builtins", "set"): _Call("builtins.set", self._set),
             ("builtins", "bytearray"): _Call("builtins.bytearray", self._bytearray),
             ("builtins", "complex"): _Call("builtins.complex", self._complex),
             ("_codecs", "encode"): _Call("_codecs.encode", self._encode_bytes),
             ("torch", "Size"): _Call("torch.Size", self._size),
             ("torch", "device"): _Call("torch.device", self._device),
             ("torch", "Tensor"): _Marker("torch.Tensor"),
             ("torch.nn.parameter", "Parameter"): _Marker("torch.nn.parameter.Parameter"),
             ("torch._utils", "_rebuild_tensor"): _Call("_rebuild_tensor", self._rebuild_v1),
             ("torch._utils", "_rebuild_tensor_v2"): _Call("_rebuild_tensor_v2",
                                                           self._rebuild_v2),
             ("torch._utils", "_rebuild_tensor_v3"): _Call("_rebuild_tensor_v3",
                                                           self._rebuild_v3),
             ("torch._utils", "_rebuild_parameter"): _Call("_rebuild_parameter",
                                                           self._rebuild_parameter),
             ("torch._utils", "_rebuild_parameter_with_state"): _Call(
                 "_rebuild_parameter_with_state", self._rebuild_parameter),
             ("torch._tensor", "_rebuild_from_type_v2"): _Call("_rebuild_from_type_v2",
                                                               self._rebuild_from_type)}
        for name in _SUPPORTED_DTYPES:
            g[("torch", name)] = np.dtype(name)
        g[("torch", "bfloat16")] = D.__getattr__("bfloat16")   # (a stand-in without ml_dtypes)
        for kind, dtype in _STORAGE_DTYPES.items():
            for module in ("torch", "torch.cuda"):
                g[(module, f"{kind}Storage")] = _StorageType(f"{module}.{kind}Storage", dtype)
        g[("torch.storage", "UntypedStorage")] = _StorageType("torch.storage.UntypedStorage",
                                                              "uint8")
        g[("torch.storage", "TypedStorage")] = _StorageType("torch.storage.TypedStorage", None)
        return g

    @staticmethod
    def unsupported(module: str, name: str) -> Optional[str]:
        """Why a global on torch's allow-list still cannot be read here (None: it can)."""
        if module == "torch" and name in _UNSUPPORTED_DTYPES:
            return f"torch.{name} is a dtype tinygrad_lite does not have"
        if module == "torch._utils" and name in _UNSUPPORTED_REBUILDS:
            return f"torch._utils.{name} builds a kind of tensor tinygrad_lite does not have"
        if module == "torch.serialization" and name == "_get_layout":
            return "sparse tensors (torch.serialization._get_layout) are not supported"
        return None

    # plain containers
    @staticmethod
    def _odict(items=()):
        return OrderedDict(items)

    @staticmethod
    def _counter(items=()):
        if not isinstance(items, dict):
            raise _Refused("collections.Counter expects a dict")
        return Counter(items)

    @staticmethod
    def _set(items=()):
        if not isinstance(items, (list, tuple)):
            raise _Refused("builtins.set expects a list")
        return set(items)

    @staticmethod
    def _bytearray(data=b"", *rest):
        if isinstance(data, str) and rest in (("latin-1",), ("latin1",)):
            return bytearray(data.encode("latin-1"))
        if isinstance(data, (bytes, list)) and not rest:
            return bytearray(data)
        raise _Refused("builtins.bytearray with unexpected arguments")

    @staticmethod
    def _complex(re_=0.0, im=0.0):
        if not all(isinstance(v, (int, float)) for v in (re_, im)):
            raise _Refused("builtins.complex expects two numbers")
        return complex(re_, im)

    @staticmethod
    def _encode_bytes(text, encoding="utf-8"):
        # protocol 2 writes bytes as _codecs.encode(text, 'latin1'); no other codec is run
        if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
            raise _Refused("_codecs.encode is admitted only as (str, 'latin1'), the way "
                           "pickle writes bytes")
        return text.encode("latin-1")

    @staticmethod
    def _size(dims=()):
        if not isinstance(dims, (tuple, list)):
            raise _Refused("torch.Size expects a tuple of ints")
        return Size(_int(d, "a torch.Size entry") for d in dims)

    @staticmethod
    def _device(kind, index=None):
        if not isinstance(kind, str) or not (index is None or type(index) is int):
            raise _Refused("torch.device expects a name and an index")
        return kind if index is None else f"{kind}:{index}"

    # tensors
    def storage(self, pid) -> _Storage:
        """persistent_load: ('storage', storage type, key, location, numel[, view metadata])."""
        if (not isinstance(pid, tuple) or len(pid) not in (5, 6) or pid[0] != "storage"
                or not isinstance(pid[1], _StorageType) or not isinstance(pid[2], str)
                or not isinstance(pid[3], str)):
            raise _Refused(f"persistent id {pid!r:.80} is not a torch storage record")
        stype, key, location, numel = pid[1], pid[2], pid[3], _int(pid[4], "a storage size")
        if len(pid) == 6 and pid[5] is not None:
            raise _Refused("storage views of the legacy format are not supported")
        if stype.dtype is None:
            raise _Refused(f"storage type {stype.name} is admitted by torch, but tinygrad_lite "
                           "has no such dtype")
        st = self.storages.get(key)
        if st is None:
            st = self.load_storage(key, D.to_dtype(stype.dtype), location, numel)
            self.storages[key] = st
        return st

    def _tensor(self, storage, offset, size, stride, dtype=None) -> np.ndarray:
        if not isinstance(storage, _Storage):
            raise _Refused(f"a tensor rebuild got {type(storage).__name__}, not a storage")
        if not isinstance(size, tuple) or not isinstance(stride, tuple) or len(size) != len(
                stride):
            raise _Refused(f"tensor size {size!r:.60} and stride {stride!r:.60} do not match")
        offset = _int(offset, "a storage offset")
        size = tuple(_int(d, "a tensor size") for d in size)
        stride = tuple(_int(s, "a tensor stride") for s in stride)
        dtype = storage.dtype if dtype is None else dtype
        if not isinstance(dtype, np.dtype):
            raise _Refused(f"tensor dtype {dtype!r:.40} is not a torch dtype")
        # the elements a view reaches, in Python ints (no int64 wrap on hostile sizes)
        reach = 0 if 0 in size else offset + 1 + sum((d - 1) * s for d, s in zip(size, stride))
        reach_bytes = reach * dtype.itemsize
        have = storage.numel * storage.dtype.itemsize
        if reach_bytes > have:
            raise _Refused(f"a tensor of size {size} with stride {stride} at offset {offset} "
                           f"needs {reach_bytes} bytes of storage {storage.key!r}, which holds "
                           f"{have}")
        if storage.raw is None:         # the first pass over a legacy file: sizes only
            return None
        if reach == 0:
            arr = np.empty(size, dtype=dtype)
        else:
            arr = np.ndarray(size, dtype=dtype, buffer=storage.flat(dtype),
                             offset=offset * dtype.itemsize,
                             strides=tuple(s * dtype.itemsize for s in stride))
        if self.big_endian:
            arr = arr.byteswap().view(arr.dtype.newbyteorder("="))
        return arr

    def _wrap(self, arr: np.ndarray, storage: _Storage, requires_grad) -> Tensor:
        if not isinstance(requires_grad, bool):
            raise _Refused("requires_grad should be a bool")
        if arr is None:
            return _DRY
        return _place(arr, _saved_device(storage.location), self.map_location, requires_grad)

    def _rebuild_v1(self, storage, offset, size, stride):
        return self._wrap(self._tensor(storage, offset, size, stride), storage, False)

    def _rebuild_v2(self, storage, offset, size, stride, requires_grad, backward_hooks,
                    metadata=None):
        return self._wrap(self._tensor(storage, offset, size, stride), storage, requires_grad)

    def _rebuild_v3(self, storage, offset, size, stride, requires_grad, backward_hooks, dtype,
                    metadata=None):
        return self._wrap(self._tensor(storage, offset, size, stride, dtype), storage,
                          requires_grad)

    @staticmethod
    def _rebuild_parameter(data, requires_grad, backward_hooks, state=None):
        if data is _DRY:
            return _DRY
        if not isinstance(data, Tensor) or not isinstance(requires_grad, bool):
            raise _Refused("_rebuild_parameter expects a tensor and a bool")
        from .nn.parameter import Parameter  # noqa: PLC0415  (nn sits above serialization)
        p = Parameter(data.detach(), requires_grad=requires_grad and D.is_floating(data.dtype))
        p._data = data._data          # keep the storage shared, not a copy
        return p

    @staticmethod
    def _rebuild_from_type(func, new_type, args, state):
        if not isinstance(new_type, _Marker) or not isinstance(func, _Call) or not isinstance(
                args, tuple):
            raise _Refused("_rebuild_from_type_v2 is admitted only for torch.Tensor and "
                           "torch.nn.Parameter")
        if state:
            raise _Refused(f"{new_type.name} with extra attributes is not supported")
        return func(*args)


# -- a pickle machine that runs nothing ------------------------------------------------------

class _RestrictedUnpickler:
    """Pickle protocols 0-5, with GLOBAL limited to an allow-list and calls limited to what it
    maps to. Iterative, bounds-checked before every read: a hostile length field allocates
    nothing, and no class, `__setstate__` or import is ever reached."""

    def __init__(self, data: bytes, allowed: dict, unsupported: Callable,
                 persistent_load: Optional[Callable], user: Optional[dict] = None):
        self._data, self.allowed, self.unsupported = data, allowed, unsupported
        self.persistent_load = persistent_load
        # add_safe_globals' exact objects: the only classes built, called or given state
        self.user = user or {}
        self.user_ids = {id(v) for v in self.user.values()}
        self.hint = ""          # how to opt in, added to a refusal (torch zip files only)

    def load(self, pos: int = 0):  # noqa: C901  (one opcode per branch reads best as one loop)
        """The object of the pickle that starts at byte pos; self.end is where it stopped."""
        data, n = self._data, len(self._data)
        stack: list = []
        marks: list = []
        memo: dict = {}

        def take(k: int) -> bytes:
            nonlocal pos
            if k < 0 or pos + k > n:
                raise _Refused(f"its pickle is cut short (an opcode at byte {pos} asks for {k} "
                               f"bytes, {n - pos} remain)")
            out = data[pos:pos + k]
            pos += k
            return out

        def line() -> bytes:
            nonlocal pos
            end = data.find(b"\n", pos, pos + 4096)
            if end < 0:
                raise _Refused(f"its pickle has an unterminated line at byte {pos}")
            out = data[pos:end]
            pos = end + 1
            return out

        def pop_mark() -> list:
            if not marks:
                raise _Refused("its pickle pops a mark it never set")
            m = marks.pop()
            items = stack[m:]
            del stack[m:]
            return items

        def pop():
            if len(stack) <= (marks[-1] if marks else 0):
                raise _Refused("its pickle pops an empty stack")
            return stack.pop()

        def find(module: str, name: str):
            # protocol 2 writes Python 2's names (__builtin__, commands); read Python 3's
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
            obj = self.allowed.get((module, name))
            if obj is None:
                if (module, name) in self.user:
                    return self.user[(module, name)]
                why = self.unsupported(module, name)
                if why:
                    raise _Refused(f"{why} (it is on torch's weights_only allow-list)")
                raise _Refused(f"it names the global {module}.{name}, which is not on torch's "
                               "weights_only allow-list; refused before anything in the file "
                               "ran" + self.hint.format(f"{module}.{name}"))
            return obj

        def user_call(fn, args, new: bool, kwargs=None):
            if not isinstance(args, tuple) or not (kwargs is None or isinstance(kwargs, dict)):
                raise _Refused("its pickle calls an admitted global with malformed arguments")
            if new:
                if not isinstance(fn, type):
                    raise _Refused(f"its pickle builds an instance of {fn!r:.60}, not a class")
                return fn.__new__(fn, *args, **(kwargs or {}))
            return fn(*args, **(kwargs or {}))

        def user_build(target, state):
            setstate = getattr(type(target), "__setstate__", None)
            if setstate is not None:
                target.__setstate__(state)
                return
            slots = None
            if isinstance(state, tuple) and len(state) == 2:
                state, slots = state
            for part in (state, slots):
                if part is not None and not (isinstance(part, dict) and all(
                        isinstance(k, str) for k in part)):
                    raise _Refused(f"its pickle sets the state of a {type(target).__name__} "
                                   "from something that is not a dict of names")
            if state:
                target.__dict__.update(state)
            for k, v in (slots or {}).items():
                setattr(target, k, v)

        while True:
            op = take(1)[0]
            if op == 0x80:                                  # PROTO
                if take(1)[0] > 5:
                    raise _Refused("its pickle uses a protocol newer than 5")
            elif op == 0x95:                                # FRAME: framing only
                if struct.unpack("<Q", take(8))[0] > n - pos:
                    raise _Refused("its pickle declares a frame longer than the file")
            elif op == 0x2E:                                # STOP
                if len(stack) != 1 or marks:
                    raise _Refused("its pickle stops with a malformed stack")
                self.end = pos
                return stack[0]
            elif op == 0x28:                                # MARK
                marks.append(len(stack))
            elif op == 0x30:                                # POP
                pop()
            elif op == 0x31:                                # POP_MARK
                pop_mark()
            elif op == 0x32:                                # DUP
                stack.append(pop())
                stack.append(stack[-1])
            elif op == 0x4E:                                # NONE
                stack.append(None)
            elif op == 0x88:                                # NEWTRUE
                stack.append(True)
            elif op == 0x89:                                # NEWFALSE
                stack.append(False)
            elif op == 0x4B:                                # BININT1
                stack.append(take(1)[0])
            elif op == 0x4D:                                # BININT2
                stack.append(struct.unpack("<H", take(2))[0])
            elif op == 0x4A:                                # BININT
                stack.append(struct.unpack("<i", take(4))[0])
            elif op == 0x8A:                                # LONG1
                stack.append(int.from_bytes(take(take(1)[0]), "little", signed=True))
            elif op == 0x8B:                                # LONG4
                k = struct.unpack("<i", take(4))[0]
                stack.append(int.from_bytes(take(k), "little", signed=True))
            elif op == 0x49:                                # INT (text)
                s = line()
                stack.append(s == b"01" if s in (b"00", b"01") else int(s))
            elif op == 0x4C:                                # LONG (text)
                stack.append(int(line().rstrip(b"L")))
            elif op == 0x46:                                # FLOAT (text)
                stack.append(float(line()))
            elif op == 0x47:                                # BINFLOAT
                stack.append(struct.unpack(">d", take(8))[0])
            elif op == 0x58:                                # BINUNICODE
                stack.append(str(take(struct.unpack("<I", take(4))[0]), "utf-8",
                                 "surrogatepass"))
            elif op == 0x8C:                                # SHORT_BINUNICODE
                stack.append(str(take(take(1)[0]), "utf-8", "surrogatepass"))
            elif op == 0x8D:                                # BINUNICODE8
                stack.append(str(take(struct.unpack("<Q", take(8))[0]), "utf-8",
                                 "surrogatepass"))
            elif op == 0x56:                                # UNICODE (raw-unicode-escape)
                stack.append(str(line(), "raw-unicode-escape"))
            elif op == 0x54:                                # BINSTRING (Python 2 str)
                stack.append(str(take(struct.unpack("<i", take(4))[0]), "latin-1"))
            elif op == 0x55:                                # SHORT_BINSTRING
                stack.append(str(take(take(1)[0]), "latin-1"))
            elif op == 0x53:                                # STRING (quoted text)
                s = line()
                if len(s) < 2 or s[0] != s[-1] or s[:1] not in (b"'", b'"'):
                    raise _Refused("its pickle has a malformed STRING")
                stack.append(ast.literal_eval(s.decode("latin-1")))
            elif op == 0x42:                                # BINBYTES
                stack.append(take(struct.unpack("<I", take(4))[0]))
            elif op == 0x43:                                # SHORT_BINBYTES
                stack.append(take(take(1)[0]))
            elif op == 0x8E:                                # BINBYTES8
                stack.append(take(struct.unpack("<Q", take(8))[0]))
            elif op == 0x96:                                # BYTEARRAY8
                stack.append(bytearray(take(struct.unpack("<Q", take(8))[0])))
            elif op == 0x29:                                # EMPTY_TUPLE
                stack.append(())
            elif op in (0x85, 0x86, 0x87):                  # TUPLE1, TUPLE2, TUPLE3
                k = op - 0x84
                if len(stack) - (marks[-1] if marks else 0) < k:
                    raise _Refused("its pickle builds a tuple from an empty stack")
                items = tuple(stack[-k:])
                del stack[-k:]
                stack.append(items)
            elif op == 0x74:                                # TUPLE
                stack.append(tuple(pop_mark()))
            elif op == 0x5D:                                # EMPTY_LIST
                stack.append([])
            elif op == 0x6C:                                # LIST
                stack.append(pop_mark())
            elif op == 0x7D:                                # EMPTY_DICT
                stack.append({})
            elif op == 0x64:                                # DICT
                items = pop_mark()
                if len(items) % 2:
                    raise _Refused("its pickle builds a dict from an odd number of items")
                stack.append(dict(zip(items[::2], items[1::2])))
            elif op == 0x8F:                                # EMPTY_SET
                stack.append(set())
            elif op == 0x91:                                # FROZENSET
                stack.append(frozenset(pop_mark()))
            elif op in (0x61, 0x65):                        # APPEND, APPENDS
                items = [pop()] if op == 0x61 else pop_mark()
                target = stack[-1] if stack else None
                if type(target) is not list:
                    raise _Refused(f"its pickle appends to a {type(target).__name__}")
                target.extend(items)
            elif op in (0x73, 0x75):                        # SETITEM, SETITEMS
                if op == 0x73:
                    v = pop()
                    items = [pop(), v]
                else:
                    items = pop_mark()
                target = stack[-1] if stack else None
                if not isinstance(target, dict) or len(items) % 2:
                    raise _Refused(f"its pickle sets items of a {type(target).__name__}")
                for i in range(0, len(items), 2):
                    target[items[i]] = items[i + 1]
            elif op == 0x90:                                # ADDITEMS
                items = pop_mark()
                target = stack[-1] if stack else None
                if type(target) is not set:
                    raise _Refused(f"its pickle adds items to a {type(target).__name__}")
                target.update(items)
            elif op == 0x63:                                # GLOBAL
                module = line().decode("utf-8")
                stack.append(find(module, line().decode("utf-8")))
            elif op == 0x93:                                # STACK_GLOBAL
                name, module = pop(), pop()
                if not isinstance(name, str) or not isinstance(module, str):
                    raise _Refused("its pickle has a STACK_GLOBAL without names")
                stack.append(find(module, name))
            elif op in (0x52, 0x81) and id(stack[-2] if len(stack) > 1 else None) in \
                    self.user_ids:                          # REDUCE, NEWOBJ of an admitted one
                args, fn = pop(), pop()
                stack.append(user_call(fn, args, op == 0x81))
            elif op == 0x92 and len(stack) > 2 and id(stack[-3]) in self.user_ids:  # NEWOBJ_EX
                kwargs, args, fn = pop(), pop(), pop()
                stack.append(user_call(fn, args, True, kwargs))
            elif op in (0x52, 0x81):                        # REDUCE, NEWOBJ
                args, fn = pop(), pop()
                if not isinstance(fn, _Call) or not isinstance(args, tuple):
                    raise _Refused(f"its pickle calls {getattr(fn, 'name', type(fn).__name__)}, "
                                   "which is not callable here")
                stack.append(fn(*args))
            elif op == 0x62:                                # BUILD
                state = pop()
                target = stack[-1] if stack else None
                if id(type(target)) in self.user_ids:
                    user_build(target, state)
                    continue
                # only the attributes torch's own loader sets: OrderedDict's (a state_dict's
                # `_metadata`), as plain instance data
                if type(target) is not OrderedDict or not isinstance(state, dict) or not all(
                        isinstance(k, str) for k in state):
                    raise _Refused(f"its pickle sets the state of a {type(target).__name__}, "
                                   "which torch's weights_only loader does not allow")
                target.__dict__.update(state)
            elif op in (0x70, 0x71, 0x72, 0x94):            # PUT, BINPUT, LONG_BINPUT, MEMOIZE
                if op == 0x70:
                    idx = int(line())
                elif op == 0x71:
                    idx = take(1)[0]
                elif op == 0x72:
                    idx = struct.unpack("<I", take(4))[0]
                else:
                    idx = len(memo)
                if not stack:
                    raise _Refused("its pickle memoizes an empty stack")
                memo[idx] = stack[-1]
            elif op in (0x67, 0x68, 0x6A):                  # GET, BINGET, LONG_BINGET
                if op == 0x67:
                    idx = int(line())
                elif op == 0x68:
                    idx = take(1)[0]
                else:
                    idx = struct.unpack("<I", take(4))[0]
                if idx not in memo:
                    raise _Refused(f"its pickle reads memo entry {idx}, which was never set")
                stack.append(memo[idx])
            elif op in (0x50, 0x51):                        # PERSID, BINPERSID
                pid = line().decode("ascii") if op == 0x50 else pop()
                if self.persistent_load is None:
                    raise _Refused("its pickle refers to storage records outside itself")
                stack.append(self.persistent_load(pid))
            else:
                # EXT1/2/4 (the copyreg registry), INST and OBJ (any class), NEXT_BUFFER ...
                raise _Refused(f"its pickle uses opcode {bytes([op])!r} at byte {pos - 1}, "
                               "which torch's weights_only loader does not allow")


_PICKLE_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, struct.error,
                  UnicodeDecodeError, SyntaxError, MemoryError, RecursionError,
                  pickle.UnpicklingError)


def _unpickle(data: bytes, reader: _TorchReader, weights_only: bool = True):
    if not weights_only:
        return _FullUnpickler(data, reader).load()
    u = _RestrictedUnpickler(data, reader.globals(), reader.unsupported, reader.storage,
                             _user_globals())
    u.hint = _OPT_IN
    return u.load()


def _load_torch_zip(z: _Zip, prefix: str, map_location, mmap_path: Optional[str],
                    weights_only: bool = True):
    byteorder = "little"
    if prefix + "byteorder" in z.members:
        byteorder = z.read(prefix + "byteorder", limit=16).decode("ascii", "replace").strip()
        if byteorder not in ("little", "big"):
            raise _Refused(f"its byteorder record says {byteorder!r}")
    mapped = None
    if mmap_path is not None:
        mapped = np.memmap(mmap_path, dtype=np.uint8, mode="c")  # copy on write, like torch

    def storage(key, dtype, location, numel):
        name = f"{prefix}data/{key}"
        if name not in z.members:
            raise _Refused(f"storage record {key!r} is missing")
        start, size = z.members[name]
        nbytes = numel * dtype.itemsize
        if nbytes > size:
            raise _Refused(f"storage record {key!r} holds {size} bytes, shorter than the "
                           f"{numel} x {dtype} ({nbytes} bytes) it declares")
        if mapped is not None and nbytes:
            raw = mapped[start:start + nbytes]
        else:
            raw = z.readinto(name, 0, nbytes)
        return _Storage(key, dtype, location, numel, raw)

    reader = _TorchReader(storage, map_location, byteorder == "big")
    return _unpickle(z.read(prefix + "data.pkl"), reader, weights_only)


_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c
_LEGACY_PROTOCOL = 1001
_DRY = _Marker("a tensor of the first pass")


def _load_torch_legacy(data: bytes, map_location):
    """The pre-1.6 stream: magic, protocol, sys_info and data pickles, a pickled list of
    storage keys, then per key an int64 element count and the raw elements. The storages come
    after the pickle that uses them, so that pickle is run twice: once to learn the storages
    (sizes checked, nothing built), once to build the tensors."""
    plain = _TorchReader(None, None, False)

    def one(pos, reader=None):
        r = reader or plain
        u = _RestrictedUnpickler(data, r.globals(), r.unsupported,
                                 r.storage if reader else None)
        return u.load(pos), u.end

    not_torch = ("it is a pickle but not one torch.save wrote, and pickle files other than "
                 "torch checkpoints are refused (loading never runs code from a file)")
    try:
        magic, pos = one(0)
    except _Refused as e:
        raise _Refused(f"{not_torch}: {e}") from None
    if magic != _LEGACY_MAGIC:
        raise _Refused(not_torch)
    protocol, pos = one(pos)
    if protocol != _LEGACY_PROTOCOL:
        raise _Refused(f"it is a legacy torch file of unknown protocol {protocol!r:.20}")
    info, pos = one(pos)
    if not isinstance(info, dict) or info.get("little_endian", True) is not True:
        raise _Refused("it is a big-endian legacy torch file, which is not supported")
    storages: dict = {}

    def declare(key, dtype, location, numel):
        st = storages[key] = _Storage(key, dtype, location, numel, None)
        return st

    _, data_end = one(pos, _TorchReader(declare, None, False))
    keys, at = one(data_end)
    if not isinstance(keys, list) or sorted(map(str, keys)) != sorted(storages):
        raise _Refused("its list of storage keys does not match the storages it uses")
    for key in keys:
        if at + 8 > len(data):
            raise _Refused(f"storage {key!r} is cut short")
        count = struct.unpack("<q", data[at:at + 8])[0]
        st = storages[key]
        nbytes = count * st.dtype.itemsize
        if count < st.numel or at + 8 + nbytes > len(data):
            raise _Refused(f"storage {key!r} declares {count} elements, but {st.numel} are used "
                           f"and the file holds {max(len(data) - at - 8, 0)} bytes for it")
        st.raw = np.frombuffer(bytearray(data[at + 8:at + 8 + nbytes]), dtype=np.uint8)
        at += 8 + nbytes
    reader = _TorchReader(None, map_location, False)
    reader.storages = storages
    result, _ = one(pos, reader)
    return result


# -- writing torch's zip format --------------------------------------------------------------

class _TorchWriter:
    """obj as torch.save's zip layout: a protocol 2 pickle written opcode by opcode (no torch
    import, no pickling of our own classes) plus one record per storage. Views of one array
    share one storage record, as torch's do."""

    def __init__(self, obj):
        self.out = bytearray(b"\x80\x02")      # PROTO 2
        self.memo: dict = {}
        self.records: list = []               # (key, contiguous host array)
        self.storage_of: dict = {}            # (id(root), dtype) -> key
        self.keep: list = []                  # roots stay alive while their ids are keys
        try:
            self.value(obj, "obj")
            self.out += b"."                       # STOP
            return
        except _NotPlain:
            pass
        # an instance of some class: pickle the whole object, tensors still as records
        self.records.clear()
        self.storage_of.clear()
        self.keep.clear()
        buf = io.BytesIO()
        try:
            _ObjectPickler(buf, self).dump(obj)
        except (pickle.PicklingError, AttributeError) as e:
            raise TypeError(f"save: cannot pickle {type(obj).__name__}: {e}") from None
        self.out = bytearray(buf.getvalue())

    # opcodes
    def _global(self, module: str, name: str):
        key = (module, name)
        if key in self.memo:
            i = self.memo[key]
            self.out += b"h" + bytes([i]) if i < 256 else b"j" + struct.pack("<I", i)
            return
        self.out += f"c{module}\n{name}\n".encode()
        i = self.memo[key] = len(self.memo)
        self.out += b"q" + bytes([i]) if i < 256 else b"r" + struct.pack("<I", i)

    def _int(self, v: int):
        if 0 <= v < 256:
            self.out += b"K" + bytes([v])
        elif 0 <= v < 65536:
            self.out += b"M" + struct.pack("<H", v)
        elif -2 ** 31 <= v < 2 ** 31:
            self.out += b"J" + struct.pack("<i", v)
        else:
            raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
            self.out += b"\x8a" + bytes([len(raw)]) + raw if len(raw) < 256 else (
                b"\x8b" + struct.pack("<i", len(raw)) + raw)

    def _str(self, s: str):
        raw = s.encode("utf-8", "surrogatepass")
        self.out += b"X" + struct.pack("<I", len(raw)) + raw

    def _tuple(self, items, where):
        if not items:
            self.out += b")"
            return
        self.out += b"("
        for i, v in enumerate(items):
            self.value(v, f"{where}[{i}]")
        self.out += b"t"

    def _empty_odict(self):
        self._global("collections", "OrderedDict")
        self.out += b")R"

    def value(self, obj, where: str):  # noqa: C901
        if obj is None:
            self.out += b"N"
        elif obj is True or obj is False:
            self.out += b"\x88" if obj else b"\x89"
        elif isinstance(obj, Size):
            self._global("torch", "Size")
            self._tuple(tuple(int(d) for d in obj), where)
            self.out += b"\x85R"                 # TUPLE1, REDUCE
        elif isinstance(obj, int):
            self._int(int(obj))
        elif isinstance(obj, float):
            self.out += b"G" + struct.pack(">d", obj)
        elif isinstance(obj, str):
            self._str(obj)
        elif isinstance(obj, bytes):
            self._global("_codecs", "encode")
            self._str(obj.decode("latin-1"))
            self._str("latin1")
            self.out += b"\x86R"                 # TUPLE2, REDUCE
        elif isinstance(obj, np.generic):
            self.value(obj.item(), where)
        elif isinstance(obj, np.dtype) and (obj.name in _SUPPORTED_DTYPES or obj is D.BF16):
            self._global("torch", obj.name)
        elif isinstance(obj, Tensor):
            self._tensor(obj, where)
        elif isinstance(obj, np.ndarray):
            # torch.save pickles an ndarray with NumPy's own reduce, not as a tensor
            raise _NotPlain(f"save: a NumPy array at {where} is pickled whole, as torch does")
        elif hasattr(obj, "__cuda_array_interface__"):
            self._array(obj, "cuda:0", False, where)
        elif isinstance(obj, dict):
            if isinstance(obj, OrderedDict):
                self._empty_odict()
            else:
                self.out += b"}"
            if obj:
                self.out += b"("
                for k, v in obj.items():
                    self.value(k, where)
                    self.value(v, f"{where}[{k!r}]")
                self.out += b"u"                 # SETITEMS
        elif isinstance(obj, tuple):
            self._tuple(obj, where)
        elif isinstance(obj, list):
            self.out += b"]"
            if obj:
                self.out += b"("
                for i, v in enumerate(obj):
                    self.value(v, f"{where}[{i}]")
                self.out += b"e"                 # APPENDS
        elif type(obj) is set:
            self._global("builtins", "set")
            self.value(list(obj), where)
            self.out += b"\x85R"
        else:
            raise _not_plain(obj, where, " in torch's format; it holds tensors, arrays, "
                             "numbers, strings, bytes, None, sets, dicts/lists/tuples of them "
                             "and instances of classes (pickled whole)")

    def _tensor(self, t: Tensor, where: str):
        from .nn.parameter import Parameter  # noqa: PLC0415  (nn sits above serialization)
        location = "cuda:0" if t.device == "cuda" else "cpu"
        if isinstance(t, Parameter):
            self._global("torch._utils", "_rebuild_parameter")
            self.out += b"("
            self._array(t._data, location, False, where)
            self.value(bool(t.requires_grad), where)
            self._empty_odict()
            self.out += b"tR"
        else:
            self._array(t._data, location, bool(t.requires_grad), where)

    @staticmethod
    def _host_storage_type(arr, where: str) -> tuple:
        """(the array on the host, torch's storage name for its dtype), or a TypeError."""
        arr = backend.to_device(arr, "cpu")
        name = _NP_TO_STORAGE.get(arr.dtype.name)
        if name is None or arr.dtype.byteorder == ">":
            raise TypeError(f"save: cannot store a {arr.dtype} tensor{where} in torch's "
                            f"format (it holds {', '.join(_SUPPORTED_DTYPES)}, bfloat16)")
        return arr, name

    def _array(self, arr, location: str, requires_grad: bool, where: str):
        arr, name = self._host_storage_type(arr, f" at {where}")
        key, offset, strides, numel = self._storage(arr)
        self._global("torch._utils", "_rebuild_tensor_v2")
        self.out += b"(("                       # MARK args, MARK persistent id
        self._str("storage")
        self._global("torch", f"{name}Storage")
        self._str(key)
        self._str(location)
        self._int(numel)
        self.out += b"tQ"                       # TUPLE, BINPERSID
        self._int(offset)
        self._tuple(tuple(int(d) for d in arr.shape), where)
        self._tuple(strides, where)
        self.value(requires_grad, where)
        self._empty_odict()
        self.out += b"tR"

    def _storage(self, arr: np.ndarray):
        """(key, offset, strides, numel): the record arr views, written once per base array."""
        item = arr.itemsize
        root = arr
        while isinstance(root.base, np.ndarray) and root.base.dtype == arr.dtype:
            root = root.base
        if root.flags.c_contiguous and all(s >= 0 and s % item == 0 for s in arr.strides):
            gap = (arr.__array_interface__["data"][0] - root.__array_interface__["data"][0])
            if gap >= 0 and gap % item == 0:
                key = self.storage_of.get((id(root), arr.dtype.str))
                if key is None:
                    key = str(len(self.records))
                    self.storage_of[(id(root), arr.dtype.str)] = key
                    self.records.append((key, root))
                    self.keep.append(root)
                return key, gap // item, tuple(s // item for s in arr.strides), root.size
        own = arr.copy(order="C")
        key = str(len(self.records))
        self.records.append((key, own))
        return key, 0, tuple(s // item for s in own.strides), own.size

    def tensor_args(self, t: Tensor, requires_grad: bool) -> tuple:
        """_rebuild_tensor_v2's arguments for t, its storage as a persistent-id record."""
        arr, name = self._host_storage_type(t._data, "")
        key, offset, strides, numel = self._storage(arr)
        location = "cuda:0" if t.device == "cuda" else "cpu"
        pid = _StorageRef(("storage", _torch_name("torch", f"{name}Storage"), key, location,
                           numel))
        return (pid, offset, tuple(int(d) for d in arr.shape), strides, requires_grad,
                OrderedDict())

    def write(self, fh):
        prefix = "archive/"
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            self._member(zf, fh, prefix + "data.pkl", memoryview(bytes(self.out)))
            self._member(zf, fh, prefix + ".format_version", memoryview(b"1"))
            self._member(zf, fh, prefix + ".storage_alignment", memoryview(b"64"))
            self._member(zf, fh, prefix + "byteorder", memoryview(b"little"))
            for key, arr in self.records:
                self._member(zf, fh, f"{prefix}data/{key}", memoryview(arr.reshape(-1).view(
                    np.uint8)))
            self._member(zf, fh, prefix + "version", memoryview(b"3\n"))

    @staticmethod
    def _member(zf: zipfile.ZipFile, fh, name: str, data: memoryview):
        """One stored entry whose data starts on a 64-byte boundary, as torch aligns them
        (torch.load(mmap=True) maps records in place)."""
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_STORED
        info.file_size = data.nbytes
        zip64 = data.nbytes * 1.05 > zipfile.ZIP64_LIMIT
        try:
            here = fh.tell()
        except (OSError, AttributeError):
            here = None
        if here is not None:
            start = here + 30 + len(name.encode()) + (20 if zip64 else 0)
            pad = (-(start + 4)) % 64
            info.extra = struct.pack("<HH", 0x4C54, pad) + b"\0" * pad   # "TL" padding field
        with zf.open(info, "w", force_zip64=zip64) as w:
            w.write(data)


class _TorchName:
    """A global of torch's (torch._utils._rebuild_tensor_v2, torch.FloatStorage, ...) written
    into a pickle by name, without importing torch."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # pragma: no cover - pickle only checks that it is callable
        raise TypeError(f"{self.module}.{self.name} is a name written into a pickle")


_TORCH_NAMES: dict = {}


def _torch_name(module: str, name: str) -> _TorchName:
    """One object per name, so the pickler's memo writes each global once."""
    key = (module, name)
    if key not in _TORCH_NAMES:
        _TORCH_NAMES[key] = _TorchName(module, name)
    return _TORCH_NAMES[key]


class _StorageRef:
    """A storage record's persistent id, as torch writes it."""

    __slots__ = ("pid",)

    def __init__(self, pid: tuple):
        self.pid = pid


class _AsPlainTensor:
    """A Parameter's data inside _rebuild_parameter: pickled as a plain tensor."""

    __slots__ = ("t",)

    def __init__(self, t: Tensor):
        self.t = t


class _ObjectPickler(pickle._Pickler):
    """Python's own pickler (protocol 2, as torch.save) for whole objects, with tensors written
    as torch writes them: _rebuild_tensor_v2 / _rebuild_parameter over a persistent-id storage
    record, never their bytes inside data.pkl. The pure-Python pickler is used because only it
    lets torch's global names be written without importing torch (save_global below)."""

    def __init__(self, fh, writer: _TorchWriter):
        super().__init__(fh, protocol=2)
        self.writer = writer

    def persistent_id(self, obj):
        return obj.pid if type(obj) is _StorageRef else None

    def reducer_override(self, obj):
        if type(obj) is _TorchName:
            return obj.name             # a string: written by save_global below
        if type(obj) is _AsPlainTensor:
            return (_torch_name("torch._utils", "_rebuild_tensor_v2"),
                    self.writer.tensor_args(obj.t, False))
        if isinstance(obj, Tensor):
            from .nn.parameter import Parameter  # noqa: PLC0415  (nn sits above serialization)
            if isinstance(obj, Parameter):
                return (_torch_name("torch._utils", "_rebuild_parameter"),
                        (_AsPlainTensor(obj), bool(obj.requires_grad), OrderedDict()))
            return (_torch_name("torch._utils", "_rebuild_tensor_v2"),
                    self.writer.tensor_args(obj, bool(obj.requires_grad)))
        if isinstance(obj, Size):
            return (_torch_name("torch", "Size"), (tuple(int(d) for d in obj),))
        return NotImplemented

    def save_global(self, obj, name=None):
        if type(obj) is _TorchName:
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
            self.memoize(obj)
            return
        super().save_global(obj, name)


class _FullUnpickler(pickle.Unpickler):
    """weights_only=False: Python's unpickler, which runs what the file names (the caller asked
    for that by name), with torch's rebuild functions and storages mapped to ours."""

    def __init__(self, data: bytes, reader: _TorchReader):
        super().__init__(io.BytesIO(data))
        self.reader = reader
        self.table = reader.globals()

    def find_class(self, module, name):
        obj = self.table.get((module, name))
        if obj is not None:
            return obj
        why = self.reader.unsupported(module, name)
        if why:
            raise _Refused(why)
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError) as e:
            raise _Refused(f"it names the global {module}.{name}, which cannot be found here "
                           f"({type(e).__name__}: {e})") from None

    def persistent_load(self, pid):
        return self.reader.storage(pid)


# -- load ------------------------------------------------------------------------------------

def load(f, map_location=None, weights_only: bool = True, mmap: Optional[bool] = None) -> Any:
    """Read a checkpoint written by `save` or by `torch.save`; tensors go to map_location
    (default: where they were saved, or the CPU when that GPU is not available).

    map_location is a device ("cpu", "cuda"), a dict from saved device to device
    ({"cuda": "cpu"}), or a callable fn(tensor_on_cpu, saved_device) returning a Tensor, or None
    for the default placement. mmap=True maps the storages of a torch zip file (given by path)
    copy-on-write instead of reading them.

    weights_only=True (the default) admits only torch's weights_only allow-list plus what
    `add_safe_globals` / `safe_globals` named; any other global refuses the file, naming it,
    before anything in it runs. weights_only=False unpickles a torch zip file with Python's
    unpickler, which runs whatever the file names: use it only on files you trust (it is how a
    whole object saved by `save(model, f)` comes back without admitting its classes)."""
    if not isinstance(weights_only, bool):
        raise TypeError(f"load: weights_only must be a bool, got {weights_only!r:.40}")
    if not isinstance(f, (str, os.PathLike)) and not hasattr(f, "read"):
        raise TypeError(f"load: expected a path or a binary file object, got "
                        f"{type(f).__name__}")
    name = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", repr(f))
    map_location = _normalize_map_location(map_location)
    if isinstance(f, (str, os.PathLike)):
        if not os.path.exists(name):
            raise FileNotFoundError(f"load: no such checkpoint file: {name}")
        if os.path.isdir(name):
            raise IsADirectoryError(f"load: {name} is a directory, not a checkpoint file")
        with open(name, "rb") as fh:
            return _load(fh, name, map_location, name if mmap else None, weights_only)
    if mmap:
        raise ValueError("load: mmap=True needs a file path, not a file object")
    fh = f
    if not (hasattr(f, "seekable") and f.seekable()):
        fh = io.BytesIO(f.read())
    return _load(fh, name, map_location, None, weights_only)


def _load(fh, name: str, map_location, mmap_path: Optional[str], weights_only: bool = True):
    start = fh.tell()
    fh.seek(0, io.SEEK_END)
    size = fh.tell() - start
    fh.seek(start)
    head = fh.read(8)
    fh.seek(start)
    if start:
        fh = io.BytesIO(fh.read())       # zip offsets are from the start of the file
    try:
        if head[:6] == b"\x93NUMPY":
            raise _Refused("is a bare .npy array, not a tinygrad_lite checkpoint")
        if head[:2] == b"PK":
            z = _Zip(fh, size)
            pkl = [m for m in z.members if re.fullmatch(r"[^/]+/data\.pkl", m)]
            if pkl:
                return _load_torch_zip(z, pkl[0][:-len("data.pkl")], map_location, mmap_path,
                                       weights_only)
            return _load_npz(z, map_location)
        if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
            return _load_torch_legacy(fh.read(), map_location)
        raise _Refused("it is neither an .npz archive nor a torch checkpoint (the legacy "
                       "pickles of torch.save are read through torch's allow-list only; "
                       "loading never runs code from a file)")
    except _CallerError as e:
        raise e.error from None
    except _Refused as e:
        what = str(e) if str(e).startswith("is ") else (
            f"is not a readable tinygrad_lite checkpoint: {e}")
        raise RuntimeError(f"load: {name} {what}") from None
    except zipfile.BadZipFile as e:
        raise RuntimeError(f"load: {name} is not a readable tinygrad_lite checkpoint (truncated "
                           f"or foreign file: BadZipFile: {e})") from None
    except (OSError, EOFError) + _PICKLE_ERRORS as e:
        raise RuntimeError(f"load: {name} is not a readable tinygrad_lite checkpoint (damaged: "
                           f"{type(e).__name__}: {e})") from None
