"""One converter per op class: convert(g, a, out) -> the ONNX name of the op's output, where `a`
holds the op's forward arguments by name (tensors, arrays and settings) and `out` is the tensor
the op produced during the trace (its shape and dtype)."""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor

_BIG = 2 ** 62      # "to the end" in Slice


def _shape(v) -> tuple:
    return tuple(int(d) for d in v.shape)


def _unary(op_type):
    def convert(g, a, out):
        return g.node(op_type, [g.input(a["x"])])
    return convert


def _binary(op_type):
    def convert(g, a, out):
        dtype = np.dtype(out.dtype)
        return g.node(op_type, [g.input(a["a"], dtype), g.input(a["b"], dtype)])
    return convert


def _rsqrt(g, a, out):
    return g.node("Reciprocal", [g.node("Sqrt", [g.input(a["x"])])])


def _gelu(g, a, out):
    """0.5 x (1 + erf(x / sqrt 2)), or the tanh form; Gelu is an op only from opset 20."""
    x = g.input(a["x"])
    dt = np.dtype(out.dtype)
    if a["approximate"] == "tanh":
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [cube, g.const(0.044715, dt)])])
        t = g.node("Tanh", [g.node("Mul", [inner, g.const(math.sqrt(2 / math.pi), dt)])])
    else:
        t = g.node("Erf", [g.node("Div", [x, g.const(math.sqrt(2.0), dt)])])
    one_plus = g.node("Add", [t, g.const(1.0, dt)])
    return g.node("Mul", [g.node("Mul", [x, one_plus]), g.const(0.5, dt)])


def _leaky_relu(g, a, out):
    return g.node("LeakyRelu", [g.input(a["x"])], alpha=float(a["slope"]))


def _elu(g, a, out):
    return g.node("Elu", [g.input(a["x"])], alpha=float(a["alpha"]))


def _softmax(op_type):
    def convert(g, a, out):
        return g.node(op_type, [g.input(a["x"])], axis=int(a["axis"]))
    return convert


def _clamp(g, a, out):
    dt = np.dtype(out.dtype)
    lo = "" if a["lo"] is None else g.input(a["lo"], dt)
    hi = "" if a["hi"] is None else g.input(a["hi"], dt)
    return g.node("Clip", [g.input(a["x"]), lo, hi])


def _where(g, a, out):
    dt = np.dtype(out.dtype)
    return g.node("Where", [g.input(a["cond"]), g.input(a["a"], dt), g.input(a["b"], dt)])


def _masked_fill(g, a, out):
    dt = np.dtype(out.dtype)
    return g.node("Where", [g.input(a["mask"]), g.input(a["value"], dt), g.input(a["x"])])


def _cast(g, a, out):
    to = g.helper.np_dtype_to_tensor_dtype(np.dtype(out.dtype))
    return g.node("Cast", [g.input(a["x"])], to=to)


def _identity(g, a, out):
    return g.node("Identity", [g.input(a["x"])])


def _pow_scalar(g, a, out):
    return g.node("Pow", [g.input(a["x"]), g.input(a["exponent"], np.dtype(out.dtype))])


# -- shapes --------------------------------------------------------------------------------------

def _reshape(g, a, out):
    """Squeeze/Unsqueeze when only size-1 axes come or go, else Reshape with 0 ("keep the
    input's size") for the leading sizes that stay, so a dynamic batch axis stays dynamic."""
    x = a["x"]
    src, dst = _shape(x), _shape(out)
    name = g.input(x)
    if src == dst:
        return g.node("Identity", [name])
    kept = [d for d in dst if d != 1]
    if len(dst) > len(src) and [d for d in src if d != 1] == kept:
        added = _inserted_ones(src, dst)
        if added is not None:
            return g.node("Unsqueeze", [name, g.ints(added)])
    if len(dst) < len(src) and [d for d in src if d != 1] == kept:
        removed = _inserted_ones(dst, src)
        if removed is not None:
            return g.node("Squeeze", [name, g.ints(removed)])
    target = list(dst)
    for i, (s, d) in enumerate(zip(src, dst)):
        if s != d or d == 0:
            break
        target[i] = 0
    if 0 in target and 0 not in dst and target.count(0) < len(target):
        # one free size left: -1 makes it follow the batch too (the others are fixed)
        rest = [i for i, t in enumerate(target) if t != 0]
        if len(rest) == 1:
            target[rest[0]] = -1
    return g.node("Reshape", [name, g.ints(target)])


