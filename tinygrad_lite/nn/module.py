"""The old path of Module and Parameter, kept for importers that still use it (nn/parallel/);
torch's paths are nn.modules.module and nn.parameter."""
from .modules.module import Module, Parameter  # noqa: F401
