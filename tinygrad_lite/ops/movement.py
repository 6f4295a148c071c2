"""Shape, indexing and data-movement ops."""
from __future__ import annotations


import numpy as np

from ..autograd.function import Function
from ..backend import array_module


# -- views ---------------------------------------------------------------------------------
class Reshape(Function):
    """y = x viewed as shape;  dx = dy viewed as x's shape"""

    bf16_in_float32 = False     # moves bfloat16 as it is: views stay views

    def forward(self, x, shape):
        self.in_shape = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return grad.reshape(self.in_shape)


class Permute(Function):
    """y = x with axes reordered;  dx = dy with the inverse order"""

    bf16_in_float32 = False     # moves bfloat16 as it is: views stay views

    def forward(self, x, dims):
        self.inverse = tuple(np.argsort(dims))
        return x.transpose(dims)

    def backward(self, grad):
        return grad.permute(*self.inverse)


class Expand(Function):
    """y = x broadcast to shape;  dx = dy summed back (the engine's unbroadcast)"""

    bf16_in_float32 = False     # moves bfloat16 as it is: views stay views

    def forward(self, x, shape):
        return array_module(x).broadcast_to(x, shape)

    def backward(self, grad):
        return grad


class Roll(Function):
    """y = x rolled by shifts;  dx = dy rolled back"""

    bf16_in_float32 = False     # moves bfloat16 as it is: views stay views

    def forward(self, x, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return array_module(x).roll(x, shifts, axis=axes)

    def backward(self, grad):
        return Roll.apply(grad, shifts=tuple(-s for s in self.shifts), axes=self.axes)


class Flip(Function):
    """y = x reversed along axes;  dx = dy reversed"""

    bf16_in_float32 = False     # moves bfloat16 as it is: views stay views

    def forward(self, x, axes):
        self.axes = axes
        return array_module(x).flip(x, axis=axes)

    def backward(self, grad):
        return Flip.apply(grad, axes=self.axes)


# -- joining and padding -------------------------------------------------------------------
class Cat(Function):
    """y = concatenation along axis;  each dx = its slice of dy"""

    bf16_in_float32 = False     # moves bfloat16 as it is: views stay views

    def forward(self, *arrays, axis):
        self.axis = axis
        self.sizes = [a.shape[axis] for a in arrays]
        return array_module(arrays[0]).concatenate(arrays, axis=axis)

    def backward(self, grad):
        return tuple(grad.split(self.sizes, self.axis))


class PadConstant(Function):
    """y = x surrounded by value;  dx = the middle of dy"""

    bf16_in_float32 = False     # moves bfloat16 as it is: views stay views

    def forward(self, x, widths, value):
        xp = array_module(x)
        self.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return xp.pad(x, widths, mode="constant", constant_values=value)

    def backward(self, grad):
        return grad[self.slices]


# -- diagonals -------------------------------------------------------------------------------------
# -- diagonals --------------------------------------------------------------------------------
def _diag_index(xp, length, offset):
    """Row and column indices of the `offset` diagonal, `length` entries long."""
    i = xp.arange(length)
    return (i, i + offset) if offset >= 0 else (i - offset, i)


class Diagonal(Function):
    """y = the offset diagonal of x over (dim1, dim2), as a new last axis;  dx = dy put back
    on that diagonal of zeros"""

    bf16_in_float32 = False     # moves bfloat16 as it is: views stay views

    def forward(self, x, offset, dim1, dim2):
        self.in_shape, self.offset, self.dims = x.shape, offset, (dim1, dim2)
        return array_module(x).diagonal(x, offset, dim1, dim2).copy()

    def backward(self, grad):
        return DiagonalScatter.apply(grad, shape=self.in_shape, offset=self.offset,
                                     dim1=self.dims[0], dim2=self.dims[1])


class DiagonalScatter(Function):
    """y = zeros(shape) with g on the offset diagonal over (dim1, dim2);  dg = that diagonal of dy.
    Makes a matrix from a vector (diag) and is Diagonal's backward."""

    bf16_in_float32 = False     # moves bfloat16 as it is: views stay views

    def forward(self, g, shape, offset, dim1, dim2):
        xp = array_module(g)
        self.offset, self.dims = offset, (dim1, dim2)
        out = xp.zeros(shape, dtype=g.dtype)
        rows, cols = _diag_index(xp, g.shape[-1], offset)
        xp.moveaxis(out, (dim1, dim2), (-2, -1))[..., rows, cols] = g
        return out

    def backward(self, grad):
        return Diagonal.apply(grad, offset=self.offset, dim1=self.dims[0], dim2=self.dims[1])
