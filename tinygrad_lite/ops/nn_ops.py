"""Temporary re-export for importers not yet moved; removed by the layout cleanup.
The fused layer ops now live by family: loss.py, normalization.py, linalg.py, indexing.py."""
from .indexing import Embedding  # noqa: F401
from .linalg import Linear, linear_reference  # noqa: F401
from .loss import (BCEWithLogits, BinaryCrossEntropy, CrossEntropy,  # noqa: F401
                   bce_with_logits_reference)
from .normalization import BatchNormTrain, LayerNorm, layer_norm_reference  # noqa: F401
