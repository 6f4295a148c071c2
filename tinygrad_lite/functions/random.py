"""Random sampling: rand/randn/randint/randperm and their *_like forms, normal, bernoulli,
multinomial, poisson, the in-place fills behind bernoulli_/exponential_/random_/..., and
torch.Generator. The generator state lives in tinygrad_lite/random.py (manual_seed, seed,
initial_seed are re-exported here)."""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend as B
from .. import dtypes as D
from .. import random as R
from .._checks import check_int, check_number, shape_arg
from .._checks import check_tensor as _tensor
from .._checks import describe as _desc
from .._checks import need_float as _need_float
from .._checks import tensor_or_array as _t
from ..backend import array_module
from ..tensor import Tensor, _const
from .creation import _finish, _like_args, _positional_or_keyword

# the generator state lives in tinygrad_lite/random.py; torch lists its seeding with sampling
initial_seed, manual_seed, seed = R.initial_seed, R.manual_seed, R.seed


def multinomial(input, num_samples: int, replacement: bool = False, generator=None) -> Tensor:
    """Draw `num_samples` category indices per row, with probability proportional to `input`."""
    w = _t(input)
    num_samples = check_int(num_samples, "num_samples", "multinomial", low=None, index=True)
    if w.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: input must be 1-D or 2-D, got shape {tuple(w.shape)}")
    # sampling is a host-side loop over rows; the weights are few, so the copy is cheap
    rows = np.asarray(B.to_device(w._data, "cpu"), dtype=np.float64).reshape(-1, w.shape[-1])
    num_samples = int(num_samples)
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: num_samples must be positive, got {num_samples}")
    if not np.all(np.isfinite(rows)) or (rows < 0).any():
        raise RuntimeError("multinomial: probability tensor contains inf, nan or a negative "
                           "entry")
    rng = generator.rng if isinstance(generator, Generator) else R.generator("cpu")
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, row in enumerate(rows):
        total = row.sum()
        if total <= 0:
            raise RuntimeError(f"multinomial: row {i} of the weights sums to zero")
        if not replacement and num_samples > np.count_nonzero(row):
            raise RuntimeError(f"multinomial: cannot draw {num_samples} samples without "
                               f"replacement from {np.count_nonzero(row)} nonzero categories")
        out[i] = rng.choice(row.size, size=num_samples, replace=replacement, p=row / total)
    out = out.reshape(w.shape[:-1] + (num_samples,))
    return Tensor._make(B.to_device(out, w.device), False, None, None)


def normal(mean, std=1.0, size=None, generator=None, dtype=None, device=None,
           requires_grad=False) -> Tensor:
    """Samples of N(mean, std^2): floats with `size=`, or elementwise from tensor mean/std."""
    for name, v in (("mean", mean), ("std", std)):
        if isinstance(v, bool) or not isinstance(v, (Tensor, numbers.Real)):
            raise TypeError(f"normal: {name} must be a Tensor or a number, got "
                            f"{type(v).__name__} {v!r}")
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        try:
            shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        except ValueError:
            raise ValueError(f"normal: mean {np.shape(m)} and std {np.shape(s)} do not "
                             "broadcast") from None
        z = R.normal(shape, 0.0, 1.0, ref.dtype, ref.device)
        out = Tensor._make((z * s + m).astype(ref.dtype, copy=False), False, None, None)
    else:
        if size is None:
            raise TypeError("normal: with float mean and std, give size=")
        shape = (size,) if isinstance(size, int) else tuple(size)
        dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
        dev = device if device is not None else B.get_default_device()
        out = Tensor._make(R.normal(shape, float(mean), float(std), dt, dev), False, None, None)
    return out.requires_grad_(True) if requires_grad else out


