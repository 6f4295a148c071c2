"""Anomaly mode: NaN/Inf caught in forward and in backward, naming the op and the user's line."""
import inspect

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.autograd.grad_mode import state


def _line() -> int:
    """The caller's line number (so a test can name the line of its next statement)."""
    return inspect.currentframe().f_back.f_lineno


def _no_anomaly_observer():
    return not state.anomaly and not any(type(o).__name__ == "_AnomalyObserver"
                                         for o in state.observers)


def test_forward_nan_names_op_shapes_phase_and_line():
    x = tl.tensor([1.0, -1.0, 2.0], requires_grad=True)
    # log(-1) is NaN; errstate keeps NumPy's warning from firing before our check does
    with np.errstate(invalid="ignore"), pytest.raises(RuntimeError) as info:
        with tl.autograd.detect_anomaly():
            y = x * 2.0
            line = _line() + 1
            z = y.log()  # noqa: F841
    msg = str(info.value)
    assert "forward" in msg and "backward" not in msg
    assert "Log" in msg and "nan" in msg
    assert "(3,)" in msg
    assert f"test_anomaly.py\", line {line}" in msg
    assert "z = y.log()" in msg
    assert _no_anomaly_observer()


def test_backward_inf_names_op_and_line_where_forward_was_finite():
    x = tl.tensor([[0.0, 1.0], [4.0, 9.0]], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"), pytest.raises(RuntimeError) as info:
        with tl.autograd.detect_anomaly():
            line = _line() + 1
            r = x.sqrt()
            assert np.isfinite(r.detach().numpy()).all()       # forward is fine
            (r * 3.0).sum().backward()
    msg = str(info.value)
    assert "backward" in msg and "SqrtBackward" in msg and "inf" in msg
    assert "(2, 2)" in msg
    assert f"line {line}" in msg and "r = x.sqrt()" in msg
    assert x.grad is None       # the walk stopped before reaching the leaf
    assert _no_anomaly_observer()


def test_without_anomaly_mode_nan_passes_silently():
    x = tl.tensor([0.0, 1.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        x.sqrt().sum().backward()
    assert np.isinf(x.grad.numpy()[0])


def test_backward_of_op_made_before_anomaly_mode_says_line_unknown():
    x = tl.tensor([0.0, 1.0], requires_grad=True)
    r = x.sqrt().sum()
    with np.errstate(divide="ignore"), pytest.raises(RuntimeError, match="source line is unknown"):
        with tl.autograd.detect_anomaly():
            r.backward()


def test_forward_check_runs_under_no_grad_too():
    x = tl.tensor([1.0, 0.0])
    with np.errstate(divide="ignore"), pytest.raises(RuntimeError, match="Div"):
        with tl.autograd.detect_anomaly(), tl.no_grad():
            _ = 1.0 / x


def test_clean_graph_gives_same_grads_with_and_without_anomaly_mode():
    rng = np.random.default_rng(1)
    a = rng.uniform(0.5, 2.0, size=(3, 4))
    grads = []
    for on in (False, True):
        x = tl.tensor(a, requires_grad=True)
        with tl.autograd.set_detect_anomaly(on):
            y = (x.log() * x.sqrt()).tanh().sum()
            y.backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    assert _no_anomaly_observer()


def test_nodes_remember_where_they_were_made():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    with tl.autograd.detect_anomaly():
        y = x.exp()
    assert "y = x.exp()" in y.grad_fn.trace
    assert __file__.split("/")[-1] in y.grad_fn.trace


def test_nested_contexts_restore_previous_mode():
    assert not tl.autograd.is_anomaly_enabled()
    with tl.autograd.detect_anomaly():
        with tl.autograd.detect_anomaly():
            assert tl.autograd.is_anomaly_enabled()
        assert tl.autograd.is_anomaly_enabled()
        n = sum(type(o).__name__ == "_AnomalyObserver" for o in state.observers)
        assert n == 1
        with tl.autograd.set_detect_anomaly(False):
            assert not tl.autograd.is_anomaly_enabled()
        assert tl.autograd.is_anomaly_enabled()
    assert _no_anomaly_observer()


def test_set_detect_anomaly_acts_at_once():
    try:
        tl.autograd.set_detect_anomaly(True)
        assert tl.autograd.is_anomaly_enabled()
        x = tl.tensor([-1.0], requires_grad=True)
        with np.errstate(invalid="ignore"), pytest.raises(RuntimeError, match="Log"):
            x.log()
    finally:
        tl.autograd.set_detect_anomaly(False)
    assert _no_anomaly_observer()


def test_check_nan_false_records_traces_but_does_not_raise():
    x = tl.tensor([-1.0], requires_grad=True)
    with np.errstate(invalid="ignore"), tl.autograd.detect_anomaly(check_nan=False):
        y = x.log()
    assert np.isnan(y.detach().numpy()).all()
    assert "y = x.log()" in y.grad_fn.trace


def test_decorator_form():
    @tl.autograd.detect_anomaly()
    def f(t):
        return t.log()

    with np.errstate(invalid="ignore"), pytest.raises(RuntimeError, match="forward"):
        f(tl.tensor([-2.0]))
    assert _no_anomaly_observer()
