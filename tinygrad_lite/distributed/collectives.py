"""Collectives with torch.distributed's names and in-place semantics, over MPI buffers.

Tensors travel through mpi4py's buffer API (no pickling). Every collective is posted nonblocking
and driven by ProcessGroup.wait, so a rank that never arrives ends the job after the group's
timeout instead of hanging it. A tensor that MPI cannot use as it is (non-contiguous, read-only,
on the GPU, bool or float16) goes through a contiguous host copy that is written back afterwards.
"""
from __future__ import annotations

import enum
from typing import Callable, List, Optional, Sequence

import numpy as np

from ..backend import to_device
from ..tensor import Tensor
from .process_group import ProcessGroup, load_mpi, resolve, to_seconds

__all__ = ["ReduceOp", "Work", "all_reduce", "reduce", "broadcast", "all_gather",
           "all_gather_into_tensor", "gather", "scatter", "reduce_scatter", "reduce_scatter_tensor",
           "all_to_all", "all_to_all_single", "barrier"]


class ReduceOp(enum.Enum):
    """How all_reduce, reduce and the reduce_scatters combine the ranks' values."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


def _mpi_op(op: ReduceOp, dtype: np.dtype, what: str):
    """The MPI op for `op` on arrays of `dtype` (bool travels as uint8: SUM/MAX are or, PRODUCT/
    MIN are and, as torch defines them on bool)."""
    MPI = load_mpi()
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{what}: op must be a tinygrad_lite.distributed.ReduceOp, got {op!r}")
    kind = dtype.kind
    if op is ReduceOp.AVG and kind not in "fc":
        raise ValueError(f"{what}: ReduceOp.AVG needs a floating-point tensor, got {dtype}")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and kind not in "iub":
        raise ValueError(f"{what}: ReduceOp.{op.name} needs an integer or bool tensor, got {dtype}")
    if op in (ReduceOp.MIN, ReduceOp.MAX) and kind == "c":
        raise ValueError(f"{what}: ReduceOp.{op.name} is not defined for complex tensors")
    if kind == "b":
        if op in (ReduceOp.SUM, ReduceOp.MAX):
            return MPI.MAX
        if op in (ReduceOp.PRODUCT, ReduceOp.MIN):
            return MPI.MIN
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND,
            ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}[op]


def _wire_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype an array travels as: MPI has no portable bool or half type."""
    if dtype == np.bool_:
        return np.dtype(np.uint8)
    if dtype == np.float16:
        return np.dtype(np.float32)
    return dtype


class _Staged:
    """A C-contiguous host array that MPI reads and writes, standing in for a tensor's storage."""

    def __init__(self, tensor: Tensor, what: str, name: str = "tensor"):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{what}: {name} must be a tinygrad_lite Tensor, got "
                            f"{type(tensor).__name__}")
        self.tensor = tensor
        data = tensor._data
        self.on_gpu = not isinstance(data, np.ndarray)
        host = to_device(data, "cpu") if self.on_gpu else data
        wire = _wire_dtype(host.dtype)
        if wire != host.dtype:
            self.array = np.ascontiguousarray(host, dtype=wire)
        elif self.on_gpu or not host.flags.c_contiguous or not host.flags.writeable:
            self.array = np.array(host, order="C")
        else:
            self.array = host           # MPI works on the tensor's own memory
        self.dtype = host.dtype

    def write_back(self, result: Optional[np.ndarray] = None) -> None:
        """Put `result` (default: the staged array) into the tensor, in place; bump its version."""
        t = self.tensor
        out = self.array if result is None else result
        if out is not t._data:
            out = out.reshape(t._data.shape).astype(self.dtype, copy=False)
            if self.on_gpu:
                t._data[...] = to_device(out, "cuda")
            elif t._data.flags.writeable:
                np.copyto(t._data, out)
            else:
                t._data = out.copy()
        t._version.v += 1


def _describe(name: str, arrays) -> str:
    n = sum(int(a.size) for a in arrays)
    nbytes = sum(int(a.nbytes) for a in arrays)
    dtype = arrays[0].dtype if arrays else "no"
    return f"{name} of {n} {dtype} elements ({nbytes} bytes)"


