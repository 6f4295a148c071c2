"""torch's own OpInfo database as the parity spec.

`op_db` (torch.testing._internal.common_methods_invocations) holds about 700 entries written by
PyTorch's developers, each with `sample_inputs` and harder `reference_inputs` (NaN, inf, empty
and 0-d tensors, non-default keywords). For every entry we have a counterpart of, up to
SAMPLES inputs of each kind run through ours and torch's in float64 on the CPU: forward values,
shapes and dtypes, then, where torch differentiates the op, the gradient of <out, g> for a
random g. Entries we have no counterpart of are listed, not failed (`PYTHONPATH=. python
tests/test_opinfo.py` prints them with the counts). KNOWN_FAILING names each entry that fails
today with its reason; a listed entry that starts passing fails too, so the table stays true.
"""
from __future__ import annotations

import dis
import os
import itertools
import sys
import types
import unittest

import numpy as np
import pytest

import tinygrad_lite as tl

torch = pytest.importorskip("torch", reason="torch is needed for the OpInfo parity tests "
                                           "(pip install -e '.[test]')")
try:
    import expecttest  # noqa: F401  (torch's test utilities import it for their TestCase)
except ImportError:     # only its TestCase base class is needed to load op_db
    sys.modules["expecttest"] = types.SimpleNamespace(TestCase=unittest.TestCase)
from torch.testing._internal.common_methods_invocations import op_db  # noqa: E402

# of sample_inputs, and again of the reference inputs past them (OPINFO_SAMPLES=1000 runs all)
SAMPLES = int(os.environ.get("OPINFO_SAMPLES", "4"))
RTOL, ATOL = 1e-7, 1e-7

# Entries whose outputs are random draws (or depend on memory layout): shapes and dtypes are
# compared, values are not.
RANDOM = {"bernoulli", "cauchy", "exponential", "geometric", "log_normal", "multinomial",
          "normal", "normal.in_place", "normal.number_mean", "uniform", "rand_like",
          "randn_like", "randint_like", "randn", "randint", "empty", "empty_like",
          "new_empty", "empty_strided", "new_empty_strided", "empty_permuted",
          "nn.functional.dropout", "nn.functional.dropout2d", "nn.functional.dropout3d",
          "nn.functional.alpha_dropout", "nn.functional.feature_alpha_dropout.with_train",
          "nn.functional.rrelu", "nn.functional.fractional_max_pool2d",
          "nn.functional.fractional_max_pool3d", "svd_lowrank", "pca_lowrank", "torch.empty"}

# Entries whose outputs are defined up to signs (eigenvectors, singular vectors): their values are
# compared through op_db's output_process_fn_grad, which takes the signs out.
GAUGE = {"linalg.eigh", "linalg.eig", "linalg.svd", "svd", "linalg.qr", "qr"}

# Entries that fail today, each with the reason. Every one of them must still fail.
KNOWN_FAILING: dict[str, str] = {
    # wrong results or gradients
    # crashes on valid input
    "nn.functional.batch_norm": "1-d zero-size input",
    "tensordot": "a contracted dim of size 1 against a larger one (torch sums the other)",
    # keywords and options torch takes
    "clone": "memory_format=",
    "contiguous": "memory_format=",
    "bfloat16": "memory_format=",
    "bool": "memory_format=",
    "byte": "memory_format=",
    "char": "memory_format=",
    "double": "memory_format=",
    "float": "memory_format=",
    "half": "memory_format=",
    "int": "memory_format=",
    "long": "memory_format=",
    "short": "memory_format=",
    "normal.number_mean": "layout= (and the other factory keywords)",
    "resize_": "Tensor.resize_ is missing",
    "nn.functional.interpolate.bilinear": "antialias=True is not implemented",
    "nn.functional.interpolate.bicubic": "antialias=True is not implemented",
    "nn.functional.multi_head_attention_forward": "bias_k/bias_v and add_zero_attn",
}


def _key(info) -> str:
    return f"{info.name}.{info.variant_test_name}" if info.variant_test_name else info.name


def _lookup(path: str):
    obj = tl
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _from_lambda(fn):
    """op_db's lambdas (and gradcheck wrappers) call `torch.X` and tensor methods: the same
    code with `torch` bound to this package runs ours."""
    if not isinstance(fn, types.FunctionType):
        return fn
    g = dict(fn.__globals__)
    g["torch"] = tl
    out = types.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__)
    out.__kwdefaults__ = fn.__kwdefaults__
    return out


