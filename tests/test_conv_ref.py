"""The NumPy conv2d oracle (tinygrad_lite/ops/conv_ref.py): torch parity and central differences."""
import numpy as np
import pytest

from tinygrad_lite.ops.conv_ref import (conv2d_reference_backward_data,
                                        conv2d_reference_backward_weight,
                                        conv2d_reference_forward, conv_params)

torch = pytest.importorskip("torch")

# (x shape, w shape, stride, padding, dilation, groups)
CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 0, 1, 1),
    ((2, 3, 7, 6), (4, 3, 3, 2), (2, 1), (1, 0), 1, 1),
    ((1, 4, 9, 8), (6, 2, 3, 3), 2, 1, (2, 1), 2),
    ((2, 4, 6, 7), (4, 1, 3, 3), (1, 2), 2, 1, 4),        # depthwise
    ((1, 2, 5, 5), (3, 2, 1, 1), 3, 0, 1, 1),             # 1x1, stride larger than kernel
    ((1, 3, 8, 8), (2, 3, 5, 5), 2, 2, 1, 1),             # 5x5 s2 p2 (dgrad phases)
    ((1, 6, 6, 6), (6, 2, 2, 3), (3, 2), (1, 2), (2, 1), 3),
]


def _ids(case):
    x, w, s, p, d, g = case
    return f"x{x}-w{w}-s{s}-p{p}-d{d}-g{g}"


def _torch_conv(x, w, s, p, d, g):
    return torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), None, s, p, d, g)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_conv_ref_matches_torch(case):
    xs, ws, s, p, d, g = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs)
    w = rng.standard_normal(ws)
    y = conv2d_reference_forward(x, w, s, p, d, g)
    xt = torch.from_numpy(x).requires_grad_()
    wt = torch.from_numpy(w).requires_grad_()
    yt = torch.nn.functional.conv2d(xt, wt, None, s, p, d, g)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(y.shape)
    yt.backward(torch.from_numpy(gy))
    dx = conv2d_reference_backward_data(gy, w, xs, s, p, d, g)
    dw = conv2d_reference_backward_weight(x, gy, ws, s, p, d, g)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, wt.grad.numpy(), rtol=1e-12, atol=1e-12)


def _numeric_grad(f, a, eps=1e-6):
    """Central differences of the scalar f() with respect to every element of a (in place)."""
    g = np.zeros_like(a)
    flat, gflat = a.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return g


@pytest.mark.parametrize("case", CASES[1:4], ids=_ids)
def test_conv_ref_gradcheck(case):
    """Backward data and weight against central differences of the forward, random upstream grad."""
    xs, ws, s, p, d, g = case
    rng = np.random.default_rng(1)
    x = rng.standard_normal(xs)
    w = rng.standard_normal(ws)
    gy = rng.standard_normal(conv2d_reference_forward(x, w, s, p, d, g).shape)

    def loss():
        return float((conv2d_reference_forward(x, w, s, p, d, g) * gy).sum())

    dx = conv2d_reference_backward_data(gy, w, xs, s, p, d, g)
    dw = conv2d_reference_backward_weight(x, gy, ws, s, p, d, g)
    np.testing.assert_allclose(dx, _numeric_grad(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dw, _numeric_grad(loss, w), rtol=1e-6, atol=1e-7)


def test_conv_params_errors():
    with pytest.raises(ValueError, match="groups"):
        conv_params((1, 3, 5, 5), (4, 3, 3, 3), groups=2)
    with pytest.raises(ValueError, match="input channels"):
        conv_params((1, 4, 5, 5), (4, 3, 3, 3))
    with pytest.raises(ValueError, match="smaller"):
        conv_params((1, 3, 2, 2), (4, 3, 3, 3))
    d = conv_params((2, 4, 9, 8), (6, 2, 3, 3), stride=2, padding=1, dilation=(2, 1), groups=2)
    assert (d["P"], d["Q"], d["Cg"], d["Kg"]) == (4, 4, 2, 3)
