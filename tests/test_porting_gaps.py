"""Gaps found by porting real PyTorch programs with only their imports swapped, each held to
torch: where() of two numbers, torch.nn.modules paths in safe_globals lists, a ResNet stem and
first block (in-place ReLU and residual, max-pool ties) against torch's gradients."""
import numpy as np
import pytest
import torch

import tinygrad_lite as tl
from helpers import assert_close

# -- where(cond, number, number) -------------------------------------------------------------

_NUMBERS = [True, False, 1, 0, -3, 1.0, 0.0, 2.5, np.float64(1.5), np.int32(2)]


@pytest.mark.parametrize("default", ["float32", "float64"])
def test_where_two_numbers_takes_torch_dtype(device, default):
    cond = np.array([[True, False, True], [False, False, True]])
    before = tl.get_default_dtype()
    tl.set_default_dtype(getattr(tl, default))
    torch.set_default_dtype(getattr(torch, default))
    try:
        for a in _NUMBERS:
            for b in _NUMBERS:
                ours = tl.where(tl.tensor(cond, device=device), a, b)
                theirs = torch.where(torch.tensor(cond), a, b)
                assert str(ours.dtype) == str(theirs.dtype).split(".")[1], (a, b)
                assert ours.device == tl.device(device)
                assert not ours.requires_grad
                np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    finally:
        tl.set_default_dtype(before)
        torch.set_default_dtype(torch.float32)


def test_where_two_numbers_as_the_siamese_test_loop_uses_it(device):
    out = tl.tensor([0.2, 0.7, 0.5, 0.9], device=device)
    pred = tl.where(out > 0.5, 1, 0)
    assert pred.dtype == tl.int64 and pred.tolist() == [0, 1, 0, 1]
    assert tl.where(out > 0.5, 1.0, 0).dtype == tl.float32
    assert tl.where(out > 0.5, True, False).dtype == tl.bool


@pytest.mark.parametrize("dtype", ["int64", "float32", "float64", "bool"])
@pytest.mark.parametrize("value", [5, 5.0, True])
def test_tensor_where_with_a_number(device, dtype, value):
    cond = np.array([True, False, True])
    x = np.array([1, 0, 3]).astype(dtype)
    ours = tl.tensor(x, device=device).where(tl.tensor(cond, device=device), value)
    theirs = torch.tensor(x).where(torch.tensor(cond), value)
    assert str(ours.dtype) == str(theirs.dtype).split(".")[1]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_where_refuses_what_torch_refuses():
    with pytest.raises(TypeError, match="where: expected a condition Tensor"):
        tl.where(True, 1, 0)
    with pytest.raises(TypeError, match="where: expected a condition Tensor"):
        tl.where(tl.tensor([True]), "a", 0)
    with pytest.raises(TypeError, match="where: unsupported scalar types"):
        tl.where(tl.tensor([True]), np.complex128(1j), 0)


# -- torch.nn.modules paths, as word_language_model lists them for torch.load ------------------

_WLM_GLOBALS = ["dropout.Dropout", "linear.Linear", "linear.NonDynamicallyQuantizableLinear",
                "normalization.LayerNorm", "sparse.Embedding", "rnn.GRU", "rnn.LSTM", "rnn.RNN",
                "activation.MultiheadAttention", "container.ModuleList",
                "transformer.TransformerEncoder", "transformer.TransformerEncoderLayer"]


def _resolve(lib, dotted):
    obj = lib.nn.modules
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("dotted", _WLM_GLOBALS)
def test_nn_modules_paths_resolve_like_torch(dotted):
    ours, theirs = _resolve(tl, dotted), _resolve(torch, dotted)
    assert isinstance(ours, type) and ours.__name__ == theirs.__name__
    assert issubclass(ours, tl.nn.Module)
    # pickles of whole models name the class by this path, as torch's name torch.nn.modules.*
    assert ours.__module__ == "tinygrad_lite.nn.modules." + dotted.split(".")[0]
    assert theirs.__module__ == "torch.nn.modules." + dotted.split(".")[0]


