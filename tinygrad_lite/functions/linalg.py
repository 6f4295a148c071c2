"""BLAS and LAPACK (torch's "BLAS and LAPACK Operations"): matmul, mm/bmm/mv, dot/vdot/inner/
outer, addmm/baddbmm/addmv/addr, det/inverse/matrix_power, and the `tl.linalg` namespace
(norms, svdvals). They compose existing ops, except MatMul, Einsum and Svdvals in ops/linalg.py."""
from __future__ import annotations

import math
import numbers
from collections import namedtuple

import numpy as np

from .. import dtypes as D
from .._checks import broadcast_shape as _broadcast_shape
from .._checks import check_int
from .._checks import check_tensor as _tensor
from .._checks import describe as _desc
from .._checks import need_float as _need_float
from .._checks import tensor_or_array as _t
from ..autograd.autocast_mode import autocast_op
from ..backend import array_module
from ..ops import linalg as L
from ..ops.reduction import NormP
from ..ops.linalg import MatMul
from ..tensor import Tensor, _axes, _const, _dim, where
from .indexing import cat
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


@autocast_op("addmm")
def addmm(input, mat1, mat2, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2)."""
    m1, m2 = _tensor(mat1, "addmm"), _tensor(mat2, "addmm")
    if m1.ndim != 2 or m2.ndim != 2:
        raise ValueError(f"addmm: mat1 and mat2 must be matrices, got {_desc(m1, m2)}")
    return _scaled_sum("addmm", input, m1 @ m2, beta, alpha)


@autocast_op("baddbmm")
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




# -- checked matrix products (tl.mm/bmm/outer above stay the lenient matmul forms) --
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


@autocast_op("mm")
def _mm(input, mat2) -> Tensor:
    """Matrix product of two 2-D tensors."""
    a, b = _product_args("mm", input, mat2, (2, 2), "two matrices")
    return a @ b


@autocast_op("bmm")
def _bmm(input, mat2) -> Tensor:
    """Batched matrix product of (b, n, m) and (b, m, p)."""
    a, b = _product_args("bmm", input, mat2, (3, 3), "two 3-D tensors")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: batch sizes differ: {_desc(a, b)}")
    return a @ b


@autocast_op("mv")
def mv(input, vec) -> Tensor:
    """Matrix-vector product: (n, m) @ (m,) -> (n,)."""
    a, b = _product_args("mv", input, vec, (2, 1), "a matrix and a vector")
    return a @ b


@autocast_op("dot")
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
    if not D.is_floating(x.dtype):
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
@autocast_op("addmv")
def addmv(input, mat, vec, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat @ vec)."""
    m, v = _tensor(mat, "addmv"), _tensor(vec, "addmv")
    if m.ndim != 2 or v.ndim != 1:
        raise ValueError(f"addmv: expected a matrix and a vector, got {_desc(m, v)}")
    return _scaled_sum("addmv", input, m @ v, beta, alpha)


@autocast_op("addr")
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


# -- solvers and decompositions ---------------------------------------------------------------
EighResult = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
SlogdetResult = namedtuple("linalg_slogdet", ["sign", "logabsdet"])
SvdResult = namedtuple("linalg_svd", ["U", "S", "Vh"])
TorchSvdResult = namedtuple("svd", ["U", "S", "V"])
QrResult = namedtuple("linalg_qr", ["Q", "R"])
LstsqResult = namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
CholeskyExResult = namedtuple("linalg_cholesky_ex", ["L", "info"])
InvExResult = namedtuple("linalg_inv_ex", ["inverse", "info"])


def _matrix(A, op: str, square=False) -> Tensor:
    x = _float_input(A, op)
    if x.ndim < 2 or (square and x.shape[-1] != x.shape[-2]):
        what = "a square matrix" if square else "a matrix"
        raise ValueError(f"{op}: expected {what} or a batch of them, got shape "
                         f"{tuple(x.shape)} {x.dtype}")
    return x


def _batch_broadcast(a: Tensor, b: Tensor, op: str) -> tuple:
    try:
        batch = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    except ValueError:
        raise ValueError(f"{op}: batch dimensions of {_desc(a, b)} do not broadcast") from None
    return a.expand(*batch, *a.shape[-2:]), b.expand(*batch, *b.shape[-2:])


