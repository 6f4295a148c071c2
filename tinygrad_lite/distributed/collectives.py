"""Collectives with torch.distributed's names and in-place semantics, over MPI buffers.

Tensors travel through mpi4py's buffer API (no pickling). Every collective is posted nonblocking
and driven by ProcessGroup.wait, so a rank that never arrives ends the job after the group's
timeout instead of hanging it. A tensor that MPI cannot use as it is (non-contiguous, read-only,
on the GPU, bool or float16) goes through a contiguous host copy that is written back afterwards.
"""
from __future__ import annotations

import enum
import pickle
from typing import Callable, List, Optional

import numpy as np

from ..backend import to_device
from ..tensor import Tensor
from .process_group import ProcessGroup, load_mpi, world

__all__ = ["ReduceOp", "Work", "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor",
           "reduce_scatter_tensor", "barrier", "broadcast_object_list", "all_gather_object"]


class ReduceOp(enum.Enum):
    """How all_reduce and reduce_scatter_tensor combine the ranks' values."""

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
    into the tensors (read them only after that)."""

    def __init__(self, pg: ProcessGroup, request, what: str,
                 finish: Optional[Callable[[], None]] = None):
        self._pg, self._request, self._what, self._finish = pg, request, what, finish
        self._done = False

    def wait(self, timeout=None) -> bool:
        if not self._done:
            self._pg.wait(self._request, self._what)
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
        return f"Work({self._what}, {'done' if self._done else 'pending'})"


def _run(pg: ProcessGroup, request, what: str, finish, async_op: bool):
    work = Work(pg, request, what, finish)
    if async_op:
        return work
    work.wait()
    return None


def _check_rank(pg: ProcessGroup, r, name: str, what: str) -> int:
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not 0 <= r < pg.size:
        raise ValueError(f"{what}: {name}={r!r} is not a rank of this group (0..{pg.size - 1})")
    return int(r)


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False):
    """tensor <- op over ranks of tensor, on every rank, in place."""
    what = "all_reduce"
    pg = world(group, what)
    buf = _Staged(tensor, what)
    mpi_op = _mpi_op(op, buf.dtype, what)
    desc = _describe(f"all_reduce({op.name})", [buf.array])
    request = pg.comm.Iallreduce(load_mpi().IN_PLACE, buf.array, mpi_op)

    def finish():
        if op is ReduceOp.AVG:
            np.divide(buf.array, pg.size, out=buf.array)
        buf.write_back()
    return _run(pg, request, desc, finish, async_op)


def broadcast(tensor: Tensor, src: int = 0, group=None, async_op: bool = False):
    """tensor <- rank src's tensor, on every rank, in place."""
    what = "broadcast"
    pg = world(group, what)
    src = _check_rank(pg, src, "src", what)
    buf = _Staged(tensor, what)
    request = pg.comm.Ibcast(buf.array, root=src)
    return _run(pg, request, _describe(f"broadcast(src={src})", [buf.array]), buf.write_back,
                async_op)


def _same_kind(a: Tensor, b: Tensor, what: str, names: str) -> None:
    if a.dtype != b.dtype:
        raise ValueError(f"{what}: {names} must share a dtype, got {a.dtype} and {b.dtype}")


