"""Triplet, cosine embedding, multi-class/multi-label margin and Gaussian NLL losses against
PyTorch: every reduction and option, random upstream gradients, second derivatives, finite
differences, empty batches and bad shapes."""
import math
import warnings

import numpy as np
import pytest
import torch

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn
from tinygrad_lite.autograd import gradcheck, gradgradcheck

from helpers import assert_close, check_hvp_vs_torch, check_vs_torch, functional_of, lib_of

REDUCTIONS = ["none", "mean", "sum"]
TIGHT = dict(rtol=1e-9, atol=1e-10)     # float64 parity with torch's formulas
pytestmark = pytest.mark.filterwarnings("ignore:size_average and reduce args:UserWarning")
LEGACY = [(None, False), (False, None), (False, True), (True, False), (True, None)]


def _rng(seed=0):
    return np.random.default_rng(seed)


def _t(a, device, grad=None):
    """A tinygrad_lite tensor of array a; floats require grad unless told otherwise."""
    a = np.asarray(a)
    grad = a.dtype.kind == "f" if grad is None else grad
    return tl.tensor(a, device=device, requires_grad=grad)


def _parity(fn, arrays, device, grad=None, hvp=False):
    """fn(*tensors) in both libraries: outputs, gradients under a random upstream gradient and,
    with hvp, a Hessian-vector product."""
    flags = grad or [None] * len(arrays)
    out = check_vs_torch(fn, inputs=[_t(a, device, g) for a, g in zip(arrays, flags)], **TIGHT)
    if hvp:
        check_hvp_vs_torch(fn, inputs=[_t(a, device, g) for a, g in zip(arrays, flags)],
                           device=device)
    return out


def _sync(device):
    """A device-side check raises at the next sync; on the host it has raised already."""
    if device == "cuda":
        tl.cuda.synchronize()


def _margin_shapes(name, arrays, device, **kw):
    """Every reduction against torch, except an empty batch's mean and sum: torch's margin
    kernels return uninitialised memory there; ours give what mean and sum of no per-sample
    losses give everywhere else, nan and 0."""
    empty = arrays[0].size == 0
    for red in ("none",) if empty else REDUCTIONS:
        _parity(lambda x, t: getattr(functional_of(x), name)(x, t, reduction=red, **kw),
                arrays, device)
    if empty:
        loss = getattr(F, name)
        x, t = _t(arrays[0], device), _t(arrays[1], device)
        assert math.isnan(loss(x, t, **kw).item())
        assert loss(x, t, reduction="sum", **kw).item() == 0.0
        loss(x, t, reduction="sum", **kw).backward()
        assert x.grad.shape == x.shape


def _targets(n, c, rng):
    """multilabel_margin_loss targets: class indices, each row cut by a -1 at a random place
    (or not at all), entries after the cut left as valid garbage that must be ignored."""
    t = np.stack([rng.permutation(c) for _ in range(n)])
    for i, cut in enumerate(rng.integers(0, c + 1, n)):
        if cut < c:
            t[i, cut] = -1
    if n > 1:
        t[0, :2] = [1, 1]           # a duplicated label counts twice
        t[-1, 0] = -1               # no labels at all
    return t


# -- triplet_margin_loss -------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,eps", [(2, 1e-6), (1, 1e-6), (3, 0.1), (1.5, 0.0)])
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_loss_vs_torch(reduction, p, eps, swap, device):
    rng = _rng(1)
    a, pos, neg = (rng.standard_normal((7, 4)) for _ in range(3))
    _parity(lambda a, p_, n: functional_of(a).triplet_margin_loss(
        a, p_, n, margin=1.5, p=p, eps=eps, swap=swap, reduction=reduction),
        [a, pos, neg], device, hvp=reduction == "none" and p == 2)


@pytest.mark.parametrize("shapes", [[(4,)] * 3, [(2, 3, 4)] * 3, [(5, 4), (1, 4), (5, 4)],
                                    [(), (), ()]])
