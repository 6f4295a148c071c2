"""Real datasets: Digits and BreastCancer (bundled with scikit-learn), MNIST (IDX files), CIFAR-10
(python pickle batches, read through a restricted unpickler) and TextFile (char-level LM).

Nothing is ever downloaded: MNIST and CIFAR-10 read files you already have. Every malformed input
raises an error that names the file and what is wrong with it.

Image datasets give `(image, label)`: a float32 (C, H, W) Tensor in [0, 1] and an int.
"""
from __future__ import annotations

import gzip
import io
import math
import os
import pickle
import pickletools
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import numpy as np

from ...tensor import Tensor
from .dataset import Dataset

__all__ = ["Digits", "BreastCancer", "MNIST", "FashionMNIST", "CIFAR10", "TextFile",
           "DatasetFormatError",
           "RestrictedUnpickler", "restricted_load", "stratified_split"]

PathLike = Union[str, os.PathLike]


class DatasetFormatError(ValueError):
    """A dataset file exists but is not in the format expected (names the file and the problem)."""


def _tensor(a: np.ndarray) -> Tensor:
    return Tensor._make(a, False, None, None)


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple:
    """(train_idx, test_idx): the same fraction of each class held out, chosen by a fixed seed."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        n_test = int(round(len(idx) * test_fraction))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _need_sklearn(what: str):
    try:
        import sklearn.datasets as skd  # noqa: PLC0415  (optional: the 'cli' extra)
    except ImportError:
        raise ImportError(f"{what} needs scikit-learn, which bundles the data: "
                          "pip install 'tinygrad_lite[cli]'") from None
    return skd


class _ArrayImages(Dataset):
    """Images held as one array plus integer labels; batches gather with one fancy index."""

    classes: Sequence[str] = tuple(str(i) for i in range(10))

    def __init__(self, transform: Optional[Callable], target_transform: Optional[Callable]):
        self.transform = transform
        self.target_transform = target_transform
        self.data: np.ndarray
        self.targets: np.ndarray

    def _images(self, idx) -> np.ndarray:
        """float32 in [0, 1], (C, H, W) per image."""
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index):
        n = len(self)
        i = int(index)
        if not -n <= i < n:
            raise IndexError(f"{type(self).__name__}: index {i} out of range for {n} samples")
        img = _tensor(self._images(i))
        target = int(self.targets[i])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def _collated_batch(self, indices: np.ndarray):
        if self.transform is not None or self.target_transform is not None:
            return None
        return _tensor(self._images(indices)), _tensor(self.targets[indices].astype(np.int64))


class Digits(_ArrayImages):
    """scikit-learn's 1,797 handwritten 8x8 digits: (1, 8, 8) images in [0, 1], labels 0-9.

    A fixed stratified split holds out `test_fraction` of each class (1,437 train / 360 test by
    default); `split_seed` picks which, and is the same on every machine. `root` is accepted so
    code written for torchvision's signature runs, and ignored: scikit-learn holds the data.
    """

    def __init__(self, root: Optional[PathLike] = None, train: bool = True,
                 transform: Optional[Callable] = None, target_transform: Optional[Callable] = None,
                 test_fraction: float = 0.2, split_seed: int = 0):
        super().__init__(transform, target_transform)
        skd = _need_sklearn("Digits")
        bunch = skd.load_digits()
        images = (bunch.images.astype(np.float32) / np.float32(16.0))[:, None]   # 0..16 -> [0, 1]
        labels = bunch.target.astype(np.int64)
        train_idx, test_idx = stratified_split(labels, test_fraction, split_seed)
        idx = train_idx if train else test_idx
        self.train = train
        self.data = np.ascontiguousarray(images[idx])
        self.targets = labels[idx]

    def _images(self, idx) -> np.ndarray:
        return self.data[idx]


class BreastCancer(Dataset):
    """scikit-learn's Wisconsin breast-cancer table: 30 features, label 1 = benign, 0 = malignant.

    Features are standardised with the training split's mean and std (also for the test split, so
    nothing about the test set leaks into training). Samples are (float32 (30,) Tensor, int).
    """

    def __init__(self, train: bool = True, test_fraction: float = 0.2, split_seed: int = 0):
        skd = _need_sklearn("BreastCancer")
        bunch = skd.load_breast_cancer()
        x = bunch.data.astype(np.float64)
        y = bunch.target.astype(np.int64)
        train_idx, test_idx = stratified_split(y, test_fraction, split_seed)
        mean = x[train_idx].mean(0)
        std = x[train_idx].std(0)
        std[std == 0] = 1.0
        idx = train_idx if train else test_idx
        self.train = train
        self.feature_names = list(bunch.feature_names)
        self.data = ((x[idx] - mean) / std).astype(np.float32)
        self.targets = y[idx]

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index):
        return _tensor(self.data[int(index)]), int(self.targets[int(index)])

    def _collated_batch(self, indices: np.ndarray):
        return _tensor(self.data[indices]), _tensor(self.targets[indices])


# -- MNIST: IDX files -------------------------------------------------------------------------
_IDX_IMAGES, _IDX_LABELS = 2051, 2049


def _find(root: Path, name: str, who: str) -> Path:
    """The file `name` (or `name.gz`) in root or root/<who>/raw (torchvision's layout)."""
    candidates = [root / name, root / (name + ".gz"), root / who / "raw" / name,
                  root / who / "raw" / (name + ".gz")]
    for c in candidates:
        if c.is_file():
            return c
    raise FileNotFoundError(f"{who}: {name} not found in {root} (looked for {name} and {name}.gz; "
                            "nothing is downloaded, put the files there)")


# deflate cannot expand data by more than about 1032:1, so a .gz can hold at most this many
# bytes per byte of file: a header that declares more is a lie, refused before inflating anything
_GZIP_MAX_RATIO = 1100
_CHUNK = 1 << 20


def _open(path: Path):
    try:
        return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    except OSError as e:
        raise DatasetFormatError(f"{path}: cannot read ({type(e).__name__}: {e})") from None


def _read_exactly(f, path: Path, n: int, what: str) -> bytes:
    """n bytes from f, in chunks (memory grows only with what the file really holds)."""
    parts, got = [], 0
    try:
        while got < n:
            chunk = f.read(min(_CHUNK, n - got))
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
    except (OSError, EOFError) as e:     # gzip.BadGzipFile is an OSError; EOFError: cut-off .gz
        raise DatasetFormatError(f"{path}: cannot read {what} ({type(e).__name__}: {e})") \
            from None
    return b"".join(parts)


def read_idx(path: PathLike, expected_magic: int) -> np.ndarray:
    """Parse one IDX file (unsigned-byte data): the header first, then exactly the bytes it
    declares (one more is read to find trailing data), never more."""
    path = Path(path)
    with _open(path) as f:
        head = _read_exactly(f, path, 4, "the header")
        if len(head) < 4:
            raise DatasetFormatError(f"{path}: truncated: {len(head)} bytes, too short for an "
                                     "IDX header")
        magic = int.from_bytes(head, "big")
        if magic != expected_magic:
            raise DatasetFormatError(f"{path}: wrong IDX magic number {magic} (expected "
                                     f"{expected_magic}); is this the right file?")
        ndim = head[3]
        raw_dims = _read_exactly(f, path, 4 * ndim, "the dimensions")
        header = 4 + 4 * ndim
        if len(raw_dims) < 4 * ndim:
            raise DatasetFormatError(f"{path}: truncated: header needs {header} bytes, file "
                                     f"has {4 + len(raw_dims)}")
        dims = tuple(int.from_bytes(raw_dims[4 * k:4 * k + 4], "big") for k in range(ndim))
        if any(d == 0 for d in dims):
            raise DatasetFormatError(f"{path}: IDX dimensions {dims} contain a zero")
        expected = math.prod(dims)                 # Python ints: no int64 wrap-around
        size = path.stat().st_size
        if path.suffix != ".gz" and expected > size - header:
            raise DatasetFormatError(f"{path}: truncated: dimensions {dims} need {expected} "
                                     f"data bytes, found {size - header}")
        if expected > size * _GZIP_MAX_RATIO:
            raise DatasetFormatError(f"{path}: dimensions {dims} declare {expected} data "
                                     f"bytes, more than a {size}-byte gzip file can hold")
        raw = _read_exactly(f, path, expected + 1, "the data")
    found = len(raw)
    if found != expected:
        what = "truncated" if found < expected else "has trailing bytes"
        shown = found if found < expected else "more"
        raise DatasetFormatError(f"{path}: {what}: dimensions {dims} need {expected} data bytes, "
                                 f"found {shown}")
    return np.frombuffer(raw, dtype=np.uint8).reshape(dims)


class MNIST(_ArrayImages):
    """MNIST from the four official IDX files in `root` (gzipped or not): (1, 28, 28) images in
    [0, 1], labels 0-9. Train: train-images-idx3-ubyte + train-labels-idx1-ubyte; test: t10k-*.
    """

    files = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}

    def __init__(self, root: PathLike, train: bool = True, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None):
        super().__init__(transform, target_transform)
        name = type(self).__name__
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"{name}: directory {root} does not exist")
        img_name, lbl_name = self.files[bool(train)]
        img_path, lbl_path = _find(root, img_name, name), _find(root, lbl_name, name)
        images = read_idx(img_path, _IDX_IMAGES)
        labels = read_idx(lbl_path, _IDX_LABELS)
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise DatasetFormatError(f"{img_path}: expected images of shape (count, 28, 28), "
                                     f"got {images.shape}")
        if labels.ndim != 1:
            raise DatasetFormatError(f"{lbl_path}: expected 1 dimension (count), got "
                                     f"{labels.shape}")
        if len(images) != len(labels):
            raise DatasetFormatError(f"{lbl_path}: {len(labels)} labels but {img_path.name} has "
                                     f"{len(images)} images")
        if labels.max() >= len(self.classes):
            raise DatasetFormatError(f"{lbl_path}: label {int(labels.max())} is out of range "
                                     f"0..{len(self.classes) - 1}")
        self.train = bool(train)
        self.root = root
        self.data = images                       # uint8, converted per batch to save memory
        self.targets = labels.astype(np.int64)

    def _images(self, idx) -> np.ndarray:
        return (self.data[idx].astype(np.float32) / np.float32(255.0))[..., None, :, :]