def _inserted_ones(short: tuple, long: tuple):
    """Axes of `long` that are 1s inserted into `short`, or None."""
    axes, i = [], 0
    for j, d in enumerate(long):
        if i < len(short) and short[i] == d:
            i += 1
        elif d == 1:
            axes.append(j)
        else:
            return None
    return axes if i == len(short) else None


def _permute(g, a, out):
    return g.node("Transpose", [g.input(a["x"])], perm=[int(d) for d in a["dims"]])


def _expand(g, a, out):
    return g.node("Expand", [g.input(a["x"]), g.ints(_shape(out))])


def _cat(g, a, out):
    return g.node("Concat", [g.input(t) for t in a["arrays"]], axis=int(a["axis"]))


def _getitem(g, a, out):
    """Basic indexing (ints, slices, None, ...) as Slice, then Gather for ints, then
    Unsqueeze for None."""
    if a["advanced"]:
        raise _unsupported("GetItem with advanced (tensor) indices", a["x"])
    x = a["x"]
    index = a["index"] if isinstance(a["index"], tuple) else (a["index"],)
    n_real = sum(1 for i in index if i is not None and i is not Ellipsis)
    expanded = []
    for i in index:
        if i is Ellipsis:
            expanded += [slice(None)] * (x.ndim - n_real)
        else:
            expanded.append(i)
    name = g.input(x)
    starts, ends, axes, steps, ints, nones = [], [], [], [], [], []
    axis = 0
    for pos, i in enumerate(expanded):
        if i is None:
            nones.append(pos)
            continue
        if isinstance(i, slice):
            if i != slice(None):
                step = 1 if i.step is None else int(i.step)
                lo_default, hi_default = (0, _BIG) if step > 0 else (-1, -_BIG)
                starts.append(lo_default if i.start is None else int(i.start))
                ends.append(hi_default if i.stop is None else int(i.stop))
                axes.append(axis)
                steps.append(step)
        elif isinstance(i, (int, np.integer)):
            ints.append((axis, int(i)))
        else:
            raise _unsupported(f"GetItem with index {i!r:.40}", x)
        axis += 1
    if axes:
        name = g.node("Slice", [name, g.ints(starts), g.ints(ends), g.ints(axes),
                                g.ints(steps)])
    for ax, i in sorted(ints, reverse=True):     # the highest first: earlier axes stay put
        name = g.node("Gather", [name, g.const(np.int64(i))], axis=ax)
    if nones:
        # positions of None among the output's axes: the ints before each one are gone
        out_axes = [p - sum(1 for q, i in enumerate(expanded[:p]) if isinstance(
            i, (int, np.integer))) for p in nones]
        name = g.node("Unsqueeze", [name, g.ints(out_axes)])
    if name == g.input(x):
        name = g.node("Identity", [name])
    return name


def _pad_constant(g, a, out):
    widths = [(int(lo), int(hi)) for lo, hi in a["widths"]]
    pads = [lo for lo, _ in widths] + [hi for _, hi in widths]
    return g.node("Pad", [g.input(a["x"]), g.ints(pads),
                          g.const(a["value"], np.dtype(out.dtype))], mode="constant")


# -- reductions ----------------------------------------------------------------------------------

def _axes(a):
    axes = a["axes"]
    return None if axes is None else [int(d) for d in axes]


def _reduce_sum(g, a, out):
    axes = _axes(a)
    ins = [g.input(a["x"])] + ([g.ints(axes)] if axes else [])
    return g.node("ReduceSum", ins, keepdims=int(bool(a["keepdim"])))


def _reduce_attr(op_type):
    def convert(g, a, out):
        axes = _axes(a)
        if g.opset >= 18:
            ins = [g.input(a["x"])] + ([g.ints(axes)] if axes else [])
            return g.node(op_type, ins, keepdims=int(bool(a["keepdim"])))
        attrs = {"axes": axes} if axes else {}
        return g.node(op_type, [g.input(a["x"])], keepdims=int(bool(a["keepdim"])), **attrs)
    return convert


def _amax_amin(g, a, out):
    return _reduce_attr("ReduceMax" if a["kind"] == "max" else "ReduceMin")(g, a, out)


# -- layers --------------------------------------------------------------------------------------

