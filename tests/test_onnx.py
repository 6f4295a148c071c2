"""tl.onnx.export: traced models run in ONNX Runtime give our outputs (float32, 1e-5), with a
dynamic batch axis exercised at a batch size other than the traced one."""
import io

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn as nn
import tinygrad_lite.nn.functional as F
from tinygrad_lite import models

onnx = pytest.importorskip("onnx", reason="the onnx package (formats extra) is needed")
ort = pytest.importorskip("onnxruntime",
                          reason="the onnx package (formats extra) is needed: onnxruntime")


def export_and_run(model, make, batch_axes=None, out_axes=None, run_batch=5, **kw):
    """Export model(*make(2)) with the batch axes dynamic, check it, run it in ONNX Runtime at
    make(run_batch) and return (ours, onnxruntime's) there, each a list with one array per
    output. batch_axes: each input's batch axis (0 by default, None for a fixed input);
    out_axes: each output's (0 by default)."""
    tl.manual_seed(0)
    xs = make(2)
    batch_axes = [0] * len(xs) if batch_axes is None else batch_axes
    names = [f"x{i}" for i in range(len(xs))]
    with tl.no_grad():
        traced = model(*xs)
    n_out = len(traced) if isinstance(traced, tuple) else 1
    outs = [f"y{i}" for i in range(n_out)]
    out_axes = [0] * n_out if out_axes is None else out_axes
    dynamic = {n: {ax: "batch"} for n, ax in zip(names, batch_axes) if ax is not None}
    dynamic.update({n: {ax: "batch"} for n, ax in zip(outs, out_axes) if ax is not None})
    buf = io.BytesIO()
    proto = tl.onnx.export(model, xs, buf, input_names=names, output_names=outs,
                           dynamic_axes=dynamic, **kw)
    onnx.checker.check_model(onnx.load_from_string(buf.getvalue()))
    for inp, ax in zip(proto.graph.input, batch_axes):
        if ax is not None:
            assert inp.type.tensor_type.shape.dim[ax].dim_param == "batch"
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    xs = make(run_batch)
    with tl.no_grad():
        ours = model(*xs)
    ours = [o.numpy() for o in (ours if isinstance(ours, tuple) else (ours,))]
    theirs = sess.run(None, {n: x.numpy() for n, x in zip(names, xs)})
    for o, t in zip(ours, theirs):
        assert o.shape == t.shape
    return ours, theirs


def assert_match(ours, theirs):
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(t, o, rtol=1e-5, atol=1e-5)


def _export_and_run(model, shapes, run_batch=5, int_high=None, **kw):
    """Export at batch 2, run at run_batch; return (ours, onnxruntime's) at run_batch."""
    def make(b):
        if int_high is not None:
            return tuple(tl.randint(0, int_high, (b,) + s) for s in shapes)
        return tuple(tl.randn(b, *s) for s in shapes)
    ours, theirs = export_and_run(model, make, run_batch=run_batch, **kw)
    return ours[0], theirs[0]


@pytest.mark.parametrize("make", [lambda: models.MLP(64, 10, dropout=0.3),
                                  lambda: models.CNN((1, 8, 8), 10),
                                  lambda: models.PatchTransformer((1, 8, 8), 10),
                                  lambda: models.RowLSTM((1, 8, 8), 10)],
                         ids=["mlp", "cnn", "transformer", "lstm"])
def test_seed_models_match_onnxruntime_with_dynamic_batch(make):
    tl.manual_seed(1)
    model = make()
    model.train()                       # export traces in eval mode and restores training
    _export_and_run(model, [(1, 8, 8)])
    assert model.training
    ours, theirs = _export_and_run(model.eval(), [(1, 8, 8)])
    assert theirs.shape == (5, 10)
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)


