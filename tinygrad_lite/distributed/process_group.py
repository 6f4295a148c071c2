"""The default process group over MPI: setup, teardown, whole-job abort and per-collective timeouts.

mpi4py is imported here, inside init_process_group, and nowhere at import time: `import
tinygrad_lite` must work (and stay fast) on machines without MPI.
"""
from __future__ import annotations

import datetime
import importlib.util
import os
import sys
import time
from typing import Optional, Union

__all__ = ["init_process_group", "destroy_process_group", "is_available", "is_initialized",
           "is_mpi_available", "is_nccl_available", "get_backend", "get_rank", "get_world_size",
           "get_node_local_rank", "group", "GroupMember"]

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)   # torch's default for its CPU backends
_INSTALL = ("pip install mpi4py mpich (or, on a cluster, pip install mpi4py against the site's "
            "MPI)")
_MPI = None          # the mpi4py.MPI module, once loaded
_world = None        # the default ProcessGroup while one is initialised


def load_mpi():
    """mpi4py.MPI, or an ImportError in one line that says what to install."""
    global _MPI
    if _MPI is not None:
        return _MPI
    try:
        import mpi4py
    except ImportError:
        raise ImportError(f"tinygrad_lite.distributed: mpi4py is not installed; {_INSTALL}") \
            from None
    mpi4py.rc.threads = False       # one thread drives MPI; THREAD_MULTIPLE costs latency
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ImportError(f"tinygrad_lite.distributed: mpi4py cannot load an MPI library "
                          f"({first}); {_INSTALL}") from None
    _MPI = MPI
    return MPI


class ProcessGroup:
    """The world communicator with its rank, size, node-local rank and collective timeout."""

    def __init__(self, comm, backend: str, timeout: float):
        self.comm = comm
        self.backend = backend
        self.timeout = timeout
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        MPI = load_mpi()
        node = comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank, self.local_size = node.Get_rank(), node.Get_size()
        node.Free()

    def wait(self, request, what: str) -> None:
        """Drive a nonblocking MPI request to completion, or abort the job after `timeout` s.

        MPI without a progress thread only moves data inside calls like Test, so this polls:
        a short busy spin (latency of small messages), then sleeps that grow to 1 ms.
        """
        if request.Test():
            return
        start = time.monotonic()
        deadline = start + self.timeout
        spin_until = start + 1e-3
        delay = 2e-5
        while not request.Test():
            now = time.monotonic()
            if now > deadline:
                self.abort(f"{what} did not complete within {self.timeout:g} s on rank "
                           f"{self.rank} of {self.size}: another rank is stuck, has died or called "
                           f"a different collective")
            if now > spin_until:
                time.sleep(delay)
                delay = min(delay * 2, 1e-3)

    def abort(self, message: str, code: int = 1) -> None:
        """Print one line naming the problem, then end every rank of the job (MPI_Abort)."""
        sys.stderr.write(f"tinygrad_lite.distributed: {message}; aborting all {self.size} "
                         f"ranks\n")
        sys.stderr.flush()
        sys.stdout.flush()
        self.comm.Abort(code)

    def __repr__(self) -> str:
        return (f"ProcessGroup(backend={self.backend!r}, rank={self.rank}, size={self.size}, "
                f"timeout={self.timeout:g}s)")


class GroupMember:
    """torch's `dist.group.WORLD` / `GroupMember.WORLD`: the default group (None before init)."""

    WORLD = None
    NON_GROUP_MEMBER = -100


group = GroupMember


def _seconds(timeout) -> float:
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    if isinstance(timeout, datetime.timedelta):
        seconds = timeout.total_seconds()
    elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        seconds = float(timeout)
    else:
        raise TypeError(f"init_process_group: timeout must be a datetime.timedelta or seconds, "
                        f"got {timeout!r}")
    if not seconds > 0:
        raise ValueError(f"init_process_group: timeout must be positive, got {seconds} s")
    return seconds


def _install_abort_hook(pg: ProcessGroup) -> None:
    """An uncaught exception on one rank would leave the others waiting forever in their next
    collective (MPICH and Open MPI both): print it, then MPI_Abort the whole job."""
    previous = sys.excepthook

    def excepthook(kind, value, tb):
        previous(kind, value, tb)
        if _world is pg and pg.size > 1:
            pg.abort(f"uncaught {kind.__name__} on rank {pg.rank}")

    excepthook.tinygrad_lite_previous = previous
    sys.excepthook = excepthook


