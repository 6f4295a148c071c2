"""Transformer layers, stacks and the full encoder-decoder against torch (dropout 0 for parity)."""
import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.nn import functional as F

from helpers import assert_close, torch

E, HEADS, FF = 8, 2, 16

# torch notes that it cannot use nested tensors for these configurations; irrelevant here
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")


def _load(theirs, ours, device):
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours.double().to(device)


def _compare(theirs, ours, arrays, device, kw_t=None, kw_o=None, seed=0):
    rng = np.random.default_rng(seed)
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    o_in = [tl.tensor(a, device=device).requires_grad_(True) for a in arrays]
    out_t, out_o = theirs(*t_in, **(kw_t or {})), ours(*o_in, **(kw_o or {}))
    assert_close(out_o, out_t, msg="output")
    g = rng.standard_normal(out_t.shape)
    (out_t * torch.from_numpy(g)).sum().backward()
    (out_o * tl.tensor(g, device=device)).sum().backward()
    for i, (a, b) in enumerate(zip(t_in, o_in)):
        assert_close(b.grad, a.grad, msg=f"input {i} grad")
    ps = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        assert_close(ps[name].grad, p.grad, msg=f"{name} grad")


def _seq(rng, length, batch, batch_first):
    return rng.standard_normal((batch, length, E) if batch_first else (length, batch, E))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer(norm_first, activation, batch_first, device):
    kw = dict(dim_feedforward=FF, dropout=0.0, activation=activation, norm_first=norm_first,
              batch_first=batch_first)
    theirs = torch.nn.TransformerEncoderLayer(E, HEADS, **kw).double()
    ours = _load(theirs, nn.TransformerEncoderLayer(E, HEADS, **kw), device)
    rng = np.random.default_rng(1)
    kp = rng.random((3, 5)) > 0.6
    kp[:, 0] = False
    _compare(theirs, ours, [_seq(rng, 5, 3, batch_first)], device,
             dict(src_key_padding_mask=torch.from_numpy(kp)),
             dict(src_key_padding_mask=tl.tensor(kp, device=device)))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer(norm_first, activation, batch_first, device):
    kw = dict(dim_feedforward=FF, dropout=0.0, activation=activation, norm_first=norm_first,
              batch_first=batch_first)
    theirs = torch.nn.TransformerDecoderLayer(E, HEADS, **kw).double()
    ours = _load(theirs, nn.TransformerDecoderLayer(E, HEADS, **kw), device)
    rng = np.random.default_rng(2)
    mask_t = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=torch.float64)
    mask_o = nn.Transformer.generate_square_subsequent_mask(5, device=device, dtype=tl.float64)
    _compare(theirs, ours, [_seq(rng, 5, 3, batch_first), _seq(rng, 7, 3, batch_first)], device,
             dict(tgt_mask=mask_t, tgt_is_causal=True), dict(tgt_mask=mask_o, tgt_is_causal=True))


def test_callable_activation_and_no_bias(device):
    kw = dict(dim_feedforward=FF, dropout=0.0, bias=False)
    theirs = torch.nn.TransformerEncoderLayer(E, HEADS, activation=torch.nn.functional.gelu,
                                              **kw).double()
    ours = _load(theirs, nn.TransformerEncoderLayer(E, HEADS, activation=F.gelu, **kw), device)
    _compare(theirs, ours, [np.random.default_rng(3).standard_normal((4, 2, E))], device)


def test_encoder_stack_with_norm(device):
    layer_t = torch.nn.TransformerEncoderLayer(E, HEADS, FF, dropout=0.0, batch_first=True)
    theirs = torch.nn.TransformerEncoder(layer_t, 2, norm=torch.nn.LayerNorm(E),
                                         enable_nested_tensor=False).double()
    layer_o = nn.TransformerEncoderLayer(E, HEADS, FF, dropout=0.0, batch_first=True)
    ours = _load(theirs, nn.TransformerEncoder(layer_o, 2, norm=nn.LayerNorm(E)), device)
    assert ours.layers[0].linear1.weight is not ours.layers[1].linear1.weight
    m = np.random.default_rng(4).standard_normal((6, 6))
    _compare(theirs, ours, [np.random.default_rng(5).standard_normal((2, 6, E))], device,
             dict(mask=torch.from_numpy(m)), dict(mask=tl.tensor(m, device=device)))


@pytest.mark.parametrize("norm_first", [False, True])
def test_full_transformer(norm_first, device):
    kw = dict(d_model=E, nhead=HEADS, num_encoder_layers=2, num_decoder_layers=2,
              dim_feedforward=FF, dropout=0.0, norm_first=norm_first)
    theirs = torch.nn.Transformer(**kw).double()
    ours = _load(theirs, nn.Transformer(**kw), device)
    rng = np.random.default_rng(6)
    src_kp = rng.random((3, 7)) > 0.6
    src_kp[:, 0] = False
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(5, device=device, dtype=tl.float64)
    kw_t = dict(tgt_mask=torch.from_numpy(tgt_mask.numpy()),
                src_key_padding_mask=torch.from_numpy(src_kp),
                memory_key_padding_mask=torch.from_numpy(src_kp))
    kw_o = dict(tgt_mask=tgt_mask, src_key_padding_mask=tl.tensor(src_kp, device=device),
                memory_key_padding_mask=tl.tensor(src_kp, device=device))
    _compare(theirs, ours, [rng.standard_normal((7, 3, E)), rng.standard_normal((5, 3, E))],
             device, kw_t, kw_o)


def test_transformer_init_is_xavier():
    model = nn.Transformer(16, 2, 1, 1, 32)
    w = model.encoder.layers[0].linear1.weight.detach().numpy()
    bound = np.sqrt(6.0 / (16 + 32))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert list(model.state_dict()) == list(torch.nn.Transformer(16, 2, 1, 1, 32).state_dict())


def test_square_subsequent_mask():
    got = nn.Transformer.generate_square_subsequent_mask(4).numpy()
    want = torch.nn.Transformer.generate_square_subsequent_mask(4).numpy()
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.float32 and np.isneginf(got[0, 1]) and got[1, 0] == 0


def test_dropout_train_vs_eval():
    layer = nn.TransformerEncoderLayer(E, HEADS, FF, dropout=0.3)
    x = tl.randn(5, 2, E)
    a, b = layer(x).detach().numpy(), layer(x).detach().numpy()
    assert np.abs(a - b).max() > 1e-4
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())


def test_bad_input_raises():
    with pytest.raises(ValueError, match="activation should be 'relu', 'gelu'"):
        nn.TransformerEncoderLayer(E, HEADS, activation="swish")
    model = nn.Transformer(E, HEADS, 1, 1, FF)
    with pytest.raises(ValueError, match=r"batch size of src \(5, 2, 8\) and tgt \(4, 3, 8\)"):
        model(tl.randn(5, 2, E), tl.randn(4, 3, E))
    with pytest.raises(ValueError, match="d_model=8"):
        model(tl.randn(5, 2, 6), tl.randn(4, 2, 6))
    with pytest.raises(ValueError, match="num_layers"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(E, HEADS), 0)
