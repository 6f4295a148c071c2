"""Indexing ops: getitem/setitem, gather, scatter (add, plain, reduce), embedding lookup.
Scatter is a Function of its own: composed from scatter_add it would sum repeated indices."""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.function import constant as _const
from ..backend import array_module
from .pointwise import quiet


class GetItem(Function):
    """y = x[index];  dx = zeros with dy added at index (repeated indices accumulate)"""

    bf16_in_float32 = False     # moves bfloat16 as it is: views stay views

    def forward(self, x, index, advanced):
        self.in_shape, self.index, self.advanced = x.shape, index, advanced
        return x[index]

    def backward(self, grad):
        return IndexAdd.apply(grad, shape=self.in_shape, index=self.index, advanced=self.advanced)


class IndexAdd(Function):
    """y = zeros(shape) with g added at index;  dg = dy[index]"""

    def forward(self, g, shape, index, advanced):
        xp = array_module(g)
        self.index, self.advanced = index, advanced
        out = xp.zeros(shape, dtype=g.dtype)
        if advanced:
            xp.add.at(out, index, g)
        else:
            out[index] = g
        return out

    def backward(self, grad):
        return GetItem.apply(grad, index=self.index, advanced=self.advanced)


class SetItem(Function):
    """y = x with y[index] = v (in place);  dx = dy with index zeroed;  dv = dy[index]"""

    bf16_in_float32 = False     # moves bfloat16 as it is: views stay views

    def forward(self, x, v, index, advanced):
        x[index] = v
        self.index, self.advanced, self.shape = index, advanced, x.shape
        return x

    def backward(self, grad):
        gx = gv = None
        if self.needs_input_grad[0]:
            xp = array_module(grad._data)
            keep = xp.ones(self.shape, dtype=grad.dtype)
            keep[self.index] = 0
            gx = grad * _const(keep)
        if self.needs_input_grad[1]:
            gv = GetItem.apply(grad, index=self.index, advanced=self.advanced)
        return gx, gv


class Gather(Function):
    """y[i][j] = x[i][index[i][j]] (along dim);  dx = scatter_add of dy at index"""

    bf16_in_float32 = False     # moves bfloat16 as it is: views stay views

    def forward(self, x, index, axis):
        self.in_shape, self.index, self.axis = x.shape, index, axis
        if any(i != n for d, (i, n) in enumerate(zip(index.shape, x.shape)) if d != axis):
            # torch lets index be smaller than x off the gather axis: read only that corner
            x = x[tuple(slice(None) if d == axis else slice(0, i)
                        for d, i in enumerate(index.shape))]
        return array_module(x).take_along_axis(x, index, axis=axis)

    def backward(self, grad):
        return ScatterAddInto.apply(grad, shape=self.in_shape, index=self.index, axis=self.axis)


class ScatterAddInto(Function):
    """y = zeros(shape) with src added at index along axis;  dsrc = gather(dy, index)"""

    def forward(self, src, shape, index, axis):
        xp = array_module(src)
        self.index, self.axis = index, axis
        out = xp.zeros(shape, dtype=src.dtype)
        _scatter_add(out, axis, index, src)
        return out

    def backward(self, grad):
        return Gather.apply(grad, index=self.index, axis=self.axis)


def open_grid(xp, shape) -> tuple:
    """np.indices(shape, sparse=True), which CuPy lacks: one broadcastable arange per axis."""
    n = len(shape)
    return tuple(xp.arange(size).reshape((1,) * d + (size,) + (1,) * (n - d - 1))
                 for d, size in enumerate(shape))


def along(xp, index, axis: int) -> tuple:
    """The advanced index that sends entry (i0, .., ik) of index to position index[i0, .., ik]
    along axis and to i_d along every other dim d."""
    grids = open_grid(xp, index.shape)
    return tuple(index if d == axis else grids[d] for d in range(index.ndim))


def _scatter_add(out, axis, index, src):
    """out[..., index[...], ...] += src along axis, accumulating repeated indices."""
    xp = array_module(out)
    src = src[tuple(slice(0, n) for n in index.shape)]
    xp.add.at(out, along(xp, index, axis), src)


class ScatterAdd(Function):
    """y = x + (src scattered-added at index);  dx = dy;  dsrc = gather(dy, index)"""

    def forward(self, x, src, index, axis):
        self.index, self.axis = index, axis
        out = x.copy()
        _scatter_add(out, axis, index, src)
        return out

    def backward(self, grad):
        return grad, Gather.apply(grad, index=self.index, axis=self.axis)


def written_mask(xp, shape, index, axis: int):
    """Boolean array of `shape`, True where a scatter along axis with this index writes."""
    mask = xp.zeros(shape, dtype=bool)
    mask[along(xp, index, axis)] = True
    return mask


class Scatter(Function):
    """y = x with y[.., index[i], ..] = src[i] along axis;  dx = dy with the written places zeroed;
    dsrc = gather(dy, index) (src is cut to index's shape before it comes here)"""

    bf16_in_float32 = False     # moves bfloat16 as it is: views stay views

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


