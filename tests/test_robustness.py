"""Bad input to the layers, losses, data tools, optimizers, loaders and CLI raises an error that
names the op and what was wrong with the argument (shape, dtype, value), never a NumPy internal.
"""
import math
import os
import pickle
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lite as tl
import tinygrad_lite.nn as nn
import tinygrad_lite.nn.functional as F
from tinygrad_lite import optim
from tinygrad_lite.cli import main as cli_main
from tinygrad_lite.data import (BatchSampler, ConcatDataset, DataLoader, Subset, TensorDataset,
                                random_split)
from tinygrad_lite.optim import lr_scheduler


def _z(*shape, dtype=None):
    return tl.zeros(*shape, dtype=dtype or tl.float32)


def _long(*shape):
    return tl.zeros(*shape, dtype=tl.int64)


def _sgd(lr=0.1):
    return optim.SGD(nn.Linear(2, 2).parameters(), lr=lr)


NAN, INF = float("nan"), float("inf")

# (call, exception type, regex that must name the op and the offending shape/dtype/value)
LAYER_CASES = [
    # linear
    (lambda: nn.Linear(3, 2)(_z(4, 5)), ValueError,
     r"linear: input \(4, 5\) float32 has 5 features but weight \(2, 3\) float32 expects 3"),
    (lambda: nn.Linear(3, 2)(_long(4, 3)), TypeError, r"linear: .*\(4, 3\) int64"),
    (lambda: nn.Linear(3, 2)(np.zeros((2, 3), np.float32)), TypeError,
     r"linear: input must be a Tensor, got ndarray"),
    (lambda: nn.Linear(-3, 2), ValueError, r"Linear: in_features must be >= 0, got -3"),
    (lambda: nn.Linear(3.5, 2), TypeError, r"Linear: in_features must be an int, got float 3\.5"),
    (lambda: nn.Bilinear(2, 3, -1), ValueError, r"Bilinear: out_features must be >= 0, got -1"),
    # convolution
    (lambda: F.conv2d(_z(2, 3, 8, 8), _z(4, 2, 3, 3)), ValueError,
     r"conv2d: input \(2, 3, 8, 8\) float32 has 3 channels but weight \(4, 2, 3, 3\) float32 "
     r"expects 2 \(groups=1\)"),
    (lambda: nn.Conv2d(3, 4, 3)(_long(1, 3, 8, 8)), TypeError,
     r"conv2d: input \(1, 3, 8, 8\) int64 must be a floating-point tensor"),
    (lambda: nn.Conv2d(3, 4, 3)(_z(8, 8)), ValueError,
     r"conv2d: expected a 3-D \(unbatched\) or 4-D \(batched\) input, got \(8, 8\) float32"),
    (lambda: nn.Conv2d(3, 4, 0), ValueError, r"Conv2d: kernel_size must be positive, got 0"),
    (lambda: nn.Conv2d(3, 4, -1), ValueError, r"Conv2d: kernel_size must be positive, got -1"),
    (lambda: nn.Conv2d(3, 4, 3, stride=0), ValueError, r"Conv2d: stride must be positive, got 0"),
    (lambda: nn.Conv1d(3, 4, 3, stride=(0,)), ValueError, r"Conv1d: stride must be positive"),
    (lambda: nn.Conv2d(3, 4, 3, padding=-1), ValueError, r"Conv2d: padding must be >= 0, got -1"),
    (lambda: nn.Conv2d(3, 4, 3, dilation=0), ValueError, r"Conv2d: dilation must be positive"),
    (lambda: nn.Conv2d(0, 4, 3), ValueError, r"Conv2d: in_channels must be positive, got 0"),
    (lambda: nn.Conv2d(3, 4, 2.5), TypeError, r"Conv2d: kernel_size must be an int, got float"),
    (lambda: nn.ConvTranspose2d(3, 4, 3, output_padding=-1), ValueError,
     r"ConvTranspose2d: output_padding must be >= 0, got -1"),
    (lambda: nn.Conv2d(3, 4, 5)(_z(1, 3, 2, 2)), RuntimeError,
     r"conv2d: input \(1, 3, 2, 2\) float32 .* smaller than the kernel \(5, 5\)"),
    # pooling
    (lambda: nn.MaxPool2d(2, padding=2)(_z(1, 1, 8, 8)), ValueError,
     r"max_pool2d: padding \(2, 2\) must be at most half of kernel_size \(2, 2\)"),
    (lambda: nn.AvgPool1d(2, padding=3)(_z(1, 1, 8)), ValueError,
     r"avg_pool1d: padding \(3,\) must be at most half of kernel_size \(2,\)"),
    (lambda: nn.MaxPool2d(0)(_z(1, 1, 8, 8)), ValueError, r"max_pool2d: kernel_size must be >= 1"),
    (lambda: nn.AvgPool2d(2, stride=0)(_z(1, 1, 8, 8)), ValueError,
     r"avg_pool2d: stride must be >= 1, got 0"),
    (lambda: nn.MaxPool2d(2)(_long(1, 1, 4, 4)), TypeError,
     r"max_pool2d: input \(1, 1, 4, 4\) int64 must be a floating-point tensor"),
    (lambda: nn.AdaptiveAvgPool2d(2)(_z(1, 1, 0, 4)), ValueError,
     r"adaptive_avg_pool2d: input \(1, 1, 0, 4\) float32 has an empty spatial dimension"),
    (lambda: nn.AdaptiveMaxPool2d(2)(_z(1, 1, 4, 0)), ValueError,
     r"adaptive_max_pool2d: input \(1, 1, 4, 0\) float32 has an empty spatial dimension"),
    (lambda: nn.AdaptiveAvgPool2d(0)(_z(1, 1, 4, 4)), ValueError,
     r"adaptive_avg_pool2d: output_size must be >= 1, got 0"),
    # normalisation
    (lambda: nn.BatchNorm2d(3)(_z(2, 4, 5, 5)), ValueError,
     r"BatchNorm2d: input \(2, 4, 5, 5\) float32 has 4 channels but the layer expects 3"),
    (lambda: nn.BatchNorm2d(-3), ValueError, r"BatchNorm2d: num_features must be positive, got -3"),
    (lambda: nn.BatchNorm1d(3)(_z(1, 3)), ValueError,    # an empty batch is fine, as torch
     r"batch_norm: expected more than 1 value per channel when training, got input \(1, 3\)"),
    (lambda: nn.LayerNorm(4)(_z(2, 5)), ValueError,
     r"layer_norm: input \(2, 5\) float32 does not end with normalized_shape \(4,\)"),
    (lambda: nn.GroupNorm(0, 4), ValueError, r"GroupNorm: num_groups must be positive, got 0"),
    (lambda: nn.GroupNorm(3, 4), ValueError,
     r"GroupNorm: num_channels \(4\) must be divisible by num_groups \(3\)"),
    (lambda: nn.GroupNorm(2, 4)(_z(2, 6, 3)), ValueError,
     r"group_norm: weight \(4,\) float32 should have shape \(6,\) for input \(2, 6, 3\)"),
    (lambda: F.group_norm(_z(2, 4, 3), 0), ValueError,
     r"group_norm: num_groups must be a positive int, got 0"),
    # dropout
    (lambda: nn.Dropout(1.5), ValueError, r"Dropout: dropout probability .* 0 and 1, but got 1\.5"),
    (lambda: nn.Dropout(NAN), ValueError, r"Dropout: dropout probability .* but got nan"),
    (lambda: nn.Dropout2d(-0.1), ValueError, r"Dropout2d: .* but got -0\.1"),
    (lambda: nn.Dropout("0.5"), TypeError, r"Dropout: dropout probability must be a number"),
    (lambda: F.dropout(_z(3), NAN), ValueError, r"dropout: dropout probability .* got nan"),
    (lambda: F.dropout(_long(3, 3), 0.3), TypeError,
     r"dropout: input must be floating point, got \(3, 3\) int64"),
    (lambda: F.dropout2d(_long(2, 3, 4), 0.3), TypeError,
     r"dropout2d: input must be floating point, got \(2, 3, 4\) int64"),
    # embedding
    (lambda: nn.Embedding(10, 3)(tl.tensor([3, 10])), IndexError,
     r"embedding: index out of range: indices span \[3, 10\] but weight \(10, 3\) float32 has 10"),
    (lambda: nn.Embedding(10, 3)(tl.tensor([-1])), IndexError, r"embedding: index out of range"),
    (lambda: nn.Embedding(10, 3)(tl.tensor([1.0])), TypeError,
     r"embedding: indices must be an integer tensor, got \(1,\) float32"),
    (lambda: nn.Embedding(-1, 3), ValueError, r"Embedding: num_embeddings must be >= 0, got -1"),
    (lambda: nn.Embedding(10, 3, padding_idx=10), ValueError,
     r"Embedding: padding_idx 10 must be within num_embeddings \(10\)"),
    # attention and transformer
    (lambda: nn.MultiheadAttention(10, 3), ValueError,
     r"MultiheadAttention: embed_dim 10 must be divisible by num_heads 3"),
    (lambda: nn.MultiheadAttention(8, 2, dropout=2.0), ValueError,
     r"MultiheadAttention: dropout has to be between 0 and 1, but got 2\.0"),
    (lambda: nn.MultiheadAttention(8, 2)(_z(3, 2, 6), _z(3, 2, 6), _z(3, 2, 6)), ValueError,
     r"MultiheadAttention: query \(3, 2, 6\) should end in embed_dim=8"),
    (lambda: nn.MultiheadAttention(8, 2)(_z(3, 2, 8), _z(4, 3, 8), _z(4, 3, 8)), ValueError,
     r"MultiheadAttention: key \(4, 3, 8\) .* query \(3, 2, 8\)"),
    (lambda: F.scaled_dot_product_attention(_z(2, 3, 4), _z(2, 5, 6), _z(2, 5, 4)), ValueError,
     r"scaled_dot_product_attention: .*got \(2, 3, 4\), \(2, 5, 6\), \(2, 5, 4\)"),
    (lambda: nn.TransformerEncoderLayer(10, 3), ValueError,
     r"embed_dim 10 must be divisible by num_heads 3"),
    # recurrent
    (lambda: nn.LSTM(4, 5)(_z(3, 2, 6)), ValueError,
     r"LSTM: input.size\(-1\) must be input_size=4, got shape \(3, 2, 6\)"),
    (lambda: nn.LSTM(4, 5)(_z(3, 2, 4), (_z(1, 2, 6), _z(1, 2, 5))), ValueError,
     r"LSTM: expected h_0 of shape \(1, 2, 5\), got \(1, 2, 6\)"),
    (lambda: nn.GRU(4, 5)(_z(3, 2, 4), _z(1, 3, 5)), ValueError,
     r"GRU: expected h_0 of shape \(1, 2, 5\), got \(1, 3, 5\)"),
    (lambda: nn.LSTM(4, 5)(_long(3, 2, 4)), TypeError, r"LSTM: input is int64"),
    # activations and containers
    (lambda: nn.GELU("fast"), ValueError, r"GELU: approximate must be 'none' or 'tanh'"),
    (lambda: nn.Softmax(dim=3)(_z(2, 2)), IndexError, r"softmax: dimension out of range"),
    (lambda: nn.Sequential(nn.ReLU())[3], IndexError,
     r"Sequential: index 3 out of range for length 1"),
    (lambda: nn.Sequential(nn.ReLU())["a"], TypeError, r"Sequential: index must be an int"),
    (lambda: nn.Sequential(nn.ReLU(), 5), TypeError,
     r"Sequential.add_module: '1' must be a Module or None, got int"),
    (lambda: nn.ModuleList([nn.ReLU(), "relu"]), TypeError,
     r"ModuleList.add_module: '1' must be a Module or None, got str"),
    # init
    (lambda: nn.init.normal_(_long(3, 3)), TypeError,
     r"init.normal_: expected a floating-point tensor, got \(3, 3\) int64"),
    (lambda: nn.init.kaiming_uniform_(_long(3, 3)), TypeError, r"init.kaiming_uniform_: .*int64"),
    (lambda: nn.init.uniform_(_z(3), 1, 0), ValueError,
     r"init.uniform_: lower bound a=1 must not exceed upper bound b=0"),
    (lambda: nn.init.normal_(_z(3), std=-1), ValueError, r"init.normal_: std must be >= 0"),
]

