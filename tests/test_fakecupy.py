"""The strict CuPy stand-in itself: it must refuse what CuPy refuses, or the "cuda" half proves
nothing. Runs without a GPU (and with or without --fake-cupy)."""
import numpy as np
import pytest

pytest.importorskip("cupy", reason="the stand-in reads its names from cupy-cuda13x (test extra)")

import fakecupy  # noqa: E402
from fakecupy.array import FakeCupyError  # noqa: E402

cp = fakecupy.build()["cupy"]


def test_array_is_not_a_numpy_array_and_refuses_implicit_conversion():
    a = cp.arange(6.0)
    assert not isinstance(a, np.ndarray)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.array(a)


def test_host_arrays_refused_in_device_ops():
    a = cp.ones(3)
    with pytest.raises(TypeError, match="Unsupported type"):
        a + np.ones(3)
    with pytest.raises(TypeError, match="Unsupported type"):
        np.ones(3) * a
    with pytest.raises(TypeError, match="Unsupported type"):
        cp.maximum(a, np.zeros(3))
    with pytest.raises(TypeError, match="Unsupported type"):
        cp.concatenate([a, np.ones(2)])
    assert (a + np.float32(2)).dtype == np.float64      # NumPy scalars are scalars


def test_names_and_keywords_come_from_real_cupy():
    import types

    real = fakecupy._real_module("cupy")
    names = {n for n in dir(real) if not n.startswith("_")
             and not isinstance(getattr(real, n), types.ModuleType)}
    assert names <= set(dir(cp))
    with pytest.raises(TypeError, match="sparse"):
        cp.indices((2, 3), sparse=True)           # CuPy's indices has no sparse=
    with pytest.raises(TypeError, match="unexpected keyword"):
        cp.exp(cp.ones(2), where=True)
    with pytest.raises(AttributeError):
        cp.ones(2).flags.writeable                 # no read-only arrays in CuPy


def test_data_is_a_pointer_and_reductions_are_arrays():
    a = cp.arange(4.0)
    assert not isinstance(a.data, (np.ndarray, type(a)))
    s = a.sum()
    assert isinstance(s, cp.ndarray) and s.shape == ()


def test_broadcast_views_are_writable_like_cupys():
    base = cp.zeros((3, 1))
    view = cp.broadcast_to(base, (3, 4))
    view[0, 1] = 5.0                                # CuPy writes through the stride-0 view
    assert base[0, 0].item() == 5.0


def test_transfers_are_counted():
    a = cp.asarray(np.arange(3.0))
    with fakecupy.counting() as moved:
        float(a.sum())
        bool(a[0] == 0)
        a.get()
        cp.asarray(np.ones(2))
    assert moved["d2h_implicit"] == 2 and moved["d2h_explicit"] == 1 and moved["h2d"] == 1
    assert any("test_fakecupy.py" in w for w in moved.where)


def test_out_of_range_integer_index_wraps_like_cupy():
    a = cp.arange(4.0)
    assert a[cp.asarray(np.array([5]))].item() == 1.0
    assert cp.take_along_axis(a, cp.asarray(np.array([-1, 4])), 0).tolist() == [3.0, 0.0]


def test_unemulated_names_raise():
    with pytest.raises(FakeCupyError, match="not emulated"):
        cp.ElementwiseKernel("float32 x", "float32 y", "y = x", "k")


def test_raw_module_checks_name_expressions():
    mod = cp.RawModule(code="__global__ void k() {}", options=("-std=c++17",),
                       name_expressions=["k"])
    with pytest.raises(FakeCupyError, match="name_expressions"):
        mod.get_function("other")
    with pytest.raises(TypeError, match="unexpected keyword"):
        cp.RawModule(code="", optionz=())
