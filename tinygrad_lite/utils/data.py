"""`from tinygrad_lite.utils.data import DataLoader`, as torch.utils.data is imported."""
from ..data import *  # noqa: F401,F403
from ..data import __all__  # noqa: F401
