"""The Function base: forward on arrays, backward on Tensors, and what a node keeps for backward.

A node is the Function instance that made a tensor. It keeps only what backward needs:
`parents` (per input: the input's node, the leaf tensor itself, or None when no grad flows there),
the inputs' shapes and dtypes (to undo broadcasting), and the arrays saved by `save_for_backward`.
It never holds its own output tensor, so the graph has no reference cycles.
"""
from __future__ import annotations

import itertools
import time

import numpy as np

from .. import dtypes as D
from ..backend import array_module
from .grad_mode import state

_FREED = "freed"
Tensor = _Version = None    # bound by tinygrad_lite/tensor.py once those classes exist


def constant(array):
    """A Tensor around `array` that needs no grad: how ops/ backward formulas, written in
    Tensor ops, bring in an array of their own (a mask, a saved coefficient) without importing
    tensor.py."""
    return Tensor._make(array, False, None, None)


SCALARS = (int, float, bool, np.number, np.bool_)


def like(value, ref):
    """`value` as a Tensor on ref's device: a Tensor as it is, a number in ref's dtype (as torch
    types a Python scalar against a tensor), an array or list as NumPy types it."""
    if isinstance(value, Tensor):
        return value
    xp = array_module(ref._data)
    if isinstance(value, SCALARS):
        return constant(xp.asarray(value, dtype=D.scalar_dtype(ref.dtype, value)))
    return constant(xp.asarray(value))


# a module-level counter, not a class attribute: writing to Function on every op would
# invalidate CPython's attribute caches for every Function subclass each time
_node_counter = itertools.count(1)


class SavedTensorsFreedError(RuntimeError):
    pass