def _reached(code):
    """The `torch.a.b` paths and the methods on local names that a lambda's code reaches for
    (nested lambdas included)."""
    paths, methods, chain, prev = [], [], None, None
    for ins in dis.get_instructions(code):
        if ins.opname == "LOAD_GLOBAL" and ins.argval == "torch":
            chain = []
        elif ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and chain is not None:
            chain.append(ins.argval)
        else:
            if ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and prev == "LOAD_FAST":
                methods.append(ins.argval)
            if chain:
                paths.append(".".join(chain))
            chain = None
        prev = ins.opname
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            more_paths, more_methods = _reached(const)
            paths += more_paths
            methods += more_methods
    return paths, methods


def resolve(info):
    """Our callable for an op_db entry, or None when we have no counterpart."""
    op = info.op
    if isinstance(op, types.FunctionType) and op.__name__ == "<lambda>":
        paths, methods = _reached(op.__code__)
        if all(_lookup(p) is not None for p in paths) and \
                all(hasattr(tl.Tensor, m) for m in methods):
            return _from_lambda(op)
        return None
    if type(op).__name__ in ("method_descriptor", "wrapper_descriptor") or \
            getattr(op, "__qualname__", "").startswith("Tensor."):
        name = op.__name__
        if not hasattr(tl.Tensor, name):
            return None
        return lambda x, *args, **kwargs: getattr(x, name)(*args, **kwargs)
    return _lookup(info.name)


# -- torch values to ours and back ------------------------------------------------------------
def to_ours(value, memo):
    if isinstance(value, torch.Tensor):
        if id(value) not in memo:
            t = tl.tensor(value.detach().cpu().numpy().copy())
            if value.requires_grad:
                t.requires_grad_(True)
            memo[id(value)] = t
        return memo[id(value)]
    if isinstance(value, torch.dtype):
        return getattr(tl, str(value).replace("torch.", ""), value)
    if isinstance(value, torch.memory_format):
        return getattr(tl, str(value).replace("torch.", ""), value)
    if isinstance(value, torch.device):
        return value.type
    if isinstance(value, torch.nn.Module):     # e.g. distance_function=PairwiseDistance()
        ours = getattr(tl.nn, type(value).__name__)()
        ours.__dict__.update({k: v for k, v in vars(value).items()
                              if isinstance(v, (bool, int, float, str))})
        return ours
    if isinstance(value, torch.Size):
        return tuple(value)
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(to_ours(v, memo) for v in value)
    if isinstance(value, dict):
        return {k: to_ours(v, memo) for k, v in value.items()}
    return value


def _tensors(value):
    """The tensors inside a (nested) output or argument list, in order."""
    if isinstance(value, (torch.Tensor, tl.Tensor)):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


def compare(ours, theirs, where="output"):
    """None when ours matches theirs (values, shapes, dtypes), else what differs."""
    if isinstance(theirs, torch.Tensor):
        if not isinstance(ours, tl.Tensor):
            return f"{where}: {type(ours).__name__} where torch gives a tensor"
        want = str(theirs.dtype).replace("torch.", "")
        if str(ours.dtype) != want:
            return f"{where}: dtype {ours.dtype}, torch {want}"
        if tuple(ours.shape) != tuple(theirs.shape):
            return f"{where}: shape {tuple(ours.shape)}, torch {tuple(theirs.shape)}"
        if want == "bfloat16":      # NumPy has no bfloat16 of torch's: compare the float32 values
            ours, theirs = ours.float(), theirs.float()
        a = np.asarray(ours.detach().numpy())
        b = theirs.detach().cpu().resolve_conj().numpy()
        if a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer):
            return None if np.array_equal(a, b) else f"{where}: values differ"
        if not np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True):
            bad = ~np.isclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True)
            return (f"{where}: {int(bad.sum())} of {a.size} values differ, e.g. "
                    f"{a[bad].ravel()[:3]} vs torch {b[bad].ravel()[:3]}")
        return None
    if isinstance(theirs, (list, tuple)):
        if not isinstance(ours, (list, tuple)) or len(ours) != len(theirs):
            return f"{where}: {type(ours).__name__} where torch gives {len(theirs)} items"
        for i, (o, t) in enumerate(zip(ours, theirs)):
            msg = compare(o, t, f"{where}[{i}]")
            if msg:
                return msg
        return None
    if isinstance(theirs, (bool, int, float)):
        if isinstance(ours, tl.Tensor) or not isinstance(ours, (bool, int, float, np.generic)):
            return f"{where}: {type(ours).__name__} where torch gives {type(theirs).__name__}"
        if not np.isclose(ours, theirs, rtol=RTOL, atol=ATOL, equal_nan=True):
            return f"{where}: {ours} vs torch {theirs}"
        return None
    return None


