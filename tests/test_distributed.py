"""tinygrad_lite.distributed, DistributedDataParallel, SyncBatchNorm and DistributedSampler.

The multi-process checks run tests/test_distributed_worker.py under `mpiexec -n 2` (the mpiexec
of the mpich wheel beside the interpreter), each under a subprocess timeout, so no test can hang.
They skip with one reason, "distributed: mpi4py/mpiexec not installed", only when mpi4py is
missing, so CI can fail on that line.
"""
import importlib.util
import itertools
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn as nn
from tinygrad_lite.data import DistributedSampler

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("test_distributed_worker.py")
SKIP_REASON = "distributed: mpi4py/mpiexec not installed"
needs_mpi = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None, reason=SKIP_REASON)


def _mpiexec() -> str:
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.fail("mpi4py is installed but no mpiexec was found beside the interpreter or on "
                    "PATH: pip install mpich")
    return found


def _launch(case, n=2, timeout_arg=60, limit=60, mpi=True):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd = [sys.executable, str(WORKER), case, str(timeout_arg)]
    if mpi:
        cmd = [_mpiexec(), "-n", str(n)] + cmd
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, env=env, cwd=ROOT)
    return proc, time.monotonic() - t0


def _ok(case, n=2, **kw):
    proc, _ = _launch(case, n, **kw)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    for r in range(n):
        assert out.count(f"OK {case} rank {r}") == 1, out[-4000:]


@needs_mpi
@pytest.mark.parametrize("case", ["collectives", "collectives_more", "ddp", "ddp_seq",
                                  "ddp_extras", "join"])
def test_two_ranks(case):
    _ok(case)


@needs_mpi
def test_plain_python_is_a_world_of_one():
    proc, _ = _launch("single", mpi=False)
    assert proc.returncode == 0 and "OK single rank 0" in proc.stdout, proc.stderr[-4000:]


@needs_mpi
def test_a_rank_raising_ends_the_job():
    proc, seconds = _launch("raise", limit=60)
    assert proc.returncode != 0 and seconds < 30
    assert "boom on rank 1" in proc.stderr
    assert "uncaught ValueError on rank 1; aborting all 2 ranks" in proc.stderr


@needs_mpi
def test_a_stuck_rank_times_out_naming_the_collective():
    proc, seconds = _launch("stuck", timeout_arg=2, limit=60)
    assert proc.returncode != 0 and seconds < 30
    assert ("all_reduce(SUM) of 1000 float32 elements (4000 bytes) did not complete within 2 s "
            "on rank 0 of 2") in proc.stderr, proc.stderr[-4000:]


@needs_mpi
def test_a_killed_rank_ends_the_job():
    proc, seconds = _launch("killed", limit=60)
    assert proc.returncode != 0 and seconds < 30
    assert "BAD TERMINATION" in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-4000:]
    assert "should never get here" not in proc.stdout


@needs_mpi
def test_uneven_batches_time_out_naming_the_ddp_bucket():
    """torch's DDP without join() also hangs when one rank has more batches: here the rank that
    waits aborts the job after the group's timeout, naming the bucket it waited for."""
    proc, seconds = _launch("uneven", timeout_arg=2, limit=60)
    assert proc.returncode != 0 and seconds < 30
    assert "rank 1 finished" in proc.stdout and "rank 0 finished" not in proc.stdout
    assert ("DistributedDataParallel's gradient bucket 1 of 1 (from net.5.bias), all_reduce(AVG) "
            "of 650 float64 elements (5200 bytes) did not complete within 2 s on rank 0 of 2"
            ) in proc.stderr, proc.stderr[-4000:]
    assert "run out of batches" in proc.stderr


def test_import_never_loads_mpi4py():
    code = ("import sys, tinygrad_lite, tinygrad_lite.nn, tinygrad_lite.distributed, "
            "tinygrad_lite.utils.data.distributed; assert 'mpi4py' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=ROOT)


def test_missing_mpi4py_is_one_line(monkeypatch):
    from tinygrad_lite.distributed import process_group
    monkeypatch.setattr(process_group, "_MPI", None)
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError) as e:
        process_group.load_mpi()
    assert "pip install mpi4py mpich" in str(e.value) and "\n" not in str(e.value)


def test_uninitialised_group_errors():
    import tinygrad_lite.distributed as dist
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="init_process_group"):
        dist.get_rank()
    with pytest.raises(ValueError, match="init_process_group"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="nccl"):
        dist.init_process_group("nccl")
    assert not dist.is_nccl_available()


