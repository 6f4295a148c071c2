"""tl.optim against torch.optim: same parameters after 20 steps on the same random gradients."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim

torch = pytest.importorskip("torch", reason="torch is needed for the optimizer parity tests")

STEPS = 20
SHAPES = [(3, 4), (5,), ()]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-6)}

# (name, options): each option set exercises a different branch of the update.
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.5, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.02, betas=(0.3, 0.8), weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.05, weight_decay=0.2, amsgrad=True)),
    ("AdamW", dict(lr=0.01, betas=(0.6, 0.95), maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True, alpha=0.3)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5, maximize=True, eps=1e-4)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, maximize=True, eps=1e-6)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.5, eps=1e-4)),
    ("Adadelta", dict(lr=1.0, weight_decay=0.1, maximize=True)),
]


def _ids(case):
    name, opts = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in opts.items())


class Pair:
    """The same parameters in tinygrad_lite and torch, fed the same gradients each step."""

    def __init__(self, dtype, seed=0, shapes=SHAPES):
        rng = np.random.RandomState(seed)
        self.dtype = dtype
        self.rng = np.random.RandomState(seed + 1)
        inits = [np.asarray(rng.randn(*s)).astype(dtype) for s in shapes]
        self.ours = [tl.tensor(a.copy(), requires_grad=True) for a in inits]
        self.theirs = [torch.tensor(a.copy(), requires_grad=True) for a in inits]

    def set_grads(self, step: int) -> None:
        for i, (p, q) in enumerate(zip(self.ours, self.theirs)):
            # The last parameter misses every third gradient: both sides must skip it.
            if i == len(self.ours) - 1 and step % 3 == 0:
                p.grad, q.grad = None, None
                continue
            g = np.asarray(self.rng.randn(*p.shape)).astype(self.dtype)
            p.grad = tl.tensor(g.copy())
            q.grad = torch.tensor(g.copy())

    def assert_same(self, msg=""):
        tol = TOL[np.dtype(self.dtype).type]
        for p, q in zip(self.ours, self.theirs):
            assert p.dtype == np.dtype(self.dtype), f"{msg}: dtype became {p.dtype}"
            np.testing.assert_allclose(p._data, q.detach().numpy(), err_msg=msg, **tol)


def _make(name, params, opts, ours=True):
    mod = optim if ours else torch.optim
    if not ours:
        opts = dict(opts, foreach=False)
    return getattr(mod, name)(params, **opts)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_matches_torch(case, dtype):
    name, opts = case
    pair = Pair(dtype)
    ours, theirs = _make(name, pair.ours, opts), _make(name, pair.theirs, opts, ours=False)
    for step in range(STEPS):
        pair.set_grads(step)
        ours.step()
        theirs.step()
    pair.assert_same(f"{name} {opts}")
    for s in ours.state.values():
        for key, v in s.items():
            if isinstance(v, tl.Tensor) and key != "step":
                assert v.dtype == np.dtype(dtype), f"state {key} became {v.dtype}"


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_param_groups_with_own_hyperparameters(name):
    pair = Pair(np.float64)
    extra = dict(momentum=0.9) if name != "Adam" else dict(betas=(0.8, 0.9))

    def groups(ps):
        return [{"params": ps[:1], "lr": 0.3, **extra}, {"params": ps[1:]}]

    ours = _make(name, groups(pair.ours), dict(lr=0.01))
    theirs = _make(name, groups(pair.theirs), dict(lr=0.01), ours=False)
    assert ours.param_groups[1]["lr"] == 0.01 and ours.param_groups[0]["lr"] == 0.3
    for step in range(STEPS):
        pair.set_grads(step)
        ours.step()
        theirs.step()
    pair.assert_same(name)


# Every other stateful case (plain SGD keeps no state to round-trip).
STATEFUL = [c for c in CASES if c[1].get("momentum") or c[0] != "SGD"][::2]


@pytest.mark.parametrize("case", STATEFUL, ids=_ids)
def test_state_dict_round_trip_continues_exactly(case):
    """Stop half way, load the state into a fresh optimizer over copies, go on: same result."""
    name, opts = case
    pair = Pair(np.float32)
    opt = _make(name, pair.ours, opts)
    grads = [[np.asarray(np.random.RandomState(100 * s + i).randn(*p.shape), np.float32)
              for i, p in enumerate(pair.ours)] for s in range(STEPS)]

    def run(o, params, steps):
        for s in steps:
            for p, g in zip(params, grads[s]):
                p.grad = tl.tensor(g)
            o.step()

    run(opt, pair.ours, range(STEPS // 2))
    sd = opt.state_dict()
    _check_plain(sd)
    fresh_params = [tl.tensor(p._data.copy(), requires_grad=True) for p in pair.ours]
    fresh = _make(name, fresh_params, dict(lr=123.0))   # hyperparameters come from sd
    fresh.load_state_dict(copy.deepcopy(sd))
    assert fresh.param_groups[0]["lr"] == opt.param_groups[0]["lr"] != 123.0
    run(opt, pair.ours, range(STEPS // 2, STEPS))
    run(fresh, fresh_params, range(STEPS // 2, STEPS))
    for a, b in zip(pair.ours, fresh_params):
        np.testing.assert_array_equal(a._data, b._data)


def _check_plain(obj, path="sd"):
    """A state_dict holds only what the serializer stores with allow_pickle=False."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert isinstance(k, (str, int)), f"{path}: key {k!r}"
            _check_plain(v, f"{path}[{k!r}]")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _check_plain(v, f"{path}[{i}]")
    else:
        assert obj is None or isinstance(obj, (bool, int, float, str, tl.Tensor)), \
            f"{path}: {type(obj).__name__}"


