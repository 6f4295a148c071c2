"""Optimizer base: parameter groups, per-parameter state, zero_grad and torch-layout state_dict.

Every update runs on the raw arrays (`p._data`, `p.grad._data`) in place, so a step builds no graph;
each updated parameter's version counter is bumped so a graph that saved it notices the change.
"""
from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any, Callable, Iterable, Optional, Union

import numpy as np

from .. import backend
from ..autograd import enable_grad
from ..tensor import Tensor
from ..utils.hooks import RemovableHandle
from ..dtypes import is_floating

ParamsT = Union[Iterable[Tensor], Iterable[dict]]

# State entries that count steps: kept as float32 on the CPU whatever the parameter's dtype,
# as torch does, so loading never casts them to the parameter's dtype.
_STEP_KEYS = ("step",)


def _state_tensor(array) -> Tensor:
    """Wrap an array as a plain Tensor that never requires grad (optimizer state)."""
    return Tensor._make(array, False, None, None)


def _step_tensor(value: float = 0.0) -> Tensor:
    return _state_tensor(np.array(value, dtype=np.float32))


def _check(name: str, what: str, value, ok: bool) -> None:
    """Raise the ValueError every optimizer gives for a bad hyperparameter."""
    if not ok:
        raise ValueError(f"{name}: invalid {what} {value!r}")


def _lerp_(a, b, w: float) -> None:
    """a <- a + w * (b - a) in place, split at w = 0.5 like torch's lerp for the best rounding."""
    if w < 0.5:
        d = b - a
        d *= w
        a += d
    else:
        a[...] = b - (b - a) * (1.0 - w)


