"""Shape, indexing and joining ops against PyTorch, forward, backward and second derivatives."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import tinygrad_lite as tl
from helpers import check_hvp_vs_torch, check_vs_torch
from tinygrad_lite.functions.indexing import pad


def _lib(x):
    return tl if isinstance(x, tl.Tensor) else torch


def _idx(x, array):
    """The same integer index tensor in either library."""
    return tl.tensor(array) if isinstance(x, tl.Tensor) else torch.from_numpy(np.asarray(array))


GATHER_IDX = np.array([[0, 1, 0], [2, 2, 1]])

MOVEMENT = {
    "reshape": (lambda x: x.reshape(4, 3), [(3, 4)]),
    "reshape_tuple": (lambda x: x.reshape((2, -1)), [(3, 4)]),
    "view": (lambda x: x.view(-1), [(3, 4)]),
    "view_as": (lambda x: x.view(2, 6) * 2, [(3, 4)]),
    "flatten": (lambda x: x.flatten(), [(3, 4, 2)]),
    "flatten_range": (lambda x: x.flatten(1, 2), [(3, 4, 2)]),
    "unflatten": (lambda x: x.unflatten(1, (2, 2)), [(3, 4)]),
    "transpose": (lambda x: x.transpose(0, 2), [(3, 4, 2)]),
    "permute": (lambda x: x.permute(2, 0, 1), [(3, 4, 2)]),
    "T": (lambda x: x.T, [(3, 4)]),
    "t": (lambda x: x.t(), [(3, 4)]),
    "mT": (lambda x: x.mT, [(2, 3, 4)]),
    "squeeze": (lambda x: x.squeeze(1), [(3, 1, 2)]),
    "squeeze_all": (lambda x: x.squeeze(), [(3, 1, 2, 1)]),
    "unsqueeze": (lambda x: x.unsqueeze(-1), [(3, 2)]),
    "unsqueeze0": (lambda x: x.unsqueeze(0), [(3, 2)]),
    "expand": (lambda x: x.expand(2, 3, 4), [(3, 1)]),
    "expand_minus1": (lambda x: x.expand(-1, 4), [(3, 1)]),
    "broadcast_to": (lambda x: x.broadcast_to((2, 3, 4)), [(3, 1)]),
    "repeat": (lambda x: x.repeat(2, 1, 3), [(3, 2)]),
    "index_int": (lambda x: x[1], [(3, 4)]),
    "index_negative": (lambda x: x[-1, -2], [(3, 4)]),
    "slice_step": (lambda x: x[::2, 1::2], [(5, 4)]),
    "slice_negative": (lambda x: x[-3:-1, :-1], [(5, 4)]),
    "none_ellipsis": (lambda x: x[None, ..., 1], [(3, 4, 2)]),
    "fancy_repeated": (lambda x: x[[0, 0, 2]], [(3, 4)]),
    "fancy_pairs": (lambda x: x[[0, 0, 2], [1, 1, 3]], [(3, 4)]),
    "fancy_tensor": (lambda x: x[:, _idx(x, [3, 0, 3])], [(3, 4)]),
    "bool_mask": (lambda x: x[x > 0], [(3, 4)]),
    "bool_mask_rows": (lambda x: x[_idx(x, [True, False, True])], [(3, 4)]),
    "cat": (lambda x: _lib(x).cat([x, x * 2, x[:, :1]], 1), [(3, 4)]),
    "cat_dim0": (lambda a, b: _lib(a).cat([a, b]), [(2, 3), (4, 3)]),
    "stack": (lambda a, b: _lib(a).stack([a, b], 1), [(3, 4), (3, 4)]),
    "stack_neg": (lambda a, b: _lib(a).stack([a, b], -1), [(3, 4), (3, 4)]),
    "split": (lambda x: x.split(2, 1), [(3, 5)]),
    "split_sizes": (lambda x: x.split([1, 4], 1), [(3, 5)]),
    "chunk": (lambda x: x.chunk(3, 1), [(3, 5)]),
    "unbind": (lambda x: x.unbind(1), [(3, 2)]),
    "narrow": (lambda x: x.narrow(1, 1, 2), [(3, 4)]),
    "select": (lambda x: x.select(1, 2), [(3, 4)]),
    "gather": (lambda x: x.gather(1, _idx(x, GATHER_IDX)), [(2, 4)]),
    "gather_dim0": (lambda x: x.gather(0, _idx(x, [[1, 0, 1, 1]])), [(2, 4)]),
    "scatter_add": (lambda x, s: x.scatter_add(1, _idx(x, GATHER_IDX), s), [(2, 4), (2, 3)]),
    "index_select": (lambda x: x.index_select(1, _idx(x, [0, 0, 2])), [(2, 4)]),
    "masked_fill": (lambda x: x.masked_fill(x > 0, 0.5), [(3, 4)]),
    "roll": (lambda x: x.roll(1, 1), [(3, 5)]),
    "roll_two": (lambda x: x.roll((1, -2), (0, 1)), [(3, 5)]),
    "roll_flat": (lambda x: x.roll(2), [(3, 5)]),
    "flip": (lambda x: x.flip(0), [(3, 5)]),
    "flip_two": (lambda x: x.flip((0, 1)), [(3, 5)]),
    "tril": (lambda x: x.tril(), [(4, 4)]),
    "triu": (lambda x: x.triu(1), [(3, 4)]),
    "tl_tril": (lambda x: _lib(x).tril(x, -1), [(4, 3)]),
    "tl_functions": (lambda x: _lib(x).flip(_lib(x).roll(_lib(x).transpose(x, 0, 1), 1, 0), [1]),
                     [(3, 4)]),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", sorted(MOVEMENT))
def test_movement_matches_torch(name, dtype, device):
    fn, shapes = MOVEMENT[name]
    check_vs_torch(fn, shapes, dtype=dtype, device=device, away_from=[0.0])


@pytest.mark.parametrize("name", sorted(MOVEMENT))
def test_movement_second_derivative_matches_torch(name, device):
    fn, shapes = MOVEMENT[name]
    # squared first so the second derivative is not identically zero
    check_hvp_vs_torch(lambda *xs: [o * o for o in _outs(fn(*xs))], shapes, device=device,
                       away_from=[0.0])


def _outs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate"])
@pytest.mark.parametrize("widths", [(1, 2), (1, 2, 2, 1), (0, 1, 2, 0, 1, 1)], ids=str)
def test_pad_matches_torch(mode, widths, device):
    def fn(x):
        if isinstance(x, tl.Tensor):
            return pad(x, widths, mode, 0.5) if mode == "constant" else pad(x, widths, mode)
        if mode == "constant":
            return F.pad(x, widths, mode, 0.5)
        return F.pad(x, widths, mode)
    # torch's reflect/replicate want 2 + len(widths) // 2 dimensions (batch, channel, spatial)
    shape = (1, 2, 3, 4)[-(2 + len(widths) // 2):]
    check_vs_torch(fn, [shape], device=device)
    check_hvp_vs_torch(lambda x: fn(x) * fn(x), [shape], device=device)


def test_pad_negative_constant_crops(device):
    check_vs_torch(lambda x: pad(x, (-1, 2)) if isinstance(x, tl.Tensor) else F.pad(x, (-1, 2)),
                   [(2, 4)], device=device)


def test_repeated_fancy_indices_accumulate(device):
    x = tl.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    x[[0, 0, 1]].sum().backward()
    assert x.grad.tolist() == [2.0, 1.0, 0.0]
    y = tl.zeros(3, device=device, requires_grad=True)
    y.index_select(0, tl.tensor([2, 2, 2, 0])).sum().backward()
    assert y.grad.tolist() == [1.0, 0.0, 3.0]


def test_views_share_memory_and_version(device):
    x = tl.arange(6.0, device=device).reshape(2, 3)
    v = x[0]
    v.add_(10)
    assert x[0].tolist() == [10.0, 11.0, 12.0]
    assert x._version is v._version and x._version.v == 1


def test_inplace_through_views_updates_base_graph(device):
    def fn(x):
        y = x * 1
        y[0][1:3].mul_(5)
        y.view(-1)[0:2].mul_(3)
        y.t()[3].mul_(7)
        return y * y
    check_vs_torch(fn, [(3, 4)], device=device)


def test_inplace_on_expanded_view_raises(device):
    x = tl.ones(3, 1, device=device).expand(3, 4)
    with pytest.raises(RuntimeError, match="read-only broadcast view"):
        x.add_(1)


def test_gather_and_scatter_add_with_index_smaller_than_input():
    # torch allows index to be smaller than the input off the gather/scatter dimension
    rng = np.random.default_rng(12)
    xa, sa = rng.standard_normal((4, 5)), rng.standard_normal((2, 3))
    ia = np.array([[0, 1, 4], [2, 2, 3]])
    g, g2 = rng.standard_normal((4, 5)), rng.standard_normal((2, 3))
    results = []
    for lib in (tl, torch):
        x, s = lib.tensor(xa, requires_grad=True), lib.tensor(sa, requires_grad=True)
        i = lib.tensor(ia)
        y, z = x.scatter_add(1, i, s), x.gather(1, i)
        ((y * lib.tensor(g)).sum() + (z * lib.tensor(g2)).sum()).backward()
        results.append([t.detach().numpy() for t in (y, z, x.grad, s.grad)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    with pytest.raises(ValueError, match=r"gather: index \(2, 6\) must not be larger"):
        tl.zeros(4, 5).gather(0, tl.zeros(2, 6, dtype=tl.int64))
