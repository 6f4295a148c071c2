"""Temporary re-export for importers not yet moved; removed by the layout cleanup.

nn's activation functions take softshrink from here; it lives in functions/pointwise.py."""
from .functions.pointwise import softshrink  # noqa: F401
