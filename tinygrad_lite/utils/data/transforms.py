"""Transforms for (C, H, W) images: Compose, ToTensor, Normalize, RandomCrop, RandomHorizontalFlip.

They work on one sample at a time, on Tensors or NumPy arrays, outside autograd (data, not model).
The random ones draw from a seeded generator: their own `generator=` or the global one.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

import numpy as np

from ... import backend
from ...tensor import Tensor
from .dataset import as_generator
from ...dtypes import is_floating

__all__ = ["Compose", "ToTensor", "Normalize", "RandomCrop", "RandomHorizontalFlip", "Lambda"]


def _unwrap(x):
    """(array, was_tensor): transforms compute on arrays and hand back the kind they were given."""
    if isinstance(x, Tensor):
        return x._data, True
    if isinstance(x, np.ndarray) or hasattr(x, "__cuda_array_interface__"):
        return x, False
    raise TypeError(f"transform: expected a Tensor or an array, got {type(x).__name__}")


def _wrap(a, was_tensor: bool):
    return Tensor._make(a, False, None, None) if was_tensor else a


def _chw(a, who: str):
    if a.ndim < 2:
        raise ValueError(f"{who}: expected an image of shape (C, H, W) or (H, W), got {a.shape}")


class Compose:
    """Apply transforms in order."""

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


class Lambda:
    """Wrap a plain function as a transform."""

    def __init__(self, fn: Callable):
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)


class ToTensor:
    """(H, W, C) or (H, W) uint8 array -> float32 (C, H, W) Tensor in [0, 1]; floats keep scale.

    A Tensor passes through unchanged (the bundled datasets already give float (C, H, W) tensors).
    """

    def __call__(self, x) -> Tensor:
        if isinstance(x, Tensor):
            return x
        a = np.asarray(x)
        if a.ndim == 2:
            a = a[None]
        elif a.ndim == 3:
            a = a.transpose(2, 0, 1)
        else:
            raise ValueError(f"ToTensor: expected an (H, W) or (H, W, C) image, got shape "
                             f"{a.shape}")
        if a.dtype == np.uint8:
            a = a.astype(np.float32) / np.float32(255)
        else:
            a = a.astype(np.float32)
        return Tensor._make(np.ascontiguousarray(a), False, None, None)

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """(x - mean[c]) / std[c] for each channel c."""

    def __init__(self, mean: Union[float, Sequence[float]], std: Union[float, Sequence[float]]):
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float32))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float32))
        if self.mean.ndim != 1 or self.std.ndim != 1:
            raise ValueError("Normalize: mean and std must be numbers or 1-D sequences")
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std must be non-zero, got {self.std.tolist()}")

    def __call__(self, x):
        a, was_tensor = _unwrap(x)
        _chw(a, "Normalize")
        c = a.shape[0] if a.ndim == 3 else 1
        for name, v in (("mean", self.mean), ("std", self.std)):
            if v.size not in (1, c):
                raise ValueError(f"Normalize: {name} has {v.size} values but the image has "
                                 f"{c} channels")
        xp = backend.array_module(a)
        shape = (-1, 1, 1) if a.ndim == 3 else (-1, 1)
        mean = xp.asarray(self.mean).reshape(shape)
        std = xp.asarray(self.std).reshape(shape)
        out = ((a - mean) / std).astype(a.dtype if is_floating(a.dtype) else np.float32)
        return _wrap(out, was_tensor)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomCrop:
    """Pad by `padding` (zeros) on every side, then cut a random `size` window."""

    def __init__(self, size: Union[int, Sequence[int]], padding: int = 0, generator=None):
        self.size = (int(size), int(size)) if np.isscalar(size) else tuple(int(s) for s in size)
        if len(self.size) != 2 or min(self.size) <= 0:
            raise ValueError(f"RandomCrop: size must be a positive int or (h, w), got {size!r}")
        if int(padding) < 0:
            raise ValueError(f"RandomCrop: padding must be >= 0, got {padding}")
        self.padding = int(padding)
        self.generator = None if generator is None else as_generator(generator)

    def __call__(self, x):
        a, was_tensor = _unwrap(x)
        _chw(a, "RandomCrop")
        xp = backend.array_module(a)
        p = self.padding
        if p:
            widths = [(0, 0)] * (a.ndim - 2) + [(p, p), (p, p)]
            a = xp.pad(a, widths)
        h, w = a.shape[-2:]
        th, tw = self.size
        if th > h or tw > w:
            raise ValueError(f"RandomCrop: crop {self.size} is larger than the padded image "
                             f"{(h, w)}")
        rng = as_generator(self.generator)
        top = int(rng.integers(0, h - th + 1))
        left = int(rng.integers(0, w - tw + 1))
        return _wrap(xp.ascontiguousarray(a[..., top:top + th, left:left + tw]), was_tensor)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror the image left-right with probability p."""

    def __init__(self, p: float = 0.5, generator: Optional[object] = None):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = float(p)
        self.generator = None if generator is None else as_generator(generator)

    def __call__(self, x):
        a, was_tensor = _unwrap(x)
        _chw(a, "RandomHorizontalFlip")
        if as_generator(self.generator).random() < self.p:
            xp = backend.array_module(a)
            a = xp.ascontiguousarray(a[..., ::-1])
        return _wrap(a, was_tensor)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"
