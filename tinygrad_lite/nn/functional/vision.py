"""torch.nn.functional's vision functions: pad, interpolate, pixel_shuffle, pixel_unshuffle.

interpolate: argument checks, then one separable resampling pass per axis.

Every mode here is separable: along one axis, output position o reads a few input positions
idx[o, k] with weights w[o, k] (one tap for nearest, two for linear, four for bicubic, a window
for area), so an N-d resize is one 1-d pass per spatial axis. A pass is a Function pair:
forward gathers the taps and sums them (O(out * taps), and a NaN stays where torch keeps it);
its adjoint contracts the gradient with the dense [out, in] matrix A[o, idx[o, k]] += w[o, k]
(one GEMM, O(in) per element but no scatter-add, and as fast as torch's backward at feature-map
sizes). Each differentiates into the other, so create_graph works to any order. Source
coordinates follow torch's UpSample.h in the input's precision, as torch's CPU kernels compute
them (float32 for float32), so even the nearest indices agree (see _nearest_index for the ties).
"""
from __future__ import annotations

import math
import numbers
from typing import Optional, Sequence, Union

import numpy as np


from ... import dtypes as D
from ...autograd.function import Function
from ...backend import array_module
from ...functions.indexing import pad as _pad
from ...tensor import Tensor, _const, where
from ._utils import _desc, _tensor

__all__ = ["interpolate", "pad", "pixel_shuffle", "pixel_unshuffle", "affine_grid", "grid_sample",
           "upsample_nearest", "upsample_bilinear"]

# spatial dims each mode accepts (None: any of 1, 2, 3)
_MODES = {"nearest": None, "nearest-exact": None, "area": None, "linear": 1, "bilinear": 2,
          "bicubic": 2, "trilinear": 3}
_CUBIC_A = -0.75        # torch's (and OpenCV's) bicubic convolution constant

_Size = Union[int, Sequence[int]]
_Scale = Union[float, Sequence[float]]


# -- the 1-d pass and its adjoint ------------------------------------------------------------------
def _tap_shape(w_col, ndim: int, axis: int):
    """A per-output-position weight column shaped to broadcast along `axis`."""
    return w_col.reshape(w_col.shape + (1,) * (ndim - axis - 1))


class Resample(Function):
    """y[.., o, ..] = sum_k w[o, k] x[.., idx[o, k], ..] along axis;  dx = A^T dy"""

    def forward(self, x, idx, w, axis, n_in):
        self.idx, self.w, self.axis, self.n_in = idx, w, axis, n_in
        xp = array_module(x)
        if w is None:                           # nearest: a plain gather
            return xp.take(x, idx[:, 0], axis=axis)
        y = xp.take(x, idx[:, 0], axis=axis) * _tap_shape(w[:, 0], x.ndim, axis)
        for k in range(1, idx.shape[1]):
            y += xp.take(x, idx[:, k], axis=axis) * _tap_shape(w[:, k], x.ndim, axis)
        return y

    def backward(self, grad):
        return ResampleAdjoint.apply(grad, idx=self.idx, w=self.w, axis=self.axis,
                                     n_in=self.n_in)


class ResampleAdjoint(Function):
    """y = A^T g along axis, with A[o, idx[o, k]] += w[o, k] of shape [out, in];  dg = A dy"""

    def forward(self, g, idx, w, axis, n_in):
        self.idx, self.w, self.axis, self.n_in = idx, w, axis, n_in
        xp = array_module(g)
        n_out = idx.shape[0]
        a = xp.zeros((n_out, n_in), dtype=g.dtype)
        rows = xp.arange(n_out)
        for k in range(idx.shape[1]):
            # within one tap each row is hit once, so a fancy += cannot drop a repeat
            a[rows, idx[:, k]] += 1.0 if w is None else w[:, k]
        lead, tail = g.shape[:axis], g.shape[axis + 1:]
        if not tail:
            y = g.reshape(-1, n_out) @ a
        else:
            y = xp.matmul(a.T, g.reshape(-1, n_out, math.prod(tail)))
        return y.reshape(lead + (n_in,) + tail)

    def backward(self, grad):
        return Resample.apply(grad, idx=self.idx, w=self.w, axis=self.axis, n_in=self.n_in)