LOSS_CASES = [
    (lambda: F.cross_entropy(_z(4, 3), _z(4)), ValueError,
     r"cross_entropy: probability target \(4,\) float32 must have the input's shape \(4, 3\)"),
    (lambda: nn.CrossEntropyLoss()(_z(4, 3), tl.tensor([0, 1, 2, 3])), IndexError,
     r"cross_entropy: target 3 is out of bounds for 3 classes \(input \(4, 3\) float32\)"),
    (lambda: F.cross_entropy(_z(4, 3), tl.tensor([0, 1, 2, -2])), IndexError,
     r"cross_entropy: target -2 is out of bounds for 3 classes"),
    (lambda: F.cross_entropy(_z(4, 3), _long(5)), ValueError,
     r"cross_entropy: target \(5,\) int64 does not fit input \(4, 3\) float32"),
    (lambda: F.cross_entropy(_long(4, 3), _long(4)), TypeError,
     r"cross_entropy: input must be floating point, got \(4, 3\) int64"),
    (lambda: F.cross_entropy(tl.tensor(1.0), _long()), ValueError,
     r"cross_entropy: input must have a class dimension, .* got \(\) float32"),
    (lambda: F.nll_loss(tl.tensor(1.0), _long()), ValueError,
     r"nll_loss: input must have a class dimension, .* got \(\) float32"),
    (lambda: F.cross_entropy(_z(4, 3), _z(4, dtype=tl.bool)), TypeError,
     r"cross_entropy: target must hold class indices .* got \(4,\) bool"),
    (lambda: F.nll_loss(_z(4, 3), _z(4)), TypeError,
     r"nll_loss: target must hold class indices, got \(4,\) float32"),
    (lambda: F.mse_loss(_z(4, 3), _z(5, 2)), ValueError,
     r"mse_loss: input \(4, 3\) float32 and target \(5, 2\) float32 do not broadcast"),
    (lambda: F.binary_cross_entropy(tl.full((3,), 2.0), _z(3)), ValueError,
     r"binary_cross_entropy: input values must be probabilities in \[0, 1\], got \[2\.0, 2\.0\]"),
]


