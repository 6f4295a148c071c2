"""Switches that decide whether ops record a graph: no_grad, enable_grad, set_grad_enabled."""
from __future__ import annotations

import functools
import threading


class _State(threading.local):
    """Per thread, as in torch: a no_grad block in one thread leaves the others recording.
    A new thread starts with grad on, anomaly mode off and no observers."""

    grad_enabled = True
    anomaly = False
    autocast = None     # the autocast region ops read (autograd/autocast_mode.py); None: off

    def __init__(self):
        # profilers and anomaly mode; apply and the walk call them when non-empty
        self.observers: list = []


state = _State()


def is_grad_enabled() -> bool:
    return state.grad_enabled


class _GradMode:
    """Context manager and decorator that sets grad mode and restores it on exit."""

    _mode = True

    def __enter__(self):
        self._prev = state.grad_enabled
        state.grad_enabled = self._mode
        return self

    def __exit__(self, *exc):
        state.grad_enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Ops inside record no graph and save nothing for backward."""
    _mode = False


class enable_grad(_GradMode):
    """Turn recording back on inside a no_grad block."""
    _mode = True


class inference_mode(no_grad):
    """Same as no_grad here (there is no separate inference tensor kind)."""

    def __init__(self, mode: bool = True):
        self._mode = not mode


class set_grad_enabled(_GradMode):
    """set_grad_enabled(False) acts at once (like torch) and also works as a context manager."""

    def __init__(self, mode: bool):
        self._prev = state.grad_enabled
        self._mode = bool(mode)
        state.grad_enabled = self._mode

    def __enter__(self):
        return self

    def __call__(self, fn):
        mode = self._mode
        state.grad_enabled = self._prev

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper
