"""Autocast's state and casts: which op runs in which precision inside an autocast region.

torch decides per op, by name, with one list per device type; the lists below are torch's
(its docs' "autocast op reference", checked against torch 2.13 on the CPU). An op on one of
them casts its floating inputs before it runs:
  LOWER    float32 -> the region's dtype (float16 on cuda, bfloat16 on cpu by default)
  FP32     float16 / bfloat16 -> float32 (and an explicit dtype= argument opts out)
  PROMOTE  all to the widest floating input
  NORM     the normalisations torch runs in mixed precision (a float16 input with float32
           weights): computed in float32, returned in the input's dtype
  BANNED   raises (binary_cross_entropy on cuda, as torch)
float64 and integer inputs are never cast; an op not on its device's list runs in its inputs'
dtypes. The casts are ordinary differentiable ops, so float32 parameters get float32 gradients.

Where the cast happens: an op is a Function (MatMul, Conv2d, ...) or a torch-level function
composed of several. `Function.apply` asks the current region (`state.autocast`, None outside
any region, so the cost there is one attribute read) to cast by the Function's class name;
torch-level functions that are one op in torch but several here (addmm, the losses, conv with
its bias, checks that refuse mixed dtypes) carry `@autocast_op("name")`, which casts their
arguments and runs their body with autocast suspended, as torch's single kernel would (torch's
autocast wrappers exclude autocast while the op runs). The
backward walk suspends it as well: backward runs in the dtypes forward chose.

Casts of a leaf that requires grad (a parameter) to the region's dtype are cached until the
outermost region exits (torch's cache_enabled), so a weight used twice is cast once.
"""
from __future__ import annotations

import functools
import threading

import numpy as np

from .. import dtypes as D
from ..backend import device_of
from . import function as _function
from .grad_mode import state

LOWER, FP32, PROMOTE, NORM, BANNED = "lower", "fp32", "promote", "norm", "banned"

_LOSSES_FP32 = """binary_cross_entropy_with_logits cosine_embedding_loss cross_entropy
    hinge_embedding_loss kl_div l1_loss margin_ranking_loss mse_loss multilabel_margin_loss
    multi_margin_loss nll_loss poisson_nll_loss smooth_l1_loss soft_margin_loss
    triplet_margin_loss""".split()
_CONV = """conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d""".split()

_CPU = dict.fromkeys(_CONV + """bmm mm linalg_vecdot baddbmm addmm addbmm linear matmul einsum
    prelu scaled_dot_product_attention""".split(), LOWER)
_CPU.update(dict.fromkeys(_LOSSES_FP32 + """binary_cross_entropy huber_loss prod cdist trace
    quantile nanquantile inverse svdvals reflection_pad replication_pad""".split(), FP32))
# cosine_similarity: on no cpu list, but torch's kernel promotes mixed inputs itself
_CPU.update(dict.fromkeys("cat stack index_copy cosine_similarity".split(), PROMOTE))
_CPU.update(dict.fromkeys("batch_norm layer_norm group_norm".split(), NORM))

_CUDA = dict.fromkeys(_CONV + """matmul addbmm addmm addmv addr baddbmm bmm mm mv multi_dot
    linear prelu einsum scaled_dot_product_attention""".split(), LOWER)
_CUDA.update(dict.fromkeys(_LOSSES_FP32 + """pow acos asin cosh sinh tan exp expm1 log log10
    log1p log2 reciprocal rsqrt erfinv softplus cumprod cumsum prod sum norm dist renorm cdist
    pdist cosine_similarity normalize group_norm layer_norm softmax softmin log_softmax
    """.split(), FP32))
_CUDA.update(dict.fromkeys("""addcdiv addcmul atan2 bilinear cross dot grid_sample index_put
    scatter_add tensordot""".split(), PROMOTE))
_CUDA.update({"batch_norm": NORM, "binary_cross_entropy": BANNED})

LISTS = {"cpu": _CPU, "cuda": _CUDA}

