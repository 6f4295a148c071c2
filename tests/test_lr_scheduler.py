"""tl.optim.lr_scheduler against torch.optim.lr_scheduler: the same learning rates, step by step."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import optim
from tinygrad_lite.optim import lr_scheduler as ours_sched

torch = pytest.importorskip("torch", reason="torch is needed for the scheduler parity tests")
theirs_sched = torch.optim.lr_scheduler

STEPS = 30
LRS = (0.1, 0.04)       # two param groups with different base lrs


class _Scale:
    """A callable object: its attributes are what LambdaLR's state_dict keeps."""

    def __init__(self, k: float):
        self.k = k

    def __call__(self, epoch: int) -> float:
        return self.k ** epoch


# Each case builds a scheduler from (module, optimizer); `lib` is our module or torch's.
CASES = {
    "StepLR": lambda lib, o: lib.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda lib, o: lib.MultiStepLR(o, milestones=[9, 2, 5, 5], gamma=0.3),
    "ExponentialLR": lambda lib, o: lib.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda lib, o: lib.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    "CosineAnnealingLR-no-min": lambda lib, o: lib.CosineAnnealingLR(o, T_max=10),
    "LambdaLR": lambda lib, o: lib.LambdaLR(o, lambda e: 1.0 / (1 + e)),
    "LambdaLR-per-group": lambda lib, o: lib.LambdaLR(o, [_Scale(0.9), lambda e: 0.5 ** e]),
    "LinearLR-warmup": lambda lib, o: lib.LinearLR(o, start_factor=0.25, total_iters=6),
    "LinearLR-decay": lambda lib, o: lib.LinearLR(o, start_factor=1.0, end_factor=0.1,
                                                  total_iters=12),
    "OneCycleLR-cos": lambda lib, o: lib.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=STEPS + 1),
    "OneCycleLR-linear": lambda lib, o: lib.OneCycleLR(
        o, max_lr=0.3, epochs=4, steps_per_epoch=8, anneal_strategy="linear", pct_start=0.25,
        div_factor=10.0, final_div_factor=100.0),
    "OneCycleLR-three-phase": lambda lib, o: lib.OneCycleLR(
        o, max_lr=0.5, total_steps=STEPS + 5, three_phase=True, base_momentum=0.8,
        max_momentum=[0.9, 0.99]),
    "OneCycleLR-no-momentum": lambda lib, o: lib.OneCycleLR(
        o, max_lr=0.5, total_steps=STEPS + 1, cycle_momentum=False),
    "SequentialLR": lambda lib, o: lib.SequentialLR(
        o, [lib.LinearLR(o, start_factor=0.1, total_iters=5),
            lib.CosineAnnealingLR(o, T_max=12, eta_min=0.001)], milestones=[5]),
    "SequentialLR-three": lambda lib, o: lib.SequentialLR(
        o, [lib.ExponentialLR(o, gamma=0.8), lib.StepLR(o, step_size=2, gamma=0.5),
            lib.MultiStepLR(o, milestones=[3, 6], gamma=0.1)], milestones=[4, 11]),
}


def _optimizers(kind: str = "SGD"):
    """Our optimizer and torch's over matching two-group parameters."""
    def groups(make):
        return [{"params": [make(np.zeros(3))], "lr": LRS[0]},
                {"params": [make(np.zeros(2))], "lr": LRS[1]}]
    ours_groups = groups(lambda a: tl.tensor(a, requires_grad=True))
    theirs_groups = groups(lambda a: torch.tensor(a, requires_grad=True))
    if kind == "SGD":
        return (optim.SGD(ours_groups, momentum=0.9),
                torch.optim.SGD(theirs_groups, momentum=0.9))
    return optim.Adam(ours_groups), torch.optim.Adam(theirs_groups)


def _momenta(opt) -> list:
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def _run(opt, sched, steps, metrics=None) -> list:
    """lrs (and momenta) after construction and after every step."""
    seen = [(sched.get_last_lr(), _momenta(opt))]
    for i in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
        seen.append((sched.get_last_lr(), _momenta(opt)))
    return seen


def _assert_same(ours, theirs):
    assert len(ours) == len(theirs)
    for step, ((lr_a, m_a), (lr_b, m_b)) in enumerate(zip(ours, theirs)):
        # The arithmetic is torch's, in the same order, on Python floats: equal, not just close.
        assert [float(x) for x in lr_a] == [float(x) for x in lr_b], f"lr at step {step}"
        assert [float(x) for x in m_a] == pytest.approx([float(x) for x in m_b], rel=1e-15), \
            f"momentum at step {step}"


# Adam only matters where beta1 is cycled in place of SGD's momentum.
PARITY = [(n, "SGD") for n in sorted(CASES)] + \
    [(n, "Adam") for n in sorted(CASES) if n.startswith("OneCycle")]


@pytest.mark.parametrize("name, kind", PARITY, ids=[f"{n}-{k}" for n, k in PARITY])
def test_matches_torch(name, kind):
    steps = STEPS + 1 if name == "OneCycleLR-linear" else STEPS
    o_ours, o_theirs = _optimizers(kind)
    s_ours, s_theirs = CASES[name](ours_sched, o_ours), CASES[name](theirs_sched, o_theirs)
    _assert_same(_run(o_ours, s_ours, steps), _run(o_theirs, s_theirs, steps))
    assert [g["lr"] for g in o_ours.param_groups] == [g["lr"] for g in o_theirs.param_groups]
    assert [g["initial_lr"] for g in o_ours.param_groups] == \
        [g["initial_lr"] for g in o_theirs.param_groups]


def test_lr_values_are_the_expected_ones():
    """Spot values worked out by hand, so the parity tests are not the only oracle."""
    o, _ = _optimizers()
    s = ours_sched.StepLR(o, step_size=2, gamma=0.5)
    lrs = _run(o, s, 5)
    assert [x[0][0] for x in lrs] == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    o, _ = _optimizers()
    s = ours_sched.CosineAnnealingLR(o, T_max=4)
    lrs = [x[0][0] for x in _run(o, s, 8)]
    assert lrs[0] == 0.1 and lrs[2] == pytest.approx(0.05) and lrs[4] == pytest.approx(0, abs=1e-15)
    assert lrs[8] == pytest.approx(0.1)     # up again after T_max, as torch's does


PLATEAU_CASES = [
    dict(),
    dict(mode="min", factor=0.5, patience=2, cooldown=1, min_lr=0.01),
    dict(mode="min", factor=0.3, patience=1, threshold=0.05, threshold_mode="abs",
         min_lr=[0.02, 0.0]),
    dict(mode="max", factor=0.5, patience=0, threshold=0.01),
    dict(mode="max", factor=0.2, patience=1, threshold_mode="abs", threshold=0.5, cooldown=2,
         eps=1e-3),
]