def all_gather(tensor_list: List[Tensor], tensor: Tensor, group=None, async_op: bool = False):
    """tensor_list[r] <- rank r's tensor, on every rank."""
    what = "all_gather"
    pg = world(group, what)
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != pg.size:
        got = len(tensor_list) if isinstance(tensor_list, (list, tuple)) else tensor_list
        raise ValueError(f"all_gather: tensor_list must hold world_size={pg.size} tensors, got "
                         f"{got!r}")
    src = _Staged(tensor, what)
    outs = [_Staged(t, what, f"tensor_list[{i}]") for i, t in enumerate(tensor_list)]
    for i, (t, o) in enumerate(zip(tensor_list, outs)):
        _same_kind(t, tensor, what, f"tensor_list[{i}] and tensor")
        if tuple(t.shape) != tuple(tensor.shape):
            raise ValueError(f"all_gather: tensor_list[{i}] has shape {tuple(t.shape)} but the "
                             f"input has {tuple(tensor.shape)}")
    recv = np.empty((pg.size,) + src.array.shape, dtype=src.array.dtype)
    request = pg.comm.Iallgather(src.array, recv)

    def finish():
        for o, part in zip(outs, recv):
            o.write_back(part)
    return _run(pg, request, _describe("all_gather", [src.array]), finish, async_op)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group=None,
                           async_op: bool = False):
    """output <- the ranks' inputs concatenated along dim 0 (or stacked: any shape of
    world_size * input.numel() elements), on every rank."""
    what = "all_gather_into_tensor"
    pg = world(group, what)
    src = _Staged(input_tensor, what, "input_tensor")
    out = _Staged(output_tensor, what, "output_tensor")
    _same_kind(output_tensor, input_tensor, what, "output_tensor and input_tensor")
    if out.array.size != pg.size * src.array.size:
        raise ValueError(f"all_gather_into_tensor: output {tuple(output_tensor.shape)} must hold "
                         f"world_size ({pg.size}) x input {tuple(input_tensor.shape)} elements")
    request = pg.comm.Iallgather(src.array, out.array)
    return _run(pg, request, _describe(what, [src.array]), out.write_back, async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: ReduceOp = ReduceOp.SUM,
                          group=None, async_op: bool = False):
    """output on rank r <- op over ranks of chunk r of input (input split along dim 0 into
    world_size equal chunks)."""
    what = "reduce_scatter_tensor"
    pg = world(group, what)
    src = _Staged(input, what, "input")
    out = _Staged(output, what, "output")
    _same_kind(output, input, what, "output and input")
    if src.array.size != pg.size * out.array.size:
        raise ValueError(f"reduce_scatter_tensor: input {tuple(input.shape)} must hold "
                         f"world_size ({pg.size}) x output {tuple(output.shape)} elements")
    mpi_op = _mpi_op(op, src.dtype, what)
    request = pg.comm.Ireduce_scatter_block(src.array, out.array, mpi_op)

    def finish():
        if op is ReduceOp.AVG:
            np.divide(out.array, pg.size, out=out.array)
        out.write_back()
    return _run(pg, request, _describe(f"reduce_scatter_tensor({op.name})", [src.array]),
                finish, async_op)


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Return once every rank has called barrier."""
    pg = world(group, "barrier")
    return _run(pg, pg.comm.Ibarrier(), "barrier", None, async_op)


def _bytes_array(obj) -> np.ndarray:
    return np.frombuffer(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), dtype=np.uint8)


def broadcast_object_list(object_list: list, src: int = 0, group=None, device=None) -> None:
    """object_list[i] <- rank src's object_list[i], on every rank (objects are pickled: send only
    what you would unpickle from a peer)."""
    what = "broadcast_object_list"
    pg = world(group, what)
    src = _check_rank(pg, src, "src", what)
    if not isinstance(object_list, list):
        raise TypeError(f"{what}: object_list must be a list, got {type(object_list).__name__}")
    if pg.rank == src:
        blobs = [_bytes_array(o) for o in object_list]
        sizes = np.array([b.size for b in blobs], dtype=np.int64)
    else:
        sizes = np.zeros(len(object_list), dtype=np.int64)
    pg.wait(pg.comm.Ibcast(sizes, root=src), f"{what} (sizes of {len(object_list)} objects)")
    if pg.rank == src:
        data = np.concatenate(blobs) if blobs else np.zeros(0, np.uint8)
    else:
        data = np.empty(int(sizes.sum()), dtype=np.uint8)
    pg.wait(pg.comm.Ibcast(data, root=src), f"{what} ({data.size} bytes)")
    if pg.rank != src:
        ends = np.cumsum(sizes)
        for i, (end, n) in enumerate(zip(ends, sizes)):
            object_list[i] = pickle.loads(data[end - n:end].tobytes())


def all_gather_object(object_list: list, obj, group=None) -> None:
    """object_list[r] <- rank r's obj, on every rank (pickled, like broadcast_object_list)."""
    what = "all_gather_object"
    pg = world(group, what)
    if not isinstance(object_list, list) or len(object_list) != pg.size:
        raise ValueError(f"{what}: object_list must be a list of world_size={pg.size} entries")
    blob = _bytes_array(obj)
    sizes = np.empty(pg.size, dtype=np.int64)
    pg.wait(pg.comm.Iallgather(np.array([blob.size], dtype=np.int64), sizes), f"{what} (sizes)")
    counts = [int(n) for n in sizes]
    displs = [0] + list(np.cumsum(counts)[:-1].tolist())
    recv = np.empty(sum(counts), dtype=np.uint8)
    MPI = load_mpi()
    pg.wait(pg.comm.Iallgatherv(blob, [recv, (counts, displs), MPI.BYTE]),
            f"{what} ({recv.size} bytes)")
    for r in range(pg.size):
        object_list[r] = pickle.loads(recv[displs[r]:displs[r] + counts[r]].tobytes())