# ops on no list that torch runs as one kernel (so nothing inside them autocasts) but that are
# composed here; an unlisted op outside this set is composite in torch too, and the ops it is
# made of autocast on their own (tensordot on the cpu: its matmul runs in the lower dtype)
NATIVE = frozenset("mv dot addmv addr bilinear".split())

# Functions (ops/) that are one torch op: the torch name whose policy they follow
FUNCTIONS = {
    "MatMul": "matmul", "Linear": "linear", "Einsum": "einsum", "Conv2d": "conv2d",
    "Conv2dData": "conv_transpose2d", "ScaledDotProductAttention": "scaled_dot_product_attention",
    "Prod": "prod", "Inverse": "inverse", "Svdvals": "svdvals", "CrossEntropy": "cross_entropy",
    "BinaryCrossEntropy": "binary_cross_entropy",
    "BCEWithLogits": "binary_cross_entropy_with_logits", "LayerNorm": "layer_norm",
    "Exp": "exp", "Expm1": "expm1", "Log": "log", "Log1p": "log1p", "Pow": "pow",
    "PowScalar": "pow", "Rsqrt": "rsqrt", "Acos": "acos", "Asin": "asin", "Cosh": "cosh",
    "Sinh": "sinh", "Tan": "tan", "Erfinv": "erfinv", "Softplus": "softplus", "Sum": "sum",
    "Cumsum": "cumsum", "Cumprod": "cumprod", "Softmax": "softmax", "LogSoftmax": "log_softmax",
    "Norm2": "norm",
}

DEFAULT_DTYPES = {"cuda": D.float16, "cpu": None}    # cpu's (bfloat16) is looked up when asked

_BANNED_MESSAGE = (
    "{op} is unsafe to autocast: torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss "
    "are unsafe to autocast. Many models use a sigmoid layer right before the binary cross "
    "entropy layer; in this case, combine the two layers using "
    "torch.nn.functional.binary_cross_entropy_with_logits or torch.nn.BCEWithLogitsLoss, which "
    "are safe to autocast.")


def default_dtype(device_type: str):
    dt = DEFAULT_DTYPES.get(device_type)
    if dt is None and device_type == "cpu":
        dt = getattr(D, "bfloat16", None)
    return dt


class _Local(threading.local):
    """Per thread: the settings (as torch's set_autocast_* keep them), the nesting depth and the
    cast cache. A new thread starts with autocast off on every device, as torch's do."""

    def __init__(self):
        self.enabled = {"cpu": False, "cuda": False}
        self.dtype = {"cpu": None, "cuda": None}
        self.cache_enabled = True
        self.depth = 0
        self.cache: dict = {}


local = _Local()


class Region:
    """What ops read while some device has autocast on: each enabled device's dtype and the
    casts that follow from it. Immutable; a new one is made whenever the settings change."""

    __slots__ = ("dtypes", "eligible", "cache")

    def __init__(self, dtypes: dict, cache):
        self.dtypes = dtypes            # {"cpu": dtype, ...}: enabled devices only
        lower = {D.float16, D.float32}
        bf16 = getattr(D, "bfloat16", None)
        if bf16 is not None:
            lower.add(bf16)
        self.eligible = frozenset(lower)     # float64 and integer inputs are never cast
        self.cache = cache              # None when cache_enabled is off

    # -- choosing the policy -----------------------------------------------------------
    def policy(self, name: str, tensors) -> tuple:
        """(policy, target dtype) for op `name` on the device of its first tensor."""
        if not tensors:
            return None, None
        data = tensors[0]._data
        device = "cpu" if type(data) is np.ndarray else str(device_of(data))
        dtype = self.dtypes.get(device)
        if dtype is None:
            return None, None
        return LISTS[device].get(name), dtype

    # -- casting -----------------------------------------------------------------------
    def cast(self, t, dtype):
        """t in dtype; a parameter's cast to the lower dtype is made once per region."""
        if t.dtype == dtype or t.dtype not in self.eligible:
            return t
        cache = self.cache
        if cache is not None and t.requires_grad and t.grad_fn is None \
                and t.dtype == D.float32:
            key = (id(t), dtype, state.grad_enabled)
            hit = cache.get(key)
            if hit is not None and hit[0] is t and hit[1] is t._data \
                    and hit[2] == t._version.v:
                return hit[3]
            out = t.to(dtype)
            cache[key] = (t, t._data, t._version.v, out)
            return out
        return t.to(dtype)

    def target(self, policy, dtype, tensors):
        """The dtype `policy` casts eligible inputs to (None: nothing to cast)."""
        if policy is LOWER:
            return dtype
        if policy is FP32 or policy is NORM:
            return D.float32
        if policy is PROMOTE:
            widest = None
            for t in tensors:
                if t.dtype in self.eligible:
                    widest = t.dtype if widest is None else D.promote(widest, t.dtype)
            return widest
        return None

    def cast_function_args(self, cls, args, params):
        """Function.apply's hook: args with the tensors cast per the Function's policy."""
        name = FUNCTIONS.get(cls.__name__)
        if name is None or params.get("dtype") is not None:
            return args
        T = _function.Tensor
        tensors = [a for a in args if isinstance(a, T)]
        policy, dtype = self.policy(name, tensors)
        if policy is None or policy is BANNED:
            return args
        to = self.target(policy, dtype, tensors)
        if to is None:
            return args
        return tuple(self.cast(a, to) if isinstance(a, T) else a for a in args)


