"""One training step of each seed model on "cuda" against the same step on "cpu".

Runs on a real GPU, or on the strict CuPy stand-in (`--fake-cupy`), which also counts transfers:
a step must make no device-to-host transfer at all (every value check that would stall the
GPU's launch queue is deferred to the user's own `.item()`), and float32 inputs must reach the
CUDA kernel paths for convolution and attention.
"""
import contextlib
import copy

import numpy as np
import pytest

import tinygrad_lite as tl
import tinygrad_lite.nn as nn
import tinygrad_lite.nn.functional as F
from tinygrad_lite import models
from tinygrad_lite.backend import kernel_stats, reset_kernel_stats

if not tl.cuda_is_available():
    pytest.skip("cuda: no GPU and no --fake-cupy", allow_module_level=True)

# on the stand-in (--fake-cupy) transfers are counted too; on a real GPU only results compare
FAKE = type(tl.backend.get_cupy()).__module__ == "fakecupy"
if FAKE:
    import fakecupy


@contextlib.contextmanager
def _transfers():
    """The transfers made inside the block (a Counter with .where), or None on a real GPU."""
    if not FAKE:
        yield None
        return
    with fakecupy.counting() as moved:
        yield moved


class SDPABlock(nn.Module):
    """Pre-norm self-attention through F.scaled_dot_product_attention (head_dim 32), causal."""

    def __init__(self, d_model=64, heads=2, num_classes=10, causal=True):
        super().__init__()
        self.heads, self.causal = heads, causal
        self.embed = nn.Linear(8, d_model)
        self.norm = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, x):
        b = x.shape[0]
        h = self.embed(x.reshape(b, 8, 8))                     # 8 tokens of 8 features
        q, k, v = self.qkv(self.norm(h)).chunk(3, dim=-1)
        split = [t.reshape(b, 8, self.heads, -1).transpose(1, 2) for t in (q, k, v)]
        a = F.scaled_dot_product_attention(*split, is_causal=self.causal)
        h = h + self.proj(a.transpose(1, 2).reshape(b, 8, -1))
        return self.head(h.mean(1))


BUILDERS = {
    "mlp": lambda: models.MLP(64, 10, hidden=32),
    "cnn": lambda: models.CNN((1, 8, 8), 10, width=8, hidden=32),
    "lstm": lambda: models.RowLSTM((1, 8, 8), 10, hidden=16),
    "transformer": lambda: models.PatchTransformer((1, 8, 8), 10, d_model=64, nhead=2,
                                                   num_layers=1, dim_feedforward=32),
    "sdpa": lambda: SDPABlock(),
}
# which kernel each model must reach on "cuda" with float32 inputs
KERNELS = {"cnn": ("conv2d_forward", "conv2d_backward_data", "conv2d_backward_weight"),
           "transformer": ("attention_forward", "attention_backward"),
           "sdpa": ("attention_forward", "attention_backward")}


def _batch(n=16):
    rng = np.random.default_rng(1)
    return (rng.standard_normal((n, 1, 8, 8)).astype(np.float32),
            rng.integers(0, 10, n).astype(np.int64))


