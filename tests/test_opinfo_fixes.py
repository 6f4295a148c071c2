"""What torch's OpInfo samples found (tests/test_opinfo.py runs them on the CPU), held to torch
on every device: forward, dtype and the gradient of <out, g> for a random g, in float64."""
import numpy as np
import pytest
import torch

import tinygrad_lite as tl
from helpers import check_hvp_vs_torch, check_vs_torch
from helpers import functional_of as _F
from helpers import lib_of as _lib

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")   # 0 ** -1, log of negatives

_EDGES = np.array([0.0, -0.0, -1.0, 1.0, -2.5, 2.0, 0.5, 0.0])


def _edge(device, values=_EDGES, requires_grad=True):
    return tl.tensor(values, device=device).requires_grad_(requires_grad)


def test_pow_gradients_at_zero_and_negative_bases(device):
    # 0 ** 0 gives d/da = 0; a negative base gives d/db = NaN; 0 ** b >= 0 gives d/db = 0
    expo = np.array([0.0, 0.0, 0.5, -1.0, 2.0, 0.0, -1.5, 3.0])
    check_vs_torch(lambda a, b: a ** b, inputs=[_edge(device), _edge(device, expo)])
    check_vs_torch(lambda a, b: _lib(a).float_power(a, b),
                   inputs=[_edge(device), _edge(device, expo)])
    for number in (0.0, -2.0, 3.0):
        check_vs_torch(lambda b: number ** b, inputs=[_edge(device)])


def test_pow_second_derivative(device):
    check_hvp_vs_torch(lambda a, b: a ** b, shapes=[(3, 4), (3, 4)], low=0.5, high=2.0,
                       device=device)


def test_entr_and_xlog1py_gradients(device):
    check_vs_torch(lambda x: _lib(x).special.entr(x), inputs=[_edge(device)])
    check_vs_torch(lambda x: _lib(x).special.entr(x), inputs=[_edge(
        device, np.array([np.nan, np.inf, -np.inf, 0.5]), requires_grad=False)])
    y = _edge(device, np.array([-0.5, 0.25, -1.0, 3.0, 0.0, -2.0, 1.0, np.nan]))
    check_vs_torch(lambda a, b: _lib(a).special.xlog1py(a, b), inputs=[_edge(device), y])
    check_vs_torch(lambda a: _lib(a).special.xlog1py(a, 2.0), inputs=[_edge(device)])


@pytest.mark.parametrize("p", [0, 0.5, -1.0, -2.5, 1.5, 3, float("inf"), -float("inf"), "nuc"])
def test_norm_orders(device, p):
    check_vs_torch(lambda x: x.norm(p), shapes=[(3, 4)], device=device, away_from=[0.0])
    if p != "nuc":
        check_vs_torch(lambda x: _lib(x).norm(x, p, 1, True), shapes=[(3, 4)], device=device,
                       away_from=[0.0])
        check_vs_torch(lambda x: _lib(x).linalg.vector_norm(x, p, dim=0), shapes=[(3, 4)],
                       device=device, away_from=[0.0])
    else:
        check_vs_torch(lambda x: _lib(x).norm(x, p, (0, 2), True), shapes=[(3, 2, 4)],
                       device=device)


@pytest.mark.parametrize("p", [0.5, -1.0, 1.5, 3.0])
def test_norm_at_zero_and_second_derivative(device, p):
    zeros = tl.zeros(5, dtype=tl.float64, device=device).requires_grad_(True)
    check_vs_torch(lambda x: _lib(x).linalg.vector_norm(x, p), inputs=[zeros])
    check_vs_torch(lambda x: x.norm(p, 0), inputs=[_edge(device)])
    check_hvp_vs_torch(lambda x: x.norm(p, 1), shapes=[(3, 4)], device=device,
                       away_from=[0.0])


@pytest.mark.parametrize("p", [-1.0, 0, 0.5])
def test_normalize_and_pairwise_distance_any_p(device, p):
    check_vs_torch(lambda x: _F(x).normalize(x, p=p, dim=1), shapes=[(3, 4)], device=device,
                   away_from=[0.0])
    check_vs_torch(lambda a, b: _F(a).pairwise_distance(a, b, p=p), shapes=[(3, 4), (3, 4)],
                   device=device)


def test_zero_gradient_outputs_stay_in_the_graph(device):
    # cdist(p=0) and matrix_power(n=0): torch gives zeros; nextafter passes dy to its input
    check_vs_torch(lambda a, b: _lib(a).cdist(a, b, p=0), shapes=[(2, 3, 4), (2, 5, 4)],
                   device=device)
    check_vs_torch(lambda a: _lib(a).linalg.matrix_power(a, 0), shapes=[(2, 3, 3)],
                   device=device)
    out = check_vs_torch(lambda a, b: _lib(a).nextafter(a, b), shapes=[(3, 4), (4,)],
                         device=device)
    assert out.requires_grad