def solve(A, B, *, left=True) -> Tensor:
    """X with A X = B (X A = B when left=False); B may be a vector or a batch of them."""
    op = "linalg.solve"
    a, b = _matrix(A, op, square=True), _float_input(B, op)
    if a.dtype != b.dtype:
        raise TypeError(f"{op}: expected A and B of one dtype, got {_desc(a, b)}")
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    if vector:
        b = b.unsqueeze(-1)
    if not left:
        if vector:
            raise ValueError(f"{op}: left=False needs B to be a matrix, got {_desc(b)}")
        return solve(a.mT, b.mT).mT
    n = a.shape[-1]
    if b.shape[-2] != n:
        raise ValueError(f"{op}: A {tuple(a.shape)} and B {tuple(b.shape)} do not line up "
                         f"({n} != {b.shape[-2]})")
    a, b = _batch_broadcast(a, b, op)
    x = L.Solve.apply(a, b)
    return x.squeeze(-1) if vector else x


def cholesky(A, *, upper=False) -> Tensor:
    """The lower Cholesky factor L of a symmetric positive-definite A = L L^T (U = L^T if
    upper); only the lower triangle of A is read."""
    l_ = L.Cholesky.apply(_matrix(A, "linalg.cholesky", square=True))
    return l_.mT if upper else l_


def _info(a: Tensor, fails) -> Tensor:
    """torch's info: per matrix, 0 when fine, else the order of the first failing minor."""
    xp = array_module(a._data)
    info = np.zeros(a.shape[:-2], dtype=np.int32)
    host = np.asarray(a._data.get() if hasattr(a._data, "get") else a._data)
    for idx in np.ndindex(info.shape):
        info[idx] = fails(host[idx])
    return _const(xp.asarray(info))


def _first_bad_minor(m) -> int:
    for k in range(1, m.shape[-1] + 1):
        try:
            np.linalg.cholesky(m[:k, :k])
        except np.linalg.LinAlgError:
            return k
    return 0


def cholesky_ex(A, *, upper=False, check_errors=False) -> tuple:
    """(L, info): cholesky that reports failure in info (the order of the first leading minor
    that is not positive-definite) instead of raising, unless check_errors."""
    a = _matrix(A, "linalg.cholesky_ex", square=True)
    sym = a.tril() + a.tril(-1).mT
    info = _info(sym, _first_bad_minor)
    if not bool((info._data == 0).all()):
        if check_errors:
            raise RuntimeError(f"linalg.cholesky_ex: the input (batch of shape "
                               f"{tuple(a.shape)}) is not positive-definite")
        xp = array_module(a._data)
        return CholeskyExResult(_const(xp.full(a.shape, xp.nan, dtype=a.dtype)), info)
    return CholeskyExResult(cholesky(a, upper=upper), info)


def inv_ex(A, *, check_errors=False) -> tuple:
    """(inverse, info): inverse that reports a singular matrix in info instead of raising."""
    a = _matrix(A, "linalg.inv_ex", square=True)

    def singular(m) -> int:
        try:
            np.linalg.inv(m)
            return 0
        except np.linalg.LinAlgError:
            return 1
    info = _info(a, singular)
    if not bool((info._data == 0).all()):
        if check_errors:
            raise RuntimeError(f"linalg.inv_ex: the matrix (batch of shape {tuple(a.shape)}) "
                               "is singular")
        xp = array_module(a._data)
        return InvExResult(_const(xp.full(a.shape, xp.nan, dtype=a.dtype)), info)
    return InvExResult(inverse(a), info)


def slogdet(A) -> tuple:
    """(sign, log |det A|); the gradient flows through logabsdet."""
    a = _matrix(A, "linalg.slogdet", square=True)
    xp = array_module(a._data)
    sign = _const(xp.asarray(xp.linalg.slogdet(a._data)[0]).astype(a.dtype))
    return SlogdetResult(_zero_grad(sign, a), L.LogAbsDet.apply(a))


