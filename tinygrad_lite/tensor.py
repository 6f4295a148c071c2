"""Tensor: an array, its device, its gradient and a link to the op that made it.

Every differentiable method is one line that calls a Function in `tinygrad_lite/ops/`.
Non-differentiable methods (comparisons, argmax, ...) work on the arrays directly.
"""
from __future__ import annotations

import builtins
import operator
import weakref
from typing import Optional

import numpy as np

from . import backend
from . import dtypes as D
from ._checks import axes as _axes
from ._checks import check_int, check_number
from ._checks import dim_index as _dim
from ._checks import shape_arg as _shape_arg
from .autograd.function import SCALARS
from .autograd.function import like as _like
from .autograd.grad_mode import state
from .utils.hooks import RemovableHandle

_Scalar = SCALARS


class _Version:
    """In-place counter shared by a tensor and the records that saved it for backward."""

    __slots__ = ("v",)

    def __init__(self):
        self.v = 0


# dtype -> the type name torch's Tensor.type() gives
_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
               "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
               "uint8": "Byte", "bool": "Bool"}


class Size(tuple):
    """torch.Size: what Tensor.size() returns, a tuple with numel(). Tensor.shape stays a plain
    tuple, so no op pays to build one."""

    __slots__ = ()

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, i):
        out = tuple.__getitem__(self, i)
        return Size(out) if isinstance(i, slice) else out

    def __repr__(self) -> str:
        return f"tl.Size({list(self)})"


