"""The programs tests/test_distributed.py runs under `mpiexec -n 2`: `python THIS_FILE CASE`.

It holds no tests of its own (pytest collects nothing here). Each case checks on every rank and
ends by printing `OK <case> rank <r>`; a failed check raises, which aborts the whole job.
"""
import os
import signal
import sys
import time
import warnings

import numpy as np

import tinygrad_lite as tl
import tinygrad_lite.distributed as dist
import tinygrad_lite.nn as nn
import tinygrad_lite.nn.functional as F
from tinygrad_lite.models import CNN, MLP, PatchTransformer, RowLSTM
from tinygrad_lite.nn.parallel import DistributedDataParallel as DDP

DTYPES = ["float32", "float64", "float16", "int8", "int16", "int32", "int64", "uint8", "bool"]
OPS = ["SUM", "AVG", "PRODUCT", "MIN", "MAX"]


def values(rank, dtype, shape):
    """Small values that differ by rank (products of two ranks' values stay in range)."""
    n = int(np.prod(shape))
    base = np.arange(n) + 3 * rank
    if dtype == "bool":
        a = (base % 3) == 0
    elif dtype.startswith(("int", "uint")):
        a = base % 5 + 1
    else:
        a = base * 0.5 + rank - 1.25
    return np.asarray(a.reshape(shape), dtype=dtype)


def expected(op, arrays, dtype):
    wire = {"bool": "uint8", "float16": "float32"}.get(dtype, dtype)
    s = np.stack([a.astype(wire) for a in arrays])
    if dtype == "bool":
        out = s.max(0) if op in ("SUM", "MAX") else s.min(0)
    elif op == "SUM":
        out = np.add.reduce(s, 0, dtype=wire)
    elif op == "AVG":
        out = np.add.reduce(s, 0, dtype=wire) / len(arrays)
    elif op == "PRODUCT":
        out = np.multiply.reduce(s, 0, dtype=wire)
    elif op in ("BAND", "BOR", "BXOR"):
        ufunc = {"BAND": np.bitwise_and, "BOR": np.bitwise_or, "BXOR": np.bitwise_xor}[op]
        out = ufunc.reduce(s, 0)
    else:
        out = s.max(0) if op == "MAX" else s.min(0)
    return np.asarray(out).astype(dtype)


def tensors(rank, dtype, shape, layout):
    """A tensor of values(rank) laid out contiguously, transposed (non-contiguous) or 0-d."""
    if layout == "transposed":
        base = values(rank, dtype, shape[::-1])
        return tl.tensor(base.copy()).T, base.T
    a = values(rank, dtype, shape)
    return tl.tensor(a.copy()), a


LAYOUTS = [((), "plain"), ((3, 4), "plain"), ((3, 4), "transposed"), ((0,), "plain")]