def test_non_dynamically_quantizable_linear_is_a_linear():
    NDQ = tl.nn.modules.linear.NonDynamicallyQuantizableLinear
    m = NDQ(4, 3)
    assert isinstance(m, tl.nn.Linear) and m.weight.shape == (3, 4) and m.bias.shape == (3,)
    assert type(tl.nn.MultiheadAttention(8, 2).out_proj) is NDQ
    assert type(torch.nn.MultiheadAttention(8, 2).out_proj).__name__ == NDQ.__name__
    # as in torch, the name stays out of nn's namespace
    assert not hasattr(tl.nn, "NonDynamicallyQuantizableLinear")
    assert hasattr(tl.nn, "NonDynamicallyQuantizableLinear") == \
        hasattr(torch.nn, "NonDynamicallyQuantizableLinear")


def test_safe_globals_takes_the_module_paths_and_loads_a_whole_model(tmp_path):
    classes = [_resolve(tl, d) for d in _WLM_GLOBALS]
    enc = tl.nn.TransformerEncoder(tl.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), 1)
    model = tl.nn.ModuleList([tl.nn.Embedding(5, 8), enc, tl.nn.LSTM(8, 8), tl.nn.Linear(8, 5)])
    path = tmp_path / "model.pt"
    tl.save(model, str(path))
    with pytest.raises(Exception, match="weights_only"):
        tl.load(str(path))
    before = tl.serialization.get_safe_globals()
    with tl.serialization.safe_globals(classes + [tl.nn.functional.relu]):
        back = tl.load(str(path))
    assert tl.serialization.get_safe_globals() == before
    x = tl.tensor([[1, 2, 3]])
    model.eval()
    back.eval()
    assert_close(back[1](back[0](x)), model[1](model[0](x)), rtol=0, atol=0)


# -- a ResNet stem and first block against torch, float64, random upstream gradients -----------

def _stem_and_block(lib, x, w0, w1, w2, g, inplace_residual):
    F = lib.nn.functional
    T = (lambda a: lib.tensor(a, dtype=lib.float64, requires_grad=True))
    X, W0, W1, W2 = T(x), T(w0), T(w1), T(w2)
    bns = [lib.nn.BatchNorm2d(w0.shape[0]).double() for _ in range(3)]
    relu = lib.nn.ReLU(inplace=True)
    outs = []
    for scale in (1.0, -0.5):           # the same modules twice, as a siamese network runs them
        p = lib.nn.MaxPool2d(3, 2, 1)(relu(bns[0](F.conv2d(X * scale, W0, stride=2, padding=3))))
        out = relu(bns[1](F.conv2d(p, W1, padding=1)))
        out = bns[2](F.conv2d(out, W2, padding=1))
        if inplace_residual:
            out += p
        else:
            out = out + p
        outs.append(relu(out))
    y = lib.cat(outs, 1)
    y.backward(lib.tensor(g))
    grads = [X.grad, W0.grad, W1.grad, W2.grad]
    for bn in bns:
        grads += [bn.weight.grad, bn.bias.grad, bn.running_mean, bn.running_var]
    return y.detach(), grads


@pytest.mark.parametrize("inplace_residual", [True, False])
@pytest.mark.parametrize("ties", [False, True])
def test_resnet_stem_and_first_block_gradients_match_torch(inplace_residual, ties):
    rng = np.random.RandomState(0)
    x = rng.randn(3, 1, 16, 16)
    if ties:        # integer pixels and flat patches: max-pool windows with tied maxima
        x = np.round(x)
        x[:, :, 4:10, 4:10] = 1.0
    w0 = rng.randn(6, 1, 7, 7) * 0.3
    w1, w2 = rng.randn(6, 6, 3, 3) * 0.3, rng.randn(6, 6, 3, 3) * 0.3
    g = rng.randn(3, 12, 4, 4)
    ours, og = _stem_and_block(tl, x, w0, w1, w2, g, inplace_residual)
    theirs, tg = _stem_and_block(torch, x, w0, w1, w2, g, inplace_residual)
    assert_close(ours, theirs, msg="output")
    for i, (a, b) in enumerate(zip(og, tg)):
        assert_close(a, b, msg=f"gradient/statistic {i}")


