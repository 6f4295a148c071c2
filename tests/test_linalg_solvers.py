"""torch.linalg's solvers and decompositions (solve, cholesky, eigh, svd, qr, pinv, lstsq,
slogdet, inv_ex, cholesky_ex) and torch's top-level forms, against torch in float64 with a random
upstream gradient, against central differences, and twice differentiated."""
import numpy as np
import pytest
import torch

import tinygrad_lite as tl
from helpers import check_hvp_vs_torch, check_vs_torch, to_numpy
from helpers import lib_of as _lib
from tinygrad_lite.autograd import gradcheck


def _spd(shape, device, seed=0):
    """Symmetric positive-definite matrices (well conditioned)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    a = a @ a.swapaxes(-1, -2) + shape[-1] * np.eye(shape[-1])
    return tl.tensor(a, device=device).requires_grad_(True)


def _general(shape, device, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if len(shape) > 1 and shape[-1] == shape[-2]:
        a = a + shape[-1] * np.eye(shape[-1])      # far from singular
    return tl.tensor(a, device=device).requires_grad_(True)


@pytest.mark.parametrize("a_shape,b_shape", [((3, 3), (3, 2)), ((2, 4, 4), (2, 4, 3)),
                                             ((2, 3, 3), (3, 1)), ((3, 3), (3,)),
                                             ((2, 3, 3), (2, 3))])
def test_solve(device, a_shape, b_shape):
    a, b = _general(a_shape, device), _general(b_shape, device, seed=1)
    check_vs_torch(lambda x, y: _lib(x).linalg.solve(x, y), inputs=[a, b])
    gradcheck(lambda x, y: tl.linalg.solve(x, y), [_general(a_shape, device),
                                                   _general(b_shape, device, 1)])


def test_solve_left_false_and_errors(device):
    a, b = _general((3, 3), device), _general((2, 3), device, seed=1)
    check_vs_torch(lambda x, y: _lib(x).linalg.solve(x, y, left=False), inputs=[a, b])
    with pytest.raises(RuntimeError, match="linalg.solve: the matrix .* singular"):
        tl.linalg.solve(tl.zeros(2, 2, dtype=tl.float64, device=device),
                        tl.ones(2, 1, dtype=tl.float64, device=device))
    with pytest.raises(ValueError, match=r"linalg.solve: A \(3, 3\) and B \(4, 1\)"):
        tl.linalg.solve(a, tl.ones(4, 1, dtype=tl.float64, device=device))


@pytest.mark.filterwarnings("ignore:torch.cholesky is deprecated")
@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_cholesky(device, shape, upper):
    check_vs_torch(lambda x: _lib(x).linalg.cholesky(x, upper=upper), inputs=[_spd(shape, device)])
    check_vs_torch(lambda x: _lib(x).cholesky(x, upper), inputs=[_spd(shape, device)])
    gradcheck(lambda x: tl.linalg.cholesky(x + x.mT, upper=upper), [_spd(shape, device)])
    check_hvp_vs_torch(lambda x: _lib(x).linalg.cholesky(x + x.mT), inputs=[_spd(shape, device)],
                       device=device)


def test_cholesky_ex_and_inv_ex_report_failures(device):
    good = _spd((2, 3, 3), device)
    check_vs_torch(lambda x: tuple(_lib(x).linalg.cholesky_ex(x)), inputs=[good])
    check_vs_torch(lambda x: tuple(_lib(x).linalg.inv_ex(x)), inputs=[_general((3, 3), device)])
    bad = np.stack([np.eye(3), np.diag([1.0, -1.0, 1.0])])
    ours = tl.linalg.cholesky_ex(tl.tensor(bad, device=device))
    want = torch.linalg.cholesky_ex(torch.from_numpy(bad))
    np.testing.assert_array_equal(to_numpy(ours.info), want.info.numpy())
    assert str(ours.info.dtype) == "int32"
    sing = np.stack([np.eye(2), np.zeros((2, 2))])
    assert to_numpy(tl.linalg.inv_ex(tl.tensor(sing, device=device)).info).tolist() == [0, 1]
    with pytest.raises(RuntimeError, match="linalg.cholesky_ex: .* not positive-definite"):
        tl.linalg.cholesky_ex(tl.tensor(bad, device=device), check_errors=True)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_slogdet_logdet(device, shape):
    check_vs_torch(lambda x: tuple(_lib(x).linalg.slogdet(x)), inputs=[_general(shape, device)])
    check_vs_torch(lambda x: _lib(x).logdet(x), inputs=[_spd(shape, device)])
    gradcheck(lambda x: tl.linalg.slogdet(x).logabsdet, [_general(shape, device)])
    # det < 0: logdet is NaN, slogdet's sign is -1
    neg = tl.tensor(np.diag([-1.0, 2.0, 3.0]), device=device)
    assert np.isnan(to_numpy(tl.logdet(neg)))
    assert to_numpy(tl.slogdet(neg).sign) == -1.0


@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4)])
def test_eigh(device, shape, uplo):
    def sym_fn(x):      # signs taken out of the eigenvectors, as op_db does
        w, v = _lib(x).linalg.eigh(x + x.mT, UPLO=uplo)
        return w, v.abs()
    check_vs_torch(sym_fn, inputs=[_general(shape, device)])
    check_vs_torch(lambda x: _lib(x).linalg.eigvalsh(x, UPLO=uplo), inputs=[_spd(shape, device)])
    gradcheck(lambda x: tuple(sym_fn(x)), [_general(shape, device)])
    check_hvp_vs_torch(lambda x: _lib(x).linalg.eigvalsh(x + x.mT), inputs=[_spd(shape, device)],
                       device=device)


def _gauge_free_svd(x, full=False):
    u, s, vh = _lib(x).linalg.svd(x, full_matrices=full)
    return (u @ vh) if not full else s, s


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 5), (2, 3, 4)])
def test_svd(device, shape):
    # U Vh and S do not depend on the singular vectors' signs
    check_vs_torch(lambda x: _gauge_free_svd(x), inputs=[_general(shape, device)])
    check_vs_torch(lambda x: _lib(x).linalg.svd(x).S, inputs=[_general(shape, device)])
    gradcheck(lambda x: _gauge_free_svd(x), [_general(shape, device)])
    check_hvp_vs_torch(lambda x: _lib(x).linalg.svd(x, full_matrices=False).S,
                       inputs=[_general(shape, device)], device=device)
    u, s, vh = tl.linalg.svd(_general(shape, device))     # full: square U and Vh
    assert u.shape[-1] == u.shape[-2] == shape[-2] and vh.shape[-1] == vh.shape[-2] == shape[-1]
    out = tl.svd(_general(shape, device))
    np.testing.assert_allclose(to_numpy((out.U * out.S.unsqueeze(-2)) @ out.V.mT),
                               to_numpy(_general(shape, device)), atol=1e-10)


@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 5), (2, 4, 2)])
def test_qr(device, shape, mode):
    def fn(x):
        q, r = _lib(x).linalg.qr(x, mode=mode)
        return r if mode == "r" else (q, r)
    if mode == "complete" and shape[-2] > shape[-1]:
        check_vs_torch(lambda x: _lib(x).linalg.qr(x, mode=mode)[0].abs(),
                       inputs=[_general(shape, device, 2)], grad_inputs=[])
        return
    if mode == "r":
        ours = tl.linalg.qr(_general(shape, device), mode="r")
        want = torch.linalg.qr(torch.from_numpy(to_numpy(_general(shape, device))), mode="r")
        np.testing.assert_allclose(to_numpy(ours.R), want.R.numpy(), rtol=1e-10, atol=1e-12)
        assert tuple(ours.Q.shape) == (0,)
        return
    check_vs_torch(fn, inputs=[_general(shape, device)])
    gradcheck(fn, [_general(shape, device)])


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 5), (2, 3, 4)])
def test_pinv(device, shape):
    check_vs_torch(lambda x: _lib(x).linalg.pinv(x), inputs=[_general(shape, device)])
    check_vs_torch(lambda x: _lib(x).pinverse(x), inputs=[_general(shape, device)])
    gradcheck(lambda x: tl.linalg.pinv(x), [_general(shape, device)])
    check_hvp_vs_torch(lambda x: _lib(x).linalg.pinv(x), inputs=[_general(shape, device)],
                       device=device)
    if shape[-1] == shape[-2]:
        check_vs_torch(lambda x: _lib(x).linalg.pinv(x, hermitian=True),
                       inputs=[_spd(shape, device)])


@pytest.mark.parametrize("driver", [None, "gelsd", "gelss", "gels"])
@pytest.mark.parametrize("a_shape,b_shape", [((5, 3), (5, 2)), ((2, 4, 4), (2, 4, 1)),
                                             ((3, 5), (3, 2))])
def test_lstsq(device, driver, a_shape, b_shape):
    def fn(a, b):
        sol, res, rank, sv = _lib(a).linalg.lstsq(a, b, driver=driver)
        return sol, res, rank, sv
    check_vs_torch(fn, inputs=[_general(a_shape, device), _general(b_shape, device, 1)])
    gradcheck(lambda a, b: tl.linalg.lstsq(a, b).solution,
              [_general(a_shape, device), _general(b_shape, device, 1)])


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unit", [False, True])
def test_solve_triangular(device, upper, left, unit):
    b_shape = (2, 3, 2) if left else (2, 2, 3)
    check_vs_torch(lambda a, b: _lib(a).linalg.solve_triangular(
        a, b, upper=upper, left=left, unitriangular=unit),
        inputs=[_general((2, 3, 3), device), _general(b_shape, device, 1)])


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_solve_and_inverse(device, upper):
    def factor(x):
        return _lib(x).linalg.cholesky(x, upper=upper).detach()
    f = tl.tensor(to_numpy(factor(_spd((2, 3, 3), device))), device=device).requires_grad_(True)
    check_vs_torch(lambda b, l_: _lib(b).cholesky_solve(b, l_, upper), inputs=[
        _general((2, 3, 2), device, 1), f])
    f = tl.tensor(to_numpy(f), device=device).requires_grad_(True)
    check_vs_torch(lambda l_: _lib(l_).cholesky_inverse(l_, upper), inputs=[f[0].detach()
                                                                             .requires_grad_()])


def test_multi_dot_vecdot_matrix_rank_solve_ex(device):
    shapes = [(3,), (3, 4), (4, 2), (2,)]
    check_vs_torch(lambda *ts: _lib(ts[0]).linalg.multi_dot(list(ts)),
                   inputs=[_general(s, device, i) for i, s in enumerate(shapes)])
    check_vs_torch(lambda x, y: _lib(x).linalg.vecdot(x, y, dim=0),
                   inputs=[_general((3, 4), device), _general((3, 1), device, 1)])
    low_rank = tl.tensor(np.outer([1.0, 2, 3], [1.0, 0, 1]) + np.outer([0, 1.0, 0], [2.0, 1, 0]),
                         device=device)
    for kw in ({}, {"hermitian": True}, {"atol": 1.0}):
        a = low_rank @ low_rank.mT if "hermitian" in kw else low_rank
        want = torch.linalg.matrix_rank(torch.from_numpy(to_numpy(a)), **kw)
        got = tl.linalg.matrix_rank(a, **kw)
        assert to_numpy(got).tolist() == want.tolist() and str(got.dtype) == "int64"
    check_vs_torch(lambda a, b: tuple(_lib(a).linalg.solve_ex(a, b)),
                   inputs=[_general((3, 3), device), _general((3, 2), device, 1)])
    res = tl.linalg.solve_ex(tl.zeros(2, 2, dtype=tl.float64, device=device),
                             tl.ones(2, dtype=tl.float64, device=device))
    assert to_numpy(res[1]).tolist() == 1 and np.isnan(to_numpy(res[0])).all()