def test_state_dict_layout_matches_torch():
    pair = Pair(np.float64)
    opts = dict(lr=0.01, amsgrad=True)
    ours, theirs = _make("Adam", pair.ours, opts), _make("Adam", pair.theirs, opts, ours=False)
    for step in (1, 2, 4):           # steps where every parameter gets a gradient
        pair.set_grads(step)
        ours.step()
        theirs.step()
    a, b = ours.state_dict(), theirs.state_dict()
    assert sorted(a["state"]) == sorted(b["state"]) == [0, 1, 2]
    assert a["param_groups"][0]["params"] == b["param_groups"][0]["params"]
    for i in a["state"]:
        assert set(a["state"][i]) == set(b["state"][i])
        assert float(a["state"][i]["step"]) == float(b["state"][i]["step"]) == 3.0
        np.testing.assert_allclose(a["state"][i]["exp_avg"]._data,
                                   b["state"][i]["exp_avg"].numpy(), rtol=1e-12)
    assert a["param_groups"][0]["betas"] == [0.9, 0.999]   # a list, so it saves without pickle


def test_load_state_dict_from_torch_layout_restores_betas_tuple_and_string_keys():
    pair = Pair(np.float64)
    opt = optim.Adam(pair.ours, lr=0.1)
    pair.set_grads(1)
    opt.step()
    sd = opt.state_dict()
    sd["state"] = {str(k): v for k, v in sd["state"].items()}   # as a serializer may give back
    fresh = optim.Adam(pair.ours, lr=0.5)
    fresh.load_state_dict(sd)
    assert fresh.param_groups[0]["betas"] == (0.9, 0.999)
    assert fresh.param_groups[0]["lr"] == 0.1
    first = pair.ours[0]
    assert fresh.state[first]["exp_avg"]._data is not opt.state[first]["exp_avg"]._data


def test_load_state_dict_casts_state_to_param_dtype():
    p64 = tl.tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([p64], lr=0.1, momentum=0.9)
    p64.grad = tl.tensor(np.ones(3))
    opt.step()
    p32 = tl.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    fresh = optim.SGD([p32], lr=0.1, momentum=0.9)
    fresh.load_state_dict(opt.state_dict())
    assert fresh.state[p32]["momentum_buffer"].dtype == np.float32


def test_load_state_dict_rejects_mismatched_layout():
    a, b = tl.zeros(2, requires_grad=True), tl.zeros(2, requires_grad=True)
    sd = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="2 parameters"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)


def test_step_builds_no_graph_and_bumps_version():
    w = tl.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    w.grad = tl.tensor(np.full(3, 2.0, dtype=np.float32))
    opt = optim.SGD([w], lr=0.5)
    before = w._version.v
    opt.step()
    assert w.grad_fn is None and w.requires_grad
    assert w._version.v == before + 1
    np.testing.assert_array_equal(w._data, np.zeros(3, dtype=np.float32))


def test_step_after_backward_through_saved_param_raises():
    """A step changes w in place, so backward through a graph that saved w must refuse."""
    w = tl.tensor(np.ones(3), requires_grad=True)
    x = tl.tensor(np.arange(3.0))
    y = (w * w * x).sum()
    w.grad = tl.tensor(np.ones(3))
    optim.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError):
        y.backward()


def test_training_a_linear_model_converges():
    rng = np.random.RandomState(0)
    x = rng.randn(64, 3)
    y = x @ np.array([1.5, -2.0, 0.5]) + 0.3
    w = tl.tensor(np.zeros(3), requires_grad=True)
    b = tl.tensor(np.zeros(()), requires_grad=True)
    opt = optim.Adam([w, b], lr=0.1)
    xt, yt = tl.tensor(x), tl.tensor(y)
    for _ in range(300):
        opt.zero_grad()
        loss = ((xt @ w + b - yt) ** 2).mean()
        loss.backward()
        opt.step()
    assert loss.item() < 1e-4
    np.testing.assert_allclose(w._data, [1.5, -2.0, 0.5], atol=1e-2)


