"""tinygrad_lite.nn.parallel: DistributedDataParallel (over tinygrad_lite.distributed) and a
one-device DataParallel, with torch's names."""
from .data_parallel import DataParallel  # noqa: F401
from .distributed import DistributedDataParallel  # noqa: F401

__all__ = ["DataParallel", "DistributedDataParallel"]