def _group_reduce(xp, base, full, src, how: str):
    """base[full] <- base[full] (how) src in place, repeated indices combined; CuPy has no
    multiply.at, so there a product is sign * exp(sum of log|v|) with zeros counted apart."""
    if how == "sum":
        xp.add.at(base, full, src)
    elif how == "amax":
        xp.maximum.at(base, full, src)
    elif how == "amin":
        xp.minimum.at(base, full, src)
    elif xp.__name__ == "numpy":
        xp.multiply.at(base, full, src)
    else:
        logs, negs, zeros = (xp.zeros(base.shape, dtype=src.dtype) for _ in range(3))
        for acc, v, on in ((logs, xp.log(xp.abs(base)), xp.log(xp.abs(src))),
                           (negs, (base < 0).astype(src.dtype), (src < 0).astype(src.dtype)),
                           (zeros, (base == 0).astype(src.dtype), (src == 0).astype(src.dtype))):
            acc += xp.where(xp.isfinite(v), v, 0)
            xp.add.at(acc, full, xp.where(xp.isfinite(on), on, 0))
        sign = 1 - 2 * (negs % 2)
        base[...] = xp.where(zeros > 0, 0, sign * xp.exp(logs)).astype(base.dtype)
    return base


_IDENTITY = {"sum": 0, "mean": 0, "prod": 1}


class ScatterReduce(Function):
    """y = x with src reduced in at index along axis (sum, prod, mean, amax, amin; x itself
    joins unless include_self=False). dx, dsrc: torch's rules: sum/mean pass dy (over the
    count), amax/amin split dy evenly between the tied winners, prod passes dy times the
    product of the others in the group."""

    def forward(self, x, src, index, axis, reduce, include_self):
        xp = array_module(x)
        full = along(xp, index, axis)
        mask = written_mask(xp, x.shape, index, axis)
        self.index, self.axis, self.reduce = index, axis, reduce
        if reduce in _IDENTITY:
            start = _IDENTITY[reduce]
        elif x.dtype.kind == "f":
            start = -xp.inf if reduce == "amax" else xp.inf
        else:
            info = xp.iinfo(x.dtype)
            start = info.min if reduce == "amax" else info.max
        base = x.copy() if include_self else xp.where(mask, xp.asarray(start, x.dtype), x)
        out = _group_reduce(xp, base, full, src, "sum" if reduce == "mean" else reduce)
        need = any(self.needs_input_grad)
        if reduce == "mean":
            count = xp.ones(x.shape, x.dtype) if include_self else (~mask).astype(x.dtype)
            xp.add.at(count, full, xp.ones(index.shape, x.dtype))
            count = xp.maximum(count, 1)
            out = out / count if x.dtype.kind == "f" else out // count
            self.save_for_backward(count, None if include_self else (~mask).astype(x.dtype))
        elif need and reduce in ("amax", "amin"):
            # torch counts x's ties even when include_self=False leaves x out (then x gets 0)
            win_x = x == out
            win_src = src == out[full]      # (index may be smaller than x off axis)
            ties = win_x.astype(x.dtype)
            if not include_self:
                win_x = win_x & ~mask
            xp.add.at(ties, full, win_src.astype(x.dtype))
            ties = xp.maximum(ties, 1)
            self.save_for_backward(win_x / ties, win_src / ties[full])
        elif need and reduce == "prod":
            self.save_for_backward(*self._prod_factors(xp, x, src, out, mask, full, include_self))
        elif need and not include_self:
            self.save_for_backward((~mask).astype(x.dtype))
        return out

    def _prod_factors(self, xp, x, src, out, mask, full, include_self):
        """d out / d element: the product of the group's other elements (zeros handled)."""
        own = (x == 0) & ~mask if not include_self else x == 0     # zeros x adds to its group
        nonzero = xp.where((x == 0) | (mask if not include_self else False), 1, x).astype(x.dtype)
        zeros = own.astype(x.dtype)
        _group_reduce(xp, nonzero, full, xp.where(src == 0, 1, src).astype(src.dtype), "prod")
        xp.add.at(zeros, full, (src == 0).astype(x.dtype))

        def factor(v, group_out, group_nz, group_zeros):
            with quiet(xp):
                plain = group_out / v
            return xp.where(v == 0, xp.where(group_zeros == 1, group_nz, 0),
                            xp.where(group_zeros > 0, 0, plain)).astype(v.dtype)
        fx = factor(x, out, nonzero, zeros)
        if not include_self:
            fx = xp.where(mask, 0, fx).astype(x.dtype)
        return fx, factor(src, out[full], nonzero[full], zeros[full])

    def backward(self, grad):
        gx = gsrc = None
        need_x, need_src = self.needs_input_grad
        saved = self.saved_tensors
        if self.reduce == "sum":
            gx = grad * saved[0] if saved else grad
            gsrc = grad
        elif self.reduce == "mean":
            gsrc = grad / saved[0]
            gx = gsrc if saved[1] is None else gsrc * saved[1]
        elif self.reduce == "prod":
            gx, gsrc = grad * saved[0], grad
        else:
            gx, gsrc = grad * saved[0], grad
        if need_src:
            gsrc = Gather.apply(gsrc, index=self.index, axis=self.axis)
            if self.reduce in ("prod", "amax", "amin"):
                gsrc = gsrc * saved[1]
        return (gx if need_x else None), (gsrc if need_src else None)


# -- embedding --------------------------------------------------------------------------------
class Embedding(Function):
    """y = W[idx];  dW = zeros with dy rows added at idx (repeats accumulate), padding row kept 0"""

    bf16_in_float32 = False     # moves bfloat16 as it is: views stay views

    def forward(self, w, idx, padding_idx):
        self.w_shape, self.idx, self.padding_idx = w.shape, idx, padding_idx
        return w[idx]

    def backward(self, grad):
        gw = IndexAdd.apply(grad, shape=self.w_shape, index=(self.idx,), advanced=True)
        if self.padding_idx is not None:
            xp = array_module(grad._data)
            keep = xp.ones((self.w_shape[0], 1), dtype=grad.dtype)
            keep[self.padding_idx] = 0
            gw = gw * _const(keep)
        return gw, None
