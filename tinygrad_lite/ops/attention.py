"""Scaled dot product attention as one Function (CUDA kernel on "cuda", batched matmuls on CPU).

    S = scale Q K^T + bias, with entries outside `keep` (and above the diagonal when causal) = -inf
    P = softmax(S) over keys, 0 on a row that sees no key;  O = (P * drop) V
Shapes: Q [..., L, E], K [..., S, E], V [..., S, Ev]; batch dims broadcast; bias and keep
broadcast to [..., L, S]. `attention_reference` is the same math composed from Tensor ops: the
tests hold the two together, and backward reuses it to rebuild P as a graph when asked for one
(create_graph=True), so double backward is exact.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.function import constant as _const
from ..autograd.grad_mode import state
from ..backend import array_module, device_of

# a finite stand-in for -inf in the composed path: exp(_NEG - max) is 0, and no inf - inf = NaN
_NEG = -1e30
# above this many scores (batch x L x S) an unmasked CPU call takes the tiled path of
# ops/attention_ref.py, which holds O(L x tile) of them instead of all (2**26 floats = 256 MiB)
TILED_MIN_SCORES = 1 << 26
TILE = 256


def causal_keep(xp, lq: int, lk: int):
    """[L, S] bool: query i sees key j <= i (top-left aligned, as torch's is_causal)."""
    return xp.arange(lk)[None, :] <= xp.arange(lq)[:, None]


def _keep_all(xp, keep, causal, lq, lk):
    if causal:
        c = causal_keep(xp, lq, lk)
        keep = c if keep is None else keep & c
    return keep


class ScaledDotProductAttention(Function):
    """O = softmax(scale Q K^T + M) V;  dV = P^T dO;  dP = dO V^T;  dS = P (dP - rowsum(dP P));
    dQ = scale dS K;  dK = scale dS^T Q;  dM = dS (the engine sums it to the mask's shape)"""

    def forward(self, q, k, v, bias, keep=None, causal=False, scale=1.0, drop=None):
        self.keep, self.causal, self.scale, self.drop = keep, causal, scale, drop
        self.kernel = False
        if device_of(q) == "cuda":
            from ..backend import kernels
            fits = kernels.supports_attention(
                q, k, v, mask=None if bias is None and keep is None else True,
                dropout_p=0.0 if drop is None else 1.0, causal=causal)
            if not fits:
                kernels.record("attention_forward", False)   # the launcher counts its own use
            else:
                o, lse = kernels.attention_forward(q, k, v, scale, causal)
                self.kernel = True
                self.save_for_backward(q, k, v, bias, o, lse)
                return o
        if self._tiled_fits(q, k, v, bias, keep, drop):
            from . import attention_ref
            o, lse = attention_ref.attention_tiled_forward(q, k, v, scale, causal, block_m=TILE,
                                                           block_n=TILE, acc_dtype=q.dtype.type)
            self.kernel = "tiled"
            self.save_for_backward(q, k, v, bias, o, lse)
            return o
        xp = array_module(q)
        s = q @ xp.swapaxes(k, -1, -2)
        s *= scale
        if bias is not None:
            s = s + bias
        keep = _keep_all(xp, keep, causal, q.shape[-2], k.shape[-2])
        if keep is not None:
            s = xp.where(keep, s, -xp.inf)
        m = s.max(axis=-1, keepdims=True)
        # a row of -inf only: shift by 0, so exp gives 0s and the row's P stays 0 (never NaN)
        m = xp.where(xp.isfinite(m), m, 0).astype(s.dtype, copy=False)
        s -= m
        p = xp.exp(s, out=s)
        total = p.sum(axis=-1, keepdims=True)
        total = xp.where(total == 0, 1, total)   # a masked-out row; no boolean index (a sync)
        p /= total
        o = (p if drop is None else p * drop) @ v
        self.save_for_backward(q, k, v, bias, p, None)
        return o

    @staticmethod
    def _tiled_fits(q, k, v, bias, keep, drop) -> bool:
        if device_of(q) != "cpu" or bias is not None or keep is not None or drop is not None:
            return False
        if k.shape != v.shape or q.shape[:-2] != k.shape[:-2]:
            return False
        return q.size // q.shape[-1] * k.shape[-2] >= TILED_MIN_SCORES

    def backward(self, grad):
        q, k, v, bias, p, lse = self.saved_tensors
        need_q, need_k, need_v, need_bias = self.needs_input_grad
        if self.kernel == "tiled":
            if not state.grad_enabled:
                from . import attention_ref
                dq, dk, dv = attention_ref.attention_tiled_backward(
                    q._data, k._data, v._data, p._data, lse._data, grad._data, self.scale,
                    self.causal, block_m=TILE, block_n=TILE, acc_dtype=q.dtype.type)
                return (_const(dq) if need_q else None, _const(dk) if need_k else None,
                        _const(dv) if need_v else None, None)
            p = None
        elif self.kernel:
            from ..backend import kernels
            if not state.grad_enabled:
                dq, dk, dv = kernels.attention_backward(q._data, k._data, v._data, p._data,
                                                        lse._data, grad._data, self.scale,
                                                        self.causal)
                return (_const(dq) if need_q else None, _const(dk) if need_k else None,
                        _const(dv) if need_v else None, None)
            kernels.record("attention_backward", False)
            p = None
        if state.grad_enabled or p is None:
            p = attention_probs(q, k, bias, self.keep, self.causal, self.scale)
        pd = p if self.drop is None else p * _const(self.drop)
        dv = pd.mT @ grad if need_v else None
        dq = dk = d_bias = None
        if need_q or need_k or need_bias:
            dp = grad @ v.mT
            if self.drop is not None:
                dp = dp * _const(self.drop)
            ds = p * (dp - (dp * p).sum(dim=-1, keepdim=True))
            dq = (ds @ k) * self.scale if need_q else None
            dk = (ds.mT @ q) * self.scale if need_k else None
            d_bias = ds if need_bias else None
        return dq, dk, dv, d_bias


def attention_probs(q, k, bias=None, keep=None, causal=False, scale=1.0):
    """P = softmax(scale Q K^T + bias) over allowed keys, in Tensor ops; rows with no key are 0."""
    xp = array_module(q._data)
    s = (q @ k.mT) * scale
    if bias is not None:
        s = s + bias
        finite = bias._data != -xp.inf
        keep = finite if keep is None else keep & finite
    keep = _keep_all(xp, keep, causal, q.shape[-2], k.shape[-2])
    if keep is None:
        return s.softmax(-1)
    s = s.where(_const(keep), _NEG)
    p = s.softmax(-1)
    seen = xp.broadcast_to(keep, s.shape).any(axis=-1, keepdims=True)
    # rows that see no key give P = 0; the GPU multiplies unasked (asking would be a sync)
    if device_of(q._data) == "cuda" or not bool(seen.all()):
        p = p * _const(seen.astype(p.dtype))
    return p


def attention_reference(q, k, v, bias=None, keep=None, causal=False, scale=1.0, drop=None):
    """The composed oracle: (P * drop) @ V with P from attention_probs."""
    p = attention_probs(q, k, bias, keep, causal, scale)
    if drop is not None:
        p = p * _const(drop)
    return p @ v