class Mixed(nn.Module):
    """The ops the exporter covers beyond the seed models, in one forward."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(2)
        self.conv = nn.Conv2d(2, 4, 3, stride=2, padding=1)
        self.pool = nn.AvgPool2d(2)
        self.ln = nn.LayerNorm(8)
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        h = self.pool(self.conv(self.bn(x)))                # (B, 4, 2, 2)
        h = h.flatten(1).view(h.shape[0], 2, 8)              # (B, 2, 8)
        h = self.ln(h).transpose(1, 2).permute(0, 2, 1)      # back to (B, 2, 8)
        a = F.gelu(self.fc(h)) - h.tanh() / 2 + h.sigmoid() * F.relu(h)
        b = a.softmax(-1) + F.log_softmax(a, dim=-1) + (a @ self.fc.weight.T)
        c = tl.cat([a, b], dim=1)                            # (B, 4, 8)
        return c.mean(dim=1) + c.sum(dim=2, keepdim=True)[:, 0] + F.dropout(c, 0.5,
                                                                           False)[:, -1]


def test_many_ops_match_onnxruntime():
    model = Mixed()
    model.bn.running_mean = tl.randn(2)
    model.bn.running_var = tl.rand(2) + 0.5
    ours, theirs = _export_and_run(model.eval(), [(2, 8, 8)])
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)


class Bag(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(11, 6)
        self.out = nn.Linear(6, 3)

    def forward(self, idx):
        return self.out(self.emb(idx).mean(1))


def test_embedding_matches_onnxruntime():
    ours, theirs = _export_and_run(Bag().eval(), [(4,)], int_high=11)
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)


class BiLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(6, 5, num_layers=2, bidirectional=True, batch_first=True)

    def forward(self, x):
        return self.lstm(x)[0]


def test_stacked_bidirectional_lstm_matches_onnxruntime():
    ours, theirs = _export_and_run(BiLSTM().eval(), [(7, 6)])
    assert theirs.shape == (5, 7, 10)
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)


class Cumulative(nn.Module):
    def forward(self, x):
        return x.cumsum(1)


def test_unsupported_op_is_named_with_where_it_was_made(tmp_path):
    with pytest.raises(tl.onnx.UnsupportedOperatorError,
                       match=r"op Cumsum is not supported.*test_onnx\.py:\d+"):
        tl.onnx.export(Cumulative(), (tl.randn(2, 3),), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_is_in_onnx_export_and_file_path(tmp_path):
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(tl.onnx.is_in_onnx_export())
            return x * 2.0 + 1.0

    assert not tl.onnx.is_in_onnx_export()
    tl.onnx.export(Probe(), tl.randn(3, 2), tmp_path / "p.onnx")
    assert seen and all(seen) and not tl.onnx.is_in_onnx_export()
    model = onnx.load(str(tmp_path / "p.onnx"))
    onnx.checker.check_model(model)
    assert model.opset_import[0].version == 17
    assert [i.name for i in model.graph.input] == ["input_0"]
    sess = ort.InferenceSession(str(tmp_path / "p.onnx"), providers=["CPUExecutionProvider"])
    x = np.ones((3, 2), np.float32)
    np.testing.assert_allclose(sess.run(None, {"input_0": x})[0], 3 * x)


def test_parameters_are_named_initializers():
    m = models.MLP(64, 10)
    proto = tl.onnx.export(m, tl.randn(2, 64), io.BytesIO())
    names = {i.name for i in proto.graph.initializer}
    assert set(m.state_dict()) <= names


class Attend(nn.Module):
    """MultiheadAttention with a boolean mask, causal SDPA and a Conv1d."""

    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(8, 2, batch_first=True)
        self.conv = nn.Conv1d(8, 8, 3, padding=1)

    def forward(self, x):
        n = x.shape[1]
        mask = tl.triu(tl.ones(n, n), 1).bool()
        y = self.mha(x, x, x, attn_mask=mask, need_weights=False)[0]
        z = F.scaled_dot_product_attention(x[:, None], x[:, None], x[:, None], is_causal=True)
        return y + z[:, 0] + self.conv(x.transpose(1, 2)).transpose(1, 2)


def test_attention_masks_and_conv1d_match_onnxruntime():
    ours, theirs = _export_and_run(Attend().eval(), [(5, 8)], run_batch=3)
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)