def test_triplet_margin_loss_shapes_vs_torch(shapes, device):
    rng = _rng(2)
    arrays = [rng.standard_normal(s) for s in shapes]
    _parity(lambda a, p, n: functional_of(a).triplet_margin_loss(a, p, n, margin=0.7,
                                                                 reduction="none"),
            arrays, device)


@pytest.mark.parametrize("size_average,reduce", LEGACY)
def test_triplet_legacy_reduction_and_module(size_average, reduce):
    rng = _rng(3)
    arrays = [rng.standard_normal((5, 3)) for _ in range(3)]
    _parity(lambda a, p, n: functional_of(a).triplet_margin_loss(
        a, p, n, size_average=size_average, reduce=reduce), arrays, "cpu")
    _parity(lambda a, p, n: lib_of(a).nn.TripletMarginLoss(
        margin=0.5, p=1.0, swap=True, size_average=size_average, reduce=reduce)(a, p, n),
        arrays, "cpu")


def _cosine_distance(x, y):
    return 1.0 - functional_of(x).cosine_similarity(x, y, dim=-1)


def _l1_distance(x, y):
    return (x - y).abs().sum(-1)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("distance", [None, _cosine_distance, _l1_distance])
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_with_distance_loss_vs_torch(reduction, distance, swap, device):
    rng = _rng(4)
    arrays = [rng.standard_normal((6, 5)) for _ in range(3)]
    margin = 0.4 if distance is _cosine_distance else 1.2
    _parity(lambda a, p, n: functional_of(a).triplet_margin_with_distance_loss(
        a, p, n, distance_function=distance, margin=margin, swap=swap, reduction=reduction),
        arrays, device, hvp=reduction == "none" and distance is not _l1_distance)
    _parity(lambda a, p, n: lib_of(a).nn.TripletMarginWithDistanceLoss(
        distance_function=distance, margin=margin, swap=swap, reduction=reduction)(a, p, n),
        arrays, device)


def test_triplet_gradcheck_and_gradgradcheck():
    rng = _rng(5)
    ins = [_t(rng.standard_normal((4, 3)), "cpu") for _ in range(3)]
    for swap in (False, True):
        fn = lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=2.0, swap=swap,  # noqa: E731
                                                   reduction="none")
        assert gradcheck(fn, ins)
        assert gradgradcheck(fn, ins)
    assert gradcheck(lambda a, p, n: F.triplet_margin_with_distance_loss(
        a, p, n, distance_function=lambda x, y: (x - y).pow(2).sum(-1), margin=3.0), ins)


def test_triplet_empty_batch_and_defaults():
    e = [np.zeros((0, 4)) for _ in range(3)]
    for red in REDUCTIONS:
        _parity(lambda a, p, n: functional_of(a).triplet_margin_loss(a, p, n, reduction=red),
                e, "cpu")
        _parity(lambda a, p, n: functional_of(a).triplet_margin_with_distance_loss(
            a, p, n, reduction=red), e, "cpu")
    m = nn.TripletMarginLoss()
    assert (m.margin, m.p, m.eps, m.swap, m.reduction) == (1.0, 2.0, 1e-6, False, "mean")
    m = nn.TripletMarginWithDistanceLoss()
    assert (m.distance_function, m.margin, m.swap, m.reduction) == (None, 1.0, False, "mean")


def test_triplet_errors():
    a, b = tl.randn(3, 4, dtype=tl.float64), tl.randn(4, dtype=tl.float64)
    with pytest.raises(ValueError, match=r"triplet_margin_loss: .*same number of dimensions.*"
                                         r"\(3, 4\).*\(4,\)"):
        F.triplet_margin_loss(a, b, a)
    with pytest.raises(ValueError, match=r"triplet_margin_with_distance_loss: .*same number"):
        F.triplet_margin_with_distance_loss(a, a, b)
    with pytest.raises(ValueError, match=r"triplet_margin_loss: anchor \(3, 4\).*positive "
                                         r"\(3, 5\).*do not broadcast"):
        F.triplet_margin_loss(a, tl.randn(3, 5, dtype=tl.float64), a)
    with pytest.raises(ValueError, match="triplet_margin_loss: margin must be greater than 0"):
        F.triplet_margin_loss(a, a, a, margin=0)
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        nn.TripletMarginWithDistanceLoss(margin=-1.0)
    with pytest.raises(ValueError, match="triplet_margin_with_distance_loss: reduction"):
        F.triplet_margin_with_distance_loss(a, a, a, reduction="max")
    with pytest.raises(TypeError, match="distance_function must be callable"):
        F.triplet_margin_with_distance_loss(a, a, a, distance_function=3)
    with pytest.raises(TypeError, match="triplet_margin_loss: anchor must be floating point"):
        F.triplet_margin_loss(tl.tensor([[1, 2]]), tl.tensor([[1, 2]]), tl.tensor([[1, 2]]))


# -- cosine_embedding_loss -----------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3, -0.4])
@pytest.mark.parametrize("target_dtype", [np.float64, np.int64])
def test_cosine_embedding_loss_vs_torch(reduction, margin, target_dtype, device):
    rng = _rng(6)
    x1, x2 = rng.standard_normal((8, 5)), rng.standard_normal((8, 5))
    y = np.array([1, -1, 1, -1, -1, 1, 0, -1], dtype=target_dtype)   # 0: no term, as in torch
    _parity(lambda a, b, y: functional_of(a).cosine_embedding_loss(
        a, b, y, margin=margin, reduction=reduction), [x1, x2, y], device,
        hvp=reduction == "none" and target_dtype == np.float64)
    _parity(lambda a, b, y: lib_of(a).nn.CosineEmbeddingLoss(margin, reduction=reduction)(
        a, b, y), [x1, x2, y], device)


@pytest.mark.parametrize("case", ["unbatched_pos", "unbatched_neg", "broadcast", "empty"])
def test_cosine_embedding_loss_shapes(case, device):
    rng = _rng(7)
    arrays = {"unbatched_pos": [rng.standard_normal(4), rng.standard_normal(4), np.array(1.0)],
              "unbatched_neg": [rng.standard_normal(4), rng.standard_normal(4), np.array(-1.0)],
              "broadcast": [rng.standard_normal((5, 4)), rng.standard_normal((1, 4)),
                            np.array([1.0, -1, -1, 1, -1])],
              "empty": [np.zeros((0, 4)), np.zeros((0, 4)), np.zeros(0)]}[case]
    for red in REDUCTIONS:
        _parity(lambda a, b, y: functional_of(a).cosine_embedding_loss(
            a, b, y, margin=-0.5, reduction=red), arrays, device)


@pytest.mark.parametrize("size_average,reduce", LEGACY)
def test_cosine_embedding_legacy_reduction(size_average, reduce):
    rng = _rng(8)
    arrays = [rng.standard_normal((5, 3)), rng.standard_normal((5, 3)),
              np.array([1.0, -1, 1, -1, -1])]
    _parity(lambda a, b, y: functional_of(a).cosine_embedding_loss(
        a, b, y, 0.1, size_average, reduce), arrays, "cpu")
    _parity(lambda a, b, y: lib_of(a).nn.CosineEmbeddingLoss(
        0.1, size_average, reduce)(a, b, y), arrays, "cpu")


def test_cosine_embedding_gradcheck():
    rng = _rng(9)
    a, b = _t(rng.standard_normal((5, 3)), "cpu"), _t(rng.standard_normal((5, 3)), "cpu")
    y = tl.tensor([1.0, -1, 1, -1, -1], dtype=tl.float64)
    fn = lambda a, b: F.cosine_embedding_loss(a, b, y, margin=-0.9, reduction="none")  # noqa
    assert gradcheck(fn, [a, b])
    assert gradgradcheck(fn, [a, b])


def test_cosine_embedding_errors():
    x = tl.randn(3, 4, dtype=tl.float64)
    with pytest.raises(ValueError, match=r"cosine_embedding_loss: a 0-d target .* expects 1-d "
                                         r"inputs, got input1 \(3, 4\)"):
        F.cosine_embedding_loss(x, x, tl.tensor(1.0))
    with pytest.raises(ValueError, match=r"cosine_embedding_loss: a 1-d target .* expects 2-d"):
        F.cosine_embedding_loss(x[0], x[0], tl.ones(3))
    with pytest.raises(ValueError, match="cosine_embedding_loss: target must be 0-d or 1-d"):
        F.cosine_embedding_loss(x, x, tl.ones(3, 1))
    with pytest.raises(ValueError, match=r"cosine_embedding_loss: target \(2,\).* does not "
                                         r"match the batch of input1 \(3, 4\)"):
        F.cosine_embedding_loss(x, x, tl.ones(2))
    with pytest.raises(ValueError, match=r"cosine_embedding_loss: input1 \(3, 4\).*input2 "
                                         r"\(3, 5\).*do not broadcast"):
        F.cosine_embedding_loss(x, tl.randn(3, 5, dtype=tl.float64), tl.ones(3))


# -- multi_margin_loss ---------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("margin", [1.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_multi_margin_loss_vs_torch(reduction, p, margin, weighted, device):
    rng = _rng(10)
    x, t = rng.standard_normal((7, 5)), rng.integers(0, 5, 7)
    w = rng.uniform(0.5, 2.0, 5)
    if weighted:
        fn = lambda x, t, w: functional_of(x).multi_margin_loss(  # noqa: E731
            x, t, p, margin, w, reduction=reduction)
        arrays, grad = [x, t, w], [True, False, False]   # torch: no gradient for weight
    else:
        fn = lambda x, t: functional_of(x).multi_margin_loss(  # noqa: E731
            x, t, p=p, margin=margin, reduction=reduction)
        arrays, grad = [x, t], [True, False]
    _parity(fn, arrays, device, grad)     # torch has no double backward here: see gradgradcheck


@pytest.mark.parametrize("case", ["unbatched", "unbatched_1", "scalar", "empty"])
def test_multi_margin_loss_shapes(case, device):
    rng = _rng(11)
    arrays = {"unbatched": [rng.standard_normal(4), np.array(2)],
              "unbatched_1": [rng.standard_normal(4), np.array([3])],
              "scalar": [np.array(0.7), np.array(0)],
              "empty": [np.zeros((0, 4)), np.zeros(0, dtype=np.int64)]}[case]
    _margin_shapes("multi_margin_loss", arrays, device, p=2)


@pytest.mark.parametrize("size_average,reduce", LEGACY)
def test_multi_margin_legacy_reduction_and_module(size_average, reduce):
    rng = _rng(12)
    x, t, w = rng.standard_normal((6, 4)), rng.integers(0, 4, 6), rng.uniform(0.5, 2, 4)
    _parity(lambda x, t: functional_of(x).multi_margin_loss(
        x, t, size_average=size_average, reduce=reduce), [x, t], "cpu")
    _parity(lambda x, t, w: lib_of(x).nn.MultiMarginLoss(
        2, 0.5, w, size_average, reduce)(x, t), [x, t, w], "cpu", [True, False, False])


def test_multi_margin_module_defaults_and_gradcheck():
    m = nn.MultiMarginLoss()
    assert (m.p, m.margin, m.weight, m.reduction) == (1, 1.0, None, "mean")
    w = tl.tensor([1.0, 2.0, 0.5])
    assert nn.MultiMarginLoss(weight=w).state_dict()["weight"] is not None
    rng = _rng(13)
    x, w = _t(rng.standard_normal((5, 3)), "cpu"), _t(rng.uniform(0.5, 2, 3), "cpu")
    t = tl.tensor([0, 2, 1, 1, 0])
    for p in (1, 2):
        assert gradcheck(lambda x, w: F.multi_margin_loss(x, t, p, 0.8, w, reduction="none"),
                         [x, w])
    assert gradgradcheck(lambda x, w: F.multi_margin_loss(x, t, 2, 0.8, w), [x, w])


def test_multi_margin_errors(device):
    x = tl.randn(3, 4, dtype=tl.float64, device=device)
    t = tl.tensor([0, 1, 3], device=device)
    with pytest.raises(ValueError, match=r"multi_margin_loss: target should be 1-d with one "
                                         r"class per sample, \(3,\), got \(2,\)"):
        F.multi_margin_loss(x, t[:2])
    with pytest.raises(ValueError, match=r"multi_margin_loss: target should be 1-d.*\(3, 1\)"):
        F.multi_margin_loss(x, t.reshape(3, 1))
    with pytest.raises(ValueError, match=r"multi_margin_loss: input must be a non-empty "
                                         r"vector .* got \(3, 4, 2\)"):
        F.multi_margin_loss(tl.randn(3, 4, 2, device=device), t)
    with pytest.raises(ValueError, match=r"multi_margin_loss: input must .* \(3, 0\)"):
        F.multi_margin_loss(tl.randn(3, 0, device=device), t)
    with pytest.raises(ValueError, match="multi_margin_loss: only p == 1 and p == 2"):
        F.multi_margin_loss(x, t, p=3)
    with pytest.raises(ValueError, match="MultiMarginLoss: only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match=r"multi_margin_loss: weight \(3,\).*one entry per "
                                         r"class \(4,\)"):
        F.multi_margin_loss(x, t, weight=tl.ones(3, dtype=tl.float64, device=device))
    with pytest.raises(TypeError, match="multi_margin_loss: target must hold class indices"):
        F.multi_margin_loss(x, t.to(tl.float64))
    with pytest.raises(IndexError, match="multi_margin_loss: a target is out of range for 4"):
        F.multi_margin_loss(x, tl.tensor([0, 1, 4], device=device))
        _sync(device)
    with pytest.raises(IndexError, match="multi_margin_loss: a target is out of range"):
        F.multi_margin_loss(x, tl.tensor([0, -1, 1], device=device))
        _sync(device)


# -- multilabel_margin_loss ----------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multilabel_margin_loss_vs_torch(reduction, seed, device):
    rng = _rng(20 + seed)
    x, t = rng.standard_normal((6, 5)), _targets(6, 5, rng)
    _parity(lambda x, t: functional_of(x).multilabel_margin_loss(x, t, reduction=reduction),
            [x, t], device)     # torch has no double backward here: see gradgradcheck
    _parity(lambda x, t: lib_of(x).nn.MultiLabelMarginLoss(reduction=reduction)(x, t),
            [x, t], device)


@pytest.mark.parametrize("case", ["unbatched", "no_stop", "scalar", "empty"])
def test_multilabel_margin_loss_shapes(case, device):
    rng = _rng(24)
    arrays = {"unbatched": [rng.standard_normal(5), np.array([3, 0, -1, 2, 4])],
              "no_stop": [rng.standard_normal((2, 3)), np.array([[2, 0, 1], [1, 1, 1]])],
              "scalar": [np.array(0.3), np.array(0)],
              "empty": [np.zeros((0, 4)), np.zeros((0, 4), dtype=np.int64)]}[case]
    _margin_shapes("multilabel_margin_loss", arrays, device)