def case_collectives(rank, world):
    checked = 0
    for dtype in DTYPES:
        for shape, layout in LAYOUTS:
            for op in OPS:
                if op == "AVG" and not dtype.startswith("float"):
                    continue
                t, mine = tensors(rank, dtype, shape, layout)
                if layout == "transposed":
                    assert not t._data.flags.c_contiguous
                want = expected(op, [tensors(r, dtype, shape, layout)[1] for r in range(world)],
                                dtype)
                before = t._data
                dist.all_reduce(t, getattr(dist.ReduceOp, op))
                assert t._data is before, "all_reduce must write in place"
                assert t.dtype == np.dtype(dtype) and tuple(t.shape) == want.shape
                assert np.array_equal(t._data, want), (dtype, shape, layout, op, t._data, want)
                checked += 1
            for src in range(world):
                t, _ = tensors(rank, dtype, shape, layout)
                dist.broadcast(t, src)
                assert np.array_equal(t._data, tensors(src, dtype, shape, layout)[1])
            t, mine = tensors(rank, dtype, shape, layout)
            outs = [tl.tensor(np.zeros(mine.shape, dtype)) for _ in range(world)]
            dist.all_gather(outs, t)
            for r in range(world):
                assert np.array_equal(outs[r]._data, tensors(r, dtype, shape, layout)[1])
            stacked = tl.tensor(np.zeros((world,) + mine.shape, dtype))
            dist.all_gather_into_tensor(stacked, t)
            for r in range(world):
                assert np.array_equal(stacked._data[r], tensors(r, dtype, shape, layout)[1])
    # all_gather_into_tensor along dim 0 and reduce_scatter_tensor, per dtype and op
    for dtype in DTYPES:
        x = tl.tensor(values(rank, dtype, (2, 3)))
        out = tl.tensor(np.zeros((2 * world, 3), dtype))
        dist.all_gather_into_tensor(out, x)
        assert np.array_equal(out._data, np.concatenate([values(r, dtype, (2, 3))
                                                        for r in range(world)]))
        for op in OPS:
            if op == "AVG" and not dtype.startswith("float"):
                continue
            inp = tl.tensor(values(rank, dtype, (world * 2, 3))).T.T   # a view
            res = tl.tensor(np.zeros((2, 3), dtype))
            dist.reduce_scatter_tensor(res, inp, getattr(dist.ReduceOp, op))
            full = expected(op, [values(r, dtype, (world * 2, 3)) for r in range(world)], dtype)
            assert np.array_equal(res._data, full[2 * rank:2 * rank + 2]), (dtype, op)
    # async: post several, then wait; results appear only after wait
    ts = [tl.tensor(np.full(1000, float(rank + i))) for i in range(3)]
    works = [dist.all_reduce(t, async_op=True) for t in ts]
    for i, (t, w) in enumerate(zip(ts, works)):
        assert w.wait() and w.is_completed()
        assert np.all(t._data == sum(float(r + i) for r in range(world)))
    assert dist.barrier(async_op=True).wait()
    dist.barrier()
    # errors at the boundary
    for bad, call in ((ValueError, lambda: dist.all_reduce(tl.tensor([1, 2]), dist.ReduceOp.AVG)),
                      (ValueError, lambda: dist.broadcast(tl.tensor([1.0]), src=world)),
                      (ValueError, lambda: dist.all_gather([tl.tensor([1.0])], tl.tensor([1.0]))),
                      (TypeError, lambda: dist.all_reduce(np.zeros(3)))):
        try:
            call()
        except bad:
            pass
        else:
            raise AssertionError(f"expected {bad.__name__}")
    # objects
    objs = [{"rank": rank, "a": [1, 2]}, "x" * (5 + rank), None] if rank == 1 else [0, 0, 0]
    dist.broadcast_object_list(objs, src=1)
    assert objs == [{"rank": 1, "a": [1, 2]}, "x" * 6, None], objs
    gathered = [None] * world
    dist.all_gather_object(gathered, ("rank", rank, np.arange(rank + 1)))
    for r in range(world):
        assert gathered[r][1] == r and np.array_equal(gathered[r][2], np.arange(r + 1))
    assert dist.get_backend() == "mpi" and dist.is_initialized()
    assert 0 <= dist.get_node_local_rank() < world
    print(f"OK collectives rank {rank} checked {checked}")


def _batch(kind, n=8, seed=0):
    rng = np.random.default_rng(seed)
    shape = (n, 12) if kind == "mlp" else (n, 1, 8, 8)
    x = rng.standard_normal(shape)
    y = rng.integers(0, 10, n)
    return tl.tensor(x), tl.tensor(y)


def _model(kind, seed):
    """The seed models of tinygrad_lite.models, small, in float64."""
    tl.manual_seed(seed)
    with tl.no_grad():
        m = {"mlp": lambda: MLP(12, 10, hidden=16),
             "cnn": lambda: CNN((1, 8, 8), 10, width=4, hidden=16),
             "lstm": lambda: RowLSTM((1, 8, 8), 10, hidden=8),
             "transformer": lambda: PatchTransformer((1, 8, 8), 10, patch=4, d_model=8, nhead=2,
                                                     num_layers=1, dim_feedforward=16)}[kind]()
    return m.double()


