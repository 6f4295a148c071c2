"""Attention functions with torch.nn.functional's names and semantics."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ... import random
from ..._checks import check_tensor
from ...autograd.autocast_mode import autocast_op
from ...dtypes import is_floating
from ...ops.attention import ScaledDotProductAttention, attention_probs
from ...tensor import Tensor
from .dropout import dropout as _dropout
from .linear import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _desc(t: Tensor) -> str:
    return f"{tuple(t.shape)} {t.dtype} on {t.device}"


def _split_mask(mask, target: Tensor, op: str, name: str, keep_is_true: bool):
    """A bool or float mask -> (float bias Tensor or None, bool keep array or None).

    keep_is_true: True means a True entry takes part (SDPA); False means True hides (MHA)."""
    if mask is None:
        return None, None
    check_tensor(mask, op, name=name)
    if mask.device != target.device:
        raise RuntimeError(f"{op}: {name} {_desc(mask)} is not on the device of query "
                           f"{_desc(target)}")
    if mask.dtype.kind == "b":
        return None, (mask._data if keep_is_true else ~mask._data)
    if not is_floating(mask.dtype):
        raise TypeError(f"{op}: {name} must be bool or floating point, got {_desc(mask)}")
    return (mask if mask.dtype == target.dtype else mask.to(target.dtype)), None


def _and(a, b):
    return b if a is None else a if b is None else a & b


def _add(a, b):
    return b if a is None else a if b is None else a + b


@autocast_op("scaled_dot_product_attention")
def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Optional[Tensor] = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: Optional[float] = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(Q K^T * scale + mask) V over [..., L, E] x [..., S, E] x [..., S, Ev].

    attn_mask: bool (True = takes part) or float (added to the scores), broadcast to [..., L, S];
    is_causal adds the top-left lower-triangular mask; given with attn_mask, the two are ANDed
    (as torch's CPU kernel does; its composed math path raises instead).
    A query row that sees no key gives zeros, as torch's CPU kernels do.
    """
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        check_tensor(t, op, name=name)
        if t.ndim < 2:
            raise ValueError(f"{op}: {name} needs at least 2 dimensions, got {_desc(t)}")
    q, k, v = query, key, value
    if q.dtype != k.dtype or q.dtype != v.dtype or not is_floating(q.dtype):
        raise TypeError(f"{op}: query, key and value must share one floating dtype, got "
                        f"{_desc(q)}, {_desc(k)}, {_desc(v)}")
    if q.device != k.device or q.device != v.device:
        raise RuntimeError(f"{op}: query, key and value must be on one device, got "
                           f"{_desc(q)}, {_desc(k)}, {_desc(v)}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{op}: expected query [..., L, E], key [..., S, E], value [..., S, Ev]; "
                         f"got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if enable_gqa:
        raise NotImplementedError(f"{op}: enable_gqa is not supported by tinygrad_lite")
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"{op}: batch dimensions of query {tuple(q.shape)}, key "
                         f"{tuple(k.shape)} and value {tuple(v.shape)} do not broadcast") from None
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"{op}: dropout_p must be in [0, 1), got {dropout_p}")
    lq, lk = q.shape[-2], k.shape[-2]
    bias, keep = _split_mask(attn_mask, q, op, "attn_mask", keep_is_true=True)
    if attn_mask is not None:
        try:
            np.broadcast_shapes(attn_mask.shape, batch + (lq, lk))
        except ValueError:
            raise ValueError(f"{op}: attn_mask {tuple(attn_mask.shape)} does not broadcast to "
                             f"the scores' shape {batch + (lq, lk)}") from None
    sc = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    drop = None
    if dropout_p > 0.0:
        keep_p = 1.0 - dropout_p
        drop = random.bernoulli_mask(batch + (lq, lk), keep_p, q.dtype, q.device)
        drop *= 1.0 / keep_p
    return ScaledDotProductAttention.apply(q, k, v, bias, keep=keep, causal=bool(is_causal),
                                           scale=sc, drop=drop)


