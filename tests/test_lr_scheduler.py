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
    "StepLR-float-step": lambda lib, o: lib.StepLR(o, 2.0, gamma=0.95),
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
    "SequentialLR-constant-poly": lambda lib, o: lib.SequentialLR(
        o, [lib.ConstantLR(o, factor=0.5, total_iters=3),
            lib.PolynomialLR(o, total_iters=15, power=0.9)], milestones=[6]),
    "ConstantLR": lambda lib, o: lib.ConstantLR(o, factor=0.25, total_iters=7),
    "ConstantLR-defaults": lambda lib, o: lib.ConstantLR(o),
    "PolynomialLR": lambda lib, o: lib.PolynomialLR(o, total_iters=12, power=2.0),
    "PolynomialLR-defaults": lambda lib, o: lib.PolynomialLR(o),
    "PolynomialLR-fractional-power": lambda lib, o: lib.PolynomialLR(o, total_iters=25, power=0.9),
    "CosineAnnealingWarmRestarts": lambda lib, o: lib.CosineAnnealingWarmRestarts(o, T_0=5),
    "CosineAnnealingWarmRestarts-mult": lambda lib, o: lib.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.01),
    "CyclicLR-triangular": lambda lib, o: lib.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.2],
                                                       step_size_up=4),
    "CyclicLR-triangular2": lambda lib, o: lib.CyclicLR(
        o, base_lr=[0.02, 0.01], max_lr=0.1, step_size_up=3, step_size_down=5,
        mode="triangular2", base_momentum=[0.7, 0.75], max_momentum=0.95),
    "CyclicLR-exp-range": lambda lib, o: lib.CyclicLR(
        o, base_lr=0.01, max_lr=0.3, step_size_up=2, step_size_down=4, mode="exp_range",
        gamma=0.93),
    "CyclicLR-scale-fn-iterations": lambda lib, o: lib.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=5, scale_fn=_Scale(0.97),
        scale_mode="iterations", mode="ignored-with-scale-fn"),
    "CyclicLR-scale-fn-cycle": lambda lib, o: lib.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=lambda c: 1.0 / c),
    "CyclicLR-no-momentum": lambda lib, o: lib.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=3, step_size_down=1, cycle_momentum=False),
    "MultiplicativeLR": lambda lib, o: lib.MultiplicativeLR(o, lambda e: 0.95),
    "MultiplicativeLR-per-group": lambda lib, o: lib.MultiplicativeLR(
        o, [_Scale(0.99), lambda e: 0.5 if e % 4 == 0 else 1.02]),
    "ChainedScheduler": lambda lib, o: lib.ChainedScheduler(
        [lib.ConstantLR(o, factor=0.1, total_iters=8), lib.ExponentialLR(o, gamma=0.9)]),
    "ChainedScheduler-explicit-optimizer": lambda lib, o: lib.ChainedScheduler(
        [lib.MultiplicativeLR(o, lambda e: 0.97), lib.CosineAnnealingLR(o, T_max=6),
         lib.LinearLR(o, start_factor=0.5, total_iters=4)], optimizer=o),
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
    [(n, "Adam") for n in sorted(CASES) if n.startswith(("OneCycle", "CyclicLR"))]


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


def test_new_schedulers_expected_values():
    """Hand-worked values for the schedulers added alongside torch parity."""
    def first_group(make, steps):
        o, _ = _optimizers()
        return [x[0][0] for x in _run(o, make(o), steps)], o

    lrs, _ = first_group(lambda o: ours_sched.ConstantLR(o, factor=0.5, total_iters=2), 3)
    assert lrs == pytest.approx([0.05, 0.05, 0.1, 0.1])
    lrs, _ = first_group(lambda o: ours_sched.PolynomialLR(o, total_iters=4, power=2.0), 5)
    assert lrs == pytest.approx([0.1, 0.1 * 0.75 ** 2, 0.1 * 0.25, 0.1 * 0.25 ** 2, 0, 0])
    lrs, _ = first_group(lambda o: ours_sched.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2), 7)
    assert lrs == pytest.approx([0.1, 0.05, 0.1, 0.1 * (1 + math.cos(math.pi / 4)) / 2, 0.05,
                                 0.1 * (1 + math.cos(3 * math.pi / 4)) / 2, 0.1,
                                 0.1 * (1 + math.cos(math.pi / 8)) / 2])
    lrs, o = first_group(lambda o: ours_sched.CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                       step_size_up=2, mode="triangular2"), 8)
    assert lrs == pytest.approx([0.01, 0.055, 0.1, 0.055, 0.01, 0.0325, 0.055, 0.0325, 0.01])
    assert _momenta(o)[0] == pytest.approx(0.9)          # back at max_momentum at the trough
    lrs, _ = first_group(lambda o: ours_sched.MultiplicativeLR(o, lambda e: 0.5), 3)
    assert lrs == pytest.approx([0.1, 0.05, 0.025, 0.0125])


