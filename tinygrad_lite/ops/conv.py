"""Convolution and pooling over NCHW arrays: one GEMM over strided windows, no loops over pixels.

The forward takes the (N, C, R, S, P, Q) window view of the padded input (as_strided, no copy),
copies it a chunk of the batch at a time into columns and contracts each chunk with the weight in
one GEMM per group; the pass that moves the result into NCHW adds the bias. The data gradient is
that matmul transposed followed by col2im, a loop over the R*S kernel taps; the weight gradient
is a GEMM between the columns and the output gradient, summed over the chunks. Chunks keep the
columns (R*S times the input) out of the peak memory. The three passes are Functions that
differentiate into each other, so create_graph=True works to any order.

On the CPU, 3x3 stride-1 ungrouped float32 convolutions may run as Winograd F(2x2,3x3) or
F(4x4,3x3) instead (ops/winograd.py; the rule and the switch tl.backends.cpu.conv_algorithm are
there): the same three Functions pick the algorithm in their forward, and the result is an
NCHW-shaped view of a channels-last array. This direct path stays the reference beside it.

Padding is (top, bottom, left, right) so that "same" with an even kernel can pad unevenly.
Parameters reaching this module are already checked and normalised by nn/functional/convolution.py.
"""
from __future__ import annotations

from ..autograd.function import Function, constant
from ..autograd.grad_mode import state
from ..backend import array_module, device_of, intraop
from . import winograd as W
from .pointwise import Mul, relu_array

# The Winograd forward keeps its transformed input V for the weight gradient up to this size
# (2.25x the input for F(4x4), 4x for F(2x2)); above it the weight gradient transforms x again.
KEEP_V_BYTES = 1 << 26

# The forward keeps its columns for the weight gradient when they are at most this big.
# Recomputing them costs one im2col copy (a few % of a CNN step); keeping them costs R*S times
# the input's memory until backward, which doubled the CNN benchmark's peak over torch's.
CACHE_COLUMNS_BYTES = 1 << 20


