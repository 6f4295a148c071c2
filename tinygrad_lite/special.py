"""tinygrad_lite.special: torch.special's names for the functions that exist here. They live in
functions/ (torch.special's own ones in functions/special.py); this module is the namespace that
`tl.special` and `import tinygrad_lite.special` reach."""
from __future__ import annotations

from .functions.special import *  # noqa: F401,F403
from .functions.special import __all__  # noqa: F401
