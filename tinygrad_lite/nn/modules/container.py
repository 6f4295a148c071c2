"""Sequential, ModuleList, ModuleDict, ParameterList and ParameterDict."""
from __future__ import annotations

import operator
from collections import OrderedDict

from .module import Module, Parameter

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


class Sequential(Module):
    """Calls its modules in order, each on the previous one's output."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x):
        mods = list(self._modules.values())
        i, n = 0, len(mods)
        while i < n:
            if i + 2 < n and type(mods[i]).__name__ == "Conv2d":
                y = _conv_relu_pool(mods[i], mods[i + 1], mods[i + 2], x)
                if y is not None:
                    x, i = y, i + 3
                    continue
            x = mods[i](x)
            i += 1
        return x

    def __getitem__(self, idx):
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        n = len(items)
        try:
            i = operator.index(idx)
        except TypeError:
            raise TypeError(f"Sequential: index must be an int or a slice, got "
                            f"{type(idx).__name__}") from None
        if not -n <= i < n:
            raise IndexError(f"Sequential: index {i} out of range for length {n}")
        return items[i][1]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self


def _unwatched(m) -> bool:
    return not (m._forward_pre_hooks or m._forward_hooks or m._backward_hooks
                or m._backward_pre_hooks or "forward" in m.__dict__)


def _conv_relu_pool(conv, relu, pool, x):
    """Conv2d -> ReLU -> MaxPool2d(2) as one fused op (tl.backends.cpu.fuse_conv_relu_pool), or
    None where the rule does not apply: the exact classes, zero padding mode, a 2x2 stride-2 pool
    without padding, dilation, ceil mode or indices, no hooks on the three, nothing observing
    ops (profiler, anomaly mode, ONNX export), which must see the three modules, and what
    convolution._fusable asks of the tensors (autocast included)."""
    from ...autograd.grad_mode import state
    from ...ops import conv as K
    from ..functional import convolution as C
    from .activation import ReLU
    from .conv import Conv2d
    from .pooling import MaxPool2d
    if not (K.get_fuse_conv_relu_pool() and type(conv) is Conv2d and type(relu) is ReLU
            and type(pool) is MaxPool2d) or state.observers or state.anomaly:
        return None
    if conv.padding_mode != "zeros" or pool.return_indices or pool.ceil_mode \
            or not (_unwatched(conv) and _unwatched(relu) and _unwatched(pool)):
        return None
    if not all(getattr(pool, a) in want for a, want in (
            ("kernel_size", (2, (2, 2), [2, 2])), ("stride", (2, (2, 2), [2, 2])),
            ("padding", (0, (0, 0), [0, 0])), ("dilation", (1, (1, 1), [1, 1])))):
        return None
    w, b = conv.weight, conv.bias
    if not C._fusable(x, w, b, conv.stride, conv.padding, conv.dilation):
        return None
    return C._conv("conv2d", 2, x, w, b, conv.stride, conv.padding, conv.dilation, conv.groups,
                   fn=K.ConvBiasReluPool)


class _ListOf:
    """List behaviour over one of Module's registries, keyed "0", "1", ... (mixed into Module)."""

    _store = "_modules"

    def _put(self, name: str, value) -> None:
        raise NotImplementedError

    def __getitem__(self, idx):
        entries = getattr(self, self._store)
        if isinstance(idx, slice):
            return type(self)(list(entries.values())[idx])
        n = len(entries)
        if not -n <= idx < n:
            raise IndexError(f"{type(self).__name__}: index {idx} out of range for length {n}")
        return entries[str(idx % n)]

    def __setitem__(self, idx, value):
        self._put(str(idx % len(self)), value)

    def __len__(self):
        return len(getattr(self, self._store))

    def __iter__(self):
        return iter(getattr(self, self._store).values())

    def append(self, value):
        self._put(str(len(self)), value)
        return self

    def extend(self, values):
        for v in values:
            self.append(v)
        return self


class _DictOf:
    """Dict behaviour over one of Module's registries (mixed into Module)."""

    _store = "_modules"

    def _put(self, name: str, value) -> None:
        raise NotImplementedError

    def __getitem__(self, key):
        return getattr(self, self._store)[key]

    def __setitem__(self, key, value):
        self._put(key, value)

    def __delitem__(self, key):
        del getattr(self, self._store)[key]

    def __contains__(self, key):
        return key in getattr(self, self._store)

    def __len__(self):
        return len(getattr(self, self._store))

    def __iter__(self):
        return iter(getattr(self, self._store))

    def keys(self):
        return getattr(self, self._store).keys()

    def values(self):
        return getattr(self, self._store).values()

    def items(self):
        return getattr(self, self._store).items()

    def update(self, entries):
        for k, v in (entries.items() if hasattr(entries, "items") else entries):
            self[k] = v


class ModuleList(_ListOf, Module):
    """A list whose modules are registered (so their parameters are found)."""

    def __init__(self, modules=None):
        super().__init__()
        self.extend(modules or [])

    def _put(self, name, module):
        self.add_module(name, module)

    def insert(self, index, module):
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._modules.clear()
        self.extend(mods)


class ModuleDict(_DictOf, Module):
    """A dict whose modules are registered."""

    def __init__(self, modules=None):
        super().__init__()
        self.update(modules or {})

    def _put(self, name, module):
        self.add_module(name, module)


class ParameterList(_ListOf, Module):
    """A list whose tensors are registered as parameters, under the names "0", "1", ..."""

    _store = "_parameters"

    def __init__(self, values=None):
        super().__init__()
        self.extend(values or [])

    def _put(self, name, value):
        self.register_parameter(name, _as_parameter(value))


class ParameterDict(_DictOf, Module):
    """A dict whose tensors are registered as parameters."""

    _store = "_parameters"

    def __init__(self, parameters=None):
        super().__init__()
        self.update(parameters or {})

    def _put(self, name, value):
        self.register_parameter(name, _as_parameter(value))


def _as_parameter(value):
    # torch wraps a plain tensor on the way in, so `ParameterList([torch.randn(3)])` trains
    return value if isinstance(value, Parameter) else Parameter(value)
