"""The CPU convolution algorithms (direct im2col, Winograd F(2x2,3x3), F(4x4,3x3)) side by side.

Every algorithm is held to torch in float64 and to the float64 direct conv, output and both
gradients under a random upstream gradient, at the tolerance docs/benchmarks.md states for it:
max |error| / max |exact value| (a normwise relative error, since Winograd's error scales with
the largest values, not with each one). The direct path stays the reference beside the others.
"""
import numpy as np
import pytest
from helpers import to_numpy, torch

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn
from tinygrad_lite.backend import intraop
from tinygrad_lite.ops import winograd as W

TF = torch.nn.functional
ALGOS = ["direct", "winograd2", "winograd4"]
# documented float32 tolerances, normwise (measured: direct and F(2x2) <= 7e-7, F(4x4) 1.6e-6 at
# 16 channels to 1.7e-5 at 512)
TOL32 = {"direct": 5e-6, "winograd2": 5e-6, "winograd4": 1e-4}


@pytest.fixture
def algorithm():
    """Sets tl.backends.cpu.conv_algorithm for one test and restores it afterwards."""
    before = tl.backends.cpu.conv_algorithm

    def use(name):
        tl.backends.cpu.conv_algorithm = name
    yield use
    tl.backends.cpu.conv_algorithm = before


@pytest.fixture
def calls(monkeypatch):
    """Counts the Winograd forward and backward passes that run."""
    seen = {"forward": 0, "backward": 0}
    fwd, bwd = W.conv_forward, W.conv_backward

    def forward(*a, **k):
        seen["forward"] += 1
        return fwd(*a, **k)

    def backward(*a, **k):
        seen["backward"] += 1
        return bwd(*a, **k)
    monkeypatch.setattr(W, "conv_forward", forward)
    monkeypatch.setattr(W, "conv_backward", backward)
    return seen


def normwise(ours, exact) -> float:
    a, b = to_numpy(ours).astype(np.float64), to_numpy(exact).astype(np.float64)
    assert a.shape == b.shape
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def _data(xs, ws, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs)
    w = rng.standard_normal(ws) / np.sqrt(9 * ws[1])
    b = rng.standard_normal(ws[0])
    return x, w, b


def _ours(x, w, b, padding, dtype):
    xo, wo, bo = (tl.tensor(a.astype(dtype), requires_grad=True) for a in (x, w, b))
    return (xo, wo, bo), F.conv2d(xo, wo, bo, padding=padding)


# odd sizes, padding 0/1, batch 1, widths that are and are not multiples of the tiles
CASES = [
    ((1, 16, 7, 9), (8, 16, 3, 3), 1),
    ((2, 16, 8, 8), (16, 16, 3, 3), 0),
    ((3, 20, 5, 11), (6, 20, 3, 3), 1),
    ((1, 3, 3, 3), (4, 3, 3, 3), 0),            # a single output pixel
    ((2, 32, 16, 13), (12, 32, 3, 3), 1),
    ((1, 8, 17, 6), (5, 8, 3, 3), (1, 0)),      # padding differing per axis
]


