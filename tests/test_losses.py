"""Losses against PyTorch: every reduction, a non-unit upstream gradient, extreme logits."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn
from tinygrad_lite.autograd import gradcheck, gradgradcheck
from tinygrad_lite.ops import loss as loss_ops

from helpers import assert_close, check_vs_torch, make

REDUCTIONS = ["none", "mean", "sum"]


def _pair_grads(ours_fn, theirs_fn, arrays, dtype=np.float64, scale=3.7, device="cpu",
                grad_of=(0,), rtol=None, atol=None):
    """loss * scale backward in both libraries (PEER_BUGS 23); compare loss and grads."""
    ours_in = [tl.tensor(a.astype(dtype) if a.dtype.kind == "f" else a, device=device)
               for a in arrays]
    theirs_in = [torch.from_numpy(a.astype(dtype) if a.dtype.kind == "f" else a) for a in arrays]
    for i in grad_of:
        ours_in[i].requires_grad_(True)
        theirs_in[i].requires_grad_(True)
    loss, loss_t = ours_fn(*ours_in), theirs_fn(*theirs_in)
    assert loss.dtype == dtype
    assert_close(loss, loss_t, dtype, rtol, atol, msg="loss")
    (loss * scale).sum().backward()
    (loss_t * scale).sum().backward()
    for i in grad_of:
        assert ours_in[i].grad.dtype == dtype
        assert_close(ours_in[i].grad, theirs_in[i].grad, dtype, rtol, atol, msg=f"grad {i}")
    return loss


def _logits_targets(n=6, c=5, extra=(), seed=0, ignore=None):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c) + extra)
    t = rng.integers(0, c, size=(n,) + extra)
    if ignore is not None:
        t.reshape(-1)[::3] = ignore
    return x, t


# -- cross entropy --------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_class_indices_vs_torch(reduction, smoothing, weighted, device):
    x, t = _logits_targets(ignore=-100)
    w = np.random.default_rng(5).uniform(0.5, 2.0, 5) if weighted else None
    wt = [tl.tensor(w, device=device), torch.from_numpy(w)] if weighted else [None, None]
    check_vs_torch(lambda x: F.cross_entropy(x, tl.tensor(t, device=device), wt[0],
                                             reduction=reduction, label_smoothing=smoothing),
                   inputs=[tl.tensor(x, device=device, requires_grad=True)],
                   torch_fn=lambda x: TF.cross_entropy(x, torch.from_numpy(t), wt[1],
                                                       reduction=reduction,
                                                       label_smoothing=smoothing))
    _pair_grads(lambda x, t: F.cross_entropy(x, t, wt[0], reduction=reduction,
                                             label_smoothing=smoothing),
                lambda x, t: TF.cross_entropy(x, t, wt[1], reduction=reduction,
                                              label_smoothing=smoothing), [x, t], device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial_and_ignore_index(reduction):
    x, t = _logits_targets(n=2, c=4, extra=(3, 5), ignore=1)
    _pair_grads(lambda x, t: F.cross_entropy(x, t, ignore_index=1, reduction=reduction),
                lambda x, t: TF.cross_entropy(x, t, ignore_index=1, reduction=reduction),
                [x, t])


def test_cross_entropy_unbatched():
    x = np.random.default_rng(0).standard_normal(5)
    _pair_grads(lambda x, t: F.cross_entropy(x, t), lambda x, t: TF.cross_entropy(x, t),
                [x, np.array(3)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_probability_targets(reduction, smoothing):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3, 2))
    p = rng.uniform(size=(4, 3, 2))
    p /= p.sum(1, keepdims=True)
    w = rng.uniform(0.5, 2, 3)
    _pair_grads(lambda x, p: F.cross_entropy(x, p, tl.tensor(w), reduction=reduction,
                                             label_smoothing=smoothing),
                lambda x, p: TF.cross_entropy(x, p, torch.from_numpy(w), reduction=reduction,
                                              label_smoothing=smoothing),
                [x, p], grad_of=(0, 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_stable_at_huge_logits(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0], [0.0, 0.0, -1e4]])
    t = np.array([1, 1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # no overflow / invalid-value warnings either
        loss = _pair_grads(lambda x, t: F.cross_entropy(x, t), lambda x, t: TF.cross_entropy(x, t),
                           [x, t], dtype=dtype)
    assert np.isfinite(loss.item())


def test_cross_entropy_fused_matches_reference_and_double_backward():
    x = make((5, 4))
    t = tl.tensor([0, 3, 1, 1, 2])
    ref = F.nll_loss(F.log_softmax(x, 1), t)
    assert_close(F.cross_entropy(x, t), ref)
    assert gradcheck(lambda x: F.cross_entropy(x, t, reduction="none"), (x,))
    assert gradgradcheck(lambda x: F.cross_entropy(x, t, label_smoothing=0.3,
                                                   weight=tl.tensor([1.0, 2.0, 0.5, 1.5],
                                                                    dtype=tl.float64)), (x,))


def test_cross_entropy_second_order_vs_torch():
    x = make((4, 3))
    xt = torch.from_numpy(x.detach().numpy()).requires_grad_()
    t = np.array([0, 2, 1, 2])
    (g,) = tl.autograd.grad(F.cross_entropy(x, tl.tensor(t), label_smoothing=0.1), [x],
                            create_graph=True)
    (gt,) = torch.autograd.grad(TF.cross_entropy(xt, torch.from_numpy(t), label_smoothing=0.1),
                                [xt], create_graph=True)
    assert_close(g, gt)
    (g ** 2).sum().backward()
    (gt ** 2).sum().backward()
    assert_close(x.grad, xt.grad)


def test_cross_entropy_errors():
    x = tl.zeros(3, 4)
    with pytest.raises(IndexError, match="cross_entropy: target 4 is out of bounds for 4"):
        F.cross_entropy(x, tl.tensor([0, 4, 1]))
    with pytest.raises(ValueError, match=r"cross_entropy: target \(2,\) int64 does not fit"):
        F.cross_entropy(x, tl.tensor([0, 1]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.cross_entropy(x, tl.tensor([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError, match="weight"):
        F.cross_entropy(x, tl.tensor([0, 1, 2]), weight=tl.ones(3))


def test_cross_entropy_all_ignored_is_nan_like_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss = F.cross_entropy(tl.randn(2, 3), tl.tensor([-100, -100]))
    assert np.isnan(loss.item())


# -- nll ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_vs_torch(reduction):
    x, t = _logits_targets(ignore=-100, seed=3)
    w = np.random.default_rng(2).uniform(0.5, 2, 5)
    _pair_grads(lambda x, t: F.nll_loss(x, t, tl.tensor(w), reduction=reduction),
                lambda x, t: TF.nll_loss(x, t, torch.from_numpy(w), reduction=reduction), [x, t])


# -- regression losses ----------------------------------------------------------------------------
REGRESSION = [
    (F.mse_loss, TF.mse_loss, {}),
    (F.l1_loss, TF.l1_loss, {}),
    (F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.5}),
    (F.smooth_l1_loss, TF.smooth_l1_loss, {"beta": 0.0}),
    (F.huber_loss, TF.huber_loss, {"delta": 0.7}),
]


@pytest.mark.parametrize("i", range(len(REGRESSION)))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_vs_torch(i, reduction, device):
    ours, theirs, kw = REGRESSION[i]
    rng = np.random.default_rng(i)
    x, y = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    _pair_grads(lambda a, b: ours(a, b, reduction=reduction, **kw),
                lambda a, b: theirs(a, b, reduction=reduction, **kw), [x, y],
                grad_of=(0, 1), device=device)
    check_vs_torch(lambda a, b: ours(a, b, reduction="none", **kw), shapes=[(3, 4), (3, 4)],
                   torch_fn=lambda a, b: theirs(a, b, reduction="none", **kw), device=device)


def test_regression_float32_and_broadcast_warning():
    x, y = tl.randn(4, 3, requires_grad=True), tl.randn(4, 3)
    for fn in (F.mse_loss, F.l1_loss, F.smooth_l1_loss, F.huber_loss):
        loss = fn(x, y)
        loss.backward()
        assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    with pytest.warns(UserWarning, match="mse_loss: target size"):
        F.mse_loss(tl.randn(4, 1), tl.randn(4))
    with pytest.raises(ValueError, match="do not broadcast"):
        F.mse_loss(tl.randn(4, 2), tl.randn(3))


# -- binary cross entropy -------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_vs_torch(reduction):
    rng = np.random.default_rng(0)
    p, y, w = rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(0, 1, (4, 3)), rng.uniform(0.5, 2, 3)
    _pair_grads(lambda p, y: F.binary_cross_entropy(p, y, tl.tensor(w), reduction=reduction),
                lambda p, y: TF.binary_cross_entropy(p, y, torch.from_numpy(w),
                                                     reduction=reduction), [p, y])
    with pytest.raises(ValueError, match="probabilities"):
        F.binary_cross_entropy(tl.tensor([1.5]), tl.tensor([1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", [False, True])
def test_bce_with_logits_vs_torch(reduction, weights, device):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((5, 3)) * 3, rng.uniform(0, 1, (5, 3))
    w, pw = rng.uniform(0.5, 2, (5, 1)), rng.uniform(0.5, 3, 3)
    kw = dict(weight=tl.tensor(w, device=device), pos_weight=tl.tensor(pw, device=device)) \
        if weights else {}
    kwt = dict(weight=torch.from_numpy(w), pos_weight=torch.from_numpy(pw)) if weights else {}
    _pair_grads(lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction=reduction, **kw),
                lambda x, y: TF.binary_cross_entropy_with_logits(x, y, reduction=reduction,
                                                                 **kwt),
                [x, y], grad_of=(0, 1), device=device)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_stable_at_1000(dtype):
    x = np.array([1000.0, -1000.0, 100.0, -100.0, 0.0])
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = _pair_grads(
            lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="none",
                                                            pos_weight=tl.tensor([2.0])),
            lambda x, y: TF.binary_cross_entropy_with_logits(x, y, reduction="none",
                                                             pos_weight=torch.tensor([2.0])),
            [x, y], dtype=dtype)
    assert np.all(np.isfinite(loss.detach().numpy()))


def test_bce_with_logits_fused_reference_and_double_backward():
    x, y = make((4, 3)), make((4, 3), low=0, high=1, rng=np.random.default_rng(1))
    assert_close(F.binary_cross_entropy_with_logits(x, y, reduction="none"),
                 loss_ops.bce_with_logits_reference(x, y))
    pw = tl.tensor([1.0, 2.0, 0.5], dtype=tl.float64)
    assert gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw),
                     (x, y))
    assert gradgradcheck(lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw),
                         (x, y))
    with pytest.raises(ValueError, match="same shape"):
        F.binary_cross_entropy_with_logits(tl.zeros(3, 1), tl.zeros(3))


# -- KL divergence --------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:reduction. .mean. divides")
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_vs_torch(reduction, log_target):
    rng = np.random.default_rng(2)
    x = np.log(rng.dirichlet(np.ones(4), size=3))
    y = rng.dirichlet(np.ones(4), size=3)
    y[0, 1] = 0.0                  # a zero target term contributes 0, not nan
    y = np.log(y + 1e-3) if log_target else y
    _pair_grads(lambda x, y: F.kl_div(x, y, reduction=reduction, log_target=log_target),
                lambda x, y: TF.kl_div(x, y, reduction=reduction, log_target=log_target),
                [x, y], grad_of=(0,))


# -- module forms ---------------------------------------------------------------------------------
MODULES = [
    (lambda: nn.CrossEntropyLoss(label_smoothing=0.1),
     lambda: torch.nn.CrossEntropyLoss(label_smoothing=0.1), "class"),
    (lambda: nn.NLLLoss(reduction="sum"), lambda: torch.nn.NLLLoss(reduction="sum"), "class"),
    (nn.MSELoss, torch.nn.MSELoss, "pair"),
    (nn.L1Loss, torch.nn.L1Loss, "pair"),
    (lambda: nn.SmoothL1Loss(beta=0.3), lambda: torch.nn.SmoothL1Loss(beta=0.3), "pair"),
    (lambda: nn.HuberLoss(delta=2.0), lambda: torch.nn.HuberLoss(delta=2.0), "pair"),
    (nn.BCELoss, torch.nn.BCELoss, "prob"),
    (lambda: nn.BCEWithLogitsLoss(pos_weight=tl.tensor([2.0, 1.0, 0.5], dtype=tl.float64)),
     lambda: torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0, 1.0, 0.5],
                                                                dtype=torch.float64)), "prob"),
    (lambda: nn.KLDivLoss(reduction="batchmean"),
     lambda: torch.nn.KLDivLoss(reduction="batchmean"), "prob"),
]


@pytest.mark.parametrize("i", range(len(MODULES)))
def test_loss_modules_vs_torch(i):
    ours, theirs, kind = MODULES[i]
    ours, theirs = ours(), theirs()
    rng = np.random.default_rng(i)
    x = rng.standard_normal((4, 3))
    if kind == "class":
        y = rng.integers(0, 3, 4)
    elif kind == "prob":
        x, y = rng.uniform(0.1, 0.9, (4, 3)), rng.uniform(0, 1, (4, 3))
    else:
        y = rng.standard_normal((4, 3))
    _pair_grads(ours, theirs, [x, y])
    assert repr(ours).split("(")[0] == repr(theirs).split("(")[0]


def test_loss_module_bad_reduction():
    with pytest.raises(ValueError, match="MSELoss: reduction"):
        nn.MSELoss(reduction="average")
    assert nn.MSELoss(size_average=False).reduction == "sum"
