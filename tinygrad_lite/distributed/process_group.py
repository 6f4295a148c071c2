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
import warnings
import zlib
from typing import List, Optional, Sequence, Union

import numpy as np

__all__ = ["init_process_group", "destroy_process_group", "is_available", "is_initialized",
           "is_mpi_available", "is_nccl_available", "get_backend", "get_rank", "get_world_size",
           "get_node_local_rank", "group", "GroupMember", "new_group", "get_group_rank",
           "get_global_rank", "get_process_group_ranks"]

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)   # torch's default for its CPU backends
_INSTALL = ("pip install mpi4py mpich (or, on a cluster, pip install mpi4py against the site's "
            "MPI)")
_MPI = None          # the mpi4py.MPI module, once loaded
_world = None        # the default ProcessGroup while one is initialised
_subgroups: list = []   # the live groups new_group made (freed with the default group)


# (rank, world size, local rank, local world size) as each launcher spells them
_LAUNCHER_ENV = (("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"),       # MPICH
                 ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
                  "OMPI_COMM_WORLD_LOCAL_SIZE"),                                     # Open MPI
                 ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", None))             # srun


def export_launcher_env() -> None:
    """Scripts written for torchrun test `RANK` before init_process_group (nanoGPT's
    `ddp = int(os.environ.get("RANK", -1)) != -1`); mpiexec and srun set their own names, so
    copy those to RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE where unset. Reads the
    environment only; MPI is not touched."""
    for names in _LAUNCHER_ENV:
        if names[0] in os.environ and names[1] in os.environ:
            for key, name in zip(("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"), names):
                if name is not None and name in os.environ:
                    os.environ.setdefault(key, os.environ[name])
            return


export_launcher_env()


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
    """A communicator with its rank, size, the global ranks of its members (in group-rank order),
    node-local rank and collective timeout: the default group or one that new_group made."""

    def __init__(self, comm, backend: str, timeout: float, ranks: Optional[List[int]] = None):
        self.comm = comm
        self.backend = backend
        self.timeout = timeout
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.ranks = list(range(self.size)) if ranks is None else list(ranks)
        MPI = load_mpi()
        node = comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank, self.local_size = node.Get_rank(), node.Get_size()
        node.Free()

    def where(self) -> str:
        """Which rank of which group this is, for messages."""
        if self is _world or _world is None:
            return f"rank {self.rank} of {self.size}"
        return (f"rank {self.rank} of {self.size} in the group of global ranks {self.ranks} "
                f"(global rank {self.ranks[self.rank]})")

    def wait(self, request, what: str, timeout: Optional[float] = None) -> None:
        """Drive a nonblocking MPI request to completion, or abort the job after `timeout` s
        (default: the group's).

        MPI without a progress thread only moves data inside calls like Test, so this polls:
        a short busy spin (latency of small messages), then sleeps that grow to 1 ms.
        """
        if request.Test():
            return
        timeout = self.timeout if timeout is None else timeout
        start = time.monotonic()
        deadline = start + timeout
        spin_until = start + 1e-3
        delay = 2e-5
        while not request.Test():
            now = time.monotonic()
            if now > deadline:
                self.abort(f"{what} did not complete within {timeout:g} s on "
                           f"{self.where()}: another rank is stuck, has died, has run out of "
                           f"batches (uneven data per rank: train inside DDP's join()) or "
                           f"called a different collective")
            if now > spin_until:
                time.sleep(delay)
                delay = min(delay * 2, 1e-3)

    def abort(self, message: str, code: int = 1) -> None:
        """Print one line naming the problem, then end every rank of the job (MPI_Abort)."""
        job = _world if _world is not None else self
        sys.stderr.write(f"tinygrad_lite.distributed: {message}; aborting all {job.size} "
                         f"ranks\n")
        sys.stderr.flush()
        sys.stdout.flush()
        job.comm.Abort(code)

    def __repr__(self) -> str:
        ranks = "" if self is _world else f", ranks={self.ranks}"
        return (f"ProcessGroup(backend={self.backend!r}, rank={self.rank}, size={self.size}"
                f"{ranks}, timeout={self.timeout:g}s)")


