"""Edge cases held to torch: 0-d tensors with dim 0 / -1, empty tensors, and the result dtypes
of integer and bool inputs. Forward value, shape and dtype, and where differentiable the
gradient of <out, g> for a random g."""
import warnings

import numpy as np
import pytest
import torch

import tinygrad_lite as tl
from helpers import assert_close, check_vs_torch, make, to_numpy
from helpers import functional_of as _F
from helpers import lib_of as _lib
from helpers import same_in as _same

# torch warns about its own degrees of freedom for var/std over one or no element
pytestmark = pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning")


def _dtypes_match(ours, theirs):
    outs = ours if isinstance(ours, (tuple, list)) else (ours,)
    outs_t = theirs if isinstance(theirs, (tuple, list)) else (theirs,)
    for o, ot in zip(outs, outs_t):
        assert str(o.dtype) == str(ot.dtype).replace("torch.", ""), (o.dtype, ot.dtype)


# -- 0-d tensors: torch takes dim 0 and -1 ------------------------------------------------------
REDUCTIONS_0D = {
    "sum": lambda x, d, k: x.sum(d, keepdim=k),
    "nansum": lambda x, d, k: _lib(x).nansum(x, d, keepdim=k),
    "mean": lambda x, d, k: x.mean(d, keepdim=k),
    "nanmean": lambda x, d, k: x.nanmean(d, keepdim=k),
    "prod": lambda x, d, k: x.prod(d, keepdim=k),
    "amax": lambda x, d, k: x.amax(d, keepdim=k),
    "amin": lambda x, d, k: x.amin(d, keepdim=k),
    "max": lambda x, d, k: tuple(x.max(d, keepdim=k)),
    "min": lambda x, d, k: tuple(x.min(d, keepdim=k)),
    "argmax": lambda x, d, k: x.argmax(d, keepdim=k),
    "argmin": lambda x, d, k: x.argmin(d, keepdim=k),
    "any": lambda x, d, k: x.any(d, keepdim=k),
    "all": lambda x, d, k: x.all(d, keepdim=k),
    "logsumexp": lambda x, d, k: x.logsumexp(d, keepdim=k),
    "norm": lambda x, d, k: x.norm(dim=d, keepdim=k),
    "norm1": lambda x, d, k: x.norm(p=1, dim=d, keepdim=k),
    "var0": lambda x, d, k: x.var(d, keepdim=k, correction=0),
    "median": lambda x, d, k: tuple(x.median(d, keepdim=k)),
    "mode": lambda x, d, k: tuple(x.mode(d, keepdim=k)),
    "kthvalue": lambda x, d, k: tuple(x.kthvalue(1, d, keepdim=k)),
    "count_nonzero": lambda x, d, k: _lib(x).count_nonzero(x, d),
}

OPS_0D = {
    "flip": lambda x, d: x.flip(d),
    "topk": lambda x, d: tuple(x.topk(1, dim=d)),
    "topk_smallest": lambda x, d: tuple(x.topk(1, dim=d, largest=False)),
    "gather": lambda x, d: x.gather(d, _same(x, 0)),
    "index_select": lambda x, d: x.index_select(d, _same(x, [0])),
    "index_select_0d": lambda x, d: x.index_select(d, _same(x, 0)),
    "index_add": lambda x, d: x.index_add(d, _same(x, [0]), x * 2, alpha=3),
    "index_copy": lambda x, d: x.index_copy(d, _same(x, [0]), x * 2),
    "index_fill": lambda x, d: x.index_fill(d, _same(x, [0]), 3.0),
    "normalize": lambda x, d: _F(x).normalize(x, dim=d),
    "softmax": lambda x, d: x.softmax(d),
    "log_softmax": lambda x, d: x.log_softmax(d),
    "F.softmax": lambda x, d: _F(x).softmax(x, d),
    "F.log_softmax": lambda x, d: _F(x).log_softmax(x, d),
    "softmin": lambda x, d: _F(x).softmin(x, d),
    "scatter": lambda x, d: x.scatter(d, _same(x, 0), x * 3),
    "scatter_value": lambda x, d: x.scatter(d, _same(x, 0), 1.5),
    "scatter_add": lambda x, d: x.scatter_add(d, _same(x, 0), x * 3),
    "cumsum": lambda x, d: x.cumsum(d),
    "cumprod": lambda x, d: x.cumprod(d),
    "sort": lambda x, d: tuple(x.sort(d)),
    "argsort": lambda x, d: x.argsort(d),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS_0D))
