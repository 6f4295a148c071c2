"""torch.nn.functional's sparse functions: embedding, one_hot."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ...backend import array_module, check_later
from ...ops import indexing as N
from ...tensor import Tensor, _const
from ._utils import _desc, _tensor

__all__ = ["embedding", "one_hot"]


def embedding(input: Tensor, weight: Tensor, padding_idx: Optional[int] = None,
              max_norm: Optional[float] = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """y = W[idx] (the padding_idx row gets no gradient)"""
    _tensor(input, "embedding")
    _tensor(weight, "embedding", "weight")
    if input.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor, got {_desc(input)}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D, got {_desc(weight)}")
    if input.device != weight.device:
        raise RuntimeError(f"embedding: indices on {input.device} but weight on {weight.device}")
    num = weight.shape[0]
    if input.numel() and input.device == "cuda":       # read at the next sync, no stall here
        check_later((input._data.max() >= num) | (input._data.min() < 0),
                    f"IndexError: embedding: index out of range for weight {_desc(weight)} "
                    f"with {num} rows")
    elif input.numel() and (int(input._data.max()) >= num or int(input._data.min()) < 0):
        raise IndexError(f"embedding: index out of range: indices span "
                         f"[{int(input._data.min())}, {int(input._data.max())}] but weight "
                         f"{_desc(weight)} has {num} rows")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within the "
                             f"{num} rows of weight")
        padding_idx %= num
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse are not supported")
    if max_norm is not None:
        _renorm_rows(weight, input._data, max_norm, norm_type)
    return N.Embedding.apply(weight, input._data, padding_idx=padding_idx)


def _renorm_rows(weight: Tensor, idx, max_norm: float, norm_type: float) -> None:
    """torch's max_norm: rows that are looked up and too long are scaled down in place."""
    xp = array_module(weight._data)
    rows = xp.unique(idx.reshape(-1))
    w = weight._data[rows]
    norms = (xp.abs(w) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    weight._data[rows] = w * scale[:, None]
    weight._version.v += 1


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """y[..., c] = 1 where tensor == c (int64)"""
    t = _tensor(tensor, "one_hot", "tensor")
    if t.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor, got {_desc(t)}")
    xp = array_module(t._data)
    if num_classes < 0:
        num_classes = int(t._data.max()) + 1 if t.numel() else 0
    if t.numel() and (int(t._data.min()) < 0 or int(t._data.max()) >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got "
                         f"[{int(t._data.min())}, {int(t._data.max())}]")
    return _const((t._data[..., None] == xp.arange(num_classes)).astype(np.int64))
