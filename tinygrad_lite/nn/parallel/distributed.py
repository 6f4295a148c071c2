"""DistributedDataParallel: one model replica per rank, gradients averaged during backward.

At construction rank 0's parameters and buffers overwrite every other rank's. The trainable
parameters are cut, in reverse registration order (roughly the order backward produces their
gradients), into buckets of at most bucket_cap_mb. A post-accumulate-grad hook on each parameter
counts the bucket down; a full bucket is flattened and its all_reduce(AVG) posted at once, while
backward goes on. Buckets are posted strictly in bucket order, so every rank issues the same
collectives in the same order; the last one waits for all and writes the averages into `.grad`.

Inside `join()` ranks may run different numbers of iterations: each forward first counts the
ranks still training (one small all_reduce), and a rank whose inputs ran out answers the others'
collectives with zeros (buffers, buckets) until every rank has left `join()`.
"""
from __future__ import annotations

import contextlib
import weakref
from typing import Iterator, List, Optional

import numpy as np

from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled
from ...backend import array_module
from ...distributed.collectives import ReduceOp, all_reduce, broadcast
from ...distributed.process_group import ProcessGroup, resolve
from ...tensor import Tensor
from ..modules.module import Module

__all__ = ["DistributedDataParallel"]


def _coalesced_broadcast(tensors: List[Tensor], pg: ProcessGroup, src: int = 0) -> None:
    """Broadcast many tensors from group rank `src` in one message per dtype (in place)."""
    by_dtype = {}
    for t in tensors:
        by_dtype.setdefault(str(t._data.dtype), []).append(t)
    for group in by_dtype.values():
        xp = array_module(group[0]._data)
        flat = Tensor._make(xp.concatenate([xp.ravel(t._data) for t in group]), False, None, None)
        broadcast(flat, group=pg, group_src=src)
        offset = 0
        for t in group:
            n = t._data.size
            t._data[...] = flat._data[offset:offset + n].reshape(t._data.shape)
            t._version.v += 1
            offset += n


def _reachable_leaves(outputs) -> set:
    """ids of the leaf tensors that the graphs of `outputs` reach (iterative walk)."""
    stack, seen, leaves = [], set(), set()
    todo = [outputs]
    while todo:             # find the tensors inside nested outputs (tuples, lists, dicts)
        o = todo.pop()
        if isinstance(o, Tensor):
            if o.grad_fn is not None:
                stack.append(o.grad_fn)
            elif o.requires_grad:
                leaves.add(id(o))
        elif isinstance(o, (list, tuple)):
            todo.extend(o)
        elif isinstance(o, dict):
            todo.extend(o.values())
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for p in node.parents:
            if isinstance(p, Function):
                stack.append(p)
            elif p is not None:
                leaves.add(id(p))
    return leaves


class _Bucket:
    def __init__(self, indices: List[int]):
        self.indices = indices
        self.left = len(indices)
        self.flat: Optional[Tensor] = None
        self.work = None


class _Joined:
    """What join() keeps: its two settings and the last count of ranks still training."""

    def __init__(self, divide_by_initial_world_size: bool, throw_on_early_termination: bool):
        self.divide_by_world = divide_by_initial_world_size
        self.throw = throw_on_early_termination
        self.active = None          # ranks still training in this iteration, once counted
        self.last = 0               # the highest rank training in the latest iteration counted