def _grads(model):
    return [p.grad._data.copy() if p.grad is not None else None for p in model.parameters()]


def _same_on_all_ranks(arrays):
    """Every rank holds bit-identical arrays (compared as raw bytes gathered from all ranks)."""
    blob = b"".join(np.ascontiguousarray(a).tobytes() for a in arrays if a is not None)
    everyone = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, blob)
    return all(b == everyone[0] for b in everyone)


def _local(x, rank, world):
    n = x.shape[0] // world
    return x[rank * n:(rank + 1) * n]


def case_ddp(rank, world, kinds=("mlp", "cnn")):
    for kind in kinds:
        x, y = _batch(kind)
        ref = _model(kind, 0)
        mine = _model(kind, rank)             # rank 1 starts different: DDP must broadcast
        ddp = DDP(mine, bucket_cap_mb=0.001)
        assert all(np.array_equal(a._data, b._data) for a, b in
                   zip(ref.parameters(), ddp.module.parameters()))
        assert all(k.startswith("module.") for k in ddp.state_dict())
        assert len(ddp._buckets) > 1
        opt_ref = tl.optim.Adam(ref.parameters(), lr=1e-2)
        opt = tl.optim.Adam(ddp.parameters(), lr=1e-2)
        for step in range(5):
            xs, ys = _batch(kind, seed=step)
            opt_ref.zero_grad()
            F.cross_entropy(ref(xs), ys).backward()
            opt.zero_grad()
            F.cross_entropy(ddp(_local(xs, rank, world)), _local(ys, rank, world)).backward()
            for a, b in zip(_grads(ref), _grads(ddp.module)):
                assert np.abs(a - b).max() < 1e-12, (kind, step, np.abs(a - b).max())
            assert _same_on_all_ranks(_grads(ddp.module))
            opt_ref.step()
            opt.step()
        for a, b in zip(ref.parameters(), ddp.module.parameters()):
            assert np.abs(a._data - b._data).max() < 1e-10, (kind, np.abs(a._data - b._data).max())
        assert _same_on_all_ranks([p._data for p in ddp.module.parameters()])
        # bucket sizes from one parameter per bucket to a single bucket: identical gradients
        per_cap = []
        for cap in (1e-6, 0.01, 25):
            m = DDP(_model(kind, 0), bucket_cap_mb=cap)
            F.cross_entropy(m(_local(x, rank, world)), _local(y, rank, world)).backward()
            per_cap.append(_grads(m.module))
        assert all(np.array_equal(a, b) for g in per_cap[1:] for a, b in zip(per_cap[0], g))
        # no_sync: two micro-batches accumulate locally, the second backward averages the sum
        ref = _model(kind, 0)
        m = DDP(_model(kind, 0))
        halves = [(x[:4], y[:4]), (x[4:], y[4:])]
        for xs, ys in halves:
            F.cross_entropy(ref(xs), ys).backward()
        with m.no_sync():
            xs, ys = halves[0]
            F.cross_entropy(m(_local(xs, rank, world)), _local(ys, rank, world)).backward()
        local_only = _grads(m.module)
        xs, ys = halves[1]
        F.cross_entropy(m(_local(xs, rank, world)), _local(ys, rank, world)).backward()
        for a, b in zip(_grads(ref), _grads(m.module)):
            assert np.abs(a - b).max() < 1e-12
        assert not _same_on_all_ranks(local_only)    # inside no_sync nothing was averaged
    print(f"OK {'ddp' if 'mlp' in kinds else 'ddp_seq'} rank {rank}")


def case_ddp_seq(rank, world):
    """The recurrent and the attention seed models: the same checks as case_ddp."""
    case_ddp(rank, world, ("lstm", "transformer"))


