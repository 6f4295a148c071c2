"""The collectives on picklable objects: broadcast_object_list, all_gather_object, gather_object
and scatter_object_list.

Each object is pickled into bytes; the byte counts travel first, then the bytes in one message.
The receiving ranks unpickle what their peers send, as torch's do: use them between ranks you
trust.
"""
from __future__ import annotations

import pickle
from typing import Any, List, Optional

import numpy as np

from .collectives import rooted
from .process_group import load_mpi, resolve

__all__ = ["broadcast_object_list", "all_gather_object", "gather_object", "scatter_object_list"]


def _bytes_array(obj) -> np.ndarray:
    return np.frombuffer(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), dtype=np.uint8)


def _unpickled(data: np.ndarray, counts: np.ndarray) -> List[Any]:
    ends = np.cumsum(counts)
    return [pickle.loads(data[end - n:end].tobytes()) for end, n in zip(ends, counts)]


def _layout(counts: np.ndarray) -> tuple:
    counts = [int(n) for n in counts]
    return counts, [0] + np.cumsum(counts)[:-1].tolist()


def broadcast_object_list(object_list: list, src: Optional[int] = None, group=None, device=None,
                          group_src: Optional[int] = None) -> None:
    """object_list[i] <- rank src's object_list[i], on every rank."""
    what = "broadcast_object_list"
    pg, root = rooted(group, src, group_src, "src", what)
    if pg is None:
        return
    if not isinstance(object_list, list):
        raise TypeError(f"{what}: object_list must be a list, got {type(object_list).__name__}")
    if pg.rank == root:
        blobs = [_bytes_array(o) for o in object_list]
        sizes = np.array([b.size for b in blobs], dtype=np.int64)
    else:
        sizes = np.zeros(len(object_list), dtype=np.int64)
    pg.wait(pg.comm.Ibcast(sizes, root=root), f"{what} (sizes of {len(object_list)} objects)")
    if pg.rank == root:
        data = np.concatenate(blobs) if blobs else np.zeros(0, np.uint8)
    else:
        data = np.empty(int(sizes.sum()), dtype=np.uint8)
    pg.wait(pg.comm.Ibcast(data, root=root), f"{what} ({data.size} bytes)")
    if pg.rank != root:
        object_list[:] = _unpickled(data, sizes)


def all_gather_object(object_list: list, obj, group=None) -> None:
    """object_list[r] <- rank r's obj, on every rank."""
    what = "all_gather_object"
    pg = resolve(group, what)
    if pg is None:
        return
    if not isinstance(object_list, list) or len(object_list) != pg.size:
        raise ValueError(f"{what}: object_list must be a list of one entry per rank of the "
                         f"group ({pg.size})")
    blob = _bytes_array(obj)
    sizes = np.empty(pg.size, dtype=np.int64)
    pg.wait(pg.comm.Iallgather(np.array([blob.size], dtype=np.int64), sizes), f"{what} (sizes)")
    counts, displs = _layout(sizes)
    recv = np.empty(sum(counts), dtype=np.uint8)
    pg.wait(pg.comm.Iallgatherv(blob, [recv, (counts, displs), load_mpi().BYTE]),
            f"{what} ({recv.size} bytes)")
    object_list[:] = _unpickled(recv, sizes)


def gather_object(obj, object_gather_list: Optional[list] = None, dst: Optional[int] = None,
                  group=None, group_dst: Optional[int] = None) -> None:
    """object_gather_list[r] on rank dst <- rank r's obj; the other ranks pass no list."""
    what = "gather_object"
    pg, root = rooted(group, dst, group_dst, "dst", what)
    if pg is None:
        return
    here = pg.rank == root
    if here and (not isinstance(object_gather_list, list) or len(object_gather_list) != pg.size):
        raise ValueError(f"{what}: object_gather_list must be a list of one entry per rank of "
                         f"the group ({pg.size}) on the destination rank")
    if not here and object_gather_list:
        raise ValueError(f"{what}: object_gather_list must not be given on the ranks other than "
                         f"dst={pg.ranks[root]}")
    blob = _bytes_array(obj)
    sizes = np.empty(pg.size, dtype=np.int64) if here else None
    pg.wait(pg.comm.Igather(np.array([blob.size], dtype=np.int64), sizes, root=root),
            f"{what} (sizes)")
    if not here:
        pg.wait(pg.comm.Igatherv(blob, None, root=root), f"{what} ({blob.size} bytes)")
        return
    counts, displs = _layout(sizes)
    recv = np.empty(sum(counts), dtype=np.uint8)
    pg.wait(pg.comm.Igatherv(blob, [recv, (counts, displs), load_mpi().BYTE], root=root),
            f"{what} ({recv.size} bytes)")
    object_gather_list[:] = _unpickled(recv, sizes)


def scatter_object_list(scatter_object_output_list: list,
                        scatter_object_input_list: Optional[list] = None,
                        src: Optional[int] = None, group=None,
                        group_src: Optional[int] = None) -> None:
    """scatter_object_output_list[0] on rank r <- rank src's scatter_object_input_list[r]."""
    what = "scatter_object_list"
    pg, root = rooted(group, src, group_src, "src", what)
    if pg is None:
        return
    if not isinstance(scatter_object_output_list, list) or not scatter_object_output_list:
        raise ValueError(f"{what}: scatter_object_output_list must be a non-empty list")
    here = pg.rank == root
    if here and (not isinstance(scatter_object_input_list, list)
                 or len(scatter_object_input_list) != pg.size):
        raise ValueError(f"{what}: scatter_object_input_list must be a list of one object per "
                         f"rank of the group ({pg.size}) on the source rank")
    MPI = load_mpi()
    if here:
        blobs = [_bytes_array(o) for o in scatter_object_input_list]
        sizes = np.array([b.size for b in blobs], dtype=np.int64)
    mine = np.empty(1, dtype=np.int64)
    pg.wait(pg.comm.Iscatter(sizes if here else None, mine, root=root), f"{what} (sizes)")
    recv = np.empty(int(mine[0]), dtype=np.uint8)
    send = [np.concatenate(blobs), _layout(sizes), MPI.BYTE] if here else None
    pg.wait(pg.comm.Iscatterv(send, recv, root=root), f"{what} ({recv.size} bytes)")
    scatter_object_output_list[0] = pickle.loads(recv.tobytes())
