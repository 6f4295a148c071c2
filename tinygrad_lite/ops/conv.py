"""Convolution and pooling over NCHW arrays: one GEMM over strided windows, no loops over pixels.

The forward takes the (N, C, R, S, P, Q) window view of the padded input (as_strided, no copy),
copies it once into columns and contracts them with the weight in one batched matmul whose batch
axes are (N, groups), so the output is NCHW with no transpose. The data gradient is that matmul
transposed followed by col2im, a loop over the R*S kernel taps; the weight gradient is one GEMM
between the columns and the output gradient. The three passes are Functions that differentiate
into each other, so create_graph=True works to any order.

Padding is (top, bottom, left, right) so that "same" with an even kernel can pad unevenly.
Parameters reaching this module are already checked and normalised by nn/fn_conv.py.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import array_module, device_of

# The forward keeps its columns for the weight gradient when they are at most this big;
# recomputing them costs one im2col copy, keeping them costs R*S times the input's memory.
CACHE_COLUMNS_BYTES = 1 << 28


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


def _conv_data(dy, w, x_shape, stride, padding, dilation, groups):
    """dx = col2im(w^T dy); for stride 1, on a flat canvas so each tap adds one long run.

    dy is widened with zero columns to the padded width Wp; then tap (i, j) of output (p, q)
    lands at flat offset (p + i*dh)*Wp + q + j*dw, so one tap's contribution to a (n, c) plane is
    the contiguous run [i*dh*Wp + j*dw, ... + P*Wp). The widened columns carry zeros, so
    whatever they overlap is unharmed.
    """
    if tuple(stride) != (1, 1):
        return _conv_data_strided(dy, w, x_shape, stride, padding, dilation, groups)
    xp = array_module(dy)
    n, kout, p, q = dy.shape
    c, h, wd = x_shape[1:]
    _, cg, kh, kw = w.shape
    kg = kout // groups
    dh, dw = dilation
    t, b, l, r = padding
    hp, wp = max(h + t + b, p + dh * (kh - 1)), max(wd + l + r, q + dw * (kw - 1))
    dyw = xp.zeros((n, groups, kg, p, wp), dtype=dy.dtype)
    dyw[..., :q] = dy.reshape(n, groups, kg, p, q)
    wt = xp.ascontiguousarray(w.reshape(groups, kg, cg * kh * kw).transpose(0, 2, 1))
    cols = xp.matmul(wt, dyw.reshape(n, groups, kg, p * wp)).reshape(n, c, kh, kw, p * wp)
    canvas = xp.zeros((n, c, hp * wp + dw * (kw - 1)), dtype=dy.dtype)
    run = p * wp
    for i in range(kh):
        for j in range(kw):
            off = i * dh * wp + j * dw
            canvas[:, :, off:off + run] += cols[:, :, i, j]
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


def _geom(stride, padding, dilation, groups) -> dict:
    return dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


class Conv2d(Function):
    """y[n,k,p,q] = sum_{c,r,s} w[k,c,r,s] x[n,c,p*sh+r*dh-pt,q*sw+s*dw-pl];  dx, dw: convs"""

    def forward(self, x, w, stride, padding, dilation, groups, out_hw=None):
        if device_of(x) == "cuda" and (k := _cuda_kernels(
                "conv2d_forward", x.shape, w.shape, x.dtype, stride, padding, dilation, groups,
                out_hw)) is not None:
            self.geom, self.cols = _geom(stride, padding, dilation, groups), None
            self.save_for_backward(x, w)
            return k.conv2d_forward(x, w, stride, padding[::2], dilation, groups)
        xp = array_module(x)
        n, kout = x.shape[0], w.shape[0]
        p, q = out_hw or _conv_out_hw(x.shape, w.shape, stride, padding, dilation)
        cols = _columns(x, w.shape[2:], stride, padding, dilation, groups, (p, q))
        y = xp.matmul(w.reshape(groups, kout // groups, -1), cols)
        self.geom = _geom(stride, padding, dilation, groups)
        keep = self.needs_input_grad[1] and cols.nbytes <= CACHE_COLUMNS_BYTES
        self.cols = cols if keep else None
        self.save_for_backward(x if self.needs_input_grad[1] else None,
                               w if self.needs_input_grad[0] else None)
        y = y.reshape(kout, n, p * q).transpose(1, 0, 2)
        return xp.ascontiguousarray(y).reshape(n, kout, p, q)

    def backward(self, grad):
        x, w = self.saved_tensors
        need_x, need_w = self.needs_input_grad[:2]
        dx = dw = None
        if need_x:
            dx = Conv2dData.apply(grad, w, x_shape=self.in_meta[0][0], **self.geom)
        if need_w:
            dw = Conv2dWeight.apply(x, grad, w_shape=self.in_meta[1][0], **self.geom,
                                    cols=self.cols)
        return dx, dw


class Conv2dData(Function):
    """dx = conv2d's data gradient (= conv_transpose2d(dy, w)): col2im(w^T @ dy);  linear in both"""

    def forward(self, dy, w, stride, padding, dilation, groups, x_shape):
        self.geom = _geom(stride, padding, dilation, groups)
        self.save_for_backward(dy if self.needs_input_grad[1] else None,
                               w if self.needs_input_grad[0] else None)
        if device_of(dy) == "cuda" and (k := _cuda_kernels(
                "conv2d_backward_data", x_shape, w.shape, dy.dtype, stride, padding, dilation,
                groups, dy.shape[2:])) is not None:
            return k.conv2d_backward_data(dy, w, x_shape, stride, padding[::2], dilation, groups)
        return _conv_data(dy, w, x_shape, stride, padding, dilation, groups)

    def backward(self, grad):
        dy, w = self.saved_tensors
        need_dy, need_w = self.needs_input_grad[:2]
        return (Conv2d.apply(grad, w, **self.geom, out_hw=tuple(self.in_meta[0][0][2:]))
                if need_dy else None,
                Conv2dWeight.apply(grad, dy, **self.geom, w_shape=self.in_meta[1][0])
                if need_w else None)