@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_0d_reductions_take_dim_0_and_minus_1(device, name, dim, keepdim):
    fn = REDUCTIONS_0D[name]
    out = check_vs_torch(lambda x: fn(x, dim, keepdim), shapes=[()], device=device)
    _dtypes_match(out, fn(torch.tensor(0.5, dtype=torch.float64), dim, keepdim))


@pytest.mark.parametrize("name", sorted(OPS_0D))
@pytest.mark.parametrize("dim", [0, -1])
def test_0d_ops_take_dim_0_and_minus_1(device, name, dim):
    fn = OPS_0D[name]
    out = check_vs_torch(lambda x: fn(x, dim), shapes=[()], device=device)
    _dtypes_match(out, fn(torch.tensor(0.5, dtype=torch.float64), dim))


def test_0d_var_with_correction_is_nan_without_warning(device):
    x = make((), device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert np.isnan(to_numpy(x.var(0)))


@pytest.mark.parametrize("op", ["sum", "mean", "amax", "prod", "logsumexp", "flip", "softmax"])
def test_0d_dim_out_of_range_raises(device, op):
    x = make((), device=device)
    fn = {"flip": lambda: x.flip(1), "softmax": lambda: x.softmax(1),
          "logsumexp": lambda: x.logsumexp(1)}.get(op, lambda: getattr(x, op)(1))
    with pytest.raises(IndexError, match=op):
        fn()


def test_0d_index_ops_refuse_more_than_one_index(device):
    x = make((), device=device)
    with pytest.raises(ValueError, match="index_select"):
        x.index_select(0, tl.tensor([0, 0], device=device))
    with pytest.raises(ValueError, match="index_add"):
        x.index_add(0, tl.tensor([0, 0], device=device), make((2,), device=device))
    with pytest.raises(ValueError, match="topk"):
        x.topk(2)


def test_0d_index_fill_with_no_index_is_the_input(device):
    check_vs_torch(lambda x: x.index_fill(0, _same(x, np.zeros(0)), 2.0), shapes=[()],
                   device=device)


# -- empty tensors -----------------------------------------------------------------------------
EMPTY_DIM_OPS = {
    "max": lambda x, d, k: tuple(x.max(d, keepdim=k)),
    "min": lambda x, d, k: tuple(x.min(d, keepdim=k)),
    "amax": lambda x, d, k: x.amax(d, keepdim=k),
    "amin": lambda x, d, k: x.amin(d, keepdim=k),
    "argmax": lambda x, d, k: x.argmax(d, keepdim=k),
    "argmin": lambda x, d, k: x.argmin(d, keepdim=k),
    "median": lambda x, d, k: tuple(x.median(d, keepdim=k)),
    "logsumexp": lambda x, d, k: x.logsumexp(d, keepdim=k),
    "mean": lambda x, d, k: x.mean(d, keepdim=k),
    "nanmean": lambda x, d, k: x.nanmean(d, keepdim=k),
    "var": lambda x, d, k: x.var(d, keepdim=k),
    "std": lambda x, d, k: x.std(d, keepdim=k),
}


@pytest.mark.parametrize("name", sorted(EMPTY_DIM_OPS))
@pytest.mark.parametrize("dim", [1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_empty_rows_reduce_to_empty(device, name, dim, keepdim):
    fn = EMPTY_DIM_OPS[name]
    out = check_vs_torch(lambda x: fn(x, dim, keepdim), shapes=[(0, 3)], device=device)
    _dtypes_match(out, fn(torch.zeros(0, 3, dtype=torch.float64), dim, keepdim))


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin", "argmax", "argmin", "median"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_empty_dim_reduction_raises_index_error(device, name, keepdim):
    x = tl.zeros(0, 3, device=device)
    with pytest.raises(IndexError):
        EMPTY_DIM_OPS[name](torch.zeros(0, 3), 0, keepdim)
    with pytest.raises(IndexError, match=rf"{name}: expected reduction dim 0 to have non-zero"):
        EMPTY_DIM_OPS[name](x, 0, keepdim)


@pytest.mark.parametrize("name,kind", [("max", RuntimeError), ("amax", RuntimeError),
                                       ("min", RuntimeError), ("amin", RuntimeError),
                                       ("argmax", IndexError), ("argmin", IndexError)])
def test_empty_full_reduction_error_kind(device, name, kind):
    with pytest.raises(kind):
        getattr(torch.zeros(0, 3), name)()
    with pytest.raises(kind, match=rf"{name}: cannot reduce an empty tensor"):
        getattr(tl.zeros(0, 3, device=device), name)()


@pytest.mark.parametrize("name", ["mean", "nanmean", "median", "nanmedian", "var", "std", "sum",
                                  "prod", "norm", "logsumexp_0", "mean_0", "var_0"])
def test_empty_reductions_are_quiet_nan_like_torch(device, name):
    fn = {"logsumexp_0": lambda x: x.logsumexp(0), "mean_0": lambda x: x.mean(0),
          "var_0": lambda x: x.var(0)}.get(name, lambda x: getattr(x, name)())
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.filterwarnings("ignore", "var|std", UserWarning)   # torch's own dof warning
        # the gradient of <-inf, g> is not defined, so logsumexp is held to torch forward only
        x = make((0, 3), device=device, requires_grad=name != "logsumexp_0")
        check_vs_torch(fn, inputs=[x])


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 5)])
def test_batchnorm1d_on_an_empty_batch(device, training, shape):
    ours, theirs = tl.nn.BatchNorm1d(3).to(device), torch.nn.BatchNorm1d(3)
    ours.train(training)
    theirs.train(training)
    x = tl.zeros(*shape, device=device).requires_grad_(True)
    xt = torch.zeros(*shape, requires_grad=True)
    y, yt = ours(x), theirs(xt)
    assert y.shape == tuple(yt.shape)
    y.sum().backward()
    yt.sum().backward()
    assert x.grad.shape == tuple(xt.grad.shape)
    assert_close(ours.weight.grad, theirs.weight.grad, np.float32)
    assert_close(ours.bias.grad, theirs.bias.grad, np.float32)
    assert_close(ours.running_mean, theirs.running_mean, np.float32)
    assert_close(ours.running_var, theirs.running_var, np.float32)
    assert int(ours.num_batches_tracked.item()) == int(theirs.num_batches_tracked)