def test_nextafter_values_step_one_ulp(device):
    a = tl.tensor([1.0, 0.0, -1.0], device=device)
    b = tl.tensor([2.0, -1.0, -1.0], device=device)
    want = torch.nextafter(torch.tensor([1.0, 0.0, -1.0]), torch.tensor([2.0, -1.0, -1.0]))
    np.testing.assert_array_equal(np.asarray(tl.nextafter(a, b).cpu().numpy()), want.numpy())


def test_cat_skips_legacy_empty_tensors(device):
    empty = tl.zeros(0, dtype=tl.float64, device=device)
    check_vs_torch(lambda e, x: _lib(x).cat([e, x, e], 1), inputs=[empty, _edge(device).reshape(
        2, 4).detach().requires_grad_(True)])
    check_vs_torch(lambda e: _lib(e).cat([e, e]), inputs=[empty])


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_index_smaller_than_input(device, reduce, include_self):
    rng = np.random.default_rng(0)
    index = rng.integers(0, 5, size=(3, 4))

    def fn(x, s):
        idx = (tl.tensor(index, device=x.device) if isinstance(x, tl.Tensor)
               else torch.from_numpy(index))
        return x.scatter_reduce(1, idx, s, reduce, include_self=include_self)
    check_vs_torch(fn, shapes=[(6, 5), (3, 4)], device=device)


def test_unfold_zero_size_batch(device):
    out = check_vs_torch(lambda x: _F(x).unfold(x, 2, padding=1), shapes=[(0, 2, 5, 5)],
                         device=device)
    assert out.shape == (0, 8, 36)


def test_function_forms_take_stable_and_dtype(device):
    x = tl.tensor([3, 1, 2, 1], device=device)
    assert to_list(tl.argsort(x, stable=True)) == [1, 3, 2, 0]
    assert to_list(tl.sort(x, 0, True, stable=True).indices) == [0, 2, 1, 3]
    assert tl.cumsum(x, 0, dtype=tl.float64).dtype == tl.float64


def to_list(t):
    return np.asarray(t.cpu().numpy()).tolist()


def test_small_torch_functions(device):
    check_vs_torch(lambda x, y: _lib(x).dist(x, y, 3), shapes=[(3, 4), (4,)], device=device)
    check_vs_torch(lambda x: _lib(x).msort(x), shapes=[(4, 3)], device=device)
    check_vs_torch(lambda x: _lib(x).positive(x), shapes=[(4, 3)], device=device)
    check_vs_torch(lambda x, y: _lib(x).rsub(x, y, alpha=2), shapes=[(4, 3), (3,)],
                   device=device)
    check_vs_torch(lambda x: _lib(x).rsub(x, 1.5), shapes=[(4, 3)], device=device)
    check_vs_torch(lambda x: _lib(x).diagflat(x, -1), shapes=[(2, 2)], device=device)


@pytest.mark.parametrize("case", ["plain", "range", "edges", "weight", "density", "empty",
                                  "single"])
def test_histogram(device, case):
    rng = np.random.default_rng(0)
    data = {"empty": np.zeros(0), "single": np.ones(3)}.get(case, rng.standard_normal(20))
    kw = {"range": dict(range=(-1.0, 0.5)), "weight": dict(weight=rng.random(20)),
          "density": dict(density=True)}.get(case, {})
    bins = np.array([-2.0, -0.5, 0.0, 0.1, 3.0]) if case == "edges" else 5
    for lib, x in ((tl, tl.tensor(data, device=device)), (torch, torch.from_numpy(data))):
        args = dict(kw)
        if "weight" in args:
            args["weight"] = (tl.tensor(args["weight"], device=device) if lib is tl
                              else torch.from_numpy(args["weight"]))
        b = bins if isinstance(bins, int) else (tl.tensor(bins, device=device) if lib is tl
                                                else torch.from_numpy(bins))
        out = lib.histogram(x, b, **args)
        if lib is tl:
            ours = out
        else:
            for o, t in zip(ours, out):
                np.testing.assert_allclose(to_list(o), t.numpy().tolist(), rtol=1e-12)
                assert str(o.dtype) == str(t.dtype).replace("torch.", "")


@pytest.mark.parametrize("shape", [(2, 5, 4), (2, 6, 3, 4), (1, 4, 2, 3, 2)])
@pytest.mark.parametrize("size", [1, 2, 3])
def test_local_response_norm(device, shape, size):
    check_vs_torch(lambda x: _F(x).local_response_norm(x, size, alpha=0.3, beta=0.6, k=1.5),
                   shapes=[shape], device=device)
    m = tl.nn.LocalResponseNorm(size, 0.3, 0.6, 1.5)
    assert repr(m) == repr(torch.nn.LocalResponseNorm(size, 0.3, 0.6, 1.5))


@pytest.mark.filterwarnings("ignore:.*is deprecated")
def test_upsample_aliases(device):
    check_vs_torch(lambda x: _F(x).upsample_nearest(x, scale_factor=2), shapes=[(1, 2, 3, 3)],
                   device=device)
    check_vs_torch(lambda x: _F(x).upsample_bilinear(x, size=(5, 4)), shapes=[(1, 2, 3, 3)],
                   device=device)
