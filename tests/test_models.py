"""Whole models, written once against torch's API and built with either library, trained three
steps from identical weights: losses, outputs and final weights must agree with torch."""
import numpy as np
import pytest

import tinygrad_lite as tl

from helpers import assert_close, torch

# torch notes that it cannot use nested tensors for these configurations; irrelevant here
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")


def _cnn(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 2 * 2, 3))


def _lstm_classifier(lib):
    nn = lib.nn

    class LSTMClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(20, 6)
            self.lstm = nn.LSTM(6, 8, num_layers=2, batch_first=True, bidirectional=True)
            self.head = nn.Linear(16, 3)

        def forward(self, tokens):
            out, (h, c) = self.lstm(self.embed(tokens))
            return self.head(out[:, -1] + h[-1].repeat(1, 2) * 0.5)

    return LSTMClassifier()


def _seq2seq(lib):
    nn = lib.nn

    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.src_embed = nn.Embedding(12, 8)
            self.tgt_embed = nn.Embedding(12, 8)
            self.core = nn.Transformer(8, 2, 2, 1, 16, dropout=0.0, batch_first=True,
                                       activation="gelu")
            self.out = nn.Linear(8, 12)

        def forward(self, src, tgt, tgt_mask, src_pad):
            h = self.core(self.src_embed(src), self.tgt_embed(tgt), tgt_mask=tgt_mask,
                          src_key_padding_mask=src_pad, memory_key_padding_mask=src_pad)
            return self.out(h)

    return Seq2Seq()


def _pair(builder):
    theirs = builder(torch).double()
    ours = builder(tl)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return theirs, ours.double()


def _train(theirs, ours, make_opt, batches, forward):
    """Three steps on each; compare every loss and, at the end, every weight."""
    opt_t, opt_o = make_opt(torch, theirs), make_opt(tl, ours)
    for step, batch in enumerate(batches):
        losses = []
        for lib, model, opt in ((torch, theirs, opt_t), (tl, ours, opt_o)):
            opt.zero_grad()
            loss = forward(lib, model, batch)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        np.testing.assert_allclose(losses[1], losses[0], rtol=1e-9, err_msg=f"loss, step {step}")
    mine = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        assert_close(mine[name], p, rtol=1e-7, atol=1e-9, msg=name)


def _t(lib, a):
    return lib.tensor(a) if lib is tl else torch.from_numpy(a)


def test_cnn_sgd_momentum():
    theirs, ours = _pair(_cnn)
    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((5, 1, 8, 8)), rng.integers(0, 3, 5)) for _ in range(3)]

    def forward(lib, model, batch):
        x, y = batch
        return lib.nn.functional.cross_entropy(model(_t(lib, x)), _t(lib, y))
    _train(theirs, ours, lambda lib, m: lib.optim.SGD(m.parameters(), lr=0.1, momentum=0.9),
           batches, forward)


def test_lstm_text_classifier_adam():
    theirs, ours = _pair(_lstm_classifier)
    rng = np.random.default_rng(1)
    batches = [(rng.integers(0, 20, (4, 7)), rng.integers(0, 3, 4)) for _ in range(3)]

    def forward(lib, model, batch):
        tokens, y = batch
        return lib.nn.functional.cross_entropy(model(_t(lib, tokens)), _t(lib, y))
    _train(theirs, ours, lambda lib, m: lib.optim.Adam(m.parameters(), lr=0.01), batches,
           forward)


def test_transformer_seq2seq_adam():
    theirs, ours = _pair(_seq2seq)
    rng = np.random.default_rng(2)
    batches = []
    for _ in range(3):
        src = rng.integers(1, 12, (3, 6))
        tgt = rng.integers(1, 12, (3, 5))
        pad = np.zeros((3, 6), dtype=bool)
        pad[0, 4:] = True
        batches.append((src, tgt, pad))
    mask = tl.nn.Transformer.generate_square_subsequent_mask(4, dtype=tl.float64).numpy()

    def forward(lib, model, batch):
        src, tgt, pad = batch
        logits = model(_t(lib, src), _t(lib, tgt[:, :-1]), _t(lib, mask.copy()), _t(lib, pad))
        return lib.nn.functional.cross_entropy(logits.reshape(-1, 12),
                                               _t(lib, tgt[:, 1:].reshape(-1)))
    _train(theirs, ours, lambda lib, m: lib.optim.Adam(m.parameters(), lr=0.01), batches,
           forward)