@pytest.mark.parametrize("size_average,reduce", LEGACY)
def test_multilabel_margin_legacy_reduction(size_average, reduce):
    rng = _rng(25)
    x, t = rng.standard_normal((4, 5)), _targets(4, 5, rng)
    _parity(lambda x, t: functional_of(x).multilabel_margin_loss(x, t, size_average, reduce),
            [x, t], "cpu")
    _parity(lambda x, t: lib_of(x).nn.MultiLabelMarginLoss(size_average, reduce)(x, t),
            [x, t], "cpu")


def test_multilabel_margin_gradcheck():
    rng = _rng(26)
    x, t = _t(rng.standard_normal((4, 5)), "cpu"), tl.tensor(_targets(4, 5, rng))
    assert gradcheck(lambda x: F.multilabel_margin_loss(x, t, reduction="none"), [x])
    assert gradgradcheck(lambda x: F.multilabel_margin_loss(x, t), [x])


def test_multilabel_margin_errors(device):
    x = tl.randn(3, 4, dtype=tl.float64, device=device)
    t = tl.tensor([[2, 0, -1, 1]] * 3, device=device)
    with pytest.raises(ValueError, match=r"multilabel_margin_loss: target \(3, 3\).* must have "
                                         r"the input's shape \(3, 4\)"):
        F.multilabel_margin_loss(x, t[:, :3])
    with pytest.raises(ValueError, match=r"multilabel_margin_loss: input must .* \(2, 3, 4\)"):
        F.multilabel_margin_loss(tl.randn(2, 3, 4, device=device), t.reshape(1, 3, 4))
    with pytest.raises(TypeError, match="multilabel_margin_loss: target must hold class"):
        F.multilabel_margin_loss(x, t.to(tl.float64))
    for bad in ([4, 0, -1, 1], [-2, 0, -1, 1], [1, -1, 7, 1]):    # torch checks past the -1
        with pytest.raises(IndexError, match=r"multilabel_margin_loss: a target is out of "
                                             r"range: entries must lie in \[-1, 4\)"):
            F.multilabel_margin_loss(x, tl.tensor([bad] * 3, device=device))
            _sync(device)


# -- multilabel_soft_margin_loss -----------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [None, "class", "full"])
@pytest.mark.parametrize("soft", [False, True])
def test_multilabel_soft_margin_loss_vs_torch(reduction, weight, soft, device):
    rng = _rng(30)
    x = rng.standard_normal((6, 4)) * 3
    y = rng.uniform(0, 1, (6, 4)) if soft else rng.integers(0, 2, (6, 4)).astype(np.float64)
    w = {None: None, "class": rng.uniform(0.5, 2, 4), "full": rng.uniform(0.5, 2, (6, 4))}[weight]
    if w is None:
        fn = lambda x, y: functional_of(x).multilabel_soft_margin_loss(  # noqa: E731
            x, y, reduction=reduction)
        arrays, grad = [x, y], [True, True]
    else:
        fn = lambda x, y, w: functional_of(x).multilabel_soft_margin_loss(  # noqa: E731
            x, y, w, reduction=reduction)
        arrays, grad = [x, y, w], [True, True, True]
    _parity(fn, arrays, device, grad, hvp=reduction == "none")
    weight_of = {tl: lambda: tl.tensor(w, device=device), torch: lambda: torch.from_numpy(w)}
    _parity(lambda x, y: lib_of(x).nn.MultiLabelSoftMarginLoss(
        None if w is None else weight_of[lib_of(x)](), reduction=reduction)(x, y), [x, y],
        device)


@pytest.mark.parametrize("shape", [(4,), (2, 3, 4), (0, 4), (3, 0)])
def test_multilabel_soft_margin_loss_shapes(shape, device):
    rng = _rng(31)
    arrays = [rng.standard_normal(shape), rng.integers(0, 2, shape).astype(np.float64)]
    for red in REDUCTIONS:
        _parity(lambda x, y: functional_of(x).multilabel_soft_margin_loss(x, y, reduction=red),
                arrays, device)