# -- source coordinates (torch's UpSample.h) -------------------------------------------------------
def _linear_scale(dt, n_in: int, n_out: int, align: bool, scale: Optional[float]):
    """Input pixels per output pixel, as torch's area_pixel_compute_scale."""
    if align:
        return dt.type(n_in - 1) / dt.type(n_out - 1) if n_out > 1 else dt.type(0)
    if scale is not None and scale > 0:
        return dt.type(1.0 / scale)
    return dt.type(n_in) / dt.type(n_out)


def _source(xp, dt, n_in, n_out, align, scale, cubic: bool):
    """Real source coordinate of each output position (clamped at 0 except for cubic)."""
    s = _linear_scale(dt, n_in, n_out, align, scale)
    o = xp.arange(n_out, dtype=dt)
    if align:
        return o * s
    src = (o + dt.type(0.5)) * s - dt.type(0.5)
    return src if cubic else xp.maximum(src, dt.type(0))


def _nearest_index(xp, dt, n_in, n_out, scale, exact: bool, halve: bool):
    """floor(o * s), or floor((o + 0.5) * s) for nearest-exact, at most n_in - 1.

    As torch's CPU kernels: s and the product in the input's precision, then rounded to float32
    before the floor (floorf). With `halve` (torch's 2-d kernel) out == 2 * in maps to o // 2
    whatever the scale. Where o * s is an exact integer torch's 2-d kernel can round either way.
    """
    if halve and n_out == 2 * n_in:
        return xp.arange(n_out) // 2
    t = dt.type
    s = t(1.0 / scale) if scale is not None and scale > 0 else t(n_in) / t(n_out)
    o = xp.arange(n_out, dtype=dt)
    pos = (o + t(0.5)) * s if exact else o * s
    return xp.minimum(xp.floor(pos.astype("float32")).astype("int64"), n_in - 1)


def _cubic_weights(t):
    """The four Keys cubic-convolution weights at offsets -1, 0, 1, 2 from floor(src)."""
    a = _CUBIC_A

    def near(d):        # |d| <= 1
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):         # 1 < |d| < 2
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return far(t + 1), near(t), near(1 - t), far(2 - t)


