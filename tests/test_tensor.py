"""Tensor API and creation functions, with torch's dtypes and semantics."""
import numpy as np
import pytest
import torch

import tinygrad_lite as tl
from helpers import make


def test_tensor_dtype_rules(device):
    assert tl.tensor([1.0, 2.0], device=device).dtype == np.float32
    assert tl.tensor(np.array([1.0]), device=device).dtype == np.float64
    assert tl.tensor([1, 2], device=device).dtype == np.int64
    assert tl.tensor([True], device=device).dtype == np.bool_
    assert tl.tensor(3.0, device=device).shape == ()
    assert tl.tensor([1, 2], dtype=tl.float64, device=device).dtype == np.float64
    # a float list goes straight to the asked dtype, never through float32
    assert tl.tensor([1e-200, 1e300], dtype=tl.float64, device=device).tolist() == [1e-200, 1e300]
    a = np.ones(3)
    t = tl.tensor(a, device=device)
    a[0] = 5
    assert t[0].item() == 1.0            # tensor() copies


def test_properties_and_conversions(device):
    x = tl.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device, requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.dim() == 2 and x.numel() == 6
    assert x.size() == (2, 3) and x.size(-1) == 3 and x.size(0) == 2
    assert x.device == device and x.device.type == device
    assert x.is_leaf and x.grad is None and x.grad_fn is None and x.requires_grad
    assert x.detach().tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert x[1, 2].item() == 6.0 and isinstance(x[1, 2].item(), float)
    assert isinstance(x.detach().numpy(), np.ndarray)
    with pytest.raises(RuntimeError, match="requires grad"):
        x.numpy()
    y = x * 2
    assert not y.is_leaf and y.grad_fn is not None
    c = y.clone()
    assert c.grad_fn is not None and c.data is not y.data
    assert x.to(tl.float64).dtype == np.float64 and x.double().dtype == np.float64
    assert x.float() is x and x.to(device) is x and x.cpu().device == "cpu"
    assert x.long().dtype == np.int64 and x.bool().dtype == np.bool_
    assert x.detach().long().tolist() == [[1, 2, 3], [4, 5, 6]]
    assert x.to(torch_like_dtype := tl.float64).dtype == torch_like_dtype
    r = tl.tensor([1.0, 2.0], device=device)
    assert r.requires_grad_() is r and r.requires_grad
    assert repr(tl.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "requires_grad=True" in repr(x) and "grad_fn=<Mul>" in repr(y)
    assert "dtype=tl.float64" in repr(x.double().detach())
    assert int(tl.tensor(3)) == 3 and float(tl.tensor(2.5)) == 2.5
    assert len(x) == 2 and [r.shape for r in x] == [(3,), (3,)]


def test_retain_grad_and_requires_grad_off(device):
    x = make((3,), device=device)
    y = x * 2
    y.retain_grad()
    y.sum().backward()
    assert y.grad.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.requires_grad_(False)


def test_creation_functions(device):
    kw = dict(device=device)
    assert tl.zeros(2, 3, **kw).tolist() == [[0.0] * 3] * 2
    assert tl.zeros((2, 3), **kw).dtype == np.float32
    assert tl.ones(2, dtype=tl.float64, **kw).dtype == np.float64
    assert tl.full((2,), 3, **kw).dtype == np.int64 and tl.full((2,), 3.0, **kw).dtype == np.float32
    assert tl.empty(2, 2, **kw).shape == (2, 2)
    assert tl.arange(5, **kw).tolist() == [0, 1, 2, 3, 4] and tl.arange(5).dtype == np.int64
    assert tl.arange(1, 2, 0.25, **kw).tolist() == [1.0, 1.25, 1.5, 1.75]
    np.testing.assert_allclose(tl.linspace(0, 1, 5, **kw).numpy(),
                               torch.linspace(0, 1, 5).numpy())
    assert tl.linspace(0, 1, 5).dtype == np.float32
    assert tl.eye(3, **kw).tolist() == torch.eye(3).tolist()
    assert tl.eye(2, 3, **kw).shape == (2, 3)
    x = tl.ones(2, 3, dtype=tl.float64, **kw)
    for like in (tl.zeros_like, tl.ones_like, tl.empty_like, tl.rand_like, tl.randn_like):
        out = like(x)
        assert out.shape == (2, 3) and out.dtype == np.float64
    assert tl.full_like(x, 7.0).tolist() == [[7.0] * 3] * 2
    m = np.arange(1.0, 17.0).reshape(4, 4)
    assert tl.triu(tl.tensor(m), 1).tolist() == torch.triu(torch.tensor(m), 1).tolist()
    assert tl.tril(tl.tensor(m), -1).tolist() == torch.tril(torch.tensor(m), -1).tolist()
    assert tl.zeros(2, requires_grad=True).requires_grad


def test_random_creation_is_reproducible(device):
    tl.manual_seed(123)
    a = [tl.rand(3, device=device), tl.randn(2, 2, device=device),
         tl.randint(0, 10, (5,), device=device)]
    tl.manual_seed(123)
    b = [tl.rand(3, device=device), tl.randn(2, 2, device=device),
         tl.randint(0, 10, (5,), device=device)]
    for x, y in zip(a, b):
        assert x.tolist() == y.tolist()
    assert a[0].dtype == np.float32 and a[2].dtype == np.int64
    assert 0 <= a[0].min().item() and a[0].max().item() < 1
    assert 0 <= a[2].min().item() and a[2].max().item() < 10
    big = tl.randn(20000)
    assert abs(big.mean().item()) < 0.05 and abs(big.std().item() - 1) < 0.05
    tl.manual_seed(124)
    assert tl.rand(3, device=device).tolist() != a[0].tolist()
