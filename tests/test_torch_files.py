"""PyTorch checkpoints: torch.save writes and tl.load reads (without importing torch), tl.save
writes torch's format and torch.load(weights_only=True) reads it; hostile files are refused
with one error naming the file, and nothing in them runs or allocates much."""
import io
import os
import pickle
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn

torch = pytest.importorskip("torch", reason="torch is needed for the checkpoint parity tests")
tnn = torch.nn

DTYPES = [torch.float16, torch.float32, torch.float64, torch.int64, torch.int32, torch.int16,
          torch.int8, torch.uint8, torch.bool]


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.detach().numpy()


def _sample(dtype):
    x = torch.arange(24).reshape(2, 3, 4)
    return (x % 2 == 0) if dtype == torch.bool else x.to(dtype)


def test_library_never_imports_torch():
    code = ("import sys, tinygrad_lite as tl, tinygrad_lite.safetensors; "
            "tl.save({'w': tl.ones(2)}, sys.argv[1]); tl.load(sys.argv[1]); "
            "assert 'torch' not in sys.modules, 'torch was imported'; "
            "import importlib; importlib.import_module('tinygrad_lite'); "
            "assert 'safetensors' not in sys.modules, 'safetensors imported eagerly'")
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.executable, "-c", code, os.path.join(d, "x.pt")], check=True)


# -- torch writes, we read -------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_dtypes_views_and_0d_from_torch(tmp_path, dtype, legacy):
    x = _sample(dtype)
    obj = {"x": x, "t": x.transpose(0, 2), "step": x[:, ::2, 1:], "row": x[1],
           "scalar": x[1, 2, 3].clone(), "expand": x[0, 0, :1].expand(5, 3),
           "empty": x[:, :0]}
    path = tmp_path / "t.pt"
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    got = tl.load(path)
    for k, v in obj.items():
        assert got[k].dtype == _np(v).dtype, k
        assert got[k].shape == tuple(v.shape), k
        np.testing.assert_array_equal(got[k].numpy(), _np(v), err_msg=k)
    assert got["scalar"].shape == ()
    # one storage: views of it stay views, as in torch
    for k in ("t", "step", "row", "expand"):
        assert np.shares_memory(got["x"]._data, got[k]._data), k
    assert got["t"]._data.strides == tuple(s * x.element_size() for s in obj["t"].stride())
    got["x"]._data[1, 2, 3] = 0
    assert got["row"]._data[2, 3] == 0 and got["t"]._data[3, 2, 1] == 0


def _layers():
    torch.manual_seed(0)
    return [
        ("Linear", lambda m: m.Linear(5, 3), (4, 5)),
        ("Bilinear", lambda m: m.Bilinear(3, 4, 2), None),
        ("Conv1d", lambda m: m.Conv1d(2, 3, 3, padding=1), (2, 2, 7)),
        ("Conv2d", lambda m: m.Conv2d(2, 4, 3, stride=2, padding=1), (2, 2, 8, 8)),
        ("ConvTranspose1d", lambda m: m.ConvTranspose1d(2, 3, 3, stride=2), (2, 2, 5)),
        ("ConvTranspose2d", lambda m: m.ConvTranspose2d(2, 3, 3, stride=2), (2, 2, 4, 4)),
        ("BatchNorm1d", lambda m: m.BatchNorm1d(4), (6, 4)),
        ("BatchNorm2d", lambda m: m.BatchNorm2d(3), (2, 3, 4, 4)),
        ("LayerNorm", lambda m: m.LayerNorm(6), (3, 6)),
        ("GroupNorm", lambda m: m.GroupNorm(2, 4), (2, 4, 3)),
        ("RMSNorm", lambda m: m.RMSNorm(6), (3, 6)),
        ("InstanceNorm2d", lambda m: m.InstanceNorm2d(3, affine=True), (2, 3, 4, 4)),
        ("PReLU", lambda m: m.PReLU(), (3, 4)),
        ("Embedding", lambda m: m.Embedding(10, 4), None),
        ("RNN", lambda m: m.RNN(4, 5, batch_first=True), (2, 3, 4)),
        ("LSTM", lambda m: m.LSTM(4, 5, num_layers=2, batch_first=True), (2, 3, 4)),
        ("GRU", lambda m: m.GRU(4, 5, batch_first=True, bidirectional=True), (2, 3, 4)),
        ("MultiheadAttention", lambda m: m.MultiheadAttention(8, 2, batch_first=True), None),
        ("TransformerEncoderLayer", lambda m: m.TransformerEncoderLayer(
            8, 2, 16, dropout=0.0, batch_first=True), (2, 5, 8)),
        ("TransformerDecoderLayer", lambda m: m.TransformerDecoderLayer(
            8, 2, 16, dropout=0.0, batch_first=True), None),
    ]


