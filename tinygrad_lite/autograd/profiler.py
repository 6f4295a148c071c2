"""`with tl.autograd.profile() as prof:` per-op counts, times and bytes, and a Chrome trace.

The profiler is an observer (see `grad_mode.state.observers`): `Function.apply` reports each
forward after it ran and the engine reports each node's backward. Ops that a backward formula
runs internally are attributed to that node's backward, not counted as forward calls.
"""
from __future__ import annotations

import json
import os
import threading
import time
from typing import Dict, List, Optional

from .grad_mode import state
from .graph import in_backward, saved_nbytes

__all__ = ["profile", "OpStats", "Event"]


class Event:
    """One timed call: `phase` is "forward", "backward" or "backward_op" (inside a backward)."""

    __slots__ = ("name", "phase", "start", "dur", "out_bytes", "saved_bytes", "shapes")

    def __init__(self, name, phase, start, dur, out_bytes, saved_bytes, shapes):
        self.name = name
        self.phase = phase
        self.start = start          # seconds since the profile began
        self.dur = dur              # seconds
        self.out_bytes = out_bytes
        self.saved_bytes = saved_bytes
        self.shapes = shapes

    def __repr__(self):
        return (f"Event({self.name!r}, {self.phase}, start={self.start * 1e6:.1f}us, "
                f"dur={self.dur * 1e6:.1f}us)")


class OpStats:
    """Totals for one op name."""

    __slots__ = ("name", "count", "backward_count", "forward_time", "backward_time",
                 "out_bytes", "saved_bytes")

    def __init__(self, name: str):
        self.name = name
        self.count = 0              # forward calls made by user code
        self.backward_count = 0     # nodes of this op whose backward ran
        self.forward_time = 0.0
        self.backward_time = 0.0
        self.out_bytes = 0          # bytes of the outputs the forward calls created
        self.saved_bytes = 0        # bytes those calls kept for backward

    @property
    def self_time(self) -> float:
        return self.forward_time + self.backward_time

    def __repr__(self):
        return (f"OpStats({self.name!r}, count={self.count}, backward_count="
                f"{self.backward_count}, self_time={self.self_time * 1e3:.3f}ms)")


_SORT_KEYS = {
    "self_time": lambda s: s.self_time,
    "forward_time": lambda s: s.forward_time,
    "backward_time": lambda s: s.backward_time,
    "count": lambda s: s.count,
    "backward_count": lambda s: s.backward_count,
    "out_bytes": lambda s: s.out_bytes,
    "memory": lambda s: s.out_bytes,
    "saved_bytes": lambda s: s.saved_bytes,
}


