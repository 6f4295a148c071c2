"""tinygrad_lite.utils.data (also tinygrad_lite.data): datasets, samplers and the DataLoader,
laid out as torch.utils.data is (dataset, sampler, dataloader, distributed), with the bundled and
file datasets beside them in datasets.py."""
from . import dataloader, dataset, datasets, sampler, transforms  # noqa: F401
from .dataloader import DataLoader, default_collate  # noqa: F401
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,  # noqa: F401
                      SubsetRandomSampler)
from . import distributed  # noqa: F401
from .distributed import DistributedSampler  # noqa: F401
from .dataset import (ConcatDataset, Dataset, Subset, TensorDataset,  # noqa: F401
                      random_split)
from .datasets import (CIFAR10, MNIST, BreastCancer, DatasetFormatError,  # noqa: F401
                       Digits, FashionMNIST, RestrictedUnpickler, TextFile, restricted_load)

__all__ = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split",
           "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "BatchSampler",
           "DistributedSampler", "distributed",
           "DataLoader", "default_collate", "Digits", "BreastCancer", "MNIST", "FashionMNIST",
           "CIFAR10", "TextFile", "DatasetFormatError", "RestrictedUnpickler", "restricted_load",
           "transforms"]