class DistributedDataParallel(Module):
    """Wraps `module` so that backward averages its gradients over all ranks (torch's DDP)."""

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group=None, bucket_cap_mb: float = 25,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a Module, got "
                            f"{type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got "
                             f"{bucket_cap_mb!r}")
        pg = resolve(process_group, "DistributedDataParallel")
        if pg is None:
            raise ValueError("DistributedDataParallel: this rank is not a member of "
                             "process_group")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.bucket_cap_mb = bucket_cap_mb
        self.require_backward_grad_sync = True
        self._pg = pg
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._names = [n for n, _ in named]
        self._params = [p for _, p in named]
        if pg.size > 1:
            _coalesced_broadcast(self._model_state(), pg)
        self._buckets = self._make_buckets(bucket_cap_mb * 1024 * 1024)
        self._bucket_of = {}
        for b, bucket in enumerate(self._buckets):
            for i in bucket.indices:
                self._bucket_of[i] = b
        self._armed = False
        self._joined = None       # a _Joined while inside join()
        self._hooked = 0          # parameters whose gradient arrived through backward this round
        self._handles = [p.register_post_accumulate_grad_hook(self._hook_for(i))
                         for i, p in enumerate(self._params)]

    # -- setup ----------------------------------------------------------------------------
    def _buffers_to_sync(self) -> List[Tensor]:
        return [b for _, b in self.module.named_buffers() if b is not None]

    def _model_state(self) -> List[Tensor]:
        """Every parameter (trainable or not) and buffer: what rank 0 hands out at construction
        and the last rank to finish hands out on leaving join()."""
        return [p for _, p in self.module.named_parameters()] + self._buffers_to_sync()

    def _make_buckets(self, cap_bytes: float) -> List[_Bucket]:
        buckets, current, size, key = [], [], 0, None
        for i in reversed(range(len(self._params))):
            p = self._params[i]
            k = (str(p._data.dtype), type(p._data))
            nbytes = p._data.nbytes
            if current and (k != key or size + nbytes > cap_bytes):
                buckets.append(_Bucket(current))
                current, size = [], 0
            current.append(i)
            size += nbytes
            key = k
        if current:
            buckets.append(_Bucket(current))
        return buckets

    # -- forward --------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        if self._armed and self._hooked:
            missing = [self._names[i] for i in range(len(self._params)) if i not in self._seen]
            raise RuntimeError(
                "DistributedDataParallel: the previous backward produced no gradient for "
                f"{len(missing)} parameter(s): {', '.join(missing)}. They took no part in the "
                "loss; pass find_unused_parameters=True to DistributedDataParallel, or make every "
                "parameter contribute to the loss")
        syncs = is_grad_enabled() and self.require_backward_grad_sync and bool(self._params)
        src = self._count_ranks(True, syncs)[2] if self._joined is not None else 0
        self._sync_buffers(src)
        out = self.module(*inputs, **kwargs)
        self._armed = False
        if syncs:
            self._arm()
            if self.find_unused_parameters:
                used = _reachable_leaves(out)
                self._unused = {i for i, p in enumerate(self._params) if id(p) not in used}
                for i in sorted(self._unused):
                    self._mark_ready(i)
        return out

    def _arm(self) -> None:
        self._armed = True
        self._hooked = 0
        self._seen = set()
        self._unused = set()
        self._next = 0
        for bucket in self._buckets:
            bucket.left = len(bucket.indices)
            bucket.flat = bucket.work = None

    # -- backward -------------------------------------------------------------------------
    def _hook_for(self, i: int):
        ref = weakref.ref(self)     # the hook must not keep a dropped DDP (and its model) alive

        def hook(param):
            ddp = ref()
            if ddp is not None and ddp._armed:
                ddp._hooked += 1
                ddp._mark_ready(i)
        return hook

    def _mark_ready(self, i: int) -> None:
        if i in self._seen:
            raise RuntimeError(
                f"DistributedDataParallel: parameter {self._names[i]} received its gradient twice "
                "in one iteration (two backward passes after one forward?); run the extra "
                "backward passes inside no_sync()")
        self._seen.add(i)
        bucket = self._buckets[self._bucket_of[i]]
        bucket.left -= 1
        while self._next < len(self._buckets) and self._buckets[self._next].left == 0:
            self._launch(self._buckets[self._next])
            self._next += 1
        for b in self._buckets[:self._next]:
            if b.work is not None:
                b.work.is_completed()       # lets MPI move the posted buckets along
        if self._next == len(self._buckets):
            self._finish()

    def _launch(self, bucket: _Bucket) -> None:
        parts = []
        for i in bucket.indices:
            p = self._params[i]
            xp = array_module(p._data)
            g = None if i in self._unused else p.grad
            parts.append(xp.ravel(g._data) if g is not None else xp.zeros(p._data.size,
                                                                          p._data.dtype))
        xp = array_module(self._params[bucket.indices[0]]._data)
        bucket.flat = Tensor._make(xp.concatenate(parts), False, None, None)
        bucket.work = all_reduce(bucket.flat, self._bucket_op(), group=self._pg, async_op=True)
        first = self._names[bucket.indices[0]]
        bucket.work.what = (f"DistributedDataParallel's gradient bucket {self._next + 1} of "
                            f"{len(self._buckets)} (from {first}), {bucket.work.what}")

    def _finish(self) -> None:
        self._armed = False
        used = None
        if self.find_unused_parameters:
            # a parameter no rank used keeps grad None, as in torch
            flags = np.array([i not in self._unused for i in range(len(self._params))],
                             dtype=np.uint8)
            used_t = Tensor._make(flags, False, None, None)
            all_reduce(used_t, ReduceOp.MAX, group=self._pg)
            used = used_t._data
        per_rank = None     # join(divide_by_initial_world_size=False): sums over ranks training
        if self._bucket_op() is ReduceOp.SUM:
            per_rank = 1.0 / self._joined.active
        for bucket in self._buckets:
            bucket.work.wait()
            offset = 0
            for i in bucket.indices:
                p = self._params[i]
                n = p._data.size
                avg = bucket.flat._data[offset:offset + n].reshape(p._data.shape)
                if per_rank is not None:
                    avg = avg * avg.dtype.type(per_rank)
                offset += n
                if used is not None and not used[i]:
                    continue
                if p.grad is None:
                    p.grad = Tensor._make(avg.copy(), False, None, None)
                else:
                    p.grad._data[...] = avg
            bucket.flat = bucket.work = None

    # -- the rest of torch's surface --------------------------------------------------------
    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes inside only accumulate local gradients; the first one outside
        averages the accumulated sums."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    @contextlib.contextmanager
    def join(self, divide_by_initial_world_size: bool = True, enable: bool = True,
             throw_on_early_termination: bool = False) -> Iterator[None]:
        """torch's DDP.join(): the ranks may run different numbers of iterations inside. A rank
        whose inputs ran out keeps answering the others' collectives with zeros until every rank
        has left the block, so nobody waits forever; gradients are divided by the initial world
        size (the missing ranks count as zeros) or, with divide_by_initial_world_size=False, by
        the number of ranks still training. Buffers are broadcast from the highest rank still
        training, and on leaving, every rank takes the model of the last rank to finish (the
        others' optimizers stopped stepping). throw_on_early_termination=True raises on every
        rank instead, as soon as one rank runs out."""
        if not enable or self._pg.size == 1:
            yield
            return
        if self._joined is not None:
            raise RuntimeError("DistributedDataParallel.join: already inside join()")
        self._joined = _Joined(divide_by_initial_world_size, throw_on_early_termination)
        finished = False
        try:
            yield
            finished = True
        finally:
            try:
                if finished:        # after an exception the abort handler ends the job instead
                    self._shadow_until_all_done()
            finally:
                self._joined = None

    def _count_ranks(self, training: bool, syncs: bool) -> tuple:
        """One all_reduce of a 2 x world table of flags: (ranks training, ranks that will
        average gradients this iteration, the highest rank training)."""
        world, me = self._pg.size, self._pg.rank
        flags = np.zeros(2 * world, np.int64)
        flags[me], flags[world + me] = training, training and syncs
        table = Tensor._make(flags, False, None, None)
        all_reduce(table, ReduceOp.SUM, group=self._pg)
        active = table._data[:world]
        n_active, n_sync = int(active.sum()), int(table._data[world:].sum())
        if self._joined.throw and n_active < world:
            gone = [r for r in range(world) if not active[r]]
            raise RuntimeError(f"DistributedDataParallel.join: rank(s) {gone} of {world} ran out "
                               f"of inputs (throw_on_early_termination=True)")
        self._joined.active = n_active
        if n_active:
            self._joined.last = int(np.flatnonzero(active)[-1])
        return n_active, n_sync, self._joined.last

    def _sync_buffers(self, src: int) -> None:
        if self.broadcast_buffers and self._pg.size > 1:
            bufs = self._buffers_to_sync()
            if bufs:
                _coalesced_broadcast(bufs, self._pg, src)

    def _bucket_op(self) -> ReduceOp:
        joined = self._joined
        return ReduceOp.SUM if joined is not None and not joined.divide_by_world else ReduceOp.AVG

    def _shadow_until_all_done(self) -> None:
        """This rank has no inputs left: answer each iteration of the others with zeros."""
        while True:
            n_active, n_sync, src = self._count_ranks(False, False)
            if n_active == 0:       # all done: the last to finish hands every rank its model
                _coalesced_broadcast(self._model_state(), self._pg, src)
                return
            self._sync_buffers(src)
            if not n_sync:
                continue
            works = []
            for bucket in self._buckets:
                first = self._params[bucket.indices[0]]._data
                xp = array_module(first)
                size = sum(self._params[i]._data.size for i in bucket.indices)
                zeros = Tensor._make(xp.zeros(size, first.dtype), False, None, None)
                works.append(all_reduce(zeros, self._bucket_op(), group=self._pg, async_op=True))
            if self.find_unused_parameters:     # the others' used-parameter flags, as zeros
                flags = Tensor._make(np.zeros(len(self._params), np.uint8), False, None, None)
                all_reduce(flags, ReduceOp.MAX, group=self._pg)
            for work in works:
                work.wait()

    def extra_repr(self) -> str:
        return (f"world_size={self._pg.size}, buckets={len(self._buckets)}, "
                f"bucket_cap_mb={self.bucket_cap_mb}")
