"""tinygrad_lite.safetensors: safetensors.torch's names, files that torch's side reads and
writes, and bad files refused by name."""
import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite import safetensors as st

pytest.importorskip("safetensors", reason="the safetensors package (formats extra) is needed")
torch = pytest.importorskip("torch", reason="torch is needed for the safetensors parity tests")
from safetensors import torch as st_torch  # noqa: E402

DTYPES = ["float16", "float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"]


def _values(dtype):
    a = np.arange(24).reshape(2, 3, 4)
    return (a % 3 == 0) if dtype == "bool" else a.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_ours_to_torch_and_back(tmp_path, dtype):
    base = tl.tensor(_values(dtype))
    tensors = {"x": base, "t": base.permute(2, 0, 1), "row": base[1],
               "scalar": tl.tensor(np.array(1).astype(dtype)), "empty": base[:, :0]}
    path = tmp_path / "ours.safetensors"
    st.save_file(tensors, path, metadata={"format": "pt", "step": "3"})
    got = st_torch.load_file(path)
    for k, v in tensors.items():
        assert str(got[k].dtype) == f"torch.{np.dtype(dtype).name}", k
        assert tuple(got[k].shape) == v.shape, k
        np.testing.assert_array_equal(got[k].numpy(), v.numpy(), err_msg=k)
    back = st.load_file(path)
    assert sorted(back) == sorted(tensors)
    for k, v in tensors.items():
        assert isinstance(back[k], tl.Tensor) and back[k].dtype == v.dtype
        np.testing.assert_array_equal(back[k].numpy(), v.numpy())
    back["x"].data[0, 0, 0] = 1         # writable, like torch's tensors
    with st.safe_open(path, framework="pt") as f:
        assert sorted(f.keys()) == sorted(tensors)
        assert f.metadata() == {"format": "pt", "step": "3"}
        assert f.get_tensor("scalar").shape == ()
        np.testing.assert_array_equal(f.get_slice("x")[1:, :2].numpy(), tensors["x"].numpy()[1:,
                                                                                          :2])
    with st.safe_open(path, framework="np") as f:
        assert isinstance(f.get_tensor("x"), np.ndarray)


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64, torch.int64,
                                   torch.bool], ids=str)
def test_torch_to_ours(tmp_path, dtype):
    x = torch.arange(12).reshape(3, 4)
    x = (x > 4) if dtype == torch.bool else x.to(dtype)
    path = tmp_path / "t.safetensors"
    st_torch.save_file({"x": x, "s": x[1, 1].clone(), "t": x.t().contiguous()}, path,
                       metadata={"a": "b"})
    got = st.load_file(path)
    for k, v in {"x": x, "s": x[1, 1], "t": x.t()}.items():
        np.testing.assert_array_equal(got[k].numpy(), v.numpy())
        assert got[k].numpy().dtype == v.numpy().dtype and got[k].shape == tuple(v.shape)
    data = st_torch.save({"x": x})
    assert st.load(data)["x"].tolist() == x.tolist()
    assert st_torch.load(st.save({"x": tl.tensor(x.numpy())}))["x"].tolist() == x.tolist()


def test_model_state_dict_round_trip_with_torch(tmp_path):
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4),
                             torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3))
    tm(torch.randn(2, 1, 8, 8))
    tm.eval()
    path = tmp_path / "model.safetensors"
    st_torch.save_file(tm.state_dict(), path)
    ours = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 6 * 6, 3))
    ours.load_state_dict(st.load_file(path))
    ours.eval()
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    with torch.no_grad():
        want = tm(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours(tl.tensor(x)).detach().numpy(), want, rtol=1e-5, atol=1e-6)
    st.save_file(ours.state_dict(), tmp_path / "ours.safetensors")
    tm2 = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4),
                              torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3))
    tm2.load_state_dict(st_torch.load_file(tmp_path / "ours.safetensors"))
    tm2.eval()
    with torch.no_grad():
        np.testing.assert_allclose(tm2(torch.tensor(x)).numpy(), want, rtol=1e-6, atol=1e-7)


def test_bad_input_and_files(tmp_path):
    with pytest.raises(TypeError, match="save_file: 'w' is a list"):
        st.save_file({"w": [1, 2]}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="metadata must be a dict of str -> str"):
        st.save_file({"w": tl.ones(2)}, tmp_path / "x.safetensors", metadata={"a": 1})
    with pytest.raises(IsADirectoryError):
        st.save_file({"w": tl.ones(2)}, tmp_path)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes((2 ** 40).to_bytes(8, "little") + b"{}")
    with pytest.raises(RuntimeError, match="bad.safetensors is not a readable safetensors"):
        st.load_file(bad)
    good = st.save({"w": tl.ones(1000)})
    bad.write_bytes(good[:-100])
    with pytest.raises(RuntimeError, match="bad.safetensors"):
        st.load_file(bad)
    with pytest.raises(RuntimeError, match="not readable safetensors data"):
        st.load(b"\x00" * 4)
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        st.load_file(tmp_path / "missing.safetensors")
    with pytest.raises(ValueError, match="unknown framework 'jax'"):
        st.safe_open(tmp_path / "x", framework="jax")
