"""Module semantics against torch: registration, ordering, state_dict keys, loading, repr, modes."""
import numpy as np
import pytest
import torch

import tinygrad_lite as tl
from tinygrad_lite import nn

from helpers import assert_close


def _pair(lib):
    """The same architecture built from either library."""
    class Block(lib.Module):
        def __init__(self, p):
            super().__init__()
            self.norm = lib.LayerNorm(6)
            self.fc = lib.Linear(6, 6)
            self.drop = lib.Dropout(p)

        def forward(self, x):
            return self.drop(self.fc(self.norm(x)))

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.embed = lib.Embedding(10, 6, padding_idx=0)
            self.blocks = lib.ModuleList([Block(0.1), Block(0.2)])
            self.bn = lib.BatchNorm1d(6)
            self.head = lib.Sequential(lib.Linear(6, 4), lib.GELU(), lib.Linear(4, 3, bias=False))
            self.scale = lib.Parameter(_ones(lib, 3))
            self.register_buffer("offset", _ones(lib, 3) if lib is torch.nn else tl.ones(3))

        def forward(self, idx):
            h = self.embed(idx)
            for b in self.blocks:
                h = b(h)
            h = self.bn(h.transpose(1, 2)).transpose(1, 2)
            return self.head(h) * self.scale + self.offset

    return Net()


def _ones(lib, n):
    return torch.ones(n) if lib is torch.nn else tl.ones(n)


def test_state_dict_and_named_parameters_match_torch_order():
    ours, theirs = _pair(nn), _pair(torch.nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    for (n, p), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert p.shape == tuple(pt.shape), n
    assert repr(ours) == repr(theirs)


def test_loaded_model_matches_torch_forward_and_grads():
    ours, theirs = _pair(nn), _pair(torch.nn)
    theirs.double(), ours.double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours.eval(), theirs.eval()
    idx = np.array([[1, 0, 3, 9], [2, 2, 0, 5]])
    y, yt = ours(tl.tensor(idx)), theirs(torch.from_numpy(idx))
    assert_close(y, yt)
    g = np.random.default_rng(0).standard_normal(y.shape)
    (y * tl.tensor(g)).sum().backward()
    (yt * torch.from_numpy(g)).sum().backward()
    tp = dict(theirs.named_parameters())
    for n, p in ours.named_parameters():
        assert_close(p.grad, tp[n].grad, msg=n)


def test_load_state_dict_reports_every_problem_at_once():
    m = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    sd = {k: v.numpy() for k, v in m.state_dict().items()}
    del sd["1.bias"]
    sd["0.weight"] = np.zeros((5, 3), np.float32)
    sd["extra.weight"] = np.zeros(2, np.float32)
    with pytest.raises(RuntimeError) as err:
        m.load_state_dict(sd)
    msg = str(err.value)
    assert "missing keys: 1.bias" in msg and "unexpected keys: extra.weight" in msg
    assert "0.weight: checkpoint (5, 3) vs model (4, 3)" in msg
    sd["0.weight"] = np.full((4, 3), 2.0, np.float32)
    res = m.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["1.bias"] and res.unexpected_keys == ["extra.weight"]
    assert m[0].weight.tolist() == [[2.0] * 3] * 4


def test_registration_rules():
    m = nn.Module()
    m.w = nn.Parameter(tl.ones(2))
    m.sub = nn.Linear(2, 2)
    m.plain = tl.ones(2)             # a bare tensor is neither a parameter nor a buffer
    m.register_buffer("stat", tl.zeros(2))
    m.register_buffer("tmp", tl.zeros(1), persistent=False)
    assert [n for n, _ in m.named_parameters()] == ["w", "sub.weight", "sub.bias"]
    assert list(m.state_dict()) == ["w", "stat", "sub.weight", "sub.bias"]
    assert [n for n, _ in m.named_buffers()] == ["stat", "tmp"]
    with pytest.raises(TypeError):
        m.w = tl.ones(2)
    shared = nn.Linear(2, 2)
    tied = nn.Sequential(shared, shared)
    assert len(list(tied.parameters())) == 2        # shared parameters are listed once


def test_to_dtype_apply_zero_grad_and_modes():
    m = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5), nn.BatchNorm1d(3))
    m.to(tl.float64)
    assert all(p.dtype == np.float64 for p in m.parameters())
    assert m[2].running_mean.dtype == np.float64
    assert m[2].num_batches_tracked.dtype == np.int64     # integer buffers keep their dtype
    ident = [id(p) for p in m.parameters()]
    m.float()
    assert [id(p) for p in m.parameters()] == ident       # moved in place, same objects
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "Dropout", "BatchNorm1d", "Sequential"]   # children first
    m(tl.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.eval()
    assert not any(mod.training for mod in m.modules())
    x = tl.randn(4, 3)
    np.testing.assert_array_equal(m(x).detach().numpy(), m(x).detach().numpy())  # deterministic
    m.train()
    assert all(mod.training for mod in m.modules())


def test_module_repr_matches_torch_for_layers():
    pairs = [(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Dropout(0.2), nn.LayerNorm(3),
                            nn.Softmax(dim=-1)),
              torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                  torch.nn.LayerNorm(3), torch.nn.Softmax(dim=-1))),
             (nn.BatchNorm2d(4, momentum=None), torch.nn.BatchNorm2d(4, momentum=None)),
             (nn.Embedding(5, 2, max_norm=1.0), torch.nn.Embedding(5, 2, max_norm=1.0)),
             (nn.LeakyReLU(0.2, inplace=True), torch.nn.LeakyReLU(0.2, inplace=True)),
             (nn.Softplus(), torch.nn.Softplus()), (nn.ELU(), torch.nn.ELU())]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)


