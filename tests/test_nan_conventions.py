"""NaN, inf and signed-zero conventions follow torch's, forward and backward: ported code was
written against torch's choices."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F

VALUES = np.array([np.nan, -np.inf, np.inf, -0.0, 0.0, -1.5, 1.5, 0.5, 7.0])
OTHER = np.array([1.0, np.nan, 0.0, -0.0, 2.0, np.nan, -np.inf, 3.0, 7.0])


def _both(fn, torch_fn, device):
    ours = tl.tensor(VALUES, requires_grad=True, device=device)
    theirs = torch.tensor(VALUES, requires_grad=True)
    out, out_t = fn(ours), torch_fn(theirs)
    g = np.linspace(0.5, 1.5, VALUES.size)
    (out * tl.tensor(g, device=device)).sum().backward()
    (out_t * torch.tensor(g)).sum().backward()
    o, t = out.detach().numpy(), out_t.detach().numpy()
    np.testing.assert_allclose(o, t, rtol=1e-12, atol=0, equal_nan=True)
    finite = ~np.isnan(t)
    assert (np.signbit(o[finite]) == np.signbit(t[finite])).all(), (o, t)
    # (torch computes hardsigmoid's slope 1/6 in float32: 3e-8 relative)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-7, atol=1e-15,
                               equal_nan=True)


CASES = {
    "relu": (F.relu, TF.relu),
    "relu6": (F.relu6, TF.relu6),
    "elu": (F.elu, TF.elu),
    "celu": (F.celu, TF.celu),
    "selu": (F.selu, TF.selu),
    "hardtanh": (F.hardtanh, TF.hardtanh),
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid),
    "threshold": (lambda x: F.threshold(x, 0.5, -2.0), lambda x: TF.threshold(x, 0.5, -2.0)),
    "logsigmoid": (F.logsigmoid, TF.logsigmoid),
    "abs": (tl.abs, torch.abs),
    "sign": (tl.sign, torch.sign),
    "clamp_nan_bound": (lambda x: tl.clamp(x, min=tl.tensor(np.full(9, np.nan))),
                        lambda x: torch.clamp(x, min=torch.tensor(np.full(9, np.nan)))),
    "maximum": (lambda x: tl.maximum(x, tl.tensor(OTHER)),
                lambda x: torch.maximum(x, torch.tensor(OTHER))),
    "minimum": (lambda x: tl.minimum(x, tl.tensor(OTHER)),
                lambda x: torch.minimum(x, torch.tensor(OTHER))),
    "max_all": (lambda x: x.max(), lambda x: x.max()),
    "zero_pow": (lambda x: tl.zeros(9, dtype=tl.float64) ** x,
                 lambda x: torch.zeros(9, dtype=torch.float64) ** x),
    "atan2": (lambda x: tl.atan2(x, tl.tensor(OTHER)),
              lambda x: torch.atan2(x, torch.tensor(OTHER))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_nan_inf_and_signed_zero_like_torch(name, device):
    fn, torch_fn = CASES[name]
    if device != "cpu" and name in ("clamp_nan_bound", "maximum", "minimum", "zero_pow", "atan2"):
        # the second operand, made inside fn, must live on the device too
        _both(lambda x: _on(fn, x, device), torch_fn, device)
        return
    _both(fn, torch_fn, device)


def _on(fn, x, device):
    """fn(x) with the tensors it makes itself on x's device (set as the default for the call)."""
    old = tl.get_default_device()
    tl.set_default_device(device)
    try:
        return fn(x)
    finally:
        tl.set_default_device(old)


def test_logit_gradient_is_nan_outside_the_unit_interval():
    x = tl.tensor([-0.5, 0.25, 1.5], requires_grad=True, dtype=tl.float64)
    t = torch.tensor([-0.5, 0.25, 1.5], requires_grad=True, dtype=torch.float64)
    tl.logit(x).sum().backward()
    torch.logit(t).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), equal_nan=True)
