"""Basic layers and their functional twins against PyTorch, plus the fused ops' references."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import nn
from tinygrad_lite.autograd import gradcheck, gradgradcheck
from tinygrad_lite.ops import linalg as linalg_ops
from tinygrad_lite.ops import normalization as norm_ops

from helpers import assert_close, check_vs_torch, make, to_numpy


def _load_from_torch(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def _compare_layer(ours, theirs, x_np, dtype=np.float64, device="cpu", rng_seed=1):
    """Same input through both layers; compare output, input grad and every parameter grad."""
    ours.to(dtype), theirs.to(torch.float64 if dtype == np.float64 else torch.float32)
    _load_from_torch(ours, theirs)
    ours.to(device)
    x = tl.tensor(x_np.astype(dtype), device=device, requires_grad=True)
    xt = torch.from_numpy(x_np.astype(dtype)).requires_grad_(True)
    y, yt = ours(x), theirs(xt)
    assert_close(y, yt, dtype, msg="output")
    g = np.random.default_rng(rng_seed).standard_normal(yt.shape).astype(dtype)
    (y * tl.tensor(g, device=device)).sum().backward()
    (yt * torch.from_numpy(g)).sum().backward()
    assert_close(x.grad, xt.grad, dtype, msg="input grad")
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None, name
        assert p.grad.dtype == p.dtype, name
        assert_close(p.grad, theirs_params[name].grad, dtype, msg=f"grad of {name}")
    return y, yt


# -- Linear --------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 3, 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_functional_vs_torch(shape, bias, device):
    shapes = [shape, (3, 5)] + ([(3,)] if bias else [])
    check_vs_torch(F.linear, shapes=shapes, torch_fn=TF.linear, device=device)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_linear_layer_vs_torch(dtype, device):
    x = np.random.default_rng(0).standard_normal((6, 7))
    _compare_layer(nn.Linear(7, 3), torch.nn.Linear(7, 3), x, dtype, device)


def test_linear_default_init_and_repr():
    tl.manual_seed(0)
    m = nn.Linear(400, 50)
    assert m.weight.shape == (50, 400) and m.bias.shape == (50,)
    assert m.weight.dtype == np.float32
    bound = 1 / np.sqrt(400)
    w = m.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.05 * bound    # uniform's std
    assert np.abs(m.bias.detach().numpy()).max() <= bound
    assert repr(m) == repr(torch.nn.Linear(400, 50))
    assert repr(nn.Linear(2, 3, bias=False)) == repr(torch.nn.Linear(2, 3, bias=False))
    assert nn.Linear(2, 3, bias=False).bias is None


def test_linear_fused_matches_reference_and_double_backward():
    x, w, b = make((3, 4)), make((2, 4), rng=np.random.default_rng(1)), make((2,))
    assert_close(F.linear(x, w, b), linalg_ops.linear_reference(x, w, b))
    assert gradcheck(F.linear, (x, w, b))
    assert gradgradcheck(F.linear, (x, w, b))


def test_linear_errors_name_shapes():
    with pytest.raises(ValueError, match=r"linear: input \(2, 5\) float32 has 5 features but "
                                         r"weight \(3, 4\) float32 expects 4"):
        F.linear(tl.zeros(2, 5), tl.zeros(3, 4))
    with pytest.raises(TypeError, match="linear: weight"):
        F.linear(tl.zeros(2, 4), tl.zeros(3, 4, dtype=tl.float64))


def test_bilinear_vs_torch(device):
    check_vs_torch(F.bilinear, shapes=[(4, 3), (4, 5), (2, 3, 5), (2,)], torch_fn=TF.bilinear,
                   device=device)
    x = np.random.default_rng(0).standard_normal((4, 3))
    ours, theirs = nn.Bilinear(3, 3, 2), torch.nn.Bilinear(3, 3, 2)
    theirs.double(), ours.double()
    _load_from_torch(ours, theirs)
    a = tl.tensor(x)
    assert_close(ours(a, a), theirs(torch.from_numpy(x), torch.from_numpy(x)))
    assert repr(ours) == repr(theirs)


# -- activations ---------------------------------------------------------------------------------
ACTS = [
    (lambda x: F.relu(x), lambda x: TF.relu(x), [0.0]),
    (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), [0.0]),
    (lambda x: F.elu(x, 0.7), lambda x: TF.elu(x, 0.7), [0.0]),
    (lambda x: F.gelu(x), lambda x: TF.gelu(x), None),
    (lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh"), None),
    (F.silu, TF.silu, None),
    (F.tanh, torch.tanh, None),
    (F.sigmoid, torch.sigmoid, None),
    (lambda x: F.softplus(x, 2.0, 3.0), lambda x: TF.softplus(x, 2.0, 3.0), [1.5]),
    (lambda x: F.softmax(x, -1), lambda x: TF.softmax(x, -1), None),
    (lambda x: F.log_softmax(x, 0), lambda x: TF.log_softmax(x, 0), None),
    (lambda x: F.softmax(x), lambda x: TF.softmax(x, 1), None),   # torch's implicit dim for 2-D
]


@pytest.mark.parametrize("i", range(len(ACTS)))
def test_activation_functional_vs_torch(i, device):
    ours, theirs, kinks = ACTS[i]
    check_vs_torch(ours, shapes=[(4, 6)], torch_fn=theirs, device=device, low=-4, high=4,
                   away_from=kinks)


LAYERS = [(nn.ReLU(), torch.nn.ReLU()), (nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1)),
          (nn.ELU(0.5), torch.nn.ELU(0.5)), (nn.GELU("tanh"), torch.nn.GELU("tanh")),
          (nn.SiLU(), torch.nn.SiLU()), (nn.Tanh(), torch.nn.Tanh()),
          (nn.Sigmoid(), torch.nn.Sigmoid()), (nn.Softplus(2.0), torch.nn.Softplus(2.0)),
          (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)),
          (nn.LogSoftmax(dim=-1), torch.nn.LogSoftmax(dim=-1))]


@pytest.mark.parametrize("i", range(len(LAYERS)))
def test_activation_layers_vs_torch(i):
    ours, theirs = LAYERS[i]
    assert repr(ours) == repr(theirs)
    check_vs_torch(ours, shapes=[(3, 5)], torch_fn=theirs, away_from=[0.0])


def test_activations_keep_float32():
    x = tl.randn(3, 4)
    for fn in (F.relu, F.gelu, F.silu, F.sigmoid, F.tanh, F.softplus, F.elu, F.leaky_relu,
               lambda t: F.softmax(t, -1), lambda t: F.log_softmax(t, -1)):
        assert fn(x).dtype == np.float32


def test_inplace_relu_changes_input():
    x = tl.tensor([-1.0, 2.0])
    y = nn.ReLU(inplace=True)(x)
    assert y is x and x.tolist() == [0.0, 2.0]


# -- LayerNorm -----------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,ns", [((4, 6), (6,)), ((2, 3, 4, 5), (4, 5))])
def test_layer_norm_functional_vs_torch(shape, ns, device):
    check_vs_torch(lambda x, w, b: F.layer_norm(x, ns, w, b, 1e-5), shapes=[shape, ns, ns],
                   torch_fn=lambda x, w, b: TF.layer_norm(x, ns, w, b, 1e-5), device=device)
    check_vs_torch(lambda x: F.layer_norm(x, ns), shapes=[shape],
                   torch_fn=lambda x: TF.layer_norm(x, ns), device=device)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layer_norm_layer_vs_torch(dtype, device):
    x = np.random.default_rng(0).standard_normal((3, 4, 8)) * 3 + 1
    ours, theirs = nn.LayerNorm(8), torch.nn.LayerNorm(8)
    with torch.no_grad():
        theirs.weight.normal_()
        theirs.bias.normal_()
    assert repr(ours) == repr(theirs)
    y, _ = _compare_layer(ours, theirs, x, dtype, device)
    assert y.dtype == dtype


def test_layer_norm_matches_reference_and_double_backward():
    x, w, b = make((3, 5)), make((5,), rng=np.random.default_rng(2)), make((5,))
    assert_close(F.layer_norm(x, (5,), w, b), norm_ops.layer_norm_reference(x, 1, w, b))
    assert gradcheck(lambda x, w, b: F.layer_norm(x, (5,), w, b), (x, w, b))
    assert gradgradcheck(lambda x, w, b: F.layer_norm(x, (5,), w, b), (x, w, b))


def test_layer_norm_second_order_vs_torch():
    x, w = make((3, 5)), make((5,), rng=np.random.default_rng(3))
    xt, wt = torch.from_numpy(x.detach().numpy()).requires_grad_(), \
        torch.from_numpy(w.detach().numpy()).requires_grad_()
    g = np.random.default_rng(4).standard_normal((3, 5))
    (gx,) = tl.autograd.grad((F.layer_norm(x, (5,), w) * tl.tensor(g)).sum(), [x],
                             create_graph=True)
    (gxt,) = torch.autograd.grad((TF.layer_norm(xt, (5,), wt) * torch.from_numpy(g)).sum(),
                                 [xt], create_graph=True)
    (gx * gx).sum().backward()
    (gxt * gxt).sum().backward()
    assert_close(x.grad, xt.grad)
    assert_close(w.grad, wt.grad)


def test_layer_norm_bad_shape():
    with pytest.raises(ValueError, match=r"layer_norm: input \(2, 4\) float32 does not end"):
        F.layer_norm(tl.zeros(2, 4), (5,))


# -- BatchNorm -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (4, 3, 5, 5))])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_layer_train_eval_vs_torch(cls, shape, momentum, device):
    ours = getattr(nn, cls)(3, momentum=momentum)
    theirs = getattr(torch.nn, cls)(3, momentum=momentum).double()
    with torch.no_grad():
        theirs.weight.normal_()
        theirs.bias.normal_()
    rng = np.random.default_rng(0)
    for step in range(3):       # several steps: running stats and num_batches_tracked move
        x = rng.standard_normal(shape) * 2 + 0.5
        if step == 0:
            _compare_layer(ours, theirs, x, np.float64, device)
        else:
            ours.zero_grad()
            theirs.zero_grad()
            xt = torch.from_numpy(x)
            assert_close(ours(tl.tensor(x, device=device)), theirs(xt))
    for name, buf in theirs.named_buffers():
        assert_close(getattr(ours, name), buf, msg=name)
    assert int(ours.num_batches_tracked.item()) == 3
    ours.eval(), theirs.eval()
    x = rng.standard_normal(shape)
    _compare_layer(ours, theirs, x, np.float64, device)   # eval: running stats, grads too


def test_batch_norm_no_affine_no_tracking_and_repr():
    ours = nn.BatchNorm2d(2, affine=False, track_running_stats=False)
    theirs = torch.nn.BatchNorm2d(2, affine=False, track_running_stats=False)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 4))
    ours.eval(), theirs.eval()   # no running stats: batch statistics even in eval
    check_vs_torch(ours, inputs=[tl.tensor(x, requires_grad=True)], torch_fn=theirs)


def test_batch_norm_functional_and_double_backward():
    x, w, b = make((5, 3, 2)), make((3,), rng=np.random.default_rng(1)), make((3,))
    rm, rv = tl.zeros(3, dtype=tl.float64), tl.ones(3, dtype=tl.float64)
    rmt, rvt = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    check_vs_torch(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, True, 0.3),
                   inputs=[x, w, b],
                   torch_fn=lambda x, w, b: TF.batch_norm(x, rmt, rvt, w, b, True, 0.3))
    assert_close(rm, rmt)
    assert_close(rv, rvt)
    x.grad = w.grad = b.grad = None
    assert gradgradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, True), (x, w, b))


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(tl.zeros(2, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(tl.zeros(1, 3))
    with pytest.raises(ValueError, match="has 4 channels"):
        nn.BatchNorm1d(3)(tl.zeros(2, 4))


def test_batch_norm_float32_stays_float32():
    m = nn.BatchNorm1d(4)
    y = m(tl.randn(8, 4))
    assert y.dtype == np.float32 and m.running_var.dtype == np.float32


# -- GroupNorm -----------------------------------------------------------------------------------
def test_group_norm_vs_torch(device):
    check_vs_torch(lambda x, w, b: F.group_norm(x, 2, w, b), shapes=[(3, 4, 5), (4,), (4,)],
                   torch_fn=lambda x, w, b: TF.group_norm(x, 2, w, b), device=device)
    ours, theirs = nn.GroupNorm(3, 6), torch.nn.GroupNorm(3, 6)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(0).standard_normal((2, 6, 3, 3))
    _compare_layer(ours, theirs.double(), x, np.float64, device)


# -- Dropout -------------------------------------------------------------------------------------
def test_dropout_scales_and_eval_identity(device):
    x = tl.ones(200, 100, device=device, requires_grad=True)
    m = nn.Dropout(0.3)
    y = m(x)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.7, rtol=1e-6)
    assert y.dtype == np.float32
    g = np.random.default_rng(0).standard_normal(x.shape).astype(np.float32)
    (y * tl.tensor(g, device=device)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), g * kept / 0.7, rtol=1e-6)
    m.eval()
    assert m(x) is x
    assert repr(m) == repr(torch.nn.Dropout(0.3))


def test_dropout_seeded_and_edge_probabilities():
    tl.manual_seed(3)
    a = F.dropout(tl.ones(50)).numpy()
    tl.manual_seed(3)
    b = F.dropout(tl.ones(50)).numpy()
    np.testing.assert_array_equal(a, b)
    assert F.dropout(tl.ones(5), p=1.0).tolist() == [0.0] * 5
    assert F.dropout(tl.ones(5), p=0.0).tolist() == [1.0] * 5
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(bad)
        with pytest.raises(ValueError, match="dropout: dropout probability"):
            F.dropout(tl.ones(2), bad)


def test_dropout2d_zeroes_whole_channels():
    y = nn.Dropout2d(0.5)(tl.ones(16, 8, 3, 3)).numpy()
    per_channel = y.reshape(16, 8, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))
    assert 0 < (per_channel == 0).all(-1).sum() < 128


# -- Embedding, one_hot, pad ---------------------------------------------------------------------
def test_embedding_vs_torch_with_padding(device):
    ours, theirs = nn.Embedding(10, 4, padding_idx=2), torch.nn.Embedding(10, 4, padding_idx=2)
    assert repr(ours) == repr(theirs)
    assert np.all(ours.weight.detach().numpy()[2] == 0)
    ours.double(), theirs.double()
    _load_from_torch(ours, theirs)
    ours.to(device)
    idx = np.array([[1, 2, 3, 1], [2, 9, 0, 1]])
    y, yt = ours(tl.tensor(idx, device=device)), theirs(torch.from_numpy(idx))
    assert_close(y, yt)
    g = np.random.default_rng(0).standard_normal(y.shape)
    (y * tl.tensor(g, device=device)).sum().backward()
    (yt * torch.from_numpy(g)).sum().backward()
    assert_close(ours.weight.grad, theirs.weight.grad)
    assert np.all(to_numpy(ours.weight.grad)[2] == 0)


def test_embedding_init_errors_and_pretrained():
    tl.manual_seed(0)
    w = nn.Embedding(2000, 10).weight.detach().numpy()
    assert abs(w.std() - 1) < 0.03 and abs(w.mean()) < 0.03
    with pytest.raises(IndexError, match="embedding: index out of range"):
        nn.Embedding(3, 2)(tl.tensor([3]))
    with pytest.raises(TypeError, match="integer"):
        nn.Embedding(3, 2)(tl.tensor([0.0]))
    e = nn.Embedding.from_pretrained(tl.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert e(tl.tensor([1])).tolist() == [[3.0, 4.0]] and not e.weight.requires_grad


def test_embedding_double_backward_through_gather():
    w = make((5, 3))
    idx = tl.tensor([0, 4, 4, 1])
    assert gradgradcheck(lambda w: F.embedding(idx, w, padding_idx=1) ** 2, (w,))


def test_one_hot_and_pad():
    t = tl.tensor([0, 2, 1])
    assert_close(F.one_hot(t), TF.one_hot(torch.tensor([0, 2, 1])))
    assert F.one_hot(t, 5).shape == (3, 5) and F.one_hot(t).dtype == np.int64
    with pytest.raises(ValueError, match="one_hot"):
        F.one_hot(t, 2)
    check_vs_torch(lambda x: F.pad(x, (1, 2, 0, 1), value=0.5), shapes=[(2, 3, 4)],
                   torch_fn=lambda x: TF.pad(x, (1, 2, 0, 1), value=0.5))
    check_vs_torch(lambda x: F.pad(x, (2, 1), mode="reflect"), shapes=[(2, 3, 4)],
                   torch_fn=lambda x: TF.pad(x, (2, 1), mode="reflect"))


@given(n=st.integers(1, 4), k=st.integers(1, 6), m=st.integers(1, 5))
def test_linear_hypothesis_shapes(n, k, m):
    rng = np.random.default_rng(n * 100 + k * 10 + m)
    check_vs_torch(F.linear, shapes=[(n, k), (m, k), (m,)], torch_fn=TF.linear,
                   seed=int(rng.integers(1000)))