def test_multilabel_soft_margin_integer_target_legacy_and_gradcheck():
    rng = _rng(32)
    x, y = rng.standard_normal((5, 3)), rng.integers(0, 2, (5, 3))
    for size_average, reduce in LEGACY:
        _parity(lambda x, y: functional_of(x).multilabel_soft_margin_loss(
            x, y, None, size_average, reduce), [x, y], "cpu")
    xs, ys, w = (_t(rng.standard_normal((5, 3)), "cpu") for _ in range(3))
    fn = lambda x, y, w: F.multilabel_soft_margin_loss(x, y, w, reduction="none")  # noqa
    assert gradcheck(fn, [xs, ys, w])
    assert gradgradcheck(fn, [xs, ys, w])


def test_multilabel_soft_margin_errors():
    x = tl.randn(3, 4, dtype=tl.float64)
    with pytest.raises(ValueError, match=r"multilabel_soft_margin_loss: input needs a class "
                                         r"dimension.* got \(\)"):
        F.multilabel_soft_margin_loss(tl.tensor(1.0), tl.tensor(1.0))
    with pytest.raises(ValueError, match=r"multilabel_soft_margin_loss: input \(3, 4\).*target "
                                         r"\(3, 5\).*do not broadcast"):
        F.multilabel_soft_margin_loss(x, tl.ones(3, 5))
    with pytest.raises(ValueError, match=r"multilabel_soft_margin_loss: input \(3, 4\).*weight "
                                         r"\(3,\).*do not broadcast"):
        F.multilabel_soft_margin_loss(x, tl.ones(3, 4), tl.ones(3))
    with pytest.raises(ValueError, match=r"multilabel_soft_margin_loss: target and weight must "
                                         r"broadcast to the input's shape"):
        F.multilabel_soft_margin_loss(x, tl.ones(2, 3, 4))
    with pytest.raises(ValueError, match="multilabel_soft_margin_loss: reduction must be one"):
        F.multilabel_soft_margin_loss(x, tl.ones(3, 4), reduction="avg")


# -- gaussian_nll_loss ---------------------------------------------------------------------------
VAR_SHAPES = ["same", "row", "row1", "col1", "float"]


def _gaussian_case(var_shape, rng, n=5, d=3):
    x, y = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    shape = {"same": (n, d), "row": (n,), "row1": (n, 1), "col1": (1, d)}.get(var_shape)
    var = 0.8 if shape is None else rng.uniform(0.1, 2.0, shape)
    if shape is not None:
        var.reshape(-1)[::3] = 1e-4          # below eps=1e-3: clamped, gradient straight through
    return x, y, var


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("var_shape", VAR_SHAPES)
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_loss_vs_torch(reduction, var_shape, full, device):
    x, y, var = _gaussian_case(var_shape, _rng(40))
    kw = dict(full=full, eps=1e-3, reduction=reduction)
    if var_shape == "float":
        _parity(lambda x, y: functional_of(x).gaussian_nll_loss(x, y, var, **kw), [x, y],
                device, hvp=reduction == "none")
    else:
        _parity(lambda x, y, v: functional_of(x).gaussian_nll_loss(x, y, v, **kw),
                [x, y, var], device, hvp=reduction == "none")
        _parity(lambda x, y, v: lib_of(x).nn.GaussianNLLLoss(**kw)(x, y, v), [x, y, var],
                device)


@pytest.mark.parametrize("case", ["target_bcast", "unbatched_scalar_var", "empty", "default_eps"])
def test_gaussian_nll_loss_shapes(case, device):
    rng = _rng(41)
    arrays = {"target_bcast": [rng.standard_normal((4, 3)), rng.standard_normal((4, 1)),
                               rng.uniform(0.5, 2, (4, 3))],
              "unbatched_scalar_var": [rng.standard_normal(3), rng.standard_normal(3),
                                       np.array(0.7)],
              "empty": [np.zeros((0, 3)), np.zeros((0, 3)), np.ones((0, 3))],
              "default_eps": [rng.standard_normal((4, 3)), rng.standard_normal((4, 3)),
                              np.where(rng.uniform(size=(4, 3)) < 0.3, 0.0, 1.3)]}[case]
    for red in REDUCTIONS:
        _parity(lambda x, y, v: functional_of(x).gaussian_nll_loss(x, y, v, reduction=red),
                arrays, device)