def _zero_grad(value: Tensor, a: Tensor) -> Tensor:
    """value, in a's graph with a zero gradient (torch's outputs that are constant almost
    everywhere, such as the sign of det, still require grad)."""
    if not a.requires_grad:
        return value
    xp = array_module(value._data)
    link = a.sum((-2, -1)) if tuple(value.shape) == tuple(a.shape[:-2]) else a.flatten()[:0]
    return where(_const(xp.ones(value.shape, dtype=bool)), value, link)


def logdet(input) -> Tensor:
    """log det A: NaN where det < 0, -inf where it is 0."""
    sign, logabs = slogdet(input)
    return where(sign < 0, math.nan, logabs)


def eigh(A, UPLO="L") -> tuple:
    """(eigenvalues ascending, eigenvectors as columns) of a symmetric A, read from its lower
    (UPLO='L') or upper triangle."""
    op = "linalg.eigh"
    a = _matrix(A, op, square=True)
    if UPLO not in ("L", "U"):
        raise ValueError(f"{op}: UPLO must be 'L' or 'U', got {UPLO!r}")
    n, batch = a.shape[-1], tuple(a.shape[:-2])
    v, w = L.unpack(L.Eigh.apply(a, uplo=UPLO), batch, (n, n), (n,))
    return EighResult(w, v)


def eigvalsh(A, UPLO="L") -> Tensor:
    """The eigenvalues of a symmetric A, ascending."""
    return eigh(A, UPLO).eigenvalues


def svd(A, full_matrices=True, *, driver=None) -> tuple:
    """(U, S, Vh) with A = U diag(S) Vh; with full_matrices the extra columns of U and rows of
    Vh get no gradient (torch's rule)."""
    a = _matrix(A, "linalg.svd")
    m, n = a.shape[-2:]
    k, batch = min(m, n), tuple(a.shape[:-2])
    u, s, vh = L.unpack(L.Svd.apply(a), batch, (m, k), (k,), (k, n))
    if full_matrices and m != n:
        xp = array_module(a._data)
        uf, _, vhf = xp.linalg.svd(a._data, full_matrices=True)
        if m > k:
            u = cat([u, _const(uf[..., :, k:].astype(a.dtype))], -1)
        if n > k:
            vh = cat([vh, _const(vhf[..., k:, :].astype(a.dtype))], -2)
    return SvdResult(u, s, vh)


def torch_svd(input, some=True, compute_uv=True) -> tuple:
    """torch.svd: (U, S, V) with V = Vh^T; some=False gives the full U and V."""
    if not compute_uv:
        x = _matrix(input, "svd")
        xp = array_module(x._data)
        m, n = x.shape[-2:]
        zeros = (_const(xp.zeros(x.shape[:-2] + (m, m if not some else min(m, n)), x.dtype)),
                 _const(xp.zeros(x.shape[:-2] + (n, n if not some else min(m, n)), x.dtype)))
        return TorchSvdResult(zeros[0], svdvals(x), zeros[1])
    u, s, vh = svd(input, full_matrices=not some)
    return TorchSvdResult(u, s, vh.mT)


def pinv(A, *, atol=None, rtol=None, hermitian=False) -> Tensor:
    """The Moore-Penrose pseudo-inverse by the SVD; singular values at most
    max(atol, rtol * s_max) count as zero (rtol defaults to eps * max(m, n) without atol)."""
    a = _matrix(A, "linalg.pinv")
    if hermitian:     # torch reads the lower triangle only, and differentiates as if it were A
        a = a + (a.tril() + a.tril(-1).mT - a).detach()
    if rtol is None:
        rtol = max(a.shape[-2:]) * float(np.finfo(a.dtype).eps) if atol is None else 0.0
    return L.Pinv.apply(a, atol=0.0 if atol is None else float(atol), rtol=float(rtol))


def pinverse(input, rcond=1e-15) -> Tensor:
    """torch.pinverse: pinv with a relative cut-off rcond."""
    return pinv(input, rtol=rcond)


