"""tl.autograd.profile: per-op counts, bytes, the table and the Chrome trace."""
import json

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.autograd.grad_mode import state


def _run_small_graph():
    x = tl.tensor(np.linspace(0.1, 1.0, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    w = tl.tensor(np.ones((4, 2), dtype=np.float32), requires_grad=True)
    h = (x @ w).exp()          # MatMul, Exp
    y = (h * h).sum()          # Mul, Sum
    loss = y + y               # Add (y reused)
    loss.backward()
    return x, w


def test_counts_equal_the_ops_run():
    with tl.autograd.profile() as prof:
        _run_small_graph()
    counts = {name: s.count for name, s in prof.stats.items()}
    assert counts == {"MatMul": 1, "Exp": 1, "Mul": 1, "Sum": 1, "Add": 1}
    bwd = {name: s.backward_count for name, s in prof.stats.items()}
    assert bwd == {"MatMul": 1, "Exp": 1, "Mul": 1, "Sum": 1, "Add": 1}
    # the ops a backward formula runs internally are events, not forward calls
    inner = [e for e in prof.events if e.phase == "backward_op"]
    assert inner and all(e.name for e in inner)
    assert all(s.forward_time >= 0 and s.backward_time >= 0 for s in prof.stats.values())


def test_bytes_of_outputs_and_saved_arrays():
    x = tl.tensor(np.ones((5, 6), dtype=np.float32), requires_grad=True)
    with tl.autograd.profile() as prof:
        y = x.exp()             # saves its (5, 6) float32 output: 120 bytes
        z = y.sum()
    assert prof.stats["Exp"].out_bytes == 120
    assert prof.stats["Exp"].saved_bytes == 120
    assert prof.stats["Sum"].out_bytes == 4
    assert z.item() == pytest.approx(30 * np.e, rel=1e-6)


def test_no_grad_ops_are_counted_without_backward():
    x = tl.ones(3, 3)
    with tl.autograd.profile() as prof, tl.no_grad():
        for _ in range(4):
            x = x * 2.0
    assert prof.stats["Mul"].count == 4
    assert prof.stats["Mul"].backward_count == 0
    assert prof.stats["Mul"].saved_bytes == 0


def test_table_sorting_and_totals():
    with tl.autograd.profile() as prof:
        x = tl.ones(2, 2, requires_grad=True)
        for _ in range(3):
            x = x * 1.5
        x.exp().sum().backward()
    by_count = prof.table(sort_by="count").splitlines()
    assert by_count[2].split()[0] == "Mul" and by_count[2].split()[1] == "3"
    assert by_count[-1].split()[:3] == ["total", "5", "5"]
    by_name = [r.name for r in prof.key_averages("name")]
    assert by_name == sorted(by_name)
    by_time = prof.key_averages("self_time")
    assert [r.self_time for r in by_time] == sorted((r.self_time for r in by_time), reverse=True)
    with pytest.raises(ValueError, match="sort_by"):
        prof.table(sort_by="nonsense")
    assert len(prof.table(row_limit=1).splitlines()) == 5


def test_chrome_trace_is_valid_json_with_one_event_per_op_and_node(tmp_path):
    with tl.autograd.profile() as prof:
        _run_small_graph()
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    data = json.loads(path.read_text())
    events = data["traceEvents"]
    complete = [e for e in events if e["ph"] == "X"]
    fwd = [e for e in complete if e["cat"] == "forward"]
    bwd = [e for e in complete if e["cat"] == "backward"]
    assert sorted(e["name"] for e in fwd) == ["Add", "Exp", "MatMul", "Mul", "Sum"]
    assert sorted(e["name"] for e in bwd) == ["AddBackward", "ExpBackward", "MatMulBackward",
                                             "MulBackward", "SumBackward"]
    for e in complete:
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0
        assert isinstance(e["dur"], (int, float)) and e["dur"] >= 0
        assert {"pid", "tid", "name"} <= set(e)
    # every backward starts after the last forward it could depend on
    assert min(e["ts"] for e in bwd) >= max(e["ts"] for e in fwd)
    assert fwd[0]["args"]["input_shapes"] == [[3, 4], [4, 2]]


def test_observer_removed_even_on_error():
    before = list(state.observers)
    with pytest.raises(ZeroDivisionError):
        with tl.autograd.profile():
            1 / 0
    assert state.observers == before


def test_nested_profilers_both_record():
    with tl.autograd.profile() as outer:
        tl.ones(2) + 1.0
        with tl.autograd.profile() as inner:
            tl.ones(2) * 3.0
    assert outer.stats["Mul"].count == 1 and outer.stats["Add"].count == 1
    assert set(inner.stats) == {"Mul"}
    assert state.observers == []


def test_disabled_profile_records_nothing():
    with tl.autograd.profile(enabled=False) as prof:
        tl.ones(2) * 3.0
    assert prof.stats == {} and prof.events == []