class _TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.used = nn.Linear(4, 3)
        self.unused = nn.Linear(4, 3)

    def forward(self, x):
        return self.used(x)


def case_ddp_extras(rank, world):
    x = tl.tensor(np.random.default_rng(rank).standard_normal((4, 4)))
    # a parameter without a gradient: the next forward names it
    m = DDP(_TwoHeads().double())
    m(x).sum().backward()
    try:
        m(x)
    except RuntimeError as e:
        assert "unused.weight" in str(e) and "unused.bias" in str(e) and \
            "used.weight" not in str(e).replace("unused.weight", ""), str(e)
    else:
        raise AssertionError("DDP did not report the parameters without a gradient")
    # find_unused_parameters=True: the used ones are averaged, the unused ones keep None
    m = DDP(_TwoHeads().double(), find_unused_parameters=True)
    for _ in range(2):
        for p in m.parameters():
            p.grad = None
        m(x).sum().backward()
        assert m.module.unused.weight.grad is None
        assert _same_on_all_ranks([m.module.used.weight.grad._data])
    # buffers and SyncBatchNorm against BatchNorm on the full batch
    tl.manual_seed(0)
    ref = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2)).double()
    tl.manual_seed(rank)
    local = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2)).double()
    local[1].running_mean._data[...] = rank       # rank 0's buffers win at construction
    sync = DDP(nn.SyncBatchNorm.convert_sync_batchnorm(local))
    assert isinstance(sync.module[1], nn.SyncBatchNorm)
    assert np.all(sync.module[1].running_mean._data == 0)
    full = tl.tensor(np.random.default_rng(5).standard_normal((8, 4)))
    target = tl.tensor(np.random.default_rng(6).standard_normal((8, 2)))
    out_ref = ref(full)
    ((out_ref - target) ** 2).mean().backward()
    out = sync(_local(full, rank, world))
    ((out - _local(target, rank, world)) ** 2).mean().backward()
    assert np.abs(out._data - _local(out_ref, rank, world)._data).max() < 1e-12
    for a, b in zip(_grads(ref), _grads(sync.module)):
        assert np.abs(a - b).max() < 1e-12, np.abs(a - b).max()
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        a, b = getattr(ref[1], name)._data, getattr(sync.module[1], name)._data
        assert np.abs(a - b).max() < 1e-12, name
    ref.eval()
    sync.eval()
    with tl.no_grad():
        assert np.abs(sync(full)._data - ref(full)._data).max() < 1e-12
    # SyncBatchNorm on subgroups: a group of both ranks (in reverse order) is the whole job; a
    # group of one rank is plain BatchNorm on that rank's batch
    both, alone = dist.new_group([1, 0], sort_ranks=False), [dist.new_group([r]) for r in (0, 1)]
    x = tl.tensor(np.random.default_rng(7 + rank).standard_normal((6, 3)), requires_grad=True)
    up = tl.tensor(np.random.default_rng(9 + rank).standard_normal((6, 3)))
    results = []
    for group, twin in ((None, None), (both, None), (alone[rank], nn.BatchNorm1d(3))):
        layer = (twin or nn.SyncBatchNorm(3, process_group=group)).double()
        x.grad = None
        y = layer(x)
        (y * up).sum().backward()
        results.append((y._data.copy(), x.grad._data.copy(), layer.running_var._data.copy()))
    alone_sync = nn.SyncBatchNorm(3, process_group=alone[rank]).double()
    x.grad = None
    y = alone_sync(x)
    (y * up).sum().backward()
    mine = (y._data, x.grad._data, alone_sync.running_var._data)
    assert all(np.abs(a - b).max() < 1e-12 for a, b in zip(results[0], results[1]))
    assert all(np.abs(a - b).max() < 1e-12 for a, b in zip(results[2], mine))
    assert np.abs(results[0][0] - results[2][0]).max() > 1e-3      # the groups mattered
    print(f"OK ddp_extras rank {rank}")


