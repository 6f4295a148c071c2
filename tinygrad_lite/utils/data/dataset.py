"""Dataset, TensorDataset, Subset, ConcatDataset and random_split, with torch.utils.data's names."""
from __future__ import annotations

import bisect
import math
import operator
from typing import Optional, Sequence, Union

import numpy as np

from ...functions.random import Generator as _Generator
from ... import random as _random
from ...tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split", "as_generator"]


def as_generator(generator=None) -> np.random.Generator:
    """The NumPy generator behind a `generator=` argument.

    None means the global generator that `tl.manual_seed` resets; an int seeds a fresh one; a NumPy
    Generator is used as is (its state advances, as a torch.Generator's does).
    """
    if generator is None:
        return _random.generator("cpu")
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, _Generator):
        return generator.rng
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(f"generator: expected None, an int seed, a tl.Generator or a "
                    f"numpy.random.Generator, got {type(generator).__name__}")


class Dataset:
    """A map-style dataset: `len(ds)` samples, `ds[i]` gives one. Subclasses define both."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


def _check_index(index, n: int, who: str) -> int:
    # operator.index takes ints, NumPy ints and 0-d integer tensors, but not 1.5 or "1"
    try:
        i = operator.index(index)
    except TypeError:
        raise TypeError(f"{who}: index must be an int, got {type(index).__name__} "
                        f"{index!r}") from None
    if not -n <= i < n:
        raise IndexError(f"{who}: index {i} out of range for {n} samples")
    return i + n if i < 0 else i


class TensorDataset(Dataset):
    """Sample i is the i-th row of each tensor (or NumPy array); all share their first size."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        for i, t in enumerate(tensors):
            if not hasattr(t, "shape") or len(t.shape) == 0:
                raise ValueError(f"TensorDataset: tensor {i} must have a first (sample) "
                                 f"dimension, got {type(t).__name__} of shape "
                                 f"{tuple(getattr(t, 'shape', ()))}")
        sizes = [len(t) for t in tensors]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: tensors must share their first size, got {sizes}")
        self.tensors = tuple(tensors)

    def __getitem__(self, index):
        i = _check_index(index, len(self), "TensorDataset")
        return tuple(t[i] for t in self.tensors)

    def __len__(self) -> int:
        return len(self.tensors[0])

    def _collated_batch(self, indices: np.ndarray):
        """A whole batch by one fancy index per tensor (what default collation would give)."""
        out = []
        for t in self.tensors:
            if isinstance(t, Tensor):
                # fancy-index the raw array so no graph is recorded for data
                xp_idx = indices if isinstance(t._data, np.ndarray) else _to_like(indices, t._data)
                out.append(Tensor._make(t._data[xp_idx], False, None, None))
            else:
                out.append(Tensor._make(_default_array(np.asarray(t)[indices]), False, None, None))
        return tuple(out)


def _to_like(indices, array):
    from ...backend import array_module
    return array_module(array).asarray(indices)


def _default_array(a: np.ndarray) -> np.ndarray:
    # float64 NumPy data becomes float32, the engine's default, as the collate function does
    return a.astype(np.float32) if a.dtype == np.float64 else a


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __getitem__(self, index):
        return self.dataset[self.indices[_check_index(index, len(self), "Subset")]]

    def __len__(self) -> int:
        return len(self.indices)

    def _collated_batch(self, indices: np.ndarray):
        inner = getattr(self.dataset, "_collated_batch", None)
        if inner is None:
            return None
        return inner(np.asarray(self.indices, dtype=np.int64)[indices])


class ConcatDataset(Dataset):
    """Several datasets one after another."""

    def __init__(self, datasets: Sequence[Dataset]):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: needs at least one dataset")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        i = _check_index(index, len(self), "ConcatDataset")
        k = bisect.bisect_right(self.cumulative_sizes, i)
        start = self.cumulative_sizes[k - 1] if k > 0 else 0
        return self.datasets[k][i - start]


def _split_lengths(lengths: Sequence[Union[int, float]], n: int) -> list:
    if not lengths:
        raise ValueError("random_split: lengths must not be empty")
    if all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1.0) \
            and sum(lengths) <= 1.0 + 1e-9:
        if any(x < 0 for x in lengths):
            raise ValueError(f"random_split: fractions must be non-negative, got {list(lengths)}")
        out = [int(math.floor(n * f)) for f in lengths]
        # hand the leftover samples out one each, round robin, as torch does
        for i in range(n - sum(out)):
            out[i % len(out)] += 1
        return out
    out = []
    for x in lengths:
        if isinstance(x, float) and not float(x).is_integer():
            raise ValueError(f"random_split: lengths must be ints, or fractions summing to 1, "
                             f"got {list(lengths)}")
        if int(x) < 0:
            raise ValueError(f"random_split: lengths must be non-negative, got {list(lengths)}")
        out.append(int(x))
    if sum(out) != n:
        raise ValueError(f"random_split: lengths sum to {sum(out)} but the dataset has {n} samples")
    return out


def random_split(dataset: Dataset, lengths: Sequence[Union[int, float]],
                 generator: Optional[object] = None) -> list:
    """Split `dataset` into non-overlapping random Subsets of the given lengths (or fractions)."""
    n = len(dataset)
    sizes = _split_lengths(lengths, n)
    perm = as_generator(generator).permutation(n)
    out, start = [], 0
    for size in sizes:
        out.append(Subset(dataset, perm[start:start + size].tolist()))
        start += size
    return out
