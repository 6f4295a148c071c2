"""DataLoader, samplers and default_collate, with torch.utils.data's names and semantics.

Loading runs in the calling process (`num_workers` is accepted for compatibility and ignored): the
engine itself is single-threaded NumPy, so worker processes would only add pickling overhead.
"""
from __future__ import annotations

import collections.abc
from typing import Callable, Optional

import numpy as np

from ... import backend
from ...tensor import Tensor
from .dataset import Dataset
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,  # noqa: F401
                      SubsetRandomSampler)

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "BatchSampler", "DataLoader", "default_collate"]


def _stack_arrays(arrays):
    return backend.array_module(*arrays).stack(arrays)


def default_collate(batch):
    """Stack a list of samples into Tensors, recursing into tuples, lists and dicts.

    As torch's: tensors and arrays are stacked along a new first dim keeping their dtype; Python
    ints become an int64 tensor, Python floats a float64 one, bools a bool one, NumPy scalars
    keep their dtype; strings and other objects stay a list.
    """
    if not isinstance(batch, (list, tuple)) or len(batch) == 0:
        raise TypeError("default_collate: expected a non-empty list of samples")
    first = batch[0]
    if isinstance(first, Tensor):
        shapes = {tuple(b.shape) for b in batch}
        if len(shapes) > 1:
            raise ValueError(f"default_collate: samples have different shapes {sorted(shapes)}; "
                             "pass a collate_fn that pads them")
        return Tensor._make(_stack_arrays([b._data for b in batch]), False, None, None)
    if isinstance(first, np.ndarray) and first.dtype.kind in "biuf":
        shapes = {b.shape for b in batch}
        if len(shapes) > 1:
            raise ValueError(f"default_collate: samples have different shapes {sorted(shapes)}; "
                             "pass a collate_fn that pads them")
        return Tensor._make(_stack_arrays(list(batch)), False, None, None)
    if isinstance(first, np.generic) and first.dtype.kind in "biuf":
        return Tensor._make(np.asarray(batch, dtype=first.dtype), False, None, None)
    if isinstance(first, bool):
        return Tensor._make(np.asarray(batch, dtype=np.bool_), False, None, None)
    if isinstance(first, int):
        return Tensor._make(np.asarray(batch, dtype=np.int64), False, None, None)
    if isinstance(first, float):
        return Tensor._make(np.asarray(batch, dtype=np.float64), False, None, None)
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, collections.abc.Mapping):
        return {key: default_collate([b[key] for b in batch]) for key in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):     # namedtuple
        return type(first)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(first, (tuple, list)):
        sizes = {len(b) for b in batch}
        if len(sizes) > 1:
            raise ValueError(f"default_collate: samples have different lengths {sorted(sizes)}")
        collated = [default_collate(list(s)) for s in zip(*batch)]
        return tuple(collated) if isinstance(first, tuple) else collated
    return list(batch)


def _to_device(obj, device):
    if isinstance(obj, Tensor):
        return obj if obj.device == device else obj.to(device)
    if isinstance(obj, dict):
        return {k: _to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(_to_device(v, device) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(v, device) for v in obj)
    return obj


class DataLoader:
    """Iterate over a dataset in (optionally shuffled) batches, collated into Tensors.

    `len(loader)` is the number of batches per pass, honouring `drop_last`. `device=` moves every
    batch to that device, so a training loop needs no `.to(device)` of its own.
    """

    def __init__(self, dataset: Dataset, batch_size: Optional[int] = 1, shuffle: bool = False,
                 sampler: Optional[Sampler] = None, batch_sampler: Optional[Sampler] = None,
                 num_workers: int = 0, collate_fn: Optional[Callable] = None,
                 pin_memory: bool = False, drop_last: bool = False, generator=None,
                 device=None):
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler is mutually exclusive with "
                                 "batch_size, shuffle, sampler and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is not None and (isinstance(batch_size, bool)
                                         or not isinstance(batch_size, int) or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size must be a positive int or None, "
                             f"got {batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True are mutually exclusive")
        if num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be >= 0, got {num_workers}")
        if not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: dataset must be indexable (define __getitem__ and "
                            f"__len__), got {type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = bool(drop_last)
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.generator = generator
        self.device = backend.Device(device) if device is not None else None
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle \
                else SequentialSampler(dataset)
        self.sampler = sampler
        if batch_sampler is None and batch_size is not None:
            batch_sampler = BatchSampler(sampler, batch_size, self.drop_last)
        self.batch_sampler = batch_sampler
        self._auto_collate = collate_fn is None
        self.collate_fn = default_collate if collate_fn is None else collate_fn

    def __len__(self) -> int:
        if self.batch_sampler is None:
            return len(self.sampler)
        return len(self.batch_sampler)

    def _fetch(self, indices):
        if self._auto_collate:
            # datasets backed by whole arrays gather a batch in one fancy index
            fast = getattr(self.dataset, "_collated_batch", None)
            if fast is not None:
                out = fast(np.asarray(indices, dtype=np.int64))
                if out is not None:
                    return out
        return self.collate_fn([self.dataset[i] for i in indices])

    def __iter__(self):
        if self.batch_sampler is None:
            # batch_size=None: samples one at a time, not collated (torch's "no batching" mode)
            for i in self.sampler:
                sample = self.dataset[i]
                yield sample if self.device is None else _to_device(sample, self.device)
            return
        for indices in self.batch_sampler:
            batch = self._fetch(list(indices))
            yield batch if self.device is None else _to_device(batch, self.device)
