"""tinygrad_lite.data: datasets, samplers, DataLoader, transforms and the file-format loaders.

The MNIST and CIFAR-10 tests write files in the official formats into tmp_path themselves
(IDX headers, gzip, pickled batch dicts), then break them in the ways real downloads break.
"""
import gzip
import os
import pickle
import struct

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.data import (CIFAR10, MNIST, BatchSampler, BreastCancer, ConcatDataset,
                                DataLoader, DatasetFormatError, Digits, RandomSampler,
                                SequentialSampler, Subset, TensorDataset, TextFile,
                                default_collate, random_split, transforms)


# -- helpers that write the official formats -----------------------------------------------------
def write_idx(path, array, magic=None, gz=False, cut=0):
    """An IDX file: big-endian magic (0x0000 08 ndim), one big-endian uint32 per dim, uint8 data."""
    array = np.asarray(array, dtype=np.uint8)
    magic = (0x0800 | array.ndim) if magic is None else magic
    raw = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    raw += array.tobytes()
    raw = raw[:len(raw) - cut]
    opener = gzip.open if gz else open
    with opener(str(path) + (".gz" if gz else ""), "wb") as f:
        f.write(raw)


def make_mnist(root, n_train=12, n_test=5, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        imgs = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        write_idx(root / f"{prefix}-images-idx3-ubyte", imgs, gz=gz)
        write_idx(root / f"{prefix}-labels-idx1-ubyte", labels, gz=gz)
        out[prefix] = (imgs, labels)
    return out


def make_cifar_batch(path, n=7, seed=0, protocol=2, **override):
    rng = np.random.default_rng(seed)
    entry = {b"batch_label": b"training batch", b"data":
             rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
             b"labels": rng.integers(0, 10, size=n).tolist(),
             b"filenames": [b"img%d.png" % i for i in range(n)]}
    entry.update({k.encode(): v for k, v in override.items()})
    with open(path, "wb") as f:
        pickle.dump(entry, f, protocol=protocol)
    return entry


def make_cifar(root, n=7):
    batches = [make_cifar_batch(root / f"data_batch_{i}", n=n, seed=i) for i in range(1, 6)]
    test = make_cifar_batch(root / "test_batch", n=n, seed=99)
    return batches, test


# -- Dataset, TensorDataset, Subset, random_split -------------------------------------------------
def test_tensor_dataset_rows_and_length_check():
    x = tl.arange(10).reshape(5, 2)
    y = np.arange(5)
    ds = TensorDataset(x, y)
    assert len(ds) == 5
    a, b = ds[3]
    assert a.tolist() == [6, 7] and int(b) == 3
    assert ds[-1][0].tolist() == [8, 9]
    with pytest.raises(IndexError):
        ds[5]
    with pytest.raises(ValueError, match="first size"):
        TensorDataset(tl.zeros(3, 2), tl.zeros(4))


def test_random_split_lengths_fractions_and_seed():
    ds = TensorDataset(np.arange(10))
    a, b = random_split(ds, [7, 3], generator=np.random.default_rng(1))
    ia, ib = set(a.indices), set(b.indices)
    assert len(ia) == 7 and len(ib) == 3 and not ia & ib and ia | ib == set(range(10))
    again = random_split(ds, [7, 3], generator=np.random.default_rng(1))
    assert again[0].indices == a.indices
    other = random_split(ds, [7, 3], generator=np.random.default_rng(2))
    assert other[0].indices != a.indices
    f = random_split(ds, [0.5, 0.3, 0.2], generator=3)
    assert [len(s) for s in f] == [5, 3, 2]
    assert [len(s) for s in random_split(TensorDataset(np.arange(11)), [0.5, 0.5])] == [6, 5]
    with pytest.raises(ValueError, match="sum to 9"):
        random_split(ds, [6, 3])


def test_random_split_follows_global_seed():
    ds = TensorDataset(np.arange(20))
    tl.manual_seed(5)
    first = random_split(ds, [10, 10])[0].indices
    tl.manual_seed(5)
    assert random_split(ds, [10, 10])[0].indices == first


def test_subset_and_concat():
    ds = TensorDataset(np.arange(10) * 10)
    sub = Subset(ds, [4, 1, 7])
    assert [int(sub[i][0]) for i in range(3)] == [40, 10, 70]
    cat = ConcatDataset([sub, TensorDataset(np.array([1, 2]))])
    assert len(cat) == 5 and int(cat[3][0]) == 1 and int(cat[-1][0]) == 2
    assert len(sub + sub) == 6


# -- samplers and DataLoader ---------------------------------------------------------------------
def _order(loader):
    return [int(v) for xb, in loader for v in xb.tolist()]


def test_sequential_and_batch_sampler():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    assert list(BatchSampler(range(7), 3, drop_last=False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(range(7), 3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, False)) == 3 and len(BatchSampler(range(7), 3, True)) == 2
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(range(7), 0, False)


def test_random_sampler_is_a_permutation_and_seeded():
    s = list(RandomSampler(range(50), generator=7))
    assert sorted(s) == list(range(50)) and s != list(range(50))
    assert list(RandomSampler(range(50), generator=7)) == s
    drawn = list(RandomSampler(range(5), replacement=True, num_samples=20, generator=0))
    assert len(drawn) == 20 and set(drawn) <= set(range(5))


def test_dataloader_batches_last_partial_and_drop_last():
    ds = TensorDataset(np.arange(10, dtype=np.float32), np.arange(10))
    dl = DataLoader(ds, batch_size=4)
    batches = list(dl)
    assert len(dl) == 3 == len(batches)
    assert [b[0].shape for b in batches] == [(4,), (4,), (2,)]
    assert batches[2][1].tolist() == [8, 9] and batches[2][1].dtype == np.int64
    dl = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(dl) == 2 == len(list(dl))
    assert len(DataLoader(ds, batch_size=5, drop_last=True)) == 2


def test_dataloader_shuffle_determinism():
    ds = TensorDataset(np.arange(40))
    a = _order(DataLoader(ds, batch_size=8, shuffle=True, generator=np.random.default_rng(3)))
    b = _order(DataLoader(ds, batch_size=8, shuffle=True, generator=np.random.default_rng(3)))
    c = _order(DataLoader(ds, batch_size=8, shuffle=True, generator=np.random.default_rng(4)))
    assert a == b and a != c and sorted(a) == list(range(40))
    # each pass reshuffles
    dl = DataLoader(ds, batch_size=8, shuffle=True, generator=np.random.default_rng(3))
    assert _order(dl) != _order(dl)
    # the global seed drives loaders built without a generator
    tl.manual_seed(11)
    g1 = _order(DataLoader(ds, batch_size=8, shuffle=True))
    tl.manual_seed(11)
    g2 = _order(DataLoader(ds, batch_size=8, shuffle=True))
    tl.manual_seed(12)
    g3 = _order(DataLoader(ds, batch_size=8, shuffle=True))
    assert g1 == g2 and g1 != g3
    assert _order(DataLoader(ds, batch_size=8)) == list(range(40))


class _Pairs(tl.data.Dataset):
    """Per-sample Python objects, so collation goes through default_collate, not the fast path."""

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.full((2,), i, dtype=np.float64), "meta": (i, float(i) / 2, f"s{i}")}


def test_default_collate_nested():
    batch = next(iter(DataLoader(_Pairs(), batch_size=3)))
    # dtypes as torch's default_collate keeps them: float64 arrays and Python floats stay float64
    assert batch["x"].shape == (3, 2) and batch["x"].dtype == np.float64
    ints, floats, names = batch["meta"]
    assert ints.tolist() == [0, 1, 2] and ints.dtype == np.int64
    assert floats.tolist() == [0.0, 0.5, 1.0] and floats.dtype == np.float64
    torch_data = pytest.importorskip("torch.utils.data", reason="torch is needed")
    samples = [(np.float32(1), np.int32(2), True, 3, 4.0, np.zeros(2, np.float64))] * 2
    for ours, theirs in zip(default_collate(samples), torch_data.default_collate(samples)):
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    assert names == ["s0", "s1", "s2"]
    t = default_collate([(tl.ones(2), 1), (tl.zeros(2), 0)])
    assert t[0].tolist() == [[1, 1], [0, 0]] and t[1].tolist() == [1, 0]
    with pytest.raises(ValueError, match="different shapes"):
        default_collate([tl.ones(2), tl.ones(3)])


def test_dataloader_collate_fn_batch_sampler_and_no_batching():
    ds = TensorDataset(np.arange(6))
    dl = DataLoader(ds, batch_size=4, collate_fn=lambda b: [int(s[0]) for s in b])
    assert list(dl) == [[0, 1, 2, 3], [4, 5]]
    dl = DataLoader(ds, batch_sampler=[[5, 0], [2]])
    assert [b[0].tolist() for b in dl] == [[5, 0], [2]]
    assert len(list(DataLoader(ds, batch_size=None))) == 6
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ds, batch_size=0)


