"""tinygrad_lite.nn: Module, Parameter and the layers, with PyTorch's names and defaults."""
from . import functional, init, parallel, utils  # noqa: F401
from .extra import *  # noqa: F401,F403
from .modules import *  # noqa: F401,F403
from .modules import Module, Parameter, SyncBatchNorm  # noqa: F401
