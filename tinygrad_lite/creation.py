"""Temporary re-export for importers not yet moved; removed by the layout cleanup.

nn/utils/rnn.py (and legacy.py) import these from here; they live in functions/creation.py."""
from .functions.creation import full, tensor  # noqa: F401
