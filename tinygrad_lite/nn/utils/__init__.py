"""Gradient clipping and flattening parameters to one vector (torch.nn.utils); padding
sequences of different lengths in nn.utils.rnn."""
from __future__ import annotations

import math
from typing import Iterable, Union

from ...autograd.grad_mode import no_grad
from ...backend import array_module
from ...functions.indexing import cat
from ...tensor import Tensor, _const
from . import rnn  # noqa: F401  (nn.utils.rnn, as in torch)

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]

_Params = Union[Tensor, Iterable[Tensor]]


def _as_list(parameters: _Params) -> list:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters: _Params, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Scale all gradients by min(1, max_norm / (||g|| + 1e-6)); return the total norm ||g||."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return _const(array_module().asarray(0.0, dtype="float32"))
    xp = array_module(grads[0]._data)
    dt = grads[0].dtype
    if norm_type == math.inf:
        per = [xp.abs(g._data).max() if g.numel() else xp.asarray(0.0, dt) for g in grads]
        total = xp.max(xp.stack(per))
    else:
        # per-tensor norms first, then the norm of the norms: the same number torch reports
        per = [xp.sum(xp.abs(g._data.astype(dt, copy=False)) ** norm_type) for g in grads]
        total = xp.sum(xp.stack(per)) ** (1.0 / norm_type)
    total = xp.asarray(total, dtype=dt)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} for gradients "
                           f"from {len(grads)} parameters is non-finite ({float(total)}), so it "
                           "cannot be clipped; set error_if_nonfinite=False to skip this check")
    coef = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    if coef < 1.0:
        with no_grad():
            for g in grads:
                g._data *= g.dtype.type(coef)
                g._version.v += 1
    return _const(total)


def clip_grad_value_(parameters: _Params, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            xp = array_module(p.grad._data)
            xp.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)
            p.grad._version.v += 1


def parameters_to_vector(parameters: _Params) -> Tensor:
    """One 1-D tensor holding every parameter, flattened in order (differentiable)."""
    params = _as_list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    dev = params[0].device
    for p in params:
        if p.device != dev:
            raise RuntimeError(f"parameters_to_vector: parameters on {dev} and {p.device}; "
                               "they must share a device")
    return cat([p.reshape(-1) for p in params], 0)


def vector_to_parameters(vec: Tensor, parameters: _Params) -> None:
    """Copy consecutive slices of `vec` into the parameters, in place."""
    if not isinstance(vec, Tensor) or vec.ndim != 1:
        raise TypeError(f"vector_to_parameters: expected a 1-D Tensor, got "
                        f"{getattr(vec, 'shape', type(vec).__name__)}")
    params = _as_list(parameters)
    need = sum(p.numel() for p in params)
    if vec.numel() != need:
        raise ValueError(f"vector_to_parameters: vector has {vec.numel()} elements but the "
                         f"parameters hold {need}")
    at = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p._data[...] = vec._data[at:at + n].reshape(p.shape).astype(p.dtype, copy=False)
            p._version.v += 1
            at += n
