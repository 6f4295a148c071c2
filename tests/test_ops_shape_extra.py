"""functions_shape.py (repeat_interleave, tile, splits and stacks, scatter and the index_* family,
unfold, diag_embed, products, ...) against PyTorch: forward, backward, gradcheck, in-place."""
import numpy as np
import pytest
import torch

import tinygrad_lite as tl
from helpers import check_hvp_vs_torch, check_vs_torch, make


def _lib(x):
    return tl if isinstance(x, tl.Tensor) else torch


def _idx(x, array):
    """The same integer index tensor in either library, on x's device."""
    if isinstance(x, tl.Tensor):
        return tl.tensor(np.asarray(array, dtype=np.int64), device=x.device)
    return torch.from_numpy(np.asarray(array, dtype=np.int64))


def _mask(x, array):
    if isinstance(x, tl.Tensor):
        return tl.tensor(np.asarray(array, dtype=bool), device=x.device)
    return torch.from_numpy(np.asarray(array, dtype=bool))


def _inplace(method, args, **kwargs):
    """fn(x, ...) that runs method in place on a non-leaf copy of x and returns it."""
    def fn(x, *rest):
        y = x * 1
        getattr(y, method)(*args(x, *rest), **kwargs)
        return y
    return fn


ROW_IDX = [[0, 3], [2, 1], [1, 0]]          # no repeats within a row: scatter is defined
MASK_ROW = [True, False, True, True]

