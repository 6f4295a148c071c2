"""F.affine_grid and F.grid_sample against torch in float64: every mode, padding mode and
align_corners, with random upstream gradients to the input, the grid and theta, gradcheck,
and second derivatives."""
import numpy as np
import pytest

import tinygrad_lite as tl
from helpers import check_hvp_vs_torch, check_vs_torch, make
from helpers import functional_of as _F
from tinygrad_lite.autograd import gradcheck


@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (1, 2, 3, 4, 2)])
def test_affine_grid(device, size, align):
    k = len(size) - 2
    check_vs_torch(lambda t: _F(t).affine_grid(t, size, align_corners=align),
                   shapes=[(size[0], k, k + 1)], device=device)


@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_grid_sample_2d(device, mode, padding, align):
    # grid points reach past [-1, 1] so every padding mode is exercised
    def fn(x, g):
        return _F(x).grid_sample(x, g, mode=mode, padding_mode=padding, align_corners=align)
    rng = np.random.default_rng(1)
    x = make((2, 3, 4, 5), device=device, rng=rng)
    g = make((2, 3, 6, 2), device=device, low=-1.4, high=1.4, rng=rng)
    check_vs_torch(fn, inputs=[x, g], grad_inputs=[0, 1] if mode != "nearest" else [0])


@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_grid_sample_3d(device, mode, padding):
    def fn(x, g):
        return _F(x).grid_sample(x, g, mode=mode, padding_mode=padding, align_corners=False)
    rng = np.random.default_rng(2)
    x = make((2, 2, 3, 4, 5), device=device, rng=rng)
    g = make((2, 2, 3, 4, 3), device=device, low=-1.3, high=1.3, rng=rng)
    check_vs_torch(fn, inputs=[x, g], grad_inputs=[0, 1] if mode != "nearest" else [0])


def test_spatial_transformer_gradcheck_and_second_derivative(device):
    def stn(x, theta):
        grid = tl.nn.functional.affine_grid(theta, tuple(x.shape), align_corners=False)
        return tl.nn.functional.grid_sample(x, grid, align_corners=False)
    rng = np.random.default_rng(3)
    x = make((1, 2, 3, 4), device=device, rng=rng)
    theta = make((1, 2, 3), device=device, low=-0.8, high=0.8, rng=rng)
    gradcheck(stn, [x, theta])

    def bilinear(x, g):
        return _F(x).grid_sample(x, g, mode="bilinear", padding_mode="border",
                                 align_corners=True)
    check_hvp_vs_torch(bilinear, shapes=[(1, 2, 3, 4), (1, 2, 2, 2)], low=-0.9, high=0.9,
                       device=device)


def test_grid_sample_errors(device):
    x = make((1, 2, 3, 4), device=device)
    with pytest.raises(ValueError, match=r"grid_sample: expected input \(N, C, H, W\)"):
        tl.nn.functional.grid_sample(x, make((1, 3, 3), device=device))
    with pytest.raises(ValueError, match="grid_sample: padding_mode"):
        tl.nn.functional.grid_sample(x, make((1, 2, 2, 2), device=device), padding_mode="wrap")
    with pytest.raises(ValueError, match="affine_grid: expected theta"):
        tl.nn.functional.affine_grid(make((1, 3, 3), device=device), (1, 2, 3, 4))
