"""torch.utils.hooks' RemovableHandle: what every register_*_hook returns. It imports nothing
of the package, so tensors, autograd's engine, modules and optimizers all take it from here."""
from __future__ import annotations

import weakref


class RemovableHandle:
    """Returned by register_hook; `.remove()` takes the hook out again."""

    _next = 0

    def __init__(self, hooks: dict):
        self._hooks = weakref.ref(hooks) if not isinstance(hooks, dict) else hooks
        RemovableHandle._next += 1
        self.id = RemovableHandle._next

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