# -- the collectives beyond all_reduce, on the world and on subgroups --------------------------
MORE_DTYPES = ["float32", "float64", "int64"]
MORE_LAYOUTS = [((), "plain"), ((3, 4), "plain"), ((3, 4), "transposed")]


def _ops(dtype):
    if dtype.startswith("float"):
        return OPS
    return [op for op in OPS if op != "AVG"] + ["BAND", "BOR", "BXOR"]


def _blank(dtype, shape, layout):
    """A zero tensor laid out like tensors(...) makes them (transposed: a non-contiguous view)."""
    if layout == "transposed":
        return tl.tensor(np.zeros(shape[::-1], dtype)).T
    return tl.tensor(np.zeros(shape, dtype))


def _pair(src, dst):
    """The seed of what rank src sends rank dst (a different value for every ordered pair)."""
    return src + 2 * dst


def _equal(t, want, *context):
    assert tuple(t.shape) == tuple(np.shape(want)) and t.dtype == np.asarray(want).dtype, context
    assert np.array_equal(t._data, want), (context, t._data, want)


def _battery(g):
    """Every tensor collective on group g (None: the world) against the single-process answer.
    Ranks are the group's; data are seeded by global rank, so a wrong translation shows."""
    members = dist.get_process_group_ranks(g)
    me, n = dist.get_rank(g), dist.get_world_size(g)
    assert members[me] == dist.get_rank() and len(members) == n
    for dtype in MORE_DTYPES:
        for shape, layout in MORE_LAYOUTS:
            def mine(seed=None):
                return tensors(members[me] if seed is None else seed, dtype, shape, layout)[0]

            def of(seed):
                return tensors(seed, dtype, shape, layout)[1]

            for op in _ops(dtype):
                rop = getattr(dist.ReduceOp, op)
                want = expected(op, [of(r) for r in members], dtype)
                t = mine()
                dist.all_reduce(t, rop, group=g)
                _equal(t, want, "all_reduce", dtype, layout, op)
                for root in range(n):
                    t = mine()
                    before = t._data
                    if root % 2:
                        dist.reduce(t, group_dst=root, op=rop, group=g)
                    else:
                        dist.reduce(t, members[root], rop, group=g)
                    assert t._data is before, "reduce must write in place"
                    _equal(t, want if me == root else of(members[me]), "reduce", dtype, op)
                out = _blank(dtype, shape, layout)
                dist.reduce_scatter(out, [mine(_pair(members[me], j)) for j in range(n)], rop,
                                    group=g)
                _equal(out, expected(op, [of(_pair(r, me)) for r in members], dtype),
                       "reduce_scatter", dtype, layout, op)
                stacked = tl.tensor(np.stack([values(_pair(members[me], j), dtype, shape)
                                              for j in range(n)]))
                out = _blank(dtype, shape, layout)
                dist.reduce_scatter_tensor(out, stacked, rop, group=g)
                _equal(out, expected(op, [values(_pair(r, me), dtype, shape) for r in members],
                                     dtype), "reduce_scatter_tensor", dtype, op)
            for root in range(n):
                t = mine()
                if root % 2:
                    dist.broadcast(t, group_src=root, group=g)
                else:
                    dist.broadcast(t, members[root], group=g)
                _equal(t, of(members[root]), "broadcast", dtype, layout)
                outs = [_blank(dtype, shape, layout) for _ in range(n)] if me == root else None
                dist.gather(mine(), outs, dst=members[root], group=g)
                if me == root:
                    for r in range(n):
                        _equal(outs[r], of(members[r]), "gather", dtype, layout)
                out = _blank(dtype, shape, layout)
                ins = [mine(_pair(members[me], j)) for j in range(n)] if me == root else None
                dist.scatter(out, ins, group_src=root, group=g)
                _equal(out, of(_pair(members[root], me)), "scatter", dtype, layout)
            outs = [_blank(dtype, shape, layout) for _ in range(n)]
            dist.all_gather(outs, mine(), group=g)
            for r in range(n):
                _equal(outs[r], of(members[r]), "all_gather", dtype, layout)
            outs = [_blank(dtype, shape, layout) for _ in range(n)]
            dist.all_to_all(outs, [mine(_pair(members[me], j)) for j in range(n)], group=g)
            for r in range(n):
                _equal(outs[r], of(_pair(members[r], me)), "all_to_all", dtype, layout)
        # all_gather_into_tensor along dim 0 of a view
        x = tl.tensor(values(members[me], dtype, (3, 2))).T.T[1:]
        out = tl.tensor(np.zeros((2 * n, 2), dtype))
        dist.all_gather_into_tensor(out, x, group=g)
        _equal(out, np.concatenate([values(r, dtype, (3, 2))[1:] for r in members]),
               "all_gather_into_tensor", dtype)
        # all_to_all with a different size for every pair of ranks
        outs = [tl.tensor(np.zeros(r + me + 1, dtype)) for r in range(n)]
        dist.all_to_all(outs, [tl.tensor(values(_pair(members[me], j), dtype, (me + j + 1,)))
                               for j in range(n)], group=g)
        for r in range(n):
            _equal(outs[r], values(_pair(members[r], me), dtype, (r + me + 1,)), "a2a sizes")
        # all_to_all_single: equal splits of a transposed input, then uneven splits
        full = [values(r, dtype, (3, 2 * n)).T for r in members]
        out = _blank(dtype, (2 * n, 3), "transposed")
        dist.all_to_all_single(out, tl.tensor(values(members[me], dtype, (3, 2 * n))).T, group=g)
        _equal(out, np.concatenate([full[r][2 * me:2 * me + 2] for r in range(n)]),
               "all_to_all_single", dtype)
        rows_in = [me + j + 1 for j in range(n)]
        rows_out = [j + me + 1 for j in range(n)]
        src = values(members[me], dtype, (sum(rows_in), 2))
        out = tl.tensor(np.zeros((sum(rows_out), 2), dtype))
        dist.all_to_all_single(out, tl.tensor(src), rows_out, rows_in, group=g)
        parts = []
        for r in range(n):
            theirs = values(members[r], dtype, (sum(r + j + 1 for j in range(n)), 2))
            start = sum(r + j + 1 for j in range(me))
            parts.append(theirs[start:start + r + me + 1])
        _equal(out, np.concatenate(parts), "all_to_all_single uneven", dtype)
    # objects on the group
    objs = [{"from": members[0]}, "x" * (members[me] + 1)] if me == 0 else [None, None]
    dist.broadcast_object_list(objs, group_src=0, group=g)
    assert objs == [{"from": members[0]}, "x" * (members[0] + 1)], objs
    everyone = [None] * n
    dist.all_gather_object(everyone, ("rank", members[me]), group=g)
    assert everyone == [("rank", r) for r in members], everyone
    for root in range(n):
        got = [None] * n if me == root else None
        dist.gather_object({"r": members[me], "a": np.arange(members[me] + 1)}, got,
                           dst=members[root], group=g)
        if me == root:
            assert [o["r"] for o in got] == members
            assert all(np.array_equal(o["a"], np.arange(r + 1)) for o, r in zip(got, members))
        out = [None]
        ins = [("to", members[j], "from", members[me]) for j in range(n)] if me == root else None
        dist.scatter_object_list(out, ins, group_src=root, group=g)
        assert out == [("to", members[me], "from", members[root])], out
    assert dist.barrier(group=g, async_op=True).wait()
    dist.barrier(group=g)