def out_size(size: int, kernel: int, stride: int, lo: int, hi: int, dilation: int,
             ceil_mode: bool = False) -> int:
    """Outputs along one axis: floor or ceil((size + lo + hi - dil*(kernel-1) - 1) / stride) + 1."""
    span = size + lo + hi - dilation * (kernel - 1) - 1
    if span < 0:
        return 0
    n = (-(-span // stride) if ceil_mode else span // stride) + 1
    # torch's rule: with ceil_mode the last window must start inside the input or its left padding
    if ceil_mode and (n - 1) * stride >= size + lo:
        n -= 1
    return n


def _span(n: int, kernel: int, stride: int, dilation: int) -> int:
    """Input extent that n windows touch."""
    return (n - 1) * stride + dilation * (kernel - 1) + 1


def _padded(x, pads, need_h: int, need_w: int, value=0.0):
    """x in a canvas of `value`: pads (top, bottom, left, right), grown to need_h x need_w."""
    t, b, l, r = pads
    n, c, h, w = x.shape
    if t == 0 and l == 0 and need_h <= h and need_w <= w:
        return x
    xp = array_module(x)
    out = xp.full((n, c, max(h + t + b, need_h), max(w + l + r, need_w)), value, dtype=x.dtype)
    out[:, :, t:t + h, l:l + w] = x
    return out


def _windows(xpad, kernel, stride, dilation, out_hw):
    """View [n, c, r, s, p, q] = xpad[n, c, p*sh + r*dh, q*sw + s*dw]; no copy."""
    xp = array_module(xpad)
    (kh, kw), (sh, sw), (dh, dw), (p, q) = kernel, stride, dilation, out_hw
    a, b, c, d = xpad.strides
    return xp.lib.stride_tricks.as_strided(
        xpad, shape=xpad.shape[:2] + (kh, kw, p, q), strides=(a, b, c * dh, d * dw, c * sh, d * sw))


def _columns(x, kernel, stride, padding, dilation, groups, out_hw):
    """im2col: contiguous (G, C/G*R*S, N*P*Q) columns, rows (c, r, s) and columns (n, p, q).

    N sits inside the GEMM's long axis so the forward is one GEMM per group and the weight
    gradient one GEMM per group over N*P*Q, both reading these columns as they lie.
    """
    n = x.shape[0]
    (kh, kw), (p, q) = kernel, out_hw
    xpad = _padded(x, padding, _span(p, kh, stride[0], dilation[0]),
                   _span(q, kw, stride[1], dilation[1]))
    view = _windows(xpad, kernel, stride, dilation, out_hw).transpose(1, 2, 3, 0, 4, 5)
    return array_module(x).ascontiguousarray(view).reshape(groups, -1, n * p * q)


def _col2im(cols, x_shape, kernel, stride, padding, dilation):
    """The adjoint of im2col: sum (N, C, R, S, P, Q) columns back onto the (unpadded) input grid."""
    xp = array_module(cols)
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    p, q = cols.shape[-2:]
    t, b, l, r = padding
    canvas = xp.zeros((n, c, max(h + t + b, _span(p, kh, sh, dh)),
                       max(w + l + r, _span(q, kw, sw, dw))), dtype=cols.dtype)
    hs, ws = (p - 1) * sh + 1, (q - 1) * sw + 1
    for i in range(kh):
        for j in range(kw):
            canvas[:, :, i * dh:i * dh + hs:sh, j * dw:j * dw + ws:sw] += cols[:, :, i, j]
    if canvas.shape[2:] == (h, w):
        return canvas
    return canvas[:, :, t:t + h, l:l + w]


# Forward, data and weight gradients work through the batch this many bytes of columns at a
# time: the columns of a whole batch are R*S times the input (the largest temporary of a
# training step); a chunk of them stays in cache between the copy or GEMM that writes it and the
# GEMM or adds that read it, and the GEMMs stay long enough (thousands of columns) for BLAS
CHUNK_BYTES = 1 << 21


def _chunk(n: int, bytes_per_image: int) -> int:
    """Images per chunk of the batch."""
    return max(1, min(n, CHUNK_BYTES // max(1, bytes_per_image)))


# Output planes below this many pixels take the batch-innermost data gradient even at stride 1:
# the flat canvas's runs (P*Wp) are then short and its per-chunk GEMMs small, while one GEMM over
# (P, Q, N) stays long. Measured on 2 cores at 3x3 with idle thread pools asleep: batch-innermost
# 1.45x faster at 8x8, 1.15x at 14x14; the flat canvas 1.06x faster at 16x16 with batch 64.
SMALL_PLANE = 200


def _conv_data(dy, w, x_shape, stride, padding, dilation, groups):
    """dx = col2im(w^T dy); for stride 1, on a flat canvas so each tap adds one long run.

    dy is widened with zero columns to the padded width Wp; then tap (i, j) of output (p, q)
    lands at flat offset (p + i*dh)*Wp + q + j*dw, so one tap's contribution to a (n, c) plane is
    the contiguous run [i*dh*Wp + j*dw, ... + P*Wp). The widened columns carry zeros, so
    whatever they overlap is unharmed.
    """
    if tuple(stride) != (1, 1) or dy.shape[2] * dy.shape[3] < SMALL_PLANE:
        return _conv_data_strided(dy, w, x_shape, stride, padding, dilation, groups)
    xp = array_module(dy)
    n, kout, p, q = dy.shape
    c, h, wd = x_shape[1:]
    _, cg, kh, kw = w.shape
    kg = kout // groups
    dh, dw = dilation
    t, b, l, r = padding
    hp, wp = max(h + t + b, p + dh * (kh - 1)), max(wd + l + r, q + dw * (kw - 1))
    run = p * wp
    wt = xp.ascontiguousarray(w.reshape(groups, kg, cg * kh * kw).transpose(0, 2, 1))
    canvas = xp.zeros((n, c, hp * wp + dw * (kw - 1)), dtype=dy.dtype)
    nb = _chunk(n, c * kh * kw * run * dy.itemsize)
    dyw = xp.zeros((nb, groups, kg, p, wp), dtype=dy.dtype)    # the widening stays zero
    cols = xp.empty((nb, groups, cg * kh * kw, run), dtype=dy.dtype)
    for s in range(0, n, nb):
        m = min(nb, n - s)
        dyw[:m, ..., :q] = dy[s:s + m].reshape(m, groups, kg, p, q)
        xp.matmul(wt, dyw[:m].reshape(m, groups, kg, run), out=cols[:m])
        taps, part = cols[:m].reshape(m, c, kh, kw, run), canvas[s:s + m]
        for i in range(kh):
            for j in range(kw):
                off = i * dh * wp + j * dw
                part[:, :, off:off + run] += taps[:, :, i, j]
    dx = canvas[:, :, :hp * wp].reshape(n, c, hp, wp)[:, :, t:t + h, l:l + wd]
    return xp.ascontiguousarray(dx)


def _conv_data_strided(dy, w, x_shape, stride, padding, dilation, groups):
    """dx = col2im(w^T dy), laid out with the batch innermost so each tap's add is long.

    dcols[g, (r,s,c), (p,q,n)] is one GEMM per group; the col2im canvas is (C, Hp, Wp, N), so a
    kernel tap adds a block whose rows hold Q*N contiguous values (N for strided convs).
    """
    xp = array_module(dy)
    n, kout, p, q = dy.shape
    _, cg, kh, kw = w.shape
    kg = kout // groups
    (sh, sw), (dh, dw) = stride, dilation
    t, b, l, r = padding
    h, wd = x_shape[2:]
    dyt = xp.ascontiguousarray(dy.transpose(1, 2, 3, 0)).reshape(groups, kg, p * q * n)
    wt = w.reshape(groups, kg, cg, kh, kw).transpose(0, 3, 4, 2, 1)
    wt = xp.ascontiguousarray(wt).reshape(groups, kh * kw * cg, kg)
    if groups == 1:
        cols = xp.matmul(wt[0], dyt[0])
    else:
        cols = xp.matmul(wt, dyt)
    cols = cols.reshape(groups, kh, kw, cg, p, q, n)
    canvas = xp.zeros((groups, cg, max(h + t + b, _span(p, kh, sh, dh)),
                       max(wd + l + r, _span(q, kw, sw, dw)), n), dtype=dy.dtype)
    hs, ws = (p - 1) * sh + 1, (q - 1) * sw + 1
    for i in range(kh):
        for j in range(kw):
            canvas[:, :, i * dh:i * dh + hs:sh, j * dw:j * dw + ws:sw] += cols[:, i, j]
    dx = canvas[:, :, t:t + h, l:l + wd].reshape(x_shape[1], h, wd, n).transpose(3, 0, 1, 2)
    return xp.ascontiguousarray(dx)


def _forward_direct(x, w, b, out, stride, padding, dilation, groups, pq, keep):
    """out[n, k, (p, q)] = the conv of this part of the batch; its columns when kept and small."""
    xp = array_module(x)
    n, kout = x.shape[0], w.shape[0]
    p, q = pq
    wg = w.reshape(groups, kout // groups, -1)
    nb = _chunk(n, wg.shape[0] * wg.shape[2] * p * q * x.itemsize)
    kept = None
    for s in range(0, n, nb):
        cols = _columns(x[s:s + nb], w.shape[2:], stride, padding, dilation, groups, (p, q))
        if nb >= n and keep and cols.nbytes <= CACHE_COLUMNS_BYTES:
            kept = cols
        y = xp.matmul(wg, cols).reshape(kout, -1, p * q).transpose(1, 0, 2)
        if b is None:
            out[s:s + nb] = y
        else:
            xp.add(y, b.reshape(kout, 1), out=out[s:s + nb])
        del cols, y     # as in Conv2dWeight: one chunk's temporaries alive at a time
    return kept


def _weight_direct(x, dy, w_shape, stride, padding, dilation, groups, cols):
    """dw over this part of the batch, a chunk of columns at a time (or the kept columns)."""
    xp = array_module(x)
    n, kout, p, q = dy.shape
    kg = kout // groups
    per_image = x.shape[1] * w_shape[2] * w_shape[3] * p * q * x.itemsize
    nb = n if cols is not None else _chunk(n, per_image)
    dw = None
    for s in range(0, n, nb):
        m = min(nb, n - s)
        part = cols if cols is not None else _columns(x[s:s + nb], w_shape[2:], stride,
                                                      padding, dilation, groups, (p, q))
        dyt = dy[s:s + nb].reshape(m, groups, kg, p * q).transpose(1, 2, 0, 3)
        dyt = xp.ascontiguousarray(dyt).reshape(groups, kg, m * p * q)
        if groups == 1:     # a plain 2-D GEMM lets BLAS read the columns transposed in place
            g = xp.matmul(dyt[0], part[0].T)
        else:
            g = xp.matmul(dyt, part.transpose(0, 2, 1))
        dw = g if dw is None else xp.add(dw, g, out=dw)
        # drop this chunk's columns before the next chunk's are built, not after
        del part, dyt
    return dw


# A direct conv whose columns over the whole batch reach this many bytes splits its batch over
# the intra-op pool (backend/intraop.py), BLAS at one thread inside; smaller ones run as one.
SPLIT_BYTES = 1 << 20


def _parts(x, n: int, cols_per_image: int) -> int:
    if device_of(x) != "cpu" or n < 2 or n * cols_per_image < SPLIT_BYTES:
        return 1
    return max(1, min(intraop.threads(), n))


def _by_parts(n: int, parts: int, fn) -> list:
    """[fn(lo, hi) for each of `parts` contiguous runs of the batch], over the intra-op pool."""
    bounds = [(i * n // parts, (i + 1) * n // parts) for i in range(parts)]
    return intraop.parallel_for(lambda i: fn(*bounds[i]), parts)


class _Like:
    """Shape and dtype of an array that does not exist yet, for kernels.supports_conv."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype, self.ndim = tuple(shape), dtype, len(shape)


def _cuda_kernels(name, x_shape, w_shape, dtype, stride, padding, dilation, groups, out_hw):
    """The CUDA kernel module when it takes this conv; else None, with the fallback recorded."""
    try:
        from ..backend import kernels
    except ImportError:
        return None
    t, b, l, r = padding
    ok = t == b and l == r and kernels.supports_conv(
        _Like(x_shape, dtype), _Like(w_shape, dtype), stride, (t, l), dilation, groups)
    if ok and out_hw is not None:
        ok = tuple(out_hw) == _conv_out_hw(x_shape, w_shape, stride, padding, dilation)
    if not ok:
        kernels.record(name, False)
        return None
    return kernels


def _conv_out_hw(x_shape, w_shape, stride, padding, dilation):
    return (out_size(x_shape[2], w_shape[2], stride[0], padding[0], padding[1], dilation[0]),
            out_size(x_shape[3], w_shape[3], stride[1], padding[2], padding[3], dilation[1]))


def _algorithm(x_shape, w_shape, dtype, device, stride, padding, dilation, groups) -> str:
    """"direct" or the Winograd variant for this conv (ops/winograd.py's rule and switch)."""
    return W.choose(x_shape, w_shape, dtype, stride, dilation, groups, device)


def _v_bytes(x_shape, padding, m: int) -> int:
    grid = W.Tiling(x_shape, padding, m)
    return grid.a * grid.a * grid.tiles(x_shape[0]) * x_shape[1] * 4


def _geom(stride, padding, dilation, groups) -> dict:
    return dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


class Conv2d(Function):
    """y[n,k,p,q] = b[k] + sum_{c,r,s} w[k,c,r,s] x[n,c,p*sh+r*dh-pt,q*sw+s*dw-pl];  dx, dw: convs

    The bias rides along the pass that moves the GEMM's (K, N, P*Q) result into NCHW, so it costs
    no pass of its own; its gradient is dy summed over (N, H, W).
    """

    def forward(self, x, w, b=None, *, stride, padding, dilation, groups, out_hw=None):
        self.geom = _geom(stride, padding, dilation, groups)
        if device_of(x) == "cuda" and (k := _cuda_kernels(
                "conv2d_forward", x.shape, w.shape, x.dtype, stride, padding, dilation, groups,
                out_hw)) is not None:
            self.cols = None
            self.save_for_backward(x, w)
            y = k.conv2d_forward(x, w, stride, padding[::2], dilation, groups)
            return y if b is None else y + b.reshape(1, -1, 1, 1)
        xp = array_module(x)
        n, kout = x.shape[0], w.shape[0]
        p, q = out_hw or _conv_out_hw(x.shape, w.shape, stride, padding, dilation)
        self.save_for_backward(x if self.needs_input_grad[1] else None,
                               w if self.needs_input_grad[0] else None)
        self.algo = _algorithm(x.shape, w.shape, x.dtype, device_of(x), **self.geom)
        if self.algo != "direct":
            m = W.tile_size(self.algo)
            keep = self.needs_input_grad[1] and _v_bytes(x.shape, padding, m) <= KEEP_V_BYTES
            y, self.cols = W.conv_forward(x, w, b, padding, m, keep)
            return y
        out = xp.empty((n, kout, p * q), dtype=x.dtype)
        per_image = w.shape[1] * w.shape[2] * w.shape[3] * p * q * x.itemsize * groups
        parts = _parts(x, n, per_image)
        keep = self.needs_input_grad[1] and parts == 1
        self.cols = _by_parts(n, parts, lambda lo, hi: _forward_direct(
            x[lo:hi], w, b, out[lo:hi], stride, padding, dilation, groups, (p, q), keep))[0]
        return out.reshape(n, kout, p, q)

    def backward(self, grad):
        x, w = self.saved_tensors
        need_b = (self.needs_input_grad + (False,))[2]
        dx, dw = self.input_grads(grad, x, w)
        return dx, dw, (grad.sum((0, 2, 3)) if need_b else None)

    def input_grads(self, grad, x, w):
        """(dx, dw) from the output's gradient, each None where no gradient is needed."""
        need_x, need_w = self.needs_input_grad[:2]
        dx = dw = None
        algo = getattr(self, "algo", "direct")
        # the kept columns or V go with this backward; another one (retain_graph) recomputes them,
        # and a graph kept alive after backward does not hold them
        cols, self.cols = self.cols, None
        # Winograd's data pass computes the weight gradient too (they share dM) and leaves it here
        shared = None
        if algo != "direct":    # x is a Tensor here (Conv2d's backward builds Tensor ops)
            shared = {"x": x._data if need_w else None, "v": cols, "dw": need_w}
        if need_x:
            dx = Conv2dData.apply(grad, w, x_shape=self.in_meta[0][0], **self.geom, algo=algo,
                                  shared=shared)
        if need_w:
            dw = Conv2dWeight.apply(x, grad, w_shape=self.in_meta[1][0], **self.geom,
                                    cols=cols, algo=algo, shared=shared)
        return dx, dw


class Conv2dData(Function):
    """dx = conv2d's data gradient (= conv_transpose2d(dy, w)): col2im(w^T @ dy);  linear in both"""

    def forward(self, dy, w, stride, padding, dilation, groups, x_shape, algo=None,
                shared=None):
        self.geom = _geom(stride, padding, dilation, groups)
        self.save_for_backward(dy if self.needs_input_grad[1] else None,
                               w if self.needs_input_grad[0] else None)
        if device_of(dy) == "cuda" and (k := _cuda_kernels(
                "conv2d_backward_data", x_shape, w.shape, dy.dtype, stride, padding, dilation,
                groups, dy.shape[2:])) is not None:
            return k.conv2d_backward_data(dy, w, x_shape, stride, padding[::2], dilation, groups)
        if algo is None:
            algo = _algorithm(x_shape, w.shape, dy.dtype, device_of(dy), **self.geom)
        if algo != "direct":
            both = bool(shared and shared["dw"])
            dx, dw = W.conv_backward(dy, w, shared["x"] if both else None, x_shape, padding,
                                     W.tile_size(algo), need_dw=both,
                                     vs=shared["v"] if both else None)
            if both:
                shared["dw"] = (dy, dw)
            return dx
        n = x_shape[0]
        parts = _parts(dy, n, w.shape[1] * groups * w.shape[2] * w.shape[3] * dy.shape[2]
                       * dy.shape[3] * dy.itemsize)
        if parts == 1:
            return _conv_data(dy, w, x_shape, stride, padding, dilation, groups)
        dx = array_module(dy).empty(x_shape, dtype=dy.dtype)

        def run(lo, hi):
            dx[lo:hi] = _conv_data(dy[lo:hi], w, (hi - lo,) + tuple(x_shape[1:]), stride,
                                   padding, dilation, groups)
        _by_parts(n, parts, run)
        return dx

    def backward(self, grad):
        dy, w = self.saved_tensors
        need_dy, need_w = self.needs_input_grad[:2]
        return (Conv2d.apply(grad, w, **self.geom, out_hw=tuple(self.in_meta[0][0][2:]))
                if need_dy else None,
                Conv2dWeight.apply(grad, dy, **self.geom, w_shape=self.in_meta[1][0])
                if need_w else None)


class Conv2dWeight(Function):
    """dw[k,c,r,s] = sum_{n,p,q} dy[n,k,p,q] x[n,c,p*sh+r*dh-pt,q*sw+s*dw-pl];  linear in both"""

    def forward(self, x, dy, stride, padding, dilation, groups, w_shape, cols=None, algo=None,
                shared=None):
        self.geom = _geom(stride, padding, dilation, groups)
        self.save_for_backward(x if self.needs_input_grad[1] else None,
                               dy if self.needs_input_grad[0] else None)
        if device_of(x) == "cuda" and (k := _cuda_kernels(
                "conv2d_backward_weight", x.shape, w_shape, x.dtype, stride, padding, dilation,
                groups, dy.shape[2:])) is not None:
            return k.conv2d_backward_weight(x, dy, w_shape, stride, padding[::2], dilation, groups)
        if algo is None:
            algo = _algorithm(x.shape, w_shape, x.dtype, device_of(x), **self.geom)
            cols = None     # columns or V belong to the algorithm the forward ran
        if algo != "direct":
            done = shared.pop("dw") if shared else None
            if isinstance(done, tuple) and done[0] is dy:
                return done[1]
            return W.conv_backward(dy, None, x, x.shape, padding, W.tile_size(algo),
                                   need_dx=False, need_dw=True, vs=cols)[1]
        n, _, p, q = dy.shape
        parts = _parts(x, n, x.shape[1] * w_shape[2] * w_shape[3] * p * q * x.itemsize)
        dws = _by_parts(n, parts, lambda lo, hi: _weight_direct(
            x[lo:hi], dy[lo:hi], w_shape, stride, padding, dilation, groups,
            cols if parts == 1 else None))
        dw = dws[0]
        for d in dws[1:]:
            dw += d
        return dw.reshape(w_shape)

    def backward(self, grad):
        x, dy = self.saved_tensors
        need_x, need_dy = self.needs_input_grad[:2]
        return (Conv2dData.apply(dy, grad, **self.geom, x_shape=self.in_meta[0][0])
                if need_x else None,
                Conv2d.apply(x, grad, **self.geom, out_hw=tuple(self.in_meta[1][0][2:]))
                if need_dy else None)


# -- unfold / fold ---------------------------------------------------------------------------------
class Unfold(Function):
    """y[n, (c,r,s), (p,q)] = x[n, c, p*sh + r*dh - pt, q*sw + s*dw - pl];  dx = fold(dy)"""

    def forward(self, x, kernel, stride, padding, dilation):
        self.geom = dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation)
        self.x_hw = x.shape[2:]
        p, q = _conv_out_hw(x.shape, (1, 1) + tuple(kernel), stride, padding, dilation)
        self.out_hw = (p, q)
        xpad = _padded(x, padding, _span(p, kernel[0], stride[0], dilation[0]),
                       _span(q, kernel[1], stride[1], dilation[1]))
        view = _windows(xpad, kernel, stride, dilation, (p, q))
        crs = x.shape[1] * kernel[0] * kernel[1]      # (not -1: a zero-size batch is fine)
        return array_module(x).ascontiguousarray(view).reshape(x.shape[0], crs, p * q)

    def backward(self, grad):
        return Fold.apply(grad, out_hw=self.out_hw, x_hw=self.x_hw, **self.geom)


class Fold(Function):
    """y = the sum of the columns' values back onto the image grid (col2im);  dcols = unfold(dy)"""

    def forward(self, cols, kernel, stride, padding, dilation, out_hw, x_hw):
        self.geom = dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation)
        n, crs, _ = cols.shape
        c = crs // (kernel[0] * kernel[1])
        cols = cols.reshape((n, c) + tuple(kernel) + tuple(out_hw))
        return _col2im(cols, (n, c) + tuple(x_hw), kernel, stride, padding, dilation)

    def backward(self, grad):
        return Unfold.apply(grad, **self.geom)


# -- pooling ---------------------------------------------------------------------------------------
def _taps(kernel):
    return [(i, j) for i in range(kernel[0]) for j in range(kernel[1])]


def _pool2(x_shape, kernel, stride, padding, dilation, out_hw) -> bool:
    """The usual 2x2, stride-2 pool without padding or dilation, floor mode."""
    return (tuple(kernel) == tuple(stride) == (2, 2) and not any(padding)
            and tuple(dilation) == (1, 1) and tuple(out_hw) == (x_shape[2] // 2, x_shape[3] // 2))


def _max_pool2_taps(x):
    """max_pool_taps for _pool2 windows (no NaN handling): the max as rows then columns, the
    first tap attaining it as ne0 * (1 + ne1 * (1 + ne2)) over "tap t misses" in int8.

    Measured on a channels-last (64, 64, 16, 16): 0.8 ms where the general loop takes 1.3 ms.
    """
    xp = array_module(x)
    p, q = x.shape[2] // 2, x.shape[3] // 2
    xc = x[:, :, :2 * p, :2 * q]
    rows = xp.maximum(xc[:, :, 0::2], xc[:, :, 1::2])
    y = xp.maximum(rows[..., 0::2], rows[..., 1::2])
    ne = [xp.not_equal(xc[:, :, i::2, j::2], y).view(xp.int8) for i, j in ((0, 0), (0, 1), (1, 0))]
    tap = ne[2] + xp.int8(1)
    tap *= ne[1]
    tap += 1
    tap *= ne[0]
    return y, tap


def max_pool_taps(x, kernel, stride, padding, dilation, out_hw):
    """(y, taps): each window's max (NaN wins) and its kernel tap i*kw + j, the first on ties.

    The input is padded with -inf, so padding never wins; torch's ceil_mode rule keeps every
    window partly inside the input.
    """
    xp = array_module(x)
    kh, kw = kernel
    if _pool2(x.shape, kernel, stride, padding, dilation, out_hw) and device_of(x) == "cpu":
        y, tap = _max_pool2_taps(x)
        if x.dtype.kind != "f" or not xp.isnan(y).any():    # NaN: the general path below
            return y, tap
    xpad = _padded(x, padding, _span(out_hw[0], kh, stride[0], dilation[0]),
                   _span(out_hw[1], kw, stride[1], dilation[1]), value=-float("inf"))
    view = _windows(xpad, kernel, stride, dilation, out_hw)
    taps = [view[:, :, i, j] for i, j in _taps(kernel)]
    if len(taps) == 1:
        y = taps[0].copy()
    else:
        y = xp.maximum(taps[0], taps[1])
        for v in taps[2:]:
            xp.maximum(y, v, out=y)
    # the first tap attaining the max = how many leading taps miss it: a running AND of
    # "missed", summed; bool passes over the small output, no boolean indexing
    tap = xp.zeros(y.shape, dtype=xp.int8 if len(taps) < 128 else xp.int32)
    missed = xp.ones(y.shape, dtype=bool)
    miss = xp.empty(y.shape, dtype=bool)
    for v in taps[:-1]:
        xp.not_equal(v, y, out=miss)
        missed &= miss
        tap += missed
    if x.dtype.kind == "f":
        nan = xp.isnan(y)
        # torch keeps the last NaN of a window. On the GPU this runs without asking whether
        # there is any NaN: the answer would stall the launch queue.
        if device_of(y) == "cuda" or nan.any():
            last = xp.zeros_like(tap)
            for t, v in enumerate(taps[1:], 1):
                xp.copyto(last, t, where=xp.isnan(v))
            xp.copyto(tap, last, where=nan)
    return y, tap


def max_pool_indices(tap, x_hw, kernel, stride, padding, dilation):
    """torch's return_indices: the flat h*W + w position of each max in the unpadded input."""
    xp = array_module(tap)
    p, q = tap.shape[2:]
    t = tap.astype(xp.int64)
    rows = xp.arange(p).reshape(p, 1) * stride[0] - padding[0] + (t // kernel[1]) * dilation[0]
    cols = xp.arange(q) * stride[1] - padding[2] + (t % kernel[1]) * dilation[1]
    return rows * x_hw[1] + cols


class MaxPool2d(Function):
    """y[n,c,p,q] = max over the window of x;  dx = dy routed to each window's argmax tap"""

    def forward(self, x, kernel, stride, padding, dilation, tap, y=None):
        self.geom = dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation)
        # saved, not kept as an attribute, so the engine frees the taps once backward has run
        self.save_for_backward(tap)
        if y is not None:
            return y
        xp = array_module(x)
        xpad = _padded(x, padding, _span(tap.shape[2], kernel[0], stride[0], dilation[0]),
                       _span(tap.shape[3], kernel[1], stride[1], dilation[1]))
        view = _windows(xpad, kernel, stride, dilation, tap.shape[2:])
        out = xp.zeros(tap.shape, dtype=x.dtype)
        for t, (i, j) in enumerate(_taps(kernel)):
            xp.copyto(out, view[:, :, i, j], where=tap == t)
        return out

    def backward(self, grad):
        (tap,) = self.saved_tensors
        return MaxPool2dBackward.apply(grad, x_shape=self.in_meta[0][0], tap=tap._data,
                                       **self.geom)


class MaxPool2dBackward(Function):
    """dx = zeros with dy added at each window's argmax;  d(dy) = gather at the same taps"""

    def forward(self, grad, x_shape, kernel, stride, padding, dilation, tap):
        self.geom = dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation)
        self.tap = tap
        xp = array_module(grad)
        n, c, h, w = x_shape
        (kh, kw), (p, q), (t, b, l, r) = kernel, grad.shape[2:], padding
        hp = max(h + t + b, _span(p, kh, stride[0], dilation[0]))
        wp = max(w + l + r, _span(q, kw, stride[1], dilation[1]))
        # windows that tile the input exactly (kernel == stride, the usual 2x2 pool) write each
        # input element once, so the canvas needs no zeroing and no accumulation
        tiles = (tuple(kernel) == tuple(stride) and tuple(dilation) == (1, 1)
                 and (hp, wp) == (h, w) == (p * kh, q * kw))
        canvas = (xp.empty if tiles else xp.zeros)((n, c, hp, wp), dtype=grad.dtype)
        win = _windows(canvas, kernel, stride, dilation, (p, q))
        # dy * hit is one pass where `where` is two, but 0 * inf would put NaN off the argmax
        # (on the GPU the NaN-safe path always: asking would stall the launch queue)
        finite = device_of(grad) == "cpu" and bool(xp.isfinite(grad.sum()))
        hit = xp.empty(tap.shape, dtype=bool)
        for k, (i, j) in enumerate(_taps(kernel)):
            xp.equal(tap, k, out=hit)
            dst = win[:, :, i, j]
            if finite and tiles:
                xp.multiply(grad, hit, out=dst)
                continue
            part = grad * hit if finite else xp.where(hit, grad, xp.zeros((), dtype=grad.dtype))
            if tiles:
                dst[...] = part
            else:
                dst += part
        if (hp, wp) == (h, w):
            return canvas
        return xp.ascontiguousarray(canvas[:, :, t:t + h, l:l + w])

    def backward(self, grad):
        return MaxPool2d.apply(grad, tap=self.tap, **self.geom)


def avg_pool_divisor(xp, x_hw, kernel, stride, padding, out_hw, count_include_pad, dtype):
    """(P, Q) divisors as torch counts them: window clipped to the padded input, or to the input."""
    def one_axis(size, k, s, lo, n):
        start = xp.arange(n) * s - lo
        end = xp.minimum(start + k, size + lo)
        if count_include_pad:
            return end - start
        return xp.minimum(end, size) - xp.maximum(start, 0)
    rows = one_axis(x_hw[0], kernel[0], stride[0], padding[0], out_hw[0])
    cols = one_axis(x_hw[1], kernel[1], stride[1], padding[2], out_hw[1])
    return (rows.reshape(-1, 1) * cols).astype(dtype)


class AvgPool2d(Function):
    """y[n,c,p,q] = sum over the window of x / divisor[p,q];  dx = dy/divisor spread over windows"""

    def forward(self, x, kernel, stride, padding, out_hw, divisor):
        self.geom = dict(kernel=kernel, stride=stride, padding=padding, out_hw=out_hw,
                         divisor=divisor)
        xpad = _padded(x, padding, _span(out_hw[0], kernel[0], stride[0], 1),
                       _span(out_hw[1], kernel[1], stride[1], 1))
        view = _windows(xpad, kernel, stride, (1, 1), out_hw)
        y = view[:, :, 0, 0].copy()
        for i, j in _taps(kernel)[1:]:
            y += view[:, :, i, j]
        y /= divisor
        return y

    def backward(self, grad):
        return AvgPool2dBackward.apply(grad, x_shape=self.in_meta[0][0], **self.geom)


class AvgPool2dBackward(Function):
    """dx = col2im(dy / divisor broadcast over every tap);  d(dy) = avg_pool(ddx)"""

    def forward(self, grad, x_shape, kernel, stride, padding, out_hw, divisor):
        self.geom = dict(kernel=kernel, stride=stride, padding=padding, out_hw=out_hw,
                         divisor=divisor)
        xp = array_module(grad)
        g = grad / divisor
        cols = xp.broadcast_to(g[:, :, None, None], g.shape[:2] + tuple(kernel) + g.shape[2:])
        return _col2im(cols, x_shape, kernel, stride, padding, (1, 1))

    def backward(self, grad):
        return AvgPool2d.apply(grad, **self.geom)


# -- conv + bias + ReLU + 2x2 max-pool, fused --------------------------------------------------
# ReLU is monotone, so max_pool2(relu(z)) = relu(max_pool2(z)) exactly, and the ReLU (forward,
# mask and backward) and the bias gradient touch a quarter of the data. The bias rides in the
# conv's own output pass as it does unfused, so the pool compares the same biased values and
# picks the same taps (where a window's max is positive; where it is not, the gradient is zero
# either way); the output and the input and weight gradients equal the unfused path's.
# tl.backends.cpu.fuse_conv_relu_pool: nn.Sequential runs Conv2d, ReLU, MaxPool2d(2) as this op
_fusion = {"conv_relu_pool": True}


def get_fuse_conv_relu_pool() -> bool:
    return _fusion["conv_relu_pool"]


def set_fuse_conv_relu_pool(on) -> None:
    if not isinstance(on, bool):
        raise TypeError(f"fuse_conv_relu_pool: expected True or False, got {on!r}")
    _fusion["conv_relu_pool"] = on


def _pool2_scatter(g, tap, y_shape, nhwc: bool):
    """dz of max_pool2: g at each window's tap, zeros elsewhere (and in the floor mode's leftover
    last row or column); NCHW-shaped, channels-last in memory when `nhwc`."""
    xp = array_module(g)
    n, c, h, w = y_shape
    p, q = g.shape[2:]
    make = xp.zeros if (h, w) != (2 * p, 2 * q) else xp.empty
    dz = make((n, h, w, c), dtype=g.dtype).transpose(0, 3, 1, 2) if nhwc else \
        make((n, c, h, w), dtype=g.dtype)
    win = _windows(dz, (2, 2), (2, 2), (1, 1), (p, q))
    # g * hit is one pass where `where` is two, but 0 * inf would put NaN off the argmax
    finite = device_of(g) == "cpu" and bool(xp.isfinite(g.sum()))
    hit = xp.empty(tap.shape, dtype=bool)
    zero = xp.zeros((), dtype=g.dtype)
    for k, (i, j) in enumerate(_taps((2, 2))):
        xp.equal(tap, k, out=hit)
        if finite:
            xp.multiply(g, hit, out=win[:, :, i, j])
        else:
            win[:, :, i, j] = xp.where(hit, g, zero)
    return dz


class ConvBiasReluPool(Conv2d):
    """y = max_pool2d(relu(conv2d(x, w, b)), 2) computed as relu(max_pool2d(conv2d(x, w, b), 2))
    (exact; see above). backward: dz = the ReLU mask times dy on the pooled grid, db = its sum,
    the pool scatters it onto the conv's grid, and the conv's own backward takes it from there.

    The conv runs as Conv2d runs (im2col or Winograd, tl.backends.cpu.conv_algorithm); a
    channels-last conv output keeps its layout through the pool and the scatter. With no
    graph being built the backward works on the arrays; with create_graph it is the same sequence
    of differentiable ops (Mul, MaxPool2dBackward, the conv's Functions). The composed reference
    is conv_bias_relu_pool_reference.
    """

    def forward(self, x, w, b=None, *, stride, padding, dilation, groups):
        y = Conv2d.forward(self, x, w, b, stride=stride, padding=padding, dilation=dilation,
                           groups=groups)
        z, tap = max_pool_taps(y, (2, 2), (2, 2), (0, 0, 0, 0), (1, 1),
                               (y.shape[2] // 2, y.shape[3] // 2))
        out, mask = relu_array(z), ~(z <= 0)
        # Conv2d.forward saved (x, w) for the conv's gradients; the pool's taps and the ReLU's
        # mask join them, saved so the engine frees them once backward has run
        need_x, need_w = self.needs_input_grad[:2]
        self.save_for_backward(x if need_w else None, w if need_x else None, tap, mask)
        self.y_shape = y.shape
        self.nhwc = y.strides[1] < y.strides[3]     # Winograd's output is channels-last
        return out

    def backward(self, grad):
        x, w, tap, mask = self.saved_tensors
        need_b = self.needs_input_grad[2]
        db = None
        if not state.grad_enabled:      # no graph to build: the pool and ReLU parts on arrays
            g = grad._data * mask._data
            if need_b:
                db = constant(g.sum(axis=(0, 2, 3)))
            dz = constant(_pool2_scatter(g, tap._data, self.y_shape, self.nhwc))
        else:
            g = Mul.apply(grad, mask)
            if need_b:
                db = g.sum((0, 2, 3))
            dz = MaxPool2dBackward.apply(g, x_shape=self.y_shape, kernel=(2, 2), stride=(2, 2),
                                         padding=(0, 0, 0, 0), dilation=(1, 1), tap=tap._data)
        dx, dw = self.input_grads(dz, x, w)
        return dx, dw, db


def conv_bias_relu_pool_reference(x, w, b, stride, padding, dilation, groups):
    """The composed oracle for ConvBiasReluPool: conv2d with bias, ReLU, 2x2 max-pool, each its
    own op (Tensors in, padding as (top, bottom, left, right))."""
    y = Conv2d.apply(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    y = y.relu()
    taps_y, tap = max_pool_taps(y._data, (2, 2), (2, 2), (0, 0, 0, 0), (1, 1),
                                (y.shape[2] // 2, y.shape[3] // 2))
    return MaxPool2d.apply(y, kernel=(2, 2), stride=(2, 2), padding=(0, 0, 0, 0),
                           dilation=(1, 1), tap=tap, y=taps_y)