def test_max_pool_ties_send_the_gradient_to_the_first_maximum_as_torch(device):
    x = np.zeros((1, 2, 5, 5))
    x[0, 1, 1:4, 1:4] = 2.0                 # a flat plateau: every window ties
    g = np.arange(1.0, 19.0).reshape(1, 2, 3, 3)
    a = tl.tensor(x, device=device, requires_grad=True)
    tl.nn.functional.max_pool2d(a, 3, 2, 1).backward(tl.tensor(g, device=device))
    b = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(b, 3, 2, 1).backward(torch.tensor(g))
    assert_close(a.grad, b.grad, rtol=0, atol=0)


# -- save to an open file: its name picks the format, as a path's suffix does -----------------

@pytest.mark.parametrize("suffix", [".pt", ".pth", ".bin", ".tar", ".PT"])
def test_save_to_an_open_file_named_like_torch_writes_torch_format(tmp_path, suffix):
    sd = {"w": tl.arange(6.0).reshape(2, 3), "b": tl.ones(2, dtype=tl.int64)}
    path = tmp_path / ("ck" + suffix)
    with open(path, "wb") as fh:
        tl.save(sd, fh)
    got = torch.load(path, weights_only=True)
    assert got["w"].tolist() == sd["w"].tolist() and got["b"].dtype == torch.int64
    with open(path, "rb") as fh:
        back = tl.load(fh)
    assert back["w"].tolist() == sd["w"].tolist()
    tl.save(sd, tmp_path / ("p" + suffix))           # a path with the suffix: the same format
    assert torch.load(tmp_path / ("p" + suffix))["b"].tolist() == [1, 1]


