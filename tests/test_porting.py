"""The porting promise: tutorial-style PyTorch code runs on tinygrad_lite by swapping imports.

Each snippet below is written once, as plain PyTorch code over a namespace `fw` holding the five
modules a script imports (`torch`, `nn`, `F`, `optim`, `data`). It runs once with the real torch
modules and once with ours. Where the numbers must agree, the snippet takes an `init` hook that
the harness uses to copy torch's freshly built weights into our model (`load_state_dict`), so the
two runs start from the same point; where randomness cannot be shared (shuffling, dropout,
sampling), the test only asks that our run works and that training lowers the loss.
"""
import math
import types
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn
import torch.nn.functional
import torch.optim
import torch.utils.data

import tinygrad_lite
import tinygrad_lite.nn
import tinygrad_lite.nn.functional
import tinygrad_lite.optim
import tinygrad_lite.utils.data

TORCH = types.SimpleNamespace(torch=torch, nn=torch.nn, F=torch.nn.functional, optim=torch.optim,
                              data=torch.utils.data)
OURS = types.SimpleNamespace(torch=tinygrad_lite, nn=tinygrad_lite.nn,
                             F=tinygrad_lite.nn.functional, optim=tinygrad_lite.optim,
                             data=tinygrad_lite.utils.data)


def _np(x):
    """Any nested result (tensors, lists, dicts, floats) as NumPy, whichever library made it."""
    if isinstance(x, dict):
        return {k: _np(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_np(v) for v in x]
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, tinygrad_lite.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def _assert_same(ours, theirs, rtol=1e-4, atol=1e-5, path="result"):
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs), path
        for k in theirs:
            _assert_same(ours[k], theirs[k], rtol, atol, f"{path}[{k!r}]")
    elif isinstance(theirs, list):
        assert len(ours) == len(theirs), path
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _assert_same(a, b, rtol, atol, f"{path}[{i}]")
    else:
        assert ours.shape == theirs.shape, f"{path}: {ours.shape} != {theirs.shape}"
        if theirs.dtype == bool or theirs.dtype.kind in "iu":
            np.testing.assert_array_equal(ours, theirs, err_msg=path)
        else:
            np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=path)


def run_both(snippet, *args, **kwargs):
    """Run `snippet` on torch, then on ours starting from torch's initial weights."""
    saved = []

    def record(model):
        saved.append({k: v.detach().clone().numpy() for k, v in model.state_dict().items()})

    def load(model):
        state = saved.pop(0)
        model.load_state_dict({k: tinygrad_lite.tensor(v) for k, v in state.items()})

    theirs = snippet(TORCH, *args, init=record, **kwargs)
    ours = snippet(OURS, *args, init=load, **kwargs)
    assert not saved, "the snippet built a different number of models on each side"
    return _np(ours), _np(theirs)


