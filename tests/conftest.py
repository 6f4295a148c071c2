"""Shared fixtures: the backend parameter and hypothesis profiles.

Every test that takes `device` runs on "cpu", and again on "cuda" when a GPU is visible;
the "cuda" case is not even collected on a machine without one. `--fake-cupy` (or
TINYGRAD_LITE_FAKE_CUPY=1) puts the strict CuPy stand-in of tests/fakecupy in place of `cupy`,
so the "cuda" half runs on the CPU; `--devices cuda` (or TINYGRAD_LITE_TEST_DEVICES=cuda)
keeps only that half.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import tinygrad_lite as tl

settings.register_profile("ci", max_examples=15, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# One BLAS thread: the suite's arrays are small, and on a shared 2-core machine extra threads
# only spin against each other (and against torch's own pool in the parity tests).
try:
    from threadpoolctl import threadpool_limits
    _blas_limit = threadpool_limits(1)
except ImportError:
    _blas_limit = None

DEVICES: list = []


def pytest_addoption(parser):
    parser.addoption("--fake-cupy", action="store_true",
                     default=os.environ.get("TINYGRAD_LITE_FAKE_CUPY", "") not in ("", "0"),
                     help="run the 'cuda' half on the strict CuPy stand-in (tests/fakecupy)")
    parser.addoption("--devices", default=os.environ.get("TINYGRAD_LITE_TEST_DEVICES", ""),
                     help="comma-separated devices for the `device` parameter "
                          "(default: cpu, plus cuda where available)")


def pytest_configure(config):
    if config.getoption("--fake-cupy"):
        import fakecupy  # noqa: PLC0415  (tests/ is on sys.path; must precede any cupy import)
        fakecupy.install()
    wanted = [d for d in config.getoption("--devices").split(",") if d]
    available = ["cpu"] + (["cuda"] if tl.cuda_is_available() else [])
    for d in wanted:
        if d not in available:
            raise pytest.UsageError(f"--devices: {d!r} is not available here ({available})")
    DEVICES[:] = wanted or available


def pytest_report_header(config):
    fake = " (strict CuPy stand-in)" if config.getoption("--fake-cupy") else ""
    return f"tinygrad_lite test devices: {', '.join(DEVICES)}{fake}"


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", DEVICES)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "cuda" in item.keywords and not tl.cuda_is_available():
            item.add_marker(pytest.mark.skip(reason="needs a visible GPU (cupy.is_available())"))


@pytest.fixture(autouse=True)
def _seed():
    tl.manual_seed(0)
    np.random.seed(0)
    yield
    tl.backend._deferred.clear()     # a device-side check one test left unread stays there


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if config.getoption("--fake-cupy"):
        import fakecupy  # noqa: PLC0415
        launches = fakecupy.launch_counts()
        terminalreporter.write_line(
            "fake cupy: kernel launches checked and emulated: "
            + (", ".join(f"{k} {v}" for k, v in sorted(launches.items())) or "none"))
