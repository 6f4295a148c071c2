"""tl.save of whole objects (modules, optimizers, dicts holding them) in torch's zip format, and
tl.load's weights_only security model: refusal by name, safe_globals, weights_only=False."""
import io
import zipfile

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn as nn
from tinygrad_lite import models
from tinygrad_lite.nn.parameter import Parameter
from tinygrad_lite.serialization import (add_safe_globals, clear_safe_globals,
                                         get_safe_globals, safe_globals)

RAN = []


def _boom():
    RAN.append("ran")


class Payload:
    """Unpickling this calls _boom: what a hostile checkpoint does."""

    def __reduce__(self):
        return (_boom, ())


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(7, 4)
        self.out = nn.Linear(4, 7, bias=False)
        self.out.weight = self.emb.weight

    def forward(self, idx):
        return self.out(self.emb(idx))


@pytest.fixture(autouse=True)
def _no_leftover_globals():
    clear_safe_globals()
    yield
    clear_safe_globals()


def _out(m, x):
    with tl.no_grad():
        return m(x).numpy()


def _roundtrip(obj, **kw):
    buf = io.BytesIO()
    tl.save(obj, buf)
    buf.seek(0)
    return tl.load(buf, **kw), buf


MODELS = [lambda: models.MLP(64, 10), lambda: models.CNN((1, 8, 8), 10),
          lambda: models.RowLSTM((1, 8, 8), 10), lambda: models.PatchTransformer((1, 8, 8), 10)]


@pytest.mark.parametrize("make", MODELS, ids=["mlp", "cnn", "lstm", "transformer"])
def test_model_roundtrip_gives_same_outputs(make, tmp_path):
    tl.manual_seed(0)
    m = make().eval()
    x = tl.randn(3, 1, 8, 8)
    tl.save(m, tmp_path / "m.pt")
    m2 = tl.load(tmp_path / "m.pt", weights_only=False)
    assert type(m2) is type(m) and not m2.training
    np.testing.assert_array_equal(_out(m2, x), _out(m, x))
    assert list(m2.state_dict()) == list(m.state_dict())
    assert all(type(p) is Parameter and p.requires_grad for p in m2.parameters())
    # tensors live in storage records, never as bytes inside data.pkl
    with zipfile.ZipFile(tmp_path / "m.pt") as z:
        pkl = z.read("archive/data.pkl")
        records = [n for n in z.namelist() if n.startswith("archive/data/")]
    assert len(records) == len(list(m.parameters())) + len(list(m.buffers()))
    w = next(iter(m.parameters())).detach().numpy()
    assert w.tobytes()[:64] not in pkl and len(pkl) < 20000


def test_whole_object_default_format_and_state_dicts_stay_npz(tmp_path):
    m = models.MLP(64, 10)
    tl.save(m, tmp_path / "m.tl")                      # no format: an object goes to torch's
    with zipfile.ZipFile(tmp_path / "m.tl") as z:
        assert "archive/data.pkl" in z.namelist()
    tl.save(m.state_dict(), tmp_path / "sd.tl")        # a state_dict stays npz
    with zipfile.ZipFile(tmp_path / "sd.tl") as z:
        assert "__structure__.npy" in z.namelist()
    with pytest.raises(TypeError, match="cannot store MLP at obj.*format='torch'"):
        tl.save(m, tmp_path / "m.npz")
    with pytest.raises(TypeError, match="cannot store object"):
        tl.save({"a": object()}, tmp_path / "o.tl")   # stray builtins are still refused


def test_weights_only_refuses_by_name_and_says_how_to_opt_in():
    _, buf = _roundtrip({"w": tl.ones(2)})
    m = models.MLP(64, 10)
    buf = io.BytesIO()
    tl.save(m, buf)
    buf.seek(0)
    with pytest.raises(RuntimeError) as e:
        tl.load(buf)
    msg = str(e.value)
    assert "tinygrad_lite.models.MLP" in msg
    assert "weights_only=False" in msg and "add_safe_globals" in msg and "safe_globals([" in msg