class GroupMember:
    """torch's `dist.group.WORLD` / `GroupMember.WORLD`: the default group (None before init)."""

    WORLD = None
    NON_GROUP_MEMBER = -100


group = GroupMember


def to_seconds(timeout, what: str = "init_process_group") -> float:
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    if isinstance(timeout, datetime.timedelta):
        seconds = timeout.total_seconds()
    elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        seconds = float(timeout)
    else:
        raise TypeError(f"{what}: timeout must be a datetime.timedelta or seconds, got "
                        f"{timeout!r}")
    if not seconds > 0:
        raise ValueError(f"{what}: timeout must be positive, got {seconds} s")
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


def _backend_name(backend, what: str) -> str:
    name = "mpi" if backend is None else str(backend).lower()
    if name == "gloo":
        name = "mpi"
    if name == "nccl":
        raise ValueError(f"{what}: backend 'nccl' is not available in tinygrad_lite yet; use "
                         f"backend='mpi' (CUDA tensors then travel through host memory)")
    if name != "mpi":
        raise ValueError(f"{what}: unknown backend {backend!r}; expected 'mpi' (or None)")
    return name


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
    name = _backend_name(backend, "init_process_group")
    seconds = to_seconds(timeout)
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
    """Leave `group`, or with None the default group and every group new_group made (MPI itself
    finalises at interpreter exit)."""
    global _world
    if _world is None:
        raise ValueError("destroy_process_group: the default process group is not initialised")
    if _is_non_member(group):
        return
    if group is not None and group is not _world:
        if not any(g is group for g in _subgroups):
            raise ValueError(f"destroy_process_group: {group!r} is not a live group of this job")
        _subgroups[:] = [g for g in _subgroups if g is not group]
        group.comm.Free()
        return
    for sub in _subgroups:
        sub.comm.Free()
    _subgroups.clear()
    pg = _world
    _remove_abort_hook()
    _world = None
    GroupMember.WORLD = None
    pg.comm.Free()


def _is_non_member(group) -> bool:
    return isinstance(group, int) and not isinstance(group, bool) \
        and group == GroupMember.NON_GROUP_MEMBER


def world(group=None, what: str = "distributed") -> ProcessGroup:
    """The default group, or a ValueError saying that init_process_group comes first (for the
    callers that work on the default group only)."""
    pg = _world
    if pg is None:
        raise ValueError(f"{what}: the default process group is not initialised; call "
                         f"tinygrad_lite.distributed.init_process_group() first")
    if group is not None and group is not pg:
        raise ValueError(f"{what}: only the default group is supported here; pass group=None "
                         f"(got {group!r})")
    return pg


def resolve(group, what: str) -> Optional[ProcessGroup]:
    """The group a collective runs on: None is the default group. A rank outside `group` (which
    new_group gave GroupMember.NON_GROUP_MEMBER) gets None and a warning, as in torch, and the
    collective does nothing there."""
    pg = world(None, what)
    if group is None or group is pg:
        return pg
    if _is_non_member(group):
        warnings.warn(f"Running {what} on global rank {pg.rank} which does not belong to the "
                      f"given group.", stacklevel=3)
        return None
    if isinstance(group, ProcessGroup) and any(g is group for g in _subgroups):
        return group
    raise ValueError(f"{what}: group must be None, dist.group.WORLD or a live group from "
                     f"new_group, got {group!r}")