class Function:
    """Subclasses write forward(self, *arrays, **params) -> array and backward(self, grad) -> grads.

    forward receives the inputs' arrays (numpy or cupy) and returns one array. It may call
    self.save_for_backward(...) with any of its input arrays, its output array or other arrays.
    backward receives the output's gradient as a Tensor and returns one gradient Tensor (or None)
    per positional input, written with Tensor ops so create_graph=True can differentiate it again.
    An op whose backward is plain arithmetic may set arithmetic_backward = True: without
    create_graph the engine then runs that same backward on bare arrays, which is much cheaper.
    """

    differentiable = True     # False: outputs never require grad (argmax, comparisons, ...)
    tensor_hooks = None       # {handle id: hook} set by Tensor.register_hook on a non-leaf
    retained = None           # weakref to the tensor that asked for retain_grad()
    seq = 0                   # creation order; the walk uses it only for stable ordering
    _to_save = ()             # what forward passed to save_for_backward, until the node is built
    # True where backward uses only + - * / and unary minus on grad and the saved values: those
    # work on bare arrays as well as on Tensors, so with no graph to build the engine runs the same
    # formula on arrays (backward_on_arrays) and skips a Tensor and an op dispatch per term
    arithmetic_backward = False
    _on_arrays = False        # set only while backward_on_arrays runs
    # bfloat16 inputs: forward runs on float32 copies and its result is rounded back to bfloat16
    # (torch's CPU kernels compute and accumulate bfloat16 in float32); False runs it as it is
    bf16_in_float32 = True

    def save_for_backward(self, *arrays) -> None:
        self._to_save = arrays

    # -- what backward sees -------------------------------------------------------------
    @property
    def saved_tensors(self) -> tuple:
        """The saved arrays as Tensors; inputs keep their graph link (for double backward)."""
        saved = self._saved
        if saved is _FREED:
            raise SavedTensorsFreedError(
                f"{self.name()}: trying to backward through the graph a second time; its saved "
                "tensors were freed after the first backward. Pass retain_graph=True to the first "
                "backward (or autograd.grad) to keep them.")
        out = []
        on_arrays = self._on_arrays
        for kind, array, link, version, seen in saved:
            if kind == "none":
                out.append(None)
                continue
            if version is not None and version.v != seen:
                raise RuntimeError(
                    f"{self.name()}: a tensor saved for backward (shape {tuple(array.shape)}, "
                    f"dtype "
                    f"{array.dtype}) was modified by an in-place operation after it was saved "
                    f"(version {seen}, now {version.v}); use an out-of-place op or .clone() first")
            if on_arrays:
                out.append(array)
            elif kind == "leaf":
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

    def backward_on_arrays(self, grad) -> tuple:
        """backward with grad and the saved values as bare arrays (arithmetic_backward ops only,
        and only when no graph is being built); the gradients come back wrapped as Tensors."""
        data = grad._data
        self._on_arrays = True
        try:
            grads = self.backward(data)
        finally:
            del self._on_arrays
        if type(grads) is not tuple:
            grads = (grads,)
        T = Tensor
        out = []
        for g in grads:
            if g is data:           # passed through untouched (add, sub): reuse the Tensor
                g = grad
            elif g is not None:
                if not g.ndim:      # NumPy turns 0-d results into scalars
                    g = array_module(g).asarray(g)
                g = T._make(g, False, None, None)
            out.append(g)
        return tuple(out)

    @classmethod
    def name(cls) -> str:
        return cls.__name__

    # -- building a node ----------------------------------------------------------------
    @classmethod
    def apply(cls, *args, **params):
        """Run forward on the arrays of `args`; record a node if grad is on and an input needs it"""
        # the hot path of every op (backward formulas included): one pass over args, no property
        # lookups, and no node bookkeeping at all when nothing will be recorded
        region = state.autocast     # None outside autocast: this read is all it costs
        if region is not None:
            args = region.cast_function_args(cls, args, params)
        T = Tensor
        arrays = []
        kind = None             # the array type of the first tensor: numpy or cupy
        wants_grad = False
        low = False             # a bfloat16 input (see bf16_in_float32)
        for a in args:
            if isinstance(a, T):
                data = a._data
                if kind is None:
                    kind = type(data)
                elif type(data) is not kind:
                    _check_devices(cls, args)
                if a.requires_grad:
                    wants_grad = True
                if data.dtype is D.BF16:
                    low = True
                arrays.append(data)
            else:
                arrays.append(a)
        ctx = cls.__new__(cls)
        record = wants_grad and state.grad_enabled and cls.differentiable
        if record:
            _link_inputs(ctx, args)
        else:
            ctx.needs_input_grad = (False,) * len(args)
        if state.observers:
            return _observed_apply(cls, ctx, args, arrays, params, record)
        out = _bf16_forward(ctx, arrays, params) if low and cls.bf16_in_float32 else \
            ctx.forward(*arrays, **params)
        if not record:
            return T._make(out, False, None, None)
        if not ctx._to_save:        # saved nothing (add, sub, neg, ...)
            ctx._saved = ()
            return T._make(out, True, ctx, None)
        version = _finish_node(ctx, args, arrays, out)
        return T._make(out, True, ctx, version)

    def backward(self, grad):  # pragma: no cover - every op overrides it
        raise NotImplementedError(f"{self.name()} has no backward")


def _bf16_forward(ctx, arrays, params):
    """forward on float32 copies of the bfloat16 inputs, its float32 result rounded to bfloat16.

    What forward saved is mapped back (a copy to the input it came from, the float32 result to the
    rounded one), so saved inputs keep their graph link and version check. The array backward is
    turned off: its reductions would add in bfloat16, where the Tensor ops add in float32.
    """
    bf16 = D.BF16
    up = [a.astype(np.float32) if getattr(a, "dtype", None) is bf16 else a for a in arrays]
    out = ctx.forward(*up, **params)
    wide = any(hasattr(a, "shape") and a.dtype.kind == "f" and a.dtype.itemsize >= 4
               for a in arrays)      # a float32 input: the float32 result stands
    low = out.astype(bf16) if getattr(out, "dtype", None) == D.float32 and not wide else out
    if ctx._to_save:
        back = {id(u): a for u, a in zip(up, arrays) if u is not a}
        back[id(out)] = low
        ctx._to_save = tuple(back.get(id(s), s) for s in ctx._to_save)
    ctx.arithmetic_backward = False
    return low