@pytest.mark.parametrize("call,exc,match", LAYER_CASES + LOSS_CASES)
def test_bad_layer_and_loss_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# -- data --------------------------------------------------------------------------------------
DATA_CASES = [
    (lambda: DataLoader(TensorDataset(_z(4, 2)), batch_size=0), ValueError,
     r"DataLoader: batch_size must be a positive int or None, got 0"),
    (lambda: DataLoader(TensorDataset(_z(4, 2)), batch_size=1.5), ValueError,
     r"DataLoader: batch_size must be a positive int or None, got 1\.5"),
    (lambda: DataLoader(5), TypeError, r"DataLoader: dataset must be indexable .* got int"),
    (lambda: TensorDataset(_z(4, 2))[4], IndexError,
     r"TensorDataset: index 4 out of range for 4 samples"),
    (lambda: TensorDataset(_z(4, 2))[-5], IndexError, r"TensorDataset: index -5 out of range"),
    (lambda: TensorDataset(_z(4, 2))[1.5], TypeError,
     r"TensorDataset: index must be an int, got float 1\.5"),
    (lambda: TensorDataset(_z(4, 2), _z(5)), ValueError,
     r"TensorDataset: tensors must share their first size, got \[4, 5\]"),
    (lambda: TensorDataset(tl.tensor(1.0)), ValueError,
     r"TensorDataset: tensor 0 must have a first \(sample\) dimension, got Tensor of shape \(\)"),
    (lambda: Subset(TensorDataset(_z(4, 2)), [5])[0], IndexError,
     r"TensorDataset: index 5 out of range for 4 samples"),
    (lambda: ConcatDataset([TensorDataset(_z(4, 2))])[4], IndexError,
     r"ConcatDataset: index 4 out of range for 4 samples"),
    (lambda: random_split(TensorDataset(_z(4, 2)), [3, 3]), ValueError,
     r"random_split: lengths sum to 6 but the dataset has 4 samples"),
    (lambda: BatchSampler(range(4), 0, False), ValueError,
     r"BatchSampler: batch_size must be a positive int, got 0"),
]