def new_group(ranks: Optional[Sequence[int]] = None, timeout=None, backend: Optional[str] = None,
              pg_options=None, use_local_synchronization: bool = False, group_desc=None,
              device_id=None, sort_ranks: bool = True):
    """A group of the given global ranks (default: all), in sorted order unless sort_ranks=False.

    As in torch, every rank of the job calls it with the same ranks, members or not (with
    use_local_synchronization=True only the members do); a rank outside the group gets
    GroupMember.NON_GROUP_MEMBER. The group's timeout defaults to the default group's.
    """
    what = "new_group"
    pg = world(None, what)
    name = _backend_name(backend if backend is not None else pg.backend, what)
    seconds = pg.timeout if timeout is None else to_seconds(timeout, what)
    ranks = list(range(pg.size)) if ranks is None else list(ranks)
    for r in ranks:
        if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not 0 <= r < pg.size:
            raise ValueError(f"{what}: rank {r!r} is not a rank of the job (0..{pg.size - 1})")
    ranks = [int(r) for r in ranks]
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"{what}: ranks {ranks} name a rank more than once")
    if sort_ranks:
        ranks = sorted(ranks)
    member = pg.rank in ranks
    MPI = load_mpi()
    if use_local_synchronization:
        if not member:
            return GroupMember.NON_GROUP_MEMBER
        comm = pg.comm.Create_group(pg.comm.Get_group().Incl(ranks))
    else:
        # a rank that asks for other ranks than its peers would split into a wrong group
        mine = np.array([len(ranks), zlib.crc32(np.array(ranks, np.int64).tobytes())], np.int64)
        every = np.empty((pg.size, 2), np.int64)
        pg.wait(pg.comm.Iallgather(mine, every), f"{what}(ranks={ranks})")
        if not (every == every[0]).all():
            raise ValueError(f"{what}: the ranks did not all ask for the same ranks (rank "
                             f"{pg.rank} asked for {ranks}); every rank calls new_group with "
                             f"the same list")
        comm = pg.comm.Split(0 if member else MPI.UNDEFINED, ranks.index(pg.rank) if member else 0)
        if not member:
            return GroupMember.NON_GROUP_MEMBER
    sub = ProcessGroup(comm, name, seconds, ranks)
    _subgroups.append(sub)
    return sub


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
    pg = resolve(group, "get_backend")
    if pg is None:
        raise ValueError("get_backend: this rank is not a member of the group")
    return pg.backend


def get_rank(group=None) -> int:
    """This process's rank in `group` (default: the job); -1 outside the group, as in torch."""
    if _is_non_member(group):
        world(None, "get_rank")
        return -1
    return resolve(group, "get_rank").rank


def get_world_size(group=None) -> int:
    """How many ranks `group` has (default: the job); -1 outside the group, as in torch."""
    if _is_non_member(group):
        world(None, "get_world_size")
        return -1
    return resolve(group, "get_world_size").size


def _member_group(group, what: str) -> ProcessGroup:
    pg = resolve(group, what)
    if pg is None:
        raise ValueError(f"{what}: this rank is not a member of the group")
    return pg


def get_process_group_ranks(group) -> List[int]:
    """The global ranks of `group`'s members, in group-rank order."""
    return list(_member_group(group, "get_process_group_ranks").ranks)


def get_group_rank(group, global_rank: int) -> int:
    """The rank in `group` of the process with rank `global_rank` in the job."""
    pg = _member_group(group, "get_group_rank")
    if global_rank not in pg.ranks:
        raise ValueError(f"get_group_rank: global rank {global_rank!r} is not part of the group "
                         f"of global ranks {pg.ranks}")
    return pg.ranks.index(global_rank)


def get_global_rank(group, group_rank: int) -> int:
    """The rank in the job of the process with rank `group_rank` in `group`."""
    pg = _member_group(group, "get_global_rank")
    if isinstance(group_rank, bool) or not isinstance(group_rank, (int, np.integer)) \
            or not 0 <= group_rank < pg.size:
        raise ValueError(f"get_global_rank: group rank {group_rank!r} is not a rank of the "
                         f"group (0..{pg.size - 1})")
    return pg.ranks[int(group_rank)]


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