def _metrics(n: int = 40) -> list:
    """Slowly improving, with plateaus and spikes, so every counter gets used."""
    rng = np.random.RandomState(3)
    base = np.repeat(np.linspace(5.0, 1.0, n // 4), 4)
    noisy = base + rng.choice([0.0, 0.0, 0.3, -0.02], size=base.size)
    return [float(v) for v in noisy] + [1.0] * 14     # a long final plateau


@pytest.mark.parametrize("opts", PLATEAU_CASES, ids=[str(o) for o in PLATEAU_CASES])
def test_reduce_lr_on_plateau_matches_torch(opts):
    metrics = _metrics()
    o_ours, o_theirs = _optimizers()
    s_ours = ours_sched.ReduceLROnPlateau(o_ours, **opts)
    s_theirs = theirs_sched.ReduceLROnPlateau(o_theirs, **opts)
    a = _run(o_ours, s_ours, len(metrics), metrics)
    b = _run(o_theirs, s_theirs, len(metrics), metrics)
    _assert_same(a, b)
    assert a[-1][0] != a[0][0], "the metric sequence should have cut the lr at least once"
    assert s_ours.num_bad_epochs == s_theirs.num_bad_epochs and s_ours.best == s_theirs.best


def test_reduce_lr_on_plateau_accepts_a_tensor_metric():
    o, _ = _optimizers()
    s = ours_sched.ReduceLROnPlateau(o, patience=0)
    s.step(tl.tensor(1.0))
    s.step(tl.tensor(2.0))
    assert s.get_last_lr() == pytest.approx([0.01, 0.004])


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


ROUND_TRIP = sorted(CASES) + ["ReduceLROnPlateau"]


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_state_dict_round_trip(name):
    """Save optimizer and scheduler half way, rebuild both fresh, load, go on: same lrs."""
    kind = "Adam" if name == "OneCycleLR-three-phase" else "SGD"
    metrics = _metrics()

    def build(o):
        if name == "ReduceLROnPlateau":
            return ours_sched.ReduceLROnPlateau(o, factor=0.5, patience=1, cooldown=1)
        return CASES[name](ours_sched, o)

    def advance(o, s, steps):
        out = []
        for i in steps:
            o.step()
            s.step(metrics[i]) if name == "ReduceLROnPlateau" else s.step()
            out.append((s.get_last_lr(), _momenta(o)))
        return out

    half, total = 12, STEPS
    o1, _ = _optimizers(kind)
    s1 = build(o1)
    advance(o1, s1, range(half))
    opt_sd, sched_sd = copy.deepcopy(o1.state_dict()), copy.deepcopy(s1.state_dict())
    _check_plain(opt_sd)
    _check_plain(sched_sd)
    expected = advance(o1, s1, range(half, total))

    o2, _ = _optimizers(kind)
    s2 = build(o2)              # as torch advises: build the scheduler, then load both
    o2.load_state_dict(opt_sd)
    s2.load_state_dict(sched_sd)
    assert s2.get_last_lr() == s1.get_last_lr() or s2.last_epoch == half
    got = advance(o2, s2, range(half, total))
    _assert_same(got, expected)


def test_lambda_state_dict_keeps_callable_object_attributes_only():
    o, _ = _optimizers()
    scale = _Scale(0.9)
    s = ours_sched.LambdaLR(o, [scale, lambda e: 1.0])
    sd = s.state_dict()
    assert sd["lr_lambdas"] == [{"k": 0.9}, None]
    sd["lr_lambdas"] = [{"k": 0.5}, None]
    s.load_state_dict(sd)
    assert scale.k == 0.5


def test_scheduler_sets_initial_lr_and_resume_needs_it():
    o, _ = _optimizers()
    ours_sched.ExponentialLR(o, gamma=0.5)
    assert [g["initial_lr"] for g in o.param_groups] == list(LRS)
    o2, _ = _optimizers()
    with pytest.raises(KeyError, match="initial_lr"):
        ours_sched.StepLR(o2, step_size=2, last_epoch=3)


def test_step_with_epoch_uses_closed_form():
    o, _ = _optimizers()
    s = ours_sched.ExponentialLR(o, gamma=0.5)
    s.step(3)
    assert s.get_last_lr() == [0.1 * 0.125, 0.04 * 0.125]
    o, _ = _optimizers()
    s = ours_sched.CosineAnnealingLR(o, T_max=10)
    s.step(5)
    assert s.get_last_lr()[0] == pytest.approx(0.05 * (1 + math.cos(math.pi / 2)))


def test_bad_arguments_raise():
    o, _ = _optimizers()
    with pytest.raises(TypeError, match="not an Optimizer"):
        ours_sched.StepLR(object(), step_size=1)
    with pytest.raises(ValueError, match="factor"):
        ours_sched.ReduceLROnPlateau(o, factor=1.5)
    with pytest.raises(ValueError, match="mode"):
        ours_sched.ReduceLROnPlateau(o, mode="sideways")
    with pytest.raises(ValueError, match="milestone"):
        ours_sched.SequentialLR(o, [ours_sched.StepLR(o, 2)], milestones=[3])
    with pytest.raises(ValueError, match="total_steps"):
        ours_sched.OneCycleLR(o, max_lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy"):
        ours_sched.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="cubic")
    with pytest.raises(ValueError, match="max_lr"):
        ours_sched.OneCycleLR(o, max_lr=[0.1], total_steps=10)
    with pytest.raises(ValueError, match="start_factor"):
        ours_sched.LinearLR(o, start_factor=0.0)
    with pytest.raises(ValueError, match="momentum or betas"):
        ours_sched.OneCycleLR(optim.Adagrad([tl.zeros(2, requires_grad=True)]), max_lr=0.1,
                              total_steps=5)
    s = ours_sched.OneCycleLR(o, max_lr=0.1, total_steps=3)
    for _ in range(3):
        s.step()
    with pytest.raises(ValueError, match="total_steps is 3"):
        s.step()