def test_batchnorm_still_refuses_one_value_per_channel(device):
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        tl.nn.BatchNorm1d(3).to(device)(tl.zeros(1, 3, device=device))


# -- integer and bool dtypes: torch's promotion table ----------------------------------------
DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
UNARY = ["abs", "neg", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "floor",
         "ceil", "round", "trunc", "sign", "reciprocal", "rsqrt", "square", "log2", "log10",
         "log1p", "expm1", "exp2", "erf", "erfc", "asin", "acos", "atan", "sinh", "cosh", "asinh",
         "acosh", "atanh", "tan", "frac", "logical_not", "bitwise_not", "isnan", "isinf",
         "isfinite", "signbit", "nan_to_num", "deg2rad", "rad2deg", "sinc", "logit", "clone"]
REDUCE = ["sum", "prod", "mean", "amax", "amin", "max", "min", "argmax", "argmin", "any", "all",
          "nansum", "nanmean", "cumsum", "cumprod", "std", "var", "norm", "logsumexp", "median",
          "count_nonzero", "softmax", "log_softmax"]
BINARY = ["add", "sub", "mul", "div", "true_divide", "floor_divide", "remainder", "fmod", "pow",
          "maximum", "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge", "logical_and",
          "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "hypot",
          "xlogy", "float_power", "__floordiv__", "__mod__", "__pow__", "__rpow__", "__rsub__",
          "__rtruediv__", "__rfloordiv__", "__and__", "__or__", "__xor__"]
SCALARS = {"int": 2, "float": 2.5, "bool": True}
_A, _B = np.array([0, 1, 2, 3]), np.array([1, 2, 1, 3])


def _typed(lib, values, dtype, device):
    a = values.astype(dtype)
    return tl.tensor(a, device=device) if lib is tl else torch.from_numpy(a)


def _outcome(lib, name, args):
    """(dtype name, values as float64) or ("raises", None)."""
    x = args[0]
    try:
        with warnings.catch_warnings():     # log(0), acosh(0): values, not what is checked
            warnings.simplefilter("ignore", RuntimeWarning)
            if name in ("cumsum", "cumprod", "logsumexp", "softmax", "log_softmax"):
                out = getattr(x, name)(0)
            elif hasattr(x, name):
                out = getattr(x, name)(*args[1:])
            else:
                out = getattr(lib, name)(*args)
    except Exception:
        return "raises", None
    out = out[0] if isinstance(out, tuple) else out
    return str(out.dtype).replace("torch.", ""), to_numpy(out).astype(np.float64)


def _check_like_torch(name, ours, theirs, what):
    if theirs[0] == "raises":
        return      # torch refuses; we may be more lenient
    assert ours[0] != "raises", f"{what}: raises here, torch gives {theirs[0]}"
    assert ours[0] == theirs[0], f"{what}: dtype {ours[0]}, torch {theirs[0]}"
    assert ours[1].shape == theirs[1].shape, f"{what}: shape {ours[1].shape} != {theirs[1].shape}"
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-2, atol=1e-2, equal_nan=True,
                               err_msg=what)


@pytest.mark.parametrize("name", UNARY + REDUCE)
def test_result_dtype_of_unary_ops_and_reductions(device, name):
    for dt in DTYPES:
        ours = _outcome(tl, name, [_typed(tl, _A, dt, device)])
        theirs = _outcome(torch, name, [_typed(torch, _A, dt, device)])
        _check_like_torch(name, ours, theirs, f"{name}({dt})")


@pytest.mark.parametrize("name", BINARY)
def test_result_dtype_of_binary_ops(device, name):
    for dt in DTYPES:
        for other in DTYPES + list(SCALARS):
            if name == "float_power" and other == "bool":
                continue        # a Python bool exponent: refused here (a number is asked for)
            if other in SCALARS:
                o = ot = SCALARS[other]
            else:
                o, ot = _typed(tl, _B, other, device), _typed(torch, _B, other, device)
            ours = _outcome(tl, name, [_typed(tl, _A, dt, device), o])
            theirs = _outcome(torch, name, [_typed(torch, _A, dt, device), ot])
            _check_like_torch(name, ours, theirs, f"{name}({dt}, {other})")


@pytest.mark.parametrize("expr,want", [
    (lambda b: b // 2, [0, 0, 0, 0]), (lambda b: b ** 2, [1, 0, 1, 0]),
    (lambda b: b.prod(), 0), (lambda b: b.sum(), 2), (lambda b: b * 3, [3, 0, 3, 0]),
    (lambda b: b == 2, [False] * 4), (lambda b: b & 3, [1, 0, 1, 0]),
])
def test_bool_with_python_ints_is_int64(device, expr, want):
    b = tl.tensor([True, False, True, False], device=device)
    out, ref = expr(b), expr(torch.tensor([True, False, True, False]))
    assert str(out.dtype) == str(ref.dtype).replace("torch.", "")
    np.testing.assert_array_equal(to_numpy(out), np.asarray(want))
    np.testing.assert_array_equal(to_numpy(out), ref.numpy())


# -- NaN / inf / signed zeros -----------------------------------------------------------------
def test_sign_of_nan_inf_and_zeros(device):
    v = np.array([np.nan, -0.0, 0.0, -1.0, 2.0, np.inf, -np.inf])
    check_vs_torch(lambda x: x.sign(), inputs=[tl.tensor(v, device=device).requires_grad_(True)])