def test_save_to_an_npz_named_file_or_a_bare_buffer_writes_npz(tmp_path):
    import io
    import zipfile
    sd = {"w": tl.arange(4.0), "n": 3}
    with open(tmp_path / "ck.npz", "wb") as fh:
        tl.save(sd, fh)
    buf = io.BytesIO()
    tl.save(sd, buf)                                  # no name: the default, ours
    for src in (tmp_path / "ck.npz", io.BytesIO(buf.getvalue())):
        assert "__structure__.npy" in zipfile.ZipFile(src).namelist()
    with open(tmp_path / "ck.npz", "rb") as fh:
        back = tl.load(fh)
    assert back["w"].tolist() == [0.0, 1.0, 2.0, 3.0] and back["n"] == 3
    buf.seek(0)
    assert tl.load(buf)["n"] == 3
    buf = io.BytesIO()
    tl.save(sd, buf, format="torch")                  # asked for by name: torch's
    buf.seek(0)
    assert torch.load(buf)["w"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_save_an_ndarray_to_an_open_pt_file_as_torch_does(tmp_path):
    # time_sequence_prediction: torch.save(data, open('traindata.pt', 'wb'))
    data = np.sin(np.arange(12.0)).reshape(3, 4)
    with open(tmp_path / "traindata.pt", "wb") as fh:
        tl.save(data, fh)
    for lib in (torch, tl):
        got = lib.load(tmp_path / "traindata.pt", weights_only=False)
        assert type(got) is np.ndarray
        np.testing.assert_array_equal(got, data)
    with pytest.raises(RuntimeError, match="weights_only|_reconstruct"):
        tl.load(tmp_path / "traindata.pt")


# -- ONNX: nested args, and the ops with no gradient seen by the tracer -----------------------

class _LSTMWithState(tl.nn.Module):
    """word_language_model's RNNModel in small: forward(x, (h, [c])) -> (y, (h, c))."""

    def __init__(self):
        super().__init__()
        self.emb, self.rnn, self.out = tl.nn.Embedding(7, 4), tl.nn.LSTM(4, 5, 2), \
            tl.nn.Linear(5, 7)

    def forward(self, x, hidden):
        y, hidden = self.rnn(self.emb(x), (hidden[0], hidden[1][0]))
        return tl.nn.functional.log_softmax(self.out(y), dim=-1), hidden


def test_onnx_export_flattens_nested_args_and_outputs(tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="the formats extra's onnxruntime is needed")
    pytest.importorskip("onnx", reason="the onnx package (formats extra) is needed")
    tl.manual_seed(0)
    model = _LSTMWithState().eval()
    x = tl.randint(0, 7, (6, 3))
    hidden = (tl.randn(2, 3, 5), [tl.randn(2, 3, 5)])        # a list inside the tuple too
    proto = tl.onnx.export(model, (x, hidden), tmp_path / "m.onnx")
    assert [i.name for i in proto.graph.input] == ["input_0", "input_1", "input_2"]
    assert [o.name for o in proto.graph.output] == ["output_0", "output_1", "output_2"]
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    x2 = tl.randint(0, 7, (6, 3))
    h2, c2 = tl.randn(2, 3, 5), tl.randn(2, 3, 5)
    theirs = sess.run(None, {"input_0": x2.numpy(), "input_1": h2.numpy(),
                             "input_2": c2.numpy()})
    with tl.no_grad():
        y, (h, c) = model(x2, (h2, [c2]))
    for o, t in zip((y, h, c), theirs):
        np.testing.assert_allclose(t, o.numpy(), rtol=1e-5, atol=1e-5)
    with pytest.raises(TypeError, match="args must be Tensors or .*got int"):
        tl.onnx.export(model, (x, (hidden[0], [3])), tmp_path / "bad.onnx")


class _Predicates(tl.nn.Module):
    def forward(self, x, y, k):
        b = x > 0
        outs = [x == y, x != y, x < y, x <= y, x > y, x >= y,
                tl.eq(x, 0.5), tl.ne(x, y), tl.lt(x, y), tl.le(x, 0.0), tl.gt(x, y), tl.ge(x, y),
                b & (y > 0), b | (y > 0), b ^ (y > 0), ~b, b.logical_not(),
                tl.logical_and(x, y), tl.logical_or(b, y), tl.logical_xor(b, y > 0.5),
                x.isnan(), x.isinf(), x.isfinite(), k == 2, k > 1, k.isnan()]
        # one float output: each mask weights x differently
        finite = tl.where(x.isfinite(), x, 0.0)
        return sum(tl.where(m, finite * (i + 1), 0.0) for i, m in enumerate(outs)) + finite // 0.3


def test_onnx_exports_comparisons_and_logical_ops(tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="the formats extra's onnxruntime is needed")
    pytest.importorskip("onnx", reason="the onnx package (formats extra) is needed")

    def make(n, seed):
        r = np.random.default_rng(seed)
        x = r.standard_normal((n, 4)).astype(np.float32)
        x[0, :3] = [np.nan, np.inf, -np.inf]
        y = x.copy()
        y[1:] = r.standard_normal((n - 1, 4))       # row 0 equal where not NaN
        return tl.tensor(x), tl.tensor(y), tl.tensor(r.integers(0, 4, (n, 4)))
    buf = tmp_path / "m.onnx"
    tl.onnx.export(_Predicates(), make(3, 0), buf,
                   dynamic_axes={"input_0": [0], "input_1": [0], "input_2": [0]})
    sess = ort.InferenceSession(str(buf), providers=["CPUExecutionProvider"])
    xs = make(5, 1)
    theirs = sess.run(None, {f"input_{i}": v.numpy() for i, v in enumerate(xs)})[0]
    with tl.no_grad():
        ours = _Predicates()(*xs).numpy()
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)


def test_comparisons_outside_a_trace_still_run_on_the_arrays():
    """No observer: no graph node, no apply (the eager cost stays a ufunc and a wrapper)."""
    x = tl.randn(3, requires_grad=True)
    for m in (x > 0, x == x, x.isnan(), ~(x > 0), (x > 0) & (x < 1)):
        assert m.dtype == tl.bool and not m.requires_grad and m.grad_fn is None


def test_retain_grad_follows_an_in_place_op_as_torch():
    """h.retain_grad(); relu_(h): h.grad is the gradient of h's new values, in both libraries."""
    got = []
    for lib in (torch, tl):
        x = lib.tensor([-3.0, 5.0, 0.5], requires_grad=True)
        w = lib.tensor([3.0, 5.0, -2.0])
        h = x * 1.0
        h.retain_grad()
        lib.relu_(h)
        (h * w).sum().backward()
        assert h.retains_grad
        got.append((h.grad.detach().numpy().copy(), x.grad.detach().numpy().copy()))
    np.testing.assert_array_equal(got[0][0], got[1][0])
    np.testing.assert_array_equal(got[0][1], got[1][1])
