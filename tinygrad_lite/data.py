"""`tinygrad_lite.data`: the short name of `tinygrad_lite.utils.data` (torch.utils.data's path,
where the code lives). Both names reach the same modules, submodules included:
`tinygrad_lite.data.datasets` is `tinygrad_lite.utils.data.datasets`."""
import sys as _sys

from .utils import data as _data
from .utils.data import *  # noqa: F401,F403
from .utils.data import __all__  # noqa: F401

for _name in ("dataloader", "dataset", "datasets", "distributed", "sampler", "transforms"):
    _sys.modules[f"{__name__}.{_name}"] = getattr(_data, _name)
    globals()[_name] = getattr(_data, _name)
del _name
