"""Silent wrong results found with torch's OpInfo samples, each held to torch: forward, shape,
dtype and (where differentiable) the gradient of <out, g> for a random g."""
import numpy as np
import pytest
import torch

import tinygrad_lite as tl
from helpers import assert_close, check_vs_torch, make
from helpers import functional_of as _F
from helpers import lib_of as _lib
from helpers import same_in as _same


@pytest.mark.parametrize("op", ["var", "std", "var_mean", "std_mean"])
@pytest.mark.parametrize("unbiased", [True, False])
def test_var_std_positional_bool_is_unbiased(device, op, unbiased):
    check_vs_torch(lambda x: getattr(_lib(x), op)(x, unbiased), shapes=[(3, 4)], device=device)
    if op in ("var", "std"):
        check_vs_torch(lambda x: getattr(x, op)(unbiased), shapes=[(2, 3, 2)], device=device)
    # the three-argument overload still takes dim first
    check_vs_torch(lambda x: getattr(_lib(x), op)(x, 1, unbiased), shapes=[(3, 4)], device=device)
    with pytest.raises(TypeError, match=op):
        getattr(tl, op)(make((3, 4), device=device), unbiased, keepdim=True)


@pytest.mark.parametrize("start,length", [(-2, 2), (-5, 3), (-1, 1), (5, 0), (-5, 0), (1, 3)])
def test_narrow_negative_and_tensor_start(device, start, length):
    check_vs_torch(lambda x: x.narrow(0, start, length), shapes=[(5, 3)], device=device)
    check_vs_torch(lambda x: _lib(x).narrow(x, 1, start, length), shapes=[(2, 5)],
                   device=device)
    check_vs_torch(lambda x: x.narrow(-1, _same(x, start), length), shapes=[(2, 5)],
                   device=device)


def test_narrow_errors(device):
    x = make((5, 3), device=device)
    with pytest.raises(IndexError, match="narrow"):
        x.narrow(0, -6, 1)
    with pytest.raises(ValueError, match="narrow"):
        x.narrow(0, -2, 3)
    with pytest.raises(TypeError, match="narrow"):
        x.narrow(0, tl.tensor([1], device=device), 1)


@pytest.mark.parametrize("pads", [(-1, 2), (2, -1), (-2, -1), (3, -2), (-1, 2, 1, -1),
                                  (1, -2, -1, 0)])
def test_pad_circular_negative_crops(device, pads):
    shape = (2, 3, 5) if len(pads) == 2 else (2, 3, 4, 5)   # torch: 3-D for 1 pair, 4-D for 2
    check_vs_torch(lambda x: _F(x).pad(x, pads, mode="circular"), shapes=[shape], device=device)


@pytest.mark.parametrize("op", ["cumsum", "cumprod", "logcumsumexp"])
def test_scans_of_0d_stay_0d(device, op):
    check_vs_torch(lambda x: getattr(x, op)(0), shapes=[()], device=device)
    check_vs_torch(lambda x: getattr(_lib(x), op)(x, -1), shapes=[()], device=device)


@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_cumextremes_of_0d_stay_0d(device, op):
    check_vs_torch(lambda x: tuple(getattr(x, op)(0)), shapes=[()], device=device)


def test_sorts_of_0d_stay_0d(device):
    check_vs_torch(lambda x: x.argsort(), shapes=[()], device=device)
    check_vs_torch(lambda x: _lib(x).argsort(x, 0, descending=True), shapes=[()], device=device)
    check_vs_torch(lambda x: tuple(x.sort(0)), shapes=[()], device=device)
    # integer scans give int64 and no gradient, also when 0-d
    i = tl.tensor(np.array(3, dtype=np.int32), device=device)
    for op in ("cumsum", "cumprod"):
        out = getattr(i, op)(0)
        want = getattr(torch.tensor(3, dtype=torch.int32), op)(0)
        assert out.shape == () and str(out.dtype) == str(want.dtype).replace("torch.", "")
        assert not out.requires_grad


def test_diff_n0_returns_input(device):
    def fn(x, p):
        return _lib(x).diff(x, n=0, dim=1, prepend=p, append=p)
    out = check_vs_torch(fn, shapes=[(3, 4), (3, 2)], device=device)
    assert out.shape == (3, 4)
    check_vs_torch(lambda x: _lib(x).diff(x, n=0), shapes=[(3, 4)], device=device)
    with pytest.raises(ValueError, match="diff"):      # prepend is still checked, as in torch
        tl.diff(make((3, 4), device=device), n=0, dim=1, prepend=make((2, 2), device=device))


