"""The surface that ported scripts call unconditionally: devices and switches, legacy types,
tl.compile, and small idioms that real programs hit. Each against torch where torch has one."""
import warnings

import numpy as np
import pytest
import torch

import tinygrad_lite as tl
import tinygrad_lite.nn as nn
from tinygrad_lite.backend import kernels


def test_device_queries_answer_like_torch_without_a_gpu():
    if tl.cuda.is_available():
        assert tl.cuda.device_count() == 1 and tl.accelerator.is_available()
        assert tl.accelerator.current_accelerator() == "cuda"
        assert isinstance(tl.cuda.get_device_name(), str)
        assert tl.cuda.memory_allocated() >= 0 and tl.cuda.memory_reserved() >= 0
    else:
        assert tl.cuda.device_count() == 0 == torch.cuda.device_count()
        assert tl.accelerator.current_accelerator() is None
        assert tl.accelerator.device_count() == 0
        assert tl.cuda.memory_allocated() == 0
        with pytest.raises(RuntimeError, match="cuda"):
            tl.cuda.get_device_name()
    assert tl.backends.mps.is_available() is False and tl.backends.mps.is_built() is False
    tl.cuda.synchronize()
    tl.cuda.empty_cache()
    tl.cuda.manual_seed(3)
    tl.cuda.manual_seed_all(3)
    x = tl.ones(2)
    assert x.is_cpu and not x.is_cuda and not x.is_mps and not x.is_xpu and not x.is_meta


def test_tf32_switches_reach_the_kernels():
    saved = (tl.backends.cudnn.allow_tf32, tl.backends.cuda.matmul.allow_tf32)
    assert saved == (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    try:
        tl.backends.cudnn.allow_tf32 = False
        assert kernels._mode("float", family="conv") == kernels.MODE_EXACT
        tl.backends.cuda.matmul.allow_tf32 = True
        assert kernels._mode("float", family="attention") == kernels.MODE_TF32
        assert tl.backends.cuda.matmul.allow_tf32 is True
    finally:
        tl.backends.cudnn.allow_tf32, tl.backends.cuda.matmul.allow_tf32 = saved
    tl.backends.cudnn.benchmark = True          # remembered, changes nothing
    tl.backends.cudnn.deterministic = True
    assert tl.backends.cudnn.benchmark and tl.backends.cudnn.deterministic
    tl.backends.cudnn.benchmark = tl.backends.cudnn.deterministic = False
    with tl.backends.cuda.sdp_kernel(enable_flash=False):
        assert not tl.backends.cuda.flash_sdp_enabled()
    assert tl.backends.cuda.flash_sdp_enabled()


def test_compile_returns_the_model():
    model = nn.Linear(2, 2)
    assert tl.compile(model) is model
    assert tl.compile(model, mode="max-autotune", fullgraph=True) is model

    @tl.compile()
    def f(x):
        return x + 1
    assert f(tl.ones(1)).item() == 2.0


@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor",
                                  "BoolTensor", "ByteTensor", "HalfTensor", "ShortTensor"])
def test_legacy_tensor_types(name):
    ours, theirs = getattr(tl, name), getattr(torch, name)
    a, b = ours(2, 3), theirs(2, 3)
    assert a.shape == tuple(b.shape) and str(a.dtype) == str(b.dtype).replace("torch.", "")
    data = [[1, 0, 2]]
    np.testing.assert_array_equal(ours(data).numpy(), theirs(data).numpy())
    assert str(ours(data).dtype) == str(theirs(data).dtype).replace("torch.", "")
    assert isinstance(ours(data), ours) and not isinstance(tl.ones(1, dtype=tl.int8), ours)
    assert isinstance(tl.ones(2), tl.FloatTensor)
    assert not isinstance(tl.ones(2), tl.cuda.FloatTensor)


def test_inplace_on_a_reductions_result():
    for ours, theirs in ((tl.ones(3), torch.ones(3)),):
        s, t = ours.sum(), theirs.sum()
        s += 1
        t += 1
        s.mul_(2)
        t.mul_(2)
        assert s.item() == t.item() == 8.0


def test_repeat_copies_so_in_place_works():
    x = tl.tensor([1.0, 2.0, 3.0])
    y = x.repeat(2, 1).div_(2)
    np.testing.assert_array_equal(y.numpy(), torch.tensor([1.0, 2.0, 3.0]).repeat(2, 1).div_(2))
    assert x.numpy().tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("fn", ["zeros", "ones", "empty", "rand", "randn"])