def test_schedulers_reachable_from_the_package():
    import tinygrad_lite.optim
    for name in ("ConstantLR", "PolynomialLR", "CosineAnnealingWarmRestarts", "CyclicLR",
                 "MultiplicativeLR", "ChainedScheduler"):
        assert name in ours_sched.__all__
        assert issubclass(getattr(tinygrad_lite.optim.lr_scheduler, name), ours_sched.LRScheduler)


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


ROUND_TRIP_ADAM = ("OneCycleLR-three-phase", "CyclicLR-exp-range")


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_state_dict_round_trip(name):
    """Save optimizer and scheduler half way, rebuild both fresh, load, go on: same lrs, and the
    same as torch's uninterrupted run."""
    kind = "Adam" if name in ROUND_TRIP_ADAM else "SGD"
    metrics = _metrics()

    def build(o, lib=ours_sched):
        if name == "ReduceLROnPlateau":
            return lib.ReduceLROnPlateau(o, factor=0.5, patience=1, cooldown=1)
        return CASES[name](lib, o)

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
    lr_at_half = s1.get_last_lr()
    _check_plain(opt_sd)
    _check_plain(sched_sd)
    expected = advance(o1, s1, range(half, total))

    o2, _ = _optimizers(kind)
    s2 = build(o2)              # as torch advises: build the scheduler, then load both
    o2.load_state_dict(opt_sd)
    s2.load_state_dict(sched_sd)
    assert s2.get_last_lr() == lr_at_half
    got = advance(o2, s2, range(half, total))
    _assert_same(got, expected)

    _, o3 = _optimizers(kind)
    s3 = build(o3, theirs_sched)
    advance(o3, s3, range(half))
    _assert_same(got, advance(o3, s3, range(half, total)))


def test_cyclic_state_dict_keeps_scale_fn_object_attributes():
    o, _ = _optimizers()
    scale = _Scale(0.9)
    s = ours_sched.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2, scale_fn=scale)
    sd = s.state_dict()
    assert sd["_scale_fn_custom"] == {"k": 0.9}
    _check_plain(sd)
    sd["_scale_fn_custom"] = {"k": 0.5}
    s.load_state_dict(sd)
    assert scale.k == 0.5
    s = ours_sched.CyclicLR(o, base_lr=0.01, max_lr=0.1, scale_fn=lambda c: 1.0)
    assert s.state_dict()["_scale_fn_custom"] is None