def _first(out):
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("name,make,shape", _layers(), ids=[n for n, _, _ in _layers()])
def test_every_layer_state_dict_from_torch(tmp_path, name, make, shape):
    torch.manual_seed(1)
    tm = make(tnn)
    if "BatchNorm" in name:                     # move the running statistics off 0 and 1
        tm(torch.randn(*shape))
    tm.eval()
    path = tmp_path / f"{name}.pth"
    torch.save(tm.state_dict(), path)
    ours = make(nn)
    sd = tl.load(path)
    assert list(sd) == list(tm.state_dict())
    assert isinstance(sd, OrderedDict)
    ours.load_state_dict(sd)
    ours.eval()
    rng = np.random.default_rng(0)
    if name == "Embedding":
        idx = rng.integers(0, 10, size=(3, 4))
        args_t, args_l = [torch.tensor(idx)], [tl.tensor(idx)]
    elif name == "Bilinear":
        a, b = rng.standard_normal((3, 3), np.float32), rng.standard_normal((3, 4), np.float32)
        args_t, args_l = [torch.tensor(a), torch.tensor(b)], [tl.tensor(a), tl.tensor(b)]
    elif name == "MultiheadAttention":
        q = rng.standard_normal((2, 5, 8), np.float32)
        args_t, args_l = [torch.tensor(q)] * 3, [tl.tensor(q)] * 3
    elif name == "TransformerDecoderLayer":
        q, m = rng.standard_normal((2, 5, 8), np.float32), rng.standard_normal((2, 4, 8),
                                                                                np.float32)
        args_t, args_l = [torch.tensor(q), torch.tensor(m)], [tl.tensor(q), tl.tensor(m)]
    else:
        x = rng.standard_normal(shape).astype(np.float32)
        args_t, args_l = [torch.tensor(x)], [tl.tensor(x)]
    with torch.no_grad():
        want = _first(tm(*args_t)).numpy()
    got = _first(ours(*args_l)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_optimizer_state_and_nanogpt_checkpoint_from_torch(tmp_path):
    torch.manual_seed(0)
    model = tnn.Sequential(tnn.Linear(4, 8), tnn.GELU(), tnn.Linear(8, 2))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    model(torch.randn(3, 4)).sum().backward()
    opt.step()
    ck = {"model": model.state_dict(), "optimizer": opt.state_dict(),
          "model_args": dict(n_layer=2, n_head=4, n_embd=8, block_size=16, bias=False,
                             vocab_size=None, dropout=0.0),
          "iter_num": 5000, "best_val_loss": torch.tensor(1.2345), "config": {"lr": 6e-4}}
    path = tmp_path / "ckpt.pt"
    torch.save(ck, path)
    got = tl.load(path, map_location="cpu")
    assert got["iter_num"] == 5000 and got["model_args"] == ck["model_args"]
    assert got["best_val_loss"].item() == pytest.approx(1.2345)
    st = got["optimizer"]["state"]
    assert sorted(st) == [0, 1, 2, 3]
    for i, s in ck["optimizer"]["state"].items():
        np.testing.assert_array_equal(st[i]["exp_avg"].numpy(), s["exp_avg"].numpy())
        np.testing.assert_array_equal(st[i]["step"].numpy(), s["step"].numpy())
    g = got["optimizer"]["param_groups"][0]
    assert g["lr"] == 1e-3 and g["betas"] == (0.9, 0.999) and g["params"] == [0, 1, 2, 3]
    ours = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 2))
    ours.load_state_dict(got["model"])
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    with torch.no_grad():
        want = model(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours(tl.tensor(x)).detach().numpy(), want, rtol=1e-5, atol=1e-6)