def test_fast_path_matches_per_sample_collation():
    d = Digits(train=False)
    idx = [5, 0, 17, 3]
    fast = DataLoader(d, batch_sampler=[idx])
    slow = DataLoader(d, batch_sampler=[idx], collate_fn=default_collate)
    (xf, yf), (xs, ys) = next(iter(fast)), next(iter(slow))
    np.testing.assert_array_equal(xf.numpy(), xs.numpy())
    np.testing.assert_array_equal(yf.numpy(), ys.numpy())


def test_dataloader_device_and_utils_alias(device):
    from tinygrad_lite.utils.data import DataLoader as Aliased
    assert Aliased is DataLoader
    xb, yb = next(iter(DataLoader(TensorDataset(np.ones((3, 2)), np.arange(3)), batch_size=2,
                                  device=device)))
    assert xb.device == device and yb.device == device


# -- bundled datasets ----------------------------------------------------------------------------
def test_digits_split_is_stratified_disjoint_and_scaled():
    tr, te = Digits(train=True), Digits(train=False)
    assert len(tr) + len(te) == 1797
    assert tr.data.shape[1:] == (1, 8, 8) and tr.data.dtype == np.float32
    assert 0.0 <= tr.data.min() and tr.data.max() == 1.0
    frac = np.bincount(te.targets, minlength=10) / np.bincount(
        np.concatenate([tr.targets, te.targets]), minlength=10)
    assert np.all(np.abs(frac - 0.2) < 0.02)
    # no image is in both splits
    train_rows = {r.tobytes() for r in tr.data}
    assert sum(r.tobytes() in train_rows for r in te.data) < 5   # a few digits are duplicates
    assert np.array_equal(Digits(train=False).targets, te.targets)   # fixed split