class Tensor:
    """A multi-dimensional array that records the ops applied to it when it requires grad."""

    # `_data` is the array (NumPy or CuPy) the ops work on; `data` is torch's view of it, a
    # detached Tensor on the same storage (see the property below)
    __slots__ = ("_data", "requires_grad", "grad", "grad_fn", "_ver", "_hooks", "__weakref__")
    __array_priority__ = 1000       # NumPy scalars on the left defer to our reflected operators
    __array_ufunc__ = None

    def __init__(self, data=(), *sizes, dtype=None, device=None, requires_grad: bool = False):
        # torch.Tensor(2, 3) is an uninitialised (here: zero) float tensor of that size, and
        # torch.Tensor([1, 2]) is float32 too; arrays and Tensors keep their dtype
        if isinstance(data, builtins.int) and not isinstance(data, builtins.bool):
            data = np.zeros((data,) + tuple(sizes), dtype=dtype or D.get_default_dtype())
        elif sizes:
            raise TypeError(f"Tensor: expected sizes as ints, got {data!r}, {sizes!r}")
        elif dtype is None and isinstance(data, (list, tuple, builtins.float)):
            dtype = D.get_default_dtype()
        t = _as_tensor(data, dtype, device)
        self._data = t._data
        self.grad = None
        self.grad_fn = None
        self._ver = None
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data, requires_grad, grad_fn, version):
        """Wrap an array without checks (the fast path every op output takes)."""
        t = object.__new__(cls)
        # NumPy reductions hand back scalars (which have a shape but take no in-place write);
        # the type test first keeps ndarrays on the fast path
        if type(data) is not np.ndarray and (isinstance(data, np.generic)
                                             or not hasattr(data, "shape")):
            data = np.asarray(data)
        t._data = data
        t.requires_grad = requires_grad
        t.grad = None
        t.grad_fn = grad_fn
        t._ver = version
        t._hooks = None
        return t

    @property
    def data(self) -> "Tensor":
        """torch's `.data`: the same storage as a Tensor that requires no grad and records
        nothing; writes through it (`p.data.add_(...)`, `w.data.normal_()`) change this tensor
        without autograd seeing them, as in torch."""
        return Tensor._make(self._data, False, None, None)

    @data.setter
    def data(self, value) -> None:
        """`t.data = other` gives t other's storage (shape and dtype included), as torch does."""
        if not isinstance(value, Tensor):
            raise TypeError(f"data: assigned value must be a Tensor, got "
                            f"{type(value).__name__} (wrap an array with tl.tensor or "
                            f"tl.from_numpy)")
        self._data = value._data

    @property
    def _version(self) -> _Version:
        """The in-place counter, made on first use: most tensors (every gradient and temporary
        in backward) are never saved or changed in place, so they never need one."""
        v = self._ver
        if v is None:
            v = self._ver = _Version()
        return v

    @_version.setter
    def _version(self, version: _Version) -> None:
        self._ver = version      # a view shares its base's counter

    # -- properties ----------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self) -> backend.Device:
        return backend.device_of(self._data)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def is_cuda(self) -> bool:
        return self.device == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self.device == "cpu"

    @property
    def is_mps(self) -> bool:
        return False            # torch's other device kinds do not exist here

    @property
    def is_xpu(self) -> bool:
        return False

    @property
    def is_meta(self) -> bool:
        return False

    @property
    def T(self) -> "Tensor":
        return self.permute(*range(self.ndim - 1, -1, -1))

    @property
    def mT(self) -> "Tensor":
        return self.transpose(-2, -1)

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    def size(self, dim: Optional[int] = None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_dim(dim, self.ndim, "size")]

    def numel(self) -> int:
        return int(self._data.size)

    def element_size(self) -> int:
        return self._data.itemsize

    def is_floating_point(self) -> bool:
        return D.is_floating(self.dtype)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    __hash__ = object.__hash__

    # -- conversion --------------------------------------------------------------------
    def item(self):
        if self._data.size != 1:
            raise ValueError(f"item: only a tensor with one element can be converted to a Python "
                             f"number, got shape {tuple(self.shape)}")
        if not isinstance(self._data, np.ndarray):
            backend.raise_deferred()          # the host waits for the GPU here anyway
        return self._data.reshape(()).item()

    def numpy(self) -> np.ndarray:
        if self.requires_grad and state.grad_enabled:
            raise RuntimeError("numpy: can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return backend.to_device(self._data, "cpu")

    def tolist(self):
        return backend.to_device(self._data, "cpu").tolist()

    def __float__(self):
        return builtins.float(self.item())

    def __int__(self):
        return builtins.int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return builtins.int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"bool: the truth value of a tensor with more than one element "
                               f"(shape {tuple(self.shape)}) is ambiguous")
        return builtins.bool(self.item())

    def __array__(self, dtype=None, copy=None):
        a = backend.to_device(self._data, "cpu")
        return a if dtype is None else a.astype(dtype)

    def detach(self) -> "Tensor":
        """Same data (shared), no graph."""
        if state.observers and _tracing():      # an identity a tracer (ONNX export) sees
            out = E.Detach.apply(self)
            out._version = self._version
            return out
        return Tensor._make(self._data, False, None, self._version)

    # -- copying and pickling, as torch does ------------------------------------------------
    def __reduce_ex__(self, protocol):
        """Data, device and requires_grad travel; the graph, the gradient and hooks do not (an
        unpickled tensor is a leaf: pickling a result must not carry its saved activations)."""
        return (_rebuild_tensor, (type(self), backend.to_device(self._data, "cpu"),
                                  str(self.device), self.requires_grad))

    def __deepcopy__(self, memo):
        """A leaf's copy with fresh memory; views copied together keep sharing it."""
        if self.grad_fn is not None:
            raise RuntimeError(f"deepcopy: only leaf tensors can be deep-copied, not the result "
                               f"of an op (shape {tuple(self.shape)}, made by "
                               f"{type(self.grad_fn).__name__}); detach() or clone() it first")
        t = object.__new__(type(self))
        memo[id(self)] = t
        t._data = _copy_array(self._data, memo)
        t.requires_grad = self.requires_grad
        t.grad = None if self.grad is None else self.grad.__deepcopy__(memo)
        t.grad_fn = None
        t._ver = None
        t._hooks = None
        return t

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self.requires_grad = False
        return self

    def clone(self) -> "Tensor":
        return E.Clone.apply(self)

    def contiguous(self) -> "Tensor":
        return self

    def is_contiguous(self, memory_format=None) -> bool:
        """True: view() and every op here take any memory layout, so each tensor behaves as a
        contiguous one does in torch (and contiguous() returns it unchanged)."""
        return True

    def to(self, *args, **kwargs) -> "Tensor":
        """to(device), to(dtype), to(device, dtype), to(other_tensor); a copy only when needed."""
        device = kwargs.pop("device", None)
        dtype = kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        copy = bool(kwargs.pop("copy", False))
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to: unexpected arguments {sorted(kwargs)}")
        flags = [a for a in args if isinstance(a, builtins.bool)]
        args = [a for a in args if not isinstance(a, builtins.bool)]
        if len(flags) > 2:
            raise TypeError(f"to: at most two flags (non_blocking, copy), got {flags}")
        if len(flags) == 2:             # to(device, dtype, non_blocking, copy), positionally
            copy = copy or flags[1]
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, str) and (a.split(":")[0] in ("cpu", "cuda")
                                         or a not in D._by_name and a not in D._BF16_NAMES):
                device = a       # an unknown name gets the device error, which lists both
            elif a is not None:
                dtype = a
        out = self
        if dtype is not None:
            dtype = D.to_dtype(dtype)
            if dtype != out.dtype:
                backend.no_bf16_on_cuda(dtype, out.device, "to", out.shape)
                # integer and bool results carry no gradient, so they record no node
                out = E.Cast.apply(out, dtype=dtype) if D.is_floating(dtype) else \
                    _const(out._data.astype(dtype))
        if device is not None and backend.Device(device) != out.device:
            out = E.ToDevice.apply(out, device=backend.Device(device))
        if copy and out is self:
            out = self.clone()
        return out

    def type(self, dtype=None):
        """With a dtype: a converted tensor. Without: the type name, as torch's spells it
        ("tinygrad_lite.FloatTensor", "tinygrad_lite.cuda.LongTensor", ...)."""
        if dtype is not None:
            return self.to(dtype)
        kind = _TYPE_NAMES.get(self._data.dtype.name, self._data.dtype.name.capitalize())
        place = ".cuda" if self.device == "cuda" else ""
        return f"tinygrad_lite{place}.{kind}Tensor"

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self) -> "Tensor":
        return self.to("cuda")

    def float(self) -> "Tensor":
        return self.to(D.float32)

    def double(self) -> "Tensor":
        return self.to(D.float64)

    def half(self) -> "Tensor":
        return self.to(D.float16)

    def bfloat16(self) -> "Tensor":
        return self.to(D.load_bfloat16())

    def long(self) -> "Tensor":
        return self.to(D.int64)

    def int(self) -> "Tensor":
        return self.to(D.int32)

    def bool(self) -> "Tensor":
        return self.to(D.bool_)

    # -- autograd --------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and not D.is_floating(self.dtype):
            raise RuntimeError(f"requires_grad_: only floating point tensors can require "
                               f"gradients, got dtype {self.dtype} (shape {tuple(self.shape)})")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("requires_grad_: a non-leaf tensor's requires_grad cannot be turned "
                               "off; use detach()")
        self.requires_grad = builtins.bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep `.grad` for this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on a tensor that doesn't require "
                               "grad")
        if self.grad_fn is not None:
            self.grad_fn.retained = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        ref = getattr(self.grad_fn, "retained", None)
        return ref is not None and ref() is self

    def register_hook(self, hook) -> RemovableHandle:
        """hook(grad) runs when this tensor's gradient is computed; a returned tensor replaces it"""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't "
                               "require gradient")
        if self.grad_fn is not None:
            hooks = getattr(self.grad_fn, "tensor_hooks", None)
            if hooks is None:
                hooks = self.grad_fn.tensor_hooks = {}
        else:
            if self._hooks is None:
                self._hooks = {}
            hooks = self._hooks
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def register_post_accumulate_grad_hook(self, hook) -> RemovableHandle:
        """hook(self) runs after this leaf's .grad took in its last contribution of a backward"""
        from .autograd.engine import register_post_accumulate_grad_hook
        return register_post_accumulate_grad_hook(self, hook)

    def backward(self, gradient=None, retain_graph: Optional[bool] = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`."""
        from .autograd import backward as _backward
        _backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # -- repr ---------------------------------------------------------------------------
    def __format__(self, spec: str) -> str:
        """f"{loss:.4f}" formats a one-element tensor's value, as torch does; an empty spec is
        the repr; other specs on larger tensors are refused, as torch refuses them."""
        if self._data.ndim == 0:
            return format(self.item(), spec)
        if not spec:
            return repr(self)
        raise TypeError(f"format: unsupported format string {spec!r} for a tensor of shape "
                        f"{tuple(self.shape)}; format t.item() or t.tolist() instead")

    def __repr__(self) -> str:
        arr = backend.to_device(self._data, "cpu")
        body = np.array2string(arr.astype(D.float32) if arr.dtype is D.BF16 else arr,
                               separator=", ", prefix="tensor(", precision=4,
                               threshold=1000, edgeitems=3)
        extras = []
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if arr.dtype not in (D.float32, D.int64, D.bool_) or arr.size == 0:
            extras.append(f"dtype=tl.{arr.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # -- arithmetic ---------------------------------------------------------------------
    def add(self, other, alpha=1) -> "Tensor":
        if alpha != 1:
            other = other * alpha
        return _binary(E.Add, self, other)

    def sub(self, other, alpha=1) -> "Tensor":
        if alpha != 1:
            other = other * alpha
        return _binary(E.Sub, self, other)

    def mul(self, other) -> "Tensor":
        return _binary(E.Mul, self, other)

    def div(self, other, rounding_mode=None) -> "Tensor":
        if rounding_mode is not None:
            if rounding_mode not in ("floor", "trunc"):
                raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                                 f"{rounding_mode!r}")
            return _binary(E.RoundingDiv, self, other, mode=rounding_mode)
        if not D.is_floating(self.dtype) and not (isinstance(other, Tensor)
                                                  and D.is_floating(other.dtype)):
            return _binary(E.Div, self.float(), other)   # true division of integers gives floats
        return _binary(E.Div, self, other)

    def pow(self, exponent) -> "Tensor":
        if isinstance(exponent, _Scalar):
            if isinstance(exponent, (np.number, np.bool_)):
                exponent = exponent.item()
            if self.dtype.kind == "b" and isinstance(exponent, builtins.int):
                # torch: bool ** bool is bool, bool ** int is int64 (NumPy would give int8)
                y = E.PowScalar.apply(self.long(), exponent=builtins.int(exponent))
                return y.bool() if isinstance(exponent, builtins.bool) else y
            keep = D.is_floating(self.dtype) or isinstance(exponent, builtins.int)
            x = self if keep else self.float()
            return E.PowScalar.apply(x, exponent=exponent)
        return _binary(E.Pow, self, exponent)

    def matmul(self, other) -> "Tensor":
        return FL._matmul(self, other)

    # x + y, and the reflected forms (called for `2 + x` and friends)
    __add__ = add
    __sub__ = sub
    __mul__ = mul
    __truediv__ = div
    __pow__ = pow
    __matmul__ = matmul

    def __radd__(self, other):  # other + self
        return _binary(E.Add, self, other, reflected=True)

    def __rsub__(self, other):  # other - self
        return _binary(E.Sub, self, other, reflected=True)

    def __rmul__(self, other):  # other * self
        return _binary(E.Mul, self, other, reflected=True)

    def __rtruediv__(self, other):  # other / self
        x = self if D.is_floating(self.dtype) else self.float()
        return _binary(E.Div, x, other, reflected=True)

    def __rpow__(self, other):  # other ** self
        return _binary(E.Pow, self, other, reflected=True)

    def __rmatmul__(self, other):  # other @ self
        return FL._matmul(_like(other, self), self)

    def __floordiv__(self, other):
        return _nondiff_binary(self, other, "floor_divide")

    def __rfloordiv__(self, other):  # other // self
        return _nondiff_binary(_like(other, self), self, "floor_divide")

    def __mod__(self, other):
        return FP.remainder(self, other)

    def __rmod__(self, other):  # other % self
        return FP.remainder(other, self)

    def __neg__(self):
        return E.Neg.apply(self)

    def neg(self):
        return E.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    # in-place arithmetic: the result replaces this tensor's values and its place in the graph
    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def add_(self, other, alpha=1):
        return _inplace(self, lambda t: t.add(other, alpha=alpha), False)

    def sub_(self, other, alpha=1):
        return _inplace(self, lambda t: t.sub(other, alpha=alpha), False)

    def mul_(self, other):
        return _inplace(self, lambda t: t.mul(other))

    def div_(self, other):
        return _inplace(self, lambda t: t.div(other))

    def pow_(self, exponent):
        return _inplace(self, lambda t: t.pow(exponent))

    def clamp_(self, min=None, max=None):
        return _inplace(self, lambda t: t.clamp(min, max))

    clip_ = clamp_

    def neg_(self):
        return _inplace(self, lambda t: -t, saves_self=False)

    def exp_(self):
        return _inplace(self, lambda t: t.exp())

    def sqrt_(self):
        return _inplace(self, lambda t: t.sqrt())

    def relu_(self):
        return _inplace(self, lambda t: t.relu())

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        if isinstance(value, Tensor):
            value = value.item()
        return _inplace(self, lambda t: E.Fill.apply(t, value=value), False)

    def copy_(self, src):
        src = _like(src, self)
        if src.device != self.device:
            src = src.to(self.device)
        return _inplace(self, lambda t: E.CopyFrom.apply(t, src), False)

    def masked_fill_(self, mask, value):
        return _inplace(self, lambda t: t.masked_fill(mask, value))

    def uniform_(self, a=0.0, b=1.0):
        from . import random
        return _fill_no_grad(self, random.uniform(self.shape, a, b, self.dtype, self.device))

    def normal_(self, mean=0.0, std=1.0):
        from . import random
        return _fill_no_grad(self, random.normal(self.shape, mean, std, self.dtype, self.device))

    # -- comparisons and other non-differentiable ops ------------------------------------
    def __eq__(self, other):
        return _nondiff_binary(self, other, "equal")

    def __ne__(self, other):
        return _nondiff_binary(self, other, "not_equal")

    def __lt__(self, other):
        return _nondiff_binary(self, other, "less")

    def __le__(self, other):
        return _nondiff_binary(self, other, "less_equal")

    def __gt__(self, other):
        return _nondiff_binary(self, other, "greater")

    def __ge__(self, other):
        return _nondiff_binary(self, other, "greater_equal")

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def __and__(self, other):
        # after promotion: logical on two bools, bitwise once an integer is involved (as torch)
        return _nondiff_binary(self, other, "bitwise_and")

    def __or__(self, other):
        # after promotion: logical on two bools, bitwise once an integer is involved (as torch)
        return _nondiff_binary(self, other, "bitwise_or")

    def __xor__(self, other):
        # after promotion: logical on two bools, bitwise once an integer is involved (as torch)
        return _nondiff_binary(self, other, "bitwise_xor")

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self):
        return _nondiff_unary(self, "logical_not" if self.dtype.kind == "b" else "invert")

    def logical_and(self, other):
        return _nondiff_binary(self, other, "logical_and")

    def logical_or(self, other):
        return _nondiff_binary(self, other, "logical_or")

    def logical_xor(self, other):
        return _nondiff_binary(self, other, "logical_xor")

    def logical_not(self):
        return _nondiff_unary(self, "logical_not")

    def isnan(self):
        return _nondiff_unary(self, "isnan")

    def isinf(self):
        return _nondiff_unary(self, "isinf")

    def isfinite(self):
        return _nondiff_unary(self, "isfinite")

    def floor(self):
        return E.Rounding.apply(self, fn="floor")

    def ceil(self):
        return E.Rounding.apply(self, fn="ceil")

    def round(self, decimals: int = 0):
        decimals = check_int(decimals, "decimals", "round", low=None, index=True)
        return E.Rounding.apply(self, fn="round", decimals=decimals)

    def trunc(self):
        return E.Rounding.apply(self, fn="trunc")

    def argmax(self, dim=None, keepdim=False):
        return FR.arg_reduce(self, "argmax", dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return FR.arg_reduce(self, "argmin", dim, keepdim)

    def argsort(self, dim=-1, descending=False, stable=False):
        return FC._argsort(self, dim, descending)      # always stable: `stable` changes nothing

    def sort(self, dim=-1, descending=False, stable=False):
        idx = FC._argsort(self, dim, descending)
        if not self.ndim:           # a 0-d tensor sorts to itself, at index 0 (as in torch)
            return R.SortResult(self.clone(), idx.reshape(()))
        return R.SortResult(self.gather(dim, idx), idx)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        n = self.shape[_dim(dim, self.ndim, "topk")] if self.ndim else 1
        if not self.ndim:           # torch: the element itself at index 0 (k = 0 or 1)
            check_int(k, "k", "topk", low=None, index=True)
            if k not in (0, 1):
                raise ValueError(f"topk: k={k} is out of range for a 0-d tensor")
            values, idx = self.reshape(1).topk(1, 0, largest, sorted)
            return R.SortResult(values.reshape(()), idx.reshape(()))
        k = check_int(k, "k", "topk", low=None, index=True)
        if not 0 <= k <= n:
            raise ValueError(f"topk: k={k} is out of range for dimension {dim} of size {n} "
                             f"(shape {tuple(self.shape)})")
        idx = FC._argsort(self, dim, descending=largest)
        idx = idx.narrow(dim, 0, k)
        return R.SortResult(self.gather(dim, idx), idx)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        return FCR.tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                          requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return FCR.full(size, fill_value, dtype=dtype or self.dtype,
                        device=device or self.device, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_full(_shape_arg(size), 0, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_full(_shape_arg(size), 1, dtype, device, requires_grad)

    def all(self, dim=None, keepdim=False):
        axes = _axes(dim, self.ndim, op="all")
        out = backend.array_module(self._data).all(self._data, axis=axes, keepdims=keepdim)
        return _const(out.astype(np.uint8) if self.dtype == np.uint8 else out)   # torch's rule

    def any(self, dim=None, keepdim=False):
        axes = _axes(dim, self.ndim, op="any")
        out = backend.array_module(self._data).any(self._data, axis=axes, keepdims=keepdim)
        return _const(out.astype(np.uint8) if self.dtype == np.uint8 else out)

    def allclose(self, other, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
        other = _operand(other, self, "allclose")
        if not _broadcastable(self.shape, other.shape):
            raise ValueError(f"allclose: shapes {tuple(self.shape)} and {tuple(other.shape)} do "
                             "not broadcast")
        xp = backend.array_module(self._data)
        return builtins.bool(xp.allclose(self._data, other._data, rtol, atol, equal_nan))

    def equal(self, other) -> bool:
        if not isinstance(other, Tensor):
            raise TypeError(f"equal: expected a Tensor, got {type(other).__name__}")
        return self.shape == other.shape and builtins.bool((self._data == other._data).all())

    def nonzero(self, as_tuple=False):
        if not isinstance(as_tuple, (builtins.bool, np.bool_)):
            raise TypeError(f"nonzero: as_tuple must be a bool, got {type(as_tuple).__name__}")
        xp = backend.array_module(self._data)
        # a 0-d tensor counts as one element, as in torch (NumPy refuses 0-d nonzero)
        idx = xp.nonzero(self._data if self.ndim else self._data.reshape(1))
        if as_tuple:
            return tuple(_const(i.astype(np.int64)) for i in idx)
        if not self.ndim:
            return _const(xp.zeros((idx[0].size, 0), dtype=np.int64))
        return _const(xp.stack(idx, axis=1).astype(np.int64))

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        return FR.unique(self, sorted, return_inverse, return_counts, dim)

    def bincount(self, weights=None, minlength=0):
        return FO.bincount(self, weights, minlength)

    def histc(self, bins=100, min=0, max=0):
        return FO.histc(self, bins, min, max)

    # -- elementwise math ----------------------------------------------------------------
    def exp(self):
        return E.Exp.apply(_floating(self))

    def log(self):
        return E.Log.apply(_floating(self))

    def log1p(self):
        return E.Log1p.apply(_floating(self))

    def log2(self):
        return E.Log.apply(_floating(self)) * (1.0 / np.log(2.0))

    def log10(self):
        return E.Log.apply(_floating(self)) * (1.0 / np.log(10.0))

    def expm1(self):
        return E.Expm1.apply(_floating(self))

    def sqrt(self):
        return E.Sqrt.apply(_floating(self))

    def rsqrt(self):
        return E.Rsqrt.apply(_floating(self))

    def square(self):
        x = self.long() if self.dtype.kind == "b" else self     # torch: bool squares to int64
        return x * x

    def reciprocal(self):
        return 1.0 / self

    def abs(self):
        return E.Abs.apply(self)

    def sign(self):
        if self.dtype.kind == "b":      # NumPy has no sign loop for bool; torch gives x back
            return self.clone()
        return E.Sign.apply(self)

    def sin(self):
        return E.Sin.apply(_floating(self))

    def cos(self):
        return E.Cos.apply(_floating(self))

    def tan(self):
        return E.Tan.apply(_floating(self))

    # inverse trig, hyperbolic, erf/erfc, exp2 (all in ops/pointwise.py)
    def asin(self):
        return E.Asin.apply(_floating(self))

    def acos(self):
        return E.Acos.apply(_floating(self))

    def atan(self):
        return E.Atan.apply(_floating(self))

    def sinh(self):
        return E.Sinh.apply(_floating(self))

    def cosh(self):
        return E.Cosh.apply(_floating(self))

    def asinh(self):
        return E.Asinh.apply(_floating(self))

    def acosh(self):
        return E.Acosh.apply(_floating(self))

    def atanh(self):
        return E.Atanh.apply(_floating(self))

    arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh

    def erf(self):
        return E.Erf.apply(_floating(self))

    def erfc(self):
        return E.Erfc.apply(_floating(self))

    def exp2(self):
        return E.Exp2.apply(_floating(self))

    def atan2(self, other):
        return FP.atan2(self, other)

    arctan2 = atan2

    def hypot(self, other):
        return FP.hypot(self, other)

    def remainder(self, other):
        return FP.remainder(self, other)

    def fmod(self, other):
        return FP.fmod(self, other)

    def floor_divide(self, other):
        return FP.floor_divide(self, other)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return FC.isclose(self, other, rtol, atol, equal_nan)

    def tanh(self):
        return E.Tanh.apply(_floating(self))

    def sigmoid(self):
        return E.Sigmoid.apply(_floating(self))

    def relu(self):
        return E.Relu.apply(self)

    def leaky_relu(self, negative_slope=0.01):
        slope = check_number(negative_slope, "negative_slope", "leaky_relu", finite=False,
                             as_float=False)
        return E.LeakyRelu.apply(self, slope=slope)

    def elu(self, alpha=1.0):
        alpha = check_number(alpha, "alpha", "elu", finite=False, as_float=False)
        return E.Elu.apply(self, alpha=alpha)

    def gelu(self, approximate="none"):
        if not isinstance(approximate, str):
            raise TypeError(f"gelu: approximate must be a string, got "
                            f"{type(approximate).__name__}")
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return E.Gelu.apply(self, approximate=approximate)

    def silu(self):
        return self * self.sigmoid()

    def softplus(self, beta=1.0, threshold=20.0):
        beta = check_number(beta, "beta", "softplus", finite=False, as_float=False)
        threshold = check_number(threshold, "threshold", "softplus", finite=False, as_float=False)
        return E.Softplus.apply(self, beta=beta, threshold=threshold)

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        for name, bound in (("min", min), ("max", max)):
            if bound is not None and not isinstance(bound, (Tensor, _Scalar)):
                raise TypeError(f"clamp: {name} must be a number or a Tensor, got "
                                f"{type(bound).__name__} {bound!r}")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            for bound in (min, max):
                if isinstance(bound, Tensor) and not _broadcastable(self.shape, bound.shape):
                    raise ValueError(f"clamp: shapes {tuple(self.shape)} and "
                                     f"{tuple(bound.shape)} do not broadcast")
            # where, not maximum/minimum: at a tie torch gives the whole gradient to self; a NaN
            # bound makes the result NaN with no gradient to self, as in torch
            out = self
            for bound, outside in ((min, lambda o: o < min), (max, lambda o: o > max)):
                if bound is None:
                    continue
                take = outside(out)
                if isinstance(bound, Tensor) and D.is_floating(bound.dtype):
                    take = take | bound.isnan()
                out = where(take, bound, out)
            return out
        return E.Clamp.apply(self, lo=min, hi=max)

    clip = clamp

    def maximum(self, other):
        return _binary(E.Maximum, self, _operand(other, self, "maximum"))

    def minimum(self, other):
        return _binary(E.Minimum, self, _operand(other, self, "minimum"))

    def where(self, condition, other):
        return where(condition, self, other)

    def masked_fill(self, mask, value):
        mask = _like(mask, self)
        if mask.dtype.kind != "b":
            raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {mask.dtype}")
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise ValueError("masked_fill: value must be a 0-dim tensor or a number")
            return where(mask, value.to(self.dtype), self)
        return E.MaskedFill.apply(self, mask._data, value=value)

    def lerp(self, end, weight):
        return self + (end - self) * weight

    # more math, order statistics, scans and random fills (functions/: pointwise, reduction,
    # other, random)
    def addcmul(self, tensor1, tensor2, *, value=1):
        return FP.addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        return FP.addcdiv(self, tensor1, tensor2, value=value)

    def addcmul_(self, tensor1, tensor2, *, value=1):
        return _inplace(self, lambda t: t.addcmul(tensor1, tensor2, value=value), False)

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        return _inplace(self, lambda t: t.addcdiv(tensor1, tensor2, value=value), False)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        return FP.nan_to_num(self, nan, posinf, neginf)

    def nan_to_num_(self, nan=0.0, posinf=None, neginf=None):
        return _inplace(self, lambda t: t.nan_to_num(nan, posinf, neginf), False)

    def clamp_min(self, min):
        return self.clamp(min=min)

    def clamp_max(self, max):
        return self.clamp(max=max)

    def clamp_min_(self, min):
        return self.clamp_(min=min)

    def clamp_max_(self, max):
        return self.clamp_(max=max)

    def float_power(self, exponent):
        return FP.float_power(self, exponent)

    def logaddexp(self, other):
        return FP.logaddexp(self, other)

    def logaddexp2(self, other):
        return FP.logaddexp2(self, other)

    def xlogy(self, other):
        return FP.xlogy(self, other)

    def sinc(self):
        return FP.sinc(self)

    def deg2rad(self):
        return FP.deg2rad(self)

    def rad2deg(self):
        return FP.rad2deg(self)

    def frac(self):
        return FP.frac(self)

    def logit(self, eps=None):
        return FP.logit(self, eps)

    def true_divide(self, other):
        return self.div(other)

    fix, absolute = trunc, abs

    def signbit(self):
        return FP.signbit(self)

    def isposinf(self):
        return FC.isposinf(self)

    def isneginf(self):
        return FC.isneginf(self)

    def heaviside(self, values):
        return FP.heaviside(self, values)

    def bitwise_and(self, other):
        return FP.bitwise_and(self, other)

    def bitwise_or(self, other):
        return FP.bitwise_or(self, other)

    def bitwise_xor(self, other):
        return FP.bitwise_xor(self, other)

    def bitwise_not(self):
        return FP.bitwise_not(self)

    def log_(self):
        return _inplace(self, lambda t: t.log())

    def abs_(self):
        return _inplace(self, lambda t: t.abs())

    def sigmoid_(self):
        return _inplace(self, lambda t: t.sigmoid())

    def tanh_(self):
        return _inplace(self, lambda t: t.tanh())

    def cummax(self, dim):
        return FO.cummax(self, dim)

    def cummin(self, dim):
        return FO.cummin(self, dim)

    def logcumsumexp(self, dim):
        return FO.logcumsumexp(self, dim)

    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        return FR.nansum(self, dim, keepdim, dtype=dtype)

    def nanmean(self, dim=None, keepdim=False, *, dtype=None):
        return FR.nanmean(self, dim, keepdim, dtype=dtype)

    def median(self, dim=None, keepdim=False):
        return FR.median(self, dim, keepdim)

    def nanmedian(self, dim=None, keepdim=False):
        return FR.nanmedian(self, dim, keepdim)

    def mode(self, dim=-1, keepdim=False):
        return FR.mode(self, dim, keepdim)

    def kthvalue(self, k, dim=-1, keepdim=False):
        return FC.kthvalue(self, k, dim, keepdim)

    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return FR.quantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return FR.nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    def count_nonzero(self, dim=None):
        return FR.count_nonzero(self, dim)

    def renorm(self, p, dim, maxnorm):
        return FO.renorm(self, p, dim, maxnorm)

    def bernoulli(self, p=None, *, generator=None):
        return FRN.bernoulli(self, p)

    def bernoulli_(self, p=0.5, *, generator=None):
        return _fill_no_grad(self, FRN.bernoulli_fill(self, p))

    def exponential_(self, lambd=1.0, *, generator=None):
        return _fill_no_grad(self, FRN.exponential_fill(self, lambd))

    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
        return _fill_no_grad(self, FRN.cauchy_fill(self, median, sigma))

    def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
        return _fill_no_grad(self, FRN.log_normal_fill(self, mean, std))

    def geometric_(self, p, *, generator=None):
        return _fill_no_grad(self, FRN.geometric_fill(self, p))

    def random_(self, *args, **kwargs):
        """random_(to) or random_(from, to): integers in [from, to); `from` is a keyword."""
        kwargs.pop("generator", None)
        return _fill_no_grad(self, FRN.random_fill(self, *args, **kwargs))

    # -- reductions ----------------------------------------------------------------------
    def sum(self, dim=None, keepdim=False, dtype=None):
        x = self if dtype is None else self.to(dtype)
        if x.dtype.kind in "bu" and dtype is None:
            x = x.long()                # torch sums bool and all integers in int64
        return R.Sum.apply(x, axes=_axes(dim, x.ndim, op="sum"), keepdim=keepdim)

    def mean(self, dim=None, keepdim=False, dtype=None):
        x = self if dtype is None else self.to(dtype)
        if not D.is_floating(x.dtype):
            raise RuntimeError(f"mean: input dtype should be floating point, got {x.dtype}; "
                               "use .float() first")
        return R.Mean.apply(x, axes=_axes(dim, x.ndim, op="mean"), keepdim=keepdim)

    def sum_to_size(self, *shape):
        """Sum broadcast dimensions away so the result has `shape` (undoes broadcasting)."""
        shape = _shape_arg(shape)
        if tuple(shape) == self.shape:
            return self
        lead = self.ndim - len(shape)
        if lead < 0:
            raise ValueError(f"sum_to_size: size {tuple(shape)} is larger than {tuple(self.shape)}")
        axes = list(range(lead))
        for i, n in enumerate(shape):
            if n == 1 and self.shape[lead + i] != 1:
                axes.append(lead + i)
            elif n != self.shape[lead + i] and n != 1:
                raise ValueError(f"sum_to_size: {tuple(self.shape)} is not expandable to size "
                                 f"{tuple(shape)}")
        out = R.Sum.apply(self, axes=tuple(axes), keepdim=True) if axes else self
        return out.reshape(shape) if out.shape != tuple(shape) else out

    def prod(self, dim=None, keepdim=False, dtype=None):
        x = self.to(dtype) if dtype is not None else self         # torch casts first
        x = x.long() if x.dtype.kind in "bu" else x              # int64 in torch, not uint64
        return R.Prod.apply(x, axes=_axes(dim, self.ndim, True, "prod"), keepdim=keepdim)

    def max(self, dim=None, keepdim=False):
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        if dim is None:
            return R.AmaxAmin.apply(self, axes=None, keepdim=False, kind="max")
        return FR.max_min_dim(self, dim, keepdim, "max")

    def min(self, dim=None, keepdim=False):
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        if dim is None:
            return R.AmaxAmin.apply(self, axes=None, keepdim=False, kind="min")
        return FR.max_min_dim(self, dim, keepdim, "min")

    def amax(self, dim=None, keepdim=False):
        axes = _axes(dim, self.ndim, op="amax")
        R.check_extent(self.shape, axes, "amax")
        return R.AmaxAmin.apply(self, axes=axes, keepdim=keepdim, kind="max")

    def amin(self, dim=None, keepdim=False):
        axes = _axes(dim, self.ndim, op="amin")
        R.check_extent(self.shape, axes, "amin")
        return R.AmaxAmin.apply(self, axes=axes, keepdim=keepdim, kind="min")

    def var(self, dim=None, unbiased=None, keepdim=False, correction=None):
        dim, unbiased = _var_dim("var", dim, unbiased, keepdim, correction)
        return FR._var(self, dim, _correction(unbiased, correction), keepdim)

    def std(self, dim=None, unbiased=None, keepdim=False, correction=None):
        dim, unbiased = _var_dim("std", dim, unbiased, keepdim, correction)
        return FR._var(self, dim, _correction(unbiased, correction), keepdim, "std").sqrt()

    def norm(self, p="fro", dim=None, keepdim=False):
        return FR._norm(self, p, dim, keepdim)

    def logsumexp(self, dim, keepdim=False):
        return R.LogSumExp.apply(_floating(self), axes=_axes(dim, self.ndim, op="logsumexp"),
                                 keepdim=keepdim)

    def softmax(self, dim, dtype=None):
        if dtype is not None:                   # torch casts the input first
            return self.to(dtype).softmax(dim)
        d = _dim(dim, self.ndim, "softmax")
        if not self.ndim:           # over a single element, as a 1-element vector
            return R.Softmax.apply(_floating(self).reshape(1), axis=0).reshape(())
        return R.Softmax.apply(_floating(self), axis=d)

    def log_softmax(self, dim, dtype=None):
        if dtype is not None:
            return self.to(dtype).log_softmax(dim)
        d = _dim(dim, self.ndim, "log_softmax")
        if not self.ndim:
            return R.LogSoftmax.apply(_floating(self).reshape(1), axis=0).reshape(())
        return R.LogSoftmax.apply(_floating(self), axis=d)

    def cumsum(self, dim, dtype=None):
        if dtype is not None:
            return self.to(dtype).cumsum(dim)
        d = _dim(dim, self.ndim, "cumsum")
        if not self.ndim:           # a 0-d scan is the 0-d input itself (as in torch)
            return SC.Cumsum.apply(self.reshape(1), axis=0).reshape(())
        return SC.Cumsum.apply(self, axis=d)

    def cumprod(self, dim, dtype=None):
        return FO.cumprod(self, dim, dtype)

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        return FO.diff(self, n, dim, prepend, append)

    # -- shape and movement ----------------------------------------------------------------
    def reshape(self, *shape):
        return FI._reshape(self, _shape_arg(shape))

    def view(self, *shape):
        if len(shape) == 1 and not isinstance(shape[0], (tuple, list, builtins.int)):
            return self.to(shape[0])
        return FI._reshape(self, _shape_arg(shape))

    def view_as(self, other):
        return self.reshape(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        return FO._flatten(self, start_dim, end_dim)

    def unflatten(self, dim, sizes):
        return FO._unflatten(self, dim, sizes)

    def transpose(self, dim0, dim1):
        return FI._transpose(self, dim0, dim1)

    def swapaxes(self, dim0, dim1):
        return FI._transpose(self, dim0, dim1)

    def t(self):
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor with <= 2 dimensions, got {self.ndim}")
        return self.T

    def permute(self, *dims):
        return FI._permute(self, _shape_arg(dims, "permute"))

    def squeeze(self, dim=None):
        return FI._squeeze(self, dim)

    def unsqueeze(self, dim):
        return FI._unsqueeze(self, dim)

    def expand(self, *sizes):
        return FI.expand(self, _shape_arg(sizes, "expand"))

    def expand_as(self, other):
        return FI.expand(self, other.shape)

    def broadcast_to(self, shape):
        if not isinstance(shape, (tuple, list)):
            raise TypeError(f"broadcast_to: size must be a tuple of ints, got "
                            f"{type(shape).__name__}")
        return FI.expand(self, _shape_arg((shape,), "broadcast_to"))

    def repeat(self, *sizes):
        return FI.repeat(self, _shape_arg(sizes, "repeat"))

    def __getitem__(self, index):
        return FI.getitem(self, index)

    def __setitem__(self, index, value):
        FI.setitem(self, index, value)

    def split(self, split_size_or_sections, dim=0):
        return FI._split(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        return FI._chunk(self, chunks, dim)

    def unbind(self, dim=0):
        if not self.ndim:
            raise IndexError("unbind: a 0-d tensor has no dimension to unbind")
        return tuple(self.select(dim, i) for i in range(self.shape[_dim(dim, self.ndim, "unbind")]))

    def narrow(self, dim, start, length):
        if not self.ndim:
            raise ValueError("narrow: cannot be applied to a 0-d tensor")
        d = _dim(dim, self.ndim, "narrow")
        if isinstance(start, Tensor):
            if start.ndim or start.dtype.kind not in "iu":
                raise TypeError(f"narrow: a tensor start must be 0-d and integral, got shape "
                                f"{tuple(start.shape)} {start.dtype}")
            start = start.item()
        start, length, n = operator.index(start), operator.index(length), self.shape[d]
        if not -n <= start <= n:
            raise IndexError(f"narrow: start {start} out of range [{-n}, {n}] for dimension {d} "
                             f"of shape {tuple(self.shape)}")
        start = start + n if start < 0 else start
        if length < 0 or start + length > n:
            raise ValueError(f"narrow: start ({start}) + length ({length}) must lie within "
                             f"dimension {d} of size {n} (length non-negative)")
        return self[(slice(None),) * d + (slice(start, start + length),)]

    def select(self, dim, index):
        d = _dim(dim, self.ndim, "select")
        return self[(slice(None),) * d + (index,)]

    def gather(self, dim, index):
        return FI._gather(self, dim, index)

    def scatter_add(self, dim, index, src):
        return FI._scatter_add(self, dim, index, src)

    def index_select(self, dim, index):
        return FI._index_select(self, dim, index)

    def roll(self, shifts, dims=None):
        return FO._roll(self, shifts, dims)

    def flip(self, dims):
        return FO._flip(self, dims)

    def tril(self, diagonal=0):
        return FO.tri(self, diagonal, lower=True)

    def triu(self, diagonal=0):
        return FO.tri(self, diagonal, lower=False)

    def diagonal(self, offset=0, dim1=0, dim2=1):
        return FO.diagonal(self, offset, dim1, dim2)

    def diag(self, diagonal=0):
        return FO.diag(self, diagonal)

    def trace(self):
        return FO.trace(self)

    # more shape, indexing and scatter methods (functions/indexing.py and other.py);
    # in-place forms run the out-of-place op through _inplace, like add_
    def repeat_interleave(self, repeats, dim=None, *, output_size=None):
        return FO.repeat_interleave(self, repeats, dim, output_size=output_size)

    def tile(self, *dims):
        return FI.tile(self, _shape_arg(dims, "tile"))

    def movedim(self, source, destination):
        return FI.movedim(self, source, destination)

    moveaxis = movedim

    def tensor_split(self, indices_or_sections, dim=0):
        return FI.tensor_split(self, indices_or_sections, dim)

    def hsplit(self, indices_or_sections):
        return FI.hsplit(self, indices_or_sections)

    def vsplit(self, indices_or_sections):
        return FI.vsplit(self, indices_or_sections)

    def dsplit(self, indices_or_sections):
        return FI.dsplit(self, indices_or_sections)

    def rot90(self, k=1, dims=(0, 1)):
        return FO.rot90(self, k, dims)

    def fliplr(self):
        return FO.fliplr(self)

    def flipud(self):
        return FO.flipud(self)

    def take(self, index):
        return FI.take(self, index)

    def take_along_dim(self, indices, dim=None):
        return FI.take_along_dim(self, indices, dim)

    def scatter(self, dim, index, src=None, value=None, *, reduce=None):
        return FI.scatter(self, dim, index, src, value, reduce=reduce)

    def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
        return _inplace(self, lambda t: t.scatter(dim, index, src, value, reduce=reduce), False)

    def scatter_add_(self, dim, index, src):
        return _inplace(self, lambda t: t.scatter_add(dim, index, src), False)

    def index_add(self, dim, index, source, *, alpha=1):
        return FI.index_add(self, dim, index, source, alpha=alpha)

    def index_add_(self, dim, index, source, *, alpha=1):
        return _inplace(self, lambda t: t.index_add(dim, index, source, alpha=alpha), False)

    def index_copy(self, dim, index, source):
        return FI.index_copy(self, dim, index, source)

    def index_copy_(self, dim, index, source):
        return _inplace(self, lambda t: t.index_copy(dim, index, source), False)

    def index_fill(self, dim, index, value):
        return FI.index_fill(self, dim, index, value)

    def index_fill_(self, dim, index, value):
        return _inplace(self, lambda t: t.index_fill(dim, index, value), False)

    def index_put(self, indices, values, accumulate=False):
        return FI.index_put(self, indices, values, accumulate)

    def index_put_(self, indices, values, accumulate=False):
        return FI.index_put_(self, indices, values, accumulate)

    def masked_select(self, mask):
        return FI.masked_select(self, mask)

    def masked_scatter(self, mask, source):
        return FI.masked_scatter(self, mask, source)

    def masked_scatter_(self, mask, source):
        return _inplace(self, lambda t: t.masked_scatter(mask, source), False)

    def unfold(self, dimension, size, step):
        return FI.unfold(self, dimension, size, step)

    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        return FO.diag_embed(self, offset, dim1, dim2)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        """Zero-filled here (torch leaves it uninitialised)."""
        return self.new_full(_shape_arg(size), 0, dtype, device, requires_grad)

    def nelement(self) -> int:
        return self.numel()

    def ndimension(self) -> int:
        return self.ndim

    def stride(self, dim=None):
        return FI.stride(self, dim)

    def get_device(self) -> int:
        return 0 if self.device == "cuda" else -1

    def type_as(self, other):
        if not isinstance(other, Tensor):
            raise TypeError(f"type_as: expected a Tensor, got {type(other).__name__}")
        return self.to(other.dtype)

    def byte(self) -> "Tensor":
        return self.to(D.uint8)

    def char(self) -> "Tensor":
        return self.to(D.int8)

    def short(self) -> "Tensor":
        return self.to(D.int16)

    def mm(self, mat2):
        return FL._mm(self, mat2)

    def bmm(self, mat2):
        return FL._bmm(self, mat2)

    def mv(self, vec):
        return FL.mv(self, vec)

    def dot(self, other):
        return FL.dot(self, other)

    def outer(self, vec2):
        return FL._outer(self, vec2)

    def inner(self, other):
        return FL.inner(self, other)

    # matrix products and linear algebra (functions/linalg.py and other.py)
    def kron(self, other):
        return FO.kron(self, other)

    def cross(self, other, dim=None):
        return FO.cross(self, other, dim)

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return FL.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return FL.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def det(self):
        return FL.det(self)

    def inverse(self):
        return FL.inverse(self)

    def matrix_power(self, n):
        return FL.matrix_power(self, n)

    # issue 14's additions (functions/: pointwise, comparison, linalg, indexing, reduction)
    @property
    def H(self) -> "Tensor":
        if self.ndim not in (0, 2):
            raise ValueError(f"H: expects a matrix or a 0-d tensor, got shape {tuple(self.shape)}")
        return self.T      # real tensors: the conjugate transpose is the transpose

    @property
    def mH(self) -> "Tensor":
        return self.mT

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        return FRN.multinomial(self, num_samples, replacement, generator)

    def erfinv(self):
        return FP.erfinv(self)

    def lgamma(self):
        return FP.lgamma(self)

    def digamma(self):
        return FP.digamma(self)

    def polygamma(self, n):
        return FP.polygamma(n, self)

    def mvlgamma(self, p):
        return FP.mvlgamma(self, p)

    def i0(self):
        return FP.i0(self)

    def fmax(self, other):
        return FC.fmax(self, other)

    def fmin(self, other):
        return FC.fmin(self, other)

    def copysign(self, other):
        return FP.copysign(self, other)

    def ldexp(self, other):
        return FP.ldexp(self, other)

    def frexp(self):
        return FP.frexp(self)

    def gcd(self, other):
        return FO.gcd(self, other)

    def lcm(self, other):
        return FO.lcm(self, other)

    def nextafter(self, other):
        return FP.nextafter(self, other)

    def hardshrink(self, lambd=0.5):
        return FP.hardshrink(self, lambd)

    def multiply(self, other):
        return FP.multiply(self, other)

    def subtract(self, other, *, alpha=1):
        return FP.subtract(self, other, alpha=alpha)

    def divide(self, other, *, rounding_mode=None):
        return FP.divide(self, other, rounding_mode=rounding_mode)

    def negative(self):
        return FP.negative(self)

    def greater(self, other):
        return FC.greater(self, other)

    def less(self, other):
        return FC.less(self, other)

    def greater_equal(self, other):
        return FC.greater_equal(self, other)

    def less_equal(self, other):
        return FC.less_equal(self, other)

    def not_equal(self, other):
        return FC.not_equal(self, other)

    def swapdims(self, dim0, dim1):
        return FI.swapdims(self, dim0, dim1)

    def addmv(self, mat, vec, *, beta=1, alpha=1):
        return FL.addmv(self, mat, vec, beta=beta, alpha=alpha)

    def addr(self, vec1, vec2, *, beta=1, alpha=1):
        return FL.addr(self, vec1, vec2, beta=beta, alpha=alpha)

    def vdot(self, other):
        return FL.vdot(self, other)

    def cov(self, *, correction=1, fweights=None, aweights=None):
        return FO.cov(self, correction=correction, fweights=fweights, aweights=aweights)

    def corrcoef(self):
        return FO.corrcoef(self)

    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        return FI.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)

    def ravel(self):
        return FO.ravel(self)

    def aminmax(self, *, dim=None, keepdim=False):
        return FR.aminmax(self, dim=dim, keepdim=keepdim)

    def argwhere(self):
        return FI.argwhere(self)


# -- helpers shared by the methods above ------------------------------------------------
def _var_dim(op, dim, unbiased, keepdim, correction):
    """torch's var(input, unbiased) overload: a bool in dim's place is `unbiased`, over all dims."""
    if not isinstance(dim, (builtins.bool, np.bool_)):
        return dim, unbiased
    if unbiased is not None or keepdim or correction is not None:
        raise TypeError(f"{op}: a bool second argument is `unbiased` (torch's {op}(input, "
                        f"unbiased)); it takes no dim, keepdim or correction with it")
    return None, builtins.bool(dim)


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    if unbiased is None:
        return 1
    return 1 if unbiased else 0


def _const(array) -> Tensor:
    return Tensor._make(array, False, None, None)


def _rebuild_tensor(cls, array, device, requires_grad):
    t = Tensor._make(backend.to_device(array, device), False, None, None)
    if cls is not Tensor:
        t.__class__ = cls            # Parameter and other slot-less subclasses
    t.requires_grad = requires_grad
    return t


def _copy_array(a, memo):
    """A copy of a; a NumPy view copied with its base (memo by the base's id) stays a view of
    that copy, at the same offset and strides, so deepcopy((base, view)) keeps them sharing."""
    root = a
    while isinstance(getattr(root, "base", None), np.ndarray):
        root = root.base
    if not isinstance(a, np.ndarray) or not root.flags.c_contiguous:
        return a.copy()
    key = ("tinygrad_lite.array", id(root))
    root_copy = memo.get(key)
    if root_copy is None:
        root_copy = memo[key] = root.copy()
        memo.setdefault(id(memo), []).append(root)     # keep root alive while memo is in use
    if root is a:
        return root_copy
    offset = a.ctypes.data - root.ctypes.data
    return np.ndarray(a.shape, a.dtype, buffer=root_copy, offset=offset, strides=a.strides)


def _floating(t: Tensor) -> Tensor:
    return t if D.is_floating(t._data.dtype) else t.to(D.get_default_dtype())


def _binary(op, a: Tensor, b, reflected=False, **params) -> Tensor:
    """Promote dtypes as torch does, then apply op (to (b, a) when reflected)."""
    if type(b) is builtins.float and D.is_floating(a._data.dtype):
        # the most common case (x * 0.5 on a float tensor) skips the checks below
        return op.apply(b, a, **params) if reflected else op.apply(a, b, **params)
    if isinstance(b, Tensor):
        if a.dtype != b.dtype:
            dt = D.promote(a.dtype, b.dtype, a.ndim == 0, b.ndim == 0)
            if a.dtype != dt:
                a = a.to(dt)
            if b.dtype != dt:
                b = b.to(dt)
    elif isinstance(b, _Scalar):
        tb = type(b)
        if tb is not builtins.float and tb is not builtins.int and tb is not builtins.bool:
            b = b.item()            # NumPy scalars are strong in NEP 50: make them weak
        kind = a._data.dtype.kind
        if kind != "f" and (not isinstance(b, builtins.int) or
                            (kind == "b" and type(b) is not builtins.bool)):
            a = a.to(D.scalar_dtype(a.dtype, b))    # bool with an int: int64, as torch
        # a Python number stays a number: NumPy keeps the array's dtype for it
    elif isinstance(b, (np.ndarray, list, tuple)) or hasattr(b, "__cuda_array_interface__"):
        b = _like(b, a)
        return _binary(op, a, b, reflected, **params)
    else:
        # not NotImplemented: `"a" * t` would then call t.__index__ and fail with a riddle
        raise TypeError(f"{op.name().lower()}: unsupported operand of type {type(b).__name__} "
                        f"with a tensor of shape {tuple(a.shape)} {a.dtype}")
    try:
        return op.apply(b, a, **params) if reflected else op.apply(a, b, **params)
    except ValueError:
        if a.device == b.device and not _broadcastable(a.shape, b.shape):
            x, y = (b, a) if reflected else (a, b)
            raise ValueError(f"{op.name().lower()}: shapes {tuple(x.shape)} and "
                             f"{tuple(y.shape)} do not broadcast") from None
        raise


def _broadcastable(*shapes) -> bool:
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


# NumPy's names for the comparisons -> torch's, for error messages
_TORCH_NAMES = {"equal": "eq", "not_equal": "ne", "less": "lt", "less_equal": "le",
                "greater": "gt", "greater_equal": "ge"}


def _operand(value, ref: Tensor, op: str) -> Tensor:
    """_like for a second operand, refusing what is not a tensor, number or numeric array."""
    t = _like(value, ref)
    if t.dtype.kind not in "biufc" and not D.is_floating(t.dtype):
        raise TypeError(f"{op}: unsupported operand of type {type(value).__name__} with a tensor "
                        f"of shape {tuple(ref.shape)} {ref.dtype}")
    return t


def _nondiff_binary(a: Tensor, b, fn: str) -> Tensor:
    op = _TORCH_NAMES.get(fn, fn)
    b = _operand(b, a, op)
    if a.device != b.device:
        raise RuntimeError(f"{op}: expected both tensors on one device, got {a.device} and "
                           f"{b.device}")
    if a.dtype != b.dtype:          # torch's promotion, not NumPy's (int32 // float32: float32)
        dt = D.promote(a.dtype, b.dtype, a.ndim == 0, b.ndim == 0)
        a, b = a.to(dt), b.to(dt)
    xp = backend.array_module(a._data)
    try:
        if state.observers and fn != "trunc_divide" and _tracing():
            return E.NondiffBinary.apply(a, b, fn=fn)
        if fn == "trunc_divide":
            out = xp.trunc(a._data / b._data)
            if not D.is_floating(a.dtype) and not D.is_floating(b.dtype):
                out = out.astype(a.dtype)
            return _const(out)
        return _const(getattr(xp, fn)(a._data, b._data))
    except ValueError:      # named here, so valid calls pay no broadcast check
        if _broadcastable(a.shape, b.shape):
            raise
        raise ValueError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} do not "
                         "broadcast") from None


def _tracing() -> bool:
    """Whether a tracer (ONNX export) watches: the ops that skip Function.apply (comparisons,
    logical ops, detach) then go through it, so the trace holds them. Profilers and anomaly
    mode keep seeing only what apply runs."""
    return any(hasattr(obs, "on_apply") for obs in state.observers)


def _nondiff_unary(x: Tensor, fn: str) -> Tensor:
    if state.observers and _tracing():
        return E.NondiffUnary.apply(x, fn=fn)
    return _const(getattr(backend.array_module(x._data), fn)(x._data))


def _inplace(self: Tensor, compute, saves_self: bool = True) -> Tensor:
    """Run `compute` out of place, write the result into self's array, and take its graph node.

    saves_self: whether compute's ops may save self's values for backward. When grad is on they
    then see a private copy, since the write below would otherwise spoil what they saved
    (torch keeps the original self for `y.mul_(w)` too).
    """
    if any(st == 0 and n > 1 for st, n in zip(self._data.strides, self._data.shape)):
        # decided by strides: CuPy has no read-only flag and would write through the stride-0
        # view silently; several elements share one memory location
        raise RuntimeError(f"in-place op: the tensor of shape {tuple(self.shape)} is a "
                           "read-only broadcast view (from expand/broadcast_to); clone() it first")
    tracking = state.grad_enabled
    if tracking and self.requires_grad and self.grad_fn is None:
        raise RuntimeError(f"in-place op on a leaf tensor that requires grad (shape "
                           f"{tuple(self.shape)}); wrap it in no_grad() or use an out-of-place op")
    if not tracking:
        res = compute(Tensor._make(self._data, False, None, self._version))
    elif getattr(self.grad_fn, "view_base", None) is not None:
        return _inplace_on_view(self, self.grad_fn.view_base, compute)
    elif saves_self:
        res = compute(Tensor._make(self._data.copy(), self.requires_grad, self.grad_fn, None))
    else:
        res = compute(Tensor._make(self._data, self.requires_grad, self.grad_fn, self._version))
    if res.shape != self.shape:
        raise RuntimeError(f"in-place op: result of shape {tuple(res.shape)} does not fit the "
                           f"tensor's shape {tuple(self.shape)}")
    if res._data is not self._data:
        if res.dtype != self.dtype and D.is_floating(res.dtype) and not D.is_floating(self.dtype):
            raise RuntimeError(f"in-place op: result type {res.dtype} can't be cast to the "
                               f"tensor's dtype {self.dtype}")
        self._data[...] = res._data
    self._version.v += 1
    if res.requires_grad:
        old = self.grad_fn
        self.grad_fn = res.grad_fn
        self.requires_grad = True
        kept = getattr(old, "retained", None)
        if kept is not None and kept() is self:
            # retain_grad() follows the tensor to its new version, as torch's does: .grad is
            # then the gradient of the values the tensor holds after the in-place op
            old.retained = None
            self.grad_fn.retained = kept
    return self


def _inplace_on_view(self: Tensor, base: Tensor, compute) -> Tensor:
    """An in-place op on a view (`y[0].mul_(2)`) while its base is alive: write the new values
    into the base as a tracked op, so the base's graph sees the change, then view it again."""
    node = self.grad_fn
    res = compute(Tensor._make(self._data.copy(), True, node, None))
    if res.shape != self.shape:
        raise RuntimeError(f"in-place op: result of shape {tuple(res.shape)} does not fit the "
                           f"tensor's shape {tuple(self.shape)}")
    if res.dtype != self.dtype:
        res = res.to(self.dtype)
    if isinstance(node, IX.GetItem):
        FI.setitem(base, node.index, res)
        fresh = IX.GetItem.apply(base, index=node.index, advanced=False)
    elif isinstance(node, M.Reshape):
        base.copy_(res.reshape(base.shape))
        fresh = M.Reshape.apply(base, shape=self.shape)
    elif isinstance(node, M.Permute):
        base.copy_(res.permute(*node.inverse))
        fresh = M.Permute.apply(base, dims=tuple(int(d) for d in np.argsort(node.inverse)))
    else:
        raise RuntimeError(f"in-place op on a {node.name()} view of a tensor of shape "
                           f"{tuple(base.shape)} is not supported; clone() the view first")
    fresh.grad_fn.view_base = base
    self.grad_fn = fresh.grad_fn
    self.requires_grad = True
    return self


def _fill_no_grad(self: Tensor, array) -> Tensor:
    self._data[...] = array
    self._version.v += 1
    return self


def _as_tensor(data, dtype=None, device=None) -> Tensor:
    """Build a tensor from a number, nested list, NumPy/CuPy array or Tensor (torch's dtypes)."""
    if isinstance(data, Tensor):
        arr = data._data
    elif isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data)
    elif hasattr(data, "__cuda_array_interface__"):
        arr = data
    else:
        if isinstance(data, (list, tuple)):
            data = [d.tolist() if isinstance(d, Tensor) else d for d in data] \
                if any(isinstance(d, Tensor) for d in data) else data
        try:
            arr = np.asarray(data)
        except ValueError as e:
            raise ValueError(f"tensor: cannot build a tensor from {type(data).__name__}: {e}") \
                from None
        if D.is_floating(arr.dtype):
            # straight to the asked dtype: through float32 first, 1e-200 would become 0
            arr = D.astype(arr, D.get_default_dtype() if dtype is None else D.to_dtype(dtype))
        elif arr.dtype.kind in "iu":
            arr = arr.astype(D.int64)
        elif arr.dtype.kind not in "bc":
            raise TypeError(f"tensor: cannot build a tensor from data of type {arr.dtype} "
                            f"({type(data).__name__})")
    if dtype is not None:
        dt = D.to_dtype(dtype)
        if arr.dtype != dt:
            arr = D.astype(arr, dt)
    dev = backend.Device(device) if device is not None else (
        backend.device_of(arr) if not isinstance(arr, np.ndarray) else backend.get_default_device())
    arr = backend.to_device(arr, dev)
    return Tensor._make(arr, False, None, None)


def where(condition, input=None, other=None) -> Tensor:
    """out = input where condition else other; the gradient goes only to the branch taken.
    where(condition) alone is nonzero(condition, as_tuple=True), as in torch."""
    if input is None and other is None:
        if not isinstance(condition, Tensor):
            raise TypeError(f"where: condition must be a Tensor, got {type(condition).__name__}")
        return condition.nonzero(as_tuple=True)
    ref = input if isinstance(input, Tensor) else other if isinstance(other, Tensor) else None
    if ref is None:
        if not (isinstance(condition, Tensor) and isinstance(input, _function.SCALARS)
                and isinstance(other, _function.SCALARS)):
            raise TypeError(f"where: expected a condition Tensor and Tensors or numbers for input "
                            f"and other, got {type(condition).__name__}, "
                            f"{type(input).__name__}, {type(other).__name__}")
        # two numbers: bool if both are, else int64, else the default float (torch's rule)
        kinds = {np.asarray(v).dtype.kind for v in (input, other)}
        if not kinds <= set("biuf"):
            raise TypeError(f"where: unsupported scalar types {type(input).__name__} and "
                            f"{type(other).__name__}")
        dt = D.get_default_dtype() if "f" in kinds else D.bool_ if kinds == {"b"} else D.int64
        xp = backend.array_module(condition._data)
        input, other = (_const(xp.asarray(v, dtype=dt)) for v in (input, other))
        ref = input
    cond = condition if isinstance(condition, Tensor) else _like(condition, ref)
    if cond.dtype.kind != "b":
        cond = cond != 0
    a, b = _like(input, ref), _like(other, ref)
    if a.dtype != b.dtype:
        dt = D.promote(a.dtype, b.dtype, a.ndim == 0 and not isinstance(input, Tensor),
                       b.ndim == 0 and not isinstance(other, Tensor))
        a, b = a.to(dt), b.to(dt)
    if cond.device != a.device or a.device != b.device:
        raise RuntimeError(f"where: expected all tensors on one device, got condition on "
                           f"{cond.device}, input on {a.device}, other on {b.device}")
    if not _broadcastable(cond.shape, a.shape, b.shape):
        raise ValueError(f"where: shapes of condition {tuple(cond.shape)}, input "
                         f"{tuple(a.shape)} and other {tuple(b.shape)} do not broadcast")
    return E.Where.apply(cond._data, a, b)


from .autograd import function as _function  # noqa: E402

_function.Tensor, _function._Version = Tensor, _Version
from .ops import indexing as IX  # noqa: E402
from .ops import movement as M  # noqa: E402
from .ops import pointwise as E  # noqa: E402
from .ops import reduction as R  # noqa: E402
from .ops import scan as SC  # noqa: E402
# The one import cycle of the package: Tensor's methods call the torch-level functions in
# functions/, and those make Tensors, so each side needs the other. It is closed here, once,
# after the class and the helpers above exist: functions/ imports `Tensor, _const, ...` from
# this module at its top, which works because by now they are defined.
from .functions import comparison as FC  # noqa: E402
from .functions import creation as FCR  # noqa: E402
from .functions import indexing as FI  # noqa: E402
from .functions import linalg as FL  # noqa: E402
from .functions import other as FO  # noqa: E402
from .functions import pointwise as FP  # noqa: E402
from .functions import random as FRN  # noqa: E402
from .functions import reduction as FR  # noqa: E402
