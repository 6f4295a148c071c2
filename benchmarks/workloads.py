"""The workloads, written once against the shared API and built twice: with torch and with ours.

Each builder takes the framework namespace (`torch` or `tinygrad_lite`) and returns the same
model; the torch weights are then copied into ours, so both sides run identical numbers.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Workload:
    name: str
    suite: str                                  # "models" or "ops"
    build: Callable                             # build(fw_name, device, quick) -> Prepared
    flops: Callable                             # flops(quick) -> float per call
    note: str = ""


@dataclass
class Prepared:
    step: Callable          # one timed call
    value: Callable         # a number to compare between the frameworks before timing
    infer: Callable = None  # inference pass (models only)


def frameworks():
    import torch

    import tinygrad_lite as tl
    return {"torch": torch, "ours": tl}


def _nn(fw):
    return fw.nn


def _F(fw):
    return fw.nn.functional


# -- the four models -------------------------------------------------------------------
def build_mlp(fw):
    nn = _nn(fw)
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def build_cnn(fw):
    nn = _nn(fw)
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4096, 128), nn.ReLU(), nn.Linear(128, 10))


def build_lstm(fw):
    nn = _nn(fw)

    class LSTMHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(28, 128, batch_first=True)
            self.head = nn.Linear(128, 10)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    return LSTMHead()


def build_transformer(fw):
    nn = _nn(fw)
    extra = {"enable_nested_tensor": False} if fw.__name__ == "torch" else {}

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(32, 128)
            layer = nn.TransformerEncoderLayer(128, 4, 512, dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2, **extra)
            self.head = nn.Linear(128, 10)

        def forward(self, x):
            return self.head(self.encoder(self.proj(x)).mean(1))

    return Encoder()


MODEL_SHAPES = {
    "mlp": ((128, 784), build_mlp),
    "cnn": ((64, 3, 32, 32), build_cnn),
    "lstm": ((64, 28, 28), build_lstm),
    "transformer": ((32, 64, 32), build_transformer),
}


def _model_flops(name: str) -> float:
    """Forward multiply-adds x2 per batch; a training step counts as 3 forwards."""
    if name == "mlp":
        fwd = 128 * 2 * (784 * 256 + 256 * 128 + 128 * 10)
    elif name == "cnn":
        fwd = 64 * 2 * (32 * 32 * 32 * 3 * 9 + 16 * 16 * 64 * 32 * 9 + 4096 * 128 + 128 * 10)
    elif name == "resnet_block":
        n, c, h, w = BLOCK_SHAPE
        fwd = 2 * (2 * n * c * c * 9 * h * w) + n * 2 * c * 10
    elif name == "lstm":
        fwd = 64 * 28 * 2 * (4 * 128 * (28 + 128)) + 64 * 2 * 128 * 10
    else:
        t, d, ff = 64, 128, 512
        per_layer = t * 2 * (4 * d * d + 2 * d * ff) + 2 * 2 * t * t * d
        fwd = 32 * (t * 2 * 32 * d + 2 * per_layer + 2 * d * 10)
    return 3.0 * fwd


def _sync_weights(ours_model, torch_model) -> None:
    ours_model.load_state_dict({k: v.detach().cpu().numpy()
                                for k, v in torch_model.state_dict().items()})


def make_model_workload(name: str) -> Workload:
    shape, builder = MODEL_SHAPES[name]

    def build(fw_name, device, quick, _shared={}):
        fws = frameworks()
        torch, tl = fws["torch"], fws["ours"]
        key = (name, device)
        if key not in _shared:          # one torch model defines the weights for both sides
            torch.manual_seed(0)
            rng = np.random.default_rng(0)
            x = rng.standard_normal(shape).astype(np.float32)
            y = rng.integers(0, 10, size=shape[0])
            _shared[key] = (builder(torch), x, y)
        ref, x, y = _shared[key]
        if fw_name == "torch":
            model = builder(torch)
            model.load_state_dict(ref.state_dict())
            model = model.to(device)
            xb, yb = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            F, no_grad = torch.nn.functional, torch.no_grad
        else:
            model = builder(tl)
            _sync_weights(model, ref)
            model = model.to(device)
            xb, yb = tl.tensor(x, device=device), tl.tensor(y, device=device)
            opt = tl.optim.Adam(model.parameters(), lr=1e-3)
            F, no_grad = tl.nn.functional, tl.no_grad
        state = {}

        def step():
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            state["loss"] = loss

        def value():
            with no_grad():
                return float(F.cross_entropy(model(xb), yb).item())

        def infer():
            with no_grad():
                return model(xb)

        return Prepared(step, value, infer)

    return Workload(name, "models", build, lambda quick: _model_flops(name),
                    note=f"train step, batch {shape[0]}")


# -- single ops -------------------------------------------------------------------------
def _op(name, shapes, fn, flops, note="", grad=True, ints=None):
    """An op workload: fn(F, *tensors) on random inputs, forward + backward when grad."""

    def build(fw_name, device, quick):
        fws = frameworks()
        fw = fws[fw_name]
        rng = np.random.default_rng(1)
        arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        if fw_name == "torch":
            ts = [fw.from_numpy(a).to(device).requires_grad_(grad) for a in arrays]
        else:
            ts = [fw.tensor(a, device=device, requires_grad=grad) for a in arrays]
        extra = []
        if ints is not None:
            lab = rng.integers(0, ints[1], size=ints[0])
            extra = [fw.from_numpy(lab).to(device) if fw_name == "torch"
                     else fw.tensor(lab, device=device)]
        F = fw.nn.functional
        g = rng.standard_normal(tuple(fn(F, *ts, *extra).shape)).astype(np.float32)
        gt = fw.from_numpy(g).to(device) if fw_name == "torch" else fw.tensor(g, device=device)

        def step():
            for t in ts:
                t.grad = None
            out = fn(F, *ts, *extra)
            if grad:
                (out * gt).sum().backward()
            return out

        def value():
            out = fn(F, *ts, *extra)
            return float((out * gt).sum().item())

        return Prepared(step, value)

    return Workload(name, "ops", build, lambda quick: flops, note)


def _chain300(F, x):
    """300 small elementwise ops: measures per-op overhead, not arithmetic."""
    for _ in range(60):
        x = (x * 0.9 + 0.1).tanh() * 1.1 - 0.05
    return x


def _lstm_op():
    def build(fw_name, device, quick):
        fws = frameworks()
        torch, tl = fws["torch"], fws["ours"]
        torch.manual_seed(0)
        ref = torch.nn.LSTM(28, 128, batch_first=True)
        x = np.random.default_rng(2).standard_normal((64, 28, 28)).astype(np.float32)
        if fw_name == "torch":
            m = ref.to(device)
            xb = torch.from_numpy(x).to(device).requires_grad_(True)
        else:
            m = tl.nn.LSTM(28, 128, batch_first=True)
            _sync_weights(m, ref)
            m = m.to(device)
            xb = tl.tensor(x, device=device, requires_grad=True)

        def step():
            out, _ = m(xb)
            out.sum().backward()
            return out

        def value():
            out, _ = m(xb)
            return float(out.sum().item())

        return Prepared(step, value)

    return Workload("lstm_layer", "ops", build,
                    lambda quick: 3.0 * 64 * 28 * 2 * 4 * 128 * (28 + 128), "fwd+bwd, T=28 B=64")


# -- a ResNet-style block: 3x3-BN-ReLU x2 + skip, a train step -------------------------------
BLOCK_SHAPE = (32, 64, 16, 16)


def build_block(fw):
    nn = _nn(fw)
    c = BLOCK_SHAPE[1]

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c)
            self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(c)
            self.head = nn.Linear(c, 10)

        def forward(self, x):
            y = self.bn1(self.conv1(x)).relu()
            y = (self.bn2(self.conv2(y)) + x).relu()
            return self.head(y.mean((2, 3)))

    return Block()


MODEL_SHAPES["resnet_block"] = (BLOCK_SHAPE, build_block)


def _conv_flops(n, c, k, h, w) -> float:
    """fwd + both gradients of a 3x3 'same' conv, as a direct conv counts them."""
    return 3 * 2 * n * k * c * 9 * h * w


def _conv_op(name, n, c, k, h, suite="ops"):
    wl = _op(name, [(n, c, h, h), (k, c, 3, 3)], lambda F, x, w: F.conv2d(x, w, padding=1),
             _conv_flops(n, c, k, h, h), f"fwd+bwd {c}->{k} 3x3 @{h} b{n}")
    wl.suite = suite
    wl.note += f" [{_algorithm_for(n, c, k, h)}]"
    return wl


def _algorithm_for(n, c, k, h) -> str:
    """The algorithm tinygrad_lite's conv chooses for this shape under the current switch."""
    from tinygrad_lite.ops import winograd
    return winograd.choose((n, c, h, h), (k, c, 3, 3), np.dtype(np.float32), (1, 1), (1, 1), 1,
                           "cpu")


