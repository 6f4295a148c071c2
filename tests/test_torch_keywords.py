"""Keywords and argument forms torch takes (issue: OpInfo parity), each against torch."""
import numpy as np
import pytest
import torch

import tinygrad_lite as tl


def _pair(device):
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    return tl.tensor(a, device=device), torch.tensor(a)


@pytest.mark.parametrize("call", [
    lambda m, x: m.softmax(x, 1, dtype=m.float64),
    lambda m, x: x.softmax(1, dtype=m.float64),
    lambda m, x: m.log_softmax(x, 1, dtype=m.float64),
    lambda m, x: x.log_softmax(-1, dtype=m.float64),
    lambda m, x: x.cumsum(1, dtype=m.float64),
    lambda m, x: x.prod(1, dtype=m.float64),
    lambda m, x: x.sort(stable=True)[0],
    lambda m, x: x.argsort(stable=True, descending=True),
    lambda m, x: m.add(2, x),
    lambda m, x: m.add(2.5, x, alpha=3),
    lambda m, x: m.sub(2, x, alpha=2),
    lambda m, x: m.mul(2.0, x),
    lambda m, x: m.div(2, x),
    lambda m, x: x.to("cpu", m.float64, False, True),
])
def test_torch_argument_forms(call, device):
    ours, theirs = _pair(device)
    o, t = call(tl, ours), call(torch, theirs)
    assert str(o.dtype) == str(t.dtype).replace("torch.", "")
    np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-6)


def test_to_with_copy_copies_and_div_rounding_with_a_number_first():
    x = tl.ones(3)
    y = x.to("cpu", tl.float32, False, True)
    assert y is not x and y.data is not x.data
    assert x.to("cpu", tl.float32) is x
    for mode in ("floor", "trunc"):
        np.testing.assert_array_equal(
            tl.div(-7, tl.tensor([2, 4]), rounding_mode=mode).numpy(),
            torch.div(-7, torch.tensor([2, 4]), rounding_mode=mode).numpy())


def test_logspace_with_tensor_ends():
    ours = tl.logspace(tl.tensor(0.0), tl.tensor(2.0), 5, base=2.0)
    theirs = torch.logspace(torch.tensor(0.0), torch.tensor(2.0), 5, base=2.0)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="logspace: start"):
        tl.logspace(tl.ones(2), 1.0, 3)
