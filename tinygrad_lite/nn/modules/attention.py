"""MultiheadAttention with torch's parameter names, packing, masks and defaults."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ... import dtypes as D
from ...tensor import Tensor
from .. import init
from ..._checks import check_probability
from ..fn_attention import mha_batch_first
from .linear import Linear
from .module import Module, Parameter

__all__ = ["MultiheadAttention"]


def _param(shape, device, dtype) -> Parameter:
    p = Parameter(np.zeros(shape, dtype=D.to_dtype(dtype or D.get_default_dtype())))
    if device is not None:
        p._data = p.to(device)._data
    return p


class MultiheadAttention(Module):
    """out = concat_h(softmax(Q_h K_h^T / sqrt(d) + mask) V_h) W_o^T + b_o, Q = q W_q^T + b_q, ...

    Parameters as torch: in_proj_weight [3E, E] (rows q, k, v) when kdim == vdim == E, else
    q_proj_weight [E, E], k_proj_weight [E, kdim], v_proj_weight [E, vdim]; in_proj_bias [3E];
    out_proj (a Linear). Masks follow torch's MHA: a bool True hides, a float is added.
    A query that may see no key gets zero attention (output = out_proj.bias) on both paths;
    torch gives NaN there when need_weights=True and zeros when need_weights=False.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: Optional[int] = None, vdim: Optional[int] = None,
                 batch_first: bool = False, device=None, dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be positive, got "
                             f"{embed_dim} and {num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} must be divisible by "
                             f"num_heads {num_heads}")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn are not "
                                      "supported by tinygrad_lite")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout = check_probability(dropout, "dropout", "MultiheadAttention")
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _param((3 * embed_dim, embed_dim), device, dtype)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = _param((embed_dim, embed_dim), device, dtype)
            self.k_proj_weight = _param((embed_dim, self.kdim), device, dtype)
            self.v_proj_weight = _param((embed_dim, self.vdim), device, dtype)
        if bias:
            self.in_proj_bias = _param((3 * embed_dim,), device, dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        self.bias_k = self.bias_v = None
        self.add_zero_attn = False
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Optional[Tensor] = None, need_weights: bool = True,
                attn_mask: Optional[Tensor] = None, average_attn_weights: bool = True,
                is_causal: bool = False):
        """(attn_output, attn_weights or None); weights are averaged over heads by default."""
        name = "MultiheadAttention"
        for arg, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{name}: {arg} must be a Tensor, got {type(t).__name__}")
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{name}: expected query, key, value all 3-D or all 2-D "
                             f"(unbatched), got {tuple(query.shape)}, {tuple(key.shape)}, "
                             f"{tuple(value.shape)}")
        dims = ((query, self.embed_dim, "query", "embed_dim"), (key, self.kdim, "key", "kdim"),
                (value, self.vdim, "value", "vdim"))
        for t, want, arg, what in dims:
            if t.shape[-1] != want:
                raise ValueError(f"{name}: {arg} {tuple(t.shape)} should end in {what}={want}")
        w = self.out_proj.weight
        for arg, t in (("query", query), ("key", key), ("value", value)):
            if t.dtype != w.dtype or t.device != w.device:
                raise TypeError(f"{name}: {arg} is {t.dtype} on {t.device} but the weights are "
                                f"{w.dtype} on {w.device}")
        if is_causal and attn_mask is None:
            raise RuntimeError(f"{name}: need attn_mask if specifying the is_causal hint (build "
                               "one with Transformer.generate_square_subsequent_mask)")
        unbatched = query.ndim == 2
        if unbatched:
            q, k, v = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None and key_padding_mask.ndim == 1:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            q, k, v = query, key, value
        else:
            q, k, v = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        if k.shape[:2] != v.shape[:2] or k.shape[0] != q.shape[0]:
            raise ValueError(f"{name}: key {tuple(key.shape)} and value {tuple(value.shape)} "
                             f"must share batch and sequence sizes with query "
                             f"{tuple(query.shape)}")
        e = self.embed_dim
        if self._qkv_same_embed_dim:
            wq, wk, wv = (self.in_proj_weight[:e], self.in_proj_weight[e:2 * e],
                          self.in_proj_weight[2 * e:])
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        b = self.in_proj_bias
        bq, bk, bv = (b[:e], b[e:2 * e], b[2 * e:]) if b is not None else (None, None, None)
        out, weights = mha_batch_first(q, k, v, self.num_heads, wq, wk, wv, bq, bk, bv,
                                       self.out_proj.weight, self.out_proj.bias, self.dropout,
                                       self.training, key_padding_mask, need_weights, attn_mask,
                                       average_attn_weights)
        if unbatched:
            return out.squeeze(0), (weights.squeeze(0) if weights is not None else None)
        if not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights
