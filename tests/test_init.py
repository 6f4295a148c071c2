"""nn.init: fans and gains like torch, distributions with the right moments, in place, no grad."""
import math

import numpy as np
import pytest
import torch

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import init


@pytest.mark.parametrize("shape", [(3, 5), (8, 4, 3, 3), (6, 2, 7)])
def test_fan_in_fan_out_like_torch(shape):
    ours = init._calculate_fan_in_and_fan_out(tl.zeros(*shape))
    theirs = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))
    assert ours == theirs
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(tl.zeros(4))


@pytest.mark.parametrize("name,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                        ("tanh", None), ("relu", None), ("leaky_relu", None),
                                        ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain_like_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param))


def test_calculate_gain_rejects_unknown():
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")


CASES = [
    (lambda t: init.uniform_(t, -0.5, 1.5), 0.5, 2.0 / math.sqrt(12)),
    (lambda t: init.normal_(t, 0.3, 2.0), 0.3, 2.0),
    (lambda t: init.xavier_uniform_(t, gain=2.0), 0.0, 2.0 * math.sqrt(2.0 / (400 + 300))),
    (lambda t: init.xavier_normal_(t), 0.0, math.sqrt(2.0 / (400 + 300))),
    (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), 0.0, math.sqrt(2.0 / 400)),
    (lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), 0.0,
     math.sqrt(2.0 / 300)),
    (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), 0.0, 1 / math.sqrt(3 * 400)),
]


@pytest.mark.parametrize("i", range(len(CASES)))
def test_distribution_moments(i):
    fn, mean, std = CASES[i]
    t = tl.zeros(300, 400)
    out = fn(t)
    assert out is t and t.dtype == np.float32
    a = t.numpy()
    assert abs(a.mean() - mean) < 0.05 * std + 1e-3
    assert abs(a.std() - std) < 0.03 * std


def test_uniform_bounds_and_kaiming_bound():
    t = init.kaiming_uniform_(tl.zeros(64, 100), a=0.0, nonlinearity="relu")
    bound = math.sqrt(3.0) * math.sqrt(2.0) / math.sqrt(100)
    assert np.abs(t.numpy()).max() <= bound


def test_trunc_normal_within_bounds():
    t = init.trunc_normal_(tl.zeros(200, 200), mean=0.0, std=1.0, a=-0.5, b=1.0)
    a = t.numpy()
    assert a.min() >= -0.5 and a.max() <= 1.0
    # the mean of a truncated standard normal on [-0.5, 1] is positive (about 0.23)
    assert 0.18 < a.mean() < 0.28
    with pytest.raises(ValueError, match="a=2"):
        init.trunc_normal_(tl.zeros(2), a=2.0, b=1.0)


@pytest.mark.parametrize("shape", [(5, 8), (8, 5), (4, 2, 3)])
def test_orthogonal(shape):
    t = init.orthogonal_(tl.zeros(*shape, dtype=tl.float64), gain=2.0)
    m = t.numpy().reshape(shape[0], -1)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, 4.0 * np.eye(gram.shape[0]), atol=1e-10)


def test_constant_zeros_ones_eye():
    t = tl.zeros(2, 3)
    assert init.constant_(t, 0.25).tolist() == [[0.25] * 3] * 2
    assert init.ones_(t).tolist() == [[1.0] * 3] * 2
    assert init.zeros_(t).tolist() == [[0.0] * 3] * 2
    assert init.eye_(t).tolist() == [[1.0, 0, 0], [0, 1.0, 0]]


def test_init_on_parameter_builds_no_graph_and_bumps_version():
    p = nn.Parameter(tl.zeros(3, 4))
    v = p._version.v
    init.normal_(p)
    assert p.grad_fn is None and p.requires_grad and p.is_leaf
    assert p._version.v > v
    y = (p * 2).sum()
    y.backward()
    assert p.grad.tolist() == [[2.0] * 4] * 3


def test_init_seeded_reproducible():
    tl.manual_seed(7)
    a = init.xavier_uniform_(tl.zeros(4, 4)).numpy().copy()
    tl.manual_seed(7)
    b = init.xavier_uniform_(tl.zeros(4, 4)).numpy()
    np.testing.assert_array_equal(a, b)
