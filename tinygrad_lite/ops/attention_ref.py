"""Softmax attention in NumPy: a plain reference and a tiled twin of kernels/attention.cu.

Shapes are [..., L, D] (usually [batch, heads, seq, head_dim]); arrays in, arrays out.
    S = scale * Q K^T (+ mask),  P = softmax(S),  O = P V,  LSE = log(sum_j exp(S_ij))
Causal masking is top-left aligned, as in torch: query i sees keys j <= i. `kv_len` (ints, one per
batch entry, i.e. per q.shape[0]) hides keys j >= kv_len[b], like a key-padding mask. A row
that sees no key at all gives O = 0, LSE = -inf and zero gradients, never NaN.

The reference builds the whole [Lq, Lk] score matrix. The tiled version follows FlashAttention-2
(Dao, 2023, Algorithms 1 and 2) with the CUDA kernel's tile sizes and arithmetic: float32
accumulation, exp2 with log2(e) folded into the scale, a finite stand-in for an all -inf
running max, causal tiles above the diagonal skipped and only diagonal / tail tiles masked.
It needs O(L * tile) memory, so it doubles as memory-efficient attention on the CPU for long
sequences.
"""
from __future__ import annotations

import math

import numpy as np

BLOCK_M = 64   # query rows per tile (the kernels' BLOCK_M)
BLOCK_N = 64   # key rows per tile (the kernels' BLOCK_N)
LOG2E = 1.4426950408889634


def _check(q, k, v, op):
    if q.ndim < 2 or q.ndim != k.ndim or k.shape != v.shape:
        raise ValueError(f"{op}: expected q [..., Lq, D] and k, v [..., Lk, D] with equal ranks, "
                         f"got {q.shape}, {k.shape}, {v.shape}")
    if q.shape[:-2] != k.shape[:-2] or q.shape[-1] != k.shape[-1]:
        raise ValueError(f"{op}: q {q.shape} and k {k.shape} differ in batch dims or head_dim")


def _scale(scale, d):
    return 1.0 / math.sqrt(d) if scale is None else float(scale)


def _keep_mask(q_shape, k_shape, causal, mask, kv_len):
    """Boolean [..., Lq, Lk] (broadcastable) of the scores that count, or None when all do."""
    lq, lk = q_shape[-2], k_shape[-2]
    keep = None
    if causal:
        keep = np.arange(lk)[None, :] <= np.arange(lq)[:, None]
    if kv_len is not None:
        kl = np.asarray(kv_len).reshape((-1,) + (1,) * (len(q_shape) - 1))
        kp = np.arange(lk) < kl                                # [B, 1.., 1, Lk]
        keep = kp if keep is None else keep & kp
    if mask is not None and np.asarray(mask).dtype == np.bool_:
        keep = mask if keep is None else keep & mask
    return keep


def _scores(q, k, scale, causal, mask, kv_len):
    s = (q @ np.swapaxes(k, -1, -2)) * scale
    if mask is not None and np.asarray(mask).dtype != np.bool_:
        s = s + mask
    keep = _keep_mask(q.shape, k.shape, causal, mask, kv_len)
    if keep is not None:
        s = np.where(keep, s, -np.inf)
    return s