def _tensors_in(args, kwargs) -> list:
    """The tensors among an op's arguments, lists and tuples of them included (cat, multi_dot)."""
    T = _function.Tensor
    out = []
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, T):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out.extend(x for x in a if isinstance(x, T))
    return out


def _cast_all(region, value, to):
    T = _function.Tensor
    if isinstance(value, T):
        return region.cast(value, to)
    if isinstance(value, (list, tuple)) and any(isinstance(x, T) for x in value):
        return type(value)(region.cast(x, to) if isinstance(x, T) else x for x in value)
    return value


class suspended:
    """Autocast off for the ops inside (the body of an op torch runs as one kernel, and the
    backward walk); restored on exit."""

    __slots__ = ("_prev",)

    def __enter__(self):
        self._prev = state.autocast
        state.autocast = None
        return self

    def __exit__(self, *exc):
        state.autocast = self._prev
        return False


def autocast_op(name: str):
    """Mark a torch-level function as torch's op `name`: inside an autocast region its tensor
    arguments are cast per that op's list entry for their device, and its body runs with
    autocast suspended. Outside any region the call goes straight through."""
    def wrap(fn):
        @functools.wraps(fn)
        def op(*args, **kwargs):
            region = state.autocast
            if region is None:
                return fn(*args, **kwargs)
            return _run(region, name, fn, args, kwargs)
        return op
    return wrap


def _run(region, name, fn, args, kwargs):
    tensors = _tensors_in(args, kwargs)
    policy, dtype = region.policy(name, tensors)
    if policy is BANNED:
        raise RuntimeError(_BANNED_MESSAGE.format(op=name))
    if policy is None and name not in NATIVE:
        return fn(*args, **kwargs)
    to = None
    if policy is not None and not (policy is FP32 and kwargs.get("dtype") is not None):
        to = region.target(policy, dtype, tensors)
    if to is not None:
        args = tuple(_cast_all(region, a, to) for a in args)
        kwargs = {k: _cast_all(region, v, to) for k, v in kwargs.items()}
    state.autocast = None
    try:
        out = fn(*args, **kwargs)
    finally:
        state.autocast = region
    if policy is NORM and to is not None and tensors[0].dtype != out.dtype \
            and tensors[0].dtype in region.eligible:
        out = out.to(tensors[0].dtype)      # torch's mixed-precision norms keep the input dtype
    return out


# -- the settings, as torch's set_autocast_* functions keep them --------------------------------
def refresh() -> None:
    """Rebuild the region ops read from the current thread's settings."""
    dtypes = {d: local.dtype[d] or default_dtype(d) for d, on in local.enabled.items() if on}
    dtypes = {d: dt for d, dt in dtypes.items() if dt is not None}
    state.autocast = Region(dtypes, local.cache if local.cache_enabled else None) \
        if dtypes else None


def clear_cache() -> None:
    local.cache.clear()
