"""Checkpoints: exact round trips, atomic writes, clear errors, no code execution on load."""
import io
import json
import math
import os
import struct
import tracemalloc
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn


def _model():
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))


def test_model_round_trip_reproduces_outputs_exactly(tmp_path, device):
    tl.manual_seed(0)
    m = _model().to(device)
    m(tl.randn(16, 4, device=device))          # move the running statistics
    m.eval()
    path = tmp_path / "model.npz"
    tl.save(m.state_dict(), path)
    tl.manual_seed(1)
    fresh = _model().to(device)
    fresh.load_state_dict(tl.load(path))
    fresh.eval()
    x = tl.randn(5, 4, device=device)
    np.testing.assert_array_equal(m(x).detach().numpy(), fresh(x).detach().numpy())
    sd = tl.load(str(path))
    assert isinstance(sd, OrderedDict) and list(sd) == list(m.state_dict())
    assert sd["1.num_batches_tracked"].dtype == np.int64
    assert sd["0.weight"].dtype == np.float32


def test_nested_structures_and_plain_values(tmp_path):
    obj = {
        "state": {0: {"step": 3, "exp_avg": tl.ones(2, 2, dtype=tl.float64)}, 1: {}},
        "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "params": [0, 1],
                          "name": "all", "foreach": None, "amsgrad": False}],
        "odd": [math.inf, -math.inf, 1e-300, 0.1 + 0.2],
        "arr": np.arange(5, dtype=np.int16),
        "scalar": np.float32(2.5),
    }
    tl.save(obj, tmp_path / "opt.npz")
    got = tl.load(tmp_path / "opt.npz")
    assert list(got["state"]) == [0, 1]                       # int keys stay ints
    assert got["state"][0]["step"] == 3
    assert got["state"][0]["exp_avg"].dtype == np.float64
    assert got["state"][0]["exp_avg"].tolist() == [[1.0, 1.0], [1.0, 1.0]]
    g = got["param_groups"][0]
    assert g == {"lr": 0.001, "betas": (0.9, 0.999), "params": [0, 1], "name": "all",
                 "foreach": None, "amsgrad": False}
    assert got["odd"] == [math.inf, -math.inf, 1e-300, 0.1 + 0.2]
    assert got["arr"].dtype == np.int16 and got["arr"].tolist() == [0, 1, 2, 3, 4]
    assert got["scalar"] == 2.5
    tl.save([math.nan], tmp_path / "nan.npz")
    assert math.isnan(tl.load(tmp_path / "nan.npz")[0])


def test_requires_grad_kept_and_file_objects():
    buf = io.BytesIO()
    tl.save({"w": tl.ones(3, requires_grad=True)}, buf)
    buf.seek(0)
    w = tl.load(buf)["w"]
    assert w.requires_grad and w.is_leaf


def test_unsupported_object_raises(tmp_path):
    with pytest.raises(TypeError, match=r"save: cannot store set at obj\['x'\]"):
        tl.save({"x": {1, 2}}, tmp_path / "bad.npz")
    assert not (tmp_path / "bad.npz").exists()


def test_crash_during_write_keeps_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ck.npz"
    tl.save({"v": tl.tensor([1.0])}, path)

    def boom(f, **entries):
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(KeyboardInterrupt):
        tl.save({"v": tl.tensor([2.0])}, path)
    monkeypatch.undo()
    assert tl.load(path)["v"].tolist() == [1.0]
    assert os.listdir(tmp_path) == ["ck.npz"]           # no temp file left behind


def test_truncated_file_names_the_file(tmp_path):
    path = tmp_path / "ck.npz"
    tl.save(_model().state_dict(), path)
    data = path.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 30):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(RuntimeError, match=f"load: .*cut{cut}.npz"):
            tl.load(bad)


