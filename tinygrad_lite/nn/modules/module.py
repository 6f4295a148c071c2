"""Module: the container PyTorch model code is written against (Parameter, re-exported here for
old importers, lives in nn/parameter.py as torch.nn.parameter.Parameter)."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Iterator, Optional

import numpy as np

from ... import backend
from ... import dtypes as D
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ...utils.hooks import RemovableHandle
from ..parameter import Parameter


class Module:
    """Base class: assigning a Parameter, Module or buffer as an attribute registers it."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_pre_hooks", OrderedDict())

    # -- registration -------------------------------------------------------------------
    def __setattr__(self, name, value):
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before "
                                 f"assigning attribute {name!r}")
        params, mods, bufs = d["_parameters"], d["_modules"], d["_buffers"]
        if isinstance(value, Parameter):
            mods.pop(name, None)
            bufs.pop(name, None)
            d.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            bufs.pop(name, None)
            d.pop(name, None)
            mods[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                "(a Parameter or None is expected)")
            params[name] = None
        elif name in mods:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r}")
            mods[name] = None
        elif name in bufs:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r}")
            bufs[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Optional[Parameter]) -> None:
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got "
                            f"{type(param).__name__}")
        if "." in name or name == "":
            raise KeyError(f"register_parameter: invalid name {name!r}")
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Optional[Tensor], persistent: bool = True) -> None:
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got "
                            f"{type(tensor).__name__}")
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)
        else:
            self._non_persistent.discard(name)

    def register_module(self, name: str, module: Optional["Module"]) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add_module: {name!r} must be a Module or "
                            f"None, got {type(module).__name__}")
        self._modules[name] = module

    add_module = register_module

    # -- traversal --------------------------------------------------------------------
    def named_modules(self, memo=None, prefix: str = "") -> Iterator[tuple]:
        """Every submodule once, depth first, this one first (iterative: deep nets are fine)."""
        seen = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, mod = stack.pop()
            if id(mod) in seen:
                continue
            seen.add(id(mod))
            yield name, mod
            children = [(f"{name}.{k}" if name else k, m) for k, m in mod._modules.items()
                        if m is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple]:
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mname, mod in mods:
            for k, p in mod._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mname}.{k}" if mname else k), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple]:
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mname, mod in mods:
            for k, b in mod._buffers.items():
                if b is not None:
                    yield (f"{mname}.{k}" if mname else k), b

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- lookup by dotted name (torch's get_submodule and friends) -----------------------
    def get_submodule(self, target: str) -> "Module":
        """The submodule at a dotted path such as "encoder.layers.0"; "" is this module."""
        mod = self
        walked = []
        for part in target.split(".") if target else []:
            child = mod._modules.get(part)
            if child is None:
                where = ".".join(walked) or type(self).__name__
                raise AttributeError(f"get_submodule: {where} has no submodule {part!r} "
                                     f"(looking up {target!r})")
            mod = child
            walked.append(part)
        return mod

    def _get_member(self, target: str, table: str, what: str):
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        member = getattr(mod, table).get(name)
        if member is None:
            raise AttributeError(f"get_{what}: {type(mod).__name__} at {path or '(top)'!r} has "
                                 f"no {what} {name!r} (looking up {target!r})")
        return member

    def get_parameter(self, target: str) -> Parameter:
        return self._get_member(target, "_parameters", "parameter")

    def get_buffer(self, target: str) -> Tensor:
        return self._get_member(target, "_buffers", "buffer")

    # -- modes and moves ----------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad = p.grad.detach() * 0.0

    def apply(self, fn) -> "Module":
        # post-order like torch: each child's whole subtree, in order, before the module itself
        stack, seen = [(self, False)], set()
        while stack:
            mod, children_done = stack.pop()
            if children_done:
                fn(mod)
                continue
            if id(mod) in seen:
                continue
            seen.add(id(mod))
            stack.append((mod, True))
            stack.extend((c, False) for c in reversed(list(mod.children())))
        return self

    def _move(self, device=None, dtype=None) -> "Module":
        """Move or cast parameters and buffers in place; Parameter objects keep their identity."""
        for m in self.modules():
            for store in (m._parameters, m._buffers):
                for k, t in store.items():
                    if t is None:
                        continue
                    data = t._data
                    if dtype is not None and D.is_floating(data.dtype):
                        data = data.astype(dtype)
                    if device is not None:
                        data = backend.to_device(data, device)
                    if data is not t._data:
                        t._data = data
                        if t.grad is not None:
                            g = t.grad._data
                            if dtype is not None:
                                g = g.astype(dtype)
                            if device is not None:
                                g = backend.to_device(g, device)
                            t.grad = Tensor._make(g, False, None, None)
        return self

    def to(self, *args, **kwargs) -> "Module":
        device = kwargs.get("device")
        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda"):
                device = a
            elif isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif a is not None:
                dtype = a
        if device is not None:
            device = backend.Device(device)
            if device == "cuda":
                backend.get_cupy()
        if dtype is not None:
            dtype = D.to_dtype(dtype)
            if not D.is_floating(dtype):
                raise TypeError(f"Module.to: only floating point dtypes are allowed, got {dtype}")
            for p in self.parameters():
                backend.no_bf16_on_cuda(dtype, device or p.device, "Module.to", p.shape)
        return self._move(device, dtype)

    def cpu(self) -> "Module":
        return self.to("cpu")

    def cuda(self) -> "Module":
        return self.to("cuda")

    def float(self) -> "Module":
        return self.to(D.float32)

    def double(self) -> "Module":
        return self.to(D.float64)

    def half(self) -> "Module":
        return self.to(D.float16)

    def bfloat16(self) -> "Module":
        return self.to(D.load_bfloat16())

    # -- state ----------------------------------------------------------------------------
    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> "OrderedDict[str, Tensor]":
        out = OrderedDict()
        for mname, mod in self.named_modules(prefix=prefix.rstrip(".")):
            pre = f"{mname}." if mname else ""
            for k, p in mod._parameters.items():
                if p is not None:
                    out[pre + k] = p if keep_vars else p.detach()
            for k, b in mod._buffers.items():
                if b is not None and k not in mod._non_persistent:
                    out[pre + k] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy values in place; one error lists every missing key, unexpected key and bad shape."""
        who = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{who}: expected a dict of name -> tensor, got "
                            f"{type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for k, target in own.items():
            if k not in state_dict:
                continue
            arr = _as_array(state_dict[k])
            if getattr(arr, "dtype", None) is None or not (arr.dtype.kind in "biu" or
                                                           D.is_floating(arr.dtype)):
                raise TypeError(f"{who}: {k!r} should be a tensor like {tuple(target.shape)} "
                                f"{target.dtype}, got {type(state_dict[k]).__name__} "
                                f"{getattr(arr, 'dtype', '')}")
            shape = tuple(arr.shape)
            if shape != tuple(target.shape):
                mismatched.append(f"{k}: checkpoint {shape} vs model {tuple(target.shape)}")
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if mismatched:
            problems.append("shape mismatches: " + "; ".join(mismatched))
        if problems:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}: "
                               + " | ".join(problems))
        with no_grad():
            for k, target in own.items():
                if k not in state_dict:
                    continue
                arr = backend.to_device(_as_array(state_dict[k]), target.device)
                target._data[...] = arr.astype(target.dtype, copy=False)
                target._version.v += 1
        return _LoadResult(missing, unexpected)

    # -- calling --------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks:
            for hook in list(self._forward_pre_hooks.values()):
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        if self._backward_hooks or self._backward_pre_hooks:
            from ._hooks import call_with_backward_hooks
            out = call_with_backward_hooks(self, args, kwargs)
        else:
            out = self.forward(*args, **kwargs)
        if self._forward_hooks:
            for hook in list(self._forward_hooks.values()):
                res = hook(self, args, out)
                if res is not None:
                    out = res
        return out

    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """hook(module, args) runs before forward; a returned value replaces args."""
        h = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[h.id] = hook
        return h

    def register_forward_hook(self, hook) -> RemovableHandle:
        """hook(module, args, output) runs after forward; a returned value replaces output."""
        h = RemovableHandle(self._forward_hooks)
        self._forward_hooks[h.id] = hook
        return h

    def register_full_backward_hook(self, hook) -> RemovableHandle:
        """hook(module, grad_input, grad_output) runs when the gradients w.r.t. inputs are known."""
        h = RemovableHandle(self._backward_hooks)
        self._backward_hooks[h.id] = hook
        return h

    def register_full_backward_pre_hook(self, hook) -> RemovableHandle:
        """hook(module, grad_output) runs when the gradients w.r.t. the outputs are known, before
        they flow into the module; a returned tuple replaces grad_output (single-output modules)."""
        h = RemovableHandle(self._backward_pre_hooks)
        self._backward_pre_hooks[h.id] = hook
        return h

    # -- printing -------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {body}")
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        head = f"{type(self).__name__}(" + (extra + "\n  " if extra else "\n  ")
        return head + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return list(super().__dir__()) + list(self._parameters) + list(self._modules) + \
            list(self._buffers)


def _as_array(value):
    """A state_dict entry (our Tensor, a NumPy/CuPy array, a number, a torch tensor) as an array."""
    if isinstance(value, Tensor):
        return value._data
    if hasattr(value, "detach") and hasattr(value, "cpu"):      # a torch tensor
        return value.detach().cpu().numpy()
    if hasattr(value, "__cuda_array_interface__"):
        return value
    return np.asarray(value)


class _LoadResult(tuple):
    """(missing_keys, unexpected_keys), with torch's attribute names."""

    def __new__(cls, missing, unexpected):
        obj = super().__new__(cls, (missing, unexpected))
        return obj

    @property
    def missing_keys(self):
        return self[0]

    @property
    def unexpected_keys(self):
        return self[1]