def test_parameter_utils_vs_torch():
    ours, theirs = nn.Linear(4, 3), torch.nn.Linear(4, 3)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    g = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    (ours(tl.tensor(x)) * tl.tensor(g)).sum().backward()
    (theirs(torch.from_numpy(x)) * torch.from_numpy(g)).sum().backward()
    for norm_type in (2.0, 1.0, float("inf")):
        a = [p.grad.numpy().copy() for p in ours.parameters()]
        b = [p.grad.clone() for p in theirs.parameters()]
        total = nn.utils.clip_grad_norm_(ours.parameters(), 0.5, norm_type)
        total_t = torch.nn.utils.clip_grad_norm_(theirs.parameters(), 0.5, norm_type)
        assert_close(total, total_t, np.float32)
        assert total.dtype == np.float32
        for p, pt in zip(ours.parameters(), theirs.parameters()):
            assert_close(p.grad, pt.grad, np.float32)
            assert p.grad.dtype == np.float32
        for p, pt, ga, gb in zip(ours.parameters(), theirs.parameters(), a, b):
            p.grad = tl.tensor(ga)
            pt.grad = gb
    nn.utils.clip_grad_value_(ours.parameters(), 0.1)
    assert max(np.abs(p.grad.numpy()).max() for p in ours.parameters()) <= 0.1
    ours.weight.grad = tl.tensor(np.full((3, 4), np.inf, np.float32))
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(ours.parameters(), 1.0, error_if_nonfinite=True)
    vec = nn.utils.parameters_to_vector(ours.parameters())
    assert_close(vec, torch.nn.utils.parameters_to_vector(theirs.parameters()), np.float32)
    nn.utils.vector_to_parameters(vec * 2.0, ours.parameters())
    assert_close(ours.bias, theirs.bias.detach() * 2, np.float32)
    with pytest.raises(ValueError, match="vector has 3 elements"):
        nn.utils.vector_to_parameters(tl.ones(3), ours.parameters())


def test_get_submodule_parameter_and_buffer_follow_torch():
    for lib in (tl, torch):
        net = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Sequential(lib.nn.BatchNorm1d(3)))
        assert net.get_submodule("1.0") is net[1][0] and net.get_submodule("") is net
        assert net.get_parameter("0.weight") is net[0].weight
        assert net.get_buffer("1.0.running_mean") is net[1][0].running_mean
        with pytest.raises(AttributeError, match="has no"):
            net.get_submodule("1.7")
        with pytest.raises(AttributeError):
            net.get_parameter("0.nope")
