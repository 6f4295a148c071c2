"""`Tensor.data` as torch has it: the same storage as a detached Tensor, so the idioms of
ported programs (`p.data.add_`, `w.data.normal_`, `p.data.copy_`, `p.data = t`) work."""
import numpy as np
import pytest
import torch

import tinygrad_lite as tl
import tinygrad_lite.nn as nn


def test_data_is_a_detached_tensor_on_the_same_storage(device):
    w = tl.ones(3, requires_grad=True, device=device)
    d = w.data
    assert isinstance(d, tl.Tensor) and not d.requires_grad and d.grad_fn is None
    assert d.device == w.device and d.dtype == w.dtype
    d.mul_(2)                                   # no error: it requires no grad
    np.testing.assert_array_equal(w.detach().numpy(), [2, 2, 2])
    assert w.requires_grad and w.is_leaf
    np.testing.assert_array_equal(w.data.numpy(), [2, 2, 2])


def _sgd_by_hand(fw):
    fw.manual_seed(0)
    model = fw.nn.Linear(3, 2)
    with fw.no_grad():
        model.weight.copy_(fw.tensor(np.linspace(-1, 1, 6).reshape(2, 3).astype(np.float32)))
        model.bias.zero_()
    x = fw.tensor(np.linspace(0, 1, 12).reshape(4, 3).astype(np.float32))
    y = fw.tensor(np.arange(8, dtype=np.float32).reshape(4, 2))
    losses = []
    for _ in range(5):
        loss = ((model(x) - y) ** 2).mean()
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-0.1)        # the classic hand-written update
        losses.append(loss.item())
    return losses, model.weight.detach().numpy()


def test_hand_written_sgd_through_data_matches_torch():
    ours, theirs = _sgd_by_hand(tl), _sgd_by_hand(torch)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)


def test_init_idioms_through_data():
    lin = nn.Linear(4, 3)
    lin.weight.data.normal_(0.0, 0.02)
    lin.bias.data.zero_()
    lin.bias.data.fill_(0.5)
    assert abs(float(lin.weight.detach().std())) < 0.1
    np.testing.assert_array_equal(lin.bias.detach().numpy(), [0.5, 0.5, 0.5])
    src = tl.ones(3, 4)
    lin.weight.data.copy_(src)
    np.testing.assert_array_equal(lin.weight.detach().numpy(), np.ones((3, 4)))
    assert lin.weight.requires_grad and isinstance(lin.weight, nn.Parameter)


def test_assigning_data_replaces_the_storage_as_torch_does():
    ours, theirs = tl.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    ours.data = tl.arange(5.0)
    theirs.data = torch.arange(5.0)
    assert ours.shape == tuple(theirs.shape) and ours.requires_grad == theirs.requires_grad
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    with pytest.raises(TypeError, match="data: assigned value must be a Tensor"):
        ours.data = np.zeros(3)


def test_data_of_a_result_and_numpy():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    assert y.data.grad_fn is None and not y.data.requires_grad
    np.testing.assert_array_equal(y.data.numpy(), [3.0, 6.0])   # no "requires grad" refusal
    np.testing.assert_array_equal(np.asarray(x.data), [1.0, 2.0])
