"""Activation layers: thin Modules over the functional forms, with torch's extra_repr; PReLU's
learned slope; MultiheadAttention, which torch keeps here too."""
from __future__ import annotations

import warnings
from typing import Optional

from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..._checks import check_int, check_probability, check_tensor
from ..functional.attention import mha_batch_first
from ..functional.activation import _prelu_channels
from ._utils import _empty, _full
from .linear import NonDynamicallyQuantizableLinear
from .module import Module, Parameter

__all__ = ["ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Tanh", "Sigmoid", "Softplus", "Softmax",
           "LogSoftmax", "ReLU6", "Hardtanh", "Hardswish", "Hardsigmoid", "Mish", "GLU",
           "LogSigmoid", "Softsign", "Tanhshrink", "Threshold", "PReLU", "SELU", "CELU", "Softmin",
           "Softmax2d", "Hardshrink", "Softshrink", "MultiheadAttention"]


class ReLU(Module):
    """y = max(x, 0)"""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """y = x if x > 0 else negative_slope * x"""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """y = x if x > 0 else alpha * (exp(x) - 1)"""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """y = x * Phi(x)"""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """y = x * sigmoid(x)"""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Tanh(Module):
    """y = tanh(x)"""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class Sigmoid(Module):
    """y = 1 / (1 + exp(-x))"""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Softplus(Module):
    """y = log(1 + exp(beta * x)) / beta"""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """y = exp(x) / sum(exp(x)) along dim"""

    def __init__(self, dim: Optional[int] = None):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """y = x - logsumexp(x) along dim"""

    def __init__(self, dim: Optional[int] = None):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class _Stateless(Module):
    """An activation with no arguments: forward is `_fn(input)`."""

    _fn = None

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input)


class _Pointwise(Module):
    """An activation `_fn(input, *args, inplace)`: the attributes named in `_args` go first and
    are shown by extra_repr, followed by inplace=True when set (torch hides it for some)."""

    _fn = None
    _args: tuple = ()
    _show_inplace = True

    def __init__(self, *values, inplace: bool = False):
        super().__init__()
        for name, value in zip(self._args, values):
            setattr(self, name, value)
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, *(getattr(self, a) for a in self._args), self.inplace)

    def extra_repr(self) -> str:
        parts = [f"{a}={getattr(self, a)}" for a in self._args]
        return ", ".join(parts + (["inplace=True"] if self.inplace and self._show_inplace
                                  else []))


class Hardtanh(_Pointwise):
    """y = clamp(x, min_val, max_val)"""

    _fn, _args = staticmethod(F.hardtanh), ("min_val", "max_val")

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: Optional[float] = None, max_value: Optional[float] = None):
        if min_value is not None or max_value is not None:
            warnings.warn("Hardtanh: min_value and max_value are deprecated; use min_val and "
                          "max_val", DeprecationWarning, stacklevel=2)
            min_val = min_val if min_value is None else min_value
            max_val = max_val if max_value is None else max_value
        if max_val < min_val:
            raise ValueError(f"{type(self).__name__}: max_val ({max_val}) must be >= min_val "
                             f"({min_val})")
        super().__init__(min_val, max_val, inplace=inplace)


class ReLU6(Hardtanh):
    """y = min(max(x, 0), 6)"""

    def __init__(self, inplace: bool = False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Hardswish(_Pointwise):
    """y = x * relu6(x + 3) / 6"""

    _fn, _show_inplace = staticmethod(F.hardswish), False

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class Hardsigmoid(_Pointwise):
    """y = relu6(x + 3) / 6"""

    _fn, _show_inplace = staticmethod(F.hardsigmoid), False

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class Mish(_Pointwise):
    """y = x * tanh(softplus(x))"""

    _fn = staticmethod(F.mish)

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class SELU(_Pointwise):
    """y = scale * elu(x, alpha) with SELU's fixed constants"""

    _fn = staticmethod(F.selu)

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)


class CELU(_Pointwise):
    """y = x if x > 0 else alpha * (exp(x / alpha) - 1)"""

    _fn, _args = staticmethod(F.celu), ("alpha",)

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(alpha, inplace=inplace)


class Threshold(_Pointwise):
    """y = x if x > threshold else value"""

    _fn, _args = staticmethod(F.threshold), ("threshold", "value")

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__(threshold, value, inplace=inplace)


class LogSigmoid(_Stateless):
    """y = log(sigmoid(x))"""

    _fn = staticmethod(F.logsigmoid)


class Softsign(_Stateless):
    """y = x / (1 + |x|)"""

    _fn = staticmethod(F.softsign)


class Tanhshrink(_Stateless):
    """y = x - tanh(x)"""

    _fn = staticmethod(F.tanhshrink)


class Hardshrink(Module):
    """y = x where |x| > lambd, else 0"""

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """y = x - lambd above lambd, x + lambd below -lambd, 0 between"""

    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)


class _WithDim(Module):
    """An activation along one dim: forward is `_fn(input, dim)`."""

    _fn = None

    def __init__(self, dim: Optional[int]):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class GLU(_WithDim):
    """y = a * sigmoid(b) for the halves a, b of x along dim"""

    _fn = staticmethod(F.glu)

    def __init__(self, dim: int = -1):
        super().__init__(dim)


class Softmin(_WithDim):
    """y = softmax(-x) along dim"""

    _fn = staticmethod(F.softmin)

    def __init__(self, dim: Optional[int] = None):
        super().__init__(dim)


class PReLU(Module):
    """y = x if x > 0 else weight_c * x; one learned slope, or one per channel (dim 1)"""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = check_int(num_parameters, "num_parameters", "PReLU")
        self.init = init
        self.weight = Parameter(_full((self.num_parameters,), init, device, dtype))

    def reset_parameters(self) -> None:
        self.weight._data[...] = self.init

    def forward(self, input: Tensor) -> Tensor:
        k = self.num_parameters
        if k > 1 and isinstance(input, Tensor) and _prelu_channels(input) != k:
            raise ValueError(f"PReLU: num_parameters={k} does not match input "
                             f"{tuple(input.shape)} {input.dtype} with "
                             f"{_prelu_channels(input)} channels (dim 1)")
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Softmax2d(Module):
    """softmax over the channels of (N, C, H, W) or (C, H, W), at each location"""

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor) or input.ndim not in (3, 4):
            got = f"{input.ndim}D {tuple(input.shape)} {input.dtype}" \
                if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"Softmax2d: expected a 3D or 4D input, got {got}")
        return F.softmax(input, -3)


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
            self.in_proj_weight = _empty((3 * embed_dim, embed_dim), device, dtype)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = _empty((embed_dim, embed_dim), device, dtype)
            self.k_proj_weight = _empty((embed_dim, self.kdim), device, dtype)
            self.v_proj_weight = _empty((embed_dim, self.vdim), device, dtype)
        if bias:
            self.in_proj_bias = _empty((3 * embed_dim,), device, dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        device=device, dtype=dtype)
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
            check_tensor(t, name, name=arg)
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
