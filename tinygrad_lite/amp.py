"""torch.amp's GradScaler: loss scaling for low-precision training, with torch's arithmetic.

scale(loss) multiplies by the scale; unscale_(opt) divides the gradients back and notes whether
any is inf or NaN; step(opt) skips the update when one was; update() halves the scale after a
skipped step (backoff_factor) and doubles it after growth_interval clean ones (growth_factor).
The inf check stays on the device; step() reads it, which is the one sync torch makes too.
enabled=False makes every method a pass-through.

autocast(device_type, dtype, enabled, cache_enabled) is torch.amp.autocast: a context manager
(and decorator) under which ops on that device run in torch's per-op precision (the lists and
the casts are in autograd/autocast_mode.py). Thread-local; regions nest and restore on exit.
"""
from __future__ import annotations

import functools
import math
import warnings

import numpy as np

from . import backend
from . import dtypes as D
from .autograd import autocast_mode as _ac
from .autograd.grad_mode import no_grad, state

_READY, _UNSCALED, _STEPPED = 0, 1, 2
_DEVICES = ("cpu", "cuda")


def _device_type(device_type, op: str) -> str:
    if not isinstance(device_type, str):
        raise ValueError(f"{op}: expected `device_type` of type `str`, got: "
                         f"`{type(device_type)}`")
    if device_type not in _DEVICES:
        raise RuntimeError(f"{op}: device_type {device_type!r} has no autocast here; expected "
                           f"one of {', '.join(_DEVICES)}")
    return device_type


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast can run on `device_type` ("cpu" and "cuda" here)."""
    return device_type in _DEVICES


def is_autocast_enabled(device_type: str = None) -> bool:
    """Autocast's state on `device_type`; with no argument, cuda's (torch's legacy meaning)."""
    return _ac.local.enabled[_device_type(device_type or "cuda", "is_autocast_enabled")]


def set_autocast_enabled(device_type, enabled=None) -> None:
    """set_autocast_enabled(device_type, enabled), or the legacy set_autocast_enabled(enabled)
    for cuda."""
    if enabled is None:
        device_type, enabled = "cuda", device_type
    _ac.local.enabled[_device_type(device_type, "set_autocast_enabled")] = bool(enabled)
    _ac.refresh()


def get_autocast_dtype(device_type: str):
    """The dtype autocast casts to on `device_type`: float16 on cuda, bfloat16 on cpu, unless a
    region or set_autocast_dtype chose another."""
    d = _device_type(device_type, "get_autocast_dtype")
    return _ac.local.dtype[d] or _ac.default_dtype(d)


def set_autocast_dtype(device_type: str, dtype) -> None:
    _ac.local.dtype[_device_type(device_type, "set_autocast_dtype")] = D.to_dtype(dtype)
    _ac.refresh()


def is_autocast_cache_enabled() -> bool:
    return _ac.local.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    _ac.local.cache_enabled = bool(enabled)
    _ac.refresh()


def clear_autocast_cache() -> None:
    _ac.clear_cache()


def deprecated_alias(device: str, name: str) -> None:
    """The FutureWarning torch gives for torch.cuda.amp.X / torch.cpu.amp.X."""
    warnings.warn(f"`tinygrad_lite.{device}.amp.{name}(args...)` is deprecated. Please use "
                  f"`tinygrad_lite.amp.{name}('{device}', args...)` instead.", FutureWarning,
                  stacklevel=3)


def _lower_dtypes() -> tuple:
    bf16 = getattr(D, "bfloat16", None)
    return (D.float16,) if bf16 is None else (bf16, D.float16)


class autocast:  # noqa: N801  (torch's name)
    """torch.amp.autocast(device_type, dtype=None, enabled=True, cache_enabled=None).

    Inside, ops on `device_type` tensors run in torch's precision for each op: matmul, linear,
    conv and attention in `dtype` (default float16 on cuda, bfloat16 on cpu), losses and
    reductions torch lists in float32, the rest in their inputs' dtypes. enabled=False inside a
    region turns it off for the ops within; leaving a region restores what was before.
    Also a decorator: the function runs inside a fresh region each call.
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled=None):
        self.device = _device_type(device_type, "autocast")
        self.fast_dtype = get_autocast_dtype(self.device) if dtype is None \
            else D.to_dtype(dtype)
        self._cache_enabled = is_autocast_cache_enabled() if cache_enabled is None \
            else bool(cache_enabled)
        self._enabled = bool(enabled)
        self._saved: list = []
        if not self._enabled:
            return
        if self.device == "cuda" and not backend.cuda_is_available():
            warnings.warn("autocast: CUDA is not available. Disabling autocast.", UserWarning,
                          stacklevel=2)
            self._enabled = False
        elif self.fast_dtype is None or self.fast_dtype not in _lower_dtypes():
            names = ", ".join(f"tinygrad_lite.{d.name}" for d in _lower_dtypes())
            warnings.warn(f"In {self.device.upper()} autocast, but the target dtype is not "
                          f"supported. Disabling autocast.\n{self.device.upper()} Autocast "
                          f"only supports dtypes of {names} currently.", UserWarning,
                          stacklevel=2)
            self._enabled = False

    def __enter__(self):
        loc, d = _ac.local, self.device
        self._saved.append((loc.enabled[d], loc.dtype[d], loc.cache_enabled))
        loc.enabled[d], loc.dtype[d] = self._enabled, self.fast_dtype
        loc.cache_enabled = self._cache_enabled
        loc.depth += 1
        _ac.refresh()
        return self

    def __exit__(self, *exc):
        loc, d = _ac.local, self.device
        loc.depth -= 1
        if loc.depth == 0:          # torch empties the cast cache when the outermost exits
            loc.cache.clear()
        loc.enabled[d], loc.dtype[d], loc.cache_enabled = self._saved.pop()
        _ac.refresh()
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return wrapper


def custom_fwd(fwd=None, *, device_type: str, cast_inputs=None):
    """torch.amp.custom_fwd: with cast_inputs, a forward called inside an autocast region on
    device_type gets its floating tensor arguments cast to cast_inputs and runs with autocast
    off; without it (or outside a region) the forward runs as it is."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    _device_type(device_type, "custom_fwd")
    to = None if cast_inputs is None else D.to_dtype(cast_inputs)

    @functools.wraps(fwd)
    def forward(*args, **kwargs):
        region = state.autocast
        if to is None or region is None or device_type not in region.dtypes:
            return fwd(*args, **kwargs)
        args = tuple(_ac._cast_all(region, a, to) for a in args)
        kwargs = {k: _ac._cast_all(region, v, to) for k, v in kwargs.items()}
        with _ac.suspended():
            return fwd(*args, **kwargs)
    return forward


def custom_bwd(bwd=None, *, device_type: str):
    """torch.amp.custom_bwd: backward here always runs with autocast off, in the dtypes forward
    chose, so the decorator only checks its argument and returns bwd."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    _device_type(device_type, "custom_bwd")
    return bwd


class GradScaler:
    """torch.amp.GradScaler(device, init_scale, growth_factor, backoff_factor, growth_interval,
    enabled)."""

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True):
        if growth_factor <= 1.0:
            raise ValueError(f"GradScaler: growth_factor must be > 1, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"GradScaler: backoff_factor must be in (0, 1), got {backoff_factor}")
        if isinstance(growth_interval, bool) or not isinstance(growth_interval, int) \
                or growth_interval <= 0:
            raise ValueError(f"GradScaler: growth_interval must be a positive int, got "
                             f"{growth_interval!r}")
        self._device = str(backend.Device(device)) if device else "cpu"
        self._enabled = bool(enabled)
        if self._enabled and self._device == "cuda" and not backend.cuda_is_available():
            warnings.warn("GradScaler: device 'cuda' is not available, so loss scaling is "
                          "disabled (as torch does)", UserWarning, stacklevel=2)
            self._enabled = False
        self._init_scale = float(init_scale)
        self._scale = float(init_scale)
        self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
        self._growth_interval = growth_interval
        self._growth_tracker = 0
        self._per_optimizer: dict = {}

    # -- the training-step calls ---------------------------------------------------------
    def scale(self, outputs):
        """outputs * scale (a tensor, or lists/tuples of them)."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        from .tensor import Tensor  # noqa: PLC0415
        if not isinstance(outputs, Tensor):
            raise TypeError(f"GradScaler.scale: expected a Tensor or a sequence of them, got "
                            f"{type(outputs).__name__}")
        return outputs * self.get_scale()       # the product keeps the loss's own dtype

    @staticmethod
    def _f32(v: float) -> float:
        return float(np.float32(v))         # the scale is float32, as torch keeps it

    def _state(self, optimizer) -> dict:
        return self._per_optimizer.setdefault(id(optimizer), {"stage": _READY, "found_inf": []})

    def unscale_(self, optimizer) -> None:
        """Divide optimizer's gradients by the scale, in place, and note any inf or NaN."""
        if not self._enabled:
            return
        st = self._state(optimizer)
        if st["stage"] == _UNSCALED:
            raise RuntimeError("GradScaler.unscale_: already called on this optimizer since "
                               "the last update()")
        if st["stage"] == _STEPPED:
            raise RuntimeError("GradScaler.unscale_: called after step() (call it before)")
        inv = self._f32(1.0 / self._f32(self._scale))
        flags = []
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if p.grad.dtype.name == "float16":
                        raise ValueError("GradScaler.unscale_: attempting to unscale float16 "
                                         "gradients; keep float32 master weights")
                    g = p.grad._data
                    xp = backend.array_module(g)
                    g *= g.dtype.type(inv)
                    flags.append(~xp.isfinite(g).all())
        st["found_inf"] = flags
        st["stage"] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """optimizer.step(...) unless the unscaled gradients hold an inf or NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("GradScaler.step: closures are not supported (as in torch)")
        st = self._state(optimizer)
        if st["stage"] == _STEPPED:
            raise RuntimeError("GradScaler.step: already called on this optimizer since the "
                               "last update()")
        if st["stage"] == _READY:
            self.unscale_(optimizer)
        found = any(bool(f) for f in st["found_inf"])    # the sync torch makes here as well
        st["skipped"] = found
        st["stage"] = _STEPPED
        return None if found else optimizer.step(*args, **kwargs)

    def update(self, new_scale=None) -> None:
        """Back off after a skipped step, grow after growth_interval clean ones; or set the
        scale to new_scale."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale.item() if hasattr(new_scale, "item") else new_scale)
        else:
            stepped = [st for st in self._per_optimizer.values() if "skipped" in st]
            if not stepped:
                raise RuntimeError("GradScaler.update: no inf checks were recorded before it "
                                   "(call step(optimizer) first)")
            if any(st["skipped"] for st in stepped):
                self._scale = self._f32(self._f32(self._scale) * self._backoff_factor)
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = self._f32(self._f32(self._scale) * self._growth_factor)
                    if math.isfinite(grown):          # torch keeps the scale if it would overflow
                        self._scale = grown
                    self._growth_tracker = 0
        self._per_optimizer.clear()

    # -- queries and state ---------------------------------------------------------------
    def get_scale(self) -> float:
        return self._f32(self._scale) if self._enabled else 1.0

    def is_enabled(self) -> bool:
        return self._enabled

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def state_dict(self) -> dict:
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if not state_dict:
            raise RuntimeError("GradScaler.load_state_dict: the state_dict is empty (it came "
                               "from a disabled GradScaler)")
        self._scale = float(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])