def _link_inputs(ctx, args) -> None:
    """Before forward: which inputs need a gradient, where it flows, their shapes and dtypes."""
    T = Tensor
    needs = []
    parents = []
    in_meta = []
    for a in args:
        if isinstance(a, T):
            data = a._data
            if a.requires_grad:
                needs.append(True)
                parents.append(a.grad_fn or a)
            else:
                needs.append(False)
                parents.append(None)
            in_meta.append((data.shape, data.dtype))
        else:
            needs.append(False)
            parents.append(None)
            in_meta.append(None)
    ctx.needs_input_grad = tuple(needs)
    ctx.parents = parents
    ctx.in_meta = in_meta
    ctx.seq = next(_node_counter)


def _finish_node(ctx, args, arrays, out):
    """After forward: resolve what it saved into (kind, array, link, version, seen) records.

    Returns the version counter for the output when forward saved the output (None otherwise:
    the tensor then makes one only if it is ever changed in place).
    """
    T = Tensor
    out_version = None
    to_save = ctx._to_save
    # dropped: the node must not keep forward's arrays once they are resolved below
    # (reading ctx.__dict__ instead would make CPython build a real dict for every node)
    ctx._to_save = ()
    saved = []
    for s in to_save:
        rec = None
        if s is None:
            rec = ("none", None, None, None, 0)
        elif s is out:
            # not ("node", out, ctx, ...): a node holding itself is a cycle that only gc frees
            out_version = out_version or _Version()
            rec = ("out", out, None, out_version, 0)
        elif hasattr(s, "shape"):       # an array: find the input it came from, if any
            for a, arr in zip(args, arrays):
                if arr is s and isinstance(a, T):
                    if a.requires_grad and a.grad_fn is None:
                        rec = ("leaf", s, a, a._version, a._version.v)
                    else:
                        rec = ("node", s, a.grad_fn if a.requires_grad else None,
                               a._version, a._version.v)
                    break
        saved.append(rec or ("const", s, None, None, 0))
    ctx._saved = saved
    return out_version


def _check_devices(cls, args):
    """Two array types among the inputs: fine (a NumPy scalar beside an array), unless the
    devices differ."""
    tensors = [a for a in args if isinstance(a, Tensor)]
    if any(t.device != tensors[0].device for t in tensors):
        _device_error(cls, tensors)


def _device_error(cls, tensors):
    desc = ", ".join(f"{tuple(t.shape)} {t.dtype} on {t.device}" for t in tensors)
    raise RuntimeError(f"{cls.name()}: expected all tensors on one device, got {desc}; "
                       "move them with .to(device) first")


def _observed_apply(cls, ctx, args, arrays, params, record):
    """The slow path of apply, taken only while a profiler or anomaly mode is watching."""
    tensors = [a for a in args if isinstance(a, Tensor)]
    t0 = time.perf_counter()
    if cls.bf16_in_float32 and D.BF16 is not None and any(
            getattr(a, "dtype", None) is D.BF16 for a in arrays):
        out = _bf16_forward(ctx, arrays, params)
    else:
        out = ctx.forward(*arrays, **params)
    seconds = time.perf_counter() - t0
    if record:
        version = _finish_node(ctx, args, arrays, out)
        result = Tensor._make(out, True, ctx, version)
    else:
        result = Tensor._make(out, False, None, None)
    for obs in list(state.observers):
        on_apply = getattr(obs, "on_apply", None)
        if on_apply is not None:    # a tracer (onnx export) needs the op's settings, not times
            on_apply(cls, args, params, result)
        else:
            obs.on_forward(cls.name(), tensors, result, seconds, ctx if record else None)
    return result
