"""Temporary re-export for importers not yet moved; removed by the layout cleanup.

ops/movement.py's module __getattr__ hands nn these tensor-level helpers from here; they live in
functions/indexing.py (gather is the implementation behind Tensor.gather)."""
from .functions.indexing import _gather as gather  # noqa: F401
from .functions.indexing import _int, _ints, cat, pad, stack  # noqa: F401
