"""Devices: 'cpu' always, 'cuda' only with CuPy and a GPU, and clear errors otherwise."""
import os
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import backend


def test_device_names():
    assert tl.device("cpu") == "cpu" and tl.device("cuda:0") == "cuda"
    assert tl.device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        tl.device("tpu")
    with pytest.raises(ValueError, match="only one GPU"):
        tl.device("cuda:1")


def test_array_module_is_numpy_on_cpu():
    assert backend.array_module(np.ones(2)) is np
    assert backend.array_module(tl.ones(2)) is np


@pytest.mark.skipif(tl.cuda_is_available(), reason="checks the error raised without a GPU")
def test_cuda_unavailable_raises_clearly():
    assert not tl.cuda.is_available()
    for make in (lambda: tl.zeros(2).to("cuda"), lambda: tl.zeros(2).cuda(),
                 lambda: tl.tensor([1.0], device="cuda"), lambda: tl.zeros(2, device="cuda"),
                 lambda: tl.randn(2, device="cuda"), lambda: tl.set_default_device("cuda")):
        with pytest.raises(RuntimeError, match="device 'cuda' is unavailable: .*CuPy"):
            make()
    assert tl.get_default_device() == "cpu"


@pytest.mark.skipif(not tl.cuda_is_available(), reason="needs a visible GPU")
def test_cross_device_ops_raise_naming_both():
    a, b = tl.ones(2), tl.ones(2, device="cuda")
    for fn in (lambda: a + b, lambda: a * b, lambda: tl.cat([a, b])):
        with pytest.raises(RuntimeError, match="cpu.*cuda|cuda.*cpu"):
            fn()
    with pytest.raises(RuntimeError, match="matmul: .*cpu.*cuda"):
        a.reshape(1, 2) @ b.reshape(2, 1)


@pytest.mark.skipif(not tl.cuda_is_available(), reason="needs a visible GPU")
def test_to_device_round_trip_keeps_gradient():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = (x.cuda() * 3).cpu()
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0] and x.grad.device == "cpu"


_HEAP_PROBE = """
import numpy as np, tinygrad_lite
from tinygrad_lite.backend import heap
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
blocks = [np.ones(1 << 18, dtype=np.float32) for _ in range(64)]   # 64 blocks of 1 MB
held = rss()
del blocks
print(heap.applied, (held - rss()) // 1024)
"""


@pytest.mark.skipif(not (sys.platform.startswith("linux") and backend.heap.applied),
                    reason="the heap setting applies to glibc's malloc on Linux only")
@pytest.mark.parametrize("keep", ["1", "0"])
def test_freed_blocks_stay_in_the_heap_unless_turned_off(keep):
    env = dict(os.environ, TINYGRAD_LITE_KEEP_HEAP=keep)
    out = subprocess.run([sys.executable, "-c", _HEAP_PROBE], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    applied, returned_mb = out[0] == "True", int(out[1])
    assert applied == (keep == "1")
    if applied:
        assert returned_mb < 8, returned_mb       # kept for the next step
    else:
        assert returned_mb > 32, returned_mb      # glibc's defaults give them back