# the conv sweep (--suite conv): channels 3-256, sizes 8-32, batch 1-64
CONV_SWEEP = [(64, 3, 32, 32), (32, 16, 16, 14), (64, 32, 32, 8), (1, 64, 64, 16),
              (16, 64, 64, 32), (64, 128, 128, 8), (8, 256, 256, 8), (64, 256, 256, 8)]


def all_workloads():
    ws = [make_model_workload(n) for n in MODEL_SHAPES]
    ws += [
        _op("matmul_128", [(128, 128), (128, 128)], lambda F, a, b: a @ b, 3 * 2 * 128 ** 3,
            "fwd+bwd"),
        _op("matmul_512", [(512, 512), (512, 512)], lambda F, a, b: a @ b, 3 * 2 * 512 ** 3,
            "fwd+bwd"),
        _op("matmul_1024", [(1024, 1024), (1024, 1024)], lambda F, a, b: a @ b,
            3 * 2 * 1024 ** 3, "fwd+bwd"),
        _op("conv2d", [(64, 32, 16, 16), (64, 32, 3, 3)],
            lambda F, x, w: F.conv2d(x, w, padding=1), 3 * 2 * 64 * 64 * 16 * 16 * 32 * 9,
            "fwd+bwd 32->64 3x3 @16"),
        _conv_op("conv2d_64_32", 64, 64, 64, 32),
        _conv_op("conv2d_128_16", 64, 128, 128, 16),
        _op("max_pool2d", [(64, 32, 32, 32)], lambda F, x: F.max_pool2d(x, 2), 64 * 32 * 32 * 32,
            "fwd+bwd 2x2"),
        _op("softmax", [(256, 1024)], lambda F, x: F.softmax(x, dim=-1), 5 * 256 * 1024,
            "fwd+bwd"),
        _op("layer_norm", [(4096, 128)], lambda F, x: F.layer_norm(x, (128,)), 8 * 4096 * 128,
            "fwd+bwd"),
        _op("cross_entropy", [(512, 1000)], lambda F, x, y: F.cross_entropy(x, y),
            6 * 512 * 1000, "fwd+bwd", ints=(512, 1000)),
        _lstm_op(),
        _op("sdpa", [(32, 4, 64, 32)] * 3,
            lambda F, q, k, v: F.scaled_dot_product_attention(q, k, v),
            3 * 4 * 32 * 4 * 64 * 64 * 32, "fwd+bwd B32 H4 T64 d32"),
        _op("chain_300_ops", [(16, 16)], _chain300, 300 * 256, "fwd+bwd, per-op overhead"),
    ]
    ws += [_conv_op(f"sweep_{c}_{k}_{h}_b{n}", n, c, k, h, suite="conv")
           for n, c, k, h in CONV_SWEEP]
    return ws