CASES = {
    "repeat_interleave_int": (lambda x: x.repeat_interleave(2, 1), [(3, 4)]),
    "repeat_interleave_flat": (lambda x: _lib(x).repeat_interleave(x, 3), [(2, 2)]),
    "repeat_interleave_tensor": (lambda x: x.repeat_interleave(_idx(x, [1, 0, 3]), 0), [(3, 2)]),
    "repeat_interleave_size": (lambda x: x.repeat_interleave(_idx(x, [2, 1]), dim=1,
                                                             output_size=3), [(2, 2)]),
    "tile": (lambda x: x.tile((2, 1, 2)), [(3, 2)]),
    "tile_short": (lambda x: _lib(x).tile(x, (2,)), [(3, 2)]),
    "movedim": (lambda x: x.movedim((0, 1), (2, 0)), [(2, 3, 4)]),
    "moveaxis": (lambda x: _lib(x).moveaxis(x, -1, 0), [(2, 3, 4)]),
    "tensor_split_sections": (lambda x: x.tensor_split(3, 1), [(2, 7)]),
    "tensor_split_indices": (lambda x: x.tensor_split([1, -2, 9], 1), [(2, 7)]),
    "tensor_split_tensor": (lambda x: _lib(x).tensor_split(x, _idx(x, [1, 3])), [(5, 2)]),
    "hsplit": (lambda x: x.hsplit(2), [(3, 4)]),
    "hsplit_1d": (lambda x: _lib(x).hsplit(x, [2]), [(5,)]),
    "vsplit": (lambda x: x.vsplit([1, 2]), [(4, 2)]),
    "dsplit": (lambda x: x.dsplit(2), [(2, 1, 4)]),
    "hstack": (lambda a, b: _lib(a).hstack([a, b]), [(2, 3), (2, 1)]),
    "hstack_1d": (lambda a, b: _lib(a).hstack((a, b)), [(3,), (2,)]),
    "vstack": (lambda a, b: _lib(a).vstack([a, b]), [(3,), (2, 3)]),
    "row_stack": (lambda a, b: _lib(a).row_stack([a, b]), [(2, 3), (1, 3)]),
    "dstack": (lambda a, b: _lib(a).dstack([a, b]), [(2, 3), (2, 3, 2)]),
    "column_stack": (lambda a, b: _lib(a).column_stack([a, b]), [(3,), (3, 2)]),
    "rot90": (lambda x: x.rot90(), [(3, 4)]),
    "rot90_k2": (lambda x: _lib(x).rot90(x, 2, (1, 2)), [(2, 3, 4)]),
    "rot90_k-1": (lambda x: x.rot90(-1, (2, 0)), [(2, 3, 4)]),
    "fliplr": (lambda x: x.fliplr(), [(3, 4)]),
    "flipud": (lambda x: _lib(x).flipud(x), [(3, 4)]),
    "take": (lambda x: _lib(x).take(x, _idx(x, [[0, 5], [-1, 3]])), [(3, 4)]),
    "take_along_dim": (lambda x: x.take_along_dim(_idx(x, [[0, 3]]), 1), [(3, 4)]),
    "take_along_dim_flat": (lambda x: _lib(x).take_along_dim(x, _idx(x, [7, 0, 7])), [(3, 4)]),
    # src as large as index: torch's own backward fails for a larger src (forward: see below)
    "scatter": (lambda x, s: x.scatter(1, _idx(x, ROW_IDX), s), [(3, 4), (3, 2)]),
    "scatter_dim0": (lambda x, s: _lib(x).scatter(x, 0, _idx(x, [[2, 0, 1]]), s),
                     [(3, 4), (1, 3)]),
    "scatter_value": (lambda x: x.scatter(1, _idx(x, ROW_IDX), 1.5), [(3, 4)]),
    "scatter_value_kw": (lambda x: x.scatter(1, _idx(x, ROW_IDX), value=-2.0), [(3, 4)]),
    "index_add": (lambda x, s: x.index_add(0, _idx(x, [0, 2, 0]), s, alpha=2), [(3, 4), (3, 4)]),
    "index_add_dim1": (lambda x, s: _lib(x).index_add(x, 1, _idx(x, [3, 1]), s),
                       [(2, 4), (2, 2)]),
    "index_copy": (lambda x, s: x.index_copy(1, _idx(x, [3, 0]), s), [(2, 4), (2, 2)]),
    "index_fill": (lambda x: x.index_fill(1, _idx(x, [0, -1]), -1.0), [(2, 4)]),
    "index_put": (lambda x, v: x.index_put((_idx(x, [0, 2]), _idx(x, [1, 3])), v),
                  [(3, 4), (2,)]),
    "index_put_acc": (lambda x, v: _lib(x).index_put(x, (_idx(x, [0, 0, 2]),), v, True),
                      [(3, 4), (4,)]),
    "masked_select": (lambda x: x.masked_select(_mask(x, MASK_ROW)), [(3, 4)]),
    "masked_scatter": (lambda x, s: x.masked_scatter(_mask(x, MASK_ROW), s), [(3, 4), (15,)]),
    "unfold": (lambda x: x.unfold(1, 3, 2), [(2, 7)]),
    "unfold_dim0": (lambda x: x.unfold(0, 2, 1), [(4, 3)]),
    "diag_embed": (lambda x: x.diag_embed(), [(2, 3)]),
    "diag_embed_dims": (lambda x: _lib(x).diag_embed(x, 1, 0, 2), [(2, 3)]),
    "diag_embed_swapped": (lambda x: x.diag_embed(-1, 2, 0), [(2, 3)]),
    "broadcast_tensors": (lambda a, b: _lib(a).broadcast_tensors(a, b), [(3, 1), (1, 4)]),
    "atleast_1d": (lambda a, b: _lib(a).atleast_1d(a, b), [(), (2,)]),
    "atleast_2d": (lambda a: _lib(a).atleast_2d(a), [(3,)]),
    "atleast_3d": (lambda a, b: _lib(a).atleast_3d([a, b]), [(3,), (2, 3)]),
    "block_diag": (lambda a, b, c: _lib(a).block_diag(a, b, c), [(2, 2), (3,), ()]),
    "cartesian_prod": (lambda a, b: _lib(a).cartesian_prod(a, b), [(2,), (3,)]),
    "mm": (lambda a, b: a.mm(b), [(2, 3), (3, 4)]),
    "bmm": (lambda a, b: a.bmm(b), [(2, 2, 3), (2, 3, 4)]),
    "mv": (lambda a, b: a.mv(b), [(2, 3), (3,)]),
    "tl_mv": (lambda a, b: _lib(a).mv(a, b), [(2, 3), (3,)]),
    "dot": (lambda a, b: _lib(a).dot(a, b), [(3,), (3,)]),
    "outer": (lambda a, b: a.outer(b), [(3,), (2,)]),
    "inner": (lambda a, b: _lib(a).inner(a, b), [(2, 3), (4, 3)]),
    "inner_method_0d": (lambda a, b: a.inner(b), [(2, 3), ()]),
    "scatter_": (_inplace("scatter_", lambda x, s: (1, _idx(x, ROW_IDX), s)), [(3, 4), (3, 2)]),
    "scatter_value_": (_inplace("scatter_", lambda x: (0, _idx(x, [[2, 0]]), 0.5)), [(3, 4)]),
    "scatter_add_": (_inplace("scatter_add_", lambda x, s: (1, _idx(x, [[0, 0], [1, 3]]), s)),
                     [(2, 4), (2, 2)]),
    "index_add_": (_inplace("index_add_", lambda x, s: (1, _idx(x, [3, 3]), s), alpha=-1.5),
                   [(2, 4), (2, 2)]),
    "index_copy_": (_inplace("index_copy_", lambda x, s: (0, _idx(x, [1]), s)), [(3, 2), (1, 2)]),
    "index_fill_": (_inplace("index_fill_", lambda x: (0, _idx(x, [2]), 3.0)), [(3, 2)]),
    "index_put_": (_inplace("index_put_", lambda x, v: ((_idx(x, [1, 0]),), v)), [(3, 2), (2,)]),
    "index_put_acc_": (_inplace("index_put_", lambda x, v: ((_idx(x, [1, 1]), _idx(x, [0, 0])),
                                                            v), accumulate=True), [(3, 2), ()]),
    "masked_scatter_": (_inplace("masked_scatter_", lambda x, s: (_mask(x, [[1, 0], [0, 1]]), s)),
                        [(2, 2), (3,)]),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name, dtype, device):
    fn, shapes = CASES[name]
    check_vs_torch(fn, shapes, dtype=dtype, device=device)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    fn, shapes = CASES[name]
    rng = np.random.default_rng(1)
    inputs = [make(s, rng=rng) for s in shapes]
    assert tl.autograd.gradcheck(fn, inputs)


