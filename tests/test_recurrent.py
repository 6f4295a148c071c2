"""RNN / LSTM / GRU layers and cells against torch, the fused time loops against their composed
twins, and long unrolls (no recursion, linear graph growth)."""
import math

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.autograd import gradcheck, gradgradcheck
from tinygrad_lite.ops import recurrent as R

from helpers import assert_close, to_numpy, torch

KINDS = ["RNN", "LSTM", "GRU"]


def _copy_weights(theirs, ours, device="cpu"):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours.double().to(device)


def _compare(theirs, ours, inputs, device, call=lambda m, *a: m(*a), rng=None):
    """Forward both, contract every output with a random g, compare outputs, input grads and
    every parameter's grad."""
    rng = rng or np.random.default_rng(1)
    t_in = [torch.tensor(a, requires_grad=True) if a is not None else None for a in inputs]
    o_in = [tl.tensor(a, device=device).requires_grad_(True) if a is not None else None
            for a in inputs]
    out_t, out_o = call(theirs, *t_in), call(ours, *o_in)
    flat_t, flat_o = _flatten(out_t), _flatten(out_o)
    assert len(flat_t) == len(flat_o)
    loss_t = loss_o = 0
    for a, b in zip(flat_t, flat_o):
        assert_close(b, a, msg="forward")
        g = rng.standard_normal(a.shape)
        loss_t = loss_t + (a * torch.from_numpy(g)).sum()
        loss_o = loss_o + (b * tl.tensor(g, device=device)).sum()
    loss_t.backward()
    loss_o.backward()
    for i, (a, b) in enumerate(zip(t_in, o_in)):
        if a is not None:
            assert_close(b.grad, a.grad, msg=f"input {i} grad")
    ours_p = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        assert ours_p[name].grad is not None, name
        assert_close(ours_p[name].grad, p.grad, msg=f"{name} grad")


def _flatten(out):
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _flatten(o)]
    return [out]


def _layer_pair(kind, num_layers, bidirectional, batch_first, with_state, device, rng,
                steps, batch, n_in, hid):
    """A torch layer and ours with its weights, an input and (with_state) initial states."""
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    theirs = getattr(torch.nn, kind)(n_in, hid, **kw).double()
    ours = _copy_weights(theirs, getattr(nn, kind)(n_in, hid, **kw), device)
    x = rng.standard_normal((batch, steps, n_in) if batch_first else (steps, batch, n_in))
    states = []
    if with_state:
        states = [rng.standard_normal((num_layers * (2 if bidirectional else 1), batch, hid))
                  for _ in range(2 if kind == "LSTM" else 1)]
    return theirs, ours, x, states


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, False), (1, True),
                                                      (2, True)])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_layer_matches_torch(kind, num_layers, bidirectional, batch_first, with_state, device):
    rng = np.random.default_rng(0)
    theirs, ours, x, states = _layer_pair(kind, num_layers, bidirectional, batch_first,
                                          with_state, device, rng, 5, 3, 4, 6)

    def call(m, x, *s):
        if not s:
            return m(x)
        return m(x, tuple(s) if len(s) == 2 else s[0])
    _compare(theirs, ours, [x] + states, device, call)


@pytest.mark.parametrize("kind", KINDS)
def test_no_bias_and_relu(kind, device):
    rng = np.random.default_rng(2)
    kw = dict(bias=False, num_layers=2)
    if kind == "RNN":
        kw["nonlinearity"] = "relu"
    theirs = getattr(torch.nn, kind)(3, 5, **kw).double()
    ours = _copy_weights(theirs, getattr(nn, kind)(3, 5, **kw), device)
    assert not any("bias" in n for n, _ in ours.named_parameters())
    _compare(theirs, ours, [rng.standard_normal((4, 2, 3))], device)


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_input(kind, device):
    rng = np.random.default_rng(3)
    theirs = getattr(torch.nn, kind)(3, 4, bidirectional=True).double()
    ours = _copy_weights(theirs, getattr(nn, kind)(3, 4, bidirectional=True), device)
    h = [rng.standard_normal((2, 4)) for _ in range(2 if kind == "LSTM" else 1)]

    def call(m, x, *s):
        return m(x, tuple(s) if len(s) == 2 else s[0])
    _compare(theirs, ours, [rng.standard_normal((5, 3))] + h, device, call)


@pytest.mark.parametrize("kind", KINDS)
def test_state_dict_names_and_init(kind):
    theirs = getattr(torch.nn, kind)(3, 16, num_layers=2, bidirectional=True)
    ours = getattr(nn, kind)(3, 16, num_layers=2, bidirectional=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert p.shape == tuple(q.shape), name
        assert p.dtype == np.float32
        bound = 1 / math.sqrt(16)
        assert np.abs(p.detach().numpy()).max() <= bound
        assert np.abs(p.detach().numpy()).max() > 0.5 * bound, "weights look too small"


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("unbatched", [False, True])
def test_cells_match_torch(cell, with_state, unbatched, device):
    rng = np.random.default_rng(4)
    theirs = getattr(torch.nn, cell)(3, 5).double()
    ours = _copy_weights(theirs, getattr(nn, cell)(3, 5), device)
    lead = () if unbatched else (2,)
    inputs = [rng.standard_normal(lead + (3,))]
    if with_state:
        inputs += [rng.standard_normal(lead + (5,)) for _ in range(2 if cell == "LSTMCell" else 1)]

    def call(m, x, *s):
        if not s:
            return m(x)
        return m(x, tuple(s) if len(s) == 2 else s[0])
    _compare(theirs, ours, inputs, device, call)


def test_rnn_cell_relu_no_bias(device):
    theirs = torch.nn.RNNCell(3, 4, bias=False, nonlinearity="relu").double()
    ours = _copy_weights(theirs, nn.RNNCell(3, 4, bias=False, nonlinearity="relu"), device)
    _compare(theirs, ours, [np.random.default_rng(5).standard_normal((6, 3))], device)


# -- the fused time loops against their composed twins (STYLE habit 7) --------------------------
def _seq_inputs(gates, rng, steps=4, batch=2, hid=3):
    gi = tl.tensor(rng.standard_normal((steps, batch, gates * hid)), requires_grad=True)
    h0 = tl.tensor(rng.standard_normal((batch, hid)) * 0.5, requires_grad=True)
    c0 = tl.tensor(rng.standard_normal((batch, hid)) * 0.5, requires_grad=True)
    w = tl.tensor(rng.standard_normal((gates * hid, hid)) * 0.5, requires_grad=True)
    b = tl.tensor(rng.standard_normal((gates * hid,)) * 0.5, requires_grad=True)
    return gi, h0, c0, w, b


@pytest.mark.parametrize("reverse", [False, True])
def test_fused_lstm_matches_reference(reverse):
    gi, h0, c0, w, _ = _seq_inputs(4, np.random.default_rng(6))
    fused = lambda *a: R.LSTMSequence.apply(*a, reverse=reverse)  # noqa: E731
    ref = lambda *a: R.lstm_sequence_reference(*a, reverse=reverse)  # noqa: E731
    _hold_together(fused, ref, [gi, h0, c0, w])
    assert gradcheck(fused, [gi, h0, c0, w])


@pytest.mark.parametrize("reverse", [False, True])
def test_fused_lstm_gate_major_with_bias_matches_reference(reverse):
    # the layer's path: gi as [T, 4H, B] straight from the input GEMM, summed bias inside
    gi, h0, c0, w, b = _seq_inputs(4, np.random.default_rng(16))
    gi_gm = tl.tensor(gi.detach().numpy().transpose(0, 2, 1).copy(), requires_grad=True)
    kw = dict(reverse=reverse, gate_major=True)
    fused = lambda *a: R.LSTMSequence.apply(*a, **kw)  # noqa: E731
    ref = lambda *a: R.lstm_sequence_reference(*a, **kw)  # noqa: E731
    _hold_together(fused, ref, [gi_gm, h0, c0, w, b])
    assert gradcheck(fused, [gi_gm, h0, c0, w, b])
    # and the same numbers as the batch-major call with the bias added outside
    plain = R.LSTMSequence.apply(gi + b, h0, c0, w, reverse=reverse)
    assert_close(fused(gi_gm, h0, c0, w, b), plain, msg="gate-major vs batch-major")


def test_fused_lstm_gate_major_double_backward():
    gi, h0, c0, w, b = _seq_inputs(4, np.random.default_rng(17), steps=3, batch=2, hid=2)
    gi_gm = tl.tensor(gi.detach().numpy().transpose(0, 2, 1).copy(), requires_grad=True)
    assert gradgradcheck(lambda *a: R.LSTMSequence.apply(*a, gate_major=True),
                         [gi_gm, h0, c0, w, b])


@pytest.mark.parametrize("reverse", [False, True])
def test_fused_gru_matches_reference(reverse):
    gi, h0, _, w, b = _seq_inputs(3, np.random.default_rng(7))
    fused = lambda *a: R.GRUSequence.apply(*a, reverse=reverse)  # noqa: E731
    ref = lambda *a: R.gru_sequence_reference(*a, reverse=reverse)  # noqa: E731
    _hold_together(fused, ref, [gi, h0, w, b])
    assert gradcheck(fused, [gi, h0, w, b])


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_fused_rnn_matches_reference(reverse, act):
    gi, h0, _, w, _ = _seq_inputs(1, np.random.default_rng(8))
    fused = lambda *a: R.RNNSequence.apply(*a, reverse=reverse, nonlinearity=act)  # noqa: E731
    ref = lambda *a: R.rnn_sequence_reference(*a, reverse=reverse,  # noqa: E731
                                              nonlinearity=act)
    _hold_together(fused, ref, [gi, h0, w])
    assert gradcheck(fused, [gi, h0, w])


def _hold_together(fused, ref, inputs):
    g = np.random.default_rng(9).standard_normal(fused(*inputs).shape)
    grads = []
    for fn in (fused, ref):
        out = fn(*inputs)
        got = tl.autograd.grad((out * tl.tensor(g)).sum(), inputs)
        grads.append((out, got))
    assert_close(grads[0][0], grads[1][0], msg="forward")
    for i, (a, b) in enumerate(zip(grads[0][1], grads[1][1])):
        assert_close(a, b, msg=f"grad {i}")


def test_fused_sequences_double_backward():
    rng = np.random.default_rng(10)
    gi, h0, c0, w, b = _seq_inputs(4, rng, steps=3, batch=2, hid=2)
    assert gradgradcheck(lambda *a: R.LSTMSequence.apply(*a), [gi, h0, c0, w])
    gi, h0, _, w, b = _seq_inputs(3, rng, steps=3, batch=2, hid=2)
    assert gradgradcheck(lambda *a: R.GRUSequence.apply(*a, reverse=True), [gi, h0, w, b])
    gi, h0, _, w, _ = _seq_inputs(1, rng, steps=3, batch=2, hid=2)
    assert gradgradcheck(lambda *a: R.RNNSequence.apply(*a), [gi, h0, w])


def test_lstm_layer_double_backward_matches_torch():
    rng = np.random.default_rng(11)
    theirs = torch.nn.LSTM(2, 3).double()
    ours = _copy_weights(theirs, nn.LSTM(2, 3))
    x = rng.standard_normal((4, 2, 2))
    xt, xo = torch.tensor(x, requires_grad=True), tl.tensor(x, requires_grad=True)
    gt = torch.autograd.grad(theirs(xt)[0].pow(2).sum(), xt, create_graph=True)[0]
    go = tl.autograd.grad(ours(xo)[0].pow(2).sum(), xo, create_graph=True)[0]
    assert_close(go, gt)
    g = rng.standard_normal(x.shape)
    (gt * torch.from_numpy(g)).sum().backward()
    (go * tl.tensor(g)).sum().backward()
    assert_close(xo.grad, xt.grad)
    assert_close(ours.weight_hh_l0.grad, theirs.weight_hh_l0.grad)


# -- long unrolls ----------------------------------------------------------------------------
def _count_nodes(t):
    """Nodes reachable from t.grad_fn, walked iteratively."""
    seen, stack = set(), [t.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or not hasattr(node, "parents"):
            continue
        seen.add(id(node))
        stack.extend(p for p in node.parents if p is not None and hasattr(p, "parents"))
    return len(seen)


def test_lstm_1000_steps_backpropagates():
    lstm = nn.LSTM(3, 4)
    x = tl.randn(1000, 2, 3, requires_grad=True)
    out, (h, c) = lstm(x)
    (h.sum() + c.sum() * 0.5).backward()
    assert x.grad is not None and np.isfinite(x.grad.numpy()).all()
    # the last cell state's gradient reaches the first step
    assert np.abs(x.grad.numpy()[-1]).sum() > 0


def test_lstm_cell_unroll_1000_linear_graph():
    cell = nn.LSTMCell(3, 4)
    x = tl.randn(2, 3)

    def unroll(steps):
        h = c = None
        state = None
        for _ in range(steps):
            h, c = cell(x, state)
            state = (h, c)
        return h, c

    counts = []
    for steps in (50, 100, 200):
        h, c = unroll(steps)
        counts.append(_count_nodes(c))
    per_step = (counts[1] - counts[0]) / 50
    assert per_step == (counts[2] - counts[1]) / 100, counts
    assert per_step < 30
    cell.zero_grad()
    h, c = unroll(1000)
    c.sum().backward()
    assert cell.weight_hh.grad is not None
    assert np.isfinite(cell.weight_hh.grad.numpy()).all()


# -- dropout and errors ------------------------------------------------------------------------
def test_dropout_between_layers_train_only():
    lstm = nn.LSTM(3, 8, num_layers=2, dropout=0.5)
    x = tl.randn(6, 4, 3)
    tl.manual_seed(1)
    a = lstm(x)[0].detach().numpy()
    tl.manual_seed(1)
    b = lstm(x)[0].detach().numpy()
    tl.manual_seed(2)
    c = lstm(x)[0].detach().numpy()
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-4, "a different seed must drop different units"
    lstm.eval()
    theirs = torch.nn.LSTM(3, 8, num_layers=2, dropout=0.5).eval()
    theirs.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                            for k, v in lstm.state_dict().items()})
    assert_close(lstm(x)[0], theirs(torch.from_numpy(x.numpy()))[0], np.float32)


def test_bad_inputs_raise():
    lstm = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"LSTM.*input_size=3.*\(5, 2, 7\)"):
        lstm(tl.randn(5, 2, 7))
    with pytest.raises(ValueError, match=r"LSTM.*h_0.*\(2, 2, 4\)"):
        lstm(tl.randn(5, 2, 3), (tl.zeros(1, 2, 4), tl.zeros(2, 2, 4)))
    with pytest.raises(TypeError, match=r"LSTM.*float64.*float32"):
        lstm(tl.randn(5, 2, 3).double())
    with pytest.raises(TypeError, match="LSTM: hx must be a tuple"):
        lstm(tl.randn(5, 2, 3), tl.zeros(2, 2, 4))
    with pytest.raises(ValueError, match="GRU.*4 dimensions|GRU.*dimensions"):
        nn.GRU(3, 4)(tl.randn(1, 5, 2, 3))
    with pytest.raises(ValueError, match="RNN: unknown nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"GRUCell.*\(batch, 3\)"):
        nn.GRUCell(3, 4)(tl.randn(2, 5))
    for kind, shape, batch_first in [("LSTM", (0, 2, 3), False), ("GRU", (2, 0, 3), True),
                                     ("RNN", (0, 3), False)]:
        layer = getattr(nn, kind)(3, 4, batch_first=batch_first)
        with pytest.raises(ValueError, match=rf"{kind}: sequence length must be at least 1"):
            layer(tl.randn(*shape))
    # an empty batch is not an empty sequence
    assert nn.LSTM(3, 4)(tl.randn(5, 0, 3))[0].shape == (5, 0, 4)


def test_output_shapes_and_dtype():
    gru = nn.GRU(3, 4, num_layers=3, bidirectional=True, batch_first=True)
    out, h = gru(tl.randn(2, 7, 3))
    assert out.shape == (2, 7, 8) and h.shape == (6, 2, 4)
    assert out.dtype == np.float32 and h.dtype == np.float32
    assert to_numpy(out).dtype == np.float32


@pytest.mark.parametrize("kind", KINDS)
def test_float32_gradients_stay_float32(kind, device):
    layer = getattr(nn, kind)(3, 4, bidirectional=True).to(device)
    x = tl.randn(5, 2, 3, device=device, requires_grad=True)
    out = layer(x)[0]
    (out * tl.randn(*out.shape, device=device)).sum().backward()
    assert x.grad.dtype == np.float32
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.dtype == np.float32, name


def test_no_grad_builds_no_graph():
    lstm = nn.LSTM(3, 4)
    with tl.no_grad():
        out, (h, c) = lstm(tl.randn(6, 2, 3))
    assert out.grad_fn is None and not out.requires_grad and h.grad_fn is None


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch(batch_first, side, device):
    rng = np.random.default_rng(21)
    arrays = [rng.standard_normal((n, 3)) for n in (4, 1, 6)]
    ours = [tl.tensor(a, device=device, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    p_o = nn.utils.rnn.pad_sequence(ours, batch_first=batch_first, padding_value=-1.5,
                                    padding_side=side)
    p_t = torch.nn.utils.rnn.pad_sequence(theirs, batch_first=batch_first, padding_value=-1.5,
                                          padding_side=side)
    assert_close(p_o, p_t, msg="padded")
    g = rng.standard_normal(tuple(p_t.shape))
    (p_o * tl.tensor(g, device=device)).sum().backward()
    (p_t * torch.from_numpy(g)).sum().backward()
    for a, b in zip(ours, theirs):
        assert_close(a.grad, b.grad, msg="grad")
    if side == "right":
        back = nn.utils.rnn.unpad_sequence(p_o, tl.tensor([4, 1, 6]), batch_first=batch_first)
        for a, b in zip(back, arrays):
            np.testing.assert_array_equal(a.detach().numpy(), b)


def test_pad_sequence_bad_input():
    with pytest.raises(ValueError, match="pad_sequence: expected a non-empty list"):
        nn.utils.rnn.pad_sequence([])
    with pytest.raises(ValueError, match=r"sequence 1 is \(2, 4\)"):
        nn.utils.rnn.pad_sequence([tl.ones(3, 3), tl.ones(2, 4)])
    with pytest.raises(ValueError, match="padding_side"):
        nn.utils.rnn.pad_sequence([tl.ones(3, 3)], padding_side="middle")
    with pytest.raises(ValueError, match=r"unpad_sequence: lengths \[3, 9\]"):
        nn.utils.rnn.unpad_sequence(tl.ones(4, 2, 3), [3, 9])


# -- packed sequences ----------------------------------------------------------------------------
def _rnn_utils(m):
    """torch's nn.utils.rnn for a torch module or tensor, ours otherwise."""
    theirs = isinstance(m, (torch.nn.Module, torch.Tensor))
    return torch.nn.utils.rnn if theirs else nn.utils.rnn


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths,enforce_sorted", [([5, 3, 3, 1], True), ([3, 5, 1, 3], False),
                                                    ([2, 5, 5, 4], False)])
@pytest.mark.parametrize("total_length", [None, 7])
def test_pack_pad_round_trip_matches_torch(batch_first, lengths, enforce_sorted, total_length,
                                           device):
    rng = np.random.default_rng(30)
    x = rng.standard_normal((4, 5, 3) if batch_first else (5, 4, 3))
    xt, xo = torch.tensor(x, requires_grad=True), tl.tensor(x, device=device, requires_grad=True)
    kw = dict(batch_first=batch_first, enforce_sorted=enforce_sorted)
    p_t = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), **kw)
    p_o = nn.utils.rnn.pack_padded_sequence(xo, tl.tensor(lengths), **kw)
    assert isinstance(p_o, nn.utils.rnn.PackedSequence) and isinstance(p_o, tuple)
    assert_close(p_o.data, p_t.data, msg="data")
    assert p_o.batch_sizes.tolist() == p_t.batch_sizes.tolist()
    assert p_o.batch_sizes.dtype == np.int64 and p_o.batch_sizes.device == "cpu"
    for name in ("sorted_indices", "unsorted_indices"):
        a, b = getattr(p_o, name), getattr(p_t, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert a.tolist() == b.tolist(), name
    kw = dict(batch_first=batch_first, padding_value=-2.0, total_length=total_length)
    pad_t, len_t = torch.nn.utils.rnn.pad_packed_sequence(p_t, **kw)
    pad_o, len_o = nn.utils.rnn.pad_packed_sequence(p_o, **kw)
    assert tuple(pad_o.shape) == tuple(pad_t.shape)
    assert_close(pad_o, pad_t, msg="padded")
    assert len_o.tolist() == len_t.tolist() == lengths and len_o.dtype == np.int64
    # gradients: through data and through the padded round trip, random upstream weights
    g1 = rng.standard_normal(tuple(p_t.data.shape))
    g2 = rng.standard_normal(tuple(pad_t.shape))
    ((p_t.data * torch.from_numpy(g1)).sum() + (pad_t * torch.from_numpy(g2)).sum()).backward()
    ((p_o.data * tl.tensor(g1, device=device)).sum()
     + (pad_o * tl.tensor(g2, device=device)).sum()).backward()
    assert_close(xo.grad, xt.grad, msg="input grad")


def _packed_call(lengths, batch_first, enforce_sorted):
    """Pack the padded input, run the layer, pad its output back: (padded, state)."""
    def call(m, x, *s):
        u = _rnn_utils(m)
        packed = u.pack_padded_sequence(x, lengths, batch_first=batch_first,
                                        enforce_sorted=enforce_sorted)
        out, state = m(packed, (tuple(s) if len(s) == 2 else s[0]) if s else None)
        assert isinstance(out, u.PackedSequence)
        assert out.batch_sizes.tolist() == packed.batch_sizes.tolist()
        return u.pad_packed_sequence(out, batch_first=batch_first)[0], state
    return call


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, False), (1, True),
                                                      (2, True)])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
