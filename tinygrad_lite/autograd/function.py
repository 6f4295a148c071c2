"""The Function base: forward on arrays, backward on Tensors, and what a node keeps for backward.

A node is the Function instance that made a tensor. It keeps only what backward needs:
`parents` (per input: the input's node, the leaf tensor itself, or None when no grad flows there),
the inputs' shapes and dtypes (to undo broadcasting), and the arrays saved by `save_for_backward`.
It never holds its own output tensor, so the graph has no reference cycles.
"""
from __future__ import annotations

import time

from .grad_mode import state

_FREED = "freed"
Tensor = _Version = None    # bound by tinygrad_lite/tensor.py once those classes exist


class SavedTensorsFreedError(RuntimeError):
    pass


class Function:
    """Subclasses write forward(self, *arrays, **params) -> array and backward(self, grad) -> grads.

    forward receives the inputs' arrays (numpy or cupy) and returns one array. It may call
    self.save_for_backward(...) with any of its input arrays, its output array or other arrays.
    backward receives the output's gradient as a Tensor and returns one gradient Tensor (or None)
    per positional input, written with Tensor ops so create_graph=True can differentiate it again.
    """

    differentiable = True     # False: outputs never require grad (argmax, comparisons, ...)
    tensor_hooks = None       # {handle id: hook} set by Tensor.register_hook on a non-leaf
    retained = None           # weakref to the tensor that asked for retain_grad()
    seq = 0                   # creation counter, shared; the walk uses it only for stable ordering

    def save_for_backward(self, *arrays) -> None:
        self._to_save = arrays

    # -- what backward sees -------------------------------------------------------------
    @property
    def saved_tensors(self) -> tuple:
        """The saved arrays as Tensors; inputs keep their link to the graph (for double backward)."""
        saved = self._saved
        if saved is _FREED:
            raise SavedTensorsFreedError(
                f"{self.name()}: trying to backward through the graph a second time; its saved "
                "tensors were freed after the first backward. Pass retain_graph=True to the first "
                "backward (or autograd.grad) to keep them.")
        out = []
        for kind, array, link, version, seen in saved:
            if kind == "none":
                out.append(None)
                continue
            if version is not None and version.v != seen:
                raise RuntimeError(
                    f"{self.name()}: a tensor saved for backward (shape {tuple(array.shape)}, dtype "
                    f"{array.dtype}) was modified by an in-place operation after it was saved "
                    f"(version {seen}, now {version.v}); use an out-of-place op or .clone() first")
            if kind == "leaf":
                out.append(link)
            elif kind == "node":
                out.append(Tensor._make(array, link is not None, link, version))
            elif kind == "out":
                out.append(Tensor._make(array, True, self, version))
            elif hasattr(array, "shape"):
                out.append(Tensor._make(array, False, None, None))
            else:
                out.append(array)      # a Python number passed as an operand
        return tuple(out)

    @classmethod
    def name(cls) -> str:
        return cls.__name__

    # -- building a node ----------------------------------------------------------------
    @classmethod
    def apply(cls, *args, **params):
        """Run forward on the arrays of `args`; record a node when grad is on and an input needs it."""
        # the hot path of every op: comprehensions, no per-call imports, no property lookups
        T = Tensor
        tensors = [a for a in args if isinstance(a, T)]
        arrays = [a.data if isinstance(a, T) else a for a in args]
        if len(tensors) > 1:
            kind = type(tensors[0].data)
            for t in tensors:
                if type(t.data) is not kind and t.device != tensors[0].device:
                    _device_error(cls, tensors)
        ctx = cls.__new__(cls)
        record = False
        if state.grad_enabled and cls.differentiable:
            for t in tensors:
                if t.requires_grad:
                    record = True
                    break
        if record:
            ctx.needs_input_grad = tuple([isinstance(a, T) and a.requires_grad for a in args])
        else:
            ctx.needs_input_grad = (False,) * len(args)
        ctx._to_save = ()
        if state.observers:
            return _observed_apply(cls, ctx, args, arrays, tensors, params, record)
        out = ctx.forward(*arrays, **params)
        if not record:
            return T._make(out, False, None, None)
        version = _Version()
        _finish_node(ctx, args, arrays, out, version)
        return T._make(out, True, ctx, version)

    def backward(self, grad):  # pragma: no cover - every op overrides it
        raise NotImplementedError(f"{self.name()} has no backward")


def _finish_node(ctx, args, arrays, out, out_version) -> None:
    """Resolve what forward saved into (kind, array, link, version, seen) records; store parents."""
    T = Tensor
    ctx.parents = [(a.grad_fn or a) if isinstance(a, T) and a.requires_grad else None
                   for a in args]
    ctx.in_meta = [(a.data.shape, a.data.dtype) if isinstance(a, T) else None for a in args]
    Function.seq += 1
    ctx.seq = Function.seq
    saved = []
    for s in ctx._to_save:
        rec = None
        if s is None:
            rec = ("none", None, None, None, 0)
        elif s is out:
            # not ("node", out, ctx, ...): a node holding itself is a cycle that only gc frees
            rec = ("out", out, None, out_version, 0)
        else:
            for a, arr in zip(args, arrays):
                if arr is s and isinstance(a, Tensor):
                    if a.requires_grad and a.grad_fn is None:
                        rec = ("leaf", s, a, a._version, a._version.v)
                    else:
                        rec = ("node", s, a.grad_fn if a.requires_grad else None,
                               a._version, a._version.v)
                    break
        saved.append(rec or ("const", s, None, None, 0))
    ctx._saved = saved
    del ctx._to_save


def _device_error(cls, tensors):
    desc = ", ".join(f"{tuple(t.shape)} {t.dtype} on {t.device}" for t in tensors)
    raise RuntimeError(f"{cls.name()}: expected all tensors on one device, got {desc}; "
                       "move them with .to(device) first")


def _observed_apply(cls, ctx, args, arrays, tensors, params, record):
    """The slow path of apply, taken only while a profiler or anomaly mode is watching."""
    t0 = time.perf_counter()
    out = ctx.forward(*arrays, **params)
    seconds = time.perf_counter() - t0
    if record:
        version = _Version()
        _finish_node(ctx, args, arrays, out, version)
        result = Tensor._make(out, True, ctx, version)
    else:
        result = Tensor._make(out, False, None, None)
    for obs in list(state.observers):
        obs.on_forward(cls.name(), tensors, result, seconds, ctx if record else None)
    return result
