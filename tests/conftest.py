"""Shared fixtures: the backend parameter and hypothesis profiles.

Every test that takes `device` runs on "cpu", and again on "cuda" when a GPU is visible;
the "cuda" case is not even collected on a machine without one.
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

DEVICES = ["cpu"] + (["cuda"] if tl.cuda_is_available() else [])


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