@pytest.mark.parametrize("op", ["quantile", "nanquantile"])
@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("q", [[0.1, 0.5, 0.93], 0.37])
def test_quantile_gradient_reaches_q(device, op, interpolation, q):
    def fn(x, qt, dim=None, keepdim=False):
        return getattr(_lib(x), op)(x, qt, dim=dim, keepdim=keepdim, interpolation=interpolation)

    rng = np.random.default_rng(1)
    for dim, keepdim in ((None, False), (1, True), (0, False)):
        x = make((4, 5), device=device, rng=rng)
        qt = tl.tensor(np.asarray(q, dtype=np.float64), device=device).requires_grad_(True)
        check_vs_torch(lambda a, b: fn(a, b, dim, keepdim), inputs=[x, qt])
    # rows holding nan: torch gives q no gradient through them
    a = rng.standard_normal((4, 5))
    a[1, 2], a[2, :] = np.nan, np.nan
    qt = tl.tensor(np.asarray(q, dtype=np.float64), device=device).requires_grad_(True)
    qt_t = torch.tensor(np.asarray(q, dtype=np.float64), requires_grad=True)
    x, x_t = tl.tensor(a, device=device), torch.from_numpy(a)
    out, out_t = fn(x, qt, 1), fn(x_t, qt_t, 1)
    assert_close(out, out_t)
    assert out.requires_grad == out_t.requires_grad     # only "linear" differentiates q
    if not out_t.requires_grad:
        return
    g = rng.standard_normal(out.shape)
    keep = ~np.isnan(out_t.detach().numpy())
    g_tl = tl.tensor(g, device=device).masked_fill(tl.tensor(~keep, device=device), 0.0)
    (out.masked_fill(tl.tensor(~keep, device=device), 0.0) * g_tl).sum().backward()
    (out_t.nan_to_num(0.0) * torch.from_numpy(np.where(keep, g, 0.0))).sum().backward()
    assert_close(qt.grad, qt_t.grad)


@pytest.mark.parametrize("dtype", ["float64"])
def test_linspace_tensor_ends_use_requested_dtype(device, dtype):
    start, end = np.float32(0.1), np.float32(1.3)
    ours = tl.linspace(tl.tensor(start, device=device), tl.tensor(end, device=device), 7,
                       dtype=getattr(tl, dtype), device=device)
    theirs = torch.linspace(torch.tensor(start), torch.tensor(end), 7,
                            dtype=getattr(torch, dtype))
    assert str(ours.dtype) == dtype
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(ValueError, match="linspace"):
        tl.linspace(tl.tensor([0.0, 1.0]), 1.0, 3)


_STEPS = [lambda x: x.floor(), lambda x: x.ceil(), lambda x: x.round(),
          lambda x: x.round(decimals=1), lambda x: x.trunc(), lambda x: x.sign(),
          lambda x: x.frac(), lambda x: _lib(x).fix(x), lambda x: _lib(x).floor(x)]


@pytest.mark.parametrize("fn", _STEPS)
def test_step_functions_stay_in_graph(device, fn):
    check_vs_torch(fn, shapes=[(3, 4)], device=device)
    x = make((3, 4), device=device)
    fn(x).sum().backward()          # torch's floor & co. keep the graph: zero (frac: one) grads
    assert x.grad is not None


@pytest.mark.parametrize("mode", ["floor", "trunc"])
def test_rounded_div_stays_in_graph(device, mode):
    check_vs_torch(lambda a, b: a.div(b, rounding_mode=mode), shapes=[(3, 4), (4,)],
                   device=device, away_from=0.0)
    check_vs_torch(lambda a: _lib(a).div(a, -0.7, rounding_mode=mode), shapes=[(3, 4)],
                   device=device)
    i = tl.tensor(np.array([-7, 5, 3, -2]), device=device)
    out = check_vs_torch(lambda a: a.div(3, rounding_mode=mode), inputs=[i])
    assert str(out.dtype) == "int64" and not out.requires_grad
    assert not i.floor().requires_grad and str(i.floor().dtype) == "int64"
    with pytest.raises(ValueError, match="div"):
        make((2,), device=device).div(2.0, rounding_mode="round")