def dtype_of(info):
    """float64 where the entry takes it, else its widest integer or bool."""
    have = info.supported_dtypes("cpu")
    return next((d for d in (torch.float64, torch.int64, torch.int32, torch.bool) if d in have),
                None)


def samples_of(info):
    """Up to SAMPLES sample inputs, then up to SAMPLES reference inputs past them."""
    dtype = dtype_of(info)
    if dtype is None:
        return []
    grad = info.supports_autograd and dtype.is_floating_point
    torch.manual_seed(0)
    first = list(itertools.islice(info.sample_inputs("cpu", dtype, requires_grad=grad), SAMPLES))
    if info.reference_inputs_func is None:
        return first
    torch.manual_seed(0)
    try:
        refs = list(itertools.islice(info.reference_inputs("cpu", dtype, requires_grad=grad),
                                     16 * SAMPLES))
    except ValueError:     # some make integer tensors too, which cannot require grad
        torch.manual_seed(0)
        refs = list(itertools.islice(info.reference_inputs("cpu", dtype), 16 * SAMPLES))
    # reference_inputs begin with the sample inputs: the harder cases come last
    return [_fresh(s) for s in first + refs[len(first):][-SAMPLES:]]


def _fresh(sample):
    """The sample with each tensor a contiguous leaf of its own (op_db makes some of them as
    views whose autograd edge goes nowhere): strides are not what is tested here."""
    memo = {}

    def leaf(value):
        if isinstance(value, torch.Tensor):
            if id(value) not in memo:
                memo[id(value)] = value.detach().clone().requires_grad_(value.requires_grad)
            return memo[id(value)]
        if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
            return type(value)(leaf(v) for v in value)
        if isinstance(value, dict):
            return {k: leaf(v) for k, v in value.items()}
        return value
    return types.SimpleNamespace(input=leaf(sample.input), args=leaf(sample.args),
                                 kwargs=leaf(sample.kwargs),
                                 output_process_fn_grad=sample.output_process_fn_grad)


def check_sample(info, fn, sample, key):
    """None when ours matches torch on this sample, else what differs."""
    try:
        theirs = info.op(sample.input, *sample.args, **sample.kwargs)
    except Exception:      # noqa: BLE001  (torch refuses it: not a spec of anything)
        return None
    if any(t.is_complex() for t in _tensors([sample.input, sample.args, sample.kwargs, theirs])):
        return None        # complex numbers are not ours
    memo = {}
    try:
        ours = fn(to_ours(sample.input, memo), *to_ours(sample.args, memo),
                  **to_ours(sample.kwargs, memo))
    except Exception as err:  # noqa: BLE001
        return f"forward raised {type(err).__name__}: {str(err)[:200]}"
    if key in RANDOM or sample.kwargs.get("dropout_p", 0) > 0:
        theirs_t, ours_t = _tensors(theirs), _tensors(ours)
        if [tuple(t.shape) for t in theirs_t] != [tuple(t.shape) for t in ours_t]:
            return "shapes differ"
        return None
    if key in GAUGE:        # compared as op_db's own tests do: with the signs taken out
        ours, theirs = _from_lambda(sample.output_process_fn_grad)(ours), \
            sample.output_process_fn_grad(theirs)
    msg = compare(ours, theirs)
    if msg or not info.supports_autograd:
        return msg
    return check_grad(info, fn, sample)