def _taps(xp, dt, mode: str, n_in: int, n_out: int, align: bool, scale: Optional[float],
          dim: int):
    """(idx [out, K] int64, w [out, K] or None) for one axis of a `dim`-d resize."""
    if mode in ("nearest", "nearest-exact"):
        exact, halve = mode == "nearest-exact", mode == "nearest" and dim == 2
        return _nearest_index(xp, dt, n_in, n_out, scale, exact, halve)[:, None], None
    if mode == "area":      # adaptive_avg_pool: windows [floor(o*in/out), ceil((o+1)*in/out))
        o = xp.arange(n_out)
        lo, hi = (o * n_in) // n_out, -((-(o + 1) * n_in) // n_out)
        width = -(-n_in // n_out) + (1 if n_in % n_out else 0)
        k = xp.arange(width)
        # a short window repeats its last position with weight 0, so no stray NaN gets in
        idx = xp.minimum(lo[:, None] + k, hi[:, None] - 1)
        w = (lo[:, None] + k < hi[:, None]) / (hi - lo)[:, None]
        return idx, w.astype(dt)
    src = _source(xp, dt, n_in, n_out, align, scale, cubic=mode == "bicubic")
    base = xp.floor(src)
    t = src - base
    base = base.astype("int64")
    if mode == "bicubic":
        idx = xp.clip(base[:, None] + xp.arange(-1, 3), 0, n_in - 1)
        return idx, xp.stack(_cubic_weights(t), axis=1).astype(dt)
    idx = xp.stack([base, xp.minimum(base + 1, n_in - 1)], axis=1)
    return idx, xp.stack([1 - t, t], axis=1).astype(dt)


def _is_identity(mode: str, n_in: int, n_out: int, align: bool, scale: Optional[float],
                 dim: int) -> bool:
    """Whether torch leaves this axis as it is. Its CPU kernels copy an axis whose size does not
    change in the linear modes, and so does its 2-d nearest kernel (but not the 1-d and 3-d
    ones), even where a given scale_factor such as 1.05 would map it otherwise."""
    if n_in != n_out:
        return False
    return (scale is None or scale == 1.0 or align or mode in ("area", "linear", "bilinear",
                                                               "trilinear")
            or mode == "nearest" and dim == 2)


# -- argument checks -------------------------------------------------------------------------------
def check_size_and_scale(op: str, size, scale_factor) -> None:
    """Exactly one of size and scale_factor; sizes positive ints, scales positive finite."""
    if size is not None and scale_factor is not None:
        raise ValueError(f"{op}: only one of size or scale_factor should be defined, got "
                         f"size={size!r} and scale_factor={scale_factor!r}")
    if size is None and scale_factor is None:
        raise ValueError(f"{op}: either size or scale_factor should be defined")
    for v in _as_list(size):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{op}: size must be an int or a tuple of ints, got {size!r}")
        if v < 1:
            raise ValueError(f"{op}: size must be positive, got {size!r}")
    for v in _as_list(scale_factor):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{op}: scale_factor must be a number or a tuple of numbers, got "
                            f"{scale_factor!r}")
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"{op}: scale_factor must be positive and finite, got "
                             f"{scale_factor!r}")


def check_mode(op: str, mode, align_corners) -> None:
    if mode not in _MODES:
        raise ValueError(f"{op}: mode must be one of {', '.join(_MODES)}; got {mode!r}")
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise ValueError(f"{op}: align_corners={align_corners!r} can only be set with the "
                         f"interpolating modes linear | bilinear | bicubic | trilinear, not "
                         f"mode={mode!r}")


def _as_list(v) -> list:
    if v is None:
        return []
    return list(v) if isinstance(v, (tuple, list)) else [v]


def _per_dim(op: str, name: str, v, dim: int, shape: tuple) -> list:
    vals = _as_list(v)
    if not isinstance(v, (tuple, list)):
        return vals * dim
    if len(vals) != dim:
        raise ValueError(f"{op}: {name}={v!r} must have {dim} values, one per spatial dimension "
                         f"of input {shape}")
    return vals


def _plan(x, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias):
    """Check everything; return (output sizes, scales for the coordinate map, align)."""
    op = "interpolate"
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    shape = tuple(x.shape)
    check_mode(op, mode, align_corners)
    if x.ndim not in (3, 4, 5):
        raise ValueError(f"{op}: expected a 3-D, 4-D or 5-D input (N, C, d1[, d2[, d3]]), got "
                         f"{shape}")
    dim = x.ndim - 2
    want = _MODES[mode]
    if want is not None and want != dim:
        raise ValueError(f"{op}: mode={mode!r} needs a {want + 2}-D input, got {x.ndim}-D "
                         f"{shape}")
    if mode not in ("nearest", "nearest-exact") and not D.is_floating(x.dtype):
        raise TypeError(f"{op}: mode={mode!r} needs a floating-point input, got {shape} "
                        f"{x.dtype}")
    check_size_and_scale(op, size, scale_factor)
    if recompute_scale_factor and size is not None:
        raise ValueError(f"{op}: recompute_scale_factor is not meaningful with an explicit size "
                         f"(size={size!r})")
    if antialias:
        if not (mode in ("bilinear", "bicubic") and dim == 2):
            raise ValueError(f"{op}: antialias=True is restricted to bilinear and bicubic modes "
                             f"on a 4-D input, got mode={mode!r} and {shape}")
        raise NotImplementedError(f"{op}: antialias=True (mode={mode!r}) is not implemented")
    spatial = shape[2:]
    if min(spatial) < 1:
        raise ValueError(f"{op}: input {shape} has an empty spatial dimension")
    if size is not None:
        return [int(s) for s in _per_dim(op, "size", size, dim, shape)], [None] * dim, \
            bool(align_corners)
    scales = [float(s) for s in _per_dim(op, "scale_factor", scale_factor, dim, shape)]
    out = [math.floor(n * s) for n, s in zip(spatial, scales)]
    if min(out) < 1:
        raise ValueError(f"{op}: scale_factor={scale_factor!r} shrinks input {shape} to an "
                         f"empty output {tuple(out)}")
    # torch maps coordinates with the given scale unless asked to recompute it (area always does)
    if recompute_scale_factor or mode == "area":
        scales = [None] * dim
    return out, scales, bool(align_corners)


