"""Reductions and the softmax family against PyTorch, forward, backward and second derivatives."""
import numpy as np
import pytest
import torch

import tinygrad_lite as tl
from helpers import check_hvp_vs_torch, check_vs_torch, make


def _values(out):
    """max/min with a dim return (values, indices) in both libraries; compare the values."""
    return out[0]


REDUCE = {
    "sum": (lambda x: x.sum(), [(3, 4)]),
    "sum_dim": (lambda x: x.sum(1), [(3, 4)]),
    "sum_neg_keep": (lambda x: x.sum(-1, keepdim=True), [(3, 4)]),
    "sum_dims": (lambda x: x.sum((0, 2)), [(3, 4, 2)]),
    "mean": (lambda x: x.mean(), [(3, 4)]),
    "mean_dim": (lambda x: x.mean(0, keepdim=True), [(3, 4)]),
    "mean_dims": (lambda x: x.mean((1, 2)), [(3, 4, 2)]),
    "prod": (lambda x: x.prod(), [(2, 3)]),
    "prod_dim": (lambda x: x.prod(1), [(3, 4)]),
    "prod_keep": (lambda x: x.prod(0, keepdim=True), [(3, 4)]),
    "max": (lambda x: x.max(), [(3, 4)]),
    "min": (lambda x: x.min(), [(3, 4)]),
    "max_dim": (lambda x: _values(x.max(1)), [(3, 4)]),
    "min_dim_keep": (lambda x: _values(x.min(0, keepdim=True)), [(3, 4)]),
    "amax": (lambda x: x.amax(1), [(3, 4)]),
    "amin": (lambda x: x.amin((0, 1)), [(3, 4, 2)]),
    "amax_keep": (lambda x: x.amax(-1, keepdim=True), [(3, 4)]),
    "var": (lambda x: x.var(), [(3, 4)]),
    "var_dim": (lambda x: x.var(1), [(3, 4)]),
    "var_biased": (lambda x: x.var(1, unbiased=False), [(3, 4)]),
    "var_correction": (lambda x: x.var(0, correction=0, keepdim=True), [(3, 4)]),
    "std": (lambda x: x.std(), [(3, 4)]),
    "std_dim": (lambda x: x.std(0), [(3, 4)]),
    "norm": (lambda x: x.norm(), [(3, 4)]),
    "norm_dim": (lambda x: x.norm(dim=1), [(3, 4)]),
    "norm_keep": (lambda x: x.norm(dim=0, keepdim=True), [(3, 4)]),
    "norm_p1": (lambda x: x.norm(p=1, dim=1), [(3, 4)]),
    "norm_p3": (lambda x: x.norm(p=3), [(3, 4)]),
    "norm_inf": (lambda x: x.norm(p=float("inf"), dim=1), [(3, 4)]),
    "logsumexp": (lambda x: x.logsumexp(1), [(3, 4)]),
    "logsumexp_keep": (lambda x: x.logsumexp((0, 1), keepdim=True), [(3, 4)]),
    "softmax": (lambda x: x.softmax(-1), [(3, 4)]),
    "softmax_dim0": (lambda x: x.softmax(0), [(3, 4, 2)]),
    "log_softmax": (lambda x: x.log_softmax(1), [(3, 4)]),
    "log_softmax_dim0": (lambda x: x.log_softmax(0), [(3, 4)]),
    "cumsum": (lambda x: x.cumsum(1), [(3, 4)]),
    "cumsum_neg": (lambda x: x.cumsum(-3), [(3, 4, 2)]),
    "tl_functions": (lambda x: (tl if isinstance(x, tl.Tensor) else torch).logsumexp(
        (tl if isinstance(x, tl.Tensor) else torch).softmax(x, 1), 0), [(3, 4)]),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", sorted(REDUCE))
def test_reduce_matches_torch(name, dtype, device):
    fn, shapes = REDUCE[name]
    # `make` draws from a continuous range, so max/min have no ties
    check_vs_torch(fn, shapes, dtype=dtype, device=device, away_from=[0.0])


@pytest.mark.parametrize("name", sorted(REDUCE))
def test_reduce_second_derivative_matches_torch(name, device):
    fn, shapes = REDUCE[name]
    check_hvp_vs_torch(fn, shapes, device=device, away_from=[0.0])


def test_max_min_with_dim_return_values_and_indices(device):
    x = make((3, 4), device=device)
    xt = torch.from_numpy(x.detach().numpy())
    for ours, theirs in [(x.max(1), xt.max(1)), (x.min(0), xt.min(0)),
                         (tl.max(x, 1, keepdim=True), torch.max(xt, 1, keepdim=True))]:
        values, indices = ours
        assert ours.values is values and ours.indices is indices
        np.testing.assert_allclose(values.detach().numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(indices.numpy(), theirs.indices.numpy())
        assert indices.dtype == np.int64 and not indices.requires_grad
    assert x.max().shape == () and x.min().shape == ()


def test_argmax_argmin(device):
    x = make((3, 4), device=device)
    xt = torch.from_numpy(x.detach().numpy())
    assert x.argmax().item() == xt.argmax().item()
    np.testing.assert_array_equal(x.argmin(1).numpy(), xt.argmin(1).numpy())
    np.testing.assert_array_equal(x.argmax(0, keepdim=True).numpy(),
                                  xt.argmax(0, keepdim=True).numpy())
    assert x.argmax().dtype == np.int64


def test_prod_with_zeros_matches_torch(device):
    a = np.array([[1.5, 0.0, 2.0], [0.0, 0.0, 3.0], [1.0, 2.0, -1.0]])
    for fn in [lambda x: x.prod(1), lambda x: x.prod(0), lambda x: x.prod()]:
        check_vs_torch(fn, inputs=[tl.tensor(a, device=device, requires_grad=True)],
                       device=device)


def test_prod_with_zeros_double_backward_raises(device):
    x = tl.tensor([1.5, 0.0, 2.0], device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="prod: double backward"):
        tl.autograd.grad(x.prod(), x, create_graph=True)
    g, = tl.autograd.grad(x.prod(), x)      # first derivatives alone are fine
    assert g.tolist() == [0.0, 3.0, 0.0]


def test_sum_of_ints_and_bools_gives_int64(device):
    assert tl.tensor([1, 2, 3], device=device).sum().dtype == np.int64
    assert tl.tensor([True, False, True], device=device).sum().item() == 2
    assert tl.tensor([1, 2], device=device).sum(dtype=tl.float32).dtype == np.float32


def test_sort_and_topk_gradients(device):
    check_vs_torch(lambda x: x.sort(1)[0], [(3, 5)], device=device)
    check_vs_torch(lambda x: x.sort(0, descending=True)[0], [(3, 5)], device=device)
    check_vs_torch(lambda x: x.topk(2)[0], [(3, 5)], device=device)
    x = make((3, 5), device=device)
    np.testing.assert_array_equal(x.sort(1)[1].numpy(),
                                  torch.from_numpy(x.detach().numpy()).sort(1)[1].numpy())


def test_gradgradcheck_reductions(device):
    x = make((2, 3), device=device, away_from=[0.0])
    for fn in [lambda t: t.var(1), lambda t: t.norm(), lambda t: t.logsumexp(0),
               lambda t: t.softmax(1), lambda t: t.log_softmax(0), lambda t: t.prod(1),
               lambda t: (t * t).amax(1), lambda t: (t * t).cumsum(1)]:
        assert tl.autograd.gradcheck(fn, (x,))
        assert tl.autograd.gradgradcheck(fn, (x,))