def test_seed_models_from_torch_state_dicts(tmp_path):
    from tinygrad_lite import models
    for make in (lambda: models.MLP(64, 10), lambda: models.CNN((1, 8, 8), 10)):
        ours = make()
        sd = ours.state_dict()
        # write torch's file from torch tensors, read it back into a fresh model
        torch.save(OrderedDict((k, torch.tensor(v.numpy())) for k, v in sd.items()),
                   tmp_path / "m.pt")
        fresh = make()
        fresh.load_state_dict(tl.load(tmp_path / "m.pt"))
        x = tl.randn(2, 1, 8, 8)
        ours.eval()
        fresh.eval()
        np.testing.assert_array_equal(fresh(x).detach().numpy(), ours(x).detach().numpy())


def test_map_location_and_requires_grad(tmp_path):
    path = tmp_path / "p.pt"
    torch.save({"w": torch.ones(2, requires_grad=True), "p": tnn.Parameter(torch.zeros(3)),
                "i": torch.arange(3)}, path)
    got = tl.load(path, map_location="cpu")
    assert got["w"].requires_grad and got["w"].is_leaf
    assert isinstance(got["p"], nn.Parameter) and got["p"].requires_grad
    assert not got["i"].requires_grad
    seen = []
    got = tl.load(path, map_location=lambda t, loc: seen.append(loc) or t * 2)
    assert seen == ["cpu"] * 3 and got["i"].tolist() == [0, 2, 4]
    got = tl.load(path, map_location={"cuda": "cpu"})
    assert got["w"].device == "cpu"


def test_cuda_saved_storage_opens_on_cpu(tmp_path):
    path = tmp_path / "gpu.pt"
    tl.save({"w": tl.arange(4.0)}, path)
    # rewrite the location the way a GPU torch.save names it
    with zipfile.ZipFile(path) as z:
        entries = {i.filename: z.read(i) for i in z.infolist()}
    pkl = next(n for n in entries if n.endswith("data.pkl"))
    entries[pkl] = entries[pkl].replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
    with zipfile.ZipFile(path, "w") as z:
        for n, d in entries.items():
            z.writestr(n, d)
    got = tl.load(path, map_location="cpu")
    assert got["w"].device == "cpu" and got["w"].tolist() == [0, 1, 2, 3]
    seen = []
    tl.load(path, map_location=lambda t, loc: seen.append(loc))
    assert seen == ["cuda"]
    if not tl.cuda_is_available():
        assert tl.load(path)["w"].device == "cpu"


def test_mmap_maps_the_records(tmp_path):
    path = tmp_path / "big.pt"
    w = torch.randn(256, 64)
    torch.save({"w": w, "wt": w.t(), "b": torch.arange(5)}, path)
    got = tl.load(path, mmap=True)
    np.testing.assert_array_equal(got["w"].numpy(), w.numpy())
    base = got["w"]._data
    while not isinstance(base, np.memmap) and isinstance(base.base, np.ndarray):
        base = base.base
    assert isinstance(base, np.memmap)
    assert np.shares_memory(got["w"]._data, got["wt"]._data)
    got["w"]._data[0, 0] = 123.0        # copy on write: the file is not changed
    assert tl.load(path)["w"]._data[0, 0] == w[0, 0].item()
    with pytest.raises(ValueError, match="mmap=True needs a file path"):
        tl.load(io.BytesIO(path.read_bytes()), mmap=True)


