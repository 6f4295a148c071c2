"""Convolution ops and layers against PyTorch, finite differences and the loop reference."""
import math

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn as nn
import tinygrad_lite.nn.functional as F
from tinygrad_lite.autograd import gradcheck, gradgradcheck
from tinygrad_lite.ops import conv_ref

from helpers import assert_close, check_vs_torch, make, torch

TF = torch.nn.functional
pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")

CONV2D_GRID = [
    # x shape, w shape, kwargs
    ((2, 3, 7, 7), (4, 3, 3, 3), dict()),
    ((2, 3, 8, 7), (4, 3, 3, 3), dict(stride=2, padding=1)),         # stride does not divide
    ((2, 4, 9, 10), (6, 2, 3, 2), dict(stride=(2, 3), padding=(1, 0), dilation=(1, 2), groups=2)),
    ((1, 4, 9, 9), (4, 1, 3, 3), dict(padding=1, groups=4)),           # depthwise
    ((2, 4, 10, 9), (8, 1, 3, 3), dict(stride=(3, 2), padding=(2, 1), dilation=(2, 1), groups=4)),
    ((2, 3, 6, 8), (5, 3, 1, 1), dict()),                               # 1x1
    ((2, 3, 7, 8), (4, 3, 4, 2), dict(padding="same", dilation=(1, 2))),  # even kernel: uneven pad
    ((2, 3, 7, 8), (4, 3, 3, 3), dict(padding="same", dilation=2)),
    ((2, 3, 7, 8), (4, 3, 3, 2), dict(padding="valid", stride=2)),
    ((1, 2, 5, 5), (3, 2, 5, 5), dict()),                               # output 1x1
    # stride-1 outputs above ops.conv.SMALL_PLANE pixels: the flat-canvas data gradient
    ((1, 2, 17, 18), (3, 2, 3, 3), dict(padding=1)),
    ((1, 4, 18, 17), (4, 2, 3, 2), dict(padding=(2, 1), dilation=(2, 1), groups=2)),
    ((2, 3, 17, 16), (2, 3, 4, 2), dict(padding="same")),
]


@pytest.mark.parametrize("xs,ws,kw", CONV2D_GRID)
def test_conv2d_matches_torch_float64(xs, ws, kw, device):
    check_vs_torch(lambda x, w, b: F.conv2d(x, w, b, **kw),
                   shapes=[xs, ws, (ws[0],)], device=device,
                   torch_fn=lambda x, w, b: TF.conv2d(x, w, b, **kw))


@pytest.mark.parametrize("xs,ws,kw", CONV2D_GRID[1:5])
def test_conv2d_matches_torch_float32(xs, ws, kw, device):
    check_vs_torch(lambda x, w: F.conv2d(x, w, **kw), shapes=[xs, ws], dtype=np.float32,
                   device=device, torch_fn=lambda x, w: TF.conv2d(x, w, **kw))


def test_conv2d_float32_stays_float32():
    x, w = make((2, 3, 6, 6), np.float32), make((4, 3, 3, 3), np.float32)
    y = F.conv2d(x, w, padding=1)
    y.backward(tl.ones(y.shape))
    assert y.dtype == x.grad.dtype == w.grad.dtype == np.float32


def test_conv2d_matches_loop_reference():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 4, 9, 8)), rng.standard_normal((6, 2, 3, 2))
    kw = dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2)
    ours = F.conv2d(tl.tensor(x), tl.tensor(w), **kw)
    assert_close(ours, conv_ref.conv2d_reference_forward(x, w, **kw))


def test_conv2d_unbatched_input():
    check_vs_torch(lambda x, w: F.conv2d(x, w, padding=1), shapes=[(3, 6, 5), (2, 3, 3, 3)],
                   torch_fn=lambda x, w: TF.conv2d(x, w, padding=1))


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=2, dilation=2),
                                dict(padding="same", groups=2), dict(stride=3)])
