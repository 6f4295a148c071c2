"""torch.linalg's norms (vector_norm, matrix_norm, norm) and svdvals, with the products and
statistics that sit beside them in torch's docs: addmv, addr, vdot, cov, corrcoef. All compose
existing ops, except the singular values, which come from ops/linalg.py's Svdvals."""
from __future__ import annotations

import math
import numbers

from . import dtypes as D
from .functions_extra import _desc, _Linalg, _scaled_sum, _t
from .ops import linalg as L
from .tensor import Tensor, _axes, _dim

__all__ = ["addmv", "addr", "vdot", "cov", "corrcoef", "linalg"]

_INF = math.inf


def _float_input(x, op: str, dtype=None) -> Tensor:
    x = _t(x, op)
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
    return (a ** p).sum(axes, keepdim) ** (1.0 / p)


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
    m, v = _t(mat, "addmv"), _t(vec, "addmv")
    if m.ndim != 2 or v.ndim != 1:
        raise ValueError(f"addmv: expected a matrix and a vector, got {_desc(m, v)}")
    return _scaled_sum("addmv", input, m @ v, beta, alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * outer(vec1, vec2)."""
    a, b = _t(vec1, "addr"), _t(vec2, "addr")
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"addr: expected two vectors, got {_desc(a, b)}")
    return _scaled_sum("addr", input, a.reshape(-1, 1) * b.reshape(1, -1), beta, alpha)


def vdot(input, other) -> Tensor:
    """sum(conj(input) * other) of two vectors (real tensors: the dot product)."""
    a, b = _t(input, "vdot"), _t(other, "vdot")
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"vdot: expected two vectors of one length, got {_desc(a, b)}")
    return a.dot(b)


# -- statistics -------------------------------------------------------------------------------
def cov(input, *, correction=1, fweights=None, aweights=None) -> Tensor:
    """Covariance of the rows (variables) over the columns (observations), with optional
    integer frequency weights and float observation weights (NumPy's cov formula)."""
    x = _t(input, "cov")
    if x.ndim > 2:
        raise ValueError(f"cov: expected a 1-D or 2-D input, got shape {tuple(x.shape)}")
    if x.dtype.kind != "f":
        x = x.to(D.get_default_dtype())
    if x.ndim < 2:
        x = x.reshape(1, -1)
    n = x.shape[1]
    w = None
    for name, wt in (("fweights", fweights), ("aweights", aweights)):
        if wt is not None:
            wt = _t(wt, "cov")
            if wt.ndim != 1 or wt.shape[0] != n:
                raise ValueError(f"cov: {name} must be a vector of the {n} observations, got "
                                 f"shape {tuple(wt.shape)}")
            wt = wt.to(x.dtype)
            w = wt if w is None else w * wt
    if w is None:
        avg = x.mean(1, keepdim=True)
        factor = n - correction
    else:
        w_sum = w.sum()
        avg = (x * w).sum(1, keepdim=True) / w_sum
        if aweights is None or correction == 0:
            factor = w_sum - correction
        else:
            factor = w_sum - (w * aweights.to(x.dtype)).sum() / w_sum * correction
    xm = x - avg
    c = (xm * w if w is not None else xm) @ xm.mT
    if isinstance(factor, Tensor):
        factor = factor.clamp(min=0)
    else:
        factor = max(factor, 0)
    return (c / factor).squeeze()


def corrcoef(input) -> Tensor:
    """Pearson correlation of the rows: cov / (std_i std_j), clipped to [-1, 1] as torch."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    std = c.diagonal().sqrt()
    c = c / std.unsqueeze(-1)
    c = c / std.unsqueeze(0)
    return c.clamp(-1, 1)


class _LinalgNorms(_Linalg):
    """tl.linalg: functions_extra's det/inv/matrix_power/cross, and the norms above."""

    vector_norm = staticmethod(vector_norm)
    matrix_norm = staticmethod(matrix_norm)
    norm = staticmethod(norm)
    svdvals = staticmethod(svdvals)


linalg = _LinalgNorms()