def test_safe_globals_admit_exactly_the_named_classes():
    tl.manual_seed(1)
    m = models.MLP(64, 10).eval()
    x = tl.randn(2, 64)
    buf = io.BytesIO()
    tl.save(m, buf)
    classes = [models.MLP, nn.Sequential, nn.Linear, nn.ReLU, nn.Dropout]
    buf.seek(0)
    with safe_globals(classes[:-1]):                  # Dropout missing: refused, named
        with pytest.raises(RuntimeError, match=r"tinygrad_lite\.nn\..*Dropout"):
            tl.load(buf)
    assert get_safe_globals() == []
    with safe_globals(classes):
        assert get_safe_globals() == classes
        buf.seek(0)
        np.testing.assert_array_equal(_out(tl.load(buf), x), _out(m, x))
    add_safe_globals(classes)
    buf.seek(0)
    m3 = tl.load(buf)
    assert all(type(p) is Parameter for p in m3.parameters())
    clear_safe_globals()
    buf.seek(0)
    with pytest.raises(RuntimeError, match="MLP"):
        tl.load(buf)
    with pytest.raises(TypeError, match="add_safe_globals"):
        add_safe_globals([(models.MLP, "no_dot")])


def test_payload_reduce_never_runs_under_weights_only():
    buf = io.BytesIO()
    tl.save({"w": tl.ones(3), "p": Payload()}, buf)
    for admitted in ([], [Payload]):                   # admitting the class is not admitting _boom
        buf.seek(0)
        with safe_globals(admitted):
            with pytest.raises(RuntimeError, match=r"_boom.*weights_only=False"):
                tl.load(buf)
    assert RAN == []
    buf.seek(0)
    tl.load(buf, weights_only=False)                   # asked for by name: it runs
    assert RAN == ["ran"]
    RAN.clear()


def test_optimizer_and_shared_tensors_in_one_checkpoint():
    tl.manual_seed(2)
    m = models.MLP(64, 10)
    opt = tl.optim.Adam(m.parameters(), lr=1e-2)
    x, y = tl.randn(4, 64), tl.tensor([1, 2, 3, 4])

    def step(model, o):
        o.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        o.step()
        return loss.item()

    step(m, opt)
    ck, _ = _roundtrip({"model": m, "optimizer": opt, "iter_num": 1}, weights_only=False)
    m2, opt2 = ck["model"], ck["optimizer"]
    assert ck["iter_num"] == 1
    # the optimizer's parameters are the loaded model's, not copies
    assert all(a is b for a, b in zip(opt2.param_groups[0]["params"], m2.parameters()))
    assert all(p in opt2.state for p in m2.parameters())
    # training goes on exactly as it would have
    assert step(m2, opt2) == pytest.approx(step(m, opt), abs=0)
    for a, b in zip(m.parameters(), m2.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_optimizer_alone_under_safe_globals():
    import collections
    m = models.MLP(64, 10)
    opt = tl.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    buf = io.BytesIO()
    tl.save(opt, buf)
    buf.seek(0)
    with safe_globals([tl.optim.SGD, collections.defaultdict, dict]):
        opt2 = tl.load(buf)
    assert type(opt2) is tl.optim.SGD and opt2.param_groups[0]["lr"] == 0.1
    assert all(type(p) is Parameter for p in opt2.param_groups[0]["params"])


def test_tied_weights_stay_shared_and_map_location_is_honoured():
    m = Tied()
    seen = []

    def where(t, saved):
        seen.append(saved)
        return None

    m2, _ = _roundtrip(m, weights_only=False, map_location=where)
    idx = tl.tensor([[1, 2, 3]])
    np.testing.assert_array_equal(_out(m2, idx), _out(m, idx))
    assert m2.out.weight is m2.emb.weight
    assert seen == ["cpu"]                             # one storage record, read once
    m2.emb.weight.data[0, 0] = 5.0
    assert m2.out.weight.data[0, 0] == 5.0


def test_views_share_one_storage_record():
    base = tl.arange(12, dtype=tl.float32)
    buf = io.BytesIO()
    tl.save([Tied(), base, base[3:7]], buf)
    with zipfile.ZipFile(buf) as z:
        recs = [n for n in z.namelist() if n.startswith("archive/data/")]
    assert len(recs) == 2                              # Tied's one tied weight, base
    buf.seek(0)
    _, a, b = tl.load(buf, weights_only=False)
    b.data[0] = -1.0
    assert a.data[3] == -1.0