def _remove_abort_hook() -> None:
    previous = getattr(sys.excepthook, "tinygrad_lite_previous", None)
    if previous is not None:
        sys.excepthook = previous


def init_process_group(backend: Optional[str] = None, init_method: Optional[str] = None,
                       timeout: Union[datetime.timedelta, float, None] = None,
                       world_size: int = -1, rank: int = -1, store=None, group_name: str = "",
                       pg_options=None, device_id=None) -> None:
    """Join the job started by mpiexec/srun (a plain `python x.py` is a world of one).

    backend: "mpi" (or None, or "gloo" as torch CPU code spells it). timeout bounds every
    collective; past it the job aborts with a message naming the collective.
    """
    global _world
    if _world is not None:
        raise RuntimeError("init_process_group: the default process group is already "
                           "initialised (call destroy_process_group first)")
    name = "mpi" if backend is None else str(backend).lower()
    if name == "gloo":
        name = "mpi"
    if name == "nccl":
        raise ValueError("init_process_group: backend 'nccl' is not available in tinygrad_lite "
                         "yet; use backend='mpi' (CUDA tensors then travel through host memory)")
    if name != "mpi":
        raise ValueError(f"init_process_group: unknown backend {backend!r}; expected 'mpi' "
                         f"(or None)")
    seconds = _seconds(timeout)
    MPI = load_mpi()
    if not MPI.Is_initialized():
        MPI.Init()
    pg = ProcessGroup(MPI.COMM_WORLD.Dup(), name, seconds)
    for arg, have, what in ((world_size, pg.size, "world_size"), (rank, pg.rank, "rank")):
        if arg is not None and arg != -1 and int(arg) != have:
            raise ValueError(f"init_process_group: {what}={arg} was asked for but MPI started "
                             f"this process with {what}={have} (mpiexec -n sets the world)")
    _world = pg
    GroupMember.WORLD = pg
    # programs written for torchrun read these after init; mpiexec does not set them
    for key, value in (("RANK", pg.rank), ("WORLD_SIZE", pg.size), ("LOCAL_RANK", pg.local_rank),
                       ("LOCAL_WORLD_SIZE", pg.local_size)):
        os.environ.setdefault(key, str(value))
    _install_abort_hook(pg)


def destroy_process_group(group=None) -> None:
    """Leave the default group (MPI itself finalises at interpreter exit)."""
    global _world
    if group is not None and group is not _world:
        raise ValueError("destroy_process_group: only the default group exists in tinygrad_lite")
    pg = _world
    if pg is None:
        raise ValueError("destroy_process_group: the default process group is not initialised")
    _remove_abort_hook()
    _world = None
    GroupMember.WORLD = None
    pg.comm.Free()


def world(group=None, what: str = "distributed") -> ProcessGroup:
    """The default group, or a ValueError saying that init_process_group comes first."""
    pg = _world
    if pg is None:
        raise ValueError(f"{what}: the default process group is not initialised; call "
                         f"tinygrad_lite.distributed.init_process_group() first")
    if group is not None and group is not pg:
        raise ValueError(f"{what}: only the default group is supported (new_group is not "
                         f"implemented); pass group=None")
    return pg


def is_available() -> bool:
    """True when mpi4py is installed (checked without importing it)."""
    return importlib.util.find_spec("mpi4py") is not None


def is_mpi_available() -> bool:
    return is_available()


def is_nccl_available() -> bool:
    return False


def is_initialized() -> bool:
    return _world is not None


def get_backend(group=None) -> str:
    return world(group, "get_backend").backend


def get_rank(group=None) -> int:
    return world(group, "get_rank").rank


def get_world_size(group=None) -> int:
    return world(group, "get_world_size").size


def get_node_local_rank(fallback_rank: Optional[int] = None) -> int:
    """This process's rank among the ranks on its machine (torch reads LOCAL_RANK the same way)."""
    if _world is not None:
        return _world.local_rank
    if "LOCAL_RANK" in os.environ:
        return int(os.environ["LOCAL_RANK"])
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("get_node_local_rank: LOCAL_RANK is not set and no process group is "
                       "initialised")