@pytest.mark.parametrize("name", ["scatter", "scatter_value", "index_copy", "index_add",
                                  "index_put_acc", "masked_scatter", "unfold", "diag_embed",
                                  "repeat_interleave_tensor", "take", "scatter_"])
def test_second_derivative_matches_torch(name, device):
    fn, shapes = CASES[name]

    def squared(*xs):
        out = fn(*xs)
        return [o * o for o in (out if isinstance(out, (tuple, list)) else [out])]
    check_hvp_vs_torch(squared, shapes, device=device)


# -- in-place ops and the version counter ----------------------------------------------------
INPLACE = {
    "scatter_": lambda y: y.scatter_(1, _idx(y, [[0], [1]]), 2.0),
    "scatter_add_": lambda y: y.scatter_add_(1, _idx(y, [[0], [1]]), tl.ones(2, 1)),
    "index_add_": lambda y: y.index_add_(0, _idx(y, [1]), tl.ones(1, 3)),
    "index_copy_": lambda y: y.index_copy_(0, _idx(y, [1]), tl.ones(1, 3)),
    "index_fill_": lambda y: y.index_fill_(1, _idx(y, [2]), 1.0),
    "index_put_": lambda y: y.index_put_((_idx(y, [0]),), tl.tensor(1.0)),
    "index_put_acc": lambda y: y.index_put_((_idx(y, [0]),), tl.tensor(1.0), accumulate=True),
    "masked_scatter_": lambda y: y.masked_scatter_(_mask(y, [True, False, True]), tl.ones(6)),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_on_saved_tensor_raises_at_backward(name):
    x = make((2, 3), np.float32)
    y = x.exp()                 # exp saves its output for backward
    out = INPLACE[name](y)
    assert out is y and y._version.v == 1
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_on_leaf_requiring_grad_raises(name):
    with pytest.raises(RuntimeError, match="in-place op on a leaf"):
        INPLACE[name](make((2, 3), np.float32))


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_without_grad_writes_through_views(name):
    base = tl.zeros(4, 2, 3)
    view = base[1]
    INPLACE[name](view)
    assert base._version.v == 1 and base[1].abs().sum().item() > 0
    assert base[0].abs().sum().item() == 0


def test_inplace_scatter_on_view_updates_base_graph(device):
    def fn(x, s):
        y = x * 1
        y[1].scatter_(1, _idx(x, [[2, 0]]), s)
        y.transpose(0, 2)[0].index_fill_(0, _idx(x, [0]), 0.0)
        return y * y
    check_vs_torch(fn, [(3, 1, 3), (1, 2)], device=device)


# -- results without gradients ----------------------------------------------------------------
def test_repeat_interleave_counts_only():
    assert tl.repeat_interleave(tl.tensor([2, 0, 1])).tolist() == \
        torch.repeat_interleave(torch.tensor([2, 0, 1])).tolist()


@pytest.mark.parametrize("args", [(3, 4, 0), (3, 4, 1), (4, 3, -1), (0, 2, 0), (3, 3, 5)],
                         ids=str)
def test_tril_triu_indices(args, device):
    for ours, theirs in ((tl.tril_indices, torch.tril_indices),
                         (tl.triu_indices, torch.triu_indices)):
        got = ours(*args, device=device)
        assert got.dtype == tl.int64 and got.device == device
        assert got.tolist() == theirs(*args).tolist()
    assert tl.tril_indices(3, 3, dtype=tl.int32).dtype == tl.int32


def test_integer_and_bool_inputs(device):
    x = np.arange(12).reshape(3, 4)
    ours, theirs = tl.tensor(x, device=device), torch.from_numpy(x)
    for fn in (lambda t: t.take(_idx(t, [0, 11])), lambda t: t.repeat_interleave(2),
               lambda t: t.rot90(), lambda t: t.scatter(1, _idx(t, ROW_IDX), 7),
               lambda t: t.scatter(0, _idx(t, [[2, 0]]), t * 10),
               lambda t: t.index_fill(0, _idx(t, [1]), -1), lambda t: t.unfold(1, 2, 2),
               lambda t: t.masked_select(t > 4), lambda t: _lib(t).block_diag(t, t[:1])):
        assert fn(ours).tolist() == fn(theirs).tolist()
    b = tl.tensor([True, False], device=device)
    assert tl.cartesian_prod(b, b).tolist() == torch.cartesian_prod(
        torch.tensor([True, False]), torch.tensor([True, False])).tolist()


def test_broadcast_shapes():
    for shapes in [((3, 1), (1, 4)), ((2, 1, 3), (5, 1), 3), ((0, 1), (1, 2)), ()]:
        got = tl.broadcast_shapes(*shapes)
        assert isinstance(got, tl.Size) and tuple(got) == tuple(torch.broadcast_shapes(*shapes))


@pytest.mark.parametrize("shape", [(), (3,), (2, 3, 4), (2, 0, 3), (1, 5, 1)], ids=str)
def test_stride_and_sizes_match_torch(shape):
    x, t = tl.zeros(shape), torch.zeros(shape)
    assert x.stride() == t.stride()
    for d in range(-len(shape), len(shape)):
        assert x.stride(d) == t.stride(d)
    assert x.nelement() == t.nelement() and x.ndimension() == t.ndimension()


def test_conversions_and_new_empty(device):
    x = tl.tensor([1.7, -2.2, 300.0], device=device)
    assert x.get_device() == (0 if device == "cuda" else -1)
    for name, dt in (("byte", tl.uint8), ("char", tl.int8), ("short", tl.int16)):
        y = getattr(x[:2].abs(), name)()
        assert y.dtype == dt and y.tolist() == [1, 2]
    assert x.type_as(tl.zeros(1, dtype=tl.float64)).dtype == tl.float64
    e = x.new_empty(2, 3)
    assert e.shape == (2, 3) and e.dtype == x.dtype and e.device == device
    assert x.new_empty((4,), dtype=tl.int64).dtype == tl.int64


def test_views_and_version_sharing():
    x = tl.arange(8.0).reshape(2, 4)
    parts = x.tensor_split(2, 1)
    parts[0].add_(10)
    assert x[:, 0].tolist() == [10.0, 14.0] and x._version is parts[0]._version
    a, b = tl.broadcast_tensors(tl.zeros(3, 1), tl.zeros(1, 4))
    assert a.shape == b.shape == (3, 4)
    assert tl.atleast_2d(tl.tensor(1.0)).shape == (1, 1)


# -- bad input ------------------------------------------------------------------------------
X34 = tl.zeros(3, 4)
BAD = [
    (lambda: X34.repeat_interleave(tl.tensor([1, 2]), 1), ValueError,
     r"repeat_interleave: repeats must have 1 or 4 entries"),
    (lambda: X34.repeat_interleave(-1), ValueError, r"repeat_interleave: repeats must be non-neg"),
    (lambda: X34.repeat_interleave(2, 0, output_size=5), ValueError,
     r"repeat_interleave: output_size=5 but the repeats give 6"),
    (lambda: X34.repeat_interleave(2.5), TypeError, r"repeat_interleave: expected an int"),
    (lambda: X34.tile((-1,)), ValueError, r"tile: dims must be non-negative"),
    (lambda: X34.movedim((0, 1), 1), ValueError, r"movedim: source \(0, 1\) and destination"),
    (lambda: X34.movedim((0, 0), (1, 0)), ValueError, r"movedim: repeated dim"),
    (lambda: X34.movedim(2, 0), IndexError, r"movedim: dimension out of range"),
    (lambda: X34.tensor_split(0), ValueError, r"tensor_split: number of sections must be pos"),
    (lambda: X34.tensor_split(2.0), TypeError, r"tensor_split: indices_or_sections must be"),
    (lambda: tl.tensor(1.0).tensor_split(2), ValueError, r"tensor_split: .*at least 1 dim"),
    (lambda: X34.hsplit(3), ValueError, r"hsplit: dimension 1 of size 4 .*into 3 equal"),
    (lambda: tl.zeros(4).vsplit(2), ValueError, r"vsplit: .*at least 2 dim.*\(4,\)"),
    (lambda: tl.hstack(X34), TypeError, r"hstack: expected a sequence of Tensors"),
    (lambda: tl.vstack([]), ValueError, r"vstack: expected a non-empty sequence"),
    (lambda: tl.dstack([X34, tl.zeros(2, 4)]), ValueError, r"cat: sizes of tensors must match"),
    (lambda: X34.rot90(1, (0, 0)), ValueError, r"rot90: dims must differ"),
    (lambda: X34.rot90(1, (0,)), ValueError, r"rot90: dims must hold two dims"),
    (lambda: tl.zeros(3).fliplr(), ValueError, r"fliplr: .*at least 2 dim.*\(3,\)"),
    (lambda: X34.take(tl.tensor([12])), IndexError,
     r"take: index 12 is out of range for dimension 0 of size 12"),
    (lambda: X34.take(tl.tensor([0.0])), TypeError, r"take: index must be an integer tensor"),
    (lambda: X34.take_along_dim(tl.tensor([0]), 1), ValueError,
     r"take_along_dim: .*same number of dimensions"),
    (lambda: X34.take_along_dim(tl.tensor([[0], [1]]), 1), ValueError,
     r"take_along_dim: input and indices do not broadcast outside dim 1"),
    (lambda: X34.scatter(1, tl.tensor([[4]]), 1.0), IndexError,
     r"scatter: index 4 is out of range for dimension 1 of size 4"),
    (lambda: X34.scatter(1, tl.tensor([[-1]]), 1.0), IndexError, r"scatter: index -1 is out"),
    (lambda: X34.scatter(1, tl.tensor([[0]]), tl.zeros(1, 1, dtype=tl.float64)), TypeError,
     r"scatter: input and src must have the same dtype.*float32 and \(1, 1\) float64"),
    (lambda: X34.scatter(1, tl.tensor([[0, 1]]), tl.zeros(1, 1)), ValueError,
     r"scatter: src \(1, 1\) must be at least as large as index \(1, 2\)"),
    (lambda: X34.scatter(1, tl.tensor([[0]] * 4), 1.0), ValueError,
     r"scatter: index \(4, 1\) must have input's dimensions and be no larger outside dim 1"),
    (lambda: X34.scatter(1, tl.tensor([[0]]), 1.0, reduce="add"), ValueError,
     r"scatter: reduce='add' is not supported"),
    (lambda: X34.scatter(1, tl.tensor([[0]])), TypeError, r"scatter: expected exactly one of"),
    (lambda: X34.index_add(0, tl.tensor([3]), tl.zeros(1, 4)), IndexError,
     r"index_add: index 3 is out of range for dimension 0 of size 3"),
    (lambda: X34.index_add(0, tl.tensor([0]), tl.zeros(2, 4)), ValueError,
     r"index_add: source of shape \(2, 4\) must have shape \(1, 4\)"),
    (lambda: X34.index_add(0, tl.tensor([[0]]), tl.zeros(1, 4)), ValueError,
     r"index_add: index must be 0-D or 1-D"),
    (lambda: X34.index_copy(1, tl.tensor([0]), tl.zeros(3, 1, dtype=tl.int64)), TypeError,
     r"index_copy: input and source must have the same dtype"),
    (lambda: X34.index_fill(1, tl.tensor([-5]), 0.0), IndexError,
     r"index_fill: index -5 is out of range for dimension 1 of size 4"),
    (lambda: X34.index_put_([tl.tensor([3])], tl.tensor(1.0)), IndexError,
     r"index_put_: indices \[\(1,\)\] do not fit a tensor of shape \(3, 4\)"),
    (lambda: X34.index_put_((tl.tensor([0, 1]),), tl.zeros(3)), ValueError,
     r"index_put_: values of shape \(3,\) do not broadcast to the indexed shape \(2, 4\)"),
    (lambda: X34.index_put_(tl.tensor([0]), tl.tensor(1.0)), TypeError,
     r"index_put_: indices must be a tuple of Tensors"),
    (lambda: X34.masked_select(tl.zeros(3, 4)), TypeError, r"masked_select: mask must be a bool"),
    (lambda: X34.masked_select(tl.zeros(2, dtype=tl.bool)), ValueError,
     r"broadcast_shapes: shapes \(3, 4\) and \(2,\) do not broadcast"),
    (lambda: X34.masked_scatter(tl.ones(3, 4, dtype=tl.bool), tl.zeros(5)), ValueError,
     r"masked_scatter: mask selects 12 places but source has only 5 elements"),
    (lambda: X34.unfold(1, 5, 1), ValueError, r"unfold: size 5 is larger than dimension 1's"),
    (lambda: X34.unfold(1, 2, 0), ValueError, r"unfold: step must be positive"),
    (lambda: X34.diag_embed(0, 1, 1), ValueError, r"diag_embed: dim1 and dim2 must differ"),
    (lambda: tl.tensor(1.0).diag_embed(), ValueError, r"diag_embed: .*at least 1 dim"),
    (lambda: tl.broadcast_shapes((2,), "a"), TypeError, r"broadcast_shapes: expected shapes"),
    (lambda: tl.broadcast_tensors(tl.zeros(2), tl.zeros(3)), ValueError,
     r"broadcast_shapes: shapes \(2,\) and \(3,\) do not broadcast"),
    (lambda: tl.block_diag(tl.zeros(1, 1, 1)), ValueError, r"block_diag: .*2 or fewer"),
    (lambda: tl.cartesian_prod(X34), ValueError, r"cartesian_prod: expects one or more 1-D"),
    (lambda: tl.tril_indices(-1, 2), ValueError, r"tril_indices: row and col must be non-neg"),
    (lambda: X34.mm(tl.zeros(3, 4)), ValueError,
     r"mm: shapes \(3, 4\) and \(3, 4\) do not line up \(4 != 3\)"),
    (lambda: X34.mm(tl.zeros(4)), ValueError, r"mm: expected two matrices"),
    (lambda: tl.zeros(2, 3, 4).bmm(tl.zeros(3, 4, 2)), ValueError, r"bmm: batch sizes differ"),
    (lambda: X34.mv(tl.zeros(4, dtype=tl.float64)), TypeError, r"mv: expected both inputs to "
     r"have the same dtype, got \(3, 4\) float32 and \(4,\) float64"),
    (lambda: tl.dot(tl.zeros(3), tl.zeros(4)), ValueError, r"dot: shapes \(3,\) and \(4,\)"),
    (lambda: X34.outer(tl.zeros(2)), ValueError, r"outer: expected two 1-D tensors"),
    (lambda: tl.inner(X34, tl.zeros(3)), ValueError, r"inner: last dimensions differ"),
    (lambda: X34.type_as(1.0), TypeError, r"type_as: expected a Tensor"),
    (lambda: X34.stride(2), IndexError, r"stride: dimension out of range"),
]


@pytest.mark.parametrize("fn,exc,match", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()
