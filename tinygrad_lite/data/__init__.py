"""tinygrad_lite.data: datasets, samplers and the DataLoader, with torch.utils.data's names.

`from tinygrad_lite.utils.data import DataLoader` works too, as `torch.utils.data` does.
"""
from . import transforms  # noqa: F401
from .dataloader import (BatchSampler, DataLoader, RandomSampler, Sampler,  # noqa: F401
                         SequentialSampler, SubsetRandomSampler, default_collate)
from .dataset import (ConcatDataset, Dataset, Subset, TensorDataset,  # noqa: F401
                      random_split)
from .datasets import (CIFAR10, MNIST, BreastCancer, DatasetFormatError,  # noqa: F401
                       Digits, FashionMNIST, RestrictedUnpickler, TextFile, restricted_load)

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split",
           "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "BatchSampler",
           "DataLoader", "default_collate", "Digits", "BreastCancer", "MNIST", "FashionMNIST",
           "CIFAR10", "TextFile", "DatasetFormatError", "RestrictedUnpickler", "restricted_load",
           "transforms"]