def lstsq(A, B, rcond=None, *, driver=None) -> tuple:
    """The least-squares solution X of A X = B by the pseudo-inverse (so its gradient is
    torch's), with torch's CPU extras per driver: rank for gelsy (the default), gelsd and
    gelss; singular values for gelsd and gelss; residuals for m > n at full rank except
    with gelsy."""
    op = "linalg.lstsq"
    a, b = _matrix(A, op), _float_input(B, op)
    driver = driver or "gelsy"
    if driver not in ("gels", "gelsy", "gelsd", "gelss"):
        raise ValueError(f"{op}: driver must be one of gels, gelsy, gelsd, gelss, got "
                         f"{driver!r}")
    vector = b.ndim == a.ndim - 1
    bm = b.unsqueeze(-1) if vector else b
    if bm.shape[-2] != a.shape[-2]:
        raise ValueError(f"{op}: A {tuple(a.shape)} and B {tuple(b.shape)} do not line up")
    m, n = a.shape[-2:]
    xp = array_module(a._data)
    s = xp.linalg.svd(a._data, compute_uv=False)
    if rcond is None:
        rcond = float(np.finfo(a.dtype).eps) * max(m, n)
    smax = s.max(axis=-1, keepdims=True) if s.shape[-1] else s[..., :1]
    rank = (s > rcond * smax).sum(axis=-1).astype(np.int64)
    x = pinv(a, rtol=rcond) @ bm
    x = x.squeeze(-1) if vector else x
    empty = _zero_grad(_const(xp.zeros((0,), dtype=a.dtype)), a)
    residuals = empty
    if m > n and driver != "gelsy" and bool((rank == n).all()):
        r = a @ (x.unsqueeze(-1) if vector else x) - bm
        residuals = (r * r).sum(-2)
        residuals = residuals.squeeze(-1) if vector else residuals
    rank_t = _const(rank) if driver != "gels" else _const(xp.zeros((0,), dtype=np.int64))
    # torch differentiates the solution and the residuals, not the singular values
    sv = _const(s.astype(a.dtype)) if driver in ("gelsd", "gelss") else empty
    return LstsqResult(x, residuals, rank_t, sv)


def qr(A, mode="reduced") -> tuple:
    """(Q, R) with A = Q R, Q's columns orthonormal and R upper triangular; mode 'reduced'
    (k = min(m, n) columns), 'complete' (all m) or 'r' (R only, Q empty)."""
    op = "linalg.qr"
    a = _matrix(A, op)
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"{op}: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    m, n = a.shape[-2:]
    k = m if mode == "complete" else min(m, n)
    q, r = L.unpack(L.Qr.apply(a, mode="complete" if mode == "complete" else "reduced"),
                    tuple(a.shape[:-2]), (m, k), (k, n))
    if mode == "r":
        q = _const(array_module(a._data).zeros((0,), dtype=a.dtype))
    return QrResult(q, r)


def torch_qr(input, some=True) -> tuple:
    """torch.qr: linalg.qr with some=True as mode 'reduced', False as 'complete'."""
    return qr(input, "reduced" if some else "complete")


def torch_cholesky(input, upper=False) -> Tensor:
    """torch.cholesky: upper is positional here."""
    return cholesky(input, upper=upper)


def solve_ex(A, B, *, left=True, check_errors=False) -> tuple:
    """(solve(A, B), info): info is 1 for a singular matrix (the result then NaN) unless
    check_errors."""
    a = _matrix(A, "linalg.solve_ex", square=True)
    info = inv_ex(a).info
    if bool((info._data == 0).all()):
        return (solve(a, B, left=left), info)
    if check_errors:
        raise RuntimeError(f"linalg.solve_ex: the matrix (batch of shape {tuple(a.shape)}) is "
                           "singular")
    xp = array_module(a._data)
    out = solve(a.detach() + _const(xp.eye(a.shape[-1], dtype=a.dtype)), B, left=left)
    return (_const(xp.full(out.shape, xp.nan, dtype=out.dtype)), info)


def _triangle(a: Tensor, upper: bool, unitriangular=False) -> Tensor:
    t = a.triu() if upper else a.tril()
    if unitriangular:
        xp = array_module(a._data)
        t = t - t.diagonal(0, -2, -1).diag_embed() + _const(xp.eye(a.shape[-1], dtype=a.dtype))
    return t


