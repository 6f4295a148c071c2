"""tinygrad_lite.nn: Module, Parameter and the layers, with PyTorch's names and defaults."""
from . import functional, init, modules, parallel, parameter, utils  # noqa: F401
from .modules import *  # noqa: F401,F403
from .parameter import Parameter  # noqa: F401
