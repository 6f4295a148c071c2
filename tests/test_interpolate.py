"""interpolate and Upsample against PyTorch: every mode, align_corners, size and scale_factor."""
import math

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn as nn
import tinygrad_lite.nn.functional as F
from tinygrad_lite.autograd import gradcheck, gradgradcheck

from helpers import assert_close, check_hvp_vs_torch, check_vs_torch, make, to_numpy, torch

TF = torch.nn.functional

SHAPES = {1: (2, 3, 7), 2: (2, 3, 5, 7), 3: (1, 2, 3, 4, 5)}
# how the output size is asked for, per number of spatial dims: sizes the input does not divide,
# downsampling, a bare int, non-integer factors up and down, an exact 2, one factor per axis,
# and a factor whose size is recomputed (so the coordinate map uses in/out, not 1/factor)
SIZINGS = {
    "size_up": {1: dict(size=11), 2: dict(size=(8, 12)), 3: dict(size=(5, 7, 8))},
    "size_down": {1: dict(size=3), 2: dict(size=(3, 4)), 3: dict(size=(2, 3, 3))},
    "size_int": {d: dict(size=6) for d in (1, 2, 3)},
    "scale_1.7": {d: dict(scale_factor=1.7) for d in (1, 2, 3)},
    "scale_0.6": {d: dict(scale_factor=0.6) for d in (1, 2, 3)},
    "scale_2": {d: dict(scale_factor=2) for d in (1, 2, 3)},
    "scale_per_axis": {1: dict(scale_factor=(2.5,)), 2: dict(scale_factor=(1.7, 0.6)),
                       3: dict(scale_factor=(2.5, 0.6, 1.7))},
    "recompute_1.7": {d: dict(scale_factor=1.7, recompute_scale_factor=True) for d in (1, 2, 3)},
}
# (mode, spatial dims, align_corners)
MODES = ([(m, d, None) for m in ("nearest", "nearest-exact", "area") for d in (1, 2, 3)]
         + [(m, d, a) for m, d in (("linear", 1), ("bilinear", 2), ("bicubic", 2),
                                   ("trilinear", 3)) for a in (False, True)])
GRID = [pytest.param(m, d, a, s, id=f"{m}-{d}d-ac{a}-{s}") for m, d, a in MODES for s in SIZINGS]


def _resize(mode, align_corners, kw):
    def ours(x):
        return F.interpolate(x, mode=mode, align_corners=align_corners, **kw)

    def theirs(x):
        return TF.interpolate(x, mode=mode, align_corners=align_corners, **kw)
    return ours, theirs


@pytest.mark.parametrize("mode,dim,align,sizing", GRID)
def test_interpolate_matches_torch_float64(mode, dim, align, sizing, device):
    ours, theirs = _resize(mode, align, SIZINGS[sizing][dim])
    check_vs_torch(ours, shapes=[SHAPES[dim]], torch_fn=theirs, device=device)


@pytest.mark.parametrize("mode,dim,align,sizing", [
    p for p in GRID if p.values[3] in ("size_up", "scale_1.7", "scale_0.6")])
def test_interpolate_matches_torch_float32(mode, dim, align, sizing, device):
    ours, theirs = _resize(mode, align, SIZINGS[sizing][dim])
    out = check_vs_torch(ours, shapes=[SHAPES[dim]], torch_fn=theirs, dtype=np.float32,
                         device=device)
    assert out.dtype == np.float32


@pytest.mark.parametrize("mode,align", [("nearest", None), ("nearest-exact", None),
                                        ("bilinear", False), ("bilinear", True),
                                        ("bicubic", False), ("area", None)])
def test_interpolate_larger_images_match_torch(mode, align):
    """Sizes where float32 rounding of the source coordinate decides the nearest index."""
    for kw in (dict(size=(37, 95)), dict(scale_factor=(2.3, 0.45)), dict(size=(13, 200))):
        ours, theirs = _resize(mode, align, kw)
        check_vs_torch(ours, shapes=[(1, 2, 29, 61)], torch_fn=theirs, dtype=np.float32)