def _to_plain(value):
    """Tuples become lists so a state_dict holds only what the serializer stores."""
    if isinstance(value, tuple):
        return [_to_plain(v) for v in value]
    if isinstance(value, list):
        return [_to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    return value


def _with_step_hooks(step: Callable) -> Callable:
    """Run the optimizer's step pre-hooks before `step` and its post-hooks after, as torch does.

    Hooks see `args` with the optimizer first (torch's layout); a pre-hook may return
    `(new_args, new_kwargs)` to change what the step is called with.
    """
    @functools.wraps(step)
    def hooked_step(*args, **kwargs):
        self = args[0]
        if self._in_step:       # a subclass step calling super().step(): hooks already ran
            return step(*args, **kwargs)
        for hook in list(self._step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is None:
                continue
            if not (isinstance(result, tuple) and len(result) == 2):
                raise RuntimeError(f"{type(self).__name__}: a step pre-hook must return None or "
                                   f"a tuple (new_args, new_kwargs), got {result!r}")
            args, kwargs = result
        self._in_step = True
        try:
            out = step(*args, **kwargs)
        finally:
            self._in_step = False
        for hook in list(self._step_post_hooks.values()):
            hook(self, args, kwargs)
        return out

    hooked_step._step_hooks = True
    return hooked_step


class Optimizer:
    """Base class: holds `param_groups` and `state`; subclasses write `_update` for one parameter.

    `params` is an iterable of Tensors, or of dicts each with a 'params' entry and any
    hyperparameters that override `defaults` for that group.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]):
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Tensors or dicts, got a "
                            "single Tensor; wrap it in a list")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: params must be an ordered iterable, not a set "
                            "(its order changes between runs, so state_dict ids would too)")
        self.defaults: dict[str, Any] = dict(defaults)
        self._step_pre_hooks: dict[int, Callable] = {}
        self._step_post_hooks: dict[int, Callable] = {}
        self._in_step = False
        # A defaultdict, as in torch, so `opt.state[p]` is {} for a parameter not yet stepped.
        self.state: dict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError(f"{name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_step_hooks", False):
            cls.step = _with_step_hooks(step)   # a subclass's own step runs the hooks too

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    # -- groups ----------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (with optional per-group hyperparameters) to optimize."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a param group must be a dict, got "
                            f"{type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError(f"{name}: a param group needs a 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: a group's params must be an ordered iterable, not a set")
        params = list(params)
        seen: set[int] = set()
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (shape "
                                 f"{tuple(p.shape)}); pass a leaf, e.g. a Parameter")
            if id(p) in seen:
                raise ValueError(f"{name}: a parameter of shape {tuple(p.shape)} appears twice "
                                 "in one param group")
            seen.add(id(p))
        for other in self.param_groups:
            if any(id(q) in seen for q in other["params"]):
                raise ValueError(f"{name}: some parameters appear in more than one "
                                 "parameter group")
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self.param_groups.append(group)

    # -- gradients -------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: drop them (default) or fill them with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_()
                    p.grad._data[...] = 0

    # -- stepping --------------------------------------------------------------------------
    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs), before each step."""
        handle = RemovableHandle(self._step_pre_hooks)
        self._step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """hook(optimizer, args, kwargs) -> None, called after each step."""
        handle = RemovableHandle(self._step_post_hooks)
        self._step_post_hooks[handle.id] = hook
        return handle

    @_with_step_hooks
    def step(self, closure: Optional[Callable[[], Any]] = None):
        """Update every parameter that has a gradient; returns `closure()` when one is given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad._data
                if grad.dtype != p._data.dtype:
                    grad = grad.astype(p._data.dtype)
                state = self.state.get(p)
                if state is None:
                    state = {}
                self._update(p, grad, group, state)
                if state:   # plain SGD keeps nothing, and torch lists no state for it
                    self.state[p] = state
                p._version.v += 1
        return loss

    def _update(self, p: Tensor, grad, group: dict[str, Any], state: dict[str, Any]) -> None:
        """Change `p._data` in place from `grad` (an array, never to be modified)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")

    # -- saving ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """{'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]}, torch's
        layout, where parameters are numbered in group order from 0.

        The state Tensors are the live ones (as in torch); load_state_dict copies them.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: _to_plain(v) for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items()
                 if s and id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state_dict made by `state_dict()` of an optimizer over the same layout."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict:
            raise ValueError(f"{name}: load_state_dict expects a dict with 'state' and "
                             "'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}: loaded state dict has {len(saved_groups)} parameter "
                             f"groups, this optimizer has {len(self.param_groups)}")
        id_to_param: dict[int, Tensor] = {}
        for i, (g, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(saved["params"]):
                raise ValueError(f"{name}: loaded parameter group {i} has "
                                 f"{len(saved['params'])} parameters, this optimizer's has "
                                 f"{len(g['params'])}")
            for pid, p in zip(saved["params"], g["params"]):
                id_to_param[int(pid)] = p

        new_state: dict[Tensor, dict[str, Any]] = defaultdict(dict)
        for pid, saved_state in state_dict.get("state", {}).items():
            # A serializer may hand the integer keys back as strings.
            p = id_to_param.get(int(pid))
            if p is None:
                continue
            new_state[p] = {k: self._cast_state(p, k, v) for k, v in saved_state.items()}

        new_groups = []
        for g, saved in zip(self.param_groups, saved_groups):
            group = {}
            for key, value in saved.items():
                if key == "params":
                    continue
                # Lists that were tuples here (betas) become tuples again.
                if isinstance(g.get(key), tuple) and isinstance(value, list):
                    value = tuple(value)
                group[key] = value
            group["params"] = g["params"]
            new_groups.append(group)
        self.state = new_state
        self.param_groups = new_groups

    @staticmethod
    def _cast_state(p: Tensor, key: str, value):
        """Copy a saved state value onto p's device; floating state takes p's dtype."""
        if isinstance(value, Tensor):
            value = value._data
        if isinstance(value, (dict, list, tuple)) or not hasattr(value, "dtype"):
            return value
        if key in _STEP_KEYS:
            arr = np.array(backend.to_device(value, "cpu"), dtype=np.float32, copy=True)
            return _state_tensor(arr)
        arr = backend.to_device(value, p.device)
        xp = backend.array_module(arr)
        if is_floating(arr.dtype):
            arr = arr.astype(p._data.dtype)
        return _state_tensor(xp.array(arr, copy=True))