@pytest.mark.parametrize("call,exc,match", DATA_CASES)
def test_bad_data_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_dataset_accepts_numpy_and_tensor_indices():
    ds = TensorDataset(tl.arange(4.0))
    assert float(ds[np.int64(2)][0].item()) == 2.0
    assert float(ds[tl.tensor(3)][0].item()) == 3.0


def test_zero_size_batch_through_layers():
    """An empty batch is legal input: shapes flow through, nothing crashes."""
    assert nn.Linear(3, 2)(_z(0, 3)).shape == (0, 2)
    assert nn.Conv2d(3, 4, 3)(_z(0, 3, 8, 8)).shape == (0, 4, 6, 6)
    assert nn.LayerNorm(3)(_z(0, 3)).shape == (0, 3)
    assert nn.Embedding(5, 2)(_long(0)).shape == (0, 2)
    assert nn.GroupNorm(1, 2)(_z(0, 2, 3)).shape == (0, 2, 3)
    assert nn.LayerNorm(0)(_z(2, 0)).shape == (2, 0)
    assert F.softmax(_z(0, 0), 1).shape == (0, 0)
    assert F.log_softmax(_z(3, 0), -1).shape == (3, 0)
    with pytest.raises(IndexError, match=r"softmax: dimension out of range .* got 2\) for "
                                         r"input \(3, 0\) float32"):
        F.softmax(_z(3, 0), 2)
    with pytest.raises(ValueError, match=r"group_norm: input \(1, 2, 0\) float32 has no values"):
        nn.GroupNorm(1, 2)(_z(1, 2, 0))


