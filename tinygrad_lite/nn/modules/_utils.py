"""Helpers shared by several layer families."""
from __future__ import annotations

import numpy as np

from ... import dtypes as D
from ...backend import to_device
from ..parameter import Parameter


def _full(shape, value, device, dtype) -> np.ndarray:
    a = np.full(shape, value, dtype=D.to_dtype(dtype or D.get_default_dtype()))
    return to_device(a, device) if device is not None else a


def _empty(shape, device, dtype) -> Parameter:
    p = Parameter(np.zeros(shape, dtype=D.to_dtype(dtype or D.get_default_dtype())))
    if device is not None:
        p._data = p.to(device)._data
    return p