def _matmul(g, a, out):
    return g.node("MatMul", [g.input(a["a"]), g.input(a["b"])])


def _linear(g, a, out):
    """y = x W^T + b: Gemm for 2-D x, MatMul and Add otherwise."""
    x, w, b = a["x"], a["w"], a["b"]
    if x.ndim == 2:
        ins = [g.input(x), g.input(w)] + ([g.input(b)] if b is not None else [])
        return g.node("Gemm", ins, transB=1)
    y = g.node("MatMul", [g.input(x), g.node("Transpose", [g.input(w)], perm=[1, 0])])
    return g.node("Add", [y, g.input(b)]) if b is not None else y


def _conv2d(g, a, out):
    t, b_, l_, r = (int(p) for p in a["padding"])
    w = a["w"]
    ins = [g.input(a["x"]), g.input(w)] + ([g.input(a["b"])] if a["b"] is not None else [])
    return g.node("Conv", ins, kernel_shape=list(_shape(w)[2:]),
                  strides=[int(s) for s in a["stride"]], pads=[t, l_, b_, r],
                  dilations=[int(d) for d in a["dilation"]], group=int(a["groups"]))


def _pool_attrs(a, x, out):
    t, b_, l_, r = (int(p) for p in a["padding"])
    kernel = [int(k) for k in a["kernel"]]
    stride = [int(s) for s in a["stride"]]
    dilation = [int(d) for d in a.get("dilation") or (1, 1)]
    floor = [(n + lo + hi - d * (k - 1) - 1) // s + 1 for n, lo, hi, k, s, d in
             zip(_shape(x)[2:], (t, l_), (b_, r), kernel, stride, dilation)]
    ceil = int(list(_shape(out)[2:]) != floor)
    return dict(kernel_shape=kernel, strides=stride, pads=[t, l_, b_, r], ceil_mode=ceil), \
        dilation


def _max_pool2d(g, a, out):
    attrs, dilation = _pool_attrs(a, a["x"], out)
    return g.node("MaxPool", [g.input(a["x"])], dilations=dilation, **attrs)


def _avg_pool2d(g, a, out):
    attrs, _ = _pool_attrs(a, a["x"], out)
    divisor = a["divisor"]
    if not isinstance(divisor, float) or divisor != attrs["kernel_shape"][0] * attrs[
            "kernel_shape"][1] or attrs["ceil_mode"]:
        raise _unsupported("AvgPool2d with count_include_pad=False, divisor_override or "
                           "ceil_mode", a["x"])
    return g.node("AveragePool", [g.input(a["x"])], count_include_pad=1, **attrs)


def _layer_norm(g, a, out):
    x, w, b = a["x"], a["w"], a["b"]
    k = int(a["normalized_ndim"])
    dt = np.dtype(out.dtype)
    norm_shape = _shape(x)[-k:]
    scale = g.input(w) if w is not None else g.const(np.ones(norm_shape, dt))
    ins = [g.input(x), scale] + ([g.input(b)] if b is not None else [])
    return g.node("LayerNormalization", ins, axis=-k, epsilon=float(a["eps"]))


def _embedding(g, a, out):
    return g.node("Gather", [g.input(a["w"]), g.input(a["idx"])], axis=0)


def _attention(g, a, out):
    """softmax(scale Q K^T + bias, causal mask) V (dropout is off in eval)."""
    if a.get("drop") is not None:
        raise _unsupported("ScaledDotProductAttention with dropout", a["q"])
    q, k, v = a["q"], a["k"], a["v"]
    dt = np.dtype(out.dtype)
    perm = list(range(k.ndim - 2)) + [k.ndim - 1, k.ndim - 2]
    s = g.node("MatMul", [g.input(q), g.node("Transpose", [g.input(k)], perm=perm)])
    s = g.node("Mul", [s, g.const(float(a["scale"]), dt)])
    if a["bias"] is not None:
        s = g.node("Add", [s, g.input(a["bias"], dt)])
    if a.get("keep") is not None:
        s = g.node("Where", [g.input(a["keep"]), s, g.const(-np.inf, dt)])
    if a["causal"]:
        lq, lk = _shape(q)[-2], _shape(k)[-2]
        mask = np.triu(np.full((lq, lk), -np.inf, dt), 1)
        s = g.node("Add", [s, g.const(mask)])
    p = g.node("Softmax", [s], axis=-1)
    return g.node("MatMul", [p, g.input(v)])