# -- optimizers and schedulers -----------------------------------------------------------------
def _params():
    return nn.Linear(2, 2).parameters()


OPTIM_CASES = [
    (lambda: optim.SGD(_params(), lr=NAN), r"SGD: invalid learning rate nan"),
    (lambda: optim.SGD(_params(), lr=INF), r"SGD: invalid learning rate inf"),
    (lambda: optim.SGD(_params(), lr="0.1"), r"SGD: invalid learning rate '0\.1'"),
    (lambda: optim.RMSprop(_params(), lr=INF), r"RMSprop: invalid learning rate inf"),
    (lambda: optim.Adagrad(_params(), lr=-INF), r"Adagrad: invalid learning rate -inf"),
    (lambda: optim.Adadelta(_params(), lr=NAN), r"Adadelta: invalid learning rate nan"),
    (lambda: optim.Adam(_params(), lr=NAN), r"Adam: invalid learning rate nan"),
    (lambda: lr_scheduler.StepLR(_sgd(), 0), r"StepLR: step_size must be positive, got 0"),
    (lambda: lr_scheduler.StepLR(_sgd(), 2, gamma=NAN), r"StepLR: gamma must be finite"),
    (lambda: lr_scheduler.ExponentialLR(_sgd(), INF), r"ExponentialLR: gamma must be finite"),
    (lambda: lr_scheduler.MultiStepLR(_sgd(), [2], gamma=NAN), r"MultiStepLR: gamma must be"),
    (lambda: lr_scheduler.CosineAnnealingLR(_sgd(), 0),
     r"CosineAnnealingLR: T_max must be positive, got 0"),
]


@pytest.mark.parametrize("call,match", OPTIM_CASES)
def test_bad_optimizer_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_scheduler_types():
    with pytest.raises(TypeError, match=r"LambdaLR: lr_lambda must be a function .* got int 5"):
        lr_scheduler.LambdaLR(_sgd(), 5)
    with pytest.raises(TypeError, match=r"StepLR: int is not an Optimizer"):
        lr_scheduler.StepLR(5, 2)
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau.step: metrics must be a number"):
        lr_scheduler.ReduceLROnPlateau(_sgd()).step("low")


def test_finite_lr_and_tensor_lr_still_accepted():
    opt = optim.SGD(_params(), lr=tl.tensor(0.05))
    assert math.isclose(float(opt.param_groups[0]["lr"]), 0.05, rel_tol=1e-6)
    sched = lr_scheduler.StepLR(_sgd(), np.int64(2), gamma=0.5)
    assert sched.step_size == 2


