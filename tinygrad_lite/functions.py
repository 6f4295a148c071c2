"""`tl.exp(x)`, `tl.cat([...])`, ...: torch-level functions, each one line onto a method or op."""
from __future__ import annotations

import builtins
import numbers as _numbers
import sys

import numpy as _np

from . import backend as _B
from . import dtypes as _D
from . import random as _R
from .backend import array_module
from .ops.linalg import Einsum, MatMul, parse
from .ops.reduction import MaxMin, Norm2, _count, check_extent
from .tensor import Tensor, _axes, _const, _dim, where  # noqa: F401
from . import functions_shape as _FS


def _t(x) -> Tensor:
    if isinstance(x, Tensor):
        return x
    # a raw array (NumPy or CuPy) is taken as a constant tensor rather than refused, as it was
    # when `.data` was the array (`torch.max(outputs.data, 1)` now passes a Tensor anyway)
    if isinstance(x, _np.ndarray) or _B.device_of(x) == "cuda":
        return Tensor._make(x, False, None, None)
    op = sys._getframe(1).f_code.co_name    # the tl.<op> that was called, for the message
    raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")


def add(a, b, alpha=1):
    if not isinstance(a, Tensor) and isinstance(b, Tensor):     # torch.add(2, x): a number first
        return (b if alpha == 1 else b * alpha).__radd__(a)
    return _t(a).add(b, alpha=alpha)


def sub(a, b, alpha=1):
    if not isinstance(a, Tensor) and isinstance(b, Tensor):
        return (b if alpha == 1 else b * alpha).__rsub__(a)
    return _t(a).sub(b, alpha=alpha)
def mul(a, b): return _t(a).mul(b) if isinstance(a, Tensor) else _t(b).mul(a)
def div(a, b, rounding_mode=None):
    if not isinstance(a, Tensor) and isinstance(b, Tensor) and rounding_mode is None:
        return b.__rtruediv__(a)
    if not isinstance(a, Tensor) and isinstance(b, Tensor):
        a = _full_like_scalar(a, b)
    return _t(a).div(b, rounding_mode=rounding_mode)


def _full_like_scalar(value, like):
    """A number as a 0-d tensor on like's device, typed as torch types a wrapped number."""
    from .tensor import _like  # noqa: PLC0415
    return _like(value, like)
