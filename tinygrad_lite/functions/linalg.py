"""BLAS and LAPACK (torch's "BLAS and LAPACK Operations"): matmul, mm/bmm/mv, dot/vdot/inner/
outer, addmm/baddbmm/addmv/addr, det/inverse/matrix_power, and the `tl.linalg` namespace
(norms, svdvals). They compose existing ops, except MatMul, Einsum and Svdvals in ops/linalg.py."""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import dtypes as D
from .._checks import broadcast_shape as _broadcast_shape
from .._checks import check_int
from .._checks import check_tensor as _tensor
from .._checks import describe as _desc
from .._checks import need_float as _need_float
from .._checks import tensor_or_array as _t
from ..backend import array_module
from ..ops import linalg as L
from ..ops.reduction import NormP
from ..ops.linalg import MatMul
from ..tensor import Tensor, _axes, _const, _dim, where
from .other import cross, tensordot


def matmul(a, b): return _t(a).matmul(b)


def mm(a, b): return _t(a).matmul(b)


def bmm(a, b): return _t(a).matmul(b)


def outer(a, b): return _t(a).reshape(-1, 1) * _t(b).reshape(1, -1)


def _matmul(a, b):
    """torch.matmul: 1-D operands are promoted to matrices and the added dimension removed."""
    if not isinstance(b, Tensor) or not isinstance(a, Tensor):
        raise TypeError(f"matmul: expected Tensors, got {type(a).__name__} and {type(b).__name__}")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both arguments need at least 1 dimension, got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not line up "
                         f"({ka} != {kb})")
    if a.dtype != b.dtype:
        from ..dtypes import promote
        dt = promote(a.dtype, b.dtype)
        a, b = a.to(dt), b.to(dt)
    if a.device != b.device:
        raise RuntimeError(f"matmul: expected both tensors on one device, got {tuple(a.shape)} "
                           f"{a.dtype} on {a.device} and {tuple(b.shape)} {b.dtype} on {b.device}")
    if a.ndim > 2 and b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(f"matmul: batch dimensions of {tuple(a.shape)} and {tuple(b.shape)} "
                             "do not broadcast") from None
    if a.ndim == 1 and b.ndim == 1:
        return MatMul.apply(a.reshape(1, -1), b.reshape(-1, 1)).reshape(())
    if a.ndim == 1:
        out = MatMul.apply(a.reshape(1, -1), b)
        return out.squeeze(-2)
    if b.ndim == 1:
        return MatMul.apply(a, b.reshape(-1, 1)).squeeze(-1)
    return MatMul.apply(a, b)




def _scaled_sum(op, input, product, beta, alpha) -> Tensor:
    """beta * input + alpha * product, where input must broadcast to product's shape."""
    c = _tensor(input, op)
    if _broadcast_shape(op, c, product) != product.shape:
        raise ValueError(f"{op}: input of shape {tuple(c.shape)} does not broadcast to the "
                         f"product's shape {tuple(product.shape)}")
    out = product if alpha == 1 else product * alpha
    if beta == 0:            # torch ignores input then, nan and inf included
        return out
    return out + (c if beta == 1 else c * beta)


def addmm(input, mat1, mat2, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2)."""
    m1, m2 = _tensor(mat1, "addmm"), _tensor(mat2, "addmm")
    if m1.ndim != 2 or m2.ndim != 2:
        raise ValueError(f"addmm: mat1 and mat2 must be matrices, got {_desc(m1, m2)}")
    return _scaled_sum("addmm", input, m1 @ m2, beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (batch1 @ batch2), batch by batch."""
    b1, b2 = _tensor(batch1, "baddbmm"), _tensor(batch2, "baddbmm")
    if b1.ndim != 3 or b2.ndim != 3 or b1.shape[0] != b2.shape[0]:
        raise ValueError(f"baddbmm: batch1 and batch2 must be 3-D with the same batch size, got "
                         f"{_desc(b1, b2)}")
    return _scaled_sum("baddbmm", input, b1 @ b2, beta, alpha)


# -- matrices ---------------------------------------------------------------------------------
def _square(x, op: str) -> Tensor:
    x = _tensor(x, op)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{op}: expected a square matrix or a batch of them, got shape "
                         f"{tuple(x.shape)}")
    return x


def det(input) -> Tensor:
    """Determinant of a square matrix (batched); gradient det * inverse^T."""
    return L.Det.apply(_need_float(_square(input, "det"), "det"))


def inverse(input) -> Tensor:
    """Inverse of a square matrix (batched); gradient -inv^T @ dy @ inv^T."""
    return L.Inverse.apply(_need_float(_square(input, "inverse"), "inverse"))


