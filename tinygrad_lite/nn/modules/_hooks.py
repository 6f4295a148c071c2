"""Module.register_full_backward_hook: hook(module, grad_input, grad_output) with torch's meaning
(and register_full_backward_pre_hook: hook(module, grad_output), before the module's backward).

grad_input holds the gradients w.r.t. the module's positional arguments (None where an argument is
not a Tensor or needs no grad), grad_output those w.r.t. its outputs; a hook may return a new
grad_input tuple, which is what then flows on to the inputs.

The engine hands a node one gradient at a time, but the hook needs every input's gradient at once
and must be able to replace them all before any flows on. So the call is wrapped in three kinds of
identity node:

    x1, x2 --> ModuleInputs --(0-d token)--> ModuleInputView(x1), ModuleInputView(x2) --> forward
    forward's outputs --> ModuleOutput(y1), ModuleOutput(y2) --> the rest of the graph

ModuleOutput's backward records each output's gradient. ModuleInputView's backward parks its
input's gradient on the shared state and sends only a zero to the token. ModuleInputs consumes
the token, so the engine's counting guarantees it runs after every ModuleInputView: there the
hooks fire with all gradients in hand, and what they return is what it passes to x1, x2.
"""
from __future__ import annotations

from ...autograd.function import Function
from ...autograd.grad_mode import state
from ...backend import array_module
from ...tensor import Tensor

__all__ = ["call_with_backward_hooks"]


class _HookState:
    """What one module call shares between its identity nodes during one backward."""

    def __init__(self, module, n_args: int, input_pos: list, n_outputs: int):
        self.module = module
        self.n_args = n_args
        self.input_pos = input_pos          # argument positions that are wrapped
        self.n_outputs = n_outputs
        self.reset()

    def reset(self) -> None:
        self.grad_inputs = {}
        self.grad_outputs = [None] * self.n_outputs
        self.outputs_seen = 0

    def fire(self, grad_input: tuple) -> tuple:
        grad_output = tuple(self.grad_outputs)
        for hook in list(self.module._backward_hooks.values()):
            res = hook(self.module, grad_input, grad_output)
            if res is None:
                continue
            res = tuple(res) if isinstance(res, (list, tuple)) else (res,)
            if len(res) != len(grad_input):
                raise RuntimeError(
                    f"backward hook of {type(self.module).__name__} returned {len(res)} "
                    f"gradients, but the module has {len(grad_input)} positional inputs")
            for k, (new, old) in enumerate(zip(res, grad_input)):
                if new is None:
                    continue
                if not isinstance(new, Tensor):
                    raise TypeError(f"backward hook of {type(self.module).__name__}: grad_input "
                                    f"{k} must be a Tensor or None, got {type(new).__name__}")
                if old is None:
                    raise RuntimeError(
                        f"backward hook of {type(self.module).__name__} returned a gradient for "
                        f"input {k}, which has none (it is not a Tensor that requires grad)")
                if new.shape != old.shape:
                    raise RuntimeError(
                        f"backward hook of {type(self.module).__name__}: grad_input {k} has "
                        f"shape {tuple(new.shape)}, expected {tuple(old.shape)}")
            grad_input = res
        return grad_input


    def fire_pre(self, grad: Tensor) -> Tensor:
        """The backward pre-hooks on (grad_output,) of a single-output module."""
        name = type(self.module).__name__
        for hook in list(self.module._backward_pre_hooks.values()):
            res = hook(self.module, (grad,))
            if res is None:
                continue
            res = tuple(res) if isinstance(res, (list, tuple)) else (res,)
            if len(res) != 1 or not isinstance(res[0], Tensor):
                raise TypeError(f"backward pre-hook of {name} must return None or a 1-tuple "
                                f"holding the new grad_output Tensor, got {res!r:.80}")
            if res[0].shape != grad.shape:
                raise RuntimeError(f"backward pre-hook of {name}: grad_output has shape "
                                   f"{tuple(res[0].shape)}, expected {tuple(grad.shape)}")
            grad = res[0]
        return grad


