"""conv3d, max_pool3d, avg_pool3d and their modules against torch in float64 with random
upstream gradients (input, weight and bias), gradcheck and second derivatives."""
import numpy as np
import pytest
import torch

import tinygrad_lite as tl
from helpers import check_hvp_vs_torch, check_vs_torch, make, to_numpy
from helpers import functional_of as _F
from tinygrad_lite.autograd import gradcheck


@pytest.mark.filterwarnings("ignore:Using padding='same'")     # torch's own, about its copy
@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(stride=(1, 2, 1),
                                padding=(1, 0, 2), dilation=(2, 1, 1)),
                                dict(groups=2, padding="same"), dict(padding="valid")])
def test_conv3d(device, kw):
    c = 4 if kw.get("groups") else 3
    shapes = [(2, c, 5, 6, 4), (4, c // kw.get("groups", 1), 3, 2, 3), (4,)]
    check_vs_torch(lambda x, w, b: _F(x).conv3d(x, w, b, **kw), shapes=shapes, device=device)


def test_conv3d_unbatched_gradcheck_and_hvp(device):
    check_vs_torch(lambda x, w: _F(x).conv3d(x, w, padding=1), shapes=[(2, 3, 3, 3), (2, 2, 2,
                                                                        2, 2)], device=device)
    gradcheck(lambda x, w: tl.nn.functional.conv3d(x, w, stride=2),
              [make((1, 2, 3, 4, 3), device=device), make((2, 2, 2, 2, 2), device=device)])
    check_hvp_vs_torch(lambda x, w: _F(x).conv3d(x, w).tanh(), shapes=[(1, 1, 3, 3, 3),
                                                                      (1, 1, 2, 2, 2)],
                       device=device)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=(2, 3, 2), stride=1, dilation=(2, 1, 1)),
                                dict(kernel_size=3, stride=2, ceil_mode=True)])
def test_max_pool3d(device, kw):
    check_vs_torch(lambda x: _F(x).max_pool3d(x, **kw), shapes=[(2, 3, 5, 6, 5)],
                   device=device)
    ours = tl.nn.functional.max_pool3d(make((2, 3, 5, 6, 5), device=device), **kw,
                                       return_indices=True)
    want = torch.nn.functional.max_pool3d(torch.from_numpy(to_numpy(make((2, 3, 5, 6, 5)))),
                                          **kw, return_indices=True)
    np.testing.assert_array_equal(to_numpy(ours[1]), want[1].numpy())


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, padding=1,
                                     count_include_pad=False),
                                dict(kernel_size=(2, 3, 3), stride=2, padding=(1, 1, 0),
                                     ceil_mode=True),
                                dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                     count_include_pad=False),
                                dict(kernel_size=2, divisor_override=3)])
def test_avg_pool3d(device, kw):
    check_vs_torch(lambda x: _F(x).avg_pool3d(x, **kw), shapes=[(2, 3, 5, 6, 5)],
                   device=device)


def test_modules_match_torch(device):
    tl.manual_seed(0)
    ours = tl.nn.Conv3d(2, 4, 3, stride=(1, 2, 1), padding=1, padding_mode="reflect",
                        dtype=tl.float64, device=device)
    theirs = torch.nn.Conv3d(2, 4, 3, stride=(1, 2, 1), padding=1, padding_mode="reflect",
                             dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(to_numpy(ours.weight)))
        theirs.bias.copy_(torch.from_numpy(to_numpy(ours.bias)))
    x = make((1, 2, 4, 5, 4), device=device, requires_grad=False)
    y = ours(x)
    np.testing.assert_allclose(to_numpy(y), theirs(torch.from_numpy(to_numpy(x))).detach()
                               .numpy(), rtol=1e-10, atol=1e-12)
    assert repr(ours) == repr(theirs)
    for mod in ("MaxPool3d", "AvgPool3d"):
        out = getattr(tl.nn, mod)(2, stride=1)(x)
        want = getattr(torch.nn, mod)(2, stride=1)(torch.from_numpy(to_numpy(x)))
        np.testing.assert_allclose(to_numpy(out), want.numpy(), rtol=1e-12)


def test_errors(device):
    x = make((1, 2, 3, 3, 3), device=device)
    with pytest.raises(RuntimeError, match="conv3d: input .* smaller than the kernel"):
        tl.nn.functional.conv3d(x, make((1, 2, 4, 2, 2), device=device))
    with pytest.raises(ValueError, match="max_pool3d: expected"):
        tl.nn.functional.max_pool3d(make((2, 3, 3), device=device), 2)