def matrix_power(input, n) -> Tensor:
    """input**n by repeated squaring; n < 0 inverts first; n == 0 gives the identity."""
    x = _square(input, "matrix_power")
    n = check_int(n, None, "matrix_power", low=None)
    if n == 0:
        xp = array_module(x._data)
        eye = xp.broadcast_to(xp.eye(x.shape[-1], dtype=x.dtype), x.shape).copy()
        # the identity, still in x's graph with a zero gradient (as torch's)
        return where(_const(xp.ones(x.shape, dtype=bool)), _const(eye), x)
    if n < 0:
        x, n = inverse(x), -n
    result = None
    while n:
        if n & 1:
            result = x if result is None else result @ x
        n >>= 1
        if n:
            x = x @ x
    return result


class _Linalg:
    """tl.linalg: torch.linalg's names for the matrix functions above."""

    det = staticmethod(det)
    inv = staticmethod(inverse)
    matrix_power = staticmethod(matrix_power)

    @staticmethod
    def cross(input, other, dim=-1):
        return cross(input, other, dim)




# -- checked matrix products (tl.mm/bmm/outer in functions.py stay the lenient matmul forms) --
def _product_args(op: str, a, b, ndims: tuple, what: str) -> tuple:
    a, b = _tensor(a, op), _tensor(b, op)
    if (a.ndim, b.ndim) != ndims:
        raise ValueError(f"{op}: expected {what}, got {_desc(a, b)}")
    if a.dtype != b.dtype:
        raise TypeError(f"{op}: expected both inputs to have the same dtype, got {_desc(a, b)}")
    k = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if a.shape[-1] != k:
        raise ValueError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} do not line up "
                         f"({a.shape[-1]} != {k})")
    return a, b


def _mm(input, mat2) -> Tensor:
    """Matrix product of two 2-D tensors."""
    a, b = _product_args("mm", input, mat2, (2, 2), "two matrices")
    return a @ b


def _bmm(input, mat2) -> Tensor:
    """Batched matrix product of (b, n, m) and (b, m, p)."""
    a, b = _product_args("bmm", input, mat2, (3, 3), "two 3-D tensors")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: batch sizes differ: {_desc(a, b)}")
    return a @ b


def mv(input, vec) -> Tensor:
    """Matrix-vector product: (n, m) @ (m,) -> (n,)."""
    a, b = _product_args("mv", input, vec, (2, 1), "a matrix and a vector")
    return a @ b


def dot(input, other) -> Tensor:
    """Inner product of two 1-D tensors of the same length (a 0-D result)."""
    a, b = _product_args("dot", input, other, (1, 1), "two 1-D tensors")
    return a @ b


def _outer(input, vec2) -> Tensor:
    """out[i, j] = input[i] * vec2[j] for 1-D inputs."""
    a, b = _tensor(input, "outer"), _tensor(vec2, "outer")
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"outer: expected two 1-D tensors, got {_desc(a, b)}")
    return a.reshape(-1, 1) * b.reshape(1, -1)


def inner(input, other) -> Tensor:
    """Sum over the last dims: out[i.., j..] = sum_k input[i.., k] * other[j.., k]."""
    a, b = _tensor(input, "inner"), _tensor(other, "inner")
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.dtype != b.dtype:
        raise TypeError(f"inner: expected both inputs to have the same dtype, got {_desc(a, b)}")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"inner: last dimensions differ: {_desc(a, b)}")
    return tensordot(a, b, dims=([-1], [-1]))




_INF = math.inf


def _float_input(x, op: str, dtype=None) -> Tensor:
    x = _tensor(x, op)
    if dtype is not None:
        x = x.to(D.to_dtype(dtype))
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point tensor, got shape {tuple(x.shape)} "
                        f"{x.dtype}; pass dtype= or convert it first")
    return x


def _ord(ord, op: str):
    if isinstance(ord, str):
        if ord in ("inf", "-inf"):
            return float(ord)
        return ord
    if isinstance(ord, bool) or not isinstance(ord, numbers.Real):
        raise TypeError(f"{op}: ord must be a number or a string, got {type(ord).__name__}")
    return float(ord)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    """||x||_ord over dim (all dims when None): (sum |x|^ord)^(1/ord); inf: max |x|;
    -inf: min |x|; 0: the count of nonzeros (gradient 0)."""
    op = "linalg.vector_norm"
    x = _float_input(x, op, dtype)
    p = _ord(ord, op)
    if isinstance(p, str):
        raise ValueError(f"{op}: ord must be a number, got {ord!r}")
    axes = _axes(dim, x.ndim, op=op)
    a = x.abs()
    if p == 2:
        return x.norm(2, axes, keepdim)
    if p == _INF:
        return a.amax(axes, keepdim)
    if p == -_INF:
        return a.amin(axes, keepdim)
    if p == 0:
        return a.sign().sum(axes, keepdim)      # sign stays in the graph: gradient 0, as torch
    if p == 1:
        return a.sum(axes, keepdim)
    return NormP.apply(x, p=p, axes=axes, keepdim=keepdim)