def check_grad(info, fn, sample):
    """The gradient of <out, g> for a random g, through op_db's gradcheck wrapper."""
    memo = {}
    args_t = [sample.input, *sample.args]
    inputs_t = [t for t in _tensors([args_t, sample.kwargs])
                if t.requires_grad and t.is_floating_point()]
    if not inputs_t:
        return None
    args = to_ours(args_t, memo)
    kwargs = to_ours(sample.kwargs, memo)
    inputs = [memo[id(t)] for t in inputs_t]
    wrap, process = info.gradcheck_wrapper, sample.output_process_fn_grad
    out_t = process(wrap(info.op, *args_t, **sample.kwargs))
    try:
        out = _from_lambda(process)(_from_lambda(wrap)(fn, *args, **kwargs))
    except Exception as err:  # noqa: BLE001
        return f"forward for the gradient raised {type(err).__name__}: {str(err)[:200]}"
    outs_t, outs = _tensors(out_t), _tensors(out)
    if len(outs_t) != len(outs):
        return f"gradient: {len(outs)} output tensors, torch {len(outs_t)}"
    rng = np.random.default_rng(0)
    total_t, total = 0.0, 0.0
    for o_t, o in zip(outs_t, outs):
        if not (o_t.requires_grad and o_t.is_floating_point()):
            continue
        if not o.requires_grad:
            return "output does not require grad where torch's does"
        g = rng.standard_normal(tuple(o_t.shape))
        total_t = total_t + (o_t * torch.from_numpy(g)).sum()
        total = total + (o * tl.tensor(g)).sum()
    if not isinstance(total_t, torch.Tensor):
        return None
    grads_t = torch.autograd.grad(total_t, inputs_t, allow_unused=True)
    try:
        grads = tl.autograd.grad(total, inputs, allow_unused=True)
    except Exception as err:  # noqa: BLE001
        return f"backward raised {type(err).__name__}: {str(err)[:200]}"
    for i, (g, g_t) in enumerate(zip(grads, grads_t)):
        if g_t is None:
            if g is not None and np.any(np.asarray(g.numpy()) != 0):
                return f"gradient of input {i}: nonzero where torch gives none"
            continue
        if g is None:
            g = tl.zeros(g_t.shape, dtype=tl.float64)
        msg = compare(g, g_t, f"gradient of input {i}")
        if msg:
            return msg
    return None


def run_entry(info, fn, key):
    """The failures of one entry over its samples: a list of messages (empty when it passes)."""
    failures = []
    for n, sample in enumerate(samples_of(info)):
        msg = check_sample(info, fn, sample, key)
        if msg:
            failures.append(f"sample {n}: {msg}")
    return failures


def _entries():
    have, lack = [], []
    for info in op_db:
        fn = resolve(info)
        (have if fn is not None else lack).append((_key(info), info, fn))
    return have, lack


HAVE, LACK = _entries()
# op_db's samples are CPU tensors and this is a spec of values: it runs once, in the "cpu" half
# (the "cuda" half runs each op's own tests on the device)
try:
    from conftest import DEVICES as _DEVICES      # the session's devices (tests/conftest.py)
except ImportError:                               # run as a script: the report only
    _DEVICES = ["cpu"]
_ON_CPU = "cpu" in _DEVICES


# op_db's samples hold NaN, inf and values outside the domain on purpose; torch is silent there
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("key,info,fn", HAVE if _ON_CPU else [],
                         ids=[k for k, _, _ in HAVE] if _ON_CPU else [])
def test_opinfo(key, info, fn):
    failures = run_entry(info, fn, key)
    if key in KNOWN_FAILING:
        assert failures, f"{key} passes now: take it out of KNOWN_FAILING"
    else:
        assert not failures, "\n".join([key] + failures)


def test_known_failing_are_entries():
    names = {k for k, _, _ in HAVE}
    assert not set(KNOWN_FAILING) - names, set(KNOWN_FAILING) - names


def report():
    """How many op_db entries we have, how many pass every sample, and what fails."""
    passing, failing = [], {}
    for key, info, fn in HAVE:
        try:
            failures = run_entry(info, fn, key)
        except Exception as err:  # noqa: BLE001
            failures = [f"harness: {type(err).__name__}: {err}"]
        (failing.__setitem__(key, failures) if failures else passing.append(key))
    print(f"op_db entries: {len(op_db)}; we have {len(HAVE)}; pass every sample: {len(passing)};"
          f" fail: {len(failing)}; lack: {len(LACK)}")
    for key, failures in sorted(failing.items()):
        print(f"FAIL {key}: {failures[0]}")
    print("LACK " + " ".join(sorted(k for k, _, _ in LACK)))


if __name__ == "__main__":
    report()
