"""The seeds' models, their datasets and one training loop, shared by the CLI and the examples.

A model name ("cnn", "lstm", ...) maps to a builder and to defaults chosen so a CPU run on the
bundled digits finishes in seconds to a minute. `load_data` turns a dataset spec ("digits",
"mnist:DIR", "cifar10:DIR", "text:FILE", ...) into train/test datasets plus the facts a builder
needs (input shape, number of classes, vocabulary).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

import numpy as np

import tinygrad_lite as tl
import tinygrad_lite.nn as nn
import tinygrad_lite.nn.functional as F
import tinygrad_lite.optim as optim

from .data import (CIFAR10, MNIST, BreastCancer, DataLoader, Digits, Subset, TensorDataset,
                   TextFile)

__all__ = ["MODELS", "DataInfo", "Defaults", "load_data", "build_model", "make_optimizer",
           "train_epoch", "evaluate", "cosine_lr", "set_lr", "fit", "perplexity",
           "LinearRegression", "LogisticRegression", "MLP", "CNN",
           "RowLSTM", "PatchTransformer", "CharLSTM", "zen_text", "sample_text",
           "TRUE_WEIGHT", "TRUE_BIAS"]


# -- data ------------------------------------------------------------------------------------------
TRUE_WEIGHT = (2.0, -3.5, 0.5, 1.25)   # the synthetic regression's coefficients
TRUE_BIAS = 0.75


@dataclass
class DataInfo:
    """What a model builder needs to know about its data, and how to score it."""

    name: str
    task: str                    # "classify", "binary", "regress" or "lm"
    in_shape: tuple = ()
    num_classes: int = 0
    vocab: Optional[list] = None
    seq_len: int = 0


def zen_text() -> str:
    """The Zen of Python (in every Python install): the char LM's default corpus, no download."""
    import contextlib  # noqa: PLC0415
    import io  # noqa: PLC0415
    with contextlib.redirect_stdout(io.StringIO()):   # `import this` prints the poem on import
        import this  # noqa: PLC0415
    return "".join(this.d.get(c, c) for c in this.s) + "\n"


def _synthetic_regression(n: int, seed: int, noise: float = 0.05) -> TensorDataset:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(TRUE_WEIGHT))).astype(np.float32)
    y = x @ np.asarray(TRUE_WEIGHT, np.float32) + np.float32(TRUE_BIAS)
    y = (y + rng.normal(scale=noise, size=n)).astype(np.float32)
    return TensorDataset(x, y[:, None])