class Generator:
    """`torch.Generator()`: a private seeded stream for samplers and `random_split`."""

    def __init__(self, device="cpu"):
        self.device = device
        self._seed = int(np.random.SeedSequence().entropy % (2 ** 63))
        self.rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        return self._seed

    def seed(self) -> int:
        return self.manual_seed(int(np.random.SeedSequence().entropy % (2 ** 63)))._seed




# -- random -----------------------------------------------------------------------------------
def _probabilities(p, ref: Tensor, op: str):
    """p as an array on ref's device in [0, 1] (a number or a tensor broadcast to ref)."""
    xp = array_module(ref._data)
    if isinstance(p, Tensor):
        a = B.to_device(p._data, ref.device)
        try:
            a = xp.broadcast_to(a, ref.shape)
        except ValueError:
            raise ValueError(f"{op}: p of shape {tuple(p.shape)} does not broadcast to "
                             f"{tuple(ref.shape)}") from None
    else:
        a = xp.asarray(check_number(p, "p", op, finite=False))
    if a.size and not bool(((a >= 0) & (a <= 1)).all()):
        raise ValueError(f"{op}: p must be in [0, 1] (shape {tuple(ref.shape)} {ref.dtype})")
    return a


def bernoulli_fill(self: Tensor, p=0.5) -> np.ndarray:
    """0/1 draws with probability p, in self's dtype: what bernoulli_ writes."""
    prob = _probabilities(p, self, "bernoulli_")
    u = R.uniform(self.shape, 0.0, 1.0, np.float64, self.device)
    return (u < prob).astype(self.dtype)


def _float_target(self: Tensor, op: str) -> Tensor:
    if not isinstance(self, Tensor) or not D.is_floating(self.dtype):
        raise TypeError(f"{op}: expected a floating point tensor, got "
                        f"{_desc(self) if isinstance(self, Tensor) else type(self).__name__}")
    return self


def exponential_fill(self: Tensor, lambd=1.0):
    _float_target(self, "exponential_")
    lambd = check_number(lambd, "lambd", "exponential_", finite=False)
    if lambd <= 0:
        raise ValueError(f"exponential_: lambd must be positive, got {lambd}")
    return R.sample("exponential", self.shape, self.dtype, self.device, 1.0 / lambd)


def cauchy_fill(self: Tensor, median=0.0, sigma=1.0):
    _float_target(self, "cauchy_")
    sigma = check_number(sigma, "sigma", "cauchy_", finite=False)
    if sigma <= 0:
        raise ValueError(f"cauchy_: sigma must be positive, got {sigma}")
    z = R.sample("standard_cauchy", self.shape, np.float64, "cpu")
    median = check_number(median, "median", "cauchy_", finite=False)
    return B.to_device((median + sigma * z).astype(self.dtype),
                       self.device)


def log_normal_fill(self: Tensor, mean=1.0, std=2.0):
    _float_target(self, "log_normal_")
    std = check_number(std, "std", "log_normal_", finite=False)
    if std <= 0:
        raise ValueError(f"log_normal_: std must be positive, got {std}")
    return R.sample("lognormal", self.shape, self.dtype, self.device,
                    check_number(mean, "mean", "log_normal_", finite=False), std)


def geometric_fill(self: Tensor, p):
    p = check_number(p, "p", "geometric_", finite=False)
    if not 0 < p < 1:
        raise ValueError(f"geometric_: p must be in (0, 1), got {p}")
    return R.sample("geometric", self.shape, self.dtype, self.device, p)