# -- state_dict --------------------------------------------------------------------------------
def test_load_state_dict_problems_are_all_named():
    m = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match=r"Linear: missing keys: bias"):
        m.load_state_dict({"weight": _z(2, 3)})
    with pytest.raises(RuntimeError, match=r"Linear: unexpected keys: extra"):
        m.load_state_dict({"weight": _z(2, 3), "bias": _z(2), "extra": _z(1)})
    with pytest.raises(RuntimeError, match=r"weight: checkpoint \(3, 2\) vs model \(2, 3\)"):
        m.load_state_dict({"weight": _z(3, 2), "bias": _z(2)})
    with pytest.raises(RuntimeError, match=r"BatchNorm1d: .*running_mean: checkpoint \(4,\)"):
        nn.BatchNorm1d(3).load_state_dict({**nn.BatchNorm1d(3).state_dict(),
                                           "running_mean": _z(4)})
    with pytest.raises(TypeError, match=r"Linear.load_state_dict: expected a dict .* got list"):
        m.load_state_dict([("weight", _z(2, 3))])
    with pytest.raises(TypeError, match=r"Linear.load_state_dict: 'weight' should be a tensor "
                                        r"like \(2, 3\) float32, got str"):
        m.load_state_dict({"weight": "zeros", "bias": _z(2)})
    # nothing was half-written by the failed loads
    assert np.isfinite(m.weight._data).all() and m.weight.shape == (2, 3)


# -- checkpoint files --------------------------------------------------------------------------
class _Boom:
    def __reduce__(self):
        return (os.system, ("touch PWNED_BY_CHECKPOINT",))


def test_load_refuses_foreign_and_broken_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good = tmp_path / "good.tl"
    tl.save({"w": _z(3)}, good)
    data = good.read_bytes()
    cases = {"trunc.tl": data[:len(data) // 2], "empty.tl": b"", "text.tl": b"hello world",
             "evil.pkl": pickle.dumps({"x": _Boom()})}
    for name, blob in cases.items():
        (tmp_path / name).write_bytes(blob)
        with pytest.raises(RuntimeError, match=f"load: .*{name} is not a readable tinygrad_lite"):
            tl.load(tmp_path / name)
    assert not (tmp_path / "PWNED_BY_CHECKPOINT").exists()
    with pytest.raises(RuntimeError, match=r"pickle files.* are refused"):
        tl.load(tmp_path / "evil.pkl")
    np.savez(tmp_path / "obj.npz", a=np.array([_Boom()], dtype=object))
    with pytest.raises(RuntimeError, match=r"obj.npz is an .npz archive but not"):
        tl.load(tmp_path / "obj.npz")
    assert not (tmp_path / "PWNED_BY_CHECKPOINT").exists()
    with pytest.raises(FileNotFoundError, match=r"load: no such checkpoint file: .*nope.tl"):
        tl.load(tmp_path / "nope.tl")
    with pytest.raises(TypeError, match=r"load: expected a path or a binary file object, got int"):
        tl.load(5)


def test_save_reports_bad_targets(tmp_path):
    msg = r"save: cannot write .*x.tl: folder .*missing does not"
    with pytest.raises(FileNotFoundError, match=msg):
        tl.save({"w": _z(3)}, tmp_path / "missing" / "x.tl")
    with pytest.raises(TypeError, match=r"save: expected a path or a binary file object, got int"):
        tl.save({"w": _z(3)}, 5)
    with pytest.raises(TypeError, match=r"save: cannot store object at obj\['a'\]"):
        tl.save({"a": object()}, tmp_path / "o.tl")


def test_load_reads_torch_checkpoints_but_refuses_code_in_them(tmp_path):
    torch = pytest.importorskip("torch", reason="torch is needed")
    path = tmp_path / "torch.pt"
    torch.save({"w": torch.arange(3.0)}, path)
    assert tl.load(path)["w"].numpy().tolist() == [0.0, 1.0, 2.0]

    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))
    bad = tmp_path / "bad.pt"
    torch.save({"w": Payload()}, bad)
    with pytest.raises(RuntimeError, match=r"bad.pt.*builtins.print"):
        tl.load(bad)


# -- CLI ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv,match", [
    ([], r"required: command"),
    (["train", "nosuch"], r"invalid choice: 'nosuch'"),
    (["train", "mlp", "--epochs", "0"], r"--epochs: expected a positive integer, got 0"),
    (["train", "mlp", "--lr", "nan"], r"--lr: expected a positive number, got nan"),
    (["train", "mlp", "--batch-size", "abc"], r"--batch-size: expected a positive integer"),
])
def test_cli_rejects_nonsense_arguments(argv, match, capsys):
    with pytest.raises(SystemExit) as info:
        cli_main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert re.search(match, err), err