class Conv2dWeight(Function):
    """dw[k,c,r,s] = sum_{n,p,q} dy[n,k,p,q] x[n,c,p*sh+r*dh-pt,q*sw+s*dw-pl];  linear in both"""

    def forward(self, x, dy, stride, padding, dilation, groups, w_shape, cols=None):
        self.geom = _geom(stride, padding, dilation, groups)
        self.save_for_backward(x if self.needs_input_grad[1] else None,
                               dy if self.needs_input_grad[0] else None)
        if device_of(x) == "cuda" and (k := _cuda_kernels(
                "conv2d_backward_weight", x.shape, w_shape, x.dtype, stride, padding, dilation,
                groups, dy.shape[2:])) is not None:
            return k.conv2d_backward_weight(x, dy, w_shape, stride, padding[::2], dilation, groups)
        xp = array_module(x)
        n, kout, p, q = dy.shape
        kg = kout // groups
        if cols is None:
            cols = _columns(x, w_shape[2:], stride, padding, dilation, groups, (p, q))
        dyt = dy.reshape(n, groups, kg, p * q).transpose(1, 2, 0, 3)
        dyt = xp.ascontiguousarray(dyt).reshape(groups, kg, n * p * q)
        if groups == 1:     # a plain 2-D GEMM lets BLAS read the columns transposed in place
            return xp.matmul(dyt[0], cols[0].T).reshape(w_shape)
        return xp.matmul(dyt, cols.transpose(0, 2, 1)).reshape(w_shape)

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
        return array_module(x).ascontiguousarray(view).reshape(x.shape[0], -1, p * q)

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


def max_pool_taps(x, kernel, stride, padding, dilation, out_hw):
    """(y, taps): each window's max (NaN wins) and its kernel tap i*kw + j, the first on ties.

    The input is padded with -inf, so padding never wins; torch's ceil_mode rule keeps every
    window partly inside the input.
    """
    xp = array_module(x)
    kh, kw = kernel
    xpad = _padded(x, padding, _span(out_hw[0], kh, stride[0], dilation[0]),
                   _span(out_hw[1], kw, stride[1], dilation[1]), value=-float("inf"))
    view = _windows(xpad, kernel, stride, dilation, out_hw)
    taps = _taps(kernel)
    y = view[:, :, 0, 0].copy()
    for i, j in taps[1:]:
        xp.maximum(y, view[:, :, i, j], out=y)
    kind = xp.int8 if len(taps) < 128 else xp.int32
    tap = xp.zeros(y.shape, dtype=kind)
    # walking the taps backwards leaves the first one that attains the max
    for t in range(len(taps) - 1, -1, -1):
        i, j = taps[t]
        tap[view[:, :, i, j] == y] = t
    if x.dtype.kind == "f":
        nan = xp.isnan(y)
        if nan.any():
            # torch keeps the last NaN of a window
            tap[nan] = 0
            for t, (i, j) in enumerate(taps[1:], 1):
                tap[nan & xp.isnan(view[:, :, i, j])] = t
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
        self.tap = tap
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
        return MaxPool2dBackward.apply(grad, x_shape=self.in_meta[0][0], tap=self.tap, **self.geom)


class MaxPool2dBackward(Function):
    """dx = zeros with dy added at each window's argmax;  d(dy) = gather at the same taps"""

    def forward(self, grad, x_shape, kernel, stride, padding, dilation, tap):
        self.geom = dict(kernel=kernel, stride=stride, padding=padding, dilation=dilation)
        self.tap = tap
        xp = array_module(grad)
        zero = xp.zeros((), dtype=grad.dtype)
        taps = _taps(kernel)
        cols = xp.empty(grad.shape[:2] + tuple(kernel) + grad.shape[2:], dtype=grad.dtype)
        for t, (i, j) in enumerate(taps):
            cols[:, :, i, j] = xp.where(tap == t, grad, zero)
        return _col2im(cols, x_shape, kernel, stride, padding, dilation)

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
