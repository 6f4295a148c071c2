"""torch.nn.functional's sparse functions: embedding, embedding_bag, one_hot."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ...backend import array_module, check_later
from ...ops import indexing as N
from ...tensor import Tensor, _const
from ._utils import _desc, _tensor

__all__ = ["embedding", "one_hot", "embedding_bag"]


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


def embedding_bag(input: Tensor, weight: Tensor, offsets: Optional[Tensor] = None,
                  max_norm: Optional[float] = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Optional[Tensor] = None,
                  include_last_offset: bool = False, padding_idx: Optional[int] = None) -> Tensor:
    """y[b] = the sum, mean or max of W[idx] over bag b: the rows of a 2-D input, or the runs
    of a 1-D input that offsets start; padding_idx entries are left out, empty bags give 0."""
    op = "embedding_bag"
    x = _tensor(input, op)
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"{op}: mode must be 'sum', 'mean' or 'max', got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise ValueError(f"{op}: per_sample_weights is only supported for mode='sum', got "
                         f"mode={mode!r}")
    xp = array_module(x._data)
    if x.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{op}: offsets must be None for a 2-D input, got {_desc(x)}")
        n_bags, per = x.shape
        bag = xp.repeat(xp.arange(n_bags), per)
    elif x.ndim == 1:
        if offsets is None or offsets.ndim != 1:
            raise ValueError(f"{op}: a 1-D input needs 1-D offsets, got input {_desc(x)}")
        starts = offsets._data[:-1] if include_last_offset else offsets._data
        n_bags = starts.shape[0]
        bag = xp.searchsorted(starts, xp.arange(x.shape[0]), side="right") - 1
    else:
        raise ValueError(f"{op}: expected a 1-D or 2-D input, got {_desc(x)}")
    flat = x.reshape(-1)
    rows = embedding(flat, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse)
    if per_sample_weights is not None:
        if tuple(per_sample_weights.shape) != tuple(x.shape):
            raise ValueError(f"{op}: per_sample_weights {_desc(per_sample_weights)} must have "
                             f"input's shape {tuple(x.shape)}")
        rows = rows * per_sample_weights.reshape(-1, 1)
    keep = bag >= 0                       # entries before the first offset belong to no bag
    if padding_idx is not None:
        keep = keep & (flat._data != padding_idx % weight.shape[0])
    pos = xp.nonzero(keep)[0]
    rows, bag = rows[_const(pos)], bag[pos]
    zeros = _const(xp.zeros((n_bags, weight.shape[1]), dtype=weight.dtype))
    if mode == "max":
        index = _const(xp.broadcast_to(bag[:, None], rows.shape).copy())
        return zeros.scatter_reduce(0, index, rows, "amax", include_self=False)
    out = zeros.index_add(0, _const(bag), rows)
    if mode == "mean":
        count = xp.bincount(bag, minlength=n_bags).astype(weight.dtype)
        out = out / _const(xp.maximum(count, 1)[:, None])
    return out