def test_conv1d_matches_torch(kw, device):
    check_vs_torch(lambda x, w, b: F.conv1d(x, w, b, **kw), shapes=[(2, 4, 13), (6, 4 // kw.get(
        "groups", 1), 4), (6,)], device=device,
        torch_fn=lambda x, w, b: TF.conv1d(x, w, b, **kw))


CONVT_GRID = [
    ((2, 4, 5, 6), (4, 3, 3, 3), dict()),
    ((2, 4, 5, 6), (4, 3, 3, 2), dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2))),
    ((2, 4, 5, 6), (4, 3, 3, 3), dict(stride=2, padding=1, groups=2, dilation=2)),
    ((2, 4, 5, 6), (4, 3, 3, 3), dict(output_padding=1, dilation=2)),  # output_padding < dilation
    ((1, 6, 4, 4), (6, 1, 2, 2), dict(stride=2, groups=6)),
]


@pytest.mark.parametrize("xs,ws,kw", CONVT_GRID)
def test_conv_transpose2d_matches_torch(xs, ws, kw, device):
    g = kw.get("groups", 1)
    check_vs_torch(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw),
                   shapes=[xs, ws, (ws[1] * g,)], device=device,
                   torch_fn=lambda x, w, b: TF.conv_transpose2d(x, w, b, **kw))


def test_conv_transpose1d_matches_torch():
    kw = dict(stride=3, padding=1, output_padding=2)
    check_vs_torch(lambda x, w: F.conv_transpose1d(x, w, **kw), shapes=[(2, 3, 7), (3, 2, 4)],
                   torch_fn=lambda x, w: TF.conv_transpose1d(x, w, **kw))


def test_conv2d_gradcheck_float64():
    rng = np.random.default_rng(3)
    x = tl.tensor(rng.standard_normal((1, 2, 5, 6)), requires_grad=True)
    w = tl.tensor(rng.standard_normal((4, 1, 3, 2)), requires_grad=True)
    assert gradcheck(lambda a, b: F.conv2d(a, b, stride=2, padding=1, dilation=(1, 2), groups=2),
                     (x, w))


def test_conv_transpose2d_gradcheck_float64():
    rng = np.random.default_rng(4)
    x = tl.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    w = tl.tensor(rng.standard_normal((2, 3, 2, 3)), requires_grad=True)
    assert gradcheck(lambda a, b: F.conv_transpose2d(a, b, stride=2, output_padding=1), (x, w))


def test_conv2d_double_backward_gradgradcheck():
    rng = np.random.default_rng(5)
    x = tl.tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True)
    w = tl.tensor(rng.standard_normal((2, 2, 3, 3)), requires_grad=True)
    assert gradgradcheck(lambda a, b: F.conv2d(a, b, stride=2, padding=1), (x, w))