def svdvals(A) -> Tensor:
    """The singular values of A (batched over leading dims), in descending order."""
    x = _float_input(A, "linalg.svdvals")
    if x.ndim < 2:
        raise ValueError(f"linalg.svdvals: expected a matrix or a batch of them, got shape "
                         f"{tuple(x.shape)}")
    return L.Svdvals.apply(x)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None) -> Tensor:
    """Matrix norms over the two dims: fro, nuc (sum of singular values), 2 / -2 (largest /
    smallest singular value), 1 / -1 (max / min column sum of |A|), inf / -inf (rows)."""
    op = "linalg.matrix_norm"
    x = _float_input(A, op, dtype)
    p = _ord(ord, op)
    if x.ndim < 2:
        raise ValueError(f"{op}: expected a tensor with 2 or more dimensions, got shape "
                         f"{tuple(x.shape)}")
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise ValueError(f"{op}: dim must be a pair of dims, got {dim!r}")
    r, c = _dim(dim[0], x.ndim, op), _dim(dim[1], x.ndim, op)
    if r == c:
        raise ValueError(f"{op}: dims must differ, got {dim!r}")
    if p == "fro":
        return x.norm(2, (r, c), keepdim)
    if p in ("nuc", 2.0, -2.0):
        s = svdvals(x.movedim((r, c), (-2, -1)))
        out = s.sum(-1) if p == "nuc" else s.amax(-1) if p == 2.0 else s.amin(-1)
        if keepdim:
            for d in sorted((r, c)):
                out = out.unsqueeze(d)
        return out
    if p in (1.0, -1.0, _INF, -_INF):
        inner, outer = (r, c) if abs(p) == 1.0 else (c, r)
        sums = x.abs().sum(inner, keepdim=True)
        out = sums.amax(outer, keepdim=True) if p > 0 else sums.amin(outer, keepdim=True)
        return out if keepdim else out.squeeze((r, c))
    raise ValueError(f"{op}: ord must be one of 'fro', 'nuc', inf, -inf, 1, -1, 2, -2, "
                     f"got {ord!r}")


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None) -> Tensor:
    """torch.linalg.norm: a vector norm over one dim (or all, when ord is None), a matrix
    norm over two (or over a 2-D input's both when ord is given and dim is None)."""
    op = "linalg.norm"
    x = _float_input(A, op, dtype)
    if dim is not None and not isinstance(dim, (tuple, list)):
        dim = (dim,)
    if ord is None:
        if isinstance(dim, (tuple, list)) and len(dim) == 2:
            return matrix_norm(x, "fro", dim, keepdim)
        return vector_norm(x, 2, dim, keepdim)
    if dim is None:
        if x.ndim not in (1, 2):
            raise ValueError(f"{op}: with ord={ord!r} and no dim the input must be 1-D or 2-D, "
                             f"got shape {tuple(x.shape)}")
        dim = tuple(range(x.ndim))
    if len(dim) == 2:
        return matrix_norm(x, ord, dim, keepdim)
    if len(dim) == 1:
        return vector_norm(x, ord, dim, keepdim)
    raise ValueError(f"{op}: dim must have 1 or 2 entries, got {dim!r}")


# -- products ---------------------------------------------------------------------------------
def addmv(input, mat, vec, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat @ vec)."""
    m, v = _tensor(mat, "addmv"), _tensor(vec, "addmv")
    if m.ndim != 2 or v.ndim != 1:
        raise ValueError(f"addmv: expected a matrix and a vector, got {_desc(m, v)}")
    return _scaled_sum("addmv", input, m @ v, beta, alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * outer(vec1, vec2)."""
    a, b = _tensor(vec1, "addr"), _tensor(vec2, "addr")
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"addr: expected two vectors, got {_desc(a, b)}")
    return _scaled_sum("addr", input, a.reshape(-1, 1) * b.reshape(1, -1), beta, alpha)


def vdot(input, other) -> Tensor:
    """sum(conj(input) * other) of two vectors (real tensors: the dot product)."""
    a, b = _tensor(input, "vdot"), _tensor(other, "vdot")
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"vdot: expected two vectors of one length, got {_desc(a, b)}")
    return a.dot(b)


class _LinalgNorms(_Linalg):
    """tl.linalg: det, inv, matrix_power, cross, and the norms above."""

    vector_norm = staticmethod(vector_norm)
    matrix_norm = staticmethod(matrix_norm)
    norm = staticmethod(norm)
    svdvals = staticmethod(svdvals)


linalg = _LinalgNorms()