def interpolate(input: Tensor, size: Optional[_Size] = None,
                scale_factor: Optional[_Scale] = None, mode: str = "nearest",
                align_corners: Optional[bool] = None,
                recompute_scale_factor: Optional[bool] = None,
                antialias: bool = False) -> Tensor:
    """y = x resampled to `size` (or floor(in * scale_factor)) along each spatial axis."""
    out, scales, align = _plan(input, size, scale_factor, mode, align_corners,
                               recompute_scale_factor, antialias)
    xp = array_module(input._data)
    dt = input.dtype if D.is_floating(input.dtype) else D.float32   # nearest on integers
    spatial = tuple(input.shape[2:])
    # shrinking axes first keeps the later passes small
    order = sorted(range(len(out)), key=lambda d: out[d] / spatial[d])
    y = input
    for d in order:
        n_in, n_out, scale = spatial[d], out[d], scales[d]
        if _is_identity(mode, n_in, n_out, align, scale, len(out)):
            continue
        idx, w = _taps(xp, dt, mode, n_in, n_out, align, scale, len(out))
        y = Resample.apply(y, idx=idx, w=w, axis=2 + d, n_in=n_in)
    return y if y is not input else input.clone()


# -- pad and pixel shuffle ---------------------------------------------------------------------
def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",
        value: Optional[float] = None) -> Tensor:
    """F.pad: (left, right) pairs starting from the last dimension"""
    return _pad(_tensor(input, "pad"), pad, mode, 0.0 if value is None else value)


def _pixel_args(input, r, name: str, op: str):
    """The checked (input, factor, leading dims, C, H, W) of pixel_shuffle/unshuffle."""
    x = _tensor(input, op)
    if isinstance(r, bool) or not isinstance(r, numbers.Integral) or r < 1:
        raise ValueError(f"{op}: {name} must be a positive int, got {r!r}")
    if x.ndim < 3:
        raise ValueError(f"{op}: expected an input with at least 3 dims (*, C, H, W), got "
                         f"{_desc(x)}")
    return (x, int(r)) + tuple(x.shape[:-3]) + tuple(x.shape[-3:])


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): y[c, h r + i, w r + j] = x[c r^2 + i r + j, h, w]"""
    x, r, *lead, c, h, w = _pixel_args(input, upscale_factor, "upscale_factor", "pixel_shuffle")
    if c % (r * r):
        raise ValueError(f"pixel_shuffle: input {_desc(x)} has {c} channels, which is not "
                         f"divisible by upscale_factor^2 = {r * r}")
    k = len(lead)
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    # (*, C, i, j, H, W) -> (*, C, H, i, W, j)
    return y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2).reshape(
        *lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of pixel_shuffle"""
    x, r, *lead, c, h, w = _pixel_args(input, downscale_factor, "downscale_factor",
                                       "pixel_unshuffle")
    if h % r or w % r:
        raise ValueError(f"pixel_unshuffle: input {_desc(x)} has height {h} and width {w}, "
                         f"which are not both divisible by downscale_factor = {r}")
    k = len(lead)
    # (*, C, H, i, W, j) -> (*, C, i, j, H, W)
    y = x.reshape(*lead, c, h // r, r, w // r, r).permute(*range(k), k, k + 2, k + 4, k + 1,
                                                           k + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)


