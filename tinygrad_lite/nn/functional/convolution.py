"""torch.nn.functional's convolution functions (conv1d/2d, conv_transpose1d/2d, unfold, fold):
argument checks, then the ops in ops/conv.py.

Everything is computed as 2-D over NCHW; the 1-D forms add a height-1 axis and unbatched inputs
a batch of one (the pools too, through _utils), so these checks are the only place that knows
about either.
"""
from __future__ import annotations

from typing import Optional, Union

from ..._checks import check_tensor
from ...autograd.autocast_mode import autocast_op
from ...autograd.grad_mode import state
from ...ops import conv as K
from ...tensor import Tensor
from ._utils import _as_2d, _from_2d, _IntOr, _ints, _lift, _shape_dtype, _tensor_args

__all__ = ["conv2d", "conv1d", "conv_transpose2d", "conv_transpose1d", "unfold", "fold",
           "conv3d"]


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
def _conv(op: str, nd: int, x, w, bias, stride, padding, dilation, groups,
          fn=K.Conv2d) -> Tensor:
    batched = _tensor_args(op, nd, x, w, bias)
    stride = _ints(stride, nd, "stride", op, 1)
    dilation = _ints(dilation, nd, "dilation", op, 1)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    c, k = x.shape[1 if batched else 0], w.shape[0]
    if k % groups:
        raise ValueError(f"{op}: weight {_shape_dtype(w)} has {k} output channels, not divisible "
                         f"by groups={groups}")
    if c != w.shape[1] * groups:
        raise ValueError(f"{op}: input {_shape_dtype(x)} has {c} channels but weight "
                         f"{_shape_dtype(w)} expects {w.shape[1] * groups} (groups={groups})")
    if bias is not None and tuple(bias.shape) != (k,):
        raise ValueError(f"{op}: bias {_shape_dtype(bias)} must have shape ({k},) to match weight "
                         f"{_shape_dtype(w)}")
    kernel = tuple(w.shape[2:])
    pads = _conv_pads(op, padding, kernel, stride, dilation)
    size = x.shape[-nd:]
    for n, kk, s, (lo, hi), d in zip(size, kernel, stride, pads, dilation):
        if K.out_size(n, kk, s, lo, hi, d) < 1:
            raise RuntimeError(f"{op}: input {_shape_dtype(x)} padded by {pads} is smaller than "
                               f"the kernel {kernel} with dilation {dilation}")
    pads = ((0, 0),) + pads if nd == 1 else pads
    y = fn.apply(_as_2d(x, nd, batched), w.unsqueeze(2) if nd == 1 else w, bias,
                       stride=_lift(stride, nd, 1), padding=pads[0] + pads[1],
                 dilation=_lift(dilation, nd, 1), groups=groups)
    return _from_2d(y, nd, batched)


@autocast_op("conv2d")
def conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: _IntOr = 1,
           padding: Union[_IntOr, str] = 0, dilation: _IntOr = 1, groups: int = 1) -> Tensor:
    """y[n,k] = bias[k] + sum_c weight[k,c] (star) input[n,c] (cross-correlation), NCHW."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _fusable(x, w, bias, stride, padding, dilation) -> bool:
    """Whether ConvBiasReluPool takes this conv: outside autocast (whose lists cast the conv
    itself), batched float NCHW on the CPU, one dtype, and a conv output of at least 2x2 (a
    smaller one is max_pool2d's error to raise)."""
    if state.autocast is not None:
        return False
    if not (isinstance(x, Tensor) and isinstance(w, Tensor) and x.ndim == 4 and w.ndim == 4
            and x.is_floating_point() and x.dtype == w.dtype and x.device.type == "cpu"
            and w.device.type == "cpu"):
        return False
    if bias is not None and not (isinstance(bias, Tensor) and bias.dtype == x.dtype
                                 and bias.device.type == "cpu"):
        return False
    st = _ints(stride, 2, "stride", "conv2d", 1)
    dil = _ints(dilation, 2, "dilation", "conv2d", 1)
    pads = _conv_pads("conv2d", padding, tuple(w.shape[2:]), st, dil)
    return all(K.out_size(n, k, s, lo, hi, d) >= 2 for n, k, s, (lo, hi), d in
               zip(x.shape[2:], w.shape[2:], st, pads, dil))


def _conv_bias_relu_pool(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
                         stride: _IntOr = 1, padding: Union[_IntOr, str] = 0,
                         dilation: _IntOr = 1, groups: int = 1) -> Tensor:
    """max_pool2d(relu(conv2d(input, weight, bias, ...)), 2) as one op (ops/conv.py's
    ConvBiasReluPool): the same numbers as the three calls, bias and ReLU on the pooled quarter.
    Where _fusable says no, the three calls run, so errors, devices and dtypes are theirs."""
    if _fusable(input, weight, bias, stride, padding, dilation):
        return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups,
                     fn=K.ConvBiasReluPool)
    from .activation import relu
    from .pooling import max_pool2d
    return max_pool2d(relu(conv2d(input, weight, bias, stride, padding, dilation, groups)), 2)