class FashionMNIST(MNIST):
    """Fashion-MNIST: the same IDX format and file names as MNIST."""

    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")


# -- CIFAR-10: pickled batches, loaded without running code --------------------------------------
def _numpy_reconstructors() -> dict:
    """The few NumPy callables an ndarray pickle names, under both the 1.x and 2.x module paths."""
    try:
        from numpy._core import multiarray as ma  # noqa: PLC0415  numpy >= 2
        from numpy._core import numeric as nu  # noqa: PLC0415
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray as ma  # noqa: PLC0415
        from numpy.core import numeric as nu  # noqa: PLC0415
    allowed = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for mod in ("numpy.core", "numpy._core"):
        allowed[(mod + ".multiarray", "_reconstruct")] = ma._reconstruct
        allowed[(mod + ".multiarray", "scalar")] = ma.scalar
        allowed[(mod + ".numeric", "_frombuffer")] = nu._frombuffer
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only plain containers and NumPy arrays; any other global
    (os.system, builtins.eval, a class with a malicious __reduce__) is refused before it runs.
    """

    _allowed = None

    def find_class(self, module: str, name: str):
        if RestrictedUnpickler._allowed is None:
            import codecs  # noqa: PLC0415
            RestrictedUnpickler._allowed = _numpy_reconstructors()
            # protocol-2 pickles written by Python 3 spell bytes as _codecs.encode(str, 'latin1')
            RestrictedUnpickler._allowed[("_codecs", "encode")] = codecs.encode
        fn = RestrictedUnpickler._allowed.get((module, name))
        if fn is None:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}: only plain "
                                         "data and NumPy arrays are allowed")
        return fn


def restricted_load(path: PathLike):
    """Unpickle the data in `path` (bytes keys/strings, as the CIFAR-10 batches were written).

    The opcodes are walked once first (pickletools reads each argument from the bytes really
    there), so a length field claiming more than the file holds fails before anything of that
    size is allocated; every failure is one DatasetFormatError naming the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DatasetFormatError(f"{path}: cannot read ({type(e).__name__}: {e})") from None
    try:
        for _ in pickletools.genops(io.BytesIO(data)):
            pass
        return RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except pickle.UnpicklingError as e:
        raise DatasetFormatError(f"{path}: unsafe or corrupt pickle: {e}") from None
    except (EOFError, ValueError, TypeError, IndexError, AttributeError, KeyError, MemoryError,
            OverflowError, LookupError, SystemError, RecursionError) as e:
        raise DatasetFormatError(f"{path}: corrupt or truncated pickle "
                                 f"({type(e).__name__}: {e})") from None