def attention_reference_forward(q, k, v, scale=None, causal=False, mask=None, kv_len=None,
                                dtype=np.float64):
    """O = softmax(scale * Q K^T + mask) V and LSE = logsumexp of each score row (float64)."""
    _check(q, k, v, "attention_reference_forward")
    q, k, v = (np.asarray(a, dtype) for a in (q, k, v))
    s = _scores(q, k, _scale(scale, q.shape[-1]), causal, mask, kv_len)
    m = s.max(-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)                       # fully masked row: any finite shift
    p = np.exp(s - m)
    l = p.sum(-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        o = np.where(l > 0, (p @ v) / np.where(l > 0, l, 1), 0.0)
        lse = np.where(l[..., 0] > 0, m[..., 0] + np.log(l[..., 0]), -np.inf)
    return o, lse


def attention_reference_backward(q, k, v, o, lse, do, scale=None, causal=False, mask=None,
                                 kv_len=None, dtype=np.float64):
    """dV = P^T dO, dS = P * (dO V^T - rowsum(dO * O)), dQ = scale dS K, dK = scale dS^T Q."""
    _check(q, k, v, "attention_reference_backward")
    q, k, v, o, do = (np.asarray(a, dtype) for a in (q, k, v, o, do))
    sc = _scale(scale, q.shape[-1])
    s = _scores(q, k, sc, causal, mask, kv_len)
    lse = np.asarray(lse, dtype)[..., None]
    with np.errstate(invalid="ignore"):
        p = np.where(np.isfinite(lse) & np.isfinite(s), np.exp(s - lse), 0.0)
    dv = np.swapaxes(p, -1, -2) @ do
    dp = do @ np.swapaxes(v, -1, -2)
    dsum = (do * o).sum(-1, keepdims=True)
    ds = p * (dp - dsum)
    return sc * (ds @ k), sc * (np.swapaxes(ds, -1, -2) @ q), dv


def _kv_end(kv_len, lead, lk):
    """Per-batch end of the visible keys, broadcast over the leading dims and flattened."""
    if kv_len is None:
        return np.full(int(np.prod(lead, dtype=np.int64)), lk, np.int64)
    kl = np.minimum(np.asarray(kv_len, np.int64).reshape(-1), lk)
    if kl.shape[0] != lead[0]:
        raise ValueError(f"attention: kv_len has {kl.shape[0]} entries for batch size {lead[0]}")
    return np.broadcast_to(kl.reshape((-1,) + (1,) * (len(lead) - 1)), lead).reshape(-1)


def attention_tiled_forward(q, k, v, scale=None, causal=False, kv_len=None,
                            block_m=BLOCK_M, block_n=BLOCK_N, acc_dtype=np.float32):
    """FlashAttention-2 forward, tile by tile as kernels/attention.cu does it; returns (O, LSE)."""
    _check(q, k, v, "attention_tiled_forward")
    lead, (lq, d), lk = q.shape[:-2], q.shape[-2:], k.shape[-2]
    bh = int(np.prod(lead, dtype=np.int64))
    qf, kf, vf = (np.asarray(a).reshape(bh, -1, d) for a in (q, k, v))
    kend = _kv_end(kv_len, lead, lk)                           # [bh]
    s2 = acc_dtype(_scale(scale, d) * LOG2E)                   # scores in log2 units
    o = np.empty((bh, lq, d), q.dtype)
    lse = np.empty((bh, lq), np.promote_types(acc_dtype, np.float32))  # float32 on the GPU
    for m0 in range(0, lq, block_m):
        rows = np.arange(m0, min(m0 + block_m, lq))
        qt = qf[:, rows].astype(acc_dtype)
        m = np.full((bh, rows.size), -np.inf, acc_dtype)
        l = np.zeros((bh, rows.size), acc_dtype)
        acc = np.zeros((bh, rows.size, d), acc_dtype)
        n_stop = int(kend.max())
        if causal:                                             # tiles wholly above the diagonal
            n_stop = min(n_stop, m0 + block_m)
        for n0 in range(0, n_stop, block_n):
            cols = np.arange(n0, min(n0 + block_n, lk))
            kt, vt = kf[:, cols].astype(acc_dtype), vf[:, cols].astype(acc_dtype)
            s = (qt @ np.swapaxes(kt, -1, -2)) * s2
            if (causal and n0 + block_n - 1 > m0) or n0 + block_n > kend.min():
                keep = cols[None, None, :] < kend[:, None, None]
                if causal:
                    keep = keep & (cols[None, None, :] <= rows[None, :, None])
                s = np.where(keep, s, -np.inf)
            m_new = np.maximum(m, s.max(-1))
            m_use = np.where(m_new == -np.inf, 0, m_new).astype(acc_dtype)
            p = np.exp2(s - m_use[..., None])
            alpha = np.exp2(m - m_use)
            l = l * alpha + p.sum(-1)
            acc = acc * alpha[..., None] + p.astype(q.dtype).astype(acc_dtype) @ vt
            m = m_new
        with np.errstate(divide="ignore", invalid="ignore"):
            o[:, rows] = np.where(l[..., None] > 0, acc / np.where(l > 0, l, 1)[..., None], 0)
            lse[:, rows] = np.where(l > 0, (m + np.log2(np.where(l > 0, l, 1))) / LOG2E, -np.inf)
    return o.reshape(q.shape), lse.reshape(q.shape[:-1])


def attention_tiled_backward(q, k, v, o, lse, do, scale=None, causal=False, kv_len=None,
                             block_m=BLOCK_M, block_n=BLOCK_N, acc_dtype=np.float32):
    """FlashAttention-2 backward: per key tile, sweep query tiles, recompute P from LSE."""
    _check(q, k, v, "attention_tiled_backward")
    lead, (lq, d), lk = q.shape[:-2], q.shape[-2:], k.shape[-2]
    bh = int(np.prod(lead, dtype=np.int64))
    qf, kf, vf, of, dof = (np.asarray(a).reshape(bh, -1, d) for a in (q, k, v, o, do))
    lse2 = np.asarray(lse, acc_dtype).reshape(bh, lq) * acc_dtype(LOG2E)
    sc = acc_dtype(_scale(scale, d))
    kend = _kv_end(kv_len, lead, lk)
    dsum = (dof.astype(acc_dtype) * of.astype(acc_dtype)).sum(-1)          # D = rowsum(dO * O)
    dq = np.zeros((bh, lq, d), acc_dtype)                      # the kernel's float32 workspace
    dk = np.empty(k.shape, k.dtype).reshape(bh, lk, d)
    dv = np.empty(v.shape, v.dtype).reshape(bh, lk, d)
    for n0 in range(0, lk, block_n):
        cols = np.arange(n0, min(n0 + block_n, lk))
        kt, vt = kf[:, cols].astype(acc_dtype), vf[:, cols].astype(acc_dtype)
        dk_acc = np.zeros((bh, cols.size, d), acc_dtype)
        dv_acc = np.zeros((bh, cols.size, d), acc_dtype)
        m_start = (n0 // block_m) * block_m if causal else 0   # query tiles that see this key tile
        for m0 in range(m_start, lq if n0 < kend.max() else 0, block_m):
            rows = np.arange(m0, min(m0 + block_m, lq))
            qt, dot = qf[:, rows].astype(acc_dtype), dof[:, rows].astype(acc_dtype)
            s = (qt @ np.swapaxes(kt, -1, -2)) * (sc * acc_dtype(LOG2E))
            lr = lse2[:, rows, None]
            with np.errstate(invalid="ignore"):
                p = np.where(np.isfinite(lr), np.exp2(s - lr), 0).astype(acc_dtype)
            if (causal and n0 + block_n - 1 > m0) or n0 + block_n > kend.min():
                keep = cols[None, None, :] < kend[:, None, None]
                if causal:
                    keep = keep & (cols[None, None, :] <= rows[None, :, None])
                p = np.where(keep, p, 0)
            dp = dot @ np.swapaxes(vt, -1, -2)
            ds = p * (dp - dsum[:, rows, None])
            p_t, ds_t = (a.astype(q.dtype).astype(acc_dtype) for a in (p, ds))  # operand rounding
            dv_acc += np.swapaxes(p_t, -1, -2) @ dot
            dk_acc += np.swapaxes(ds_t, -1, -2) @ qt
            dq[:, rows] += (ds_t @ kt) * sc
        dk[:, cols] = dk_acc * sc
        dv[:, cols] = dv_acc
    return dq.astype(q.dtype).reshape(q.shape), dk.reshape(k.shape), dv.reshape(v.shape)