# -- spatial transformers: affine_grid and grid_sample ---------------------------------------------
# Composed from Tensor ops (gather, floor, clamp, where), so the gradients to the input and to
# the grid, and their derivatives, follow from those ops; the formulas are torch's
# GridSampler.h: unnormalise, pad (clip or reflect), then gather the corner taps.
def _base_coords(xp, dt, n: int, align: bool):
    if align:
        return xp.linspace(-1.0, 1.0, n, dtype=dt) if n > 1 else xp.zeros(n, dtype=dt)
    return ((xp.arange(n, dtype=dt) * 2 + 1) / n - 1).astype(dt)


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: Optional[bool] = None
                ) -> Tensor:
    """The sampling grid (N, H, W, 2) (or (N, D, H, W, 3)) of the affine maps theta (N, 2, 3)
    (or (N, 3, 4)) over the output size (N, C, H, W) (or (N, C, D, H, W)), in [-1, 1]."""
    op = "affine_grid"
    theta = _tensor(theta, op)
    size = tuple(int(n) for n in size)
    spatial = len(size) - 2
    if spatial not in (2, 3) or theta.dtype.kind != "f" or tuple(theta.shape) != (
            size[0], spatial, spatial + 1):
        raise ValueError(f"{op}: expected theta (N, {spatial}, {spatial + 1}) floating for size "
                         f"{size} (N, C, H, W) or (N, C, D, H, W), got {_desc(theta)}")
    if min(size[2:]) <= 0:
        raise ValueError(f"{op}: expected a non-empty spatial size, got {size}")
    xp = array_module(theta._data)
    align = bool(align_corners)
    axes = [_base_coords(xp, theta.dtype, n, align) for n in reversed(size[2:])]   # x, y, (z)
    mesh = xp.meshgrid(*reversed(axes), indexing="ij")                      # (z), y, x
    base = xp.stack([*reversed(mesh), xp.ones_like(mesh[0])], axis=-1)     # (.., x, y, (z), 1)
    base = _const(base.reshape(-1, spatial + 1).astype(theta.dtype))
    grid = base @ theta.mT                                        # (N, prod(spatial), spatial)
    return grid.reshape(size[0], *size[2:], spatial)


def _unnormalize(g: Tensor, n: int, align: bool) -> Tensor:
    return (g + 1) * ((n - 1) / 2) if align else ((g + 1) * n - 1) / 2


def _reflect(x: Tensor, low: float, high: float) -> Tensor:
    """x reflected into [low, high] (torch's reflect_coordinates, twice-span low/high)."""
    if low == high:
        return x * 0
    span = (high - low) / 2
    x = (x - low / 2).abs()
    flips = (x.detach() / span).floor()
    extra = x - flips * span
    return where((flips % 2) == 0, extra + low / 2, span - extra + low / 2)


def _source_coords(g: Tensor, n: int, padding_mode: str, align: bool) -> Tensor:
    return _padded_coords(_unnormalize(g, n, align), n, padding_mode, align)


