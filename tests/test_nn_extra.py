"""The extra activations, distances, padding, pixel shuffle, RMS/instance norm and Dropout1d
against PyTorch: forward and gradients of a random upstream, reprs, state dicts and errors."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn
from tinygrad_lite.autograd import gradcheck, gradgradcheck

from helpers import assert_close, check_vs_torch, make, to_numpy
from test_nn_basic import _compare_layer

DTYPES = [np.float64, np.float32]

# (ours, theirs, input shapes, kinks to keep away from, input range)
FUNCS = {
    "relu6": (F.relu6, TF.relu6, [(4, 6)], [0.0, 6.0], 8),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 1.5), lambda x: TF.hardtanh(x, -0.5, 1.5),
                 [(4, 6)], [-0.5, 1.5], 3),
    "hardswish": (F.hardswish, TF.hardswish, [(4, 6)], [-3.0, 3.0], 5),
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid, [(4, 6)], [-3.0, 3.0], 5),
    "mish": (F.mish, TF.mish, [(4, 6)], None, 5),
    "glu": (F.glu, TF.glu, [(3, 6)], None, 3),
    "glu_dim1": (lambda x: F.glu(x, 1), lambda x: TF.glu(x, 1), [(2, 4, 3)], None, 3),
    "logsigmoid": (F.logsigmoid, TF.logsigmoid, [(4, 6)], None, 8),
    "softsign": (F.softsign, TF.softsign, [(4, 6)], [0.0], 4),
    "tanhshrink": (F.tanhshrink, TF.tanhshrink, [(4, 6)], None, 3),
    "threshold": (lambda x: F.threshold(x, 0.5, -2.0), lambda x: TF.threshold(x, 0.5, -2.0),
                  [(4, 6)], [0.5], 3),
    "prelu": (F.prelu, TF.prelu, [(2, 3, 4), (3,)], [0.0], 3),
    "prelu_shared": (F.prelu, TF.prelu, [(2, 3, 4, 2), (1,)], [0.0], 3),
    "prelu_1d": (F.prelu, TF.prelu, [(5,), (1,)], [0.0], 3),
    "selu": (F.selu, TF.selu, [(4, 6)], [0.0], 4),
    "celu": (lambda x: F.celu(x, 0.7), lambda x: TF.celu(x, 0.7), [(4, 6)], [0.0], 4),
    "softmin": (lambda x: F.softmin(x, 1), lambda x: TF.softmin(x, 1), [(4, 6)], None, 3),
    "softmin_implicit": (F.softmin, lambda x: TF.softmin(x, 0), [(3, 4, 2)], None, 3),
    "normalize": (F.normalize, TF.normalize, [(4, 5)], None, 2),
    "normalize_p1": (lambda x: F.normalize(x, 1, -1), lambda x: TF.normalize(x, 1, -1),
                     [(3, 4, 5)], [0.0], 2),
    "normalize_p3": (lambda x: F.normalize(x, 3.0, 0), lambda x: TF.normalize(x, 3.0, 0),
                     [(4, 5)], None, 2),
    "normalize_inf": (lambda x: F.normalize(x, float("inf")),
                      lambda x: TF.normalize(x, float("inf")), [(4, 5)], None, 2),
    "cosine_similarity": (F.cosine_similarity, TF.cosine_similarity, [(4, 5), (4, 5)], None, 2),
    "cosine_similarity_bcast": (lambda a, b: F.cosine_similarity(a, b, -1),
                                lambda a, b: TF.cosine_similarity(a, b, -1),
                                [(3, 1, 5), (4, 5)], None, 2),
    "pairwise_distance": (F.pairwise_distance, TF.pairwise_distance, [(4, 5), (4, 5)], None, 2),
    "pairwise_distance_p1": (lambda a, b: F.pairwise_distance(a, b, 1.0, keepdim=True),
                             lambda a, b: TF.pairwise_distance(a, b, 1.0, keepdim=True),
                             [(4, 5), (5,)], None, 2),
    "pairwise_distance_p3": (lambda a, b: F.pairwise_distance(a, b, 3.0, 1e-3),
                             lambda a, b: TF.pairwise_distance(a, b, 3.0, 1e-3),
                             [(2, 4, 5), (2, 4, 5)], None, 2),
    "pixel_shuffle": (lambda x: F.pixel_shuffle(x, 2), lambda x: TF.pixel_shuffle(x, 2),
                      [(2, 8, 3, 2)], None, 2),
    "pixel_shuffle_3d": (lambda x: F.pixel_shuffle(x, 3), lambda x: TF.pixel_shuffle(x, 3),
                         [(9, 2, 2)], None, 2),
    "pixel_unshuffle": (lambda x: F.pixel_unshuffle(x, 2), lambda x: TF.pixel_unshuffle(x, 2),
                        [(2, 3, 4, 6)], None, 2),
    "rms_norm": (lambda x, w: F.rms_norm(x, (5,), w), lambda x, w: TF.rms_norm(x, (5,), w),
                 [(3, 4, 5), (5,)], None, 2),
    "rms_norm_2d_eps": (lambda x: F.rms_norm(x, [4, 5], eps=1e-3),
                        lambda x: TF.rms_norm(x, [4, 5], eps=1e-3), [(3, 4, 5)], None, 2),
    "instance_norm": (lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
                      lambda x, w, b: TF.instance_norm(x, weight=w, bias=b),
                      [(2, 3, 5), (3,), (3,)], None, 2),
    "instance_norm_2d": (F.instance_norm, TF.instance_norm, [(2, 3, 4, 4)], None, 2),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(FUNCS))
def test_functional_vs_torch(name, dtype, device):
    ours, theirs, shapes, kinks, r = FUNCS[name]
    check_vs_torch(ours, shapes=shapes, torch_fn=theirs, dtype=dtype, device=device, low=-r,
                   high=r, away_from=kinks)


def test_rms_norm_default_eps_is_the_dtypes(device):
    for dtype in DTYPES:
        x = make((3, 4), dtype, device, low=-1e-3, high=1e-3)    # eps matters at this scale
        check_vs_torch(lambda t: F.rms_norm(t, 4), inputs=[x],
                       torch_fn=lambda t: TF.rms_norm(t, [4]), dtype=dtype, device=device)


@pytest.mark.parametrize("name", ["relu6", "hardtanh", "hardswish", "hardsigmoid", "mish",
                                  "threshold", "selu", "celu"])
def test_inplace_forms_match_torch(name, device):
    kwargs = {"hardtanh": (-0.5, 0.5), "threshold": (0.2, 7.0), "celu": (1.3,)}.get(name, ())
    ours, theirs = getattr(F, name), getattr(TF, name)

    def run(fn):
        def go(x):
            y = x * 1.0
            out = fn(y, *kwargs, inplace=True)
            assert out is y
            return out
        return go

    check_vs_torch(run(ours), shapes=[(3, 5)], torch_fn=run(theirs), device=device, low=-5,
                   high=5, away_from=[-3.0, -0.5, 0.0, 0.2, 0.5, 3.0])


def test_trailing_underscore_forms(device):
    x = make((3, 4), device=device, requires_grad=False)
    want = TF.hardtanh(torch.from_numpy(to_numpy(x)), -0.3, 0.3)
    assert_close(F.hardtanh_(x, -0.3, 0.3), want)
    assert_close(F.threshold_(x, 0.0, 9.0), TF.threshold(want, 0.0, 9.0))


def test_gradients_at_the_kinks_follow_torch():
    """Where a subgradient must be picked, pick torch's (hardtanh's bounds get none)."""
    pts = [-3.0, -1.0, 0.0, 1.0, 3.0, 6.0]
    fns = [(F.relu6, TF.relu6), (F.hardtanh, TF.hardtanh), (F.hardswish, TF.hardswish),
           (F.hardsigmoid, TF.hardsigmoid), (F.softsign, TF.softsign),
           (lambda x: F.threshold(x, 1.0, 5.0), lambda x: TF.threshold(x, 1.0, 5.0))]
    for ours, theirs in fns:
        check_vs_torch(ours, inputs=[tl.tensor(pts, dtype=tl.float64, requires_grad=True)],
                       torch_fn=theirs)
    w = tl.tensor([0.3], dtype=tl.float64, requires_grad=True)
    check_vs_torch(F.prelu, inputs=[tl.tensor(pts, dtype=tl.float64, requires_grad=True), w],
                   torch_fn=TF.prelu)


def test_cosine_similarity_tiny_norms_match_torch():
    """torch clamps the norms in place under no_grad: the clamped value divides, while the
    gradient still flows through the unclamped norm (it shows for 0 < norm < eps)."""
    x = tl.tensor(np.array([[0.0, 0.0, 0.0], [1e-9, -2e-9, 3e-9]]), requires_grad=True)
    y = tl.tensor(np.ones((2, 3)), requires_grad=True)
    check_vs_torch(F.cosine_similarity, inputs=[x, y], torch_fn=TF.cosine_similarity)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["logsigmoid", "mish", "selu", "softsign", "celu",
                                  "hardswish", "tanhshrink"])
def test_extreme_inputs_stay_finite(name, dtype):
    vals = np.array([-1000.0, -100.0, -30.0, -20.0, 0.5, 20.0, 30.0, 100.0, 1000.0])
    x = tl.tensor(vals.astype(dtype), requires_grad=True)
    out = check_vs_torch(getattr(F, name), inputs=[x], torch_fn=getattr(TF, name), dtype=dtype)
    assert np.isfinite(to_numpy(out)).all() and np.isfinite(to_numpy(x.grad)).all()


GRADCHECKS = {
    "hardswish": (F.hardswish, [(3, 4)], [-3.0, 3.0]),
    "mish": (F.mish, [(3, 4)], None),
    "glu": (lambda x: F.glu(x, 0), [(4, 3)], None),
    "logsigmoid": (F.logsigmoid, [(3, 4)], None),
    "prelu": (F.prelu, [(2, 3, 2), (3,)], [0.0]),
    "selu": (F.selu, [(3, 4)], [0.0]),
    "celu": (lambda x: F.celu(x, 0.5), [(3, 4)], [0.0]),
    "softmin": (lambda x: F.softmin(x, -1), [(3, 4)], None),
    "normalize": (F.normalize, [(3, 4)], None),
    "cosine_similarity": (F.cosine_similarity, [(3, 4), (3, 4)], None),
    "pairwise_distance": (F.pairwise_distance, [(3, 4), (3, 4)], None),
    "pixel_shuffle": (lambda x: F.pixel_shuffle(x, 2), [(1, 4, 2, 3)], None),
    "rms_norm": (lambda x, w: F.rms_norm(x, [4], w), [(3, 4), (4,)], None),
    "instance_norm": (lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
                      [(2, 3, 4), (3,), (3,)], None),
}


@pytest.mark.parametrize("name", list(GRADCHECKS))
def test_gradcheck_float64(name):
    fn, shapes, kinks = GRADCHECKS[name]
    rng = np.random.default_rng(3)
    inputs = [make(s, rng=rng, away_from=kinks) for s in shapes]
    assert gradcheck(fn, inputs)
    if name in ("mish", "glu", "cosine_similarity", "rms_norm", "instance_norm", "prelu"):
        assert gradgradcheck(fn, inputs)


# -- modules ------------------------------------------------------------------------------------
def _act_modules():
    return [
        (nn.ReLU6(), torch.nn.ReLU6(), [0.0, 6.0]),
        (nn.ReLU6(inplace=True), torch.nn.ReLU6(inplace=True), [0.0, 6.0]),
        (nn.Hardtanh(-2, 3), torch.nn.Hardtanh(-2, 3), [-2.0, 3.0]),
        (nn.Hardswish(), torch.nn.Hardswish(), [-3.0, 3.0]),
        (nn.Hardsigmoid(True), torch.nn.Hardsigmoid(True), [-3.0, 3.0]),
        (nn.Mish(), torch.nn.Mish(), None),
        (nn.GLU(1), torch.nn.GLU(1), None),
        (nn.LogSigmoid(), torch.nn.LogSigmoid(), None),
        (nn.Softsign(), torch.nn.Softsign(), None),
        (nn.Tanhshrink(), torch.nn.Tanhshrink(), None),
        (nn.Threshold(0.1, 20), torch.nn.Threshold(0.1, 20), [0.1]),
        (nn.Threshold(0.1, 20.0, True), torch.nn.Threshold(0.1, 20.0, True), [0.1]),
        (nn.SELU(), torch.nn.SELU(), [0.0]),
        (nn.SELU(True), torch.nn.SELU(True), [0.0]),
        (nn.CELU(), torch.nn.CELU(), [0.0]),
        (nn.CELU(2.0, True), torch.nn.CELU(2.0, True), [0.0]),
        (nn.Softmin(), torch.nn.Softmin(), None),
        (nn.Softmin(1), torch.nn.Softmin(1), None),
        (nn.Softmax2d(), torch.nn.Softmax2d(), None),
        (nn.PixelShuffle(2), torch.nn.PixelShuffle(2), None),
        (nn.PixelUnshuffle(2), torch.nn.PixelUnshuffle(2), None),
        (nn.ZeroPad1d(2), torch.nn.ZeroPad1d(2), None),
        (nn.ZeroPad2d((1, 2, 0, 3)), torch.nn.ZeroPad2d((1, 2, 0, 3)), None),
        (nn.ConstantPad1d((0, 2), 3.5), torch.nn.ConstantPad1d((0, 2), 3.5), None),
        (nn.ConstantPad2d(1, 0), torch.nn.ConstantPad2d(1, 0), None),
        (nn.ReflectionPad1d((1, 3)), torch.nn.ReflectionPad1d((1, 3)), "1d"),
        (nn.ReflectionPad2d((1, 0, 2, 1)), torch.nn.ReflectionPad2d((1, 0, 2, 1)), None),
        (nn.ReplicationPad1d(2), torch.nn.ReplicationPad1d(2), "1d"),
        (nn.ReplicationPad2d((3, 0, 1, 2)), torch.nn.ReplicationPad2d((3, 0, 1, 2)), None),
    ]


@pytest.mark.filterwarnings("ignore:Implicit dimension choice for softmin")
@pytest.mark.parametrize("shape", [(2, 4, 4, 6), (4, 4, 6)])
@pytest.mark.parametrize("i", range(len(_act_modules())))
def test_stateless_modules_vs_torch_and_repr(i, shape, device):
    ours, theirs, kinks = _act_modules()[i]
    assert repr(ours) == repr(theirs)
    if kinks == "1d":           # these take (C, L) or (N, C, L) only
        shape, kinks = shape[1:], None

    def run(m):
        # a non-leaf copy, so the inplace=True modules are allowed to write into it
        return lambda x: m(x * 1.0)

    check_vs_torch(run(ours), shapes=[shape], torch_fn=run(theirs), device=device, low=-4,
                   high=4, away_from=kinks)


@pytest.mark.parametrize("shape", [(3, 6), (2, 3, 6)])
@pytest.mark.parametrize("cls", ["ReflectionPad1d", "ReplicationPad1d", "ZeroPad1d"])
def test_1d_padding_takes_batched_and_unbatched_input(cls, shape, device):
    ours, theirs = getattr(nn, cls)((2, 1)), getattr(torch.nn, cls)((2, 1))
    check_vs_torch(ours, shapes=[shape], torch_fn=theirs, device=device)


@pytest.mark.parametrize("args", [dict(), dict(dim=-1, eps=1e-3)])
def test_cosine_similarity_module(args, device):
    ours, theirs = nn.CosineSimilarity(**args), torch.nn.CosineSimilarity(**args)
    assert repr(ours) == repr(theirs)
    check_vs_torch(ours, shapes=[(3, 4), (3, 4)], torch_fn=theirs, device=device)


@pytest.mark.parametrize("args", [dict(), dict(p=1.0, eps=1e-3, keepdim=True)])
def test_pairwise_distance_module(args, device):
    ours, theirs = nn.PairwiseDistance(**args), torch.nn.PairwiseDistance(**args)
    assert repr(ours) == repr(theirs) and ours.norm == theirs.norm
    check_vs_torch(ours, shapes=[(3, 4), (3, 4)], torch_fn=theirs, device=device)


def _state_matches(ours, theirs):
    sd, sdt = ours.state_dict(), theirs.state_dict()
    assert list(sd) == list(sdt)
    for k in sd:
        assert tuple(sd[k].shape) == tuple(sdt[k].shape), k
        assert_close(sd[k], sdt[k], msg=k)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("args", [dict(), dict(num_parameters=3, init=0.1)])
def test_prelu_module(args, device):
    ours, theirs = nn.PReLU(**args), torch.nn.PReLU(**args)
    _state_matches(ours, theirs)
    assert ours.weight.dtype == np.float32 and ours.weight.requires_grad
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    for dtype in DTYPES:
        _compare_layer(nn.PReLU(**args), torch.nn.PReLU(**args), x, dtype, device)


@pytest.mark.parametrize("args", [dict(normalized_shape=5),
                                  dict(normalized_shape=[4, 5], eps=1e-5),
                                  dict(normalized_shape=(5,), elementwise_affine=False)])
def test_rms_norm_module(args, device):
    _state_matches(nn.RMSNorm(**args), torch.nn.RMSNorm(**args))
    x = np.random.default_rng(0).standard_normal((3, 4, 5))
    for dtype in DTYPES:
        ours, theirs = nn.RMSNorm(**args), torch.nn.RMSNorm(**args)
        if ours.weight is not None:     # not all ones, so a missing weight would show
            with torch.no_grad():
                theirs.weight.uniform_(0.5, 1.5)
        _compare_layer(ours, theirs, x, dtype, device)


INSTANCE = [("InstanceNorm1d", (2, 3, 7), dict()),
            ("InstanceNorm1d", (3, 7), dict(affine=True)),
            ("InstanceNorm2d", (2, 3, 4, 5), dict(affine=True, track_running_stats=True)),
            ("InstanceNorm2d", (3, 4, 5), dict(track_running_stats=True, momentum=None)),
            ("InstanceNorm1d", (2, 3, 6), dict(affine=True, bias=False, eps=1e-3))]


@pytest.mark.parametrize("cls, shape, args", INSTANCE)
def test_instance_norm_module(cls, shape, args, device):
    ours, theirs = getattr(nn, cls)(3, **args), getattr(torch.nn, cls)(3, **args)
    _state_matches(ours, theirs)
    if ours.weight is not None:
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
    x = np.random.default_rng(0).standard_normal(shape) * 2 + 1
    for step in range(2):       # training steps move the running stats (when tracked)
        _compare_layer(ours, theirs, x + step, np.float64, device)
        ours.to("cpu")
        _state_matches(ours, theirs)
    ours.eval(), theirs.eval()      # with tracked stats, eval normalises by them
    _compare_layer(ours, theirs, x - 1, np.float64, device)
    _compare_layer(ours, theirs, x, np.float32, device)


def test_instance_norm_functional_running_stats(device):
    rng = np.random.default_rng(0)
    x = make((4, 3, 6), device=device, requires_grad=False)
    stats = [rng.uniform(0.5, 1.5, 3) for _ in range(2)]
    rm, rv = (tl.tensor(s, device=device) for s in stats)
    rmt, rvt = (torch.from_numpy(s.copy()) for s in stats)
    xt = torch.from_numpy(to_numpy(x))
    assert_close(F.instance_norm(x, rm, rv, momentum=0.3),
                 TF.instance_norm(xt, rmt, rvt, momentum=0.3))
    assert_close(rm, rmt), assert_close(rv, rvt)
    assert_close(F.instance_norm(x, rm, rv, use_input_stats=False),
                 TF.instance_norm(xt, rmt, rvt, use_input_stats=False))


def test_dropout1d_zeroes_whole_channels(device):
    x = tl.ones(50, 8, 6, device=device, requires_grad=True)
    y = F.dropout1d(x * 1.0, 0.5)
    a = to_numpy(y)
    assert set(np.unique(a)) <= {0.0, 2.0}
    assert (a == a[..., :1]).all()          # one value per (sample, channel)
    assert 0.3 < (a[..., 0] == 0).mean() < 0.7
    y.sum().backward()
    assert_close(x.grad, a, np.float32)
    u = to_numpy(F.dropout1d(tl.ones(40, 6, device=device), 0.5))
    assert (u == u[:, :1]).all() and 0 < (u == 0).mean() < 1
    z = tl.ones(2, 3, 4, device=device)
    assert F.dropout1d(z, 0.5, training=False) is z and F.dropout1d(z, 0.0) is z
    assert (to_numpy(F.dropout1d(z, 1.0)) == 0).all()
    w = z * 1.0
    assert F.dropout1d(w, 0.5, inplace=True) is w


def test_dropout1d_module():
    m, mt = nn.Dropout1d(), torch.nn.Dropout1d()
    assert repr(m) == repr(mt) and repr(nn.Dropout1d(0.2, True)) == repr(
        torch.nn.Dropout1d(0.2, True))
    x = tl.ones(4, 3, 5)
    m.eval()
    assert m(x) is x
    m.train()
    a = to_numpy(m(x))
    assert (a == a[..., :1]).all()


def test_exports():
    for name in ["relu6", "hardtanh", "hardswish", "hardsigmoid", "mish", "glu", "logsigmoid",
                 "softsign", "tanhshrink", "threshold", "prelu", "selu", "celu", "softmin",
                 "normalize", "cosine_similarity", "pairwise_distance", "pixel_shuffle",
                 "pixel_unshuffle", "rms_norm", "instance_norm", "dropout1d"]:
        assert callable(getattr(F, name)), name
    for name in ["ReLU6", "Hardtanh", "Hardswish", "Hardsigmoid", "Mish", "GLU", "LogSigmoid",
                 "Softsign", "Tanhshrink", "Threshold", "PReLU", "SELU", "CELU", "Softmin",
                 "Softmax2d", "CosineSimilarity", "PairwiseDistance", "ZeroPad1d", "ZeroPad2d",
                 "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d",
                 "ReplicationPad1d", "ReplicationPad2d", "PixelShuffle", "PixelUnshuffle",
                 "RMSNorm", "InstanceNorm1d", "InstanceNorm2d", "Dropout1d", "Hardshrink",
                 "Softshrink"]:
        ours, theirs = getattr(nn, name), getattr(torch.nn, name)
        # each sits in the family file torch keeps it in: nn.modules.activation, .padding, ...
        family = theirs.__module__.rsplit(".", 1)[1]
        assert ours.__module__ == f"tinygrad_lite.nn.modules.{family}", name


# -- bad input ----------------------------------------------------------------------------------
BAD = [
    (lambda: F.glu(tl.zeros(2, 3)), ValueError, r"glu: .*\(2, 3\) float32 has size 3"),
    (lambda: F.glu(tl.tensor(1.0)), ValueError, "glu: does not support a 0-d"),
    (lambda: F.pixel_shuffle(tl.zeros(1, 6, 2, 2), 2), ValueError,
     r"pixel_shuffle: input \(1, 6, 2, 2\) float32 has 6 channels.*upscale_factor\^2 = 4"),
    (lambda: F.pixel_shuffle(tl.zeros(4, 2), 2), ValueError, "pixel_shuffle: .*3 dims"),
    (lambda: F.pixel_shuffle(tl.zeros(1, 4, 2, 2), 0), ValueError, "pixel_shuffle: upscale"),
    (lambda: F.pixel_unshuffle(tl.zeros(1, 1, 3, 4), 2), ValueError,
     r"pixel_unshuffle: input \(1, 1, 3, 4\) float32 has height 3"),
    (lambda: nn.PReLU(3)(tl.zeros(2, 4, 5)), ValueError,
     r"PReLU: num_parameters=3 does not match input \(2, 4, 5\) float32 with 4 channels"),
    (lambda: F.prelu(tl.zeros(5), tl.zeros(3)), ValueError, "prelu: weight .* 1 channels"),
    (lambda: F.prelu(tl.zeros(2, 3), tl.zeros(3, dtype=tl.float64)), TypeError,
     "prelu: weight"),
    (lambda: F.rms_norm(tl.zeros(2, 3), [4]), ValueError,
     r"rms_norm: input \(2, 3\) float32 does not end with normalized_shape \(4,\)"),
    (lambda: F.rms_norm(tl.zeros(2, 3, dtype=tl.int64), [3]), TypeError, "rms_norm: .*int64"),
    (lambda: F.rms_norm(tl.zeros(2, 3), [3], tl.zeros(2)), ValueError, "rms_norm: weight"),
    (lambda: F.instance_norm(tl.zeros(2, 3, 1)), ValueError,
     r"instance_norm: expected more than 1 spatial element.*\(2, 3, 1\)"),
    (lambda: F.instance_norm(tl.zeros(2, 3, 4), weight=tl.zeros(2)), ValueError,
     r"instance_norm: weight \(2,\) float32 should have shape \(3,\)"),
    (lambda: F.instance_norm(tl.zeros(2, 3, 4), use_input_stats=False), ValueError,
     "instance_norm: running_mean and running_var"),
    (lambda: nn.InstanceNorm1d(3)(tl.zeros(2, 3, 4, 5)), ValueError,
     r"InstanceNorm1d: expected 2D or 3D input \(got 4D input\)"),
    (lambda: nn.InstanceNorm2d(3, affine=True)(tl.zeros(2, 4, 5, 5)), ValueError,
     r"InstanceNorm2d: input \(2, 4, 5, 5\) float32 has 4 channels"),
    (lambda: F.dropout1d(tl.zeros(2, 3, 4, 5)), ValueError,
     r"dropout1d: expected a 2-D \(C, L\) or 3-D"),
    (lambda: F.dropout1d(tl.zeros(2, 3), 1.5), ValueError, "dropout1d: dropout probability"),
    (lambda: nn.Dropout1d(-0.1), ValueError, "Dropout1d"),
    (lambda: nn.ReflectionPad1d(2)(tl.zeros(2, 3, 4, 5)), ValueError,
     r"ReflectionPad1d: expected a 2D or 3D input, got \(2, 3, 4, 5\) float32"),
    (lambda: nn.ReflectionPad2d(4)(tl.zeros(1, 2, 3, 3)), ValueError, "pad: reflect padding"),
    (lambda: nn.ZeroPad2d((1, 2)), TypeError, "ZeroPad2d: padding must be an int or a tuple"),
    (lambda: nn.Softmax2d()(tl.zeros(2, 3)), ValueError, "Softmax2d: expected a 3D or 4D"),
    (lambda: F.cosine_similarity(tl.zeros(2, 3), tl.zeros(4, 3)), ValueError,
     r"cosine_similarity: x1 \(2, 3\) float32 and x2 \(4, 3\) float32 do not broadcast"),
    (lambda: F.cosine_similarity(tl.zeros(2, 3), tl.zeros(2, 3, dtype=tl.float64)), TypeError,
     "cosine_similarity: x2"),
    (lambda: F.pairwise_distance(tl.zeros(2, 3), tl.zeros(2, 4)), ValueError,
     "pairwise_distance: x1"),
    (lambda: F.normalize(tl.zeros(2, 3), p="2"), ValueError, "normalize: p must be"),
    (lambda: F.normalize(tl.zeros(2, 3), dim=2), IndexError, "normalize: dim 2"),
    (lambda: F.hardtanh(tl.zeros(2), 1.0, -1.0), ValueError, "hardtanh: min_val"),
    (lambda: nn.Hardtanh(1.0, -1.0), ValueError, "Hardtanh: max_val"),
    (lambda: F.celu(tl.zeros(2), 0.0), ValueError, "celu: alpha must not be 0"),
    (lambda: nn.PixelShuffle(0), ValueError, "PixelShuffle: upscale_factor"),
    (lambda: nn.PReLU(0), ValueError, "PReLU: num_parameters"),
    (lambda: F.mish([1.0]), TypeError, "mish: input must be a Tensor"),
]


@pytest.mark.parametrize("i", range(len(BAD)))
def test_bad_input_errors_name_the_op(i):
    call, exc, pattern = BAD[i]
    with pytest.raises(exc, match=pattern):
        call()


def test_instance_norm_warns_on_unused_num_features():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        y = nn.InstanceNorm1d(5)(tl.ones(2, 3, 4))
    assert y.shape == (2, 3, 4) and any("num_features" in str(x.message) for x in w)