def _heads(x: Tensor, heads: int) -> Tensor:
    """[N, L, E] -> [N, heads, L, E / heads]"""
    n, length, e = x.shape
    return x.reshape(n, length, heads, e // heads).transpose(1, 2)


def _mha_masks(attn_mask, key_padding_mask, n, heads, lq, lk, q):
    """torch's MHA masks (True hides) -> one float bias and one keep array, [N, H | 1, L, S]."""
    op = "multi_head_attention_forward"
    bias, keep = _split_mask(attn_mask, q, op, "attn_mask", keep_is_true=False)
    if attn_mask is not None:
        if attn_mask.shape == (lq, lk):
            pass
        elif attn_mask.ndim == 3 and attn_mask.shape == (n * heads, lq, lk):
            bias = bias.reshape(n, heads, lq, lk) if bias is not None else None
            keep = keep.reshape(n, heads, lq, lk) if keep is not None else None
        else:
            raise ValueError(f"{op}: attn_mask should have shape {(lq, lk)} or "
                             f"{(n * heads, lq, lk)}, got {tuple(attn_mask.shape)}")
    kb, kk = _split_mask(key_padding_mask, q, op, "key_padding_mask", keep_is_true=False)
    if key_padding_mask is not None:
        if key_padding_mask.shape != (n, lk):
            raise ValueError(f"{op}: key_padding_mask should have shape {(n, lk)}, got "
                             f"{tuple(key_padding_mask.shape)}")
        kb = kb.reshape(n, 1, 1, lk) if kb is not None else None
        kk = kk.reshape(n, 1, 1, lk) if kk is not None else None
    return _add(bias, kb), _and(keep, kk)


def mha_batch_first(query: Tensor, key: Tensor, value: Tensor, num_heads: int,
                    q_w: Tensor, k_w: Tensor, v_w: Tensor, q_b, k_b, v_b,
                    out_w: Tensor, out_b, dropout_p: float, training: bool,
                    key_padding_mask=None, need_weights: bool = True, attn_mask=None,
                    average_attn_weights: bool = True):
    """Multi-head attention on batch-first [N, L, E] inputs; returns (output, weights or None)."""
    n, lq, e = query.shape
    lk = key.shape[1]
    if e % num_heads:
        raise ValueError(f"multi_head_attention_forward: embed_dim {e} is not divisible by "
                         f"num_heads {num_heads}")
    q = _heads(linear(query, q_w, q_b), num_heads)
    k = _heads(linear(key, k_w, k_b), num_heads)
    v = _heads(linear(value, v_w, v_b), num_heads)
    bias, keep = _mha_masks(attn_mask, key_padding_mask, n, num_heads, lq, lk, query)
    scale = 1.0 / math.sqrt(e // num_heads)
    p_drop = dropout_p if training else 0.0
    weights = None
    if need_weights:
        # the weights are returned, so P is built as a graph of its own (as torch does here)
        p = attention_probs(q, k, bias, keep, False, scale)
        if p_drop > 0.0:
            p = _dropout(p, p_drop, True)
        o = p @ v
        weights = p.mean(dim=1) if average_attn_weights else p
    else:
        drop = None
        if p_drop > 0.0:
            drop = random.bernoulli_mask((n, num_heads, lq, lk), 1.0 - p_drop, q.dtype,
                                         q.device)
            drop *= 1.0 / (1.0 - p_drop)
        o = ScaledDotProductAttention.apply(q, k, v, bias, keep=keep, causal=False, scale=scale,
                                            drop=drop)
    o = o.transpose(1, 2).reshape(n, lq, e)
    return linear(o, out_w, out_b), weights


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor,
                                 embed_dim_to_check: int, num_heads: int,
                                 in_proj_weight: Optional[Tensor], in_proj_bias: Optional[Tensor],
                                 bias_k, bias_v, add_zero_attn: bool, dropout_p: float,
                                 out_proj_weight: Tensor, out_proj_bias: Optional[Tensor],
                                 training: bool = True, key_padding_mask=None,
                                 need_weights: bool = True, attn_mask=None,
                                 use_separate_proj_weight: bool = False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights: bool = True,
                                 is_causal: bool = False):
    """torch's functional MHA on sequence-first [L, N, E] (or unbatched [L, E]) inputs."""
    op = "multi_head_attention_forward"
    if bias_k is not None or bias_v is not None or add_zero_attn or static_k is not None \
            or static_v is not None:
        raise NotImplementedError(f"{op}: bias_k/bias_v, add_zero_attn and static_k/static_v "
                                  "are not supported by tinygrad_lite")
    for name, t in (("query", query), ("key", key), ("value", value)):
        check_tensor(t, op, name=name)
    unbatched = query.ndim == 2
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise ValueError(f"{op}: expected query, key, value all 3-D [L, N, E] or all 2-D, got "
                         f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
    if query.shape[-1] != embed_dim_to_check:
        raise ValueError(f"{op}: query {tuple(query.shape)} should have embed_dim "
                         f"{embed_dim_to_check} in its last dimension")
    if key.shape[:-1] != value.shape[:-1] or key.shape[1:-1] != query.shape[1:-1]:
        raise ValueError(f"{op}: key {tuple(key.shape)} and value {tuple(value.shape)} must "
                         f"share sequence and batch sizes with query {tuple(query.shape)}")
    if is_causal and attn_mask is None:
        raise RuntimeError(f"{op}: need attn_mask if specifying the is_causal hint (build one "
                           "with Transformer.generate_square_subsequent_mask)")
    e = embed_dim_to_check
    if use_separate_proj_weight:
        q_w, k_w, v_w = q_proj_weight, k_proj_weight, v_proj_weight
    else:
        q_w, k_w, v_w = in_proj_weight[:e], in_proj_weight[e:2 * e], in_proj_weight[2 * e:]
    if in_proj_bias is not None:
        q_b, k_b, v_b = in_proj_bias[:e], in_proj_bias[e:2 * e], in_proj_bias[2 * e:]
    else:
        q_b = k_b = v_b = None
    if unbatched:
        q, k, v = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
        if key_padding_mask is not None and key_padding_mask.ndim == 1:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    else:
        q, k, v = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
    out, weights = mha_batch_first(q, k, v, num_heads, q_w, k_w, v_w, q_b, k_b, v_b,
                                   out_proj_weight, out_proj_bias, dropout_p, training,
                                   key_padding_mask, need_weights, attn_mask,
                                   average_attn_weights)
    if unbatched:
        out = out.squeeze(0)
        weights = weights.squeeze(0) if weights is not None else None
    else:
        out = out.transpose(0, 1)
    return out, weights