def _step(model, x, y, opt):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_training_step_on_cuda_matches_cpu_without_syncs(name):
    tl.manual_seed(0)
    cpu_model = BUILDERS[name]()
    cuda_model = copy.deepcopy(cpu_model).to("cuda")
    x_np, y_np = _batch()
    # SGD: the step is linear in the gradient, so a near-zero gradient (the attention key bias
    # has none in exact arithmetic) compares by its size, not by its rounding noise's sign
    cpu_opt = tl.optim.SGD(cpu_model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    cuda_opt = tl.optim.SGD(cuda_model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    loss_cpu = _step(cpu_model, tl.tensor(x_np), tl.tensor(y_np), cpu_opt)

    x, y = tl.tensor(x_np, device="cuda"), tl.tensor(y_np, device="cuda")
    tl.cuda.synchronize()
    reset_kernel_stats()
    with _transfers() as moved:
        loss_cuda = _step(cuda_model, x, y, cuda_opt)
    if moved is not None:
        assert moved["d2h_implicit"] == 0 and moved["d2h_explicit"] == 0, \
            f"{name}: a training step on cuda waited for the GPU: {dict(moved.where)}"
        assert moved["h2d"] == 0, f"{name}: a step copied host data to the GPU: {dict(moved.where)}"
    stats = kernel_stats()

    # float32 tolerance: the step runs TF32 tensor cores on a real GPU by default
    tol = 2e-3 if not FAKE else 1e-4
    np.testing.assert_allclose(loss_cuda.item(), loss_cpu.item(), rtol=tol, atol=tol)
    for (pname, pc), pg in zip(cpu_model.named_parameters(), cuda_model.parameters()):
        assert pg.device == "cuda", f"{name}: {pname} left the GPU"
        np.testing.assert_allclose(pg.detach().numpy(), pc.detach().numpy(), rtol=tol,
                                   atol=tol, err_msg=f"{name}: {pname} after one step")
        np.testing.assert_allclose(pg.grad.numpy(), pc.grad.numpy(), rtol=10 * tol,
                                   atol=10 * tol, err_msg=f"{name}: {pname}.grad")
    for kernel in KERNELS.get(name, ()):
        assert stats.get(kernel, {}).get("kernel", 0) >= 1, \
            f"{name}: float32 input never reached the {kernel} kernel: {stats}"


def test_kernel_stats_count_each_attention_call_once():
    q, k, v = (tl.randn(1, 2, 16, 32, device="cuda", requires_grad=True) for _ in range(3))
    reset_kernel_stats()
    F.scaled_dot_product_attention(q, k, v).sum().backward()
    stats = kernel_stats()
    assert stats["attention_forward"] == {"kernel": 1, "fallback": 0}
    assert stats["attention_backward"] == {"kernel": 1, "fallback": 0}


def test_index_out_of_range_on_cuda_is_reported_at_the_next_sync():
    x = tl.randn(3, 4, device="cuda")
    bad = tl.tensor([[0, 7]], device="cuda")
    out = x.gather(1, bad)          # no stall here: the check runs on the device
    with pytest.raises(IndexError, match="gather: index out of range for dimension 1"):
        out.sum().item()
    assert x.gather(1, tl.tensor([[1, 3]], device="cuda")).sum().item() == pytest.approx(
        float(x[0, 1].item() + x[0, 3].item()))


def test_cross_entropy_bad_target_on_cuda_is_reported_at_the_next_sync():
    logits = tl.randn(4, 3, device="cuda")
    loss = F.cross_entropy(logits, tl.tensor([0, 1, 5, 2], device="cuda"))
    with pytest.raises(IndexError, match="cross_entropy"):
        loss.item()


@pytest.mark.parametrize("opt_name", ["Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam"])
def test_optimizer_steps_on_cuda_match_cpu_without_syncs(opt_name):
    tl.manual_seed(0)
    cpu_model = BUILDERS["mlp"]()
    cuda_model = copy.deepcopy(cpu_model).to("cuda")
    x_np, y_np = _batch()
    make = getattr(tl.optim, opt_name)
    cpu_opt, cuda_opt = make(cpu_model.parameters(), lr=1e-3), make(cuda_model.parameters(),
                                                                    lr=1e-3)
    x, y = tl.tensor(x_np, device="cuda"), tl.tensor(y_np, device="cuda")
    for _ in range(3):
        _step(cpu_model, tl.tensor(x_np), tl.tensor(y_np), cpu_opt)
        with _transfers() as moved:
            _step(cuda_model, x, y, cuda_opt)
        assert not moved, f"{opt_name}: a step moved data: {dict(moved.where)}"
    for (pname, pc), pg in zip(cpu_model.named_parameters(), cuda_model.parameters()):
        np.testing.assert_allclose(pg.detach().numpy(), pc.detach().numpy(), rtol=1e-3,
                                   atol=1e-4, err_msg=f"{opt_name}: {pname} after 3 steps")
    state = cuda_opt.state_dict()
    fresh = make(copy.deepcopy(cuda_model).parameters(), lr=1e-3)
    fresh.load_state_dict(state)
    for st in fresh.state.values():
        for key, val in st.items():
            if isinstance(val, tl.Tensor) and val.ndim:
                assert val.device == "cuda", f"{opt_name}: loaded state {key} is on {val.device}"


@pytest.mark.parametrize("with_zero", [False, True])
def test_prod_and_cumprod_backward_on_cuda_without_syncs(with_zero):
    a = np.random.default_rng(2).uniform(0.5, 1.5, (3, 5))
    if with_zero:
        a[1, 2] = 0.0
    xc, xg = tl.tensor(a, requires_grad=True), tl.tensor(a, device="cuda", requires_grad=True)
    g = np.random.default_rng(3).standard_normal((3, 5))
    for x, dev in ((xc, "cpu"), (xg, "cuda")):
        gt = tl.tensor(g, device=dev)
        with _transfers() if dev == "cuda" else contextlib.nullcontext() as moved:
            ((x.prod(1, keepdim=True) * gt).sum() + (x.cumprod(1) * gt).sum()).backward()
        if moved is not None:
            # (the Python numbers inside the backward formulas still travel host-to-device)
            assert not moved["d2h_implicit"] + moved["d2h_explicit"], dict(moved.where)
    np.testing.assert_allclose(xg.grad.numpy(), xc.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_embedding_index_out_of_range_on_cuda_is_reported_at_the_next_sync():
    emb = nn.Embedding(5, 3).to("cuda")
    out = emb(tl.tensor([[1, 9]], device="cuda"))
    with pytest.raises(IndexError, match="embedding: index out of range"):
        out.sum().item()
