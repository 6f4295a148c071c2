"""tl.onnx.export of transposed convolutions, group and instance norms, the recurrent layers and
tensor indexing: each model checked by onnx.checker and run in ONNX Runtime against our outputs
(float32, 1e-5) at a batch size other than the traced one."""
import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn as nn

pytest.importorskip("onnx", reason="the onnx package (formats extra) is needed")
pytest.importorskip("onnxruntime", reason="the formats extra's onnxruntime is needed")

from test_onnx import assert_match, export_and_run  # noqa: E402  (after the skips)

OPSETS = [13, 17]


def _randn(*shape):
    return lambda b: (tl.randn(b, *shape),)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("layer, shape", [
    (lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
     (4, 5, 6)),
    (lambda: nn.ConvTranspose2d(3, 2, (2, 3), stride=(3, 2), padding=(2, 1),
                                output_padding=(1, 0), dilation=(2, 1), bias=False), (3, 4, 5)),
    (lambda: nn.ConvTranspose1d(4, 4, 3, stride=2, padding=1, output_padding=1, groups=4,
                                dilation=2), (4, 7)),
    (lambda: nn.ConvTranspose1d(2, 3, 4), (2, 6)),
], ids=["2d-groups", "2d-dilation-no-bias", "1d-depthwise", "1d-default"])
def test_conv_transpose_matches_onnxruntime(layer, shape, opset):
    tl.manual_seed(3)
    ours, theirs = export_and_run(layer().eval(), _randn(*shape), opset_version=opset)
    assert_match(ours, theirs)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("layer, shape", [
    (lambda: nn.GroupNorm(2, 6), (6, 4, 3)),
    (lambda: nn.GroupNorm(3, 6, affine=False, eps=1e-3), (6, 5)),
    (lambda: nn.InstanceNorm1d(3, affine=True), (3, 7)),
    (lambda: nn.InstanceNorm2d(3), (3, 4, 4)),
], ids=["group-2d", "group-1d-plain", "instance1d-affine", "instance2d"])
def test_group_and_instance_norm_match_onnxruntime(layer, shape, opset):
    tl.manual_seed(4)
    m = layer().eval()
    for p in m.parameters():            # not the ones and zeros they start as
        p.data = tl.randn(*p.shape)
    ours, theirs = export_and_run(m, _randn(*shape), opset_version=opset)
    assert_match(ours, theirs)


class Recurrent(nn.Module):
    """A recurrent layer returning its outputs and final state(s), with or without hx."""

    def __init__(self, rnn, with_h0):
        super().__init__()
        self.rnn, self.with_h0 = rnn, with_h0

    def forward(self, x, *hx):
        hx = (hx if len(hx) > 1 else hx[0]) if hx else None
        y, h = self.rnn(x, hx)
        return (y,) + (h if isinstance(h, tuple) else (h,))


_RNNS = {
    "gru": lambda **kw: nn.GRU(3, 4, **kw),
    "rnn_tanh": lambda **kw: nn.RNN(3, 4, **kw),
    "rnn_relu": lambda **kw: nn.RNN(3, 4, nonlinearity="relu", **kw),
    "lstm": lambda **kw: nn.LSTM(3, 4, **kw),
}


@pytest.mark.parametrize("with_h0", [False, True], ids=["no-h0", "h0"])
@pytest.mark.parametrize("config", [
    dict(),
    dict(num_layers=2, bidirectional=True, batch_first=True),
    dict(num_layers=3, bias=False),
], ids=["one-layer", "2-layers-bidir-batch-first", "3-layers-no-bias"])
@pytest.mark.parametrize("kind", list(_RNNS))
def test_recurrent_layers_match_onnxruntime(kind, config, with_h0):
    tl.manual_seed(5)
    rnn = _RNNS[kind](**config)
    layers = config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1)
    first = config.get("batch_first", False)
    n_states = 2 if kind == "lstm" else 1

    def make(b):
        x = tl.randn(b, 6, 3) if first else tl.randn(6, b, 3)
        return (x,) + tuple(tl.randn(layers, b, 4) for _ in range(n_states if with_h0 else 0))
    inputs = 1 + (n_states if with_h0 else 0)
    ours, theirs = export_and_run(
        Recurrent(rnn, with_h0).eval(), make, batch_axes=[0 if first else 1] + [1] * (
            inputs - 1), out_axes=[0 if first else 1] + [1] * n_states, opset_version=17)
    assert len(theirs) == 1 + n_states
    assert_match(ours, theirs)