# (name, epochs): None is a plain step(), a number is step(epoch); torch warns about the latter.
EPOCH_CASES = [
    ("ConstantLR", [None, 3, None, None, 9, 2, None, 7, 30, None]),
    ("PolynomialLR", [None, 5, None, 11, 12, 20, None, 3, None]),
    ("MultiplicativeLR", [None, None, 5, None, 2, None]),
    ("CyclicLR-triangular2", [None, 4, None, 13, None, None, 2, 40]),
    ("CosineAnnealingWarmRestarts", [None, None, 26, None, 3, None]),
    ("CosineAnnealingWarmRestarts-mult",
     [e + i / 4 for e in range(12) for i in range(4)] + [None, None, 44, 45.5, None]),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name, epochs", EPOCH_CASES, ids=[c[0] for c in EPOCH_CASES])
def test_step_with_epoch_matches_torch(name, epochs):
    """step(epoch) jumps (closed form where torch has one; fractional for warm restarts)."""
    o_ours, o_theirs = _optimizers()
    s_ours, s_theirs = CASES[name](ours_sched, o_ours), CASES[name](theirs_sched, o_theirs)
    for epoch in epochs:
        for o, s in ((o_ours, s_ours), (o_theirs, s_theirs)):
            o.step()
            s.step() if epoch is None else s.step(epoch)
        assert s_ours.get_last_lr() == s_theirs.get_last_lr(), f"epoch {epoch}"
        assert s_ours.last_epoch == s_theirs.last_epoch
        assert _momenta(o_ours) == pytest.approx(_momenta(o_theirs), rel=1e-15)


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
    with pytest.raises(TypeError, match="StepLR: step_size must be an int, got float 1.5"):
        ours_sched.StepLR(o, step_size=1.5)
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


def _other_optimizer():
    return optim.SGD([tl.zeros(2, requires_grad=True)], lr=0.1)


def _adagrad():
    return optim.Adagrad([tl.zeros(2, requires_grad=True)])


# (scheduler builder over one of our SGD optimizers, error, message pattern)
BAD_NEW = [
    (lambda o: ours_sched.ConstantLR(o, factor=1.5), ValueError, r"ConstantLR: factor .*1\.5"),
    (lambda o: ours_sched.ConstantLR(o, factor=0.0), ValueError, r"ConstantLR: factor .*0\.0"),
    (lambda o: ours_sched.ConstantLR(o, factor="half"), TypeError, "ConstantLR: factor .*half"),
    (lambda o: ours_sched.ConstantLR(o, total_iters=0), ValueError, "ConstantLR: total_iters"),
    (lambda o: ours_sched.ConstantLR(o, total_iters=2.5), TypeError, "ConstantLR: total_iters"),
    (lambda o: ours_sched.ConstantLR(object()), TypeError, "ConstantLR: object is not an Opt"),
    (lambda o: ours_sched.PolynomialLR(o, total_iters=0), ValueError,
     "PolynomialLR: total_iters must be positive, got 0"),
    (lambda o: ours_sched.PolynomialLR(o, power=math.nan), ValueError, "PolynomialLR: power"),
    (lambda o: ours_sched.PolynomialLR(o, power="2"), TypeError, "PolynomialLR: power"),
    (lambda o: ours_sched.CosineAnnealingWarmRestarts(o, T_0=0), ValueError,
     "CosineAnnealingWarmRestarts: T_0 must be positive, got 0"),
    (lambda o: ours_sched.CosineAnnealingWarmRestarts(o, T_0=2.0), TypeError,
     "CosineAnnealingWarmRestarts: T_0 must be an int"),
    (lambda o: ours_sched.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=0), ValueError,
     "CosineAnnealingWarmRestarts: T_mult .* 0"),
    (lambda o: ours_sched.CosineAnnealingWarmRestarts(o, T_0=3, eta_min=None), TypeError,
     "CosineAnnealingWarmRestarts: eta_min .*None"),
    (lambda o: ours_sched.CosineAnnealingWarmRestarts(o, T_0=3).step(-0.5), ValueError,
     r"CosineAnnealingWarmRestarts: epoch must be >= 0, got -0\.5"),
    (lambda o: ours_sched.CyclicLR(o, 0.01, 0.1, mode="sawtooth"), ValueError,
     "CyclicLR: mode .*'sawtooth'"),
    (lambda o: ours_sched.CyclicLR(o, 0.01, 0.1, scale_fn=lambda x: 1.0, scale_mode="epochs"),
     ValueError, "CyclicLR: scale_mode .*'epochs'"),
    (lambda o: ours_sched.CyclicLR(o, 0.01, 0.1, scale_fn=0.5), TypeError,
     "CyclicLR: scale_fn must be a function, got float 0.5"),
    (lambda o: ours_sched.CyclicLR(o, 0.01, 0.1, step_size_up=0), ValueError,
     "CyclicLR: step_size_up .* got 0"),
    (lambda o: ours_sched.CyclicLR(o, 0.01, 0.1, step_size_down=-2), ValueError,
     "CyclicLR: .*step_size_down >= 0, got .* -2"),
    (lambda o: ours_sched.CyclicLR(o, 0.01, 0.1, gamma=math.inf), ValueError, "CyclicLR: gamma"),
    (lambda o: ours_sched.CyclicLR(o, 0.01, [0.1]), ValueError,
     r"CyclicLR: max_lr must have one value per param group \(2\), got 1"),
    (lambda o: ours_sched.CyclicLR(o, [0.1, 0.2, 0.3], 0.5), ValueError, "CyclicLR: base_lr"),
    (lambda o: ours_sched.CyclicLR(o, 0.01, 0.1, base_momentum=[0.8]), ValueError,
     "CyclicLR: base_momentum"),
    (lambda o: ours_sched.CyclicLR(_adagrad(), 0.01, 0.1), ValueError,
     "CyclicLR: cycle_momentum needs an optimizer with momentum or betas; Adagrad"),
    (lambda o: ours_sched.CyclicLR(object(), 0.01, 0.1), TypeError, "CyclicLR: object is not"),
    (lambda o: ours_sched.MultiplicativeLR(o, 0.9), TypeError,
     "MultiplicativeLR: lr_lambda must be a function .*float 0.9"),
    (lambda o: ours_sched.MultiplicativeLR(o, [lambda e: 1.0]), ValueError,
     r"MultiplicativeLR: lr_lambda must have one value per param group \(2\), got 1"),
    (lambda o: ours_sched.MultiplicativeLR(None, lambda e: 1.0), TypeError,
     "MultiplicativeLR: NoneType is not an Optimizer"),
    (lambda o: ours_sched.ChainedScheduler([]), ValueError,
     "ChainedScheduler: expects at least one scheduler"),
    (lambda o: ours_sched.ChainedScheduler([ours_sched.StepLR(o, 2), object()]), TypeError,
     r"ChainedScheduler: scheduler 1 \(object\) has no optimizer"),
    (lambda o: ours_sched.ChainedScheduler([ours_sched.ReduceLROnPlateau(o)]), ValueError,
     "ChainedScheduler: scheduler 0 is a ReduceLROnPlateau"),
    (lambda o: ours_sched.ChainedScheduler(
        [ours_sched.StepLR(o, 2), ours_sched.StepLR(_other_optimizer(), 2)]), ValueError,
     r"ChainedScheduler: scheduler 1 \(StepLR\) belongs to another optimizer"),
    (lambda o: ours_sched.ChainedScheduler([ours_sched.StepLR(o, 2)],
                                           optimizer=_other_optimizer()), ValueError,
     r"ChainedScheduler: scheduler 0 \(StepLR\) belongs to another optimizer"),
]


@pytest.mark.parametrize("build, error, pattern", BAD_NEW, ids=[c[2] for c in BAD_NEW])
def test_bad_arguments_of_new_schedulers_raise(build, error, pattern):
    o, _ = _optimizers()
    with pytest.raises(error, match=pattern):
        build(o)
