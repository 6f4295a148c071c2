"""Anomaly mode: stop at the first NaN or Inf, forward or backward, and say which op made it.

While it is on, every op records the user's source line that created it (`node.trace`), every
forward output is checked as it is made, and every gradient a node's backward returns is checked
before it flows on. The error names the op, its input shapes, the phase and that source line.
It is slow (a stack walk and a full scan per op), so it is meant for hunting a bug, not training.
"""
from __future__ import annotations

import linecache
import os
import sys
from typing import Optional

from .. import dtypes as D
from ..backend import array_module
from .grad_mode import state
from .graph import in_backward

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "user_frame"]

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def user_frame(skip: int = 1) -> Optional[str]:
    """'File "f.py", line N, in fn' and the source text of the first frame outside tinygrad_lite."""
    f = sys._getframe(skip)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_PKG_DIR):
        f = f.f_back
    if f is None:
        return None
    filename, lineno, func = f.f_code.co_filename, f.f_lineno, f.f_code.co_name
    text = linecache.getline(filename, lineno).strip()
    where = f'File "{filename}", line {lineno}, in {func}'
    return where + (f"\n    {text}" if text else "")


def _bad_values(arr) -> Optional[str]:
    """'nan', 'inf' or 'nan and inf' when a float array holds them, else None."""
    if arr is None or getattr(arr, "dtype", None) is None or not (
            arr.dtype.kind == "c" or D.is_floating(arr.dtype)):
        return None
    xp = array_module(arr)
    if bool(xp.isfinite(arr).all()):
        return None
    has_nan = bool(xp.isnan(arr).any())
    has_inf = bool(xp.isinf(arr).any())
    return " and ".join(w for w, b in (("nan", has_nan), ("inf", has_inf)) if b)


def _shapes(shapes) -> str:
    return ", ".join(str(tuple(s)) if s is not None else "-" for s in shapes) or "none"


class _AnomalyObserver:
    """The one observer anomaly mode installs; `state.anomaly` says whether it is on."""

    check_nan = True

    def on_forward(self, name, inputs, output, seconds, node) -> None:
        backward = in_backward()
        trace = None
        if node is not None:
            trace = user_frame(2)
            node.trace = trace
        # values made inside a backward formula are judged by the gradient that node returns
        if backward or not self.check_nan:
            return
        bad = _bad_values(output._data)
        if bad:
            if trace is None:
                trace = user_frame(2)
            raise RuntimeError(
                f"anomaly detected in forward: {name} produced {bad} in its output "
                f"(shape {tuple(output.shape)}) from inputs of shape "
                f"{_shapes(t.shape for t in inputs)}.\n"
                f"The {name} op was created at:\n  {trace or '<unknown>'}")

    def on_backward(self, node, grad_in, grads_out, seconds) -> None:
        if not self.check_nan:
            return
        for i, g in enumerate(grads_out):
            if g is None:
                continue
            bad = _bad_values(g._data)
            if bad:
                name = node.name()
                shapes = [m[0] if m is not None else None for m in node.in_meta]
                trace = getattr(node, "trace", None)
                where = (f"The {name} op was created at:\n  {trace}" if trace else
                         f"The {name} op was created before anomaly mode was turned on, so its "
                         "source line is unknown.")
                raise RuntimeError(
                    f"anomaly detected in backward: {name}Backward returned {bad} in the "
                    f"gradient for input {i} (shape {tuple(g.shape)}); the op's inputs have "
                    f"shapes {_shapes(shapes)}.\n{where}")


_OBSERVER = _AnomalyObserver()


def _set(enabled: bool, check_nan: bool = True) -> None:
    state.anomaly = bool(enabled)
    _OBSERVER.check_nan = check_nan
    present = any(o is _OBSERVER for o in state.observers)
    if enabled and not present:
        state.observers.append(_OBSERVER)
    elif not enabled and present:
        state.observers[:] = [o for o in state.observers if o is not _OBSERVER]


def is_anomaly_enabled() -> bool:
    return bool(state.anomaly)


class detect_anomaly:
    """Context manager (and decorator) that turns anomaly mode on, restoring the old mode on exit.

    >>> with tl.autograd.detect_anomaly():
    ...     loss = model(x).log().sum(); loss.backward()
    RuntimeError: anomaly detected in backward: LogBackward returned inf ...
    """

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self) -> "detect_anomaly":
        self._prev = (state.anomaly, _OBSERVER.check_nan)
        _set(True, self.check_nan)
        return self

    def __exit__(self, *exc) -> bool:
        _set(*self._prev)
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


class set_detect_anomaly:
    """set_detect_anomaly(True/False) acts at once; used with `with` it restores the old mode."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self._prev = (state.anomaly, _OBSERVER.check_nan)
        _set(mode, check_nan)

    def __enter__(self) -> "set_detect_anomaly":
        return self

    def __exit__(self, *exc) -> bool:
        _set(*self._prev)
        return False
