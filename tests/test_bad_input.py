"""Bad input raises at the public boundary with a message naming the op and the shapes."""
import pytest

import tinygrad_lite as tl
from tinygrad_lite.functions.indexing import pad

CASES = [
    (lambda: tl.zeros(3, 4) @ tl.zeros(5, 2), ValueError,
     r"matmul: shapes \(3, 4\) and \(5, 2\) do not line up \(4 != 5\)"),
    (lambda: tl.zeros(3) @ tl.tensor(2.0), ValueError, r"matmul: .*at least 1 dimension"),
    (lambda: tl.zeros(2, 2, 3) @ tl.zeros(3, 3, 2), ValueError, r"matmul: batch dimensions"),
    (lambda: tl.zeros(3, 4) + tl.zeros(5, 2), ValueError,
     r"add: shapes \(3, 4\) and \(5, 2\) do not broadcast"),
    (lambda: tl.zeros(3) * tl.zeros(2), ValueError, r"mul: shapes \(3,\) and \(2,\)"),
    (lambda: tl.zeros(3) * "a", TypeError, r"mul: unsupported operand of type str"),
    (lambda: tl.where(tl.zeros(3, dtype=tl.bool), tl.zeros(3, 4), tl.zeros(2)), ValueError,
     r"where: shapes of condition \(3,\), input \(3, 4\) and other \(2,\)"),
    (lambda: tl.cat([tl.zeros(3, 4), tl.zeros(5, 2)]), ValueError,
     r"cat: sizes of tensors must match except in dimension 0, got \[\(3, 4\), \(5, 2\)\]"),
    (lambda: tl.cat([]), ValueError, "cat: expected a non-empty"),
    (lambda: tl.stack([tl.zeros(2), tl.zeros(3)]), ValueError, r"stack: .*\(2,\), \(3,\)"),
    (lambda: tl.zeros(3, 4).reshape(5), ValueError,
     r"reshape: shape \(5,\) is invalid for input of size 12 \(shape \(3, 4\)\)"),
    (lambda: tl.zeros(3, 4).view(-1, -1), ValueError, r"reshape: invalid shape \(-1, -1\)"),
    (lambda: tl.zeros(3, 4).sum(2), IndexError, r"sum: dimension out of range .*got 2"),
    (lambda: tl.zeros(3, 4).mean(-3), IndexError, r"mean: dimension out of range"),
    (lambda: tl.zeros(3).softmax(1), IndexError, r"softmax: dimension out of range"),
    (lambda: tl.zeros(3, dtype=tl.int64).mean(), RuntimeError, r"mean: input dtype .*int64"),
    (lambda: tl.zeros(3, 4)[5], IndexError, r"getitem: index 5 does not fit shape \(3, 4\)"),
    (lambda: tl.zeros(3)[tl.tensor([0.5])], IndexError, r"getitem: .*long or bool"),
    (lambda: tl.zeros(3, 4).gather(1, tl.tensor([[5]])), IndexError,
     r"gather: index out of range for dimension 1 of size 4"),
    (lambda: tl.zeros(3, 4).gather(1, tl.tensor([1])), ValueError,
     r"gather: index \(1,\) and input \(3, 4\)"),
    (lambda: tl.zeros(3, 4).gather(1, tl.tensor([[0.5]])), TypeError, r"gather: index must be"),
    (lambda: tl.zeros(3, 4).index_select(0, tl.tensor([[0]])), TypeError,
     r"index_select: index must be a 1-D integer tensor, got shape \(1, 1\)"),
    (lambda: tl.zeros(2, 3).scatter_add(1, tl.tensor([[0, 1]]), tl.zeros(1, 1)), ValueError,
     r"scatter_add: src \(1, 1\) must be at least as large as index \(1, 2\)"),
    (lambda: tl.zeros(3).masked_fill(tl.zeros(3), 1.0), TypeError,
     r"masked_fill: mask must be a bool tensor, got dtype float32"),
    (lambda: tl.zeros(2, 3).permute(0), ValueError, r"permute: got 1 dims .*\(2, 3\)"),
    (lambda: tl.zeros(2, 3).permute(0, 0), ValueError, r"permute: repeated dim"),
    (lambda: tl.zeros(2, 3).expand(4, 3), ValueError,
     r"expand: the expanded size 4 must match the existing size 2"),
    (lambda: tl.zeros(2, 3).repeat(2), ValueError, r"repeat: number of repeat dims"),
    (lambda: tl.zeros(2, 3).split([1, 1], 1), ValueError,
     r"split: sections \[1, 1\] do not sum to dimension 1's size 3"),
    (lambda: tl.zeros(2, 3).unflatten(1, (2, 2)), ValueError, r"unflatten: sizes \(2, 2\)"),
    (lambda: tl.zeros(2, 3).flatten(1, 0), ValueError, r"flatten: start_dim 1 comes after"),
    (lambda: tl.zeros(2, 2, 2).t(), ValueError, r"t: expects a tensor with <= 2 dimensions"),
    (lambda: tl.zeros(3).tril(), ValueError, r"tril: input must have at least 2 dimensions"),
    (lambda: tl.zeros(2).roll((1, 2), (0,)), ValueError, r"roll: shifts \(1, 2\) and dims"),
    (lambda: pad(tl.zeros(2, 3), (1, 2, 3)), ValueError, r"pad: padding \(1, 2, 3\)"),
    (lambda: pad(tl.zeros(2, 3), (3, 3), "reflect"), ValueError,
     r"pad: reflect padding \(3, 3\) must be smaller than the input size 3"),
    (lambda: pad(tl.zeros(2, 3), (1, 1), "wrap"), ValueError, r"pad: mode must be"),
    (lambda: tl.zeros(3).norm(p="max"), ValueError, r"norm: unsupported p='max'"),
    (lambda: tl.zeros(3).clamp(), ValueError, r"clamp: at least one of min and max"),
    (lambda: tl.zeros(2, 2).item(), ValueError, r"item: only a tensor with one element .*\(2, 2\)"),
    (lambda: bool(tl.zeros(2)), RuntimeError, r"bool: the truth value .*\(2,\)"),
    (lambda: tl.zeros(2).to("tpu"), ValueError, r"device: unknown device 'tpu'"),
    (lambda: tl.zeros(2).to(dtype="float128"), TypeError, r"dtype: unknown dtype name"),
    (lambda: tl.tensor([[1.0], [1.0, 2.0]]), ValueError, r"tensor: cannot build a tensor"),
    (lambda: tl.tensor(["a"]), TypeError, r"tensor: cannot build a tensor from data of type"),
    (lambda: tl.zeros(-1), ValueError, r"negative dimension in size \(-1,\)"),
    (lambda: tl.arange(0, 5, 0), ValueError, r"arange: step must be nonzero"),
    (lambda: tl.randint(5, 2, (2,)), ValueError, r"randint: high \(2\) must be greater"),
    (lambda: tl.exp("a"), TypeError, r"exp: expected a Tensor, got str"),
    (lambda: tl.zeros(2).amax(), None, None),
    (lambda: tl.zeros(0).amax(), RuntimeError, r"amax: cannot reduce an empty tensor"),
    (lambda: tl.zeros(0).argmax(), IndexError, r"argmax: cannot reduce an empty tensor"),
    (lambda: tl.zeros(2).prod((0, 0)), TypeError, r"prod: takes a single dim"),
]