class CIFAR10(_ArrayImages):
    """CIFAR-10 from the python batches (data_batch_1..5, test_batch) in `root` or
    `root/cifar-10-batches-py`: (3, 32, 32) images in [0, 1], labels 0-9.
    """

    classes = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck")
    train_files = tuple(f"data_batch_{i}" for i in range(1, 6))
    test_files = ("test_batch",)

    def __init__(self, root: PathLike, train: bool = True, transform: Optional[Callable] = None,
                 target_transform: Optional[Callable] = None):
        super().__init__(transform, target_transform)
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"CIFAR10: directory {root} does not exist")
        if (root / "cifar-10-batches-py").is_dir():
            root = root / "cifar-10-batches-py"
        datas, labels = [], []
        for name in (self.train_files if train else self.test_files):
            path = root / name
            if not path.is_file():
                raise FileNotFoundError(f"CIFAR10: {name} not found in {root} (nothing is "
                                        "downloaded, put the extracted batches there)")
            d, lab = self._read_batch(path)
            datas.append(d)
            labels.append(lab)
        self.train = bool(train)
        self.root = root
        self.data = np.concatenate(datas).reshape(-1, 3, 32, 32)
        self.targets = np.concatenate(labels)

    @staticmethod
    def _read_batch(path: Path) -> tuple:
        entry = restricted_load(path)
        if not isinstance(entry, dict):
            raise DatasetFormatError(f"{path}: expected a dict, got {type(entry).__name__}")
        for key in (b"data", b"labels"):
            if key not in entry:
                raise DatasetFormatError(f"{path}: missing key {key!r} (has "
                                         f"{sorted(map(repr, entry))})")
        data = entry[b"data"]
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
                or data.shape[1] != 3 * 32 * 32:
            desc = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) \
                else type(data).__name__
            raise DatasetFormatError(f"{path}: b'data' must be a uint8 array of shape (N, 3072), "
                                     f"got {desc}")
        try:
            labels = np.asarray(entry[b"labels"])
        except (TypeError, ValueError):
            labels = None
        if labels is None or labels.dtype.kind not in "iu":     # 0.7 must not train as class 0
            raise DatasetFormatError(f"{path}: b'labels' must be a list of ints, got "
                                     f"{type(entry[b'labels']).__name__} of "
                                     f"{getattr(labels, 'dtype', 'objects')}")
        labels = labels.astype(np.int64)
        if labels.ndim != 1 or len(labels) != len(data):
            raise DatasetFormatError(f"{path}: {labels.size} labels but {len(data)} images")
        if len(labels) and (labels.min() < 0 or labels.max() > 9):
            raise DatasetFormatError(f"{path}: labels must be in 0..9, found "
                                     f"{int(labels.min())}..{int(labels.max())}")
        return data, labels

    def _images(self, idx) -> np.ndarray:
        return self.data[idx].astype(np.float32) / np.float32(255.0)


