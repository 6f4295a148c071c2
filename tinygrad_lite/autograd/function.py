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
    seq = 0                   # creation counter, shared; the walk uses it only for stable ordering

    def save_for_backward(self, *arrays) -> None:
        self._to_save = arrays

    # -- what backward sees -------------------------------------------------------------
    @property
    def saved_tensors(self) -> tuple:
        """The saved arrays as Tensors; inputs keep their link to the graph (for double backward)."""
        from ..tensor import Tensor
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
            else:
                out.append(Tensor._make(array, False, None, None))
        return tuple(out)

    @classmethod
    def name(cls) -> str:
        return cls.__name__

    # -- building a node ----------------------------------------------------------------
    @classmethod
    def apply(cls, *args, **params):
        """Run forward on the arrays of `args`; record a node when grad is on and an input needs it."""
        from ..tensor import Tensor, _Version
        arrays = []
        needs = []
        tensors = []
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a.data)
                needs.append(a.requires_grad)
                tensors.append(a)
            else:
                arrays.append(a)
                needs.append(False)
        if len(tensors) > 1:
            dev = tensors[0].device
            for t in tensors:
                if t.device != dev:
                    _device_error(cls, tensors)
        ctx = cls.__new__(cls)
        record = state.grad_enabled and cls.differentiable and True in needs
        ctx.needs_input_grad = tuple(needs) if record else (False,) * len(needs)
        ctx._to_save = ()
        if state.observers:
            return _observed_apply(cls, ctx, args, arrays, tensors, params, record)
        out = ctx.forward(*arrays, **params)
        if not record:
            return Tensor._make(out, False, None, None)
        version = _Version()
        _finish_node(ctx, args, arrays, out, version)
        return Tensor._make(out, True, ctx, version)

    def backward(self, grad):  # pragma: no cover - every op overrides it
        raise NotImplementedError(f"{self.name()} has no backward")


def _finish_node(ctx, args, arrays, out, out_version) -> None:
    """Resolve what forward saved into (kind, array, link, version, seen) records; store parents."""
    from ..tensor import Tensor
    parents = []
    meta = []
    for a in args:
        if isinstance(a, Tensor):
            meta.append((a.shape, a.dtype))
            if not a.requires_grad:
                parents.append(None)
            elif a.grad_fn is None:
                parents.append(a)
            else:
                parents.append(a.grad_fn)
        else:
            meta.append(None)
            parents.append(None)
    ctx.parents = parents
    ctx.in_meta = meta
    Function.seq += 1
    ctx.seq = Function.seq
    saved = []
    for s in ctx._to_save:
        rec = None
        if s is None:
            rec = ("none", None, None, None, 0)
        elif s is out:
            rec = ("node", out, ctx, out_version, 0)
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
    from ..tensor import Tensor, _Version
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