def test_size_keyword(fn):
    assert getattr(tl, fn)(size=(2, 3)).shape == tuple(getattr(torch, fn)(size=(2, 3)).shape)
    with pytest.raises(TypeError, match=fn):
        getattr(tl, fn)(2, size=(2, 3))


def test_format_of_tensors():
    loss = tl.tensor(0.123456)
    assert f"{loss:.4f}" == f"{torch.tensor(0.123456):.4f}" == "0.1235"
    assert f"{tl.tensor(3)}" == "3" == f"{torch.tensor(3)}"
    assert format(tl.ones(2), "") == repr(tl.ones(2))
    with pytest.raises(TypeError, match="format"):
        f"{tl.ones(2):.2f}"


def test_dropout2d_on_2d_input_warns_and_drops_elementwise():
    d = nn.Dropout2d(0.5)
    x = tl.ones(64, 32)
    with pytest.warns(UserWarning, match="2-D"):
        y = d(x).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert len({tuple(row) for row in (y == 0)}) > 1       # not whole rows: elementwise
    d.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(d(x).numpy(), x.numpy())


def test_default_dtype_reaches_every_layer():
    tl.set_default_dtype(tl.float64)
    torch.set_default_dtype(torch.float64)
    try:
        for make in (lambda m: m.Linear(2, 3), lambda m: m.Conv2d(1, 2, 3),
                     lambda m: m.LSTM(2, 3), lambda m: m.Embedding(3, 2),
                     lambda m: m.LayerNorm(3), lambda m: m.MultiheadAttention(4, 2),
                     lambda m: m.BatchNorm1d(3), lambda m: m.GRU(2, 2)):
            ours, theirs = make(nn), make(torch.nn)
            assert [str(p.dtype) for p in ours.parameters()] == \
                [str(p.dtype).replace("torch.", "") for p in theirs.parameters()]
    finally:
        tl.set_default_dtype(tl.float32)
        torch.set_default_dtype(torch.float32)


# -- GradScaler: torch's scale trajectory, skipped steps and state ------------------------------
def _scaler_run(fw, make_scaler, inf_steps):
    fw.manual_seed(0)
    w = fw.tensor(np.linspace(-1, 1, 6).reshape(2, 3).astype(np.float32), requires_grad=True)
    opt = fw.optim.SGD([w], lr=0.1, momentum=0.9)
    scaler = make_scaler()
    x = fw.tensor(np.arange(6, dtype=np.float32).reshape(2, 3) / 6)
    scales, losses = [], []
    for step in range(12):
        opt.zero_grad()
        loss = ((w @ x.T) ** 2).mean()
        if step in inf_steps:
            loss = loss * float("inf")
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
        losses.append(float(((w @ x.T) ** 2).mean().item()))
    return scales, losses, w.detach().numpy(), scaler.state_dict()


def test_grad_scaler_matches_torch_with_injected_infs():
    kw = dict(init_scale=2.0**10, growth_factor=2.0, backoff_factor=0.5, growth_interval=3)
    ours = _scaler_run(tl, lambda: tl.amp.GradScaler("cpu", **kw), {2, 3, 7})
    theirs = _scaler_run(torch, lambda: torch.amp.GradScaler("cpu", **kw), {2, 3, 7})
    assert ours[0] == theirs[0]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-5)
    assert ours[3] == theirs[3]


def test_grad_scaler_disabled_and_misuse():
    w = tl.ones(2, requires_grad=True)
    opt = tl.optim.SGD([w], lr=0.1)
    off = tl.amp.GradScaler("cpu", enabled=False)
    loss = (w * 2).sum()
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    if not tl.cuda.is_available():
        with pytest.warns(UserWarning, match="not available"):
            assert not tl.cuda.amp.GradScaler().is_enabled()
    on = tl.amp.GradScaler("cpu")
    on.scale((w * 2).sum()).backward()
    on.unscale_(opt)
    with pytest.raises(RuntimeError, match="already called"):
        on.unscale_(opt)
    on.step(opt)
    on.update()
    with pytest.raises(RuntimeError, match="no inf checks"):
        on.update()
