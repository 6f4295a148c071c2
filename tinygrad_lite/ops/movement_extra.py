"""Scatter: writing values into a tensor at indices along a dimension (torch's scatter,
index_copy). Composition from scatter_add would sum repeated indices, so it is a Function."""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import array_module
from .movement import Gather, along


def written_mask(xp, shape, index, axis: int):
    """Boolean array of `shape`, True where a scatter along axis with this index writes."""
    mask = xp.zeros(shape, dtype=bool)
    mask[along(xp, index, axis)] = True
    return mask


class Scatter(Function):
    """y = x with y[.., index[i], ..] = src[i] along axis;  dx = dy with the written places zeroed;
    dsrc = gather(dy, index) (src is cut to index's shape before it comes here)"""

    def forward(self, x, src, index, axis):
        xp = array_module(x)
        self.index, self.axis = index, axis
        out = x.copy()
        full = along(xp, index, axis)
        out[full] = src
        if self.needs_input_grad[0]:
            self.save_for_backward(written_mask(xp, x.shape, index, axis))
        return out

    def backward(self, grad):
        gx = gsrc = None
        if self.needs_input_grad[0]:
            (mask,) = self.saved_tensors
            gx = grad.masked_fill(mask, 0.0)
        if self.needs_input_grad[1]:
            # index may be shorter than x in the other dims: gather from that corner of dy
            corner = tuple(slice(None) if d == self.axis else slice(0, n)
                           for d, n in enumerate(self.index.shape))
            gsrc = Gather.apply(grad[corner], index=self.index, axis=self.axis)
        return gx, gsrc
