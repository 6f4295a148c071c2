"""torch.nn.functional's convolution and pooling: argument checks, then the ops in ops/conv.py.

Everything is computed as 2-D over NCHW; the 1-D forms add a height-1 axis and unbatched inputs
a batch of one, so the checks here are the only place that knows about either.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

from ...backend import array_module
from ...ops import conv as K
from ...ops.movement import gather
from ...tensor import Tensor, _const

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "max_pool1d",
           "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "unfold", "fold"]

_IntOr = Union[int, Sequence[int]]


# -- argument checks -------------------------------------------------------------------------------
def _desc(t: Tensor) -> str:
    return f"{tuple(t.shape)} {t.dtype}"


def _ints(v, n: int, name: str, op: str, low: int) -> tuple:
    """An int or a length-n sequence of ints, each >= low, as an n-tuple."""
    if isinstance(v, bool) or not isinstance(v, (int, tuple, list)) and not hasattr(v, "__index__"):
        raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v!r}")
    vals = (v,) * n if not isinstance(v, (tuple, list)) else tuple(v)
    if len(vals) == 1 and n > 1:
        vals = vals * n
    try:
        vals = tuple(int(a.__index__()) for a in vals)
    except (AttributeError, TypeError):
        raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v!r}") from None
    if len(vals) != n:
        raise ValueError(f"{op}: {name} must have {n} values, got {v!r}")
    if min(vals) < low:
        raise ValueError(f"{op}: {name} must be >= {low}, got {v!r}")
    return vals


def _tensor_args(op: str, nd: int, x, w=None, bias=None) -> bool:
    """Check types, ranks, dtypes and devices; return whether x carries a batch axis."""
    for name, t in (("input", x), ("weight", w), ("bias", bias)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, "
                         f"got {_desc(x)}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input {_desc(x)} must be a floating-point tensor")
    others = [t for t in (w, bias) if t is not None]
    for t in others:
        if t.dtype != x.dtype or t.device != x.device:
            desc = ", ".join(f"{_desc(t)} on {t.device}" for t in [x] + others)
            raise TypeError(f"{op}: input, weight and bias must share one dtype and device, "
                            f"got {desc}")
    if w is not None and w.ndim != nd + 2:
        raise ValueError(f"{op}: weight must be {nd + 2}-D, got {_desc(w)}")
    return x.ndim == nd + 2


def _as_2d(x: Tensor, nd: int, batched: bool) -> Tensor:
    if not batched:
        x = x.unsqueeze(0)
    return x.unsqueeze(2) if nd == 1 else x


def _from_2d(y: Tensor, nd: int, batched: bool) -> Tensor:
    if nd == 1:
        y = y.squeeze(2)
    return y if batched else y.squeeze(0)


def _lift(vals: tuple, nd: int, fill: int) -> tuple:
    """A 1-D parameter as the 2-D one with a trivial height axis."""
    return (fill,) + vals if nd == 1 else vals


def _conv_pads(op, padding, kernel, stride, dilation) -> tuple:
    """Per-axis (lo, hi) padding from an int, a tuple, "valid" or "same" (extra goes high)."""
    nd = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding != "same":
            raise ValueError(f"{op}: padding must be an int, a tuple, 'valid' or 'same', "
                             f"got {padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                             f"(stride={stride})")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    return tuple((p, p) for p in _ints(padding, nd, "padding", op, 0))


# -- convolution -----------------------------------------------------------------------------------
def _conv(op: str, nd: int, x, w, bias, stride, padding, dilation, groups) -> Tensor:
    batched = _tensor_args(op, nd, x, w, bias)
    stride = _ints(stride, nd, "stride", op, 1)
    dilation = _ints(dilation, nd, "dilation", op, 1)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    c, k = x.shape[1 if batched else 0], w.shape[0]
    if k % groups:
        raise ValueError(f"{op}: weight {_desc(w)} has {k} output channels, not divisible by "
                         f"groups={groups}")
    if c != w.shape[1] * groups:
        raise ValueError(f"{op}: input {_desc(x)} has {c} channels but weight {_desc(w)} expects "
                         f"{w.shape[1] * groups} (groups={groups})")
    if bias is not None and tuple(bias.shape) != (k,):
        raise ValueError(f"{op}: bias {_desc(bias)} must have shape ({k},) to match weight "
                         f"{_desc(w)}")
    kernel = tuple(w.shape[2:])
    pads = _conv_pads(op, padding, kernel, stride, dilation)
    size = x.shape[-nd:]
    for n, kk, s, (lo, hi), d in zip(size, kernel, stride, pads, dilation):
        if K.out_size(n, kk, s, lo, hi, d) < 1:
            raise RuntimeError(f"{op}: input {_desc(x)} padded by {pads} is smaller than the "
                               f"kernel {kernel} with dilation {dilation}")
    pads = ((0, 0),) + pads if nd == 1 else pads
    y = K.Conv2d.apply(_as_2d(x, nd, batched), w.unsqueeze(2) if nd == 1 else w, bias,
                       stride=_lift(stride, nd, 1), padding=pads[0] + pads[1],
                       dilation=_lift(dilation, nd, 1), groups=groups)
    return _from_2d(y, nd, batched)


def conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: _IntOr = 1,
           padding: Union[_IntOr, str] = 0, dilation: _IntOr = 1, groups: int = 1) -> Tensor:
    """y[n,k] = bias[k] + sum_c weight[k,c] (star) input[n,c] (cross-correlation), NCHW."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: _IntOr = 1,
           padding: Union[_IntOr, str] = 0, dilation: _IntOr = 1, groups: int = 1) -> Tensor:
    """conv2d over (N, C, L) with a height-1 kernel."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(op, nd, x, w, bias, stride, padding, output_padding, groups,
                    dilation) -> Tensor:
    batched = _tensor_args(op, nd, x, w, bias)
    stride = _ints(stride, nd, "stride", op, 1)
    dilation = _ints(dilation, nd, "dilation", op, 1)
    padding = _ints(padding, nd, "padding", op, 0)
    output_padding = _ints(output_padding, nd, "output_padding", op, 0)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    c = x.shape[1 if batched else 0]
    if c != w.shape[0] or c % groups:
        raise ValueError(f"{op}: input {_desc(x)} has {c} channels but weight {_desc(w)} expects "
                         f"{w.shape[0]} (divisible by groups={groups})")
    k = w.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (k,):
        raise ValueError(f"{op}: bias {_desc(bias)} must have shape ({k},) to match weight "
                         f"{_desc(w)} with groups={groups}")
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ >= max(s, d):
            raise ValueError(f"{op}: output_padding {output_padding} must be smaller than either "
                             f"stride {stride} or dilation {dilation}")
    kernel = tuple(w.shape[2:])
    out = tuple((n - 1) * s - 2 * p + d * (kk - 1) + o + 1 for n, s, p, d, kk, o in
                zip(x.shape[-nd:], stride, padding, dilation, kernel, output_padding))
    if min(out) < 1:
        raise RuntimeError(f"{op}: input {_desc(x)} with weight {_desc(w)}, stride {stride}, "
                           f"padding {padding} gives an empty output {out}")
    x2 = _as_2d(x, nd, batched)
    out2 = _lift(out, nd, 1)
    p2 = _lift(padding, nd, 0)
    y = K.Conv2dData.apply(x2, w.unsqueeze(2) if nd == 1 else w, stride=_lift(stride, nd, 1),
                           padding=(p2[0], p2[0], p2[1], p2[1]), dilation=_lift(dilation, nd, 1),
                           groups=groups, x_shape=(x2.shape[0], k) + out2)
    if bias is not None:
        y = y + bias.reshape(1, k, 1, 1)
    return _from_2d(y, nd, batched)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
                     stride: _IntOr = 1, padding: _IntOr = 0, output_padding: _IntOr = 0,
                     groups: int = 1, dilation: _IntOr = 1) -> Tensor:
    """The adjoint of conv2d in its input: weight (C_in, C_out/groups, kH, kW)."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
                     stride: _IntOr = 1, padding: _IntOr = 0, output_padding: _IntOr = 0,
                     groups: int = 1, dilation: _IntOr = 1) -> Tensor:
    """conv_transpose2d over (N, C, L) with a height-1 kernel."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


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
        raise RuntimeError(f"{op}: input {_desc(x)} is too small for kernel_size {kernel}, "
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
        raise ValueError(f"{op}: input {_desc(x)} has an empty spatial dimension; the last {nd} "
                         "sizes must be non-zero")
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
    if x.dtype.kind == "f":
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


# -- unfold / fold ---------------------------------------------------------------------------------
def unfold(input: Tensor, kernel_size: _IntOr, dilation: _IntOr = 1, padding: _IntOr = 0,
           stride: _IntOr = 1) -> Tensor:
    """im2col: (N, C, H, W) -> (N, C*kH*kW, L), the sliding windows as columns."""
    batched = _tensor_args("unfold", 2, input)
    kernel = _ints(kernel_size, 2, "kernel_size", "unfold", 1)
    dilation = _ints(dilation, 2, "dilation", "unfold", 1)
    padding = _ints(padding, 2, "padding", "unfold", 0)
    stride = _ints(stride, 2, "stride", "unfold", 1)
    pads = (padding[0], padding[0], padding[1], padding[1])
    x2 = _as_2d(input, 2, batched)
    if min(K._conv_out_hw(x2.shape, (1, 1) + kernel, stride, pads, dilation)) < 1:
        raise RuntimeError(f"unfold: input {_desc(input)} is too small for kernel_size {kernel} "
                           f"with padding {padding} and dilation {dilation}")
    y = K.Unfold.apply(x2, kernel=kernel, stride=stride, padding=pads, dilation=dilation)
    return y if batched else y.squeeze(0)


def fold(input: Tensor, output_size: _IntOr, kernel_size: _IntOr, dilation: _IntOr = 1,
         padding: _IntOr = 0, stride: _IntOr = 1) -> Tensor:
    """col2im: (N, C*kH*kW, L) -> (N, C, H, W), summing overlapping windows."""
    if not isinstance(input, Tensor):
        raise TypeError(f"fold: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (2, 3):
        raise ValueError(f"fold: expected a 2-D (unbatched) or 3-D input, got {_desc(input)}")
    out = _ints(output_size, 2, "output_size", "fold", 1)
    kernel = _ints(kernel_size, 2, "kernel_size", "fold", 1)
    dilation = _ints(dilation, 2, "dilation", "fold", 1)
    padding = _ints(padding, 2, "padding", "fold", 0)
    stride = _ints(stride, 2, "stride", "fold", 1)
    pads = (padding[0], padding[0], padding[1], padding[1])
    x = input if input.ndim == 3 else input.unsqueeze(0)
    pq = K._conv_out_hw((1, 1) + out, (1, 1) + kernel, stride, pads, dilation)
    kk = kernel[0] * kernel[1]
    if x.shape[1] % kk or x.shape[2] != pq[0] * pq[1]:
        raise RuntimeError(f"fold: input {_desc(input)} does not match kernel_size {kernel} and "
                           f"output_size {out}: expected (N, C*{kk}, {pq[0] * pq[1]})")
    y = K.Fold.apply(x, kernel=kernel, stride=stride, padding=pads, dilation=dilation,
                     out_hw=pq, x_hw=out)
    return y if input.ndim == 3 else y.squeeze(0)