def test_closure_is_called_and_its_loss_returned():
    w = tl.tensor(np.array([3.0]), requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 9.0
    np.testing.assert_allclose(w._data, [1.5])


def test_zero_grad_set_to_none_and_in_place():
    w = tl.tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    w.grad = tl.tensor(np.ones(2))
    g = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is g
    np.testing.assert_array_equal(w.grad._data, [0.0, 0.0])
    opt.zero_grad()
    assert w.grad is None


def test_param_in_two_groups_and_other_bad_params_raise():
    a = tl.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [a]}, {"params": [a]}], lr=0.1)
    opt = optim.SGD([a], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": a})
    with pytest.raises(ValueError, match="empty"):
        optim.Adam([], lr=0.1)
    with pytest.raises(TypeError):
        optim.Adam({a}, lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([a * 2], lr=0.1)


def test_add_param_group_fills_defaults():
    a, b = tl.zeros(2, requires_grad=True), tl.zeros(3, requires_grad=True)
    opt = optim.Adam([a], lr=0.1, betas=(0.5, 0.6))
    opt.add_param_group({"params": [b], "lr": 0.01})
    g = opt.param_groups[1]
    assert g["lr"] == 0.01 and g["betas"] == (0.5, 0.6) and g["amsgrad"] is False
    assert g["params"][0] is b


@pytest.mark.parametrize("ctor, match", [
    (lambda p: optim.SGD(p, lr=-0.1), r"SGD: invalid learning rate -0\.1"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-1), r"SGD: invalid momentum value -1"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), r"SGD: Nesterov"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     r"dampening=0\.1"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.9)), r"Adam: invalid beta parameter at index 0 1\.0"),
    (lambda p: optim.AdamW(p, betas=(0.9, -0.1)), r"AdamW: invalid beta .* index 1 -0\.1"),
    (lambda p: optim.Adam(p, eps=-1e-8), r"Adam: invalid epsilon value"),
    (lambda p: optim.Adam(p, lr=-1), r"Adam: invalid learning rate -1"),
    (lambda p: optim.RMSprop(p, momentum=-0.5), r"RMSprop: invalid momentum value -0\.5"),
    (lambda p: optim.RMSprop(p, alpha=-0.5), r"RMSprop: invalid alpha value"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), r"Adagrad: invalid lr_decay value"),
    (lambda p: optim.Adadelta(p, rho=1.5), r"Adadelta: invalid rho value 1\.5"),
])
def test_invalid_hyperparameters_raise(ctor, match):
    with pytest.raises(ValueError, match=match):
        ctor([tl.zeros(2, requires_grad=True)])


def test_adagrad_state_exists_before_first_step_like_torch():
    p = tl.zeros(3, requires_grad=True)
    opt = optim.Adagrad([p], initial_accumulator_value=0.25)
    np.testing.assert_array_equal(opt.state[p]["sum"]._data, np.full(3, 0.25, dtype=np.float32))
    assert opt.state[p]["sum"].dtype == np.float32


def test_works_with_module_parameters(device):
    lin = nn.Linear(4, 2).to(device)
    opt = optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    x = tl.randn(8, 4, device=device)
    before = [np.array(tl.backend.to_device(p._data, "cpu")) for p in lin.parameters()]
    opt.zero_grad()
    lin(x).sum().backward()
    opt.step()
    for p, b in zip(lin.parameters(), before):
        assert p.dtype == np.float32
        assert not np.array_equal(tl.backend.to_device(p._data, "cpu"), b)


def test_state_dict_survives_save_and_load(tmp_path):
    """Through tl.save/tl.load (no pickle): a fresh AdamW goes on exactly as the original."""
    pair = Pair(np.float32)
    opt = optim.AdamW(pair.ours, lr=0.05, amsgrad=True)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=20)
    for step in range(5):
        pair.set_grads(step)
        opt.step()
        sched.step()
    path = tmp_path / "ckpt.npz"
    tl.save({"optim": opt.state_dict(), "sched": sched.state_dict()}, path)
    ckpt = tl.load(path)
    params = [tl.tensor(p._data.copy(), requires_grad=True) for p in pair.ours]
    fresh = optim.AdamW(params, lr=1.0)
    fresh_sched = optim.lr_scheduler.OneCycleLR(fresh, max_lr=0.1, total_steps=20)
    fresh.load_state_dict(ckpt["optim"])
    fresh_sched.load_state_dict(ckpt["sched"])
    assert fresh.param_groups[0]["betas"] == opt.param_groups[0]["betas"]
    for step in range(5, 12):
        pair.set_grads(step)
        for p, q in zip(params, pair.ours):
            p.grad = q.grad
        for o, s in ((opt, sched), (fresh, fresh_sched)):
            o.step()
            s.step()
        assert fresh_sched.get_last_lr() == sched.get_last_lr()
    for a, b in zip(pair.ours, params):
        np.testing.assert_array_equal(a._data, b._data)


def test_plain_sgd_keeps_no_state_and_momentum_sgd_does():
    pair = Pair(np.float64)
    plain, heavy = optim.SGD(pair.ours, lr=0.1), optim.SGD(pair.ours, lr=0.1, momentum=0.9)
    pair.set_grads(1)
    plain.step()
    heavy.step()
    assert plain.state_dict()["state"] == {}
    assert sorted(heavy.state_dict()["state"]) == [0, 1, 2]