class profile:
    """Context manager that records every op run inside it.

    >>> with tl.autograd.profile() as prof:
    ...     loss = model(x).sum(); loss.backward()
    >>> print(prof.table(sort_by="self_time"))
    >>> prof.export_chrome_trace("trace.json")   # open in https://ui.perfetto.dev

    enabled=False makes the block a no-op (handy to switch profiling off without re-indenting).
    """

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.events: List[Event] = []
        self.stats: Dict[str, OpStats] = {}
        self._t0 = 0.0
        self._active = False

    # -- context ---------------------------------------------------------------------
    def __enter__(self) -> "profile":
        if self.enabled:
            if self._active:
                raise RuntimeError("profile: this profiler is already running")
            self._t0 = time.perf_counter()
            self._active = True
            state.observers.append(self)
        return self

    def __exit__(self, *exc) -> bool:
        if self._active:
            self._active = False
            # remove this exact object (a nested profiler may sit in the list too)
            for i in range(len(state.observers) - 1, -1, -1):
                if state.observers[i] is self:
                    del state.observers[i]
                    break
        return False

    # -- observer protocol --------------------------------------------------------------
    def on_forward(self, name, inputs, output, seconds, node) -> None:
        end = time.perf_counter() - self._t0
        if in_backward():
            self.events.append(Event(name, "backward_op", end - seconds, seconds,
                                     int(output._data.nbytes), 0, None))
            return
        saved = saved_nbytes(node) if node is not None else 0
        out_bytes = int(output._data.nbytes)
        shapes = [tuple(t.shape) for t in inputs]
        self.events.append(Event(name, "forward", end - seconds, seconds, out_bytes, saved,
                                 shapes))
        s = self._stat(name)
        s.count += 1
        s.forward_time += seconds
        s.out_bytes += out_bytes
        s.saved_bytes += saved

    def on_backward(self, node, grad_in, grads_out, seconds) -> None:
        end = time.perf_counter() - self._t0
        name = node.name()
        shapes = [m[0] if m is not None else None for m in node.in_meta]
        self.events.append(Event(name, "backward", end - seconds, seconds, 0, 0, shapes))
        s = self._stat(name)
        s.backward_count += 1
        s.backward_time += seconds

    def _stat(self, name: str) -> OpStats:
        s = self.stats.get(name)
        if s is None:
            s = self.stats[name] = OpStats(name)
        return s

    # -- reports ------------------------------------------------------------------------
    @property
    def total_forward_time(self) -> float:
        return sum(s.forward_time for s in self.stats.values())

    @property
    def total_backward_time(self) -> float:
        return sum(s.backward_time for s in self.stats.values())

    def key_averages(self, sort_by: str = "self_time") -> List[OpStats]:
        """The per-op totals, largest first by `sort_by` ("name" sorts alphabetically)."""
        rows = list(self.stats.values())
        if sort_by == "name":
            return sorted(rows, key=lambda s: s.name)
        key = _SORT_KEYS.get(sort_by)
        if key is None:
            raise ValueError(f"profile.table: unknown sort_by {sort_by!r}; choose one of "
                             f"{sorted(list(_SORT_KEYS) + ['name'])}")
        return sorted(rows, key=lambda s: (-key(s), s.name))

    def table(self, sort_by: str = "self_time", row_limit: Optional[int] = None) -> str:
        """A fixed-width text table, one row per op, and a total row."""
        rows = self.key_averages(sort_by)
        if row_limit is not None:
            rows = rows[:row_limit]
        head = (f"{'op':<18}{'calls':>7}{'bwd':>6}{'fwd ms':>10}{'bwd ms':>10}"
                f"{'self ms':>10}{'self %':>8}{'out bytes':>12}{'saved bytes':>13}")
        total = self.total_forward_time + self.total_backward_time
        lines = [head, "-" * len(head)]
        for s in rows:
            pct = 100.0 * s.self_time / total if total > 0 else 0.0
            lines.append(f"{s.name[:17]:<18}{s.count:>7}{s.backward_count:>6}"
                         f"{s.forward_time * 1e3:>10.3f}{s.backward_time * 1e3:>10.3f}"
                         f"{s.self_time * 1e3:>10.3f}{pct:>8.1f}{s.out_bytes:>12}"
                         f"{s.saved_bytes:>13}")
        every = self.stats.values()
        lines.append("-" * len(head))
        lines.append(f"{'total':<18}{sum(s.count for s in every):>7}"
                     f"{sum(s.backward_count for s in every):>6}"
                     f"{self.total_forward_time * 1e3:>10.3f}"
                     f"{self.total_backward_time * 1e3:>10.3f}{total * 1e3:>10.3f}"
                     f"{100.0 if total > 0 else 0.0:>8.1f}"
                     f"{sum(s.out_bytes for s in every):>12}"
                     f"{sum(s.saved_bytes for s in every):>13}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def chrome_trace(self) -> dict:
        """The events as Chrome trace JSON: complete ("X") events, times in microseconds."""
        pid = os.getpid()
        tid = threading.get_ident() % (1 << 31)
        events = [{"name": "process_name", "ph": "M", "pid": pid, "tid": tid,
                   "args": {"name": "tinygrad_lite"}}]
        for e in self.events:
            args = {}
            if e.shapes is not None:
                args["input_shapes"] = [list(s) if s is not None else None for s in e.shapes]
            if e.phase != "backward":
                args["out_bytes"] = e.out_bytes
            if e.phase == "forward":
                args["saved_bytes"] = e.saved_bytes
            name = e.name if e.phase == "forward" else f"{e.name}Backward"
            if e.phase == "backward_op":
                name = e.name
            events.append({"name": name, "cat": e.phase, "ph": "X", "pid": pid, "tid": tid,
                           "ts": round(e.start * 1e6, 3), "dur": round(e.dur * 1e6, 3),
                           "args": args})
        return {"traceEvents": events, "displayTimeUnit": "ms"}

    def export_chrome_trace(self, path) -> None:
        """Write `chrome_trace()` to `path` (load it in Perfetto or chrome://tracing)."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.chrome_trace(), f)