def pow(a, b): return _t(a).pow(b) if isinstance(a, Tensor) else _t(b).__rpow__(a)
def matmul(a, b): return _t(a).matmul(b)
def mm(a, b): return _t(a).matmul(b)
def bmm(a, b): return _t(a).matmul(b)
def neg(x): return _t(x).neg()
def exp(x): return _t(x).exp()
def expm1(x): return _t(x).expm1()
def log(x): return _t(x).log()
def log1p(x): return _t(x).log1p()
def log2(x): return _t(x).log2()
def sqrt(x): return _t(x).sqrt()
def rsqrt(x): return _t(x).rsqrt()
def square(x): return _t(x).square()
def abs(x): return _t(x).abs()
def sign(x): return _t(x).sign()
def sin(x): return _t(x).sin()
def cos(x): return _t(x).cos()
def tanh(x): return _t(x).tanh()
def sigmoid(x): return _t(x).sigmoid()
def relu(x): return _t(x).relu()
def clamp(x, min=None, max=None): return _t(x).clamp(min, max)
def maximum(a, b): return _t(a).maximum(b)
def minimum(a, b): return _t(a).minimum(b)
def sum(x, dim=None, keepdim=False, dtype=None): return _t(x).sum(dim, keepdim, dtype=dtype)
def mean(x, dim=None, keepdim=False): return _t(x).mean(dim, keepdim)
def prod(x, dim=None, keepdim=False): return _t(x).prod(dim, keepdim)
def max(x, dim=None, keepdim=False): return _t(x).max(dim, keepdim)
def min(x, dim=None, keepdim=False): return _t(x).min(dim, keepdim)
def amax(x, dim=None, keepdim=False): return _t(x).amax(dim, keepdim)
def amin(x, dim=None, keepdim=False): return _t(x).amin(dim, keepdim)
def argmax(x, dim=None, keepdim=False): return _t(x).argmax(dim, keepdim)
def argmin(x, dim=None, keepdim=False): return _t(x).argmin(dim, keepdim)
def var(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return _t(x).var(dim, unbiased, keepdim, correction)
def std(x, dim=None, unbiased=None, keepdim=False, correction=None):
    return _t(x).std(dim, unbiased, keepdim, correction)
def norm(x, p="fro", dim=None, keepdim=False): return _t(x).norm(p, dim, keepdim)
def logsumexp(x, dim, keepdim=False): return _t(x).logsumexp(dim, keepdim)
def softmax(x, dim, dtype=None): return _t(x).softmax(dim, dtype=dtype)
def log_softmax(x, dim, dtype=None): return _t(x).log_softmax(dim, dtype=dtype)
def cumsum(x, dim): return _t(x).cumsum(dim)
def reshape(x, shape): return _t(x).reshape(shape)
def flatten(x, start_dim=0, end_dim=-1): return _t(x).flatten(start_dim, end_dim)
def unflatten(x, dim, sizes): return _t(x).unflatten(dim, sizes)
def transpose(x, d0, d1): return _t(x).transpose(d0, d1)
def permute(x, dims): return _t(x).permute(*dims)
def squeeze(x, dim=None): return _t(x).squeeze(dim)
def unsqueeze(x, dim): return _t(x).unsqueeze(dim)
def broadcast_to(x, shape): return _t(x).broadcast_to(shape)
def gather(x, dim, index): return _t(x).gather(dim, index)
def scatter_add(x, dim, index, src): return _t(x).scatter_add(dim, index, src)
def index_select(x, dim, index): return _t(x).index_select(dim, index)
def masked_fill(x, mask, value): return _t(x).masked_fill(mask, value)
def roll(x, shifts, dims=None): return _t(x).roll(shifts, dims)
def flip(x, dims): return _t(x).flip(dims)
def split(x, size, dim=0): return _t(x).split(size, dim)
def chunk(x, chunks, dim=0): return _t(x).chunk(chunks, dim)
def unbind(x, dim=0): return _t(x).unbind(dim)
def narrow(x, dim, start, length): return _t(x).narrow(dim, start, length)
def cat(tensors, dim=0): return _FS.cat(tensors, dim)
concat = concatenate = cat
def stack(tensors, dim=0): return _FS.stack(tensors, dim)
def isnan(x): return _t(x).isnan()
def isinf(x): return _t(x).isinf()
def isfinite(x): return _t(x).isfinite()
def floor(x): return _t(x).floor()
def ceil(x): return _t(x).ceil()
def round(x, decimals=0): return _t(x).round(decimals)
def sort(x, dim=-1, descending=False): return _t(x).sort(dim, descending)
def argsort(x, dim=-1, descending=False): return _t(x).argsort(dim, descending)
def topk(x, k, dim=-1, largest=True, sorted=True): return _t(x).topk(k, dim, largest, sorted)
def eq(a, b): return _t(a) == b
def ne(a, b): return _t(a) != b
def lt(a, b): return _t(a) < b
def le(a, b): return _t(a) <= b
def gt(a, b): return _t(a) > b
def ge(a, b): return _t(a) >= b
def logical_and(a, b): return _t(a).logical_and(b)
def logical_or(a, b): return _t(a).logical_or(b)
def logical_not(a): return _t(a).logical_not()
def allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=False):
    return _t(a).allclose(b, rtol, atol, equal_nan)
def equal(a, b): return _t(a).equal(b)
def numel(x): return _t(x).numel()
def is_tensor(x): return isinstance(x, Tensor)
def clone(x): return _t(x).clone()
def detach(x): return _t(x).detach()
def all(x, dim=None, keepdim=False): return _t(x).all(dim, keepdim)
def any(x, dim=None, keepdim=False): return _t(x).any(dim, keepdim)
def nonzero(x, as_tuple=False): return _t(x).nonzero(as_tuple)
def lerp(a, b, w): return _t(a).lerp(b, w)
def outer(a, b): return _t(a).reshape(-1, 1) * _t(b).reshape(1, -1)


