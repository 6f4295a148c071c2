"""One seeded generator per backend; `manual_seed` resets both."""
from __future__ import annotations

import numpy as np

from . import backend

_state = {"seed": 0, "cpu": np.random.default_rng(0), "cuda": None, "cuda_seed": 0}


_SEED_RANGE = (-(1 << 63), (1 << 64) - 1)


def _checked_seed(seed, op: str) -> int:
    """The seed as torch takes it: in [-2**63, 2**64), a negative one counting from 2**64."""
    seed = int(seed)
    if not _SEED_RANGE[0] <= seed <= _SEED_RANGE[1]:
        raise ValueError(f"{op}: seed must be in [{_SEED_RANGE[0]}, {_SEED_RANGE[1]}], "
                         f"got {seed}")
    return seed % (1 << 64)


def manual_seed(seed: int) -> None:
    """Seed every backend: the same seed gives the same numbers on each run. As in torch, a
    negative seed counts from 2**64 (-1 is 2**64 - 1)."""
    seed = _checked_seed(seed, "manual_seed")
    _state["seed"] = _state["cuda_seed"] = seed
    _state["cpu"] = np.random.default_rng(seed)
    _state["cuda"] = None


def manual_seed_cuda(seed: int) -> None:
    """Seed only the GPU's generator (torch.cuda.manual_seed); parameters are drawn on the CPU
    generator, so this reaches dropout masks and other draws made on the device."""
    _state["cuda_seed"] = _checked_seed(seed, "cuda.manual_seed")
    _state["cuda"] = None


seed = manual_seed


def initial_seed() -> int:
    return _state["seed"]


def generator(device="cpu"):
    """The generator for `device` (CuPy's is made lazily from the same seed)."""
    if backend.Device(device) == "cuda":
        if _state["cuda"] is None:
            cp = backend.get_cupy()
            _state["cuda"] = cp.random.default_rng(_state["cuda_seed"])
        return _state["cuda"]
    return _state["cpu"]


def get_rng_state() -> dict:
    return {"seed": _state["seed"], "cpu": _state["cpu"].bit_generator.state}


def set_rng_state(state: dict) -> None:
    _state["seed"] = state["seed"]
    _state["cpu"] = np.random.default_rng()
    _state["cpu"].bit_generator.state = state["cpu"]


def _cast(a, dtype, device):
    return backend.to_device(np.asarray(a, dtype=dtype), device)


def uniform(shape, low, high, dtype, device):
    """Parameters are drawn on the CPU generator so a seed gives the same weights on any device."""
    return _cast(_state["cpu"].uniform(low, high, size=shape), dtype, device)


def normal(shape, mean, std, dtype, device):
    return _cast(_state["cpu"].normal(mean, std, size=shape), dtype, device)


def integers(shape, low, high, dtype, device):
    return _cast(_state["cpu"].integers(low, high, size=shape), dtype, device)


def bernoulli_mask(shape, keep: float, dtype, device):
    """A 0/1 mask drawn on the device itself (dropout runs every step; no host round trip)."""
    gen = generator(device)
    return (gen.random(size=shape, dtype=np.float32) < keep).astype(dtype)


def sample(method: str, shape, dtype, device, *args, **kwargs):
    """Draw with the CPU generator's `method` (exponential, poisson, geometric, ...), like the
    parameter draws above, so one seed gives the same numbers on any device."""
    args = tuple(backend.to_device(a, "cpu") if hasattr(a, "shape") else a for a in args)
    return _cast(getattr(_state["cpu"], method)(*args, size=shape, **kwargs), dtype, device)