def _raises(kind, call, words):
    try:
        call()
    except kind as e:
        assert all(w in str(e) for w in words), str(e)
    else:
        raise AssertionError(f"expected {kind.__name__} naming {words}")


def case_collectives_more(rank, world):
    _battery(None)
    reversed_group = dist.new_group([1, 0], sort_ranks=False)
    assert dist.get_process_group_ranks(reversed_group) == [1, 0]
    assert dist.get_rank(reversed_group) == 1 - rank and dist.get_world_size(reversed_group) == 2
    assert dist.get_group_rank(reversed_group, 1) == 0
    assert dist.get_global_rank(reversed_group, 0) == 1
    _battery(reversed_group)
    assert dist.get_process_group_ranks(dist.new_group([1, 0])) == [0, 1]   # sorted by default
    single = dist.new_group([1])
    if rank == 1:
        assert dist.get_rank(single) == 0 and dist.get_world_size(single) == 1
        _battery(single)
        local = dist.new_group([1], use_local_synchronization=True)
        t = tl.tensor([2.0])
        dist.all_reduce(t, group=local)
        assert t.item() == 2.0
    else:
        assert single == dist.GroupMember.NON_GROUP_MEMBER
        assert dist.get_rank(single) == -1 and dist.get_world_size(single) == -1
        t = tl.tensor([5.0])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert dist.all_reduce(t, group=single) is None
            assert dist.gather(t, dst=1, group=single) is None
        assert t.item() == 5.0 and len(caught) == 2
        assert "does not belong to the given group" in str(caught[0].message)
    # DDP on the reversed group: its rank 0 is global rank 1, whose weights win
    model = _model("mlp", rank)
    ddp = DDP(model, process_group=reversed_group)
    assert all(np.array_equal(a._data, b._data) for a, b in
               zip(_model("mlp", 1).parameters(), ddp.module.parameters()))
    x, y = _batch("mlp")
    F.cross_entropy(ddp(_local(x, rank, world)), _local(y, rank, world)).backward()
    ref = _model("mlp", 1)
    F.cross_entropy(ref(x), y).backward()
    for a, b in zip(_grads(ref), _grads(ddp.module)):
        assert np.abs(a - b).max() < 1e-12
    # errors that every rank raises before anything is sent
    t = tl.tensor([1.0])
    _raises(ValueError, lambda: dist.reduce(t), ["reduce", "dst", "group_dst"])
    _raises(ValueError, lambda: dist.broadcast(t, src=0, group_src=0), ["not both"])
    if rank == 1:       # global rank 0 is not in the group
        _raises(ValueError, lambda: dist.broadcast(t, src=0, group=single), ["src=0", "[1]"])
    _raises(ValueError, lambda: dist.scatter(t, [t, t] if rank == 1 else None, src=0),
            ["scatter_list"])
    _raises(ValueError, lambda: dist.gather(t, [t], dst=0), ["gather_list"])
    _raises(ValueError, lambda: dist.all_to_all_single(tl.tensor(np.zeros(3)),
                                                       tl.tensor(np.zeros(3))), ["split"])
    _raises(ValueError, lambda: dist.all_to_all(
        [tl.tensor(np.zeros(2)) for _ in range(2)], [tl.tensor(np.zeros(1)) for _ in range(2)]),
        ["sends 1 elements", "holds 2"])
    _raises(ValueError, lambda: dist.reduce_scatter(t, [t, tl.tensor([1])]), ["dtype"])
    _raises(ValueError, lambda: dist.new_group([rank]), ["same"])
    _raises(ValueError, lambda: dist.new_group([0, 0]), ["more than once"])
    dist.destroy_process_group(reversed_group)
    _raises(ValueError, lambda: dist.all_reduce(t, group=reversed_group), ["live group"])
    print(f"OK collectives_more rank {rank}")