def solve_triangular(A, B, *, upper, left=True, unitriangular=False) -> Tensor:
    """X with A X = B for a triangular A (only its upper or lower triangle is read; the
    gradient lands there)."""
    a = _matrix(A, "linalg.solve_triangular", square=True)
    return solve(_triangle(a, upper, unitriangular), B, left=left)


def _as_factor(L_: Tensor, upper: bool) -> Tensor:
    """L's triangle as the value, with the whole of L differentiated (torch's rule)."""
    return L_ + (_triangle(L_, upper) - L_).detach()


def cholesky_solve(B, L, upper=False) -> Tensor:
    """X with (L L^T) X = B (U^T U when upper), from a Cholesky factor."""
    f = _as_factor(_matrix(L, "cholesky_solve", square=True), upper)
    return solve(f.mT @ f if upper else f @ f.mT, B)


def cholesky_inverse(L, upper=False) -> Tensor:
    """(L L^T)^-1 (U^T U when upper) from a Cholesky factor."""
    f = _as_factor(_matrix(L, "cholesky_inverse", square=True), upper)
    return inverse(f.mT @ f if upper else f @ f.mT)


def multi_dot(tensors) -> Tensor:
    """The product of a chain of matrices; a 1-D first (last) one is a row (column) vector."""
    ts = [_tensor(t, "linalg.multi_dot") for t in tensors]
    if len(ts) < 2:
        raise ValueError(f"linalg.multi_dot: expected at least 2 tensors, got {len(ts)}")
    if any(t.ndim != 2 for t in ts[1:-1]) or ts[0].ndim not in (1, 2) or ts[-1].ndim not in (
            1, 2):
        raise ValueError(f"linalg.multi_dot: expected 2-D tensors (1-D at the ends), got "
                         f"{[tuple(t.shape) for t in ts]}")
    out = ts[0]
    for t in ts[1:]:
        out = out @ t
    return out


def vecdot(x, y, *, dim=-1) -> Tensor:
    """sum(x * y) along dim (real tensors: no conjugation)."""
    return (_tensor(x, "linalg.vecdot") * _tensor(y, "linalg.vecdot")).sum(dim)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False) -> Tensor:
    """The count of singular values above max(atol, rtol * s_max) (int64)."""
    a = _matrix(A, "linalg.matrix_rank")
    if rtol is None:
        rtol = max(a.shape[-2:]) * float(np.finfo(a.dtype).eps) if atol is None else 0.0
    xp = array_module(a._data)
    s = xp.abs(xp.linalg.eigvalsh(a._data)) if hermitian else \
        xp.linalg.svd(a._data, compute_uv=False)
    smax = s.max(axis=-1, keepdims=True) if s.shape[-1] else s[..., :1]
    cut = xp.maximum(0.0 if atol is None else atol, rtol * smax)
    return _const((s > cut).sum(axis=-1).astype(np.int64))


def linalg_diagonal(A, *, offset=0, dim1=-2, dim2=-1) -> Tensor:
    """torch.linalg.diagonal: the diagonal over the last two dims by default."""
    return _tensor(A, "linalg.diagonal").diagonal(offset, dim1, dim2)


class _LinalgSolvers(_LinalgNorms):
    """tl.linalg: torch.linalg's names (products, norms, solvers and decompositions)."""

    solve = staticmethod(solve)
    cholesky = staticmethod(cholesky)
    cholesky_ex = staticmethod(cholesky_ex)
    inv_ex = staticmethod(inv_ex)
    slogdet = staticmethod(slogdet)
    eigh = staticmethod(eigh)
    eigvalsh = staticmethod(eigvalsh)
    svd = staticmethod(svd)
    pinv = staticmethod(pinv)
    lstsq = staticmethod(lstsq)
    qr = staticmethod(qr)
    solve_ex = staticmethod(solve_ex)
    solve_triangular = staticmethod(solve_triangular)
    multi_dot = staticmethod(multi_dot)
    vecdot = staticmethod(vecdot)
    matrix_rank = staticmethod(matrix_rank)
    diagonal = staticmethod(linalg_diagonal)


linalg = _LinalgSolvers()
