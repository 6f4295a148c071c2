"""Parameter: the Tensor a Module registers as a learnable weight (torch.nn.parameter)."""
from __future__ import annotations

import numpy as np

from .. import dtypes as D
from ..tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A Tensor that a Module registers as a learnable weight (requires grad by default)."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = np.zeros((0,), dtype=D.float32)
        src = data._data if isinstance(data, Tensor) else np.asarray(data)
        Tensor.__init__(self, src)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
