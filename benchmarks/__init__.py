"""`python -m benchmarks`: tinygrad_lite and PyTorch side by side, in one process, as ratios.

Both frameworks share two cores, so their thread pools are set to sleep as soon as their work is
done (before NumPy or torch is imported): OpenBLAS threads otherwise spin for up to 2^28 cycles
and torch's OpenMP threads for a while too, and a pool spinning after one side's step steals the
cores from the other side's step. With spinning pools a CNN step of torch measured 39 ms in the
interleaved run against 21 ms with sleeping pools; the spreads shrank 3-5x as well.
"""
import os

WAIT_POLICY = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4"}
for _key, _value in WAIT_POLICY.items():
    os.environ.setdefault(_key, _value)