@pytest.mark.parametrize("mode,dim", [("nearest", 1), ("nearest", 3)])
def test_nearest_backward_is_the_adjoint_where_torch_shortcuts(mode, dim):
    """torch's 1-d/3-d nearest forward maps with 1/scale_factor, but its backward shortcuts
    out == in to the identity (and out == 2*in to o // 2): not the adjoint of its own forward.
    We match its forward and keep the gradient the true adjoint."""
    x = make(SHAPES[dim])
    for factor in (1.05, 2.1):
        ours, theirs = _resize(mode, None, dict(scale_factor=factor))
        assert_close(ours(x), theirs(torch.tensor(to_numpy(x))))
        gradcheck(ours, [x])


@pytest.mark.parametrize("mode,dim,align", [(m, d, a) for m, d, a in MODES
                                            if a is not True or m == "bilinear"])
def test_interpolate_gradcheck(mode, dim, align):
    kw = dict(scale_factor=1.7) if dim < 3 else dict(size=(2, 5, 3))
    x = make({1: (1, 2, 5), 2: (1, 2, 4, 3), 3: (1, 1, 3, 3, 4)}[dim])
    gradcheck(lambda t: F.interpolate(t, mode=mode, align_corners=align, **kw), [x])


@pytest.mark.parametrize("mode,align", [("bilinear", False), ("bilinear", True),
                                        ("bicubic", False), ("nearest", None)])
def test_interpolate_double_backward(mode, align):
    # squared, so the first gradient depends on x and the second goes through both passes
    def fn(t):
        return F.interpolate(t, size=(5, 3), mode=mode, align_corners=align) ** 2

    gradgradcheck(fn, [make((1, 2, 3, 4))])

    def fn_t(t):
        return TF.interpolate(t, size=(5, 3), mode=mode, align_corners=align) ** 2

    check_hvp_vs_torch(fn, shapes=[(1, 2, 3, 4)], torch_fn=fn_t)


def test_nan_stays_local_like_torch():
    a = np.arange(64.0).reshape(1, 1, 8, 8)
    a[0, 0, 2, 5] = np.nan
    for mode, align in (("bilinear", False), ("nearest", None), ("bicubic", True)):
        y = F.interpolate(tl.tensor(a), size=(13, 11), mode=mode, align_corners=align)
        yt = TF.interpolate(torch.tensor(a), size=(13, 11), mode=mode, align_corners=align)
        np.testing.assert_allclose(to_numpy(y), yt.numpy(), rtol=1e-12, equal_nan=True)
        assert 0 < np.isnan(to_numpy(y)).sum() < 40


def test_same_size_returns_a_new_tensor_that_carries_grad():
    x = make((1, 2, 4, 4))
    y = F.interpolate(x, size=(4, 4), mode="bilinear")
    assert y is not x
    y.sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), np.ones((1, 2, 4, 4)))


def test_nearest_takes_integer_input():
    a = np.arange(24, dtype=np.uint8).reshape(1, 2, 3, 4)
    y = F.interpolate(tl.tensor(a), scale_factor=1.5)
    assert y.dtype == np.uint8
    np.testing.assert_array_equal(to_numpy(y), TF.interpolate(torch.tensor(a),
                                                              scale_factor=1.5).numpy())


# -- Upsample --------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kw", [
    ("Upsample", dict(scale_factor=2)),
    ("Upsample", dict(size=(3, 4), mode="bilinear")),
    ("Upsample", dict(size=[9, 5], mode="bicubic", align_corners=True)),
    ("Upsample", dict(scale_factor=(1.7, 0.6), mode="nearest-exact")),
    ("Upsample", dict(scale_factor=1.7, mode="bilinear", recompute_scale_factor=True)),
    ("UpsamplingNearest2d", dict(size=(6, 6))),
    ("UpsamplingBilinear2d", dict(scale_factor=1.5)),
])
def test_upsample_module_repr_and_parity(cls, kw, device):
    ours, theirs = getattr(nn, cls)(**kw), getattr(torch.nn, cls)(**kw)
    assert repr(ours) == repr(theirs)
    check_vs_torch(ours, shapes=[(2, 3, 5, 7)], torch_fn=theirs, device=device)


def test_upsample_in_a_sequential_trains():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Upsample(scale_factor=2,
                                                                      mode="bilinear"))
    y = model(make((1, 1, 4, 4), np.float32, requires_grad=False))
    assert tuple(y.shape) == (1, 2, 8, 8)
    y.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


