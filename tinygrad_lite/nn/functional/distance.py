"""torch.nn.functional's distance functions: cosine_similarity, pairwise_distance."""
from __future__ import annotations

import numpy as np

from ...autograd.autocast_mode import autocast_op
from ...tensor import Tensor
from ._utils import _desc, _norm, _same, _tensor

__all__ = ["cosine_similarity", "pairwise_distance"]


@autocast_op("cosine_similarity")
def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """y = sum((x1 / max(||x1||, eps)) * (x2 / max(||x2||, eps))) along dim"""
    _tensor(x1, "cosine_similarity", "x1")
    _same(x1, x2, "cosine_similarity", "x2")
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"cosine_similarity: x1 {_desc(x1)} and x2 {_desc(x2)} do not "
                         "broadcast") from None
    a, b = x1.broadcast_to(shape), x2.broadcast_to(shape)

    def unit(t: Tensor) -> Tensor:
        # torch clamps the norm in place under no_grad: the value is clamped, while the
        # gradient flows as if it were not (a straight-through clamp)
        n = _norm(t, 2, dim, True, "cosine_similarity")
        floor = n.detach()
        return t / (n + (floor.clamp(min=eps) - floor))

    return (unit(a) * unit(b)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """y = ||x1 - x2 + eps||_p over the last dimension"""
    _tensor(x1, "pairwise_distance", "x1")
    _same(x1, x2, "pairwise_distance", "x2")
    try:
        np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"pairwise_distance: x1 {_desc(x1)} and x2 {_desc(x2)} do not "
                         "broadcast") from None
    d = x1 - x2 + eps
    if d.ndim == 0:
        return d.abs()
    return _norm(d, p, -1, keepdim, "pairwise_distance")
