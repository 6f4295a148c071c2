"""tinygrad_lite.utils: torch.utils' layout; `utils.data` is `tinygrad_lite.data`."""
from . import data  # noqa: F401
