"""A module attribute that reads and writes a kernel switch."""
from __future__ import annotations

import sys
import types


class SwitchModule(types.ModuleType):
    """A module whose named attributes are properties over getter/setter pairs."""

    _switches: dict = {}

    def __getattr__(self, name):
        switches = type(self)._switches
        if name in switches:
            return switches[name][0]()
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __setattr__(self, name, value):
        switches = type(self)._switches
        if name in switches:
            switches[name][1](value)
        else:
            super().__setattr__(name, value)


def install(module_name: str, switches: dict) -> None:
    """Make sys.modules[module_name] answer `switches` {name: (get, set)} as attributes."""
    mod = sys.modules[module_name]
    cls = type(f"{module_name}.Switches", (SwitchModule,), {"_switches": switches})
    mod.__class__ = cls