def multinomial(input, num_samples: int, replacement: bool = False, generator=None) -> Tensor:
    """Draw `num_samples` category indices per row, with probability proportional to `input`."""
    w = _t(input)
    num_samples = _FS._int(num_samples, "multinomial", "num_samples")
    if w.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: input must be 1-D or 2-D, got shape {tuple(w.shape)}")
    # sampling is a host-side loop over rows; the weights are few, so the copy is cheap
    rows = _np.asarray(_B.to_device(w._data, "cpu"), dtype=_np.float64).reshape(-1, w.shape[-1])
    num_samples = int(num_samples)
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: num_samples must be positive, got {num_samples}")
    if not _np.all(_np.isfinite(rows)) or (rows < 0).any():
        raise RuntimeError("multinomial: probability tensor contains inf, nan or a negative "
                           "entry")
    rng = generator.rng if isinstance(generator, Generator) else _R.generator("cpu")
    out = _np.empty((rows.shape[0], num_samples), dtype=_np.int64)
    for i, row in enumerate(rows):
        total = row.sum()
        if total <= 0:
            raise RuntimeError(f"multinomial: row {i} of the weights sums to zero")
        if not replacement and num_samples > _np.count_nonzero(row):
            raise RuntimeError(f"multinomial: cannot draw {num_samples} samples without "
                               f"replacement from {_np.count_nonzero(row)} nonzero categories")
        out[i] = rng.choice(row.size, size=num_samples, replace=replacement, p=row / total)
    out = out.reshape(w.shape[:-1] + (num_samples,))
    return Tensor._make(_B.to_device(out, w.device), False, None, None)


def normal(mean, std=1.0, size=None, generator=None, dtype=None, device=None,
           requires_grad=False) -> Tensor:
    """Samples of N(mean, std^2): floats with `size=`, or elementwise from tensor mean/std."""
    for name, v in (("mean", mean), ("std", std)):
        if isinstance(v, bool) or not isinstance(v, (Tensor, _numbers.Real)):
            raise TypeError(f"normal: {name} must be a Tensor or a number, got "
                            f"{type(v).__name__} {v!r}")
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        try:
            shape = _np.broadcast_shapes(_np.shape(m), _np.shape(s))
        except ValueError:
            raise ValueError(f"normal: mean {_np.shape(m)} and std {_np.shape(s)} do not "
                             "broadcast") from None
        z = _R.normal(shape, 0.0, 1.0, ref.dtype, ref.device)
        out = Tensor._make((z * s + m).astype(ref.dtype, copy=False), False, None, None)
    else:
        if size is None:
            raise TypeError("normal: with float mean and std, give size=")
        shape = (size,) if isinstance(size, int) else tuple(size)
        dt = _D.to_dtype(dtype) if dtype is not None else _D.get_default_dtype()
        dev = device if device is not None else _B.get_default_device()
        out = Tensor._make(_R.normal(shape, float(mean), float(std), dt, dev), False, None, None)
    return out.requires_grad_(True) if requires_grad else out


class Generator:
    """`torch.Generator()`: a private seeded stream for samplers and `random_split`."""

    def __init__(self, device="cpu"):
        self.device = device
        self._seed = int(_np.random.SeedSequence().entropy % (2 ** 63))
        self.rng = _np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self.rng = _np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        return self._seed

    def seed(self) -> int:
        return self.manual_seed(int(_np.random.SeedSequence().entropy % (2 ** 63)))._seed