def test_breast_cancer_standardised_with_train_statistics():
    tr, te = BreastCancer(train=True), BreastCancer(train=False)
    assert len(tr) + len(te) == 569 and tr.data.shape[1] == 30
    np.testing.assert_allclose(tr.data.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(tr.data.std(0), 1, atol=1e-4)
    assert not np.allclose(te.data.mean(0), 0, atol=1e-3)   # test split was not re-centred
    x, y = te[0]
    assert x.shape == (30,) and y in (0, 1)


# -- MNIST -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_official_idx_files(tmp_path, gz):
    made = make_mnist(tmp_path, gz=gz)
    tr, te = MNIST(tmp_path, train=True), MNIST(tmp_path, train=False)
    assert len(tr) == 12 and len(te) == 5
    img, label = tr[3]
    assert img.shape == (1, 28, 28) and img.dtype == np.float32
    np.testing.assert_allclose(img.numpy()[0], made["train"][0][3] / 255.0, rtol=1e-6)
    assert label == made["train"][1][3]
    xb, yb = next(iter(DataLoader(te, batch_size=5)))
    assert xb.shape == (5, 1, 28, 28) and yb.tolist() == made["t10k"][1].tolist()


def test_mnist_torchvision_layout(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    make_mnist(raw)
    assert len(MNIST(tmp_path)) == 12


def test_mnist_missing_dir_and_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        MNIST(tmp_path / "nope")
    make_mnist(tmp_path)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte")
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        MNIST(tmp_path, train=False)


def test_mnist_wrong_magic(tmp_path):
    make_mnist(tmp_path)
    imgs = np.zeros((12, 28, 28), np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte", imgs, magic=2049)
    with pytest.raises(DatasetFormatError, match=r"train-images-idx3-ubyte.*magic number 2049"):
        MNIST(tmp_path)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_truncated(tmp_path, gz):
    make_mnist(tmp_path, gz=gz)
    name = "train-images-idx3-ubyte"
    write_idx(tmp_path / name, np.zeros((12, 28, 28), np.uint8), gz=gz, cut=100)
    with pytest.raises(DatasetFormatError, match=f"{name}.*truncated"):
        MNIST(tmp_path)


def test_mnist_cut_off_gzip_stream(tmp_path):
    make_mnist(tmp_path, gz=True)
    p = tmp_path / "train-labels-idx1-ubyte.gz"
    p.write_bytes(p.read_bytes()[:-12])
    with pytest.raises(DatasetFormatError, match="train-labels-idx1-ubyte.gz"):
        MNIST(tmp_path)


def test_mnist_count_mismatch_and_bad_label(tmp_path):
    make_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(11, np.uint8))
    with pytest.raises(DatasetFormatError, match="11 labels but train-images-idx3-ubyte has 12"):
        MNIST(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.full(12, 10, np.uint8))
    with pytest.raises(DatasetFormatError, match="label 10 is out of range"):
        MNIST(tmp_path)


def test_mnist_header_too_short(tmp_path):
    make_mnist(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00")
    with pytest.raises(DatasetFormatError, match="t10k-images-idx3-ubyte.*truncated"):
        MNIST(tmp_path, train=False)


# -- CIFAR-10 -------------------------------------------------------------------------------------
def test_cifar10_reads_batches(tmp_path):
    batches, test = make_cifar(tmp_path)
    tr, te = CIFAR10(tmp_path, train=True), CIFAR10(tmp_path, train=False)
    assert len(tr) == 35 and len(te) == 7
    img, label = tr[8]           # second batch, second image
    expected = batches[1][b"data"][1].reshape(3, 32, 32) / 255.0
    np.testing.assert_allclose(img.numpy(), expected, rtol=1e-6)
    assert img.shape == (3, 32, 32) and label == batches[1][b"labels"][1]
    assert te.targets.tolist() == test[b"labels"]


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_cifar10_any_pickle_protocol_and_subdir(tmp_path, protocol):
    sub = tmp_path / "cifar-10-batches-py"
    sub.mkdir()
    entry = make_cifar_batch(sub / "test_batch", protocol=protocol)
    te = CIFAR10(tmp_path, train=False)
    assert te.targets.tolist() == entry[b"labels"]


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > should_not_exist",))


def test_cifar10_refuses_malicious_pickle(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_cifar(tmp_path)
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"data": _Evil(), b"labels": [0]}, f, protocol=2)
    with pytest.raises(DatasetFormatError, match=r"test_batch.*refusing.*system"):
        CIFAR10(tmp_path, train=False)
    assert not (tmp_path / "should_not_exist").exists()


def test_cifar10_malformed_batches(tmp_path):
    make_cifar(tmp_path)
    make_cifar_batch(tmp_path / "test_batch", labels=[1, 2])   # 7 images, 2 labels
    with pytest.raises(DatasetFormatError, match="2 labels but 7 images"):
        CIFAR10(tmp_path, train=False)
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"labels": [0]}, f)
    with pytest.raises(DatasetFormatError, match=r"test_batch: missing key b'data'"):
        CIFAR10(tmp_path, train=False)
    make_cifar_batch(tmp_path / "test_batch", data=np.zeros((7, 100), np.uint8))
    with pytest.raises(DatasetFormatError, match=r"shape \(N, 3072\)"):
        CIFAR10(tmp_path, train=False)
    raw = (tmp_path / "data_batch_1").read_bytes()
    (tmp_path / "data_batch_1").write_bytes(raw[:len(raw) // 2])
    with pytest.raises(DatasetFormatError, match="data_batch_1.*truncated"):
        CIFAR10(tmp_path, train=True)
    (tmp_path / "data_batch_1").write_bytes(raw)
    os.remove(tmp_path / "data_batch_3")
    with pytest.raises(FileNotFoundError, match="data_batch_3"):
        CIFAR10(tmp_path, train=True)


# -- text -----------------------------------------------------------------------------------------
def test_textfile_pairs_vocab_and_roundtrip(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("hello world, hello tinygrad", encoding="utf-8")
    ds = TextFile(p, seq_len=5)
    assert ds.vocab == sorted(set(p.read_text()))
    assert len(ds) == (27 - 1 - 5) // 5 + 1
    x, y = ds[1]
    assert ds.decode(x) == " worl" and ds.decode(y) == "world"
    assert ds.decode(ds.encode("hello")) == "hello"
    xb, yb = next(iter(DataLoader(ds, batch_size=3)))
    assert xb.shape == (3, 5) and xb.dtype == np.int64
    assert np.array_equal(xb.numpy()[:, 1:], yb.numpy()[:, :-1])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        ds.encode("Z")


def test_textfile_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        TextFile(tmp_path / "missing.txt", seq_len=4)
    short = tmp_path / "short.txt"
    short.write_text("abc")
    with pytest.raises(DatasetFormatError, match="short.txt.*at least"):
        TextFile(short, seq_len=4)
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00abc" * 10)
    with pytest.raises(DatasetFormatError, match="bin.txt.*UTF-8"):
        TextFile(binary, seq_len=4)


# -- transforms -----------------------------------------------------------------------------------
def test_to_tensor_and_normalize():
    hwc = np.full((4, 5, 3), 255, np.uint8)
    t = transforms.ToTensor()(hwc)
    assert t.shape == (3, 4, 5) and t.dtype == np.float32 and float(t.max()) == 1.0
    out = transforms.Normalize([0.5, 0.5, 0.0], [0.5, 0.25, 1.0])(t)
    np.testing.assert_allclose(out.numpy()[:, 0, 0], [1.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="2 values but the image has 3 channels"):
        transforms.Normalize([0.5, 0.5], [1, 1])(t)


def test_random_crop_and_flip_seeded():
    img = tl.tensor(np.arange(2 * 6 * 6, dtype=np.float32).reshape(2, 6, 6))
    crop = transforms.RandomCrop(6, padding=2, generator=np.random.default_rng(0))
    outs = [crop(img).numpy() for _ in range(8)]
    assert all(o.shape == (2, 6, 6) for o in outs)
    assert any(not np.array_equal(o, img.numpy()) for o in outs)
    again = transforms.RandomCrop(6, padding=2, generator=np.random.default_rng(0))
    assert all(np.array_equal(again(img).numpy(), o) for o in outs)
    flip = transforms.RandomHorizontalFlip(p=1.0)
    np.testing.assert_array_equal(flip(img).numpy(), img.numpy()[..., ::-1])
    assert np.array_equal(transforms.RandomHorizontalFlip(p=0.0)(img).numpy(), img.numpy())
    pipe = transforms.Compose([transforms.RandomHorizontalFlip(0.5, generator=1),
                               transforms.Normalize(0.0, 2.0)])
    assert pipe(img).shape == (2, 6, 6)


def test_transform_applies_through_dataset_and_loader():
    d = Digits(train=False, transform=transforms.Normalize(0.5, 0.5))
    xb, _ = next(iter(DataLoader(d, batch_size=4)))
    assert float(xb.min()) >= -1.0 and float(xb.min()) < 0.0
