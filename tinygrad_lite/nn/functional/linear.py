"""torch.nn.functional's linear functions: linear, bilinear."""
from __future__ import annotations

from typing import Optional

from ...autograd.autocast_mode import autocast_op
from ...ops import linalg as N
from ...tensor import Tensor
from ._utils import _desc, _same, _tensor

__all__ = ["linear", "bilinear"]


@autocast_op("linear")
def linear(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """y = x @ W^T + b"""
    _tensor(input, "linear")
    _tensor(weight, "linear", "weight")
    if weight.ndim != 2 or input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        n = input.shape[-1] if input.ndim else 0
        want = weight.shape[1] if weight.ndim == 2 else "a 2-D weight"
        raise ValueError(f"linear: input {_desc(input)} has {n} features but weight "
                         f"{_desc(weight)} expects {want}")
    _same(input, weight, "linear", "weight")
    if bias is not None:
        _same(input, bias, "linear", "bias")
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias {_desc(bias)} should have shape "
                             f"({weight.shape[0]},) for weight {_desc(weight)}")
    return N.Linear.apply(input, weight, bias)


@autocast_op("bilinear")
def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Optional[Tensor] = None) -> Tensor:
    """y_o = x1^T A_o x2 + b_o"""
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        _tensor(t, "bilinear", name)
    if (weight.ndim != 3 or input1.shape[-1] != weight.shape[1]
            or input2.shape[-1] != weight.shape[2] or input1.shape[:-1] != input2.shape[:-1]):
        raise ValueError(f"bilinear: input1 {_desc(input1)} and input2 {_desc(input2)} do not "
                         f"fit weight {_desc(weight)} (expects (..., in1) and (..., in2) with "
                         "equal leading dims)")
    out, in1, in2 = weight.shape
    # x1 @ A reshaped to (in1, out * in2), then a dot with x2 along in2
    z = input1 @ weight.permute(1, 0, 2).reshape(in1, out * in2)
    z = z.reshape(input1.shape[:-1] + (out, in2))
    y = (z * input2.unsqueeze(-2)).sum(-1)
    return y if bias is None else y + bias
