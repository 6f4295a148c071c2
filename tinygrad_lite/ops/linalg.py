"""Matrix products."""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import array_module


class MatMul(Function):
    """y = a @ b (batched, broadcast);  da = dy @ b^T;  db = a^T @ dy (engine sums batch dims)"""

    def forward(self, a, b):
        need_a, need_b = self.needs_input_grad
        self.save_for_backward(a if need_b else None, b if need_a else None)
        return array_module(a).matmul(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        return (grad @ b.mT if self.needs_input_grad[0] else None,
                a.mT @ grad if self.needs_input_grad[1] else None)


def matmul(a, b):
    """torch.matmul: 1-D operands are promoted to matrices and the added dimension removed."""
    from ..tensor import Tensor
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
            import numpy as np
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


def _inv(xp, a, op):
    try:
        return xp.linalg.inv(a)
    except xp.linalg.LinAlgError:
        raise RuntimeError(f"{op}: the matrix (batch of shape {tuple(a.shape)}, {a.dtype}) is "
                           "singular") from None


class Inverse(Function):
    """y = a^-1 (batched);  da = -y^T @ dy @ y^T"""

    def forward(self, a):
        y = _inv(array_module(a), a, "inverse")
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        yt = y.mT
        return -(yt @ grad @ yt)


class Det(Function):
    """y = det(a) (batched);  da = dy * y * a^-T  (needs a invertible)"""

    def forward(self, a):
        xp = array_module(a)
        y = xp.asarray(xp.linalg.det(a))     # NumPy hands back a scalar for one matrix
        self.save_for_backward(a, y)
        return y

    def backward(self, grad):
        a, y = self.saved_tensors
        if not (y._data != 0).all():
            raise RuntimeError(f"det: backward at a singular matrix (shape {tuple(a.shape)}) is "
                               "not supported")
        return (grad * y).unsqueeze(-1).unsqueeze(-1) * Inverse.apply(a).mT


class Svdvals(Function):
    """s = singular values of a (batched, descending);  da = U diag(ds) V^H
    (exact where the singular values are distinct, as torch's)"""

    def forward(self, a):
        xp = array_module(a)
        if not self.needs_input_grad[0]:
            return xp.linalg.svd(a, compute_uv=False).astype(a.dtype, copy=False)
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        self.save_for_backward(u, vh)
        return s.astype(a.dtype, copy=False)

    def backward(self, grad):
        u, vh = self.saved_tensors
        return (u * grad.unsqueeze(-2)) @ vh