@pytest.mark.parametrize("i", range(len(CASES)))
def test_bad_input_message(i):
    fn, exc, pattern = CASES[i]
    if exc is None:
        fn()          # a control: the valid neighbour of the bad call works
        return
    with pytest.raises(exc, match=pattern):
        fn()


def test_backward_errors_name_the_problem():
    x = tl.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        tl.zeros(3).sum().backward()
    with pytest.raises(RuntimeError, match=r"gradient of shape \(2,\) does not match .*\(3,\)"):
        (x * 2).backward(tl.ones(2))
    with pytest.raises(RuntimeError, match=r"grad: input 0 \(shape \(3,\)\) does not require"):
        tl.autograd.grad((x * 2).sum(), tl.zeros(3))


def test_inplace_shape_and_dtype_errors():
    with pytest.raises(RuntimeError, match=r"in-place op: result of shape \(2, 3\) does not fit"):
        tl.zeros(3).add_(tl.zeros(2, 3))
    with pytest.raises(RuntimeError, match="result type float32 can't be cast to .*int64"):
        tl.zeros(3, dtype=tl.int64).mul_(1.5)
    with pytest.raises(ValueError, match=r"setitem: cannot assign value of shape \(3,\)"):
        x = tl.zeros(4, 2)
        x[0] = tl.zeros(3)