# -- text --------------------------------------------------------------------------------------
def _read_text(path: Path) -> str:
    if not path.exists():
        raise FileNotFoundError(f"TextFile: {path} does not exist")
    if path.is_dir():
        raise DatasetFormatError(f"TextFile: {path} is a directory, not a text file")
    if not path.is_file():
        raise DatasetFormatError(f"TextFile: {path} is not a regular file (a FIFO or device?)")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DatasetFormatError(f"{path}: not UTF-8 text ({e})") from None
    except OSError as e:
        raise DatasetFormatError(f"{path}: cannot read ({type(e).__name__}: {e})") from None


class TextFile(Dataset):
    """A UTF-8 text file as a character-level language-modelling dataset.

    Sample i is `(x, y)`: `seq_len` character ids starting at `i * stride` and the same window
    shifted by one, as int64 Tensors. `vocab` (sorted characters) maps ids to characters.
    """

    def __init__(self, path: PathLike, seq_len: int = 64, stride: Optional[int] = None,
                 vocab: Optional[Sequence[str]] = None, text: Optional[str] = None):
        """`text` given: use it, and `path` only as its name in messages (no file is read)."""
        path = Path(path)
        if isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len <= 0:
            raise ValueError(f"TextFile: seq_len must be a positive int, got {seq_len!r}")
        if text is None:
            text = _read_text(path)
        if len(text) < seq_len + 1:
            raise DatasetFormatError(f"{path}: {len(text)} characters, need at least "
                                     f"seq_len + 1 = {seq_len + 1}")
        self.path = path
        self.text = text
        self.seq_len = seq_len
        self.stride = seq_len if stride is None else int(stride)
        if self.stride <= 0:
            raise ValueError(f"TextFile: stride must be positive, got {stride}")
        self.vocab = list(vocab) if vocab is not None else sorted(set(text))
        self.stoi = {ch: i for i, ch in enumerate(self.vocab)}
        self.ids = np.asarray(self.encode(text), dtype=np.int64)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, s: str) -> list:
        """Characters -> ids (raises on a character outside the vocabulary)."""
        try:
            return [self.stoi[ch] for ch in s]
        except KeyError as e:
            raise ValueError(f"TextFile.encode: character {e.args[0]!r} is not in the "
                             "vocabulary") from None

    def decode(self, ids) -> str:
        """Ids (list, array or Tensor) -> string."""
        if isinstance(ids, Tensor):
            ids = ids.tolist()
        return "".join(self.vocab[int(i)] for i in np.asarray(ids).reshape(-1))

    def __len__(self) -> int:
        return (len(self.ids) - 1 - self.seq_len) // self.stride + 1

    def __getitem__(self, index):
        n = len(self)
        i = int(index)
        if not -n <= i < n:
            raise IndexError(f"TextFile: index {i} out of range for {n} samples")
        start = (i % n) * self.stride
        chunk = self.ids[start:start + self.seq_len + 1]
        return _tensor(chunk[:-1].copy()), _tensor(chunk[1:].copy())

    def _collated_batch(self, indices: np.ndarray):
        starts = (indices % len(self)) * self.stride
        windows = starts[:, None] + np.arange(self.seq_len + 1)
        chunk = self.ids[windows]
        return _tensor(chunk[:, :-1].copy()), _tensor(chunk[:, 1:].copy())