def case_single(rank, world):
    assert world == 1 and rank == 0
    t = tl.tensor([1.0, 2.0])
    dist.all_reduce(t, dist.ReduceOp.AVG)
    assert np.array_equal(t._data, [1.0, 2.0])
    m = DDP(MLP(12, 10, hidden=8))
    x, y = _batch("mlp")
    F.cross_entropy(m(x.float()), y).backward()
    assert all(p.grad is not None for p in m.parameters())
    print("OK single rank 0")


def case_raise(rank, world):
    if rank == 1:
        raise ValueError("boom on rank 1")
    dist.all_reduce(tl.tensor([1.0]))      # would wait forever without the abort hook
    print("rank 0 should never get here")


def case_stuck(rank, world):
    if rank == 1:
        time.sleep(120)
    dist.all_reduce(tl.tensor(np.zeros(1000, np.float32)))
    print("rank 0 should never get here")


def case_killed(rank, world):
    dist.all_reduce(tl.tensor([1.0]))
    if rank == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    for _ in range(10 ** 6):                # the launcher must end this rank
        dist.all_reduce(tl.tensor([1.0]))
    print("rank 0 should never get here")


def case_uneven(rank, world):
    """Rank 0 has 3 batches, rank 1 has 2: rank 0's third backward waits for a peer that has
    finished."""
    model = DDP(_model("mlp", 0))
    opt = tl.optim.SGD(model.parameters(), lr=0.1)
    for step in range(3 - rank):
        x, y = _batch("mlp", n=4, seed=step)
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        print(f"rank {rank} step {step}", flush=True)
    print(f"rank {rank} finished", flush=True)