def test_foreign_files_are_rejected(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(RuntimeError, match="notes.txt is not a readable"):
        tl.load(text)
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.ones(3))
    with pytest.raises(RuntimeError, match="plain.npz is an .npz archive but not"):
        tl.load(plain)
    npy = tmp_path / "arr.npy"
    np.save(npy, np.ones(3))
    with pytest.raises(RuntimeError, match="arr.npy is a bare .npy"):
        tl.load(npy)
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        tl.load(tmp_path / "missing.npz")


class _Evil:
    ran = False

    def __reduce__(self):
        return (_Evil._run, ())

    @staticmethod
    def _run():
        _Evil.ran = True
        return "pwned"


def test_load_never_unpickles(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, __structure__=np.array(json.dumps(
        {"format": "tinygrad_lite.checkpoint", "version": 1, "root": {"ndarray": "a0"}})),
        a0=np.array([_Evil()], dtype=object))
    with pytest.raises(RuntimeError, match="evil.npz"):
        tl.load(path)
    assert not _Evil.ran


def test_cuda_checkpoint_loads_on_cpu(tmp_path):
    path = tmp_path / "gpu.npz"
    np.savez(path, __structure__=np.array(json.dumps(
        {"format": "tinygrad_lite.checkpoint", "version": 1,
         "root": {"dict": [["w", {"tensor": "a0", "device": "cuda", "requires_grad": False}]]}})),
        a0=np.arange(4, dtype=np.float32))
    w = tl.load(path, map_location="cpu")["w"]
    assert w.device == "cpu" and w.tolist() == [0.0, 1.0, 2.0, 3.0]
    if not tl.cuda_is_available():
        assert tl.load(path)["w"].device == "cpu"


def test_map_location_dict_and_callable(tmp_path):
    path = tmp_path / "gpu.npz"
    np.savez(path, __structure__=np.array(json.dumps(
        {"format": "tinygrad_lite.checkpoint", "version": 1,
         "root": {"dict": [["w", {"tensor": "a0", "device": "cuda", "requires_grad": True}],
                           ["b", {"tensor": "a1", "device": "cpu", "requires_grad": False}]]}})),
        a0=np.arange(4, dtype=np.float32), a1=np.ones(2, dtype=np.float32))
    sd = tl.load(path, map_location={"cuda:0": "cpu"})
    assert sd["w"].device == "cpu" and sd["w"].requires_grad and sd["b"].device == "cpu"
    seen = []

    def relocate(t, location):
        seen.append((location, t.device))
        return t * 2 if location == "cuda" else None

    sd = tl.load(path, map_location=relocate)
    assert sorted(seen) == [("cpu", "cpu"), ("cuda", "cpu")]
    assert sd["w"].tolist() == [0.0, 2.0, 4.0, 6.0] and sd["b"].tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="load: map_location returned ndarray"):
        tl.load(path, map_location=lambda t, loc: t.numpy())
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        tl.load(path, map_location={"cuda": "tpu"})


# -- hostile archives and interrupted saves (issue 15) ---------------------------------------

def test_compressed_entries_are_refused(tmp_path):
    path = tmp_path / "small.npz"
    tl.save({"w": tl.zeros(1000)}, path)
    with zipfile.ZipFile(path) as z:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
        entries = {i.filename: z.read(i) for i in z.infolist()}
    squeezed = tmp_path / "squeezed.npz"
    with zipfile.ZipFile(squeezed, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in entries.items():
            z.writestr(n, d)
    with pytest.raises(RuntimeError, match="squeezed.npz .*'a0.npy' is compressed"):
        tl.load(squeezed)


def test_deflate_bomb_inflates_nothing(tmp_path):
    path = tmp_path / "bomb.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (64 << 20,)})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("__structure__.npy", _npy(np.array(json.dumps(
            {"format": "tinygrad_lite.checkpoint", "version": 1, "root": {"ndarray": "a0"}}))))
        with z.open("a0.npy", "w", force_zip64=True) as w:
            w.write(header.getvalue())
            zeros = bytes(1 << 20)
            for _ in range(256):                       # 256 MB of zeros
                w.write(zeros)
    assert path.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match="bomb.npz .*is compressed"):
            tl.load(path)
        assert tracemalloc.get_traced_memory()[1] < 1 << 20
    finally:
        tracemalloc.stop()


def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _patch_central_sizes(data: bytes, name: bytes, compressed: int, size: int) -> bytes:
    at = data.rindex(b"PK\x01\x02", 0, data.rindex(name))
    return data[:at + 20] + struct.pack("<II", compressed, size) + data[at + 28:]


def test_declared_sizes_out_of_proportion_to_the_file(tmp_path):
    path = tmp_path / "ck.npz"
    tl.save({"w": tl.ones(100)}, path)
    data = path.read_bytes()
    for i, (c, s) in enumerate([(400, 1 << 30), (1 << 30, 1 << 30), (0xFFFFFFF0, 0xFFFFFFF0)]):
        bad = tmp_path / f"sized{i}.npz"
        bad.write_bytes(_patch_central_sizes(data, b"a0.npy", c, s))
        with pytest.raises(RuntimeError, match=f"sized{i}.npz"):
            tl.load(bad)
    # a stored .npy whose header claims far more than the entry holds
    liar = tmp_path / "liar.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (1 << 40, 1 << 20)})
    with zipfile.ZipFile(liar, "w") as z:
        z.writestr("__structure__.npy", _npy(np.array(json.dumps(
            {"format": "tinygrad_lite.checkpoint", "version": 1, "root": {"ndarray": "a0"}}))))
        z.writestr("a0.npy", header.getvalue() + bytes(64))
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match=r"liar.npz .*declares shape \(1099511627776, "
                                               r"1048576\)"):
            tl.load(liar)
        assert tracemalloc.get_traced_memory()[1] < 1 << 20
    finally:
        tracemalloc.stop()


@pytest.mark.skipif(os.name != "posix", reason="stale temps are told by pid on POSIX")
def test_stale_temp_files_of_dead_saves_are_removed(tmp_path):
    path = tmp_path / "ck.npz"
    stale = tmp_path / ".ck.npz.999999999-1.tmp"     # no process has that id
    stale.write_bytes(b"half a checkpoint")
    other = tmp_path / ".other.npz.999999999-1.tmp"  # another target's: not ours to remove
    other.write_bytes(b"x")
    tl.save({"v": tl.ones(2)}, path)
    assert sorted(os.listdir(tmp_path)) == [".other.npz.999999999-1.tmp", "ck.npz"]


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL and the pid probe are POSIX")
def test_kill_during_save_leaves_nothing_for_good(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    path = tmp_path / "ck.npz"
    code = ("import sys, tinygrad_lite as tl\nsd = {'w': tl.randn(1000, 1000)}\n"
            "print('ready', flush=True)\nwhile True:\n    tl.save(sd, sys.argv[1])\n")
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", code, str(path)],
                                stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert len(os.listdir(tmp_path)) <= 4          # the checkpoint and at most one per kill
    tl.save({"w": tl.ones(2)}, path)
    assert os.listdir(tmp_path) == ["ck.npz"]
    assert tl.load(path)["w"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("name", ["ck.npz", "ck.pt"])
def test_saving_to_a_directory_is_refused_up_front(tmp_path, name):
    target = tmp_path / name
    target.mkdir()
    with pytest.raises(IsADirectoryError, match=f"save: cannot write .*{name}: it is a "
                                                "directory"):
        tl.save({"w": tl.ones(2)}, target)
    assert os.listdir(tmp_path) == [name] and os.listdir(target) == []
    with pytest.raises(IsADirectoryError, match=f"load: .*{name} is a directory"):
        tl.load(target)


@pytest.mark.skipif(os.name != "posix", reason="umask modes are POSIX")
@pytest.mark.parametrize("name", ["ck.npz", "ck.pt"])
def test_checkpoints_follow_the_umask(tmp_path, name):
    old = os.umask(0o022)
    try:
        tl.save({"w": tl.ones(2)}, tmp_path / name)
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644
        os.umask(0o027)
        tl.save({"w": tl.ones(2)}, tmp_path / name)
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)