@pytest.mark.parametrize("algo", ALGOS)
@pytest.mark.parametrize("xs,ws,padding", CASES)
def test_float32_algorithm_matches_torch_and_float64_direct(algorithm, calls, algo, xs, ws,
                                                            padding):
    x, w, b = _data(xs, ws)
    g = np.random.default_rng(1).standard_normal(
        (xs[0], ws[0]) + tuple(TF.conv2d(torch.from_numpy(x), torch.from_numpy(w),
                                         padding=padding).shape[2:]))
    # torch in float64
    xt, wt, bt = (torch.from_numpy(a).requires_grad_(True) for a in (x, w, b))
    yt = TF.conv2d(xt, wt, bt, padding=padding)
    yt.backward(torch.from_numpy(g))
    # our float64 direct conv
    algorithm("direct")
    ins64, y64 = _ours(x, w, b, padding, np.float64)
    y64.backward(tl.tensor(g))
    # the algorithm under test in float32
    algorithm(algo)
    ins, y = _ours(x, w, b, padding, np.float32)
    y.backward(tl.tensor(g.astype(np.float32)))
    assert y.dtype == np.float32 and all(t.grad.dtype == np.float32 for t in ins)
    assert calls["forward"] == (algo != "direct") and calls["backward"] == (algo != "direct")
    for name, ours, ref64, reft in [("y", y, y64, yt), ("dx", ins[0].grad, ins64[0].grad, xt.grad),
                                    ("dw", ins[1].grad, ins64[1].grad, wt.grad),
                                    ("db", ins[2].grad, ins64[2].grad, bt.grad)]:
        assert normwise(ours, reft) <= TOL32[algo], (name, normwise(ours, reft))
        assert normwise(ours, ref64) <= TOL32[algo], (name, normwise(ours, ref64))
        assert normwise(ref64, reft) <= 1e-12, name


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("xs,ws,padding", CASES + [((2, 4, 6, 7), (3, 4, 3, 3), (2, 2, 0, 1))])
def test_winograd_algebra_is_exact_in_float64(m, xs, ws, padding):
    """Run in float64, the transforms and their adjoints equal the convolution to rounding."""
    x, w, b = _data(xs, ws)
    if isinstance(padding, int):
        pads = (padding,) * 4
    elif len(padding) == 2:
        pads = (padding[0], padding[0], padding[1], padding[1])
    else:
        pads = padding
    xt, wt = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(w).requires_grad_(True)
    xpad = TF.pad(xt, (pads[2], pads[3], pads[0], pads[1]))
    yt = TF.conv2d(xpad, wt, torch.from_numpy(b))
    g = np.random.default_rng(2).standard_normal(tuple(yt.shape))
    yt.backward(torch.from_numpy(g))
    y, vs = W.conv_forward(x, w, b, pads, m, keep_v=True)
    dx, dw = W.conv_backward(g, w, x, x.shape, pads, m, need_dw=True, vs=vs)
    _, dw2 = W.conv_backward(g, None, x, x.shape, pads, m, need_dx=False, need_dw=True)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(dw, wt.grad.numpy(), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(dw2, dw, rtol=1e-11, atol=1e-11)


def test_choice_rule(algorithm):
    f32, f64 = np.dtype(np.float32), np.dtype(np.float64)

    def choose(xs, ws=(8, None, 3, 3), dtype=f32, stride=(1, 1), dilation=(1, 1), groups=1,
               device="cpu"):
        return W.choose(xs, (ws[0], xs[1]) + ws[2:], dtype, stride, dilation, groups, device)
    algorithm("auto")
    assert choose((64, 3, 32, 32)) == "direct"            # C_in <= 8: im2col
    assert choose((64, 8, 32, 32)) == "direct"
    assert choose((64, 12, 32, 32)) == "direct"
    assert choose((64, 32, 16, 16)) == "winograd4"
    assert choose((64, 16, 8, 12)) == "winograd4"         # multiples of 4
    assert choose((64, 16, 17, 19)) == "winograd4"        # >= 16
    assert choose((64, 16, 14, 14)) == "winograd2"
    assert choose((64, 64, 16, 7)) == "winograd2"
    assert choose((64, 32, 16, 16), dtype=f64) == "direct"
    assert choose((64, 32, 16, 16), device="cuda") == "direct"
    assert choose((64, 32, 16, 16), stride=(2, 2)) == "direct"
    assert choose((64, 32, 16, 16), dilation=(1, 2)) == "direct"
    assert choose((64, 32, 16, 16), groups=2) == "direct"
    assert choose((64, 32, 16, 16), ws=(8, None, 5, 5)) == "direct"
    assert choose((8, 256, 8, 8)) == "direct"             # 32 tiles: too few for Winograd
    assert choose((1, 64, 16, 16)) == "direct"
    assert choose((8, 64, 16, 16)) == "winograd4"         # 128 tiles
    algorithm("winograd2")
    assert choose((1, 3, 5, 5)) == "winograd2"            # forced: wherever Winograd applies
    assert choose((1, 3, 5, 5), dtype=f64) == "direct"    # float64 always direct
    assert choose((1, 3, 5, 5), stride=(2, 1)) == "direct"
    algorithm("direct")
    assert choose((64, 32, 16, 16)) == "direct"


def test_switch_checks_its_value(algorithm):
    assert tl.backends.cpu.conv_algorithm == "auto"
    algorithm("winograd4")
    assert tl.backends.cpu.conv_algorithm == "winograd4" == W.get_algorithm()
    with pytest.raises(ValueError, match="conv_algorithm.*'auto', 'direct'"):
        tl.backends.cpu.conv_algorithm = "fast"
    assert tl.backends.cpu.conv_algorithm == "winograd4"


def test_auto_runs_winograd_where_the_rule_says(algorithm, calls):
    algorithm("auto")
    F.conv2d(tl.randn(2, 3, 8, 8), tl.randn(4, 3, 3, 3), padding=1)
    F.conv2d(tl.randn(2, 16, 8, 8, dtype=tl.float64), tl.randn(4, 16, 3, 3, dtype=tl.float64))
    assert calls["forward"] == 0
    F.conv2d(tl.randn(2, 16, 8, 8), tl.randn(4, 16, 3, 3), padding=1)    # 8 tiles: direct
    assert calls["forward"] == 0
    y = F.conv2d(tl.randn(32, 16, 8, 8), tl.randn(4, 16, 3, 3), padding=1)
    assert calls["forward"] == 1
    # channels-last inside, NCHW-shaped outside
    assert y.shape == (32, 4, 8, 8) and y._data.transpose(0, 2, 3, 1).flags.c_contiguous


def test_cuda_keeps_its_own_path(algorithm, calls, device):
    algorithm("winograd4")
    x = tl.randn(2, 16, 8, 8, device=device, requires_grad=True)
    w = tl.randn(8, 16, 3, 3, device=device, requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    (y * y).sum().backward()
    assert calls["forward"] == calls["backward"] == (1 if device == "cpu" else 0)
    assert x.grad.shape == x.shape and w.grad.shape == w.shape


@pytest.mark.parametrize("algo", ["winograd2", "winograd4"])
def test_double_backward_matches_torch(algorithm, algo):
    """create_graph=True through the Winograd passes (they differentiate into each other)."""
    algorithm(algo)
    x, w, _ = _data((2, 16, 6, 6), (4, 16, 3, 3))
    xo, wo = tl.tensor(x.astype(np.float32), requires_grad=True), \
        tl.tensor(w.astype(np.float32), requires_grad=True)
    xt, wt = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(w).requires_grad_(True)
    gx, gw = tl.autograd.grad((F.conv2d(xo, wo, padding=1) ** 2).sum(), (xo, wo),
                              create_graph=True)
    gxt, gwt = torch.autograd.grad((TF.conv2d(xt, wt, padding=1) ** 2).sum(), (xt, wt),
                                   create_graph=True)
    ((gx ** 2).sum() + (gw ** 2).sum()).backward()
    ((gxt ** 2).sum() + (gwt ** 2).sum()).backward()
    for ours, ref in [(gx, gxt), (gw, gwt), (xo.grad, xt.grad), (wo.grad, wt.grad)]:
        assert normwise(ours, ref) <= TOL32[algo] * 4


def test_switch_between_forward_and_backward_keeps_the_forward_algorithm(algorithm):
    x, w, b = _data((2, 16, 8, 8), (8, 16, 3, 3))
    algorithm("winograd4")
    ins, y = _ours(x, w, b, 1, np.float32)
    algorithm("direct")
    y.sum().backward()
    xt, wt = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(w).requires_grad_(True)
    TF.conv2d(xt, wt, torch.from_numpy(b), padding=1).sum().backward()
    assert normwise(ins[0].grad, xt.grad) <= TOL32["winograd4"]
    assert normwise(ins[1].grad, wt.grad) <= TOL32["winograd4"]


@pytest.mark.parametrize("algo", ["winograd2", "winograd4"])
def test_chunks_and_threads_give_the_same_numbers(algorithm, monkeypatch, algo):
    """Many chunks over 1, 2 or 3 threads, V kept or recomputed: same output and gradients."""
    algorithm(algo)
    x, w, b = _data((5, 16, 9, 10), (8, 16, 3, 3))
    before = intraop.threads()
    results = []
    try:
        for threads, chunk, keep in [(1, 1 << 20, 1 << 26), (2, 5000, 1 << 26), (3, 5000, 0),
                                     (2, 1, 1 << 26), (2, 5000, 1 << 26)]:
            intraop.set_threads(threads)
            monkeypatch.setattr(W, "CHUNK_BYTES", chunk)
            monkeypatch.setattr("tinygrad_lite.ops.conv.KEEP_V_BYTES", keep)
            ins, y = _ours(x, w, b, 1, np.float32)
            (y * y).sum().backward()
            results.append([to_numpy(t) for t in (y, ins[0].grad, ins[1].grad, ins[2].grad)])
    finally:
        intraop.set_threads(before)
    for other in results[1:]:
        for a, r in zip(other, results[0]):     # the weight gradient sums in another order
            assert normwise(a, r) <= TOL32[algo] / 5
    for a, r in zip(results[4], results[1]):    # one setting, one answer, however threads run
        np.testing.assert_array_equal(a, r)


def test_parallel_for_keeps_order_and_runs_nested_serially():
    before = intraop.threads()
    try:
        intraop.set_threads(3)
        inner = []
        out = intraop.parallel_for(lambda i: (i, intraop.parallel_for(lambda j: j, 2)), 5)
        assert [o[0] for o in out] == list(range(5)) and all(o[1] == [0, 1] for o in out)
        with pytest.raises(ZeroDivisionError):
            intraop.parallel_for(lambda i: 1 // (i - 3), 4)
        intraop.set_threads(1)
        assert intraop.parallel_for(lambda i: inner.append(i) or i * 2, 3) == [0, 2, 4]
    finally:
        intraop.set_threads(before)


def test_set_num_threads_sizes_the_intra_op_pool():
    pytest.importorskip("threadpoolctl")
    before = tl.get_num_threads()
    try:
        tl.set_num_threads(1)
        assert intraop.threads() == 1 and tl.get_num_threads() == 1
        tl.set_num_threads(2)
        assert intraop.threads() == 2
    finally:
        tl.set_num_threads(max(1, before))


@pytest.mark.parametrize("algo", ALGOS)
def test_cnn_block_matches_torch(algorithm, algo):
    """Conv (channels-last out of Winograd) -> ReLU -> MaxPool -> Flatten -> Linear, vs torch."""
    algorithm(algo)
    torch.manual_seed(0)

    def build(fw):
        return fw.nn.Sequential(fw.nn.Conv2d(3, 16, 3, padding=1), fw.nn.ReLU(),
                                fw.nn.Conv2d(16, 16, 3, padding=1), fw.nn.ReLU(),
                                fw.nn.MaxPool2d(2), fw.nn.Flatten(), fw.nn.Linear(16 * 16, 5))
    ref = build(torch)
    ours = build(tl)
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((4, 3, 8, 8)).astype(np.float32)
    xo, xt = tl.tensor(x, requires_grad=True), torch.from_numpy(x).requires_grad_(True)
    lo, lt = ours(xo), ref(xt)
    (lo ** 2).sum().backward()
    (lt ** 2).sum().backward()
    assert normwise(lo, lt) <= TOL32[algo] * 10
    assert normwise(xo.grad, xt.grad) <= TOL32[algo] * 10
    for (name, p), (_, pt) in zip(ours.named_parameters(), ref.named_parameters()):
        assert normwise(p.grad, pt.grad) <= TOL32[algo] * 10, name
    assert isinstance(ours[0], nn.Conv2d)


@pytest.mark.parametrize("name", ["resnet_block", "conv2d_64_32", "conv2d_128_16",
                                  "sweep_3_32_32_b64", "sweep_16_16_14_b32"])
def test_new_benchmark_workloads_agree_before_timing(name):
    """The conv sweep and the ResNet-style block do the same work on both sides."""
    from benchmarks.workloads import all_workloads
    w = next(w for w in all_workloads() if w.name == name)
    ours, theirs = w.build("ours", "cpu", True), w.build("torch", "cpu", True)
    np.testing.assert_allclose(ours.value(), theirs.value(), rtol=1e-3, atol=1e-3)
    if w.suite == "models":
        ours.step()
        theirs.step()
        np.testing.assert_allclose(ours.value(), theirs.value(), rtol=1e-3)


@pytest.mark.parametrize("algo", ALGOS)
def test_retain_graph_backward_twice_gives_the_same_gradients(algorithm, algo):
    """The kept V (or columns) go with the first backward; the second recomputes them."""
    algorithm(algo)
    x, w, b = _data((2, 16, 8, 8), (4, 16, 3, 3))
    ins, y = _ours(x, w, b, 1, np.float32)
    loss = (y * y).sum()
    loss.backward(retain_graph=True)
    first = [to_numpy(t.grad).copy() for t in ins]
    for t in ins:
        t.grad = None
    loss.backward()
    for t, g in zip(ins, first):
        assert normwise(t.grad, g) <= TOL32[algo] / 5


@pytest.mark.parametrize("xs,ws,kw", [
    ((5, 3, 9, 8), (4, 3, 3, 3), dict(padding=1)),
    ((4, 4, 18, 17), (6, 2, 3, 2), dict(padding=(2, 1), dilation=(2, 1), groups=2)),  # flat dx
    ((3, 4, 9, 10), (6, 2, 3, 2), dict(stride=(2, 3), padding=(1, 0), groups=2)),      # strided
])
def test_direct_conv_split_over_threads_matches_one_part(algorithm, monkeypatch, xs, ws, kw):
    """The direct conv's batch split over the intra-op pool: same numbers as one part."""
    algorithm("direct")
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    before = intraop.threads()
    results = []
    try:
        for threads, split in [(1, 1 << 40), (2, 0), (3, 0)]:
            intraop.set_threads(threads)
            monkeypatch.setattr("tinygrad_lite.ops.conv.SPLIT_BYTES", split)
            xo, wo = tl.tensor(x, requires_grad=True), tl.tensor(w, requires_grad=True)
            y = F.conv2d(xo, wo, **kw)
            (y * y).sum().backward()
            results.append([to_numpy(t) for t in (y, xo.grad, wo.grad)])
    finally:
        intraop.set_threads(before)
    xt, wt = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(w).requires_grad_(True)
    yt = TF.conv2d(xt, wt, **kw)
    (yt * yt).sum().backward()
    for res in results:
        for a, r in zip(res, (yt, xt.grad, wt.grad)):
            np.testing.assert_allclose(a, to_numpy(r), rtol=1e-9, atol=1e-9)


def test_regions_pin_the_blas_in_the_main_thread_and_run_serially_elsewhere(monkeypatch):
    """A split region runs with the BLAS at one thread and restores it; one entered from another
    thread runs serially and leaves the BLAS alone (its count is process-wide)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import threading
    # the pool's controller knows the BLAS libraries loaded when it was made; an earlier test may
    # have made it before another one (scipy's) was loaded, which blas_threads below also reads
    monkeypatch.setattr(intraop, "_controller", None)

    def blas_threads():
        return max(p["num_threads"] for p in threadpoolctl.threadpool_info()
                   if p.get("user_api") == "blas")
    before = intraop.threads()
    try:
        intraop.set_threads(2)
        with threadpoolctl.threadpool_limits(2, user_api="blas"):
            names = intraop.parallel_for(
                lambda i: (threading.current_thread().name, blas_threads()), 2)
            assert names[0][0] == threading.main_thread().name and names[0][1] == 1
            assert names[1][0].startswith("tl-intraop") and names[1][1] == 1
            assert blas_threads() == 2
            seen = []
            t = threading.Thread(target=lambda: seen.extend(intraop.parallel_for(
                lambda i: threading.current_thread().name, 3)))
            t.start()
            t.join()
            assert seen == [t.name] * 3
            assert blas_threads() == 2
    finally:
        intraop.set_threads(before)


def test_benchmark_switches_and_the_ab_tool_run(tmp_path):
    """--only and --conv-algorithm reach the run (and its JSON); conv_ab prints each algorithm."""
    import json
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = tmp_path / "bench"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "mlp",
                           "--conv-algorithm", "direct", "--no-memory", "--repeat", "1",
                           "--out", str(out)], cwd=root, capture_output=True, text=True,
                          check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads((out / "results.json").read_text())
    assert [r["name"] for r in result["rows"]] == ["mlp"]
    assert result["machine"]["conv_algorithm"] == "direct"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.conv_ab", "--repeat", "1",
                           "--only", "conv2d"], cwd=root, capture_output=True, text=True,
                          check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line.split() for line in proc.stdout.splitlines()[1:]]
    assert [r[:2] for r in rows] == [["conv2d", "direct"], ["conv2d", "auto"]]


def test_pinned_serial_region_runs_with_one_blas_thread(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    monkeypatch.setattr(intraop, "_controller", None)   # one that knows every BLAS loaded now

    def blas_threads(_=None):
        return max(p["num_threads"] for p in threadpoolctl.threadpool_info()
                   if p.get("user_api") == "blas")
    before = intraop.threads()
    try:
        intraop.set_threads(2)
        with threadpoolctl.threadpool_limits(2, user_api="blas"):
            assert intraop.parallel_for(blas_threads, 1, pin=True) == [1]
            assert intraop.parallel_for(blas_threads, 1) == [2]
            assert blas_threads() == 2
    finally:
        intraop.set_threads(before)