def random_fill(self: Tensor, *args, **kwargs):
    """random_(), random_(to), random_(from, to): integers in [from, to) (torch's defaults:
    [0, 2**mantissa] for floats, [0, max] for integers)."""
    low = kwargs.pop("from", None)
    high = kwargs.pop("to", None)
    if kwargs or len(args) > 2:
        raise TypeError(f"random_: takes (from, to), got {args!r} {sorted(kwargs)}")
    if len(args) == 2:
        low, high = args
    elif len(args) == 1:
        if low is None:
            low, high = (0, args[0]) if high is None else (args[0], high)
        else:
            high = args[0]
    low = 0 if low is None else check_int(low, None, "random_", low=None)
    dt = self.dtype
    if high is None:
        if D.is_floating(dt):
            top = 2 ** (np.finfo(dt).nmant + 1)
        else:
            top = D.iinfo(dt).max
        return R.sample("integers", self.shape, dt, self.device, low, top, endpoint=True)
    high = check_int(high, None, "random_", low=None)
    if high <= low:
        raise ValueError(f"random_: expects 'from' ({low}) to be less than 'to' ({high})")
    return R.sample("integers", self.shape, dt, self.device, low, high)


def bernoulli(input, p=None, *, generator=None) -> Tensor:
    """0/1 draws with probability `input` (or p), in input's dtype."""
    x = _tensor(input, "bernoulli")
    return _const(bernoulli_fill(x, x if p is None else p))


def poisson(input, generator=None) -> Tensor:
    """Poisson draws with rate `input`, in input's dtype."""
    x = _need_float(_tensor(input, "poisson"), "poisson")
    if x.numel() and not bool((x._data >= 0).all()):
        raise ValueError(f"poisson: rates must be non-negative ({_desc(x)})")
    return _const(R.sample("poisson", x.shape, x.dtype, x.device, x._data))


def randint_like(input, low=0, high=None, *, dtype=None, device=None,
                 requires_grad=False) -> Tensor:
    """Integers in [low, high) with input's shape (and dtype and device unless given)."""
    x = _tensor(input, "randint_like")
    if high is None:
        low, high = 0, low
    low = check_int(low, None, "randint_like", low=None)
    high = check_int(high, None, "randint_like", low=None)
    if high <= low:
        raise ValueError(f"randint_like: high ({high}) must be greater than low ({low})")
    dt = D.to_dtype(dtype) if dtype is not None else x.dtype
    dev = device if device is not None else x.device
    out = _const(R.integers(x.shape, low, high, dt, dev))
    return out.requires_grad_(True) if requires_grad else out




def rand_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt, dev = _like_args(t, dtype, device, "rand_like")
    return rand(t.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def randn_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    dt, dev = _like_args(t, dtype, device, "randn_like")
    return randn(t.shape, dtype=dt, device=dev, requires_grad=requires_grad)


def rand(*args, size=None, dtype=None, device=None, requires_grad=False,
         generator=None) -> Tensor:
    size = _positional_or_keyword(args, size, "rand")
    dev = device if device is not None else B.get_default_device()
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    shape = shape_arg(size, "rand", size=True)
    return _finish(R.uniform(shape, 0.0, 1.0, dt, dev), dt, dev, requires_grad)


def randn(*args, size=None, dtype=None, device=None, requires_grad=False,
          generator=None) -> Tensor:
    size = _positional_or_keyword(args, size, "randn")
    dev = device if device is not None else B.get_default_device()
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    shape = shape_arg(size, "randn", size=True)
    return _finish(R.normal(shape, 0.0, 1.0, dt, dev), dt, dev, requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None, generator=None) -> Tensor:
    if high is None:
        low, high = 0, low
    elif isinstance(high, (tuple, list)):
        low, high, size = 0, low, high    # torch's randint(high, size) form
    for name, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)):
            raise TypeError(f"randint: {name} must be an int, got {type(v).__name__} {v!r}")
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    dev = device if device is not None else B.get_default_device()
    dt = D.to_dtype(dtype) if dtype is not None else D.int64
    shape = shape_arg((size,) if isinstance(size, int) else size, "randint", size=True)
    return _finish(R.integers(shape, low, high, dt, dev), dt, dev, False)


def randperm(n, dtype=None, device=None) -> Tensor:
    n = shape_arg((n,), "randperm", size=True)[0]
    return _finish(R.generator("cpu").permutation(n), dtype or D.int64, device, False)