@autocast_op("conv1d")
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
        raise ValueError(f"{op}: input {_shape_dtype(x)} has {c} channels but weight "
                         f"{_shape_dtype(w)} expects {w.shape[0]} (divisible by groups={groups})")
    k = w.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (k,):
        raise ValueError(f"{op}: bias {_shape_dtype(bias)} must have shape ({k},) to match weight "
                         f"{_shape_dtype(w)} with groups={groups}")
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ >= max(s, d):
            raise ValueError(f"{op}: output_padding {output_padding} must be smaller than either "
                             f"stride {stride} or dilation {dilation}")
    kernel = tuple(w.shape[2:])
    out = tuple((n - 1) * s - 2 * p + d * (kk - 1) + o + 1 for n, s, p, d, kk, o in
                zip(x.shape[-nd:], stride, padding, dilation, kernel, output_padding))
    if min(out) < 1:
        raise RuntimeError(f"{op}: input {_shape_dtype(x)} with weight {_shape_dtype(w)}, stride "
                           f"{stride}, padding {padding} gives an empty output {out}")
    x2 = _as_2d(x, nd, batched)
    out2 = _lift(out, nd, 1)
    p2 = _lift(padding, nd, 0)
    y = K.Conv2dData.apply(x2, w.unsqueeze(2) if nd == 1 else w, stride=_lift(stride, nd, 1),
                           padding=(p2[0], p2[0], p2[1], p2[1]), dilation=_lift(dilation, nd, 1),
                           groups=groups, x_shape=(x2.shape[0], k) + out2)
    if bias is not None:
        y = y + bias.reshape(1, k, 1, 1)
    return _from_2d(y, nd, batched)


@autocast_op("conv_transpose2d")
def conv_transpose2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
                     stride: _IntOr = 1, padding: _IntOr = 0, output_padding: _IntOr = 0,
                     groups: int = 1, dilation: _IntOr = 1) -> Tensor:
    """The adjoint of conv2d in its input: weight (C_in, C_out/groups, kH, kW)."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


@autocast_op("conv_transpose1d")
def conv_transpose1d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None,
                     stride: _IntOr = 1, padding: _IntOr = 0, output_padding: _IntOr = 0,
                     groups: int = 1, dilation: _IntOr = 1) -> Tensor:
    """conv_transpose2d over (N, C, L) with a height-1 kernel."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


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
        raise RuntimeError(f"unfold: input {_shape_dtype(input)} is too small for kernel_size "
                           f"{kernel} with padding {padding} and dilation {dilation}")
    y = K.Unfold.apply(x2, kernel=kernel, stride=stride, padding=pads, dilation=dilation)
    return y if batched else y.squeeze(0)


def fold(input: Tensor, output_size: _IntOr, kernel_size: _IntOr, dilation: _IntOr = 1,
         padding: _IntOr = 0, stride: _IntOr = 1) -> Tensor:
    """col2im: (N, C*kH*kW, L) -> (N, C, H, W), summing overlapping windows."""
    check_tensor(input, "fold", name="input")
    if input.ndim not in (2, 3):
        raise ValueError(f"fold: expected a 2-D (unbatched) or 3-D input, got "
                         f"{_shape_dtype(input)}")
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
        raise RuntimeError(f"fold: input {_shape_dtype(input)} does not match kernel_size {kernel} "
                           f"and output_size {out}: expected (N, C*{kk}, {pq[0] * pq[1]})")
    y = K.Fold.apply(x, kernel=kernel, stride=stride, padding=pads, dilation=dilation,
                     out_hw=pq, x_hw=out)
    return y if input.ndim == 3 else y.squeeze(0)


# -- 3-d convolution, composed -------------------------------------------------------------------
def _depth_slices(x: Tensor, i: int, n_out: int, stride: int, dilation: int) -> Tensor:
    """The depth planes kernel tap i reads for each output plane, folded into the batch:
    (N, C, D, H, W) -> (N * n_out, C, H, W)."""
    start = i * dilation
    planes = x[:, :, start:start + stride * (n_out - 1) + 1:stride]
    return planes.movedim(2, 1).reshape(x.shape[0] * n_out, x.shape[1], *x.shape[3:])


def conv3d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: _IntOr = 1,
           padding: Union[_IntOr, str] = 0, dilation: _IntOr = 1, groups: int = 1) -> Tensor:
    """y[n,k] = bias[k] + sum_c weight[k,c] (star) input[n,c] over (N, C, D, H, W): one conv2d
    per depth tap of the kernel, the output planes folded into the batch."""
    from .vision import pad       # noqa: PLC0415  (vision imports the functions below it)
    op = "conv3d"
    batched = _tensor_args(op, 3, input, weight, bias)
    x = input if batched else input.unsqueeze(0)
    stride = _ints(stride, 3, "stride", op, 1)
    dilation = _ints(dilation, 3, "dilation", op, 1)
    kernel = tuple(weight.shape[2:])
    pads = _conv_pads(op, padding, kernel, stride, dilation)
    if any(lo or hi for lo, hi in pads):
        x = pad(x, [p for lo_hi in reversed(pads) for p in lo_hi])
    n_out = (x.shape[2] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    if n_out < 1 or x.shape[1] != weight.shape[1] * groups:
        # the 2-d call below names the channel mismatch; depth is checked here
        if n_out < 1:
            raise RuntimeError(f"{op}: input {_shape_dtype(input)} padded by {pads} is smaller "
                               f"than the kernel {kernel} with dilation {dilation}")
    out = None
    for i in range(kernel[0]):
        y = conv2d(_depth_slices(x, i, n_out, stride[0], dilation[0]), weight[:, :, i], None,
                   stride[1:], 0, dilation[1:], groups)
        out = y if out is None else out + y
    out = out.reshape(x.shape[0], n_out, *out.shape[1:]).movedim(1, 2)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1, 1)
    return out if batched else out.squeeze(0)