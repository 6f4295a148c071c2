"""torch.nn.functional's pooling: max, average and adaptive, 1-d and 2-d.

Computed as 2-D over NCHW, as the convolutions are (see convolution.py).
"""
from __future__ import annotations

from typing import Optional

import numpy as np


from ...backend import array_module
from ...ops import conv as K
from ...functions.indexing import gather, stack
from ...tensor import Tensor, _const
from ._utils import _IntOr, _as_2d, _from_2d, _ints, _lift, _shape_dtype, _tensor, _tensor_args
from ...dtypes import is_floating

__all__ = ["max_pool2d", "max_pool1d", "avg_pool2d", "avg_pool1d", "adaptive_avg_pool2d",
           "adaptive_avg_pool1d", "adaptive_max_pool2d", "adaptive_max_pool1d", "max_pool3d",
           "avg_pool3d"]


# -- pooling ---------------------------------------------------------------------------------------
def _pool_geometry(op, nd, x, kernel_size, stride, padding, dilation, ceil_mode):
    kernel = _ints(kernel_size, nd, "kernel_size", op, 1)
    stride = kernel if stride is None or stride == [] or stride == () else \
        _ints(stride, nd, "stride", op, 1)
    padding = _ints(padding, nd, "padding", op, 0)
    dilation = _ints(dilation, nd, "dilation", op, 1)
    for k, p in zip(kernel, padding):
        if p > k // 2:
            raise ValueError(f"{op}: padding {padding} must be at most half of kernel_size "
                             f"{kernel}")
    out = tuple(K.out_size(n, k, s, p, p, d, ceil_mode) for n, k, s, p, d in
                zip(x.shape[-nd:], kernel, stride, padding, dilation))
    if min(out) < 1:
        raise RuntimeError(f"{op}: input {_shape_dtype(x)} is too small for kernel_size {kernel}, "
                           f"stride {stride}, padding {padding}, dilation {dilation} "
                           f"(output size {out})")
    kernel, stride, dilation = _lift(kernel, nd, 1), _lift(stride, nd, 1), _lift(dilation, nd, 1)
    padding, out = _lift(padding, nd, 0), _lift(out, nd, 1)
    pads = (padding[0], padding[0], padding[1], padding[1])
    return kernel, stride, pads, dilation, out


def _max_pool(op, nd, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    batched = _tensor_args(op, nd, x)
    kernel, stride, pads, dilation, out = _pool_geometry(op, nd, x, kernel_size, stride,
                                                         padding, dilation, ceil_mode)
    x2 = _as_2d(x, nd, batched)
    y, tap = K.max_pool_taps(x2._data, kernel, stride, pads, dilation, out)
    yt = _from_2d(K.MaxPool2d.apply(x2, kernel=kernel, stride=stride, padding=pads,
                                    dilation=dilation, tap=tap, y=y), nd, batched)
    if not return_indices:
        return yt
    idx = K.max_pool_indices(tap, x2.shape[2:], kernel, stride, pads, dilation)
    return yt, _from_2d(_const(idx), nd, batched)


def max_pool2d(input: Tensor, kernel_size: _IntOr, stride: Optional[_IntOr] = None,
               padding: _IntOr = 0, dilation: _IntOr = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """y[n,c,p,q] = max of the (dilated) window; padding counts as -inf."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool1d(input: Tensor, kernel_size: _IntOr, stride: Optional[_IntOr] = None,
               padding: _IntOr = 0, dilation: _IntOr = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """max_pool2d over (N, C, L)."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def _avg_pool(op, nd, x, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override) -> Tensor:
    batched = _tensor_args(op, nd, x)
    kernel, stride, pads, _, out = _pool_geometry(op, nd, x, kernel_size, stride, padding, 1,
                                                  ceil_mode)
    x2 = _as_2d(x, nd, batched)
    hw = x2.shape[2:]
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override, int) \
                or divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must be a nonzero int, got "
                             f"{divisor_override!r}")
        divisor = float(divisor_override)
    elif not any(pads) and all((o - 1) * s + k <= n for o, s, k, n in
                               zip(out, stride, kernel, hw)):
        divisor = float(kernel[0] * kernel[1])      # every window is whole
    else:
        divisor = K.avg_pool_divisor(array_module(x._data), hw, kernel, stride, pads, out,
                                     count_include_pad, x.dtype)
    y = K.AvgPool2d.apply(x2, kernel=kernel, stride=stride, padding=pads, out_hw=out,
                          divisor=divisor)
    return _from_2d(y, nd, batched)


def avg_pool2d(input: Tensor, kernel_size: _IntOr, stride: Optional[_IntOr] = None,
               padding: _IntOr = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: Optional[int] = None) -> Tensor:
    """y[n,c,p,q] = sum of the window / (window size, counted as torch counts it)."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool1d(input: Tensor, kernel_size: _IntOr, stride: Optional[_IntOr] = None,
               padding: _IntOr = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """avg_pool2d over (N, C, L)."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