# -- bad input -------------------------------------------------------------------------------------
BAD = [
    ((2, 3, 5), dict(size=4, mode="bilinear"), ValueError, ["interpolate", "(2, 3, 5)",
                                                            "bilinear", "4-D"]),
    ((2, 3, 5, 5), dict(size=4, mode="linear"), ValueError, ["(2, 3, 5, 5)", "linear", "3-D"]),
    ((2, 3, 5, 5), dict(size=4, mode="trilinear"), ValueError, ["(2, 3, 5, 5)", "5-D"]),
    ((3, 5), dict(size=4), ValueError, ["interpolate", "(3, 5)", "3-D, 4-D or 5-D"]),
    ((2, 3, 5, 5), dict(size=4, scale_factor=2.0), ValueError, ["only one of", "size=4",
                                                                "scale_factor=2.0"]),
    ((2, 3, 5, 5), dict(), ValueError, ["either size or scale_factor"]),
    ((2, 3, 5, 5), dict(size=(4, 0)), ValueError, ["size must be positive", "(4, 0)"]),
    ((2, 3, 5, 5), dict(size=-3), ValueError, ["size must be positive", "-3"]),
    ((2, 3, 5, 5), dict(size=(4, 4, 4)), ValueError, ["(4, 4, 4)", "2 values", "(2, 3, 5, 5)"]),
    ((2, 3, 5, 5), dict(size=2.5), TypeError, ["size must be an int", "2.5"]),
    ((2, 3, 5, 5), dict(scale_factor=0.0), ValueError, ["scale_factor", "positive", "0.0"]),
    ((2, 3, 5, 5), dict(scale_factor=-2.0), ValueError, ["scale_factor", "-2.0"]),
    ((2, 3, 5, 5), dict(scale_factor=math.nan), ValueError, ["scale_factor", "nan"]),
    ((2, 3, 5, 5), dict(scale_factor=0.1), ValueError, ["(2, 3, 5, 5)", "empty output",
                                                        "0.1"]),
    ((2, 3, 5, 5), dict(size=4, align_corners=True), ValueError, ["align_corners=True",
                                                                  "'nearest'"]),
    ((2, 3, 5, 5), dict(size=4, mode="area", align_corners=False), ValueError,
     ["align_corners=False", "'area'"]),
    ((2, 3, 5, 5), dict(size=4, mode="cubic"), ValueError, ["mode", "'cubic'", "bilinear"]),
    ((2, 3, 5, 5), dict(size=4, recompute_scale_factor=True), ValueError,
     ["recompute_scale_factor", "size=4"]),
    ((2, 3, 0, 5), dict(size=4), ValueError, ["(2, 3, 0, 5)", "empty"]),
    ((2, 3, 5, 5), dict(size=4, mode="bilinear", antialias=True), NotImplementedError,
     ["antialias", "bilinear"]),
    ((2, 3, 5), dict(size=4, antialias=True), ValueError, ["antialias", "'nearest'", "4-D"]),
]


@pytest.mark.parametrize("shape,kw,exc,parts", BAD)
def test_interpolate_bad_input_says_what_is_wrong(shape, kw, exc, parts):
    x = tl.tensor(np.zeros(shape, dtype=np.float32))
    with pytest.raises(exc) as info:
        F.interpolate(x, **kw)
    for p in parts:
        assert p in str(info.value), (p, str(info.value))


def test_interpolate_rejects_non_tensors_and_integer_input_for_linear_modes():
    with pytest.raises(TypeError, match="interpolate: input must be a Tensor"):
        F.interpolate(np.zeros((1, 1, 4)), size=3)
    with pytest.raises(TypeError, match="bilinear.*floating-point.*int64"):
        F.interpolate(tl.tensor(np.zeros((1, 1, 4, 4), dtype=np.int64)), size=3, mode="bilinear")


@pytest.mark.parametrize("kw,exc,part", [
    (dict(), ValueError, "Upsample: either size or scale_factor"),
    (dict(size=3, scale_factor=2), ValueError, "Upsample: only one of"),
    (dict(size=0), ValueError, "Upsample: size must be positive"),
    (dict(scale_factor=2, mode="nearest", align_corners=False), ValueError,
     "Upsample: align_corners=False"),
    (dict(scale_factor=2, mode="lanczos"), ValueError, "Upsample: mode must be one of"),
])
def test_upsample_checks_its_arguments_when_built(kw, exc, part):
    with pytest.raises(exc, match=part.replace("(", r"\(")):
        nn.Upsample(**kw)
