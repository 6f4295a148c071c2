"""tinygrad_lite.utils: torch.utils' layout; `utils._data` holds datasets and loaders."""
from . import data  # noqa: F401