# -- adaptive pooling ------------------------------------------------------------------------------
def _adaptive_sizes(op, nd, x, output_size) -> tuple:
    if isinstance(output_size, (tuple, list)) and len(output_size) == nd:
        sizes = tuple(n if o is None else o for o, n in zip(output_size, x.shape[-nd:]))
    else:
        sizes = output_size
    out = _ints(sizes, nd, "output_size", op, 1)
    if 0 in x.shape[-nd:]:
        raise ValueError(f"{op}: input {_shape_dtype(x)} has an empty spatial dimension; the last "
                         f"{nd} sizes must be non-zero")
    return out


def _bounds(size: int, out: int):
    """torch's adaptive windows: [floor(i*size/out), ceil((i+1)*size/out))."""
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def _adaptive_avg(op, nd, x, output_size) -> Tensor:
    batched = _tensor_args(op, nd, x)
    out = _lift(_adaptive_sizes(op, nd, x, output_size), nd, 1)
    x2 = _as_2d(x, nd, batched)
    hw = x2.shape[2:]
    if hw[0] % out[0] == 0 and hw[1] % out[1] == 0:
        kernel = (hw[0] // out[0], hw[1] // out[1])
        y = K.AvgPool2d.apply(x2, kernel=kernel, stride=kernel, padding=(0, 0, 0, 0),
                              out_hw=out, divisor=float(kernel[0] * kernel[1]))
        return _from_2d(y, nd, batched)
    # uneven windows: separable averaging matrices, y = A_h @ x @ A_w^T
    xp = array_module(x._data)
    mats = []
    for n, o in zip(hw, out):
        a = xp.zeros((o, n), dtype=x.dtype)
        for i, (lo, hi) in enumerate(_bounds(n, o)):
            a[i, lo:hi] = 1.0 / (hi - lo)
        mats.append(_const(a))
    y = mats[0] @ (x2 @ mats[1].T)
    return _from_2d(y, nd, batched)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """y[n,c,i,j] = mean of x over rows [floor(iH/Ho), ceil((i+1)H/Ho)) and likewise columns."""
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """adaptive_avg_pool2d over (N, C, L)."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def _adaptive_max(op, nd, x, output_size, return_indices):
    batched = _tensor_args(op, nd, x)
    out = _lift(_adaptive_sizes(op, nd, x, output_size), nd, 1)
    x2 = _as_2d(x, nd, batched)
    hw = x2.shape[2:]
    if hw[0] % out[0] == 0 and hw[1] % out[1] == 0:
        kernel = (hw[0] // out[0], hw[1] // out[1])
        y = _max_pool(op, 2, x2, kernel, kernel, 0, 1, False, return_indices)
        if return_indices:
            return _from_2d(y[0], nd, batched), _from_2d(y[1], nd, batched)
        return _from_2d(y, nd, batched)
    # uneven windows: gather each window's candidates (short windows repeat their last
    # position, which cannot change the max or the first argmax), argmax, then gather the values
    xp = array_module(x._data)
    idx = []
    for n, o in zip(hw, out):
        b = _bounds(n, o)
        width = max(hi - lo for lo, hi in b)
        idx.append(xp.asarray([[min(lo + t, hi - 1) for t in range(width)] for lo, hi in b]))
    rows, cols = idx
    lh, lw = rows.shape[1], cols.shape[1]
    cand = x2._data[:, :, rows[:, None, :, None], cols[None, :, None, :]]
    cand = cand.reshape(cand.shape[:4] + (lh * lw,))
    tap = cand.argmax(-1)
    if is_floating(x.dtype):
        # torch lets the last NaN of a window win
        nan = xp.isnan(cand)
        last_nan = lh * lw - 1 - nan[..., ::-1].argmax(-1)
        tap = xp.where(nan.any(-1), last_nan, tap)
    oh, ow = xp.arange(out[0])[:, None], xp.arange(out[1])[None, :]
    flat = rows[oh, tap // lw] * hw[1] + cols[ow, tap % lw]
    n_, c_ = x2.shape[:2]
    y = gather(x2.reshape(n_, c_, -1), 2, _const(flat.reshape(n_, c_, -1)))
    y = _from_2d(y.reshape(n_, c_, out[0], out[1]), nd, batched)
    if return_indices:
        return y, _from_2d(_const(flat), nd, batched)
    return y


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """y[n,c,i,j] = max of x over rows [floor(iH/Ho), ceil((i+1)H/Ho)) and likewise columns."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """adaptive_max_pool2d over (N, C, L)."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


# -- 3-d pooling, composed from the 2-d pools over the depth taps ---------------------------------
def _pool3d_args(op, input, kernel_size, stride, padding, dilation, ceil_mode):
    x = _tensor(input, op)
    if x.ndim not in (4, 5):
        raise ValueError(f"{op}: expected (N, C, D, H, W) or (C, D, H, W), got {_shape_dtype(x)}")
    kernel = _ints(kernel_size, 3, "kernel_size", op, 1)
    stride = kernel if stride is None or stride == [] else _ints(stride, 3, "stride", op, 1)
    padding = _ints(padding, 3, "padding", op, 0)
    dilation = _ints(dilation, 3, "dilation", op, 1)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel {kernel}")
    x5 = x if x.ndim == 5 else x.unsqueeze(0)
    return x, x5, kernel, stride, padding, dilation


def _depth_taps(x5, kernel, stride, padding, dilation, fill, op, ceil_mode=False):
    """For each depth tap of the kernel: the planes it reads for every output plane, as
    (N, C * D_out, H, W), with depth padded by fill (and past the end for ceil_mode)."""
    from .vision import pad       # noqa: PLC0415
    d_in, p, k, s, dl = x5.shape[2], padding[0], kernel[0], stride[0], dilation[0]
    span = d_in + 2 * p - dl * (k - 1) - 1
    d_out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (d_out - 1) * s >= d_in + p:     # the last window must start inside
        d_out -= 1
    extra = max(0, (d_out - 1) * s + dl * (k - 1) + 1 - (d_in + 2 * p))
    if p or extra:
        x5 = pad(x5, [0, 0, 0, 0, p, p + extra], value=fill)
    n, c = x5.shape[:2]
    if d_out < 1:
        raise RuntimeError(f"{op}: input depth {d_in} (padded) is smaller than the kernel "
                           f"{kernel} with dilation {dilation}")
    for i in range(kernel[0]):
        start = i * dilation[0]
        planes = x5[:, :, start:start + stride[0] * (d_out - 1) + 1:stride[0]]
        yield planes.reshape(n, c * d_out, *x5.shape[3:]), (n, c, d_out)


def max_pool3d(input: Tensor, kernel_size: _IntOr, stride: Optional[_IntOr] = None,
               padding: _IntOr = 0, dilation: _IntOr = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    """y[n,c,d,p,q] = max of the (dilated) 3-d window; padding counts as -inf. The max is
    separable: a 2-d max per depth tap, then the max over the taps (the first one wins a tie,
    as torch's scan order)."""
    op = "max_pool3d"
    x, x5, kernel, stride, padding, dilation = _pool3d_args(op, input, kernel_size, stride,
                                                            padding, dilation, ceil_mode)
    taps, where_hw = [], []
    for planes, (n, c, d_out) in _depth_taps(x5, kernel, stride, padding, dilation,
                                             -float("inf"), op, ceil_mode):
        y, idx = max_pool2d(planes, kernel[1:], stride[1:], padding[1:], dilation[1:],
                            ceil_mode, return_indices=True)
        taps.append(y.reshape(n, c, d_out, *y.shape[2:]))
        where_hw.append(idx._data.reshape(taps[-1].shape))
    best = stack(taps, -1).max(-1)
    out = best.values if x.ndim == 5 else best.values.squeeze(0)
    if not return_indices:
        return out
    # the flat (d, h, w) index of each winner: its tap's depth plane and that tap's (h, w)
    xp = array_module(x5._data)
    which = best.indices._data
    hw = xp.take_along_axis(xp.stack(where_hw, -1), which[..., None], -1)[..., 0]
    depth = (xp.arange(which.shape[2]) * stride[0] - padding[0]).reshape(1, 1, -1, 1, 1) + \
        which * dilation[0]
    flat = _const((depth * (x5.shape[3] * x5.shape[4]) + hw).astype(np.int64))
    return out, (flat if x.ndim == 5 else flat.squeeze(0))


def avg_pool3d(input: Tensor, kernel_size: _IntOr, stride: Optional[_IntOr] = None,
               padding: _IntOr = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: Optional[int] = None) -> Tensor:
    """y[n,c,d,p,q] = sum of the 3-d window / (its size, or the count of real entries when
    count_include_pad=False, or divisor_override)."""
    op = "avg_pool3d"
    x, x5, kernel, stride, padding, _ = _pool3d_args(op, input, kernel_size, stride, padding,
                                                     1, ceil_mode)

    def window_sums(t):
        total = None
        for planes, (n, c, d_out) in _depth_taps(t, kernel, stride, padding, (1, 1, 1), 0.0,
                                                 op, ceil_mode):
            if ceil_mode:       # the last windows are clipped: sum them as they are
                y = avg_pool2d(planes, kernel[1:], stride[1:], padding[1:], True,
                               divisor_override=1)
            else:               # the plain form (which ONNX export knows) times the window
                y = avg_pool2d(planes, kernel[1:], stride[1:], padding[1:]) * (
                    kernel[1] * kernel[2])
            y = y.reshape(n, c, d_out, *y.shape[2:])
            total = y if total is None else total + y
        return total
    sums = window_sums(x5)
    if divisor_override is not None:
        out = sums / divisor_override
    elif count_include_pad:      # the window clipped to the padded input (ceil_mode's last)
        counts = 1
        for axis, (size, k, st, p) in enumerate(zip(x5.shape[2:], kernel, stride, padding)):
            starts = np.arange(sums.shape[2 + axis]) * st - p
            n_in = np.minimum(starts + k, size + p) - starts
            counts = np.multiply.outer(counts, n_in) if axis else n_in
        out = sums / _const(array_module(x5._data).asarray(counts.astype(x5.dtype)))
    else:
        ones = _const(array_module(x5._data).ones((1, 1) + tuple(x5.shape[2:]), x5.dtype))
        out = sums / window_sums(ones)
    return out if x.ndim == 5 else out.squeeze(0)