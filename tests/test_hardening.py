"""Hard to break: grad mode per thread, losses at extreme values, hostile data files, and the
command's up-front checks. Each case failed before it was fixed."""
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F


# -- grad mode is per thread, as in torch -----------------------------------------------------
def test_no_grad_in_one_thread_leaves_the_others_recording():
    x = tl.ones(3, requires_grad=True)
    wrong = []
    start = threading.Barrier(4)

    def worker(quiet: bool):
        start.wait()
        for _ in range(300):
            if quiet:
                with tl.no_grad():
                    if (x * 2).requires_grad:
                        wrong.append("no_grad leaked into its own block")
            elif not (x * 2).requires_grad:
                wrong.append("another thread's no_grad stopped recording here")

    threads = [threading.Thread(target=worker, args=(i % 2 == 0,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong, wrong[:3]
    assert tl.is_grad_enabled()


def test_a_new_thread_starts_with_grad_on_even_inside_no_grad():
    seen = []
    with tl.no_grad():
        t = threading.Thread(target=lambda: seen.append(tl.is_grad_enabled()))
        t.start()
        t.join()
        assert not tl.is_grad_enabled()
    assert seen == [True]


def test_anomaly_mode_is_per_thread():
    seen = []
    with tl.autograd.detect_anomaly():
        t = threading.Thread(target=lambda: seen.append(tl.autograd.is_anomaly_enabled()))
        t.start()
        t.join()
        assert tl.autograd.is_anomaly_enabled()
    assert seen == [False]


# -- losses at extreme values match torch -------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_at_probabilities_exactly_zero_and_one(dtype):
    p = np.array([0.0, 1.0, 1.0, 0.0, 0.5, 1e-30], dtype)
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.0], dtype)
    ours = tl.tensor(p, requires_grad=True)
    theirs = torch.tensor(p, requires_grad=True)
    for reduction in ("mean", "sum", "none"):
        lo = F.binary_cross_entropy(ours, tl.tensor(y), reduction=reduction)
        lt = TF.binary_cross_entropy(theirs, torch.tensor(y), reduction=reduction)
        np.testing.assert_allclose(lo.detach().numpy(), lt.detach().numpy(), rtol=1e-6)
    g = np.random.default_rng(0).standard_normal(6).astype(dtype)
    (F.binary_cross_entropy(ours, tl.tensor(y), reduction="none") * tl.tensor(g)).sum().backward()
    (TF.binary_cross_entropy(theirs, torch.tensor(y), reduction="none") * torch.tensor(g)) \
        .sum().backward()
    assert np.isfinite(ours.grad.numpy()).all()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)


def test_bce_after_a_saturated_sigmoid_gives_no_nan_to_the_weights():
    w = tl.tensor([20.0, -30.0], requires_grad=True)
    loss = F.binary_cross_entropy(tl.sigmoid(w), tl.tensor([1.0, 0.0]))
    loss.backward()
    assert np.isfinite(w.grad.numpy()).all()


@pytest.mark.parametrize("scale", [1e4, 1e8, 1e30])
def test_cross_entropy_keeps_the_loss_at_large_logits(scale):
    for x in (np.full((2, 4), -scale, np.float32),
              np.array([[scale, scale, -scale, 0.0], [-scale, -scale, -scale, -scale]],
                       np.float32)):
        t = np.array([1, 2])
        for smoothing in (0.0, 0.1):
            ours = F.cross_entropy(tl.tensor(x), tl.tensor(t), label_smoothing=smoothing)
            theirs = TF.cross_entropy(torch.tensor(x), torch.tensor(t),
                                      label_smoothing=smoothing)
            np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-5)


# -- hostile data files: one error naming the file, nothing allocated beyond what it holds -----
def _idx_header(magic: int, dims) -> bytes:
    return magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in dims)


def _peak_bytes(fn):
    import tracemalloc
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_idx_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    import gzip

    from tinygrad_lite.data.datasets import DatasetFormatError, read_idx
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(_idx_header(0x803, (10, 28, 28)))
        zeros = bytes(1 << 20)
        for _ in range(64):                       # 64 MB of zeros behind a 7,840-byte header
            f.write(zeros)
    assert path.stat().st_size < 1 << 20

    def load():
        with pytest.raises(DatasetFormatError, match=r"train-images-idx3-ubyte.gz.*trailing"):
            read_idx(path, 0x803)
    assert _peak_bytes(load) < 4 << 20


@pytest.mark.parametrize("dims", [(65536, 2**24, 2**24), (2**31, 2**31, 2**31), (60000, 28, 28)])
def test_idx_header_declaring_more_than_the_file_holds(tmp_path, dims):
    import gzip

    from tinygrad_lite.data.datasets import DatasetFormatError, read_idx
    raw = tmp_path / "images"
    raw.write_bytes(_idx_header(0x803, dims) + bytes(100))
    gz = tmp_path / "images.gz"
    gz.write_bytes(gzip.compress(raw.read_bytes()))
    for path in (raw, gz):
        def load(path=path):
            with pytest.raises(DatasetFormatError, match=f"{path.name}.*(truncated|declare)"):
                read_idx(path, 0x803)
        assert _peak_bytes(load) < 4 << 20


def test_mnist_refuses_images_that_are_not_28x28(tmp_path):
    from tinygrad_lite.data.datasets import MNIST, DatasetFormatError
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx_header(0x803, (2, 8, 8)) + bytes(128))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_header(0x801, (2,)) + bytes(2))
    with pytest.raises(DatasetFormatError, match=r"train-images-idx3-ubyte.*\(2, 8, 8\)"):
        MNIST(tmp_path)


def test_cifar_pickle_claiming_huge_bytes_is_one_named_error(tmp_path):
    import pickle

    from tinygrad_lite.data.datasets import DatasetFormatError, restricted_load
    path = tmp_path / "data_batch_1"
    # protocol 4: BINBYTES8 with a length of 2**40 and 10 bytes behind it
    path.write_bytes(b"\x80\x04" + pickle.BINBYTES8 + (2**40).to_bytes(8, "little") +
                     bytes(10) + pickle.STOP)

    def load():
        with pytest.raises(DatasetFormatError, match="data_batch_1"):
            restricted_load(path)
    assert _peak_bytes(load) < 4 << 20


def test_cifar_float_labels_are_refused(tmp_path):
    import pickle

    from tinygrad_lite.data.datasets import CIFAR10, DatasetFormatError
    for name in [f"data_batch_{i}" for i in range(1, 6)]:
        batch = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0.7, 1.0]}
        (tmp_path / name).write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(DatasetFormatError, match="data_batch_1.*labels"):
        CIFAR10(tmp_path)


def test_set_num_threads_reaches_the_blas():
    pytest.importorskip("threadpoolctl", reason="set_num_threads needs threadpoolctl")
    before = tl.get_num_threads()
    try:
        tl.set_num_threads(1)
        assert tl.get_num_threads() == 1
        tl.set_num_threads(2)
        assert tl.get_num_threads() in (1, 2)       # a BLAS built for one thread stays at one
    finally:
        tl.set_num_threads(max(1, before))
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="set_num_threads"):
            tl.set_num_threads(bad)


# -- pickling and deep-copying follow torch ----------------------------------------------------
def test_pickle_drops_the_graph_and_deepcopy_refuses_non_leaves():
    import copy
    import pickle
    x = tl.ones(1000, requires_grad=True)
    y = (x * 2).exp()
    back = pickle.loads(pickle.dumps(y))
    assert back.grad_fn is None and back.requires_grad and back.is_leaf
    np.testing.assert_array_equal(back.detach().numpy(), y.detach().numpy())
    assert len(pickle.dumps(y)) < len(pickle.dumps(x)) + 1000     # no saved activations inside
    with pytest.raises(RuntimeError, match="deepcopy: only leaf tensors"):
        copy.deepcopy(y)


def test_deepcopy_keeps_views_sharing_memory_and_parameters_their_class():
    import copy

    import tinygrad_lite.nn as nn
    base = tl.zeros(4)
    view = base[1:3]
    base2, view2 = copy.deepcopy((base, view))
    view2.fill_(5.0)
    np.testing.assert_array_equal(base2.numpy(), [0, 5, 5, 0])
    np.testing.assert_array_equal(base.numpy(), [0, 0, 0, 0])
    m = nn.Linear(3, 2)
    m.weight.grad = tl.ones(2, 3)
    m2 = copy.deepcopy(m)
    assert isinstance(m2.weight, nn.Parameter) and m2.weight.requires_grad
    assert m2.weight._data is not m.weight._data
    np.testing.assert_array_equal(m2.weight.grad.numpy(), np.ones((2, 3)))


def test_no_numpy_runtime_warnings_reach_users():
    import subprocess
    import sys
    code = ("import tinygrad_lite as tl\n"
            "x = tl.tensor([1.0, 0.0, -1.0], requires_grad=True)\n"
            "y = (x / 0).sum() + x.log().sum() + (x * 1e308 * 10).sum() + tl.zeros(0).mean()\n"
            "y.backward()\n"
            "import numpy as np\n"
            "np.array([1.0]) / 0\n")          # the caller's own warning must still show
    proc = subprocess.run([sys.executable, "-W", "error::RuntimeWarning:tinygrad_lite",
                           "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("RuntimeWarning") == 1 and "<string>" in proc.stderr, proc.stderr