def test_gradcheck_rejects_float32():
    with pytest.raises(AssertionError, match="finite differences need float64"):
        tl.autograd.gradcheck(lambda t: t * 2, (tl.zeros(2, requires_grad=True),))


_X = tl.ones(2, 3)
# wrong types and shapes in the less common argument slots: each error names its op
NAMED_ERRORS = [
    (lambda: tl.sum(_X, "x"), TypeError, "sum: dim must be an int, got str 'x'"),
    (lambda: _X.softmax(1.5), TypeError, "softmax: dim must be an int, got float"),
    (lambda: tl.zeros("3"), TypeError, r"zeros: size must be ints"),
    (lambda: tl.randn(2, None), TypeError, r"randn: size must be ints"),
    (lambda: tl.ones(-1), ValueError, r"ones: negative dimension"),
    (lambda: tl.full((2,), "a"), TypeError, "full: fill value must be a number"),
    (lambda: tl.zeros_like("a"), TypeError, "zeros_like: expected a Tensor, got str"),
    (lambda: tl.arange("a"), TypeError, "arange: end must be a number"),
    (lambda: tl.randint(0, "a", (2,)), TypeError, "randint: high must be an int"),
    (lambda: tl.eye("a"), TypeError, "eye: size must be ints"),
    (lambda: _X.reshape("x"), TypeError, "shape: sizes must be ints"),
    (lambda: _X.permute(0, 1.0), TypeError, "permute: sizes must be ints"),
    (lambda: _X == tl.ones(4, 5), ValueError, r"eq: shapes \(2, 3\) and \(4, 5\) do not broadcast"),
    (lambda: _X < "a", TypeError, "lt: unsupported operand of type str"),
    (lambda: _X.maximum("a"), TypeError, "maximum: unsupported operand of type str"),
    (lambda: _X.clamp("a"), TypeError, "clamp: min must be a number or a Tensor"),
    (lambda: tl.cat(None), TypeError, "cat: expected a sequence of Tensors, got NoneType"),
    (lambda: tl.stack([_X, "a"]), TypeError, "stack: expected a sequence of Tensors"),
    (lambda: _X.equal("a"), TypeError, "equal: expected a Tensor, got str"),
    (lambda: _X.roll("x"), TypeError, "roll: shifts must be an int or a sequence of ints"),
    (lambda: _X.split("x"), TypeError, "split: split_size_or_sections must be an int"),
    (lambda: _X.chunk(0), ValueError, "chunk: chunks must be positive, got 0"),
    (lambda: _X.flip(1.5), TypeError, "flip: dims must be an int or a sequence of ints"),
    (lambda: _X.tril("x"), TypeError, "tril: diagonal must be an int"),
    (lambda: tl.ones(()).unbind(), IndexError, "unbind: a 0-d tensor has no dimension"),
    (lambda: _X.topk("x"), TypeError, "topk: k must be an int"),
    (lambda: _X.round("x"), TypeError, "round: decimals must be an int"),
    (lambda: tl.multinomial(_X, "x"), TypeError, "multinomial: num_samples must be an int"),
    (lambda: tl.nn.functional.pad(_X, 5), TypeError, "pad: padding must be a sequence of ints"),
    (lambda: tl.nn.functional.layer_norm(_X, 1.5), TypeError,
     "layer_norm: normalized_shape must be an int or a sequence of ints"),
    (lambda: tl.nn.functional.relu(_X, _X), TypeError, "relu: inplace must be a bool"),
    (lambda: tl.nn.functional.relu6(_X, _X), TypeError, "relu6: inplace must be a bool"),
    (lambda: tl.nn.functional.selu(_X, _X), TypeError, "selu: inplace must be a bool"),
    (lambda: tl.nn.functional.dropout(_X, 0.5, True, _X), TypeError,
     "dropout: inplace must be a bool"),
    (lambda: tl.nn.functional.elu(_X, "x"), TypeError, "elu: alpha must be a number, got str"),
    (lambda: tl.nn.functional.celu(_X, "x"), TypeError, "celu: alpha must be a number"),
    (lambda: tl.nn.functional.softplus(_X, "x"), TypeError, "softplus: beta must be a number"),
    (lambda: tl.nn.functional.hardtanh(_X, "x"), TypeError, "hardtanh: min_val must be a number"),
    (lambda: tl.nn.functional.threshold(_X, "x", 0.0), TypeError,
     "threshold: threshold must be a number"),
    (lambda: tl.nn.functional.gelu(_X, _X), TypeError, "gelu: approximate must be a string"),
    (lambda: tl.nn.functional.glu(_X, "x"), TypeError, "glu: dim must be an int, got str"),
    (lambda: tl.nn.functional.rms_norm(_X, 1.5), TypeError,
     "rms_norm: normalized_shape must be an int or a sequence of ints"),
    (lambda: tl.normal(_X, "x"), TypeError, "normal: std must be a Tensor or a number"),
    (lambda: tl.normal(_X, tl.ones(4, 5)), ValueError,
     r"normal: mean \(2, 3\) and std \(4, 5\) do not broadcast"),
    (lambda: tl.allclose(_X, "x"), TypeError, "allclose: unsupported operand of type str"),
    (lambda: tl.allclose(_X, tl.ones(4, 5)), ValueError,
     r"allclose: shapes \(2, 3\) and \(4, 5\) do not broadcast"),
    (lambda: tl.norm(_X, _X), TypeError, "norm: p must be a number or 'fro', got Tensor"),
    (lambda: tl.arange(0, 5, "x"), TypeError, "arange: step must be a number"),
    (lambda: tl.linspace(0, 1, "x"), TypeError, "linspace: steps must be a number"),
    (lambda: tl.randperm("x"), TypeError, "randperm: size must be ints"),
    (lambda: tl.eye(2, "x"), TypeError, "eye: size must be ints"),
    (lambda: tl.full_like(_X, "x"), TypeError, "full_like: fill value must be a number"),
    (lambda: tl.empty_like(5), TypeError, "empty_like: expected a Tensor, got int"),
    (lambda: tl.tile(_X, 5), TypeError, "tile: dims must be a tuple of ints, got int"),
    (lambda: tl.broadcast_to(_X, 5), TypeError, "broadcast_to: size must be a tuple of ints"),
    (lambda: tl.nonzero(_X, _X), TypeError, "nonzero: as_tuple must be a bool"),
    (lambda: tl.clamp(_X, tl.ones(4, 5)), ValueError,
     r"clamp: shapes \(2, 3\) and \(4, 5\) do not broadcast"),
    (lambda: tl.float_power(_X, tl.ones(4, 5)), ValueError, "float_power: shapes"),
    (lambda: tl.any(_X, "x"), TypeError, "any: dim must be an int, got str"),
    (lambda: tl.var_mean(_X, "x"), TypeError, "var_mean: dim must be an int, got str"),
    (lambda: tl.nanmean(_X, "x"), TypeError, "nanmean: dim must be an int, got str"),
]


