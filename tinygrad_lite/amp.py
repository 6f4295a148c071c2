"""torch.amp's GradScaler: loss scaling for low-precision training, with torch's arithmetic.

scale(loss) multiplies by the scale; unscale_(opt) divides the gradients back and notes whether
any is inf or NaN; step(opt) skips the update when one was; update() halves the scale after a
skipped step (backoff_factor) and doubles it after growth_interval clean ones (growth_factor).
The inf check stays on the device; step() reads it, which is the one sync torch makes too.
enabled=False makes every method a pass-through.

autocast is not offered yet: there is no bfloat16 dtype to cast to on the CPU.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from . import backend
from .autograd.grad_mode import no_grad

_READY, _UNSCALED, _STEPPED = 0, 1, 2


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