def test_packed_layer_matches_torch(kind, num_layers, bidirectional, batch_first,
                                    enforce_sorted, with_state, device):
    rng = np.random.default_rng(31)
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 1, 5, 3]
    theirs, ours, x, states = _layer_pair(kind, num_layers, bidirectional, batch_first,
                                          with_state, device, rng, 5, 4, 3, 4)
    _compare(theirs, ours, [x] + states, device,
             _packed_call(lengths, batch_first, enforce_sorted), rng)


def test_packed_states_are_each_sequences_own():
    # a sequence's packed states equal those of running it alone, unpadded
    rng = np.random.default_rng(32)
    gru = nn.GRU(3, 4, num_layers=2, bidirectional=True).double()
    seqs = [tl.tensor(rng.standard_normal((n, 3))) for n in (2, 5, 1)]
    out, h = gru(nn.utils.rnn.pack_sequence(seqs, enforce_sorted=False))
    padded, lengths = nn.utils.rnn.pad_packed_sequence(out)
    assert lengths.tolist() == [2, 5, 1]
    for b, s in enumerate(seqs):
        alone_out, alone_h = gru(s.unsqueeze(1))
        n = s.shape[0]
        assert_close(padded[:n, b], alone_out[:, 0], msg=f"output {b}")
        assert_close(h[:, b], alone_h[:, 0], msg=f"h_n {b}")
        assert np.all(padded[n:, b].detach().numpy() == 0)


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_matches_torch(enforce_sorted, device):
    rng = np.random.default_rng(33)
    arrays = [rng.standard_normal((n, 2)) for n in ((4, 4, 2) if enforce_sorted else (1, 4, 3))]
    ours = [tl.tensor(a, device=device, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    p_o = nn.utils.rnn.pack_sequence(ours, enforce_sorted=enforce_sorted)
    p_t = torch.nn.utils.rnn.pack_sequence(theirs, enforce_sorted=enforce_sorted)
    assert_close(p_o.data, p_t.data, msg="data")
    assert p_o.batch_sizes.tolist() == p_t.batch_sizes.tolist()
    g = rng.standard_normal(tuple(p_t.data.shape))
    (p_o.data * tl.tensor(g, device=device)).sum().backward()
    (p_t.data * torch.from_numpy(g)).sum().backward()
    for a, b in zip(ours, theirs):
        assert_close(a.grad, b.grad, msg="grad")
    for a, b in zip(nn.utils.rnn.unpack_sequence(p_o), arrays):
        np.testing.assert_array_equal(a.detach().numpy() if device == "cpu" else to_numpy(a), b)


def test_packed_sequence_to_and_fields():
    p = nn.utils.rnn.pack_sequence([tl.ones(3, 2), tl.ones(1, 2)])
    assert p.to("cpu") is p and p.cpu() is p and not p.is_cuda
    q = p.double()
    assert q.data.dtype == np.float64 and q.batch_sizes is p.batch_sizes
    data, batch_sizes, sorted_indices, unsorted_indices = p
    assert sorted_indices is None and unsorted_indices is None and batch_sizes.tolist() == [2, 1, 1]
    r = nn.utils.rnn.PackedSequence(data, batch_sizes, tl.tensor([1, 2, 0]))
    assert r.unsorted_indices.tolist() == [2, 0, 1]


def test_packed_lstm_dropout_and_no_grad():
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    packed = nn.utils.rnn.pack_sequence([tl.randn(4, 3), tl.randn(2, 3)])
    out, (h, c) = lstm(packed)
    assert out.data.shape == (6, 4) and h.shape == (2, 2, 4) and c.shape == (2, 2, 4)
    with tl.no_grad():
        out, (h, c) = lstm.eval()(packed)
    assert out.data.grad_fn is None and h.grad_fn is None


def test_packed_bad_input_raises():
    pack = nn.utils.rnn.pack_padded_sequence
    x = tl.randn(5, 4, 3)
    with pytest.raises(RuntimeError, match=r"pack_padded_sequence: `lengths` array must be "
                                           r"sorted in decreasing order.*enforce_sorted=False"):
        pack(x, [1, 3, 3, 5])
    with pytest.raises(RuntimeError, match=r"pack_padded_sequence: Length of all samples has to "
                                           r"be greater than 0"):
        pack(x, [5, 3, 0, 1], enforce_sorted=False)
    with pytest.raises(RuntimeError, match=r"pack_padded_sequence: a length of 6 is longer than "
                                           r"the input's 5 time steps"):
        pack(x, [6, 3, 2, 1])
    with pytest.raises(RuntimeError, match=r"pack_padded_sequence: Expected `len\(lengths\)` to "
                                           r"be equal to batch_size, but got 3 \(batch_size=4\)"):
        pack(x, [5, 3, 3])
    with pytest.raises(RuntimeError, match="pack_padded_sequence: Cannot pack empty tensors"):
        pack(tl.randn(5, 0, 3), [])
    with pytest.raises(ValueError, match=r"pad_packed_sequence: Expected total_length to be at "
                                         r"least .* total_length=3 .* being 5"):
        nn.utils.rnn.pad_packed_sequence(pack(x, [5, 3, 3, 1]), total_length=3)
    with pytest.raises(TypeError, match="pad_packed_sequence: expected a PackedSequence"):
        nn.utils.rnn.pad_packed_sequence(x)
    with pytest.raises(ValueError, match=r"LSTM: a PackedSequence's data must be \[N, "
                                         r"input_size=2\]"):
        nn.LSTM(2, 4)(pack(x, [5, 3, 3, 1]))
    with pytest.raises(ValueError, match=r"GRU: expected h_0 of shape \(1, 4, 4\)"):
        nn.GRU(3, 4)(pack(x, [5, 3, 3, 1]), tl.zeros(1, 3, 4))