def case_join(rank, world):
    """join(): rank r has 3 + 2r batches. The ranks still training average with the ones that
    ran out, which count as zeros (or, divide_by_initial_world_size=False, are left out of the
    mean); both ranks end bit-identical and equal to the same steps taken in one process."""
    def local(step, r):
        x, y = _batch("mlp", n=4, seed=100 * r + step)
        return x, y

    def steps_of(r):
        return 3 + 2 * r

    for divide in (True, False):
        ref = _model("mlp", 0)
        opt_ref = tl.optim.SGD(ref.parameters(), lr=0.1)
        for step in range(steps_of(world - 1)):
            training = [r for r in range(world) if step < steps_of(r)]
            grads = []
            for r in training:
                opt_ref.zero_grad()
                F.cross_entropy(ref(local(step, r)[0]), local(step, r)[1]).backward()
                grads.append(_grads(ref))
            for i, p in enumerate(ref.parameters()):
                p.grad = tl.tensor(sum(g[i] for g in grads) / (world if divide else len(grads)))
            opt_ref.step()
        model = DDP(_model("mlp", rank))
        opt = tl.optim.SGD(model.parameters(), lr=0.1)
        with model.join(divide_by_initial_world_size=divide):
            for step in range(steps_of(rank)):
                x, y = local(step, rank)
                opt.zero_grad()
                F.cross_entropy(model(x), y).backward()
                opt.step()
        with tl.no_grad():
            model(local(0, rank)[0])        # after join: both ranks back in step
        for a, b in zip(ref.parameters(), model.module.parameters()):
            assert np.abs(a._data - b._data).max() < 1e-12, (divide, np.abs(a._data - b._data))
        assert _same_on_all_ranks([p._data for p in model.module.parameters()])
    # throw_on_early_termination: every rank raises once the first one runs out
    model = DDP(_model("mlp", 0))
    raised = None
    try:
        with model.join(throw_on_early_termination=True):
            for step in range(steps_of(rank)):
                x, y = local(step, rank)
                F.cross_entropy(model(x), y).backward()
    except RuntimeError as e:
        raised = (step, str(e))
    assert raised is not None and "rank(s) [0] of 2 ran out of inputs" in raised[1], raised
    assert raised[0] == (2 if rank == 0 else 3), raised
    print(f"OK join rank {rank}")


def main():
    case = sys.argv[1]
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 60
    dist.init_process_group("mpi", timeout=timeout)
    globals()[f"case_{case}"](dist.get_rank(), dist.get_world_size())
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