class Work:
    """The handle an `async_op=True` collective returns; `wait()` completes it and writes results
    into the tensors (read them only after that). `what` describes the collective for the
    timeout message."""

    def __init__(self, pg: ProcessGroup, request, what: str,
                 finish: Optional[Callable[[], None]] = None, timeout: Optional[float] = None):
        self._pg, self._request, self.what, self._finish = pg, request, what, finish
        self._timeout = timeout
        self._done = False

    def wait(self, timeout=None) -> bool:
        """Complete the collective (within `timeout`, default the group's) and write results."""
        if not self._done:
            seconds = self._timeout if timeout is None else to_seconds(timeout, "Work.wait")
            self._pg.wait(self._request, self.what, seconds)
            self._complete()
        return True

    def is_completed(self) -> bool:
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed()

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            self._finish()

    def __repr__(self) -> str:
        return f"Work({self.what}, {'done' if self._done else 'pending'})"


def _run(pg: ProcessGroup, request, what: str, finish, async_op: bool,
         timeout: Optional[float] = None):
    work = Work(pg, request, what, finish, timeout)
    if async_op:
        return work
    work.wait()
    return None


def _check_rank(pg: ProcessGroup, r, name: str, what: str) -> int:
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not 0 <= r < pg.size:
        raise ValueError(f"{what}: {name}={r!r} is not a rank of this group (0..{pg.size - 1})")
    return int(r)


def root_rank(pg: ProcessGroup, global_rank, group_rank, name: str, what: str) -> int:
    """The group rank of a src or dst, given as a global rank (`src=`, `dst=`) or as a rank in the
    group (`group_src=`, `group_dst=`), exactly one of the two, as torch asks."""
    if global_rank is not None and group_rank is not None:
        raise ValueError(f"{what}: give {name} (a global rank) or group_{name}, not both")
    if group_rank is not None:
        return _check_rank(pg, group_rank, f"group_{name}", what)
    if global_rank is None:
        raise ValueError(f"{what}: {name} (a global rank) or group_{name} is required")
    if isinstance(global_rank, bool) or not isinstance(global_rank, (int, np.integer)) \
            or int(global_rank) not in pg.ranks:
        raise ValueError(f"{what}: {name}={global_rank!r} is not a rank of this group (global "
                         f"ranks {pg.ranks})")
    return pg.ranks.index(int(global_rank))


def rooted(group, global_rank, group_rank, name: str, what: str) -> tuple:
    """(group, root's group rank) for a collective with a src or dst; (None, None) on a rank
    outside the group, where the collective does nothing."""
    pg = resolve(group, what)
    if pg is None:
        return None, None
    return pg, root_rank(pg, global_rank, group_rank, name, what)


def _same_kind(a: Tensor, b: Tensor, what: str, names: str) -> None:
    if a.dtype != b.dtype:
        raise ValueError(f"{what}: {names} must share a dtype, got {a.dtype} and {b.dtype}")


def _in_out(input: Tensor, output: Tensor, what: str, input_name: str = "input",
            output_name: str = "output") -> tuple:
    """The staged input and output of a one-tensor-in, one-tensor-out collective."""
    src, out = _Staged(input, what, input_name), _Staged(output, what, output_name)
    _same_kind(output, input, what, f"{output_name} and {input_name}")
    return src, out


def _staged_list(tensors, pg: ProcessGroup, what: str, name: str) -> List[_Staged]:
    """Stage a list that holds one tensor per rank of the group."""
    if not isinstance(tensors, (list, tuple)) or len(tensors) != pg.size:
        got = f"{len(tensors)} tensors" if isinstance(tensors, (list, tuple)) else repr(tensors)
        raise ValueError(f"{what}: {name} must hold one tensor per rank of the group "
                         f"({pg.size}), got {got}")
    return [_Staged(t, what, f"{name}[{i}]") for i, t in enumerate(tensors)]


def _matching(tensors, like: Tensor, pg: ProcessGroup, what: str, name: str,
              like_name: str = "tensor") -> List[_Staged]:
    """Stage one tensor per rank, each of `like`'s shape and dtype."""
    staged = _staged_list(tensors, pg, what, name)
    for i, t in enumerate(tensors):
        _same_kind(t, like, what, f"{name}[{i}] and {like_name}")
        if tuple(t.shape) != tuple(like.shape):
            raise ValueError(f"{what}: {name}[{i}] has shape {tuple(t.shape)} but {like_name} "
                             f"has {tuple(like.shape)}")
    return staged


