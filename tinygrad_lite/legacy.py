"""torch's legacy tensor types: `tl.FloatTensor(2, 3)`, `tl.LongTensor([1, 2])`,
`tl.cuda.FloatTensor(...)`, and `isinstance(t, tl.FloatTensor)`.

As in torch, integers alone are a size (zeros here: NumPy has no uninitialised memory worth
handing out) and anything else is data converted to the type's dtype.
"""
from __future__ import annotations

import numpy as np

from . import dtypes as D

# torch's names and the dtype each stands for
TYPES = {"FloatTensor": D.float32, "DoubleTensor": D.float64, "HalfTensor": D.float16,
         "LongTensor": D.int64, "IntTensor": D.int32, "ShortTensor": D.int16,
         "CharTensor": D.int8, "ByteTensor": D.uint8, "BoolTensor": D.bool_}


class _LegacyType(type):
    """The metaclass: calling makes a Tensor; isinstance checks dtype and device."""

    def __call__(cls, *args, device=None):
        from .tensor import Tensor  # noqa: PLC0415  (legacy types sit above Tensor)
        device = cls._device if device is None else device
        if args and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                        for a in args):
            return Tensor(np.zeros(tuple(int(a) for a in args), cls._dtype)).to(device)
        if len(args) > 1:
            raise TypeError(f"{cls.__name__}: expected sizes (ints) or one sequence of data, "
                            f"got {args!r}")
        if not args:
            return Tensor(np.zeros((0,), cls._dtype)).to(device)
        from .functions.creation import tensor  # noqa: PLC0415
        data = args[0]
        if isinstance(data, Tensor):
            return data.to(device=device, dtype=cls._dtype)
        return tensor(data, dtype=cls._dtype, device=device)

    def __instancecheck__(cls, obj):
        from .tensor import Tensor  # noqa: PLC0415
        return (isinstance(obj, Tensor) and obj.dtype == cls._dtype
                and obj.device == cls._device)

    def __repr__(cls):
        place = ".cuda" if cls._device == "cuda" else ""
        return f"<class 'tinygrad_lite{place}.{cls.__name__}'>"


def make_types(device: str) -> dict:
    return {name: _LegacyType(name, (), {"_dtype": np.dtype(dt), "_device": device,
                                         "__doc__": f"torch's legacy {name} on {device}"})
            for name, dt in TYPES.items()}