def test_unbatched_gru_with_a_dynamic_sequence_length():
    tl.manual_seed(6)
    ours, theirs = export_and_run(Recurrent(nn.GRU(3, 4, bidirectional=True), False).eval(),
                                  lambda t: (tl.randn(t + 2, 3),), out_axes=[0, None],
                                  run_batch=7, opset_version=13)
    assert theirs[0].shape == (9, 8)
    assert_match(ours, theirs)


class Slicing(nn.Module):
    """Basic indexing: steps (also negative), negative indices, None and Ellipsis."""

    def forward(self, x):                                    # x: (B, 6, 5, 4)
        a = x[:, ::2, 1:-1, -1]                              # (B, 3, 3)
        b = x[..., 0, ::-2][:, 1:4]                          # (B, 3, 2)
        c = x[:, None, -2, ..., 1:3].squeeze(1)[:, 0::2]     # (B, 3, 2)
        d = x[:, 5:0:-2, :3, None, 2][..., 0]                # (B, 3, 3)
        return a + d, b * c


@pytest.mark.parametrize("opset", OPSETS)
def test_basic_indexing_matches_onnxruntime(opset):
    ours, theirs = export_and_run(Slicing(), _randn(6, 5, 4), opset_version=opset)
    assert [t.shape for t in theirs] == [(5, 3, 3), (5, 3, 2)]
    assert_match(ours, theirs)


class TensorIndices(nn.Module):
    """Integer-tensor indexing (Gather, GatherND) with constant, list and input indices, and
    boolean masks, constant and computed."""

    def __init__(self):
        super().__init__()
        self.pick = tl.tensor([2, 0, -1, 2])
        self.mask = tl.tensor([True, False, True, True, False])

    def forward(self, x, idx):                               # x: (B, 4, 5, 3), idx: (2, 2)
        a = x[:, self.pick]                                  # (B, 4, 5, 3)
        b = x[:, idx, 1:][..., 0]                            # (B, 2, 2, 4)
        c = x[:, [0, 3], [1, -1]]                            # (B, 2, 3) side by side
        d = x[:, [1, 2], ..., tl.tensor([0, 2])]             # (2, B, 5) apart: in front
        e = x[:, :, self.mask]                               # (B, 4, 3, 3)
        f = x[:, None, idx[0], 2:, idx[1]]                   # (2, B, 1, 3) apart
        return a.sum((2, 3)), b.sum(3), c.sum(-1) + d.sum(-1).transpose(0, 1), e, f


def test_integer_tensor_and_mask_indexing_matches_onnxruntime():
    ours, theirs = export_and_run(
        TensorIndices(), lambda b: (tl.randn(b, 4, 5, 3), tl.tensor([[3, 0], [1, -2]])),
        batch_axes=[0, None], out_axes=[0, 0, 0, 0, 1])
    assert [t.shape for t in theirs] == [(5, 4), (5, 2, 2), (5, 2), (5, 4, 3, 3), (2, 5, 1, 3)]
    assert_match(ours, theirs)


class Masked(nn.Module):
    def forward(self, x, keep):
        return x[keep] * 2.0


def test_a_boolean_mask_input_gives_the_data_dependent_length():
    def make(b):
        x = tl.randn(b, 3)
        return x, tl.tensor(np.random.default_rng(b).random((b, 3)) > 0.5)
    ours, theirs = export_and_run(Masked(), make, out_axes=[0])
    assert theirs[0].shape == ours[0].shape and theirs[0].ndim == 1
    assert_match(ours, theirs)


class Positive(nn.Module):
    def forward(self, x):
        return x[x > 0] * 2.0


class PositiveViaNumpy(nn.Module):
    def forward(self, x):
        return x[tl.from_numpy(x.numpy() > 0)] * 2.0


def test_a_mask_from_a_comparison_is_traced():
    """x > 0 is an op the tracer sees: the mask follows the inputs (NonZero in the file)."""
    ours, theirs = export_and_run(Positive(), lambda b: (tl.randn(b, 3),), out_axes=[0])
    assert theirs[0].shape == ours[0].shape and theirs[0].ndim == 1
    assert_match(ours, theirs)


def test_a_mask_made_outside_the_traced_ops_is_refused_where_it_is_used(tmp_path):
    """A mask computed in NumPy would be baked in: refused, naming the op that reads it and
    the line."""
    with pytest.raises(tl.onnx.UnsupportedOperatorError,
                       match=r"input 1 of op GetItem .*bool.*test_onnx_layers\.py:\d+: "
                             r"return x\[tl.from_numpy"):
        tl.onnx.export(PositiveViaNumpy(), tl.randn(2, 3), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