@pytest.mark.parametrize("call,exc,words", NAMED_ERRORS, ids=[w.split(":")[0] + str(i) for i, (
    _, _, w) in enumerate(NAMED_ERRORS)])
def test_argument_errors_name_the_op(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


def test_zero_dim_sort_softmax_and_empty_glu_follow_torch():
    values, indices = tl.sort(tl.tensor(2.0))
    assert values.shape == () and values.item() == 2.0 and indices.item() == 0
    assert tl.nn.functional.softmax(tl.ones(())).item() == 1.0
    assert tl.nn.functional.glu(tl.ones(0)).shape == (0,)


def test_zero_dim_nonzero_and_where_follow_torch():
    assert [t.tolist() for t in tl.where(tl.tensor(2.0))] == [[0]]
    assert tl.tensor(2.0).nonzero().shape == (1, 0) and tl.tensor(0.0).nonzero().shape == (0, 0)
    assert tl.full((2,), tl.tensor(1.5)).tolist() == [1.5, 1.5]


def test_zero_dim_gather_and_scatter_add_follow_torch():
    x = tl.tensor(5.0, requires_grad=True)
    y = x.gather(0, tl.tensor(0))
    y.backward()
    assert y.shape == () and y.item() == 5.0 and x.grad.item() == 1.0
    assert tl.tensor(1.0).scatter_add(0, tl.tensor(0), tl.tensor(2.0)).item() == 3.0
    with pytest.raises(TypeError, match="gelu: approximate must be a string, got Tensor"):
        tl.nn.functional.gelu(tl.ones(2), approximate=tl.ones(1))