def _stacked(staged: List[_Staged]) -> np.ndarray:
    """The per-rank arrays as one contiguous (world, *shape) send buffer."""
    return np.stack([s.array for s in staged])


def _reduced(buf: _Staged, op: ReduceOp, pg: ProcessGroup) -> Callable[[], None]:
    """What completes a reduction into buf: AVG's division by the group size, the write-back."""
    def finish():
        if op is ReduceOp.AVG:
            np.divide(buf.array, pg.size, out=buf.array)
        buf.write_back()
    return finish


def _displacements(counts: Sequence[int]) -> List[int]:
    return [0] + np.cumsum(counts)[:-1].tolist() if len(counts) else []


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """tensor <- op over ranks of tensor, on every rank, in place."""
    what = "all_reduce"
    pg = resolve(group, what)
    if pg is None:
        return None
    buf = _Staged(tensor, what)
    mpi_op = _mpi_op(op, buf.dtype, what)
    desc = _describe(f"all_reduce({op.name})", [buf.array])
    request = pg.comm.Iallreduce(load_mpi().IN_PLACE, buf.array, mpi_op)
    return _run(pg, request, desc, _reduced(buf, op, pg), async_op)


def reduce(tensor: Tensor, dst: Optional[int] = None, op: ReduceOp = ReduceOp.SUM, group=None,
           async_op: bool = False, group_dst: Optional[int] = None):
    """tensor on rank dst <- op over ranks of tensor, in place; the other ranks' tensors keep
    their values."""
    what = "reduce"
    pg, root = rooted(group, dst, group_dst, "dst", what)
    if pg is None:
        return None
    buf = _Staged(tensor, what)
    mpi_op = _mpi_op(op, buf.dtype, what)
    desc = _describe(f"reduce({op.name}, dst={pg.ranks[root]})", [buf.array])
    if pg.rank != root:
        return _run(pg, pg.comm.Ireduce(buf.array, None, mpi_op, root=root), desc, None,
                    async_op)
    request = pg.comm.Ireduce(load_mpi().IN_PLACE, buf.array, mpi_op, root=root)
    return _run(pg, request, desc, _reduced(buf, op, pg), async_op)


def broadcast(tensor: Tensor, src: Optional[int] = None, group=None, async_op: bool = False,
              group_src: Optional[int] = None):
    """tensor <- rank src's tensor, on every rank, in place."""
    what = "broadcast"
    pg, root = rooted(group, src, group_src, "src", what)
    if pg is None:
        return None
    buf = _Staged(tensor, what)
    request = pg.comm.Ibcast(buf.array, root=root)
    return _run(pg, request, _describe(f"broadcast(src={pg.ranks[root]})", [buf.array]),
                buf.write_back, async_op)


def all_gather(tensor_list: List[Tensor], tensor: Tensor, group=None, async_op: bool = False):
    """tensor_list[r] <- rank r's tensor, on every rank."""
    what = "all_gather"
    pg = resolve(group, what)
    if pg is None:
        return None
    src = _Staged(tensor, what)
    outs = _matching(tensor_list, tensor, pg, what, "tensor_list")
    recv = np.empty((pg.size,) + src.array.shape, dtype=src.array.dtype)
    request = pg.comm.Iallgather(src.array, recv)

    def finish():
        for o, part in zip(outs, recv):
            o.write_back(part)
    return _run(pg, request, _describe(what, [src.array]), finish, async_op)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group=None,
                           async_op: bool = False):
    """output <- the ranks' inputs concatenated along dim 0 (or stacked: any shape of
    world_size * input.numel() elements), on every rank."""
    what = "all_gather_into_tensor"
    pg = resolve(group, what)
    if pg is None:
        return None
    src, out = _in_out(input_tensor, output_tensor, what, "input_tensor", "output_tensor")
    if out.array.size != pg.size * src.array.size:
        raise ValueError(f"all_gather_into_tensor: output {tuple(output_tensor.shape)} must hold "
                         f"world_size ({pg.size}) x input {tuple(input_tensor.shape)} elements")
    request = pg.comm.Iallgather(src.array, out.array)
    return _run(pg, request, _describe(what, [src.array]), out.write_back, async_op)


