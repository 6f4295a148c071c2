"""tinygrad_lite.utils: torch.utils' layout; `utils.data` holds datasets and loaders."""
from . import data  # noqa: F401
