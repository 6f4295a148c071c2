"""Samplers: which dataset indices a DataLoader reads, and in what order (torch.utils.data's)."""
from __future__ import annotations

import math
from typing import Iterator, Optional

import numpy as np

from .dataset import as_generator

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "BatchSampler"]

_DRAW_CHUNK = 32768


class Sampler:
    """Yields dataset indices; subclasses define __iter__ and __len__."""

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh permutation each pass (or draws with replacement), from a seeded generator.

    `generator=None` draws from the global generator, so `tl.manual_seed(s)` fixes the order of
    every epoch and a checkpoint that stores the RNG state resumes the same order.
    """

    def __init__(self, data_source, replacement: bool = False,
                 num_samples: Optional[int] = None, generator=None):
        self.data_source = data_source
        self.replacement = bool(replacement)
        self._num_samples = num_samples
        self.generator = generator
        if num_samples is not None and (not isinstance(num_samples, int) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples must be a positive int, "
                             f"got {num_samples!r}")
        if generator is not None:
            self.generator = as_generator(generator)   # an int seed becomes one generator, kept

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        rng = as_generator(self.generator)
        n = len(self.data_source)
        if self.replacement:
            return self._draws(rng, n)
        full, rest = divmod(self.num_samples, n)
        perms = [rng.permutation(n) for _ in range(full)]
        if rest:
            perms.append(rng.permutation(n)[:rest])
        return iter(np.concatenate(perms).tolist() if perms else [])

    def _draws(self, rng, n):
        """Draws with replacement, made in chunks as they are read: num_samples=int(1e10), the
        infinite-loader idiom, must not draw every index up front."""
        left = self.num_samples
        while left > 0:
            chunk = min(left, _DRAW_CHUNK)
            yield from rng.integers(0, n, size=chunk).tolist()
            left -= chunk

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a random order each pass."""

    def __init__(self, indices, generator=None):
        self.indices = list(indices)
        self.generator = None if generator is None else as_generator(generator)

    def __iter__(self):
        perm = as_generator(self.generator).permutation(len(self.indices))
        return iter([self.indices[i] for i in perm])

    def __len__(self) -> int:
        return len(self.indices)


class BatchSampler(Sampler):
    """Groups a sampler's indices into lists of `batch_size` (the last one shorter, unless
    drop_last)."""

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size must be a positive int, got {batch_size!r}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = bool(drop_last)

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
