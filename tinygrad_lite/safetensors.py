"""safetensors files with `safetensors.torch`'s names: save_file, load_file, save, load and
safe_open, over the `safetensors` package's NumPy API (the optional `formats` extra).

A safetensors file is a JSON header (names, dtypes, shapes, byte ranges) and the raw bytes:
nothing in it can run, so these read any file. The format has no views: tensors that share
memory are written as separate copies, non-contiguous ones contiguously.
"""
from __future__ import annotations

import os
from typing import Dict, Optional

import numpy as np

from . import backend
from . import dtypes as D
from .tensor import Tensor

__all__ = ["save_file", "load_file", "save", "load", "safe_open"]


def _package():
    try:
        # optional: `import tinygrad_lite` needs NumPy only
        import safetensors.numpy  # noqa: PLC0415
    except ImportError as e:
        raise ImportError("tinygrad_lite.safetensors needs the safetensors package: "
                          "pip install 'tinygrad_lite[formats]' (or pip install safetensors)"
                          ) from e
    return safetensors


def _arrays(tensors: Dict[str, Tensor], who: str) -> Dict[str, np.ndarray]:
    if not isinstance(tensors, dict):
        raise TypeError(f"{who}: expected a dict of name -> tensor, got "
                        f"{type(tensors).__name__}")
    out = {}
    for k, v in tensors.items():
        if not isinstance(k, str):
            raise TypeError(f"{who}: tensor names must be str, got {k!r}")
        if isinstance(v, Tensor):
            arr = backend.to_device(v.detach()._data, "cpu")
        elif isinstance(v, np.ndarray):
            arr = v
        else:
            raise TypeError(f"{who}: {k!r} is a {type(v).__name__}, not a tensor")
        if arr.dtype.hasobject or not (arr.dtype.kind in "biuf" or D.is_floating(arr.dtype)):
            raise TypeError(f"{who}: {k!r} has dtype {arr.dtype}, which safetensors does not "
                            "hold")
        # the package writes from the data pointer: it must see one contiguous block
        out[k] = arr if arr.flags.c_contiguous else arr.copy(order="C")  # keeps 0-d
    return out


def _metadata(metadata, who: str) -> Optional[Dict[str, str]]:
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError(f"{who}: metadata must be a dict of str -> str")
    return metadata


def _tensor(arr: np.ndarray, device) -> Tensor:
    if not arr.flags.writeable:
        arr = arr.copy()
    return Tensor._make(backend.to_device(arr, device), False, None, None)


def save_file(tensors: Dict[str, Tensor], filename, metadata: Optional[Dict[str, str]] = None
              ) -> None:
    """Write tensors (name -> Tensor) and optional str metadata to a .safetensors file."""
    pkg = _package()
    arrays = _arrays(tensors, "save_file")
    filename = os.fspath(filename)
    if os.path.isdir(filename):
        raise IsADirectoryError(f"save_file: cannot write {filename}: it is a directory")
    pkg.numpy.save_file(arrays, filename, metadata=_metadata(metadata, "save_file"))


def save(tensors: Dict[str, Tensor], metadata: Optional[Dict[str, str]] = None) -> bytes:
    """The bytes of a .safetensors file holding tensors."""
    pkg = _package()
    return pkg.numpy.save(_arrays(tensors, "save"), metadata=_metadata(metadata, "save"))


def load_file(filename, device="cpu") -> Dict[str, Tensor]:
    """Read every tensor of a .safetensors file (name -> Tensor on device)."""
    with safe_open(filename, framework="pt", device=device) as f:
        return {k: f.get_tensor(k) for k in f.keys()}


def load(data: bytes, device="cpu") -> Dict[str, Tensor]:
    """Read the tensors of .safetensors bytes."""
    pkg = _package()
    try:
        flat = pkg.deserialize(bytes(data))
    except Exception as e:  # SafetensorError and the JSON errors under it
        raise RuntimeError(f"safetensors.load: not readable safetensors data "
                           f"({type(e).__name__}: {e})") from None
    out = {}
    for k, v in flat:
        if v["dtype"] not in _DTYPES:
            raise RuntimeError(f"safetensors.load: tensor {k!r} has dtype {v['dtype']}, which "
                               "tinygrad_lite does not have")
        dt = D.load_bfloat16() if v["dtype"] == "BF16" else np.dtype(_DTYPES[v["dtype"]])
        arr = np.frombuffer(v["data"], dtype=dt).reshape(v["shape"])
        out[k] = _tensor(arr, backend.Device(device))
    return out


# the file's dtype names (bfloat16 comes from ml_dtypes, loaded when a file holds it)
_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
           "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
           "U16": "uint16", "U32": "uint32", "U64": "uint64", "BOOL": "bool"}


def _bf16_ready(f, name: str) -> None:
    """NumPy reads a BF16 entry only once ml_dtypes is loaded (or says what to install)."""
    if f.get_slice(name).get_dtype() == "BF16":
        D.load_bfloat16()


class _Slice:
    """safe_open(...).get_slice(name): index it to read only part of a tensor."""

    def __init__(self, inner, device, np_out: bool):
        self._inner, self._device, self._np = inner, device, np_out

    def get_shape(self):
        return self._inner.get_shape()

    def get_dtype(self):
        return self._inner.get_dtype()

    def __getitem__(self, index):
        arr = self._inner[index]
        return arr if self._np else _tensor(arr, self._device)


class safe_open:  # noqa: N801  (safetensors' name)
    """`with safe_open(path, framework="pt") as f: f.keys(), f.get_tensor(k), f.metadata()`.

    framework "pt", "tl" or "torch" gives tinygrad_lite tensors, "np"/"numpy" NumPy arrays."""

    def __init__(self, filename, framework: str = "pt", device="cpu"):
        if framework not in ("pt", "tl", "torch", "np", "numpy"):
            raise ValueError(f"safe_open: unknown framework {framework!r}; expected 'pt' (our "
                             "tensors) or 'np'")
        pkg = _package()
        self._name = os.fspath(filename)
        self._np = framework in ("np", "numpy")
        self._device = backend.Device(device)
        if not os.path.exists(self._name):
            raise FileNotFoundError(f"safe_open: no such file: {self._name}")
        try:
            self._inner = pkg.safe_open(self._name, framework="np")
            self._f = self._inner.__enter__()
        except Exception as e:  # SafetensorError: a bad header, sizes that do not add up
            raise RuntimeError(f"safe_open: {self._name} is not a readable safetensors file "
                               f"({type(e).__name__}: {e})") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._inner.__exit__(*exc)
        return False

    def keys(self):
        return list(self._f.keys())

    def metadata(self) -> Optional[Dict[str, str]]:
        return self._f.metadata()

    def get_tensor(self, name: str):
        try:
            _bf16_ready(self._f, name)
            arr = self._f.get_tensor(name)
        except Exception as e:
            raise RuntimeError(f"safe_open: {self._name}: cannot read tensor {name!r} "
                               f"({type(e).__name__}: {e})") from None
        return arr if self._np else _tensor(arr, self._device)

    def get_slice(self, name: str) -> _Slice:
        _bf16_ready(self._f, name)
        return _Slice(self._f.get_slice(name), self._device, self._np)