def test_cli_bad_files_give_one_line(tmp_path, capsys):
    (tmp_path / "junk.tl").write_bytes(b"junk")
    for argv, match in ((["eval", str(tmp_path / "none.tl")], "none.tl does not exist"),
                        (["eval", str(tmp_path)], "is a directory"),
                        (["eval", str(tmp_path / "junk.tl")], "cannot read checkpoint"),
                        (["train", "mlp", "--dataset", "nosuch"], "unknown dataset 'nosuch'")):
        assert cli_main(argv) == 1
        err = capsys.readouterr().err
        assert match in err and "Traceback" not in err, err


# -- fuzz ---------------------------------------------------------------------------------------
_OUR_ERRORS = (TypeError, ValueError, RuntimeError, IndexError)
_DTYPES = [tl.float32, tl.float64, tl.int64, tl.bool]


def _fuzz_layers():
    return {
        "linear": (nn.Linear(3, 2), ("linear", "Linear")),
        "conv2d": (nn.Conv2d(2, 3, 2), ("conv2d",)),
        "conv1d": (nn.Conv1d(2, 3, 2, stride=2), ("conv1d",)),
        "max_pool2d": (nn.MaxPool2d(2, padding=1), ("max_pool2d",)),
        "avg_pool1d": (nn.AvgPool1d(3), ("avg_pool1d",)),
        "adaptive_avg_pool2d": (nn.AdaptiveAvgPool2d(2), ("adaptive_avg_pool2d",)),
        "batch_norm": (nn.BatchNorm1d(3), ("batch_norm", "BatchNorm1d")),
        "layer_norm": (nn.LayerNorm(3), ("layer_norm",)),
        "group_norm": (nn.GroupNorm(1, 2), ("group_norm",)),
        "embedding": (nn.Embedding(4, 2), ("embedding",)),
        "softmax": (nn.Softmax(1), ("softmax",)),
        "dropout": (nn.Dropout(0.3), ("dropout",)),
    }


_LAYERS = _fuzz_layers()


@given(name=st.sampled_from(sorted(_LAYERS)),
       shape=st.lists(st.integers(0, 4), min_size=0, max_size=4),
       dtype=st.sampled_from(_DTYPES))
def test_fuzz_layers_fail_only_with_our_errors(name, shape, dtype):
    layer, ops = _LAYERS[name]
    x = tl.zeros(*shape, dtype=dtype) if shape else tl.zeros((), dtype=dtype)
    try:
        y = layer(x)
    except _OUR_ERRORS as e:
        msg = str(e)
        assert msg.startswith(tuple(f"{op}:" for op in ops)), f"{type(e).__name__}: {msg}"
        return
    assert isinstance(y, tl.Tensor)


@given(n=st.integers(0, 3), c=st.integers(1, 4),
       target=st.lists(st.integers(-3, 6), min_size=0, max_size=4),
       tdtype=st.sampled_from([tl.int64, tl.int32, tl.float32, tl.bool]))
def test_fuzz_cross_entropy_targets(n, c, target, tdtype):
    x = tl.randn(n, c)
    t = tl.tensor(target, dtype=tdtype) if target else tl.zeros(0, dtype=tdtype)
    try:
        loss = F.cross_entropy(x, t, reduction="sum")
    except _OUR_ERRORS as e:
        assert str(e).startswith("cross_entropy:"), f"{type(e).__name__}: {e}"
        return
    assert np.isfinite(loss._data).all()


def test_core_leftovers_from_the_audit():
    """Cases the audit found in core files: each now fails (or works) the way torch users expect."""
    p = tl.nn.Parameter(tl.zeros(2))
    with pytest.raises(ValueError, match="Adam: invalid learning rate inf"):
        tl.optim.Adam([p], lr=float("inf"))
    with pytest.raises(ValueError, match="AdamW: invalid learning rate 'a'"):
        tl.optim.AdamW([p], lr="a")
    with pytest.raises(IndexError, match=r"max: expected reduction dim 0 to have non-zero size"):
        tl.zeros(0, 3).max(0)
    assert tl.zeros(0, 3).max(1).values.shape == (0,)
    with pytest.raises(TypeError, match="leaky_relu: negative_slope must be a number, got str"):
        tl.zeros(3).leaky_relu("a")
    assert tl.zeros(3, 0).softmax(1).shape == (3, 0)
    assert tl.zeros(0, 3).log_softmax(0).shape == (0, 3)