def _lstm(g, a, out):
    """Our LSTMSequence takes the input projection gi already made (a MatMul before it), so it
    is ONNX's LSTM on X = gi with W a gate-reordering permutation (ONNX orders gates i, o, f, c;
    torch i, f, g, o). Output: the hidden states with the final cell state as one more row."""
    gi, w_hh, b = a["gi"], a["w_hh"], a["b"]
    four_h = _shape(w_hh)[0]
    hid = four_h // 4
    dt = np.dtype(out.dtype)
    order = np.concatenate([np.arange(k * hid, (k + 1) * hid) for k in (0, 3, 1, 2)])
    perm = np.eye(four_h, dtype=dt)[order]
    x = g.input(gi)
    if a["gate_major"]:
        x = g.node("Transpose", [x], perm=[0, 2, 1])
    r = g.node("Unsqueeze", [g.node("Gather", [g.input(w_hh), g.ints(order)], axis=0),
                             g.ints([0])])
    bias = g.const(np.zeros(four_h, dt)) if b is None else g.node(
        "Gather", [g.input(b), g.ints(order)], axis=0)
    bias = g.node("Unsqueeze", [g.node("Concat", [bias, g.const(np.zeros(four_h, dt))],
                                       axis=0), g.ints([0])])

    def state(v):
        # an all-zero initial state that no op made is ONNX's default: left out, so the batch
        # size stays free
        if isinstance(v, Tensor) and id(v) not in g.names and not np.any(_host_of(v)):
            return ""
        return g.node("Unsqueeze", [g.input(v), g.ints([0])])

    node_out = [g.fresh("lstm_y"), "", g.fresh("lstm_c")]
    g.nodes.append(g.helper.make_node(
        "LSTM", [x, g.const(perm[None]), r, bias, "", state(a["h0"]), state(a["c0"])],
        node_out, name=g.fresh("LSTM"), hidden_size=hid,
        direction="reverse" if a["reverse"] else "forward"))
    y = g.node("Squeeze", [node_out[0], g.ints([1])])
    return g.node("Concat", [y, node_out[2]], axis=0)


def _host_of(t) -> np.ndarray:
    d = t._data
    return d if isinstance(d, np.ndarray) else d.get()


def _unsupported(what: str, x) -> Exception:
    from . import UnsupportedOperatorError  # noqa: PLC0415
    return UnsupportedOperatorError(f"onnx.export: {what} is not supported (input "
                                    f"{tuple(x.shape) if isinstance(x, Tensor) else x})")


CONVERTERS = {
    "Add": _binary("Add"), "Sub": _binary("Sub"), "Mul": _binary("Mul"), "Div": _binary("Div"),
    "Pow": _binary("Pow"), "Maximum": _binary("Max"), "Minimum": _binary("Min"),
    "PowScalar": _pow_scalar,
    "Neg": _unary("Neg"), "Exp": _unary("Exp"), "Log": _unary("Log"), "Sqrt": _unary("Sqrt"),
    "Abs": _unary("Abs"), "Sign": _unary("Sign"), "Sin": _unary("Sin"), "Cos": _unary("Cos"),
    "Tanh": _unary("Tanh"), "Sigmoid": _unary("Sigmoid"), "Relu": _unary("Relu"),
    "Erf": _unary("Erf"), "Rsqrt": _rsqrt, "Gelu": _gelu, "LeakyRelu": _leaky_relu,
    "Elu": _elu, "Clamp": _clamp, "Where": _where, "MaskedFill": _masked_fill, "Cast": _cast,
    "Clone": _identity, "Softmax": _softmax("Softmax"), "LogSoftmax": _softmax("LogSoftmax"),
    "Reshape": _reshape, "Permute": _permute, "Expand": _expand, "Cat": _cat,
    "GetItem": _getitem, "PadConstant": _pad_constant,
    "Sum": _reduce_sum, "Mean": _reduce_attr("ReduceMean"), "Prod": _reduce_attr("ReduceProd"),
    "AmaxAmin": _amax_amin,
    "MatMul": _matmul, "Linear": _linear, "Conv2d": _conv2d, "MaxPool2d": _max_pool2d,
    "AvgPool2d": _avg_pool2d, "LayerNorm": _layer_norm, "Embedding": _embedding,
    "ScaledDotProductAttention": _attention, "LSTMSequence": _lstm,
}