def gather(tensor: Tensor, gather_list: Optional[List[Tensor]] = None, dst: Optional[int] = None,
           group=None, async_op: bool = False, group_dst: Optional[int] = None):
    """gather_list[r] on rank dst <- rank r's tensor; the other ranks pass no gather_list."""
    what = "gather"
    pg, root = rooted(group, dst, group_dst, "dst", what)
    if pg is None:
        return None
    src = _Staged(tensor, what)
    desc = _describe(f"gather(dst={pg.ranks[root]})", [src.array])
    if pg.rank != root:
        if gather_list:
            raise ValueError(f"gather: gather_list must not be given on the ranks other than "
                             f"dst={pg.ranks[root]}")
        return _run(pg, pg.comm.Igather(src.array, None, root=root), desc, None, async_op)
    if gather_list is None:
        raise ValueError("gather: gather_list is required on the destination rank")
    outs = _matching(gather_list, tensor, pg, what, "gather_list")
    recv = np.empty((pg.size,) + src.array.shape, dtype=src.array.dtype)
    request = pg.comm.Igather(src.array, recv, root=root)

    def finish():
        for o, part in zip(outs, recv):
            o.write_back(part)
    return _run(pg, request, desc, finish, async_op)


def scatter(tensor: Tensor, scatter_list: Optional[List[Tensor]] = None,
            src: Optional[int] = None, group=None, async_op: bool = False,
            group_src: Optional[int] = None):
    """tensor on rank r <- rank src's scatter_list[r], in place; only src passes scatter_list."""
    what = "scatter"
    pg, root = rooted(group, src, group_src, "src", what)
    if pg is None:
        return None
    out = _Staged(tensor, what)
    if pg.rank != root:
        if scatter_list:
            raise ValueError(f"scatter: scatter_list must not be given on the ranks other than "
                             f"src={pg.ranks[root]}")
        send = None
    elif scatter_list is None:
        raise ValueError("scatter: scatter_list is required on the source rank")
    else:
        send = _stacked(_matching(scatter_list, tensor, pg, what, "scatter_list"))
    request = pg.comm.Iscatter(send, out.array, root=root)
    return _run(pg, request, _describe(f"scatter(src={pg.ranks[root]})", [out.array]),
                out.write_back, async_op)


def reduce_scatter(output: Tensor, input_list: List[Tensor], op: ReduceOp = ReduceOp.SUM,
                   group=None, async_op: bool = False):
    """output on rank r <- op over ranks of input_list[r]."""
    what = "reduce_scatter"
    pg = resolve(group, what)
    if pg is None:
        return None
    out = _Staged(output, what, "output")
    send = _stacked(_matching(input_list, output, pg, what, "input_list", "output"))
    mpi_op = _mpi_op(op, out.dtype, what)
    request = pg.comm.Ireduce_scatter_block(send, out.array, mpi_op)
    return _run(pg, request, _describe(f"reduce_scatter({op.name})", [send]),
                _reduced(out, op, pg), async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: ReduceOp = ReduceOp.SUM,
                          group=None, async_op: bool = False):
    """output on rank r <- op over ranks of chunk r of input (input split along dim 0 into
    world_size equal chunks)."""
    what = "reduce_scatter_tensor"
    pg = resolve(group, what)
    if pg is None:
        return None
    src, out = _in_out(input, output, what)
    if src.array.size != pg.size * out.array.size:
        raise ValueError(f"reduce_scatter_tensor: input {tuple(input.shape)} must hold "
                         f"world_size ({pg.size}) x output {tuple(output.shape)} elements")
    mpi_op = _mpi_op(op, src.dtype, what)
    request = pg.comm.Ireduce_scatter_block(src.array, out.array, mpi_op)
    return _run(pg, request, _describe(f"reduce_scatter_tensor({op.name})", [src.array]),
                _reduced(out, op, pg), async_op)


def _check_counts(pg: ProcessGroup, send_counts: List[int], recv_counts: List[int],
                  what: str) -> None:
    """Every peer must send this rank as many elements as this rank's output holds for it (MPI
    would truncate or abort): the counts go round first, so a mismatch is a ValueError here."""
    theirs = np.empty(pg.size, dtype=np.int64)
    pg.wait(pg.comm.Ialltoall(np.asarray(send_counts, dtype=np.int64), theirs),
            f"{what} (element counts)")
    for r in range(pg.size):
        if int(theirs[r]) != recv_counts[r]:
            raise ValueError(f"{what}: rank {pg.ranks[r]} sends {int(theirs[r])} elements to "
                             f"rank {pg.ranks[pg.rank]}, whose output for it holds "
                             f"{recv_counts[r]}")