def test_conv2d_double_backward_matches_torch():
    rng = np.random.default_rng(6)
    x0, w0 = rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((3, 2, 3, 3))
    g0 = rng.standard_normal((2, 3, 2, 2))
    x, w = tl.tensor(x0, requires_grad=True), tl.tensor(w0, requires_grad=True)
    xt, wt = torch.tensor(x0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    gx, gw = tl.autograd.grad((F.conv2d(x, w, stride=2) * tl.tensor(g0)).sum(), [x, w],
                              create_graph=True)
    gxt, gwt = torch.autograd.grad((TF.conv2d(xt, wt, stride=2) * torch.tensor(g0)).sum(),
                                   [xt, wt], create_graph=True)
    ((gx * gx).sum() + (gw * gw * gw).sum()).backward()
    ((gxt * gxt).sum() + (gwt * gwt * gwt).sum()).backward()
    assert_close(x.grad, xt.grad)
    assert_close(w.grad, wt.grad)


def test_unfold_and_fold_match_torch():
    kw = dict(kernel_size=(3, 2), padding=1, stride=2, dilation=(1, 2))
    check_vs_torch(lambda x: F.unfold(x, **kw), shapes=[(2, 3, 8, 7)],
                   torch_fn=lambda x: TF.unfold(x, **kw))
    cols = F.unfold(make((2, 3, 8, 7), requires_grad=False), **kw)
    check_vs_torch(lambda c: F.fold(c, (8, 7), **kw), shapes=[tuple(cols.shape)],
                   torch_fn=lambda c: TF.fold(c, (8, 7), **kw))


# -- layers ----------------------------------------------------------------------------------------
def _compare_layer(ours, theirs, x_shape, dtype=np.float64, seed=0, **call):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    if dtype == np.float64:
        ours.double()
        theirs.double()
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(x_shape).astype(dtype)
    x, xt = tl.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    y, yt = ours(x, **call), theirs(xt, **call)
    assert_close(y, yt, dtype)
    g = rng.standard_normal(yt.shape).astype(dtype)
    (y * tl.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()
    assert_close(x.grad, xt.grad, dtype)
    params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        assert_close(params[name].grad, p.grad, dtype, msg=name)


@pytest.mark.parametrize("args,kw,x_shape", [
    ((3, 6, 3), dict(padding=1), (2, 3, 8, 8)),
    ((4, 6, (3, 2)), dict(stride=2, dilation=(2, 1), groups=2, bias=False), (2, 4, 9, 7)),
    ((3, 4, 4), dict(padding="same"), (1, 3, 6, 6)),
    ((3, 4, 3), dict(padding=1, padding_mode="reflect"), (1, 3, 6, 5)),
    ((3, 4, 3), dict(padding=(1, 2), padding_mode="circular"), (1, 3, 6, 5)),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv2d_layer_matches_torch(args, kw, x_shape, dtype):
    torch.manual_seed(0)
    _compare_layer(nn.Conv2d(*args, **kw), torch.nn.Conv2d(*args, **kw), x_shape, dtype)


def test_conv1d_layer_matches_torch():
    torch.manual_seed(0)
    kw = dict(stride=2, padding=1, dilation=2, groups=2)
    _compare_layer(nn.Conv1d(4, 6, 3, **kw), torch.nn.Conv1d(4, 6, 3, **kw), (2, 4, 15))


@pytest.mark.parametrize("kw", [dict(stride=2, padding=1, output_padding=1),
                                dict(stride=(2, 1), groups=2, dilation=2, bias=False)])
def test_conv_transpose2d_layer_matches_torch(kw):
    torch.manual_seed(0)
    _compare_layer(nn.ConvTranspose2d(4, 6, 3, **kw), torch.nn.ConvTranspose2d(4, 6, 3, **kw),
                   (2, 4, 5, 6))


def test_conv_transpose2d_output_size_argument():
    torch.manual_seed(0)
    _compare_layer(nn.ConvTranspose2d(2, 3, 3, stride=2), torch.nn.ConvTranspose2d(2, 3, 3,
                   stride=2), (1, 2, 4, 4), output_size=(10, 9))


@pytest.mark.parametrize("ours,theirs", [
    (lambda: nn.Conv2d(4, 8, 3), lambda: torch.nn.Conv2d(4, 8, 3)),
    (lambda: nn.Conv2d(4, 8, (3, 2), stride=2, padding=(1, 0), dilation=2,
                       groups=2, bias=False, padding_mode="reflect"),
     lambda: torch.nn.Conv2d(4, 8, (3, 2), stride=2, padding=(1, 0), dilation=2, groups=2,
                             bias=False, padding_mode="reflect")),
    (lambda: nn.Conv2d(4, 8, 3, padding="same"), lambda: torch.nn.Conv2d(4, 8, 3, padding="same")),
    (lambda: nn.Conv1d(4, 8, 5, stride=2), lambda: torch.nn.Conv1d(4, 8, 5, stride=2)),
    (lambda: nn.ConvTranspose2d(4, 8, 3, stride=2, output_padding=1, groups=2),
     lambda: torch.nn.ConvTranspose2d(4, 8, 3, stride=2, output_padding=1, groups=2)),
])
def test_layer_parameters_and_repr_match_torch(ours, theirs):
    a, b = ours(), theirs()
    assert repr(a) == repr(b)
    ours_p = dict(a.named_parameters())
    assert list(ours_p) == [k for k, _ in b.named_parameters()]
    for name, p in b.named_parameters():
        assert tuple(ours_p[name].shape) == tuple(p.shape), name
        assert ours_p[name].dtype == np.float32


def test_default_init_bounds_follow_fan_in():
    tl.manual_seed(0)
    for layer, fan_in in [(nn.Conv2d(16, 32, 3), 16 * 9), (nn.Conv2d(16, 32, 3, groups=4), 4 * 9),
                          (nn.ConvTranspose2d(16, 8, 4), 8 * 16), (nn.Conv1d(5, 7, 3), 15)]:
        bound = 1 / math.sqrt(fan_in)
        w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
        assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
        # a uniform draw of this many values nearly fills [-bound, bound]
        assert np.abs(w).max() > 0.9 * bound
        assert abs(w.std() - bound / math.sqrt(3)) < 0.15 * bound


def test_conv_layer_trains_a_step():
    tl.manual_seed(0)
    layer = nn.Conv2d(2, 3, 3, padding=1)
    x = make((4, 2, 6, 6), np.float32, requires_grad=False)
    before = layer.weight.detach().numpy().copy()
    loss = (layer(x) ** 2).mean()
    loss.backward()
    layer.weight.data -= 0.1 * layer.weight.grad.data
    assert not np.allclose(before, layer.weight.detach().numpy())
    assert layer.bias.grad.shape == (3,)


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("call,exc,words", [
    (lambda: F.conv2d(make((2, 3, 8, 8), np.float32), make((4, 2, 3, 3), np.float32)),
     ValueError, ["conv2d", "(2, 3, 8, 8) float32", "3 channels", "(4, 2, 3, 3)", "groups=1"]),
    (lambda: F.conv2d(make((2, 4, 8, 8)), make((6, 2, 3, 3)), groups=3),
     ValueError, ["conv2d", "groups=3"]),
    (lambda: F.conv2d(make((2, 3, 8, 8)), make((4, 3, 3))), ValueError, ["conv2d", "4-D"]),
    (lambda: F.conv2d(make((8, 8)), make((4, 3, 3, 3))), ValueError, ["conv2d", "(8, 8)"]),
    (lambda: F.conv2d(make((2, 3, 8, 8), np.float32), make((4, 3, 3, 3), np.float64)),
     TypeError, ["conv2d", "float32", "float64"]),
    (lambda: F.conv2d(make((1, 3, 2, 2)), make((4, 3, 3, 3))), RuntimeError,
     ["conv2d", "smaller than the kernel"]),
    (lambda: F.conv2d(make((1, 3, 8, 8)), make((4, 3, 3, 3)), stride=2, padding="same"),
     ValueError, ["conv2d", "same", "strided"]),
    (lambda: F.conv2d(make((1, 3, 8, 8)), make((4, 3, 3, 3)), padding="full"),
     ValueError, ["conv2d", "full"]),
    (lambda: F.conv2d(make((1, 3, 8, 8)), make((4, 3, 3, 3)), stride=0), ValueError,
     ["conv2d", "stride"]),
    (lambda: F.conv2d(make((1, 3, 8, 8)), make((4, 3, 3, 3)), make((3,))), ValueError,
     ["conv2d", "bias", "(4,)"]),
    (lambda: F.conv2d(make((1, 3, 8, 8)), [[1.0]]), TypeError, ["conv2d", "weight"]),
    (lambda: F.conv_transpose2d(make((1, 3, 4, 4)), make((3, 2, 3, 3)), stride=2,
                                output_padding=2), ValueError, ["conv_transpose2d",
                                                                "output_padding"]),
    (lambda: F.conv_transpose2d(make((1, 4, 4, 4)), make((3, 2, 3, 3))), ValueError,
     ["conv_transpose2d", "4 channels"]),
    (lambda: nn.Conv2d(4, 6, 3, groups=4), ValueError, ["Conv2d", "groups=4"]),
    (lambda: nn.Conv2d(4, 6, 3, padding_mode="mirror"), ValueError, ["Conv2d", "mirror"]),
])
def test_bad_input_messages(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for w in words:
        assert w in str(info.value), (w, str(info.value))