# -- register_post_accumulate_grad_hook ---------------------------------------------------
def test_post_accumulate_hook_sees_the_summed_grad_once():
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.numpy().copy()))
    (w * 3 + w * w).sum().backward()          # two uses: the hook runs once, after both
    assert len(seen) == 1 and np.allclose(seen[0], [5.0, 7.0])
    (w * 2).sum().backward()                  # accumulation: the hook sees the running total
    assert len(seen) == 2 and np.allclose(seen[1], [7.0, 9.0])
    tl.autograd.grad((w * 2).sum(), [w])      # autograd.grad does not accumulate: no hook
    assert len(seen) == 2
    handle.remove()
    (w * 2).sum().backward()
    assert len(seen) == 2


def test_post_accumulate_hook_runs_during_backward():
    """The last layer's hook runs while the first layer's gradient is still to come: that is what
    lets DDP post a bucket's reduction before backward ends."""
    tl.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    order = []
    for name, p in net.named_parameters():
        p.register_post_accumulate_grad_hook(
            lambda p, name=name: order.append((name, net[0].weight.grad is None)))
    net(tl.randn(5, 3)).sum().backward()
    assert sorted(n for n, _ in order) == sorted(n for n, _ in net.named_parameters())
    assert dict(order)["2.weight"] is True and dict(order)["0.weight"] is False


def test_post_accumulate_hook_on_non_leaf_or_no_grad_raises():
    x = tl.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(RuntimeError, match="doesn't require"):
        tl.tensor([1.0]).register_post_accumulate_grad_hook(lambda p: None)


def test_post_accumulate_hook_with_a_branch_that_carries_no_grad():
    w = tl.tensor([2.0], requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(lambda p: calls.append(p.grad.item()))
    y = w * 3 + (w * 0).detach() + w.sum() * 0
    y.sum().backward()
    assert calls == [3.0]


# -- DataParallel ----------------------------------------------------------------------------
def test_data_parallel_is_the_module_wrapped():
    tl.manual_seed(0)
    inner = nn.Linear(3, 2)
    dp = nn.parallel.DataParallel(inner)
    x = tl.randn(4, 3)
    assert np.array_equal(dp(x).data, inner(x).data)
    assert dp.module is inner
    assert set(dp.state_dict()) == {"module.weight", "module.bias"}


# -- DistributedSampler ----------------------------------------------------------------------
SAMPLER_CASES = list(itertools.product([0, 1, 5, 7, 10, 11, 24], [1, 2, 3, 4], [False, True]))


@pytest.mark.parametrize("n,world,drop_last", SAMPLER_CASES)
def test_sampler_matches_torch_without_shuffle(n, world, drop_last):
    torch_data = pytest.importorskip("torch.utils.data", reason="torch is needed")
    for rank in range(world):
        for epoch in (0, 3):
            ours = DistributedSampler(range(n), world, rank, shuffle=False, drop_last=drop_last)
            theirs = torch_data.DistributedSampler(range(n), world, rank, shuffle=False,
                                                   drop_last=drop_last)
            ours.set_epoch(epoch)
            theirs.set_epoch(epoch)
            assert list(ours) == list(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize("n,world,drop_last", SAMPLER_CASES)
def test_sampler_shuffle_properties(n, world, drop_last):
    torch_data = pytest.importorskip("torch.utils.data", reason="torch is needed")

    def parts(epoch, seed=0):
        out = []
        for rank in range(world):
            s = DistributedSampler(range(n), world, rank, shuffle=True, seed=seed,
                                   drop_last=drop_last)
            s.set_epoch(epoch)
            out.append(list(s))
        return out

    p0 = parts(0)
    assert p0 == parts(0)                                 # the same lists on every call
    lens = {len(p) for p in p0}
    assert lens == {len(torch_data.DistributedSampler(range(n), world, 0,
                                                      drop_last=drop_last))}
    flat = [i for p in p0 for i in p]
    if drop_last:
        assert len(set(flat)) == len(flat)                # disjoint
    else:
        assert set(flat) == set(range(n))                 # covers, padded by wrap-around
        assert len(flat) == world * -(-n // world)        # padded to a multiple of world
    if n >= 5:
        assert parts(1) != p0 and parts(0, seed=1) != p0  # differs by epoch and seed


def test_sampler_bad_rank_and_no_group():
    with pytest.raises(ValueError, match="rank"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(range(4))


def test_sync_batchnorm_without_group_is_batchnorm():
    tl.manual_seed(0)
    bn = nn.BatchNorm1d(3)
    sbn = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(bn))[0]
    assert isinstance(sbn, nn.SyncBatchNorm) and sbn.weight is bn.weight
    x = tl.randn(6, 3)
    ref = nn.BatchNorm1d(3)
    assert np.allclose(sbn(x).data, ref(x).data)
    assert np.allclose(sbn.running_mean.data, ref.running_mean.data)
