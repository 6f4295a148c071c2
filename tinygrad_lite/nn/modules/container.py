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
        for m in self._modules.values():
            x = m(x)
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
