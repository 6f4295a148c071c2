"""Reverse-mode autograd: the Function base, the backward walk, grad modes and checks."""
from __future__ import annotations

from typing import Optional, Sequence

from . import function as _function
from .function import Function
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                        set_grad_enabled)
from .gradcheck import gradcheck, gradgradcheck
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .graph import graph_stats
from .profiler import profile

__all__ = ["Function", "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "inference_mode", "gradcheck", "gradgradcheck", "profile",
           "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "graph_stats"]


def _seed_grads(outputs, grad_outputs, op):
    Tensor, _like = _function.Tensor, _function.like     # bound by tensor.py: the seam
    seeds = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if grad_outputs is not None else None
        if g is None:
            if out.numel() != 1:
                raise RuntimeError(f"{op}: grad can be implicitly created only for scalar outputs; "
                                   f"output {i} has shape {tuple(out.shape)}, pass a gradient")
            xp = __import__("numpy") if out.device == "cpu" else None
            g = Tensor._make((xp or _cupy()).ones(out.shape, dtype=out.dtype), False, None, None)
        else:
            g = _like(g, out)
            if g.shape != out.shape:
                raise RuntimeError(f"{op}: gradient of shape {tuple(g.shape)} does not match "
                                   f"output {i}'s shape {tuple(out.shape)}")
            if g.device != out.device:
                raise RuntimeError(f"{op}: gradient on {g.device} but output {i} on {out.device}")
            if g.dtype != out.dtype:
                g = g.to(out.dtype)
        seeds.append(g)
    return seeds


def _cupy():
    from ..backend import get_cupy
    return get_cupy()


def backward(tensors, grad_tensors=None, retain_graph: Optional[bool] = None,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate gradients of `tensors` into the `.grad` of every leaf that reaches them."""
    Tensor = _function.Tensor
    from .engine import run_backward
    if isinstance(tensors, Tensor):
        tensors = [tensors]
        if grad_tensors is not None and not isinstance(grad_tensors, (list, tuple)):
            grad_tensors = [grad_tensors]
    tensors = list(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    seeds = _seed_grads(tensors, grad_tensors, "backward")
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        got = grad(tensors, inputs, seeds, retain_graph=retain_graph, create_graph=create_graph,
                   allow_unused=True)
        for t, g in zip(inputs, got):
            if g is not None:
                g = g if create_graph else g.detach()
                t.grad = g.clone() if t.grad is None else t.grad + g
        return
    run_backward(tensors, seeds, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph: Optional[bool] = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """Return d(outputs)/d(inputs) without touching any `.grad`."""
    Tensor = _function.Tensor
    from .engine import run_backward
    single_out = isinstance(outputs, Tensor)
    outputs = [outputs] if single_out else list(outputs)
    if isinstance(grad_outputs, Tensor) or (grad_outputs is not None and single_out
                                            and not isinstance(grad_outputs, (list, tuple))):
        grad_outputs = [grad_outputs]
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {tuple(t.shape)}) does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    seeds = _seed_grads(outputs, grad_outputs, "grad")
    keys = [t.grad_fn if t.grad_fn is not None else id(t) for t in inputs]
    capture = {k: None for k in keys}
    run_backward(outputs, seeds, retain_graph, create_graph, capture=capture, accumulate=False)
    result = []
    for i, (t, k) in enumerate(zip(inputs, keys)):
        g = capture[k]
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {tuple(t.shape)}) was not used in the "
                               "graph; pass allow_unused=True if this is intended")
        if g is not None and not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)