def test_gaussian_nll_gradcheck_and_defaults():
    m = nn.GaussianNLLLoss()
    assert (m.full, m.eps, m.reduction) == (False, 1e-6, "mean")
    rng = _rng(42)
    x, y = _t(rng.standard_normal((4, 3)), "cpu"), _t(rng.standard_normal((4, 3)), "cpu")
    for shape in ((4, 3), (4,), (1, 3)):
        v = _t(rng.uniform(0.3, 2, shape), "cpu")
        fn = lambda x, y, v: F.gaussian_nll_loss(x, y, v, full=True, reduction="none")  # noqa
        assert gradcheck(fn, [x, y, v])
        assert gradgradcheck(fn, [x, y, v])


def test_gaussian_nll_errors(device):
    x = tl.randn(4, 3, dtype=tl.float64, device=device)
    for shape in ((1, 1), (3,), (), (4, 3, 1), (2, 3)):
        with pytest.raises(ValueError, match=r"gaussian_nll_loss: var .* is of incorrect size "
                                             r"for input \(4, 3\)"):
            F.gaussian_nll_loss(x, x, tl.ones(*shape, dtype=tl.float64, device=device))
    with pytest.raises(ValueError, match=r"gaussian_nll_loss: var has a negative entry"):
        F.gaussian_nll_loss(x, x, -1.0)
    with pytest.raises(ValueError, match=r"gaussian_nll_loss: var has negative entry/entries"):
        F.gaussian_nll_loss(x, x, -tl.ones(4, 3, dtype=tl.float64, device=device))
        _sync(device)
    with pytest.raises(ValueError, match=r"gaussian_nll_loss: input \(4, 3\).*target \(5, 1\)"
                                         r".*do not broadcast"):
        F.gaussian_nll_loss(x, tl.ones(5, 1, dtype=tl.float64, device=device), 1.0)
    with pytest.raises(ValueError, match="gaussian_nll_loss: reduction must be one of"):
        F.gaussian_nll_loss(x, x, 1.0, reduction="batchmean")


# -- shared ---------------------------------------------------------------------------------------
def test_float32_stays_float32_and_losses_are_modules():
    rng = _rng(50)
    x = tl.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    t = tl.tensor([0, 2, 1, 1])
    y = tl.tensor(rng.integers(0, 2, (4, 3)).astype(np.float32))
    outs = [F.triplet_margin_loss(x, x * 0.5, -x), F.cosine_embedding_loss(x, -x, tl.ones(4)),
            F.multi_margin_loss(x, t), F.multilabel_margin_loss(x, tl.tensor([[0, -1, 0]] * 4)),
            F.multilabel_soft_margin_loss(x, y), F.gaussian_nll_loss(x, y, 0.5)]
    for out in outs:
        assert out.dtype == tl.float32 and out.shape == ()
        out.backward()
        assert x.grad.dtype == tl.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(nn.MultiLabelSoftMarginLoss(), nn.Module)
    assert math.isnan(F.triplet_margin_loss(*[tl.zeros(0, 3)] * 3).item())


def test_torch_parity_after_module_round_trip():
    """The loss modules hold their options as torch's do, so state_dict carries the weight."""
    w = np.array([0.5, 1.0, 2.0])
    ours = nn.MultiMarginLoss(weight=tl.tensor(w))
    theirs = torch.nn.MultiMarginLoss(weight=torch.from_numpy(w))
    assert_close(ours.state_dict()["weight"], theirs.state_dict()["weight"])
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