def _padded_coords(x: Tensor, n: int, padding_mode: str, align: bool) -> Tensor:
    if padding_mode == "border":
        x = x.clamp(0, n - 1)
    elif padding_mode == "reflection":
        x = _reflect(x, 0, 2 * (n - 1)) if align else _reflect(x, -1, 2 * n - 1)
        x = x.clamp(0, n - 1)
    return x


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners: Optional[bool] = None) -> Tensor:
    """out[n, c, h, w] = input[n, c] sampled at grid[n, h, w] = (x, y) in [-1, 1] (bilinear,
    nearest or bicubic; zeros, border or reflection padding); 5-d inputs take (x, y, z) grids."""
    op = "grid_sample"
    x, g = _tensor(input, op), _tensor(grid, op)
    spatial = x.ndim - 2
    if spatial not in (2, 3) or g.ndim != x.ndim or g.shape[-1] != spatial or \
            g.shape[0] != x.shape[0]:
        raise ValueError(f"{op}: expected input (N, C, H, W) with grid (N, H', W', 2) or "
                         f"input (N, C, D, H, W) with grid (N, D', H', W', 3), got "
                         f"input {_desc(x)} and grid {_desc(g)}")
    if mode not in ("bilinear", "nearest", "bicubic") or (mode == "bicubic" and spatial != 2):
        raise ValueError(f"{op}: mode must be 'bilinear', 'nearest' or (4-d input) 'bicubic', "
                         f"got {mode!r} for {_desc(x)}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"{op}: padding_mode must be 'zeros', 'border' or 'reflection', got "
                         f"{padding_mode!r}")
    if x.dtype != g.dtype or x.dtype.kind != "f":
        raise TypeError(f"{op}: expected floating input and grid of one dtype, got "
                        f"input {_desc(x)} and grid {_desc(g)}")
    align = bool(align_corners)
    n, c = x.shape[:2]
    sizes = tuple(x.shape[2:])                     # (D), H, W
    out_sp = tuple(g.shape[1:-1])
    flat = x.reshape(n, c, -1)
    xp = array_module(x._data)
    if mode == "bicubic":       # taps at floor - 1 .. floor + 2, each padded on its own
        raw = [_unnormalize(g[..., i], sizes[spatial - 1 - i], align)
               for i in range(spatial)][::-1]
    else:
        raw = [_source_coords(g[..., i], sizes[spatial - 1 - i], padding_mode, align)
               for i in range(spatial)][::-1]     # (z), y, x: matching sizes
    coords = raw

    def tap(corner):
        """The input at integer positions corner (one per dim), 0 outside; (N, C, out...)."""
        inside = None
        idx = None
        for pos, size in zip(corner, sizes):
            ok = (pos >= 0) & (pos <= size - 1)
            inside = ok if inside is None else inside & ok
            p = pos.clip(0, size - 1).astype(np.int64)
            idx = p if idx is None else idx * size + p
        idx = xp.broadcast_to(idx.reshape(n, 1, -1), (n, c, idx[0].size))
        vals = flat.gather(2, _const(xp.ascontiguousarray(idx)))
        vals = vals.reshape(n, c, *out_sp)
        return vals, _const(inside.reshape(n, 1, *out_sp))

    if mode == "bicubic":
        lows = [t.detach().floor() for t in coords]
        weights = [_cubic_weights(t - lo) for t, lo in zip(coords, lows)]
        out = None
        for ky, kx in np.ndindex(4, 4):
            corner = [_padded_coords(_const(lo._data + k - 1), size, padding_mode, align)._data
                      for lo, k, size in zip(lows, (ky, kx), sizes)]
            vals, inside = tap(corner)
            term = where(inside, vals, 0.0) * (weights[0][ky] * weights[1][kx]).unsqueeze(1)
            out = term if out is None else out + term
        return out
    if mode == "nearest":
        pos = [xp.rint(t._data) for t in coords]
        vals, inside = tap(pos)
        return where(inside, vals, 0.0)
    lows = [t.detach().floor() for t in coords]
    out = None
    for bits in np.ndindex(*(2,) * spatial):
        weight = None
        corner = []
        for b, t, lo in zip(bits, coords, lows):
            w = (t - lo) if b else (lo + 1 - t)
            weight = w if weight is None else weight * w
            corner.append(lo._data + b)
        vals, inside = tap(corner)
        term = where(inside, vals, 0.0) * weight.unsqueeze(1)
        out = term if out is None else out + term
    return out


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """torch's deprecated alias: interpolate(mode='nearest')."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """torch's deprecated alias: interpolate(mode='bilinear', align_corners=True)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)