"""Checkpoints: `save(obj, path)` and `load(path)` for state_dicts of modules and optimizers.

The file is a NumPy .npz archive read with allow_pickle=False, so loading never runs code from
the file. Entry `__structure__` is a JSON string describing the nesting (dicts with their key
types, lists, tuples, numbers, strings, None); each tensor or array is its own entry `a<i>`.
Writes go to a temporary file in the target's directory, are fsynced, then renamed over the
target, so a crash leaves either the old checkpoint or the new one, never half of one.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections import OrderedDict
from typing import Any, Optional

import numpy as np

from . import backend
from .tensor import Tensor

__all__ = ["save", "load"]

_FORMAT = "tinygrad_lite.checkpoint"
_VERSION = 1


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
        arrays[key] = backend.to_device(obj.detach().data, "cpu")
        return {"tensor": key, "device": str(obj.device), "requires_grad": obj.requires_grad}
    if isinstance(obj, np.ndarray) or hasattr(obj, "__cuda_array_interface__"):
        key = f"a{len(arrays)}"
        arrays[key] = backend.to_device(obj, "cpu")
        return {"ndarray": key}
    if isinstance(obj, dict):
        items = [[_encode(k, arrays, where), _encode(v, arrays, f"{where}[{k!r}]")]
                 for k, v in obj.items()]
        return {"odict" if isinstance(obj, OrderedDict) else "dict": items}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]
        return {"tuple" if isinstance(obj, tuple) else "list": items}
    raise TypeError(f"save: cannot store {type(obj).__name__} at {where}; checkpoints hold "
                    "tensors, arrays, numbers, strings, None and dicts/lists/tuples of them")


def _decode(desc, archive, map_location, path):
    if desc is None or isinstance(desc, (bool, str, int)):
        return desc
    if not isinstance(desc, dict) or len(desc) not in (1, 3):
        raise RuntimeError(f"load: {path} has a malformed structure entry {desc!r:.80}")
    if "float" in desc:
        return float(desc["float"])
    if "tensor" in desc:
        arr = _array(archive, desc["tensor"], path)
        saved = desc.get("device", "cpu")
        if callable(map_location):
            # torch's form: called with the tensor on the CPU and the saved location; None keeps
            # the default placement
            t = map_location(Tensor._make(arr, False, None, None), saved)
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"load: map_location returned {type(t).__name__}, expected a "
                                "Tensor or None")
        else:
            t = None
        if t is None:
            if isinstance(map_location, dict):
                device = map_location.get(saved, saved)
            else:
                device = map_location if isinstance(map_location, str) else saved
            if backend.Device(device) == "cuda" and not backend.cuda_is_available():
                device = "cpu"      # a GPU checkpoint still opens on a machine without one
            t = Tensor._make(backend.to_device(arr, device), False, None, None)
        if desc.get("requires_grad") and arr.dtype.kind == "f":
            t.requires_grad_(True)
        return t
    if "ndarray" in desc:
        return _array(archive, desc["ndarray"], path)
    if "dict" in desc or "odict" in desc:
        out = OrderedDict() if "odict" in desc else {}
        for k, v in desc.get("dict", desc.get("odict")):
            out[_decode(k, archive, map_location, path)] = _decode(v, archive, map_location,
                                                                   path)
        return out
    if "list" in desc:
        return [_decode(v, archive, map_location, path) for v in desc["list"]]
    if "tuple" in desc:
        return tuple(_decode(v, archive, map_location, path) for v in desc["tuple"])
    raise RuntimeError(f"load: {path} has an unknown structure entry {desc!r:.80}")


def _array(archive, key, path):
    try:
        return archive[key]
    except KeyError:
        raise RuntimeError(f"load: {path} is damaged: array entry {key!r} is missing") from None


def save(obj: Any, f) -> None:
    """Write obj (a state_dict or nested dicts/lists of tensors and plain values) to f."""
    arrays: dict = {}
    structure = {"format": _FORMAT, "version": _VERSION, "root": _encode(obj, arrays, "obj")}
    entries = dict(arrays)
    entries["__structure__"] = np.array(json.dumps(structure))
    if not isinstance(f, (str, os.PathLike)):
        if not hasattr(f, "write"):
            raise TypeError(f"save: expected a path or a binary file object, got "
                            f"{type(f).__name__}")
        np.savez(f, **entries)       # a file object: the caller owns durability
        return
    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: cannot write {path}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **entries)
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


def load(f, map_location: Optional[str] = None, weights_only: bool = True) -> Any:
    """Read a checkpoint written by `save`; tensors go to map_location (default: where they
    were saved, or the CPU when that GPU is not available).

    map_location is a device ("cpu", "cuda"), a dict from saved device to device
    ({"cuda": "cpu"}), or a callable fn(tensor_on_cpu, saved_device) returning a Tensor, or None
    for the default placement."""
    if not isinstance(f, (str, os.PathLike)) and not hasattr(f, "read"):
        raise TypeError(f"load: expected a path or a binary file object, got "
                        f"{type(f).__name__}")
    name = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", repr(f))
    if isinstance(map_location, dict):
        map_location = {str(backend.Device(k)): str(backend.Device(v))
                        for k, v in map_location.items()}
    elif map_location is not None and not callable(map_location):
        map_location = backend.Device(map_location)
    if isinstance(f, (str, os.PathLike)) and not os.path.exists(name):
        raise FileNotFoundError(f"load: no such checkpoint file: {name}")
    try:
        archive = np.load(f, allow_pickle=False)
    except ValueError as e:
        if "pickle" not in str(e):
            raise RuntimeError(f"load: {name} is not a readable tinygrad_lite checkpoint "
                               f"(truncated or foreign file: ValueError: {e})") from None
        # NumPy's message would invite allow_pickle=True, which runs code from the file
        raise RuntimeError(f"load: {name} is not a readable tinygrad_lite checkpoint: it is "
                           "neither an .npz archive nor an .npy array (pickle files, such as older "
                           "torch.save output, are refused; loading never runs code from a "
                           "file)") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise RuntimeError(f"load: {name} is not a readable tinygrad_lite checkpoint (truncated "
                           f"or foreign file: {type(e).__name__}: {e})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise RuntimeError(f"load: {name} is a bare .npy array, not a tinygrad_lite checkpoint")
    with archive:
        try:
            raw = archive["__structure__"]
            structure = json.loads(str(raw[()]))
        except KeyError:
            raise RuntimeError(f"load: {name} is an .npz archive but not a tinygrad_lite "
                               "checkpoint (no __structure__ entry)") from None
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise RuntimeError(f"load: {name} is damaged ({type(e).__name__}: {e})") from None
        if not isinstance(structure, dict) or structure.get("format") != _FORMAT:
            raise RuntimeError(f"load: {name} is not a tinygrad_lite checkpoint")
        if structure.get("version", 0) > _VERSION:
            raise RuntimeError(f"load: {name} was written by a newer format (version "
                               f"{structure.get('version')}, this reader knows {_VERSION})")
        try:
            return _decode(structure["root"], archive, map_location, name)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise RuntimeError(f"load: {name} is damaged ({type(e).__name__}: {e})") from None