def einsum(equation, *operands):
    """torch.einsum: sum over the products of the operands' entries, indexed by `equation`."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a str, got {type(equation).__name__} "
                        "(the sublist form einsum(x, [0, 1], ...) is not supported)")
    for i, x in enumerate(operands):
        if not isinstance(x, Tensor):
            raise TypeError(f"einsum('{equation}'): operand {i} is a {type(x).__name__}, "
                            "expected a Tensor")
    if not operands:
        raise ValueError(f"einsum('{equation}'): needs at least one operand")
    shapes = [tuple(x.shape) for x in operands]
    if builtins.any(x.device != operands[0].device for x in operands):
        desc = ", ".join(f"operand {i} {s} on {x.device}"
                         for i, (x, s) in enumerate(zip(operands, shapes)))
        raise RuntimeError(f"einsum('{equation}'): expected all operands on one device, got "
                           f"{desc}; move them with .to(device) first")
    terms, out, sizes = parse(equation, shapes)
    dtype = operands[0].dtype
    if builtins.any(x.dtype != dtype for x in operands):
        from .dtypes import promote
        for x in operands[1:]:
            dtype = promote(dtype, x.dtype)
    ops = []
    for i, (x, term) in enumerate(zip(operands, terms)):
        x = x if x.dtype == dtype else x.to(dtype)
        # a size-1 dimension broadcast against a bigger one: the product does not depend on that
        # index, so the axis is dropped (and its reshape's backward restores the shape)
        keep = [p for p, c in enumerate(term) if x.shape[p] != 1 or sizes[c] == 1]
        if len(keep) < len(term):
            x = x.reshape(tuple(x.shape[p] for p in keep))
            terms[i] = "".join(term[p] for p in keep)
        ops.append(x)
    return Einsum.apply(*ops, terms=tuple(terms), out=out)


def _matmul(a, b):
    """torch.matmul: 1-D operands are promoted to matrices and the added dimension removed."""
    if not isinstance(b, Tensor) or not isinstance(a, Tensor):
        raise TypeError(f"matmul: expected Tensors, got {type(a).__name__} and {type(b).__name__}")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least 1 dimension, got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not line up "
                         f"({ka} != {kb})")
    if a.dtype != b.dtype:
        from .dtypes import promote
        dt = promote(a.dtype, b.dtype)
        a, b = a.to(dt), b.to(dt)
    if a.device != b.device:
        raise RuntimeError(f"matmul: expected both tensors on one device, got {tuple(a.shape)} "
                           f"{a.dtype} on {a.device} and {tuple(b.shape)} {b.dtype} on {b.device}")
    if a.ndim > 2 and b.ndim > 2:
        try:
            _np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(f"matmul: batch dimensions of {tuple(a.shape)} and {tuple(b.shape)} "
                             "do not broadcast") from None
    if a.ndim == 1 and b.ndim == 1:
        return MatMul.apply(a.reshape(1, -1), b.reshape(-1, 1)).reshape(())
    if a.ndim == 1:
        out = MatMul.apply(a.reshape(1, -1), b)
        return out.squeeze(-2)
    if b.ndim == 1:
        return MatMul.apply(a, b.reshape(-1, 1)).squeeze(-1)
    return MatMul.apply(a, b)


def arg_reduce(x, fn, dim, keepdim, op=None):
    """argmax/argmin: int64 indices, never part of the graph (`op` names the caller in errors)."""
    xp = array_module(x._data)
    axes = None if dim is None else (_dim(dim, x.ndim, op or fn),) if x.ndim else ()
    check_extent(x.shape, axes, op or fn, IndexError)
    if dim is None:
        out = getattr(xp, fn)(x._data.reshape(-1))
        if keepdim:
            out = xp.asarray(out).reshape((1,) * x.ndim)
        return _const(xp.asarray(out, dtype=_np.int64))
    d = _dim(dim, x.ndim, fn)
    if not x.ndim:                  # torch: dim 0 / -1 of a 0-d tensor, index 0
        return _const(xp.zeros((), dtype=_np.int64))
    out = getattr(xp, fn)(x._data, axis=d, keepdims=keepdim)
    return _const(out.astype(_np.int64, copy=False))


def max_min_dim(x, dim, keepdim, kind):
    """max/min along dim: (values, indices); the gradient goes to the chosen index only."""
    idx = arg_reduce(x, "argmax" if kind == "max" else "argmin", dim, True, op=kind)
    values = x.gather(dim, idx)
    if not keepdim:
        values, idx = values.squeeze(dim), idx.squeeze(dim)
    return MaxMin(values, idx)


def _var(x, dim, correction, keepdim, op="var"):
    """var = sum((x - mean)^2) / (n - correction), composed so it differentiates twice."""
    axes = _axes(dim, x.ndim, op=op)
    n = _count(x.shape, axes)
    mu = x.mean(dim=axes, keepdim=True)
    d = x - mu
    return (d * d).sum(dim=axes, keepdim=keepdim) * (1.0 / builtins.max(n - correction, 0) if
                                                      n - correction > 0 else float("nan"))


def _norm(x, p, dim, keepdim):
    axes = _axes(dim, x.ndim)
    if not isinstance(p, (str, int, float, _np.number)):
        raise TypeError(f"norm: p must be a number or 'fro', got {type(p).__name__} for input "
                        f"{tuple(x.shape)} {x.dtype}")
    if p in ("fro", 2, 2.0):
        return Norm2.apply(x, axes=axes, keepdim=keepdim)
    if p in (float("inf"), "inf"):
        return x.abs().amax(dim=axes, keepdim=keepdim)
    if p in (1, 1.0):
        return x.abs().sum(dim=axes, keepdim=keepdim)
    if isinstance(p, (int, float)) and p > 0:
        return (x.abs() ** p).sum(dim=axes, keepdim=keepdim) ** (1.0 / p)
    raise ValueError(f"norm: unsupported p={p!r} (use 'fro', a positive number, or inf)")
