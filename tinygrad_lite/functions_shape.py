"""Temporary re-export for importers not yet moved; removed by the layout cleanup.

ops/movement.py's module __getattr__ hands nn these tensor-level helpers from here; they live in
functions/indexing.py (gather is the implementation behind Tensor.gather)."""
from .functions.indexing import _gather as gather  # noqa: F401
from ._checks import check_int
from .functions.indexing import _ints, cat, pad, stack  # noqa: F401


def _int(value, op: str, name: str) -> int:
    """The old (value, op, name) spelling of check_int(..., index=True) that nn still calls."""
    return check_int(value, name, op, low=None, index=True)