def _token_zero(like):
    arr = array_module(like._data).zeros((), dtype=like.dtype)
    return Tensor._make(arr, False, None, None)


class ModuleInputs(Function):
    """Joins a module's inputs into one 0-d token; its backward fires the full backward hooks."""

    def forward(self, *xs, hook_state=None):
        self.hook_state = hook_state
        return array_module(xs[0]).zeros((), dtype=xs[0].dtype)

    def backward(self, grad):
        st = self.hook_state
        got = [st.grad_inputs.get(k) for k in range(len(st.input_pos))]
        grad_input = [None] * st.n_args
        for k, pos in enumerate(st.input_pos):
            grad_input[pos] = got[k]
        try:
            grad_input = st.fire(tuple(grad_input))
        finally:
            st.reset()
        return tuple(grad_input[pos] for pos in st.input_pos)


class ModuleInputView(Function):
    """y = x (the array of one module input);  parks dy for ModuleInputs, sends 0 to the token."""

    def forward(self, token, x, hook_state=None, slot=0):
        self.hook_state = hook_state
        self.slot = slot
        return x

    def backward(self, grad):
        parked = self.hook_state.grad_inputs
        prev = parked.get(self.slot)
        parked[self.slot] = grad if prev is None else prev + grad
        return _token_zero(grad), None


class ModuleOutput(Function):
    """y = x (one module output);  records dy as grad_output[slot] and passes it on."""

    def forward(self, y, hook_state=None, slot=0, fire_here=False):
        self.hook_state = hook_state
        self.slot = slot
        self.fire_here = fire_here
        return y

    def backward(self, grad):
        st = self.hook_state
        if st.module._backward_pre_hooks:
            grad = st.fire_pre(grad)
        prev = st.grad_outputs[self.slot]
        st.grad_outputs[self.slot] = grad if prev is None else prev + grad
        st.outputs_seen += 1
        if self.fire_here and st.outputs_seen >= st.n_outputs:
            # no input needs grad, so no ModuleInputs node exists: fire with grad_input all None
            try:
                res = st.fire((None,) * st.n_args)
            finally:
                st.reset()
            if any(r is not None for r in res):
                raise RuntimeError(f"backward hook of {type(st.module).__name__} returned a "
                                   "grad_input, but none of the module's inputs requires grad")
        return grad


def _output_tensors(out):
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [o for o in out if isinstance(o, Tensor)]
    return []


def call_with_backward_hooks(module, args: tuple, kwargs: dict):
    """Run module.forward(*args, **kwargs) so its full backward hooks fire during backward."""
    if not state.grad_enabled:
        return module.forward(*args, **kwargs)
    input_pos = [k for k, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    # the output count is known only after forward; the state is filled in then
    st = _HookState(module, len(args), input_pos, 0)
    if input_pos:
        token = ModuleInputs.apply(*(args[k] for k in input_pos), hook_state=st)
        args = list(args)
        for slot, k in enumerate(input_pos):
            args[k] = ModuleInputView.apply(token, args[k]._data, hook_state=st, slot=slot)
        args = tuple(args)
    out = module.forward(*args, **kwargs)
    outs = [o for o in _output_tensors(out) if o.requires_grad]
    if module._backward_pre_hooks and len(outs) > 1:
        raise NotImplementedError(f"{type(module).__name__}: full backward pre-hooks are "
                                  f"supported on modules with one output that requires grad, "
                                  f"this one returned {len(outs)}")
    st.n_outputs = len(outs)
    st.reset()
    if not outs:
        return out
    fire_here = not input_pos
    wrapped = {}
    for slot, o in enumerate(outs):
        wrapped[id(o)] = ModuleOutput.apply(o, hook_state=st, slot=slot, fire_here=fire_here)
    if isinstance(out, Tensor):
        return wrapped[id(out)]
    items = [wrapped.get(id(o), o) if isinstance(o, Tensor) else o for o in out]
    return type(out)(items) if isinstance(out, list) else tuple(items)
