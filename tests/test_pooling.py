"""Pooling ops and layers against PyTorch: values, gradients, indices, ceil_mode and padding."""
import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn as nn
import tinygrad_lite.nn.functional as F
from tinygrad_lite.autograd import gradcheck, gradgradcheck

from helpers import assert_close, check_vs_torch, make, to_numpy, torch

TF = torch.nn.functional


def _distinct(shape, dtype=np.float64, seed=0, device="cpu"):
    """Values spaced at least 0.01 apart, so no window has a tie (a kink for the gradient)."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    a = (rng.permutation(n) * 0.01 - n * 0.005).reshape(shape).astype(dtype)
    return tl.tensor(a, requires_grad=True, device=device)   # a leaf on the device itself


MAX2D_GRID = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((1, 2, 10, 7), dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 1), dilation=(2, 1),
                         ceil_mode=True)),
    ((1, 2, 5, 5), dict(kernel_size=2, stride=2, ceil_mode=True)),    # last window half outside
    ((1, 2, 6, 6), dict(kernel_size=3, stride=1, padding=1)),          # overlapping windows
    ((1, 2, 7, 9), dict(kernel_size=2, stride=3, dilation=2, ceil_mode=True)),
]


@pytest.mark.parametrize("shape,kw", MAX2D_GRID)
def test_max_pool2d_values_grads_indices_match_torch(shape, kw, device):
    x = _distinct(shape, device=device)
    check_vs_torch(lambda a: F.max_pool2d(a, **kw), inputs=[x], device=device,
                   torch_fn=lambda a: TF.max_pool2d(a, **kw))
    _, idx = F.max_pool2d(x, return_indices=True, **kw)
    _, idx_t = TF.max_pool2d(torch.tensor(to_numpy(x)), return_indices=True, **kw)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(to_numpy(idx), idx_t.numpy())


@pytest.mark.parametrize("shape,kw", MAX2D_GRID[1:4])
def test_max_pool2d_float32(shape, kw):
    check_vs_torch(lambda a: F.max_pool2d(a, **kw), inputs=[_distinct(shape, np.float32)],
                   dtype=np.float32, torch_fn=lambda a: TF.max_pool2d(a, **kw))


def test_max_pool2d_ties_go_to_the_first_max_like_torch():
    a = np.zeros((1, 1, 4, 4))
    a[0, 0, 1, 1] = a[0, 0, 0, 1] = 1.0
    check_vs_torch(lambda x: F.max_pool2d(x, 2), inputs=[tl.tensor(a, requires_grad=True)],
                   torch_fn=lambda x: TF.max_pool2d(x, 2))
    check_vs_torch(lambda x: F.max_pool2d(x, 3, 1, 1), inputs=[tl.tensor(a, requires_grad=True)],
                   torch_fn=lambda x: TF.max_pool2d(x, 3, 1, 1))


def test_max_pool2d_padding_is_minus_infinity():
    a = -5.0 - np.arange(16.0).reshape(1, 1, 4, 4)
    y = F.max_pool2d(tl.tensor(a), 3, stride=2, padding=1, ceil_mode=True)
    yt = TF.max_pool2d(torch.tensor(a), 3, stride=2, padding=1, ceil_mode=True)
    assert_close(y, yt)
    assert np.all(to_numpy(y) <= -5.0)


def test_max_pool2d_nan_propagates():
    a = np.arange(16.0).reshape(1, 1, 4, 4)
    a[0, 0, 0, 0] = np.nan
    y, idx = F.max_pool2d(tl.tensor(a), 2, return_indices=True)
    yt, idxt = TF.max_pool2d(torch.tensor(a), 2, return_indices=True)
    np.testing.assert_array_equal(to_numpy(y), yt.numpy())
    np.testing.assert_array_equal(to_numpy(idx), idxt.numpy())


@pytest.mark.parametrize("kw", [dict(kernel_size=3), dict(kernel_size=3, stride=2, padding=1,
                                                          ceil_mode=True, dilation=2)])
def test_max_pool1d_matches_torch(kw):
    x = _distinct((2, 3, 12))
    check_vs_torch(lambda a: F.max_pool1d(a, **kw), inputs=[x],
                   torch_fn=lambda a: TF.max_pool1d(a, **kw))
    _, idx = F.max_pool1d(x, return_indices=True, **kw)
    _, idx_t = TF.max_pool1d(torch.tensor(to_numpy(x)), return_indices=True, **kw)
    np.testing.assert_array_equal(to_numpy(idx), idx_t.numpy())


AVG2D_GRID = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ((2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((2, 3, 9, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                        count_include_pad=False)),
    ((1, 2, 7, 10), dict(kernel_size=(2, 4), stride=(3, 3), ceil_mode=True)),
    ((1, 2, 7, 7), dict(kernel_size=3, stride=1, padding=1, divisor_override=5)),
]


@pytest.mark.parametrize("shape,kw", AVG2D_GRID)
def test_avg_pool2d_matches_torch(shape, kw, device):
    check_vs_torch(lambda a: F.avg_pool2d(a, **kw), shapes=[shape], device=device,
                   torch_fn=lambda a: TF.avg_pool2d(a, **kw))


@pytest.mark.parametrize("shape,kw", AVG2D_GRID[3:5])
def test_avg_pool2d_float32(shape, kw):
    check_vs_torch(lambda a: F.avg_pool2d(a, **kw), shapes=[shape], dtype=np.float32,
                   torch_fn=lambda a: TF.avg_pool2d(a, **kw))


@pytest.mark.parametrize("kw", [dict(kernel_size=3), dict(kernel_size=4, stride=3, padding=2,
                                                          ceil_mode=True,
                                                          count_include_pad=False)])
def test_avg_pool1d_matches_torch(kw):
    check_vs_torch(lambda a: F.avg_pool1d(a, **kw), shapes=[(2, 3, 13)],
                   torch_fn=lambda a: TF.avg_pool1d(a, **kw))


@pytest.mark.parametrize("shape,out", [((2, 3, 8, 6), (4, 3)), ((2, 3, 9, 7), (4, 3)),
                                       ((1, 2, 5, 11), (3, 4)), ((1, 2, 6, 6), 1),
                                       ((1, 2, 7, 5), (None, 2)), ((1, 2, 3, 3), (5, 4))])
def test_adaptive_pools_match_torch(shape, out, device):
    check_vs_torch(lambda a: F.adaptive_avg_pool2d(a, out), shapes=[shape], device=device,
                   torch_fn=lambda a: TF.adaptive_avg_pool2d(a, out))
    x = _distinct(shape, device=device)
    check_vs_torch(lambda a: F.adaptive_max_pool2d(a, out), inputs=[x], device=device,
                   torch_fn=lambda a: TF.adaptive_max_pool2d(a, out))
    _, idx = F.adaptive_max_pool2d(x, out, return_indices=True)
    _, idx_t = TF.adaptive_max_pool2d(torch.tensor(to_numpy(x)), out, return_indices=True)
    np.testing.assert_array_equal(to_numpy(idx), idx_t.numpy())


def test_adaptive_1d_pools_match_torch():
    check_vs_torch(lambda a: F.adaptive_avg_pool1d(a, 4), shapes=[(2, 3, 11)],
                   torch_fn=lambda a: TF.adaptive_avg_pool1d(a, 4))
    check_vs_torch(lambda a: F.adaptive_max_pool1d(a, 4), inputs=[_distinct((2, 3, 11))],
                   torch_fn=lambda a: TF.adaptive_max_pool1d(a, 4))


def test_pool_gradchecks_float64():
    x = _distinct((1, 2, 7, 6))
    assert gradcheck(lambda a: F.max_pool2d(a, 3, 2, 1, ceil_mode=True), (x,))
    assert gradcheck(lambda a: F.avg_pool2d(a, 3, 2, 1, ceil_mode=True,
                                            count_include_pad=False), (x,))
    assert gradcheck(lambda a: F.adaptive_avg_pool2d(a, (3, 4)), (x,))


def test_pool_double_backward():
    x = _distinct((1, 2, 6, 5))
    assert gradgradcheck(lambda a: F.max_pool2d(a, 2, 1) ** 2, (x,))
    assert gradgradcheck(lambda a: F.avg_pool2d(a, 3, 2, 1) ** 2, (x,))


# -- layers ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("ours,theirs,shape", [
    (nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True),
     (2, 3, 9, 8)),
    (nn.MaxPool1d(2), torch.nn.MaxPool1d(2), (2, 3, 9)),
    (nn.AvgPool2d(3, 2, 1, count_include_pad=False), torch.nn.AvgPool2d(3, 2, 1,
                                                                       count_include_pad=False),
     (2, 3, 9, 8)),
    (nn.AvgPool1d(3, 2), torch.nn.AvgPool1d(3, 2), (2, 3, 9)),
    (nn.AdaptiveAvgPool2d((3, 2)), torch.nn.AdaptiveAvgPool2d((3, 2)), (2, 3, 7, 5)),
    (nn.AdaptiveMaxPool2d(3), torch.nn.AdaptiveMaxPool2d(3), (2, 3, 7, 5)),
])
def test_pool_layers_match_torch(ours, theirs, shape):
    assert repr(ours) == repr(theirs)
    x = _distinct(shape)
    check_vs_torch(ours, inputs=[x], torch_fn=theirs)


def test_max_pool_layer_return_indices():
    x = _distinct((1, 2, 6, 6))
    y, idx = nn.MaxPool2d(2, return_indices=True)(x)
    yt, idxt = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(to_numpy(x)))
    assert_close(y, yt)
    np.testing.assert_array_equal(to_numpy(idx), idxt.numpy())


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("call,exc,words", [
    (lambda: F.max_pool2d(make((1, 2, 4, 4)), 2, padding=2), ValueError,
     ["max_pool2d", "half of kernel_size"]),
    (lambda: F.max_pool2d(make((1, 2, 2, 2)), 3), RuntimeError, ["max_pool2d", "(1, 2, 2, 2)"]),
    (lambda: F.max_pool2d(make((4, 4)), 2), ValueError, ["max_pool2d", "(4, 4) float64"]),
    (lambda: F.max_pool2d(tl.tensor(np.ones((1, 1, 4, 4), np.int64)), 2), TypeError,
     ["max_pool2d", "int64"]),
    (lambda: F.avg_pool2d(make((1, 2, 4, 4)), 0), ValueError, ["avg_pool2d", "kernel_size"]),
    (lambda: F.avg_pool2d(make((1, 2, 4, 4)), (2, 2, 2)), ValueError, ["avg_pool2d", "2 values"]),
    (lambda: F.adaptive_avg_pool2d(make((1, 2, 4, 4)), 0), ValueError,
     ["adaptive_avg_pool2d", "output_size"]),
    (lambda: F.max_pool1d(make((1, 2, 4)), 2.5), TypeError, ["max_pool1d", "kernel_size"]),
])
def test_bad_input_messages(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for w in words:
        assert w in str(info.value), (w, str(info.value))