def _alltoallv(pg: ProcessGroup, send: np.ndarray, send_counts: List[int], recv: np.ndarray,
               recv_counts: List[int]):
    return pg.comm.Ialltoallv([send, (send_counts, _displacements(send_counts))],
                              [recv, (recv_counts, _displacements(recv_counts))])


def all_to_all(output_tensor_list: List[Tensor], input_tensor_list: List[Tensor], group=None,
               async_op: bool = False):
    """output_tensor_list[r] <- rank r's input_tensor_list[this rank]; the tensors may differ in
    size from pair to pair, but not in dtype."""
    what = "all_to_all"
    pg = resolve(group, what)
    if pg is None:
        return None
    ins = _staged_list(input_tensor_list, pg, what, "input_tensor_list")
    outs = _staged_list(output_tensor_list, pg, what, "output_tensor_list")
    first = input_tensor_list[0]
    for name, tensors in (("input_tensor_list", input_tensor_list),
                          ("output_tensor_list", output_tensor_list)):
        for i, t in enumerate(tensors):
            _same_kind(t, first, what, f"{name}[{i}] and input_tensor_list[0]")
    send_counts = [int(s.array.size) for s in ins]
    recv_counts = [int(o.array.size) for o in outs]
    _check_counts(pg, send_counts, recv_counts, what)
    send = np.concatenate([s.array.ravel() for s in ins])
    recv = np.empty(sum(recv_counts), dtype=send.dtype)
    request = _alltoallv(pg, send, send_counts, recv, recv_counts)

    def finish():
        for o, start, n in zip(outs, _displacements(recv_counts), recv_counts):
            o.write_back(recv[start:start + n])
    return _run(pg, request, _describe(what, [send]), finish, async_op)


def _splits(sizes, shape, pg: ProcessGroup, what: str, name: str) -> List[int]:
    """Rows of dim 0 per rank: `sizes`, or equal shares when sizes is None."""
    if sizes is None:
        if shape[0] % pg.size:
            raise ValueError(f"{what}: {name} {shape} cannot be split along dim 0 into "
                             f"{pg.size} equal parts; pass {name}_split_sizes")
        return [shape[0] // pg.size] * pg.size
    sizes = list(sizes)
    if len(sizes) != pg.size or any(isinstance(s, bool) or not isinstance(s, (int, np.integer))
                                    or s < 0 for s in sizes) or sum(sizes) != shape[0]:
        raise ValueError(f"{what}: {name}_split_sizes must be {pg.size} non-negative ints that "
                         f"add up to dim 0 of {name} {shape}, got {sizes}")
    return [int(s) for s in sizes]


def all_to_all_single(output: Tensor, input: Tensor, output_split_sizes=None,
                      input_split_sizes=None, group=None, async_op: bool = False):
    """input is split along dim 0 (input_split_sizes rows per rank, equal shares by default) and
    part r goes to rank r; output holds what each rank sent, in rank order (output_split_sizes
    rows from each)."""
    what = "all_to_all_single"
    pg = resolve(group, what)
    if pg is None:
        return None
    src, out = _in_out(input, output, what)
    if src.array.ndim == 0 or out.array.ndim == 0:
        raise ValueError(f"{what}: input {tuple(input.shape)} and output {tuple(output.shape)} "
                         f"need a dim 0 to split along")
    rows_in = _splits(input_split_sizes, tuple(input.shape), pg, what, "input")
    rows_out = _splits(output_split_sizes, tuple(output.shape), pg, what, "output")
    row_in = int(np.prod(src.array.shape[1:], dtype=np.int64))
    row_out = int(np.prod(out.array.shape[1:], dtype=np.int64))
    send_counts = [n * row_in for n in rows_in]
    recv_counts = [n * row_out for n in rows_out]
    _check_counts(pg, send_counts, recv_counts, what)
    request = _alltoallv(pg, src.array, send_counts, out.array, recv_counts)
    return _run(pg, request, _describe(what, [src.array]), out.write_back, async_op)


def barrier(group=None, async_op: bool = False, device_ids=None, timeout=None):
    """Return once every rank of the group has called barrier (within `timeout`, default the
    group's)."""
    pg = resolve(group, "barrier")
    if pg is None:
        return None
    seconds = None if timeout is None else to_seconds(timeout, "barrier")
    return _run(pg, pg.comm.Ibarrier(), "barrier", None, async_op, seconds)