def _text_splits(path: Optional[str], seq_len: int) -> tuple:
    if path is None:
        ds = TextFile("zen", seq_len=seq_len, stride=max(1, seq_len // 4), text=zen_text())
        name = "zen"
    else:
        ds = TextFile(path, seq_len=seq_len, stride=max(1, seq_len // 4))
        name = f"text:{path}"
    # the last tenth of the windows is held out; they overlap, so split by position, not at random
    n_test = max(1, len(ds) // 10)
    if len(ds) - n_test < 1:
        raise ValueError(f"{name}: too short for seq_len {seq_len}: {len(ds)} windows")
    train = Subset(ds, range(len(ds) - n_test))
    test = Subset(ds, range(len(ds) - n_test, len(ds)))
    return train, test, DataInfo(name, "lm", (seq_len,), ds.vocab_size, ds.vocab, seq_len)


def load_data(spec: str, seq_len: int = 64) -> tuple:
    """(train, test, DataInfo) for a dataset spec: digits, breast_cancer, synthetic, zen,
    mnist:DIR, cifar10:DIR or text:FILE. Raises FileNotFoundError / ValueError with the reason.
    """
    kind, _, arg = spec.partition(":")
    kind = kind.lower().replace("-", "_")
    if kind in ("mnist", "cifar10", "text") and not arg:
        raise ValueError(f"dataset {spec!r}: give a path, e.g. {kind}:/path/to/"
                         f"{'file.txt' if kind == 'text' else 'dir'}")
    if kind == "digits":
        return Digits(train=True), Digits(train=False), DataInfo("digits", "classify",
                                                                 (1, 8, 8), 10)
    if kind == "breast_cancer":
        return BreastCancer(train=True), BreastCancer(train=False), \
            DataInfo("breast_cancer", "binary", (30,), 2)
    if kind == "synthetic":
        return _synthetic_regression(800, 0), _synthetic_regression(200, 1), \
            DataInfo("synthetic", "regress", (len(TRUE_WEIGHT),), 0)
    if kind == "mnist":
        return MNIST(arg, train=True), MNIST(arg, train=False), \
            DataInfo(spec, "classify", (1, 28, 28), 10)
    if kind == "cifar10":
        return CIFAR10(arg, train=True), CIFAR10(arg, train=False), \
            DataInfo(spec, "classify", (3, 32, 32), 10)
    if kind == "text":
        return _text_splits(arg, seq_len)
    if kind == "zen":
        return _text_splits(None, seq_len)
    raise ValueError(f"unknown dataset {spec!r}; expected digits, breast_cancer, synthetic, zen, "
                     "mnist:DIR, cifar10:DIR or text:FILE")


# -- models ----------------------------------------------------------------------------------------
def _flat(shape: Iterable[int]) -> int:
    return int(np.prod(tuple(shape), dtype=np.int64))


class LinearRegression(nn.Module):
    """y = x @ w.T + b."""

    def __init__(self, in_features: int, out_features: int = 1):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x):
        return self.linear(x.reshape(x.shape[0], -1))


class LogisticRegression(nn.Module):
    """Logits of a linear model: one for a binary task (use BCE with logits), else one per class."""

    def __init__(self, in_features: int, num_classes: int = 2):
        super().__init__()
        self.linear = nn.Linear(in_features, 1 if num_classes == 2 else num_classes)

    def forward(self, x):
        return self.linear(x.reshape(x.shape[0], -1))


class MLP(nn.Module):
    """flatten -> fc-relu -> fc-relu -> fc."""

    def __init__(self, in_features: int, num_classes: int, hidden: int = 128,
                 dropout: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.net(x.reshape(x.shape[0], -1))


class CNN(nn.Module):
    """The seeds' CNN: (conv3x3-relu-maxpool2) x 2, fc-relu, fc."""

    def __init__(self, in_shape: tuple = (1, 8, 8), num_classes: int = 10, width: int = 16,
                 hidden: int = 64):
        super().__init__()
        c, h, w = in_shape
        self.features = nn.Sequential(
            nn.Conv2d(c, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Linear(2 * width * (h // 4) * (w // 4), hidden),
                                        nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.reshape(x.shape[0], -1))


class RowLSTM(nn.Module):
    """Reads an image row by row (H steps of C*W features); classifies from the last hidden
    state."""

    def __init__(self, in_shape: tuple = (1, 8, 8), num_classes: int = 10, hidden: int = 64):
        super().__init__()
        c, h, w = in_shape
        self.lstm = nn.LSTM(c * w, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, num_classes)

    def forward(self, x):
        b, c, h, w = x.shape
        rows = x.permute(0, 2, 1, 3).reshape(b, h, c * w)
        out, _ = self.lstm(rows)
        return self.fc(out[:, -1])


class PatchTransformer(nn.Module):
    """A small vision transformer: p x p patches as tokens, learned positions, mean-pooled encoder
    output, linear head."""

    def __init__(self, in_shape: tuple = (1, 8, 8), num_classes: int = 10, patch: int = 0,
                 d_model: int = 32, nhead: int = 4, num_layers: int = 2, dim_feedforward: int = 64,
                 dropout: float = 0.0):
        super().__init__()
        c, h, w = in_shape
        # 2x2 patches on 8x8 digits (16 tokens), 4x4 on larger images
        self.patch = patch or (2 if max(h, w) <= 16 else 4)
        if h % self.patch or w % self.patch:
            raise ValueError(f"PatchTransformer: patch {self.patch} does not divide image {h}x{w}")
        n_tokens = (h // self.patch) * (w // self.patch)
        self.embed = nn.Linear(c * self.patch * self.patch, d_model)
        self.pos = nn.Parameter(tl.randn(1, n_tokens, d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, x):
        b, c, h, w = x.shape
        p = self.patch
        tokens = x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5)
        tokens = tokens.reshape(b, (h // p) * (w // p), c * p * p)
        z = self.encoder(self.embed(tokens) + self.pos)
        return self.head(self.norm(z.mean(1)))


class CharLSTM(nn.Module):
    """Character language model: embedding -> LSTM -> logits over the vocabulary at every step."""

    def __init__(self, vocab_size: int, embed: int = 32, hidden: int = 128, num_layers: int = 1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=num_layers, batch_first=True)
        self.fc = nn.Linear(hidden, vocab_size)

    def forward(self, ids, state=None):
        out, state = self.lstm(self.embed(ids), state)
        return self.fc(out), state


@dataclass
class Defaults:
    """A model's default dataset and training settings (what `tinygrad-lite train NAME` uses)."""

    dataset: str
    epochs: int
    batch_size: int
    lr: float
    optimizer: str = "adam"
    weight_decay: float = 0.0
    extra: dict = field(default_factory=dict)


def _build_linreg(info: DataInfo):
    return LinearRegression(_flat(info.in_shape), 1)


def _build_logreg(info: DataInfo):
    return LogisticRegression(_flat(info.in_shape), info.num_classes)


def _build_mlp(info: DataInfo):
    return MLP(_flat(info.in_shape), info.num_classes, hidden=256)


def _build_cnn(info: DataInfo):
    return CNN(info.in_shape, info.num_classes)


def _build_lstm(info: DataInfo):
    return RowLSTM(info.in_shape, info.num_classes, hidden=64 if info.in_shape[-1] <= 16 else 128)


def _build_transformer(info: DataInfo):
    return PatchTransformer(info.in_shape, info.num_classes)


def _build_charlm(info: DataInfo):
    return CharLSTM(info.num_classes)


# name -> (builder, defaults, datasets that fit its input)
MODELS: dict = {
    "linreg": (_build_linreg, Defaults("synthetic", 10, 32, 0.05, "sgd"), ("regress",)),
    "logreg": (_build_logreg, Defaults("breast_cancer", 20, 32, 0.01), ("binary", "classify")),
    "mlp": (_build_mlp, Defaults("digits", 15, 32, 2e-3), ("classify",)),
    "cnn": (_build_cnn, Defaults("digits", 12, 16, 5e-3), ("classify",)),
    "lstm": (_build_lstm, Defaults("digits", 15, 32, 5e-3), ("classify",)),
    "transformer": (_build_transformer, Defaults("digits", 12, 32, 3e-3), ("classify",)),
    "charlm": (_build_charlm, Defaults("zen", 20, 32, 5e-3, extra={"seq_len": 32}), ("lm",)),
}


def build_model(name: str, info: DataInfo) -> nn.Module:
    """A fresh model `name` for data described by `info` (ValueError when they do not fit)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    builder, _, tasks = MODELS[name]
    if info.task not in tasks:
        raise ValueError(f"model {name!r} does not fit dataset {info.name!r} (a {info.task} task); "
                         f"it needs a {' or '.join(tasks)} dataset")
    if name in ("cnn", "lstm", "transformer") and len(info.in_shape) != 3:
        raise ValueError(f"model {name!r} needs images, dataset {info.name!r} has shape "
                         f"{info.in_shape}")
    return builder(info)


def make_optimizer(name: str, params, lr: float, weight_decay: float = 0.0):
    """sgd (momentum 0.9), adam, adamw or rmsprop."""
    name = name.lower()
    params = list(params)
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=weight_decay or 1e-2)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; choose from sgd, adam, adamw, rmsprop")


# -- training -------------------------------------------------------------------------------------
def cosine_lr(base_lr: float, epoch: int, epochs: int) -> float:
    """Cosine decay from base_lr (epoch 0) towards 0 at the end: the last epochs take small steps,
    so the final accuracy does not hinge on where the last noisy step landed. A pure function of
    the epoch, so a resumed run needs no scheduler state."""
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * epoch / max(epochs, 1)))


def set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def _loss_and_hits(model: nn.Module, batch, task: str) -> tuple:
    """(loss, number right, number scored); 'right' is 0 for regression."""
    x, y = batch
    if task == "lm":
        logits, _ = model(x)
        v = logits.shape[-1]
        loss = F.cross_entropy(logits.reshape(-1, v), y.reshape(-1))
        hits = int((logits.argmax(-1) == y).sum().item())
        return loss, hits, y.numel()
    out = model(x)
    if task == "regress":
        return F.mse_loss(out, y.reshape(out.shape)), 0, y.shape[0]
    if task == "binary":
        logit = out.reshape(-1)
        loss = F.binary_cross_entropy_with_logits(logit, y.float())
        hits = int(((logit > 0).long() == y).sum().item())
        return loss, hits, y.shape[0]
    loss = F.cross_entropy(out, y)
    return loss, int((out.argmax(1) == y).sum().item()), y.shape[0]


def train_epoch(model: nn.Module, loader: DataLoader, optimizer, task: str,
                progress: Optional[Callable[[float, float], None]] = None,
                totals: Optional[dict] = None) -> tuple:
    """One pass over `loader`; returns (mean loss, accuracy) over the samples seen.

    `progress(loss, acc)` is called after each batch with the running values (for a bar);
    `totals`, when given, receives the sums ("loss", "hits", "seen"), which ranks add up.
    """
    model.train()
    total_loss, hits, seen = 0.0, 0, 0
    for batch in loader:
        loss, right, n = _loss_and_hits(model, batch, task)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * n
        hits += right
        seen += n
        if progress is not None:
            progress(total_loss / seen, hits / seen)
    if totals is not None:
        totals.update(loss=total_loss, hits=hits, seen=seen)
    return total_loss / max(seen, 1), hits / max(seen, 1)


def evaluate(model: nn.Module, loader: DataLoader, task: str) -> tuple:
    """(mean loss, accuracy) on `loader` with no graph built and dropout off."""
    model.eval()
    total_loss, hits, seen = 0.0, 0, 0
    with tl.no_grad():
        for batch in loader:
            loss, right, n = _loss_and_hits(model, batch, task)
            total_loss += loss.item() * n
            hits += right
            seen += n
    return total_loss / max(seen, 1), hits / max(seen, 1)


def sample_text(model: CharLSTM, vocab: list, prompt: str, length: int = 200,
                temperature: float = 0.8, generator=None) -> str:
    """Continue `prompt` one character at a time from the model's softmax (seeded)."""
    stoi = {ch: i for i, ch in enumerate(vocab)}
    ids = [stoi[ch] for ch in prompt if ch in stoi] or [0]
    rng = generator if generator is not None else np.random.default_rng(0)
    device = next(iter(model.parameters())).device
    model.eval()
    out = list(ids)
    with tl.no_grad():
        logits, state = model(tl.tensor([ids], device=device))
        for _ in range(length):
            z = logits[0, -1].float().numpy().astype(np.float64) / max(temperature, 1e-6)
            p = np.exp(z - z.max())
            nxt = int(rng.choice(len(p), p=p / p.sum()))
            out.append(nxt)
            logits, state = model(tl.tensor([[nxt]], device=device), state)
    return "".join(vocab[i] for i in out)


def perplexity(loss: float) -> float:
    """exp(mean cross-entropy), capped so a diverged run prints a number."""
    return math.exp(min(loss, 50.0))


def fit(name: str, dataset: Optional[str] = None, epochs: Optional[int] = None,
        batch_size: Optional[int] = None, lr: Optional[float] = None,
        optimizer: Optional[str] = None, seed: int = 0, device: str = "cpu",
        log: Optional[Callable[[str], None]] = print) -> tuple:
    """Train model `name` with its defaults (any of them overridden) and score it on the test split.

    Returns (model, info, test_loss, test_accuracy). The CLI adds checkpoints, bars and plots on
    top of the same pieces; the examples call this.
    """
    d = MODELS[name][1] if name in MODELS else None
    if d is None:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    epochs = epochs or d.epochs
    lr = lr or d.lr
    tl.manual_seed(seed)
    train, test, info = load_data(dataset or d.dataset, seq_len=d.extra.get("seq_len", 64))
    model = build_model(name, info).to(device)
    opt = make_optimizer(optimizer or d.optimizer, model.parameters(), lr, d.weight_decay)
    train_dl = DataLoader(train, batch_size=batch_size or d.batch_size, shuffle=True,
                          device=device)
    test_dl = DataLoader(test, batch_size=256, device=device)
    test_loss, test_acc = float("nan"), float("nan")
    for epoch in range(epochs):
        set_lr(opt, cosine_lr(lr, epoch, epochs))
        train_loss, train_acc = train_epoch(model, train_dl, opt, info.task)
        test_loss, test_acc = evaluate(model, test_dl, info.task)
        if log is not None:
            log(f"epoch {epoch + 1}/{epochs}: train loss {train_loss:.4f}, "
                f"test loss {test_loss:.4f} acc {test_acc:.4f}")
    return model, info, test_loss, test_acc


def example_args(doc: str, epochs: int, dataset: bool = True) -> dict:
    """The command line shared by the examples: --epochs (and --dataset), as keyword arguments."""
    import argparse
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    parser.add_argument("--epochs", type=int, default=epochs)
    if dataset:
        parser.add_argument("--dataset", default="digits")
    return vars(parser.parse_args())