def _images(n=64, c=1, hw=14, classes=10, seed=0):
    """A small learnable image problem: the label decides which patch is bright."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.normal(0, 0.3, (n, c, hw, hw)).astype(np.float32)
    for i, label in enumerate(y):
        r, col = divmod(int(label) % 4, 2)
        x[i, :, r * hw // 2:(r + 1) * hw // 2, col * hw // 2:(col + 1) * hw // 2] += 1.0 + label / 4
    return x, y.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# 1. The classic MNIST example: Module subclass, F.* activations, nll_loss, StepLR, no_grad eval.

def mnist_example(fw, x_np, y_np, shuffle=False, epochs=2, dropout=0.25, init=None):
    torch, nn, F, optim, data = fw.torch, fw.nn, fw.F, fw.optim, fw.data
    torch.manual_seed(1)
    device = torch.device("cpu")

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, 1)
            self.conv2 = nn.Conv2d(8, 16, 3, 1)
            self.dropout1 = nn.Dropout(dropout)
            self.fc1 = nn.Linear(16 * 5 * 5, 32)
            self.fc2 = nn.Linear(32, 10)

        def forward(self, x):
            x = self.conv1(x)
            x = F.relu(x)
            x = self.conv2(x)
            x = F.relu(x)
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = x.view(x.size(0), -1)
            x = F.relu(self.fc1(x))
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    def train(model, device, train_loader, optimizer):
        model.train()
        losses = []
        for batch_idx, (data_, target) in enumerate(train_loader):
            data_, target = data_.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data_)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses

    def test(model, device, test_loader):
        model.eval()
        test_loss = 0
        correct = 0
        with torch.no_grad():
            for data_, target in test_loader:
                data_, target = data_.to(device), target.to(device)
                output = model(data_)
                test_loss += F.nll_loss(output, target, reduction='sum').item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()
        test_loss /= len(test_loader.dataset)
        return test_loss, correct

    dataset = data.TensorDataset(torch.from_numpy(x_np), torch.from_numpy(y_np))
    train_loader = data.DataLoader(dataset, batch_size=16, shuffle=shuffle)
    test_loader = data.DataLoader(dataset, batch_size=32)
    model = Net().to(device)
    if init:
        init(model)
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    history = []
    for epoch in range(1, epochs + 1):
        losses = train(model, device, train_loader, optimizer)
        test_loss, correct = test(model, device, test_loader)
        history.append((losses, test_loss, correct, optimizer.param_groups[0]["lr"]))
        scheduler.step()
    return history


def test_mnist_example_matches_torch_step_for_step():
    x, y = _images()
    ours, theirs = run_both(mnist_example, x, y, dropout=0.0)
    _assert_same(ours, theirs, rtol=1e-3, atol=1e-4)


def test_mnist_example_trains_with_shuffle_and_dropout():
    x, y = _images()
    history = mnist_example(OURS, x, y, shuffle=True, epochs=4)
    first, last = history[0], history[-1]
    assert last[1] < first[1] * 0.7            # test loss fell
    assert last[2] >= 25                       # chance would be about 6 of the 64
    assert last[3] == pytest.approx(1.0 * 0.7 ** 3)


# ---------------------------------------------------------------------------------------------
# 2. The CIFAR-10 "training a classifier" tutorial: LeNet, CrossEntropyLoss, SGD with momentum,
#    torch.max(outputs, 1), torch.save / torch.load of the state_dict.

def cifar_tutorial(fw, x_np, y_np, path, init=None):
    torch, nn, F, optim, data = fw.torch, fw.nn, fw.F, fw.optim, fw.data

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = torch.flatten(x, 1)  # flatten all dimensions except batch
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            x = self.fc3(x)
            return x

    net = Net()
    if init:
        init(net)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    trainloader = data.DataLoader(data.TensorDataset(torch.tensor(x_np), torch.tensor(y_np)),
                                  batch_size=8, shuffle=False, num_workers=0)
    running = []
    for epoch in range(2):
        running_loss = 0.0
        for i, data_ in enumerate(trainloader, 0):
            inputs, labels = data_
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        running.append(running_loss / len(trainloader))

    torch.save(net.state_dict(), path)
    net = Net()
    net.load_state_dict(torch.load(path))
    correct = 0
    total = 0
    with torch.no_grad():
        images, labels = next(iter(trainloader))
        outputs = net(images)
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
        x = images[0].unsqueeze(0)
        legacy = net(x).max(1)[1]
    return running, outputs, predicted, correct, total, legacy


def test_cifar_tutorial_matches_torch(tmp_path):
    x, y = _images(n=32, c=3, hw=32)
    ours, theirs = run_both(cifar_tutorial, x, y, str(tmp_path / "cifar_net.pth"))
    _assert_same(ours, theirs, rtol=1e-3, atol=1e-4)


# ---------------------------------------------------------------------------------------------
# 3. A torchvision-style CNN: Sequential(OrderedDict), ReLU(inplace=True), BatchNorm, an init
#    function passed to model.apply, AdaptiveAvgPool2d, clip_grad_norm_, a checkpoint dict.

def vgg_style(fw, x_np, y_np, path, init=None):
    torch, nn, F, optim, data = fw.torch, fw.nn, fw.F, fw.optim, fw.data
    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def init_weights(m):
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)

    class Small(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            self.features = nn.Sequential(OrderedDict([
                ("conv1", nn.Conv2d(1, 16, kernel_size=3, padding=1)),
                ("bn1", nn.BatchNorm2d(16)),
                ("relu1", nn.ReLU(inplace=True)),
                ("pool1", nn.MaxPool2d(kernel_size=2, stride=2)),
                ("conv2", nn.Conv2d(16, 32, kernel_size=3, padding=1, bias=False)),
                ("bn2", nn.BatchNorm2d(32)),
                ("relu2", nn.ReLU(inplace=True)),
            ]))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.classifier = nn.Linear(32, num_classes)
            self.apply(init_weights)

        def forward(self, x):
            x = self.features(x)
            x = self.avgpool(x)
            x = x.reshape(x.size(0), -1)
            return self.classifier(x)

    model = Small().to(device)
    if init:
        init(model)
    conv_std = float(model.features.conv1.weight.detach().std())
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    criterion = nn.CrossEntropyLoss()
    x_all, y_all = torch.from_numpy(x_np).to(device), torch.from_numpy(y_np).to(device)
    losses, norms = [], []
    for epoch in range(6):
        model.train()
        for xb, yb in zip(x_all.split(32), y_all.split(32)):
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0).item())
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    torch.save({"epoch": 6, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(), "loss": losses[-1]}, path)
    checkpoint = torch.load(path)
    model2 = Small().to(device)
    model2.load_state_dict(checkpoint["model_state_dict"])
    optimizer2 = optim.SGD(model2.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    optimizer2.load_state_dict(checkpoint["optimizer_state_dict"])
    model2.eval()
    with torch.no_grad():
        eval_out = model2(x_all[:8])
    running_mean = model2.features.bn1.running_mean
    return (conv_std, losses, norms, eval_out, running_mean, checkpoint["epoch"],
            optimizer2.param_groups[0]["lr"])


def test_vgg_style_matches_torch(tmp_path):
    x, y = _images(n=64)
    ours, theirs = run_both(vgg_style, x, y, str(tmp_path / "ckpt.pt"))
    _assert_same(ours, theirs, rtol=2e-3, atol=2e-4)


def test_vgg_style_init_fn_gives_kaiming_fan_out_scale(tmp_path):
    x, y = _images(n=32)
    conv_std = vgg_style(OURS, x, y, str(tmp_path / "ckpt.pt"))[0]
    # fan_out = 16 * 3 * 3, gain sqrt(2): std = sqrt(2 / 144); 144 samples, so a loose band
    assert conv_std == pytest.approx(math.sqrt(2 / 144), rel=0.25)


# ---------------------------------------------------------------------------------------------
# 4. The tensor idioms that glue those scripts together, with gradients.

def tensor_idioms(fw, a_np, init=None):
    torch, nn, F = fw.torch, fw.nn, fw.F
    x = torch.tensor(a_np)                       # (2, 3, 4) float32
    w = torch.from_numpy(a_np[0].T.copy()).clone().detach().requires_grad_(True)   # (4, 3)
    b = torch.randn(3, requires_grad=True)
    with torch.no_grad():
        b.zero_()
    pos = torch.arange(0, 4).float()
    out = {}
    out["size0"] = x.size(0)
    out["tail"] = list(x.shape[1:])
    y = x.permute(0, 2, 1)                       # (2, 4, 3)
    y = y.contiguous().view(-1, 3) @ w.t() + pos  # (8, 4)
    y = y.view(2, 4, 4).transpose(1, 2)
    n = y.size(-1)
    mask = torch.triu(torch.ones(n, n), diagonal=1).bool()
    scores = y.masked_fill(mask, float('-inf'))
    attn = F.softmax(scores, dim=-1)
    keep = torch.tril(torch.ones(n, n))
    scores2 = y.masked_fill(keep == 0, float('-inf'))
    out["same_mask"] = torch.equal(torch.isinf(scores), torch.isinf(scores2))
    z = torch.where(attn > 0.25, attn, torch.zeros_like(attn))
    both = torch.cat([z, attn], dim=1)
    stacked = torch.stack([z.sum(1), attn.sum(1)], dim=0)
    h = F.relu(both.flatten(1) - 0.1, inplace=False)
    h2 = nn.ReLU(inplace=True)(both.flatten(1) * 1.0 - 0.1)
    loss = (h * h2).sum() + stacked.pow(2).mean() + b.sum() * 0.5
    loss.backward()
    out["loss"] = loss.item()
    out["w_grad"] = w.grad
    out["b_grad"] = b.grad
    out["stacked"] = stacked.tolist()
    out["numpy"] = attn.detach().numpy()
    out["argmax"] = attn.argmax(dim=-1)
    out["maxvals"] = attn.max(dim=-1)[0]
    out["unsq"] = list(pos.unsqueeze(0).shape)
    out["dtype_long"] = str(torch.arange(3).dtype) == str(torch.long)
    r = torch.zeros(3, 4)
    F.relu(torch.randn(3, 4), inplace=True)
    r.add_(1.0).mul_(2.0)
    out["inplace"] = r
    return out


def test_tensor_idioms_match_torch():
    a = np.random.default_rng(3).normal(size=(2, 3, 4)).astype(np.float32)
    ours, theirs = run_both(tensor_idioms, a)
    _assert_same(ours, theirs)


# ---------------------------------------------------------------------------------------------
# 5. A char-RNN: Embedding + LSTM + Linear, hidden state detached between batches (truncated
#    BPTT), clip_grad_norm_, Adam; then greedy sampling under @torch.no_grad().

def char_rnn(fw, text, steps=12, init=None):
    torch, nn, F, optim = fw.torch, fw.nn, fw.F, fw.optim
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    encoded = torch.tensor([stoi[c] for c in text], dtype=torch.long)

    class CharRNN(nn.Module):
        def __init__(self, vocab, hidden=32, layers=2):
            super().__init__()
            self.hidden, self.layers = hidden, layers
            self.embed = nn.Embedding(vocab, 16)
            self.lstm = nn.LSTM(16, hidden, layers, batch_first=True, dropout=0.0)
            self.fc = nn.Linear(hidden, vocab)

        def forward(self, x, h):
            out, h = self.lstm(self.embed(x), h)
            out = out.contiguous().view(-1, self.hidden)
            return self.fc(out), h

        def init_hidden(self, batch):
            weight = next(self.parameters()).data
            return (torch.zeros(self.layers, batch, self.hidden),
                    torch.zeros(self.layers, batch, self.hidden))

    model = CharRNN(len(chars))
    if init:
        init(model)
    opt = optim.Adam(model.parameters(), lr=0.01)
    criterion = nn.CrossEntropyLoss()
    batch, seq = 4, 8
    n = (len(encoded) - 1) // (batch * seq) * (batch * seq)
    xs = encoded[:n].view(batch, -1)
    ys = encoded[1:n + 1].view(batch, -1)
    h = model.init_hidden(batch)
    losses = []
    model.train()
    for step in range(steps):
        i = (step * seq) % xs.size(1)
        if i == 0:
            h = model.init_hidden(batch)
        x, y = xs[:, i:i + seq], ys[:, i:i + seq]
        h = tuple([each.detach() for each in h])
        model.zero_grad()
        logits, h = model(x, h)
        loss = criterion(logits, y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        losses.append(loss.item())

    @torch.no_grad()
    def sample(prime, length):
        model.eval()
        h = model.init_hidden(1)
        idx = torch.tensor([[stoi[c] for c in prime]])
        out = list(prime)
        for _ in range(length):
            logits, h = model(idx, h)
            nxt = logits[-1].argmax().item()
            out.append(chars[nxt])
            idx = torch.tensor([[nxt]])
        return "".join(out)

    text_out = sample("th", 10)
    return losses, text_out, torch.is_grad_enabled()


TEXT = ("the quick brown fox jumps over the lazy dog. " * 6)


def test_char_rnn_matches_torch():
    ours, theirs = run_both(char_rnn, TEXT)
    _assert_same(ours[0], theirs[0], rtol=1e-3, atol=1e-4)
    assert ours[1].item() == theirs[1].item()
    assert ours[2] and theirs[2]        # the decorator restored grad mode


def test_char_rnn_trains():
    losses = char_rnn(OURS, TEXT, steps=40)[0]
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])


# ---------------------------------------------------------------------------------------------
# 6. The "language modeling with nn.Transformer" tutorial: PositionalEncoding buffer filled by
#    slice assignment, TransformerEncoder, a causal mask, a key padding mask.

def transformer_lm(fw, tokens_np, pad_lengths, init=None, helper_mask=False):
    torch, nn, F, optim = fw.torch, fw.nn, fw.F, fw.optim

    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, dropout=0.1, max_len=64):
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)
            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_len, 1, d_model)
            pe[:, 0, 0::2] = torch.sin(position * div_term)
            pe[:, 0, 1::2] = torch.cos(position * div_term)
            self.register_buffer('pe', pe)

        def forward(self, x):
            x = x + self.pe[:x.size(0)]
            return self.dropout(x)

    class TransformerModel(nn.Module):
        def __init__(self, ntoken, d_model, nhead, d_hid, nlayers, dropout=0.5):
            super().__init__()
            self.model_type = 'Transformer'
            self.pos_encoder = PositionalEncoding(d_model, dropout)
            encoder_layers = nn.TransformerEncoderLayer(d_model, nhead, d_hid, dropout)
            self.transformer_encoder = nn.TransformerEncoder(encoder_layers, nlayers,
                                                             enable_nested_tensor=False)
            self.embedding = nn.Embedding(ntoken, d_model)
            self.d_model = d_model
            self.linear = nn.Linear(d_model, ntoken)
            self.init_weights()

        def init_weights(self):
            # the tutorial writes `weight.data.uniform_(...)`; `.data` is NumPy here (the one
            # deliberate difference), so the init goes through nn.init, which means the same
            initrange = 0.1
            nn.init.uniform_(self.embedding.weight, -initrange, initrange)
            nn.init.zeros_(self.linear.bias)
            nn.init.uniform_(self.linear.weight, -initrange, initrange)

        def forward(self, src, src_mask=None, src_key_padding_mask=None):
            src = self.embedding(src) * math.sqrt(self.d_model)
            src = self.pos_encoder(src)
            output = self.transformer_encoder(src, src_mask,
                                              src_key_padding_mask=src_key_padding_mask)
            return self.linear(output)

    def generate_square_subsequent_mask(sz):
        mask = (torch.triu(torch.ones(sz, sz)) == 1).transpose(0, 1)
        mask = mask.float().masked_fill(mask == 0, float('-inf')).masked_fill(mask == 1, 0.0)
        return mask

    ntokens = 20
    model = TransformerModel(ntokens, 16, 2, 32, 2, dropout=0.0)
    if init:
        init(model)
    src = torch.from_numpy(tokens_np)            # (seq, batch)
    seq_len, batch = src.shape
    if helper_mask:
        mask = nn.Transformer.generate_square_subsequent_mask(seq_len)
    else:
        mask = generate_square_subsequent_mask(seq_len)
    lengths = torch.tensor(pad_lengths)
    padding = torch.arange(seq_len).unsqueeze(0) >= lengths.unsqueeze(1)    # (batch, seq)
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    criterion = nn.CrossEntropyLoss()
    losses = []
    model.train()
    for _ in range(3):
        data_, targets = src[:-1], src[1:].reshape(-1)
        output = model(data_, mask[:-1, :-1], src_key_padding_mask=padding[:, :-1])
        loss = criterion(output.view(-1, ntokens), targets)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        out = model(src, mask, src_key_padding_mask=padding)
    return losses, out[:, 0], mask


# torch warns that the tutorial's float causal mask and bool padding mask differ in type
_MIXED_MASKS = pytest.mark.filterwarnings("ignore:Support for mismatched src_key_padding_mask")


@_MIXED_MASKS
def test_transformer_tutorial_matches_torch():
    rng = np.random.default_rng(5)
    tokens = rng.integers(1, 20, (10, 3)).astype(np.int64)
    ours, theirs = run_both(transformer_lm, tokens, [10, 10, 10])
    _assert_same(ours, theirs, rtol=1e-3, atol=1e-4)


@_MIXED_MASKS
def test_transformer_with_padding_and_helper_mask_matches_torch():
    rng = np.random.default_rng(6)
    tokens = rng.integers(1, 20, (10, 3)).astype(np.int64)
    ours, theirs = run_both(transformer_lm, tokens, [10, 7, 5], helper_mask=True)
    _assert_same(ours, theirs, rtol=1e-3, atol=1e-4)


# ---------------------------------------------------------------------------------------------
# 7. nanoGPT-style attention written by hand: a tril buffer, q @ k.transpose(-2, -1) scaled by
#    C ** -0.5, masked_fill with -inf, F.cross_entropy on logits.view(B * T, C), AdamW.

def bigram_attention(fw, idx_np, init=None, steps=5):
    torch, nn, F, optim = fw.torch, fw.nn, fw.F, fw.optim
    torch.manual_seed(1337)
    vocab, n_embd, block = 12, 16, 8

    class Head(nn.Module):
        def __init__(self, head_size):
            super().__init__()
            self.key = nn.Linear(n_embd, head_size, bias=False)
            self.query = nn.Linear(n_embd, head_size, bias=False)
            self.value = nn.Linear(n_embd, head_size, bias=False)
            self.register_buffer('tril', torch.tril(torch.ones(block, block)))

        def forward(self, x):
            B, T, C = x.shape
            k = self.key(x)
            q = self.query(x)
            wei = q @ k.transpose(-2, -1) * C ** -0.5
            wei = wei.masked_fill(self.tril[:T, :T] == 0, float('-inf'))
            wei = F.softmax(wei, dim=-1)
            return wei @ self.value(x)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.token_embedding_table = nn.Embedding(vocab, n_embd)
            self.position_embedding_table = nn.Embedding(block, n_embd)
            self.sa_heads = nn.ModuleList([Head(n_embd // 4) for _ in range(4)])
            self.ln_f = nn.LayerNorm(n_embd)
            self.lm_head = nn.Linear(n_embd, vocab)

        def forward(self, idx, targets=None):
            B, T = idx.shape
            tok_emb = self.token_embedding_table(idx)
            pos_emb = self.position_embedding_table(torch.arange(T))
            x = tok_emb + pos_emb
            x = torch.cat([h(x) for h in self.sa_heads], dim=-1)
            logits = self.lm_head(self.ln_f(x))
            if targets is None:
                loss = None
            else:
                B, T, C = logits.shape
                loss = F.cross_entropy(logits.view(B * T, C), targets.view(B * T))
            return logits, loss

        def generate(self, idx, max_new_tokens):
            for _ in range(max_new_tokens):
                logits, _ = self(idx[:, -block:])
                probs = F.softmax(logits[:, -1, :], dim=-1)
                idx_next = torch.multinomial(probs, num_samples=1)
                idx = torch.cat((idx, idx_next), dim=1)
            return idx

    model = Model()
    if init:
        init(model)
    optimizer = optim.AdamW(model.parameters(), lr=1e-2)
    data_ = torch.tensor(idx_np, dtype=torch.long)
    ix = [0, 5, 11, 17]
    xb = torch.stack([data_[i:i + block] for i in ix])
    yb = torch.stack([data_[i + 1:i + block + 1] for i in ix])
    losses = []
    for _ in range(steps):
        logits, loss = model(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        out = model.generate(torch.zeros((1, 1), dtype=torch.long), max_new_tokens=10)
    return losses, out[0].tolist()


def test_hand_written_attention_matches_torch():
    idx = np.random.default_rng(7).integers(0, 12, 40)
    ours, theirs = run_both(bigram_attention, idx)
    _assert_same(ours[0], theirs[0], rtol=1e-3, atol=1e-4)
    assert len(ours[1]) == 11 and all(0 <= t < 12 for t in ours[1])


# ---------------------------------------------------------------------------------------------
# 8. The DCGAN tutorial: a weights_init that reaches through `.data` (nn.init on the raw array),
#    ConvTranspose2d / BatchNorm2d / LeakyReLU(inplace=True), BCELoss, torch.full + fill_,
#    Adam with betas, and the generator's output detached for the discriminator step.

def dcgan(fw, real_np, noise_np, init=None):
    torch, nn, optim = fw.torch, fw.nn, fw.optim
    nz, ngf, ndf = 8, 8, 8

    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find('Conv') != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif classname.find('BatchNorm') != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    class Generator(nn.Module):
        def __init__(self):
            super(Generator, self).__init__()
            self.main = nn.Sequential(
                nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),       # 4x4
                nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 2, 1, 4, 2, 1, bias=False),        # 8x8
                nn.Tanh())

        def forward(self, input):
            return self.main(input)

    class Discriminator(nn.Module):
        def __init__(self):
            super(Discriminator, self).__init__()
            self.main = nn.Sequential(
                nn.Conv2d(1, ndf, 4, 2, 1, bias=False),                     # 4x4
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),               # 2x2
                nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 2, 1, 2, 1, 0, bias=False),
                nn.Sigmoid())

        def forward(self, input):
            return self.main(input)

    netG, netD = Generator(), Discriminator()
    netG.apply(weights_init)
    netD.apply(weights_init)
    init_std = float(netD.main[0].weight.detach().std())
    if init:
        init(netG)
        init(netD)
    criterion = nn.BCELoss()
    real_label, fake_label = 1., 0.
    optimizerD = optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))
    history = []
    for real_np_b, noise_np_b in zip(real_np, noise_np):
        real_cpu = torch.from_numpy(real_np_b)
        b_size = real_cpu.size(0)
        netD.zero_grad()
        label = torch.full((b_size,), real_label, dtype=torch.float)
        output = netD(real_cpu).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        noise = torch.from_numpy(noise_np_b)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        errD = errD_real + errD_fake
        optimizerD.step()
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        optimizerG.step()
        history.append([errD.item(), errG.item(), D_x])
    return init_std, history


def test_dcgan_tutorial_matches_torch():
    rng = np.random.default_rng(11)
    real = [np.tanh(rng.normal(size=(6, 1, 8, 8))).astype(np.float32) for _ in range(4)]
    noise = [rng.normal(size=(6, 8, 1, 1)).astype(np.float32) for _ in range(4)]
    ours, theirs = run_both(dcgan, real, noise)
    assert ours[0] == pytest.approx(0.02, rel=0.3)      # weights_init reached the parameters
    _assert_same(ours[1], theirs[1], rtol=1e-3, atol=1e-4)


# ---------------------------------------------------------------------------------------------
# 9. d2l-style linear regression from scratch: torch.normal, a hand-written data_iter with
#    torch.randint-free shuffling, manual SGD under no_grad with `param -= lr * param.grad`.

def d2l_linreg(fw, init=None):
    torch = fw.torch
    torch.manual_seed(0)

    def synthetic_data(w, b, num_examples):
        X = torch.normal(0, 1, (num_examples, len(w)))
        y = torch.matmul(X, w) + b
        y += torch.normal(0, 0.01, y.shape)
        return X, y.reshape((-1, 1))

    true_w = torch.tensor([2, -3.4])
    true_b = 4.2
    features, labels = synthetic_data(true_w, true_b, 1000)

    def data_iter(batch_size, features, labels):
        num_examples = len(features)
        indices = list(range(num_examples))
        for i in range(0, num_examples, batch_size):
            batch_indices = torch.tensor(indices[i: min(i + batch_size, num_examples)])
            yield features[batch_indices], labels[batch_indices]

    w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)

    def sgd(params, lr, batch_size):
        with torch.no_grad():
            for param in params:
                param -= lr * param.grad / batch_size
                param.grad.zero_()

    for epoch in range(3):
        for X, y in data_iter(10, features, labels):
            l = ((torch.matmul(X, w) + b - y) ** 2 / 2).sum()
            l.backward()
            sgd([w, b], 0.03, 10)
    return w.reshape(true_w.shape).tolist(), b.item(), w.requires_grad, w.is_leaf


def test_d2l_linear_regression_recovers_weights():
    for fw in (TORCH, OURS):
        w, b, requires_grad, leaf = d2l_linreg(fw)
        np.testing.assert_allclose(w, [2, -3.4], atol=0.05)
        assert b == pytest.approx(4.2, abs=0.05)
        assert requires_grad and leaf


# ---------------------------------------------------------------------------------------------
# 10. Data plumbing: a Dataset subclass returning dicts, random_split with a seeded
#     torch.Generator, drop_last, ParameterList, torch.randint(high, size), torch.multinomial.

def data_plumbing(fw, init=None):
    torch, nn, F, data = fw.torch, fw.nn, fw.F, fw.data

    class Pairs(data.Dataset):
        def __init__(self, n):
            self.x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return {"x": torch.from_numpy(self.x[i]), "y": i % 2}

    train_set, val_set = data.random_split(Pairs(10), [8, 2],
                                           generator=torch.Generator().manual_seed(42))
    shapes = [tuple(b["x"].shape) for b in data.DataLoader(train_set, batch_size=3,
                                                           drop_last=True)]
    again = data.random_split(Pairs(10), [8, 2], generator=torch.Generator().manual_seed(42))
    same_split = list(again[1].indices) == list(val_set.indices)

    class Mix(nn.Module):
        def __init__(self):
            super().__init__()
            self.ws = nn.ParameterList([nn.Parameter(torch.ones(3)) for _ in range(2)])
            self.extra = nn.ParameterDict({"scale": nn.Parameter(torch.ones(1))})

        def forward(self, x):
            for w in self.ws:
                x = x * w
            return x * self.extra["scale"]

    mix = Mix()
    out = mix(torch.ones(2, 3)).sum()
    out.backward()
    names = [n for n, _ in mix.named_parameters()]
    ints = torch.randint(10, (4,))
    torch.manual_seed(0)
    draws = torch.multinomial(torch.tensor([0.0, 1.0, 3.0]), 2000, replacement=True)
    freq = [(draws == k).float().mean().item() for k in range(3)]
    top = torch.multinomial(torch.tensor([[0.0, 5.0, 0.0, 1.0]]), 2)   # without replacement
    return (shapes, same_split, len(val_set), names, mix.ws[0].grad.tolist(), list(ints.shape),
            freq, sorted(top[0].tolist()))


def test_data_plumbing_matches_torch():
    ours, theirs = data_plumbing(OURS), data_plumbing(TORCH)
    assert ours[:6] == theirs[:6]
    np.testing.assert_allclose(ours[6], [0.0, 0.25, 0.75], atol=0.04)
    assert ours[7] == theirs[7] == [1, 3]


def test_multinomial_refuses_what_torch_refuses():
    with pytest.raises(RuntimeError, match="without replacement"):
        tinygrad_lite.multinomial(tinygrad_lite.tensor([0.0, 1.0]), 2)
    with pytest.raises(RuntimeError, match="negative"):
        tinygrad_lite.multinomial(tinygrad_lite.tensor([-1.0, 1.0]), 1)


def test_tensor_constructor_and_new_helpers_follow_torch():
    import tinygrad_lite as tl
    assert tl.Tensor([1, 2]).dtype == tl.float32 and torch.Tensor([1, 2]).dtype == torch.float32
    assert tl.Tensor(2, 3).shape == tuple(torch.Tensor(2, 3).shape)
    x = tl.tensor([3.0, 1.0, 2.0], dtype=tl.float64)
    top = x.topk(2)
    assert top.indices.tolist() == [0, 2] and top.values.tolist() == [3.0, 2.0]
    assert x.sort().indices.tolist() == [1, 2, 0]
    assert x.new_zeros(2, 2).dtype == tl.float64 and x.new_ones((3,)).tolist() == [1.0] * 3
    rows = [[1.0, 2.0], [3.0, 4.0]]
    assert tl.einsum("ij->ji", tl.tensor(rows)).tolist() == \
        torch.einsum("ij->ji", torch.tensor(rows)).tolist()


def test_small_idioms_from_tutorials_follow_torch():
    import tinygrad_lite as tl
    for lib, prefix in ((tl, "tinygrad_lite"), (torch, "torch")):
        y = lib.tensor([[1.0, -2.0], [0.0, 3.0]])
        assert y.type() == f"{prefix}.FloatTensor" and y.long().type() == f"{prefix}.LongTensor"
        assert y.type(lib.float64).dtype == lib.float64
        rows, cols = lib.where(y > 0)
        assert rows.tolist() == [0, 1] and cols.tolist() == [0, 1]
        assert y.t().contiguous().is_contiguous()
        opt = lib.optim.SGD([lib.zeros(1, requires_grad=True)], lr=5.0)
        sched = lib.optim.lr_scheduler.StepLR(opt, 1.0, gamma=0.5)   # the Transformer tutorial's
        opt.step()
        sched.step()
        assert sched.get_last_lr() == [2.5]
    with pytest.raises(TypeError, match="where: condition must be a Tensor"):
        tl.where([True, False])