# -- we write, torch reads -------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int64", "int32", "int16",
                                   "int8", "uint8", "bool"])
def test_we_write_torch_reads(tmp_path, dtype):
    base = tl.tensor(np.arange(24).reshape(2, 3, 4).astype(dtype))
    obj = OrderedDict(x=base, t=base.permute(2, 0, 1), step=base[:, ::2, 1:], row=base[1],
                      scalar=tl.tensor(np.array(7).astype(dtype)), empty=base[:, :0])
    path = tmp_path / "ours.pt"
    tl.save(obj, path)
    got = torch.load(path, weights_only=True)
    assert isinstance(got, OrderedDict) and list(got) == list(obj)
    for k, v in obj.items():
        want = v.numpy() if isinstance(v, tl.Tensor) else v
        assert str(got[k].dtype) == f"torch.{np.dtype(dtype).name}", k
        np.testing.assert_array_equal(got[k].numpy(), want, err_msg=k)
    assert got["scalar"].dim() == 0
    for k in ("t", "step", "row"):       # views share one storage in torch too
        assert got[k].untyped_storage().data_ptr() == got["x"].untyped_storage().data_ptr()
    assert got["t"].stride() == (1, 12, 4)
    got2 = torch.load(path, weights_only=True, mmap=True)
    np.testing.assert_array_equal(got2["t"].numpy(), obj["t"].numpy())


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_we_write_ndarrays_as_torch_does(tmp_path, dtype):
    """torch.save pickles an ndarray with NumPy's reduce: weights_only=True refuses it (in
    torch and here), weights_only=False gives the ndarray back, never a tensor."""
    arr = np.arange(6).reshape(2, 3).astype(dtype)
    for obj in (arr, {"arr": arr, "t": tl.ones(2)}):
        ours, theirs = tmp_path / "ours.pt", tmp_path / "theirs.pt"
        tl.save(obj, ours)
        torch.save({"arr": arr, "t": torch.ones(2)} if isinstance(obj, dict) else arr, theirs)
        for path in (ours, theirs):
            with pytest.raises(Exception, match="_reconstruct"):
                torch.load(path, weights_only=True)
            with pytest.raises(RuntimeError, match="_reconstruct"):
                tl.load(path)
            for lib in (torch, tl):
                got = lib.load(path, weights_only=False)
                got_arr = got["arr"] if isinstance(obj, dict) else got
                assert type(got_arr) is np.ndarray and got_arr.dtype == arr.dtype
                np.testing.assert_array_equal(got_arr, arr)
                if isinstance(obj, dict):
                    assert isinstance(got["t"], lib.Tensor)


def test_we_write_models_optimizers_and_plain_values(tmp_path):
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    opt = tl.optim.Adam(model.parameters(), lr=1e-3)
    model(tl.randn(6, 4)).sum().backward()
    opt.step()
    model.eval()
    ck = {"model": model.state_dict(), "optimizer": opt.state_dict(), "iter_num": 7,
          "nums": [1.5, float("inf"), -3, 2 ** 70, None, True, "text", b"\x00\xff"],
          "shape": tl.Size([2, 3]), "dtype": tl.float16, "ids": {1, 2},
          "param": nn.Parameter(tl.ones(2))}
    buf = io.BytesIO()
    tl.save(ck, buf, format="torch")
    buf.seek(0)
    got = torch.load(buf, weights_only=True)
    assert got["iter_num"] == 7
    assert got["nums"] == [1.5, float("inf"), -3, 2 ** 70, None, True, "text", b"\x00\xff"]
    assert got["shape"] == torch.Size([2, 3]) and got["dtype"] == torch.float16
    assert got["ids"] == {1, 2}
    assert isinstance(got["param"], tnn.Parameter) and got["param"].requires_grad
    tm = tnn.Sequential(tnn.Linear(4, 8), tnn.BatchNorm1d(8), tnn.ReLU(), tnn.Linear(8, 2))
    tm.load_state_dict(got["model"])
    tm.eval()
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    with torch.no_grad():
        want = tm(torch.tensor(x)).numpy()
    np.testing.assert_allclose(model(tl.tensor(x)).detach().numpy(), want, rtol=1e-5, atol=1e-6)
    assert got["optimizer"]["param_groups"][0]["lr"] == 1e-3
    # and back: our reader takes our own torch-format file
    buf.seek(0)
    back = tl.load(buf)
    assert back["nums"] == ck["nums"] and back["ids"] == {1, 2}
    np.testing.assert_array_equal(back["model"]["1.running_mean"].numpy(),
                                  ck["model"]["1.running_mean"].numpy())


def test_suffix_picks_the_format(tmp_path):
    sd = {"w": tl.ones(2)}
    for name in ("a.pt", "a.pth", "a.PT"):
        tl.save(sd, tmp_path / name)
        assert torch.load(tmp_path / name, weights_only=True)["w"].tolist() == [1.0, 1.0]
    tl.save(sd, tmp_path / "a.npz")
    with zipfile.ZipFile(tmp_path / "a.npz") as z:
        assert "__structure__.npy" in z.namelist()
    tl.save(sd, tmp_path / "b.pt", format="npz")
    assert tl.load(tmp_path / "b.pt")["w"].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="unknown format 'onnx'"):
        tl.save(sd, tmp_path / "c.pt", format="onnx")
    with zipfile.ZipFile(tmp_path / "a.pt") as z:        # stored and 64-byte aligned
        for info in z.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            z.fp.seek(info.header_offset)
            head = z.fp.read(30)
            n, e = struct.unpack("<HH", head[26:30])
            assert (info.header_offset + 30 + n + e) % 64 == 0, info.filename


def test_unsupported_values_in_torch_format(tmp_path):
    with pytest.raises(TypeError, match=r"cannot store object at obj\['x'\]"):
        tl.save({"x": object()}, tmp_path / "bad.pt")
    assert not (tmp_path / "bad.pt").exists()


# -- hostile files ---------------------------------------------------------------------------

class _Payload:
    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _zip_with_pickle(path, pkl: bytes, records=None):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/version", "3\n")
        for k, v in (records or {}).items():
            z.writestr(f"archive/data/{k}", v)


@pytest.mark.parametrize("fn,name", [(os.system, "posix.system" if os.name == "posix" else
                                      "nt.system"),
                                     (eval, "builtins.eval"),
                                     (subprocess.Popen, "subprocess.Popen"),
                                     (getattr, "builtins.getattr")])
def test_pickles_naming_other_globals_are_refused(tmp_path, fn, name):
    marker = tmp_path / "ran"
    arg = f"touch {marker}" if fn is os.system else (
        f"open({str(marker)!r}, 'w')" if fn is eval else [["touch", str(marker)]])
    payload = _Payload(fn, arg) if fn is not getattr else _Payload(fn, "os", "system")
    for legacy in (False, True):
        path = tmp_path / f"evil{legacy}.pt"
        if legacy:
            path.write_bytes(pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2)
                             + pickle.dumps({"x": payload}, protocol=2))
        else:
            _zip_with_pickle(path, pickle.dumps({"x": payload}, protocol=2))
        with pytest.raises(RuntimeError, match=f"evil{legacy}.pt.*{name}.*not on torch's "
                                               "weights_only allow-list"):
            tl.load(path)
    assert not marker.exists()


@pytest.mark.parametrize("module,name", [
    ("collections", "OrderedDict.__init__"), ("torch._utils", "_rebuild_tensor_v2.__globals__"),
    ("torch", "Size.__class__"), ("builtins", "__import__"), ("torch", "load"),
    ("torch.serialization", "load"), ("numpy.core.multiarray", "_reconstruct"),
    ("torch._utils", "_rebuild_tensor_v2\nos\nsystem")])
def test_attributes_of_allowed_names_are_refused(tmp_path, module, name):
    path = tmp_path / "attr.pt"
    pkl = b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n)R."
    _zip_with_pickle(path, pkl)
    with pytest.raises(RuntimeError, match="attr.pt is not a readable tinygrad_lite checkpoint"):
        tl.load(path)
    stack_global = (b"\x80\x04\x8c" + bytes([len(module)]) + module.encode() + b"\x8c"
                    + bytes([len(name)]) + name.encode() + b"\x93)R.")
    _zip_with_pickle(path, stack_global)
    with pytest.raises(RuntimeError, match="not on torch's weights_only allow-list"):
        tl.load(path)


@pytest.mark.parametrize("pkl,why", [
    (b"\x80\x02ccollections\nOrderedDict\n)R}(X\x09\x00\x00\x00__class__K\x01ub.", None),
    (b"\x80\x02ctorch\nSize\n)R}X\x05\x00\x00\x00numelK\x01sb.", "state of a Size"),
    (b"\x80\x02ctorch\nSize\n}X\x05\x00\x00\x00numelK\x01sb.", "state of a _Call"),
    (b"\x80\x02\x82\x01.", "opcode"),                              # EXT1
    (b"(ios\nsystem\nX\x02\x00\x00\x00ls.", "opcode"),               # INST
    (b"\x80\x02\x8e" + struct.pack("<Q", 2 ** 40) + b"abc.", "cut short"),   # BINBYTES8
    (b"\x80\x02\x8b" + struct.pack("<i", 2 ** 31 - 1) + b"..", "cut short"),  # LONG4
    (b"\x80\x02X" + struct.pack("<I", 2 ** 32 - 1) + b"a.", "cut short"),
    (b"\x80\x02(((((((((((((((((.", "malformed"), (b"\x80\x02h\x05.", "never set"),
    (b"\x80\x02]\x94K\x01a0.", "malformed"), (b"", "neither"), (b"\x80\x02", "cut short"),
])
def test_malformed_and_hostile_pickles(tmp_path, pkl, why):
    path = tmp_path / "bad.pt"
    if pkl[:1] == b"\x80" or pkl[:1] == b"(":
        _zip_with_pickle(path, pkl)
    else:
        path.write_bytes(pkl)
    if why is None:     # OrderedDict attributes are instance data, as torch's loader allows
        assert tl.load(path) == OrderedDict()
        return
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match=f"bad.pt.*{why}"):
            tl.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def _checkpoint_bytes(tmp_path, obj):
    path = tmp_path / "good.pt"
    torch.save(obj, path)
    return path.read_bytes()


def test_truncated_archives(tmp_path):
    data = _checkpoint_bytes(tmp_path, {"w": torch.randn(64, 64), "b": torch.arange(10)})
    for cut in (3, 10, 100, len(data) // 3, len(data) // 2, len(data) - 100, len(data) - 1):
        path = tmp_path / f"cut{cut}.pt"
        path.write_bytes(data[:cut])
        with pytest.raises(RuntimeError, match=f"load: .*cut{cut}.pt"):
            tl.load(path)
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.randn(64, 64)}, legacy, _use_new_zipfile_serialization=False)
    data = legacy.read_bytes()
    for cut in (5, len(data) // 2, len(data) - 1):
        path = tmp_path / f"lcut{cut}.pt"
        path.write_bytes(data[:cut])
        with pytest.raises(RuntimeError, match=f"load: .*lcut{cut}.pt"):
            tl.load(path)


def _rewrite(src, dst, change):
    with zipfile.ZipFile(src) as z:
        entries = {i.filename: z.read(i) for i in z.infolist()}
    change(entries)
    with zipfile.ZipFile(dst, "w") as z:
        for n, d in entries.items():
            z.writestr(n, d)


def test_short_storage_records_and_huge_sizes(tmp_path):
    src = tmp_path / "good.pt"
    torch.save({"w": torch.randn(8, 8)}, src)

    def shorten(e):
        key = next(n for n in e if "/data/" in n)
        e[key] = e[key][:100]

    _rewrite(src, tmp_path / "short.pt", shorten)
    with pytest.raises(RuntimeError, match="short.pt.*storage record '0' holds 100 bytes"):
        tl.load(tmp_path / "short.pt")

    def huge(e):
        key = next(n for n in e if n.endswith("data.pkl"))
        # the size tuple (8, 8) -> (2**40, 2**40), the storage numel 64 -> 2**62
        e[key] = e[key].replace(b"K\x08K\x08\x86", b"\x8a\x06" + (2 ** 40).to_bytes(6, "little")
                                + b"\x8a\x06" + (2 ** 40).to_bytes(6, "little") + b"\x86")
    _rewrite(src, tmp_path / "huge.pt", huge)
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match="huge.pt.*needs .* bytes of storage '0', which "
                                               "holds 256"):
            tl.load(tmp_path / "huge.pt")
        assert tracemalloc.get_traced_memory()[1] < 16 << 20
    finally:
        tracemalloc.stop()

    def big_numel(e):
        key = next(n for n in e if n.endswith("data.pkl"))
        e[key] = e[key].replace(b"X\x03\x00\x00\x00cpuq\x06K@", b"X\x03\x00\x00\x00cpuq\x06"
                                b"\x8a\x08" + (2 ** 62).to_bytes(8, "little"))
    _rewrite(src, tmp_path / "numel.pt", big_numel)
    with pytest.raises(RuntimeError, match="numel.pt.*shorter than"):
        tl.load(tmp_path / "numel.pt")

    def negative(e):
        key = next(n for n in e if n.endswith("data.pkl"))
        e[key] = e[key].replace(b"K\x08K\x01\x86", b"K\x08J\xff\xff\xff\xff\x86")
    _rewrite(src, tmp_path / "neg.pt", negative)
    with pytest.raises(RuntimeError, match="neg.pt.*stride should be a non-negative int"):
        tl.load(tmp_path / "neg.pt")


def test_compressed_members_are_refused(tmp_path):
    src = tmp_path / "good.pt"
    torch.save({"w": torch.zeros(1 << 20)}, src)      # 4 MB of zeros deflate to a few KB
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(tmp_path / "bomb.pt", "w",
                                                    zipfile.ZIP_DEFLATED) as out:
        for i in z.infolist():
            out.writestr(i.filename, z.read(i))
    assert (tmp_path / "bomb.pt").stat().st_size < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match="bomb.pt.*is compressed"):
            tl.load(tmp_path / "bomb.pt")
        assert tracemalloc.get_traced_memory()[1] < 1 << 20
    finally:
        tracemalloc.stop()


def test_unsupported_torch_types_name_themselves(tmp_path):
    path = tmp_path / "c64.pt"
    torch.save({"w": torch.ones(2, dtype=torch.complex64)}, path)
    with pytest.raises(RuntimeError, match="c64.pt.*ComplexFloatStorage is admitted by torch, "
                                           "but tinygrad_lite has no such dtype"):
        tl.load(path)
    torch.save({"s": torch.ones(2).to_sparse()}, tmp_path / "sparse.pt")
    with pytest.raises(RuntimeError, match="sparse.pt.*sparse"):
        tl.load(tmp_path / "sparse.pt")
    torch.save({"m": tnn.Linear(2, 2)}, tmp_path / "module.pt")
    with pytest.raises(RuntimeError, match="module.pt.*torch.nn.modules.linear.Linear.*not on "
                                           "torch's weights_only allow-list"):
        tl.load(tmp_path / "module.pt")
