"""One converter per op class: convert(g, a, out) -> the ONNX name of the op's output, where `a`
holds the op's forward arguments by name (tensors, arrays and settings) and `out` is the tensor
the op produced during the trace (its shape and dtype)."""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from . import _host

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


def _softplus(g, a, out):
    """log(1 + exp(beta x)) / beta, x itself where beta x passes the threshold."""
    dt = np.dtype(out.dtype)
    x = g.input(a["x"])
    beta = g.const(float(a["beta"]), dt)
    bx = g.node("Mul", [x, beta])
    soft = g.node("Div", [g.node("Softplus", [bx]), beta])
    over = g.node("Greater", [bx, g.const(float(a["threshold"]), dt)])
    return g.node("Where", [over, x, soft])


def _resample(g, a, out):
    """Interpolation along one axis: sum over taps k of w[:, k] * x gathered at idx[:, k]."""
    idx, w, axis = _host(a["idx"]), a["w"], int(a["axis"])
    dt = np.dtype(out.dtype)
    x = g.input(a["x"])
    tail = (1,) * (a["x"].ndim - axis - 1)
    y = None
    for k in range(idx.shape[1]):
        tap = g.node("Gather", [x, g.const(idx[:, k].astype(np.int64))], axis=axis)
        if w is not None:
            tap = g.node("Mul", [tap, g.const(_host(w)[:, k].astype(dt).reshape((-1,) + tail))])
        y = tap if y is None else g.node("Add", [y, tap])
    return y


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
    target = _moving_target(g, x, out)
    if target is not None:
        return g.node("Reshape", [name, g.ints(target)])
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


def _moving_target(g, x, out):
    """Reshape's target from the second trace: fixed sizes as they are, a size that follows a
    dynamic axis as 0 (the input's, where it sits at the same axis) or -1 (at most one of
    those); None where the sizes are not known or two sizes would need -1."""
    moving = g.varying(out)
    if moving is None or 0 in _shape(out):
        return None
    src, dst = _shape(x), _shape(out)
    src2, dst2 = g.shapes2.get(id(x)), g.shapes2[id(out)] if moving else None
    target, free = list(dst), []
    for i in sorted(moving):
        if src2 is not None and i < len(src) and src[i] == dst[i] and src2[i] == dst2[i]:
            target[i] = 0
        else:
            free.append(i)
    if len(free) > 1:
        return None
    for i in free:
        target[i] = -1
    return target


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
    """Expand broadcasts, so an axis the input already has at full size is asked for as 1: a
    dynamic size there stays free."""
    x = a["x"]
    dst = _shape(out)
    src = (1,) * (len(dst) - x.ndim) + _shape(x)
    target = [1 if s == d else d for s, d in zip(src, dst)]
    return g.node("Expand", [g.input(x), g.ints(target)])


def _cat(g, a, out):
    return g.node("Concat", [g.input(t) for t in a["arrays"]], axis=int(a["axis"]))


def _entries(index, ndim) -> list:
    """The index as a list, Ellipsis written out as full slices (a bool mask spans its ndim
    axes, None none)."""
    index = index if isinstance(index, tuple) else (index,)

    def width(i):
        if i is None or i is Ellipsis:
            return 0
        return i.ndim if _is_array(i) and i.dtype == bool else 1
    used = sum(width(i) for i in index)
    out = []
    for i in index:
        out += [slice(None)] * (ndim - used) if i is Ellipsis else [i]
    return out


def _from_the_end(g, x, out, entries) -> list:
    """Ints and slice bounds that moved with a dynamic axis between the two traces by as much
    as the axis did (y[n - 1], y[:n - 1]) counted from the end instead, as negative ones."""
    twin = g.settings2.get(id(out))
    sizes2 = g.shapes2.get(id(x))
    if twin is None or sizes2 is None:
        return entries
    entries2 = _entries(twin["index"], x.ndim)
    if len(entries2) != len(entries):
        return entries
    out_entries, axis = [], 0
    for i, i2 in zip(entries, entries2):
        if i is None or _is_array(i):
            out_entries.append(i)
            axis += 0 if i is None else (i.ndim if i.dtype == bool else 1)
            continue
        n, n2 = _shape(x)[axis], sizes2[axis]
        if isinstance(i, slice) and isinstance(i2, slice):
            i = slice(_end_relative(i.start, i2.start, n, n2, False),
                      _end_relative(i.stop, i2.stop, n, n2, True), i.step)
        elif not isinstance(i, slice) and not isinstance(i2, slice):
            i = _end_relative(i, i2, n, n2, False)
        out_entries.append(i)
        axis += 1
    return out_entries


def _end_relative(v, v2, n, n2, stop):
    if v is None or v2 is None or v == v2 or int(v) - n != int(v2) - n2:
        return v
    if int(v) - n < 0:
        return int(v) - n
    return None if stop else v      # a stop at the end is "to the end"


def _is_array(i) -> bool:
    return hasattr(i, "dtype") and hasattr(i, "shape") and not isinstance(i, np.generic)


def _slices(g, name, entries, shape):
    """One Slice for the entries that are slices (each axis an entry takes, None none); shape
    (a list) is updated to the sliced sizes."""
    starts, ends, axes, steps = [], [], [], []
    axis = 0
    for i in entries:
        if i is None:
            continue
        if isinstance(i, slice) and i != slice(None):
            step = 1 if i.step is None else int(i.step)
            lo_default, hi_default = (0, _BIG) if step > 0 else (-1, -_BIG)
            starts.append(lo_default if i.start is None else int(i.start))
            ends.append(hi_default if i.stop is None else int(i.stop))
            axes.append(axis)
            steps.append(step)
            shape[axis] = len(range(*i.indices(shape[axis])))
        axis += i.ndim if _is_array(i) and i.dtype == bool else 1
    if not axes:
        return name
    return g.node("Slice", [name, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])


def _getitem(g, a, out):
    """Basic indexing (ints, slices, None, ...) as Slice, then Gather for ints, then
    Unsqueeze for None; tensor, list and mask indices go to _getitem_advanced."""
    x = a["x"]
    entries = _from_the_end(g, x, out, _entries(a["index"], x.ndim))
    if a["advanced"]:
        return _getitem_advanced(g, x, entries, out)
    for i in entries:
        if not isinstance(i, (slice, int, np.integer)) and i is not None:
            raise _unsupported(f"GetItem with index {i!r:.40}", x)
    name = _slices(g, g.input(x), entries, list(_shape(x)))
    ints = [(ax, int(i)) for ax, i in enumerate(i for i in entries if i is not None)
            if not isinstance(i, slice)]
    for ax, i in sorted(ints, reverse=True):     # the highest first: earlier axes stay put
        name = g.node("Gather", [name, g.const(np.int64(i))], axis=ax)
    nones = [p for p, i in enumerate(entries) if i is None]
    if nones:
        # positions of None among the output's axes: the ints before each one are gone
        out_axes = [p - sum(1 for i in entries[:p] if isinstance(i, (int, np.integer)))
                    for p in nones]
        name = g.node("Unsqueeze", [name, g.ints(out_axes)])
    if name == g.input(x):
        name = g.node("Identity", [name])
    return name


def _index_name(g, i) -> tuple:
    """(ONNX name as int64, shape) of an int or an int array used as an index."""
    if not _is_array(i):
        return g.const(np.int64(i)), ()
    if id(i) in g.array_names:
        name = g.array_names[id(i)]
        if i.dtype != np.int64:
            name = g.node("Cast", [name], to=g.onnx.TensorProto.INT64)
        return name, _shape(i)
    return g.const(_host(i).astype(np.int64)), _shape(i)


def _mask_indices(g, m) -> list:
    """A bool mask as one (name, shape) per axis it covers: its nonzero positions."""
    host = _host(m)
    n = (int(np.count_nonzero(host)),)
    if id(m) not in g.array_names:
        return [(g.const(k.astype(np.int64)), n) for k in np.nonzero(host)]
    nz = g.node("NonZero", [g.array_names[id(m)]])
    return [(g.node("Gather", [nz, g.const(np.int64(k))], axis=0), n)
            for k in range(m.ndim)]


def _getitem_advanced(g, x, entries, out):
    """numpy's advanced indexing: slices first (Slice), then one index on one axis as Gather,
    several (broadcast together) as GatherND over the indexed axes moved to the front. The
    broadcast axes sit where the indices were when those were side by side, else in front;
    None adds its axis in its place (Unsqueeze)."""
    shape = list(_shape(x))
    name = _slices(g, g.input(x), entries, shape)
    adv, tokens, axis = [], [], 0       # adv: (axis, name, shape); tokens: the output's layout
    for i in entries:
        if i is None:
            tokens.append("none")
            continue
        if isinstance(i, slice):
            tokens.append("slice")
            axis += 1
            continue
        comps = _mask_indices(g, i) if _is_array(i) and i.dtype == bool else [_index_name(g, i)]
        for c in comps:
            adv.append((axis,) + c)
            axis += 1
        tokens.append("adv")
    runs = [k for k, t in enumerate(tokens) if t == "adv"]
    adjacent = runs == list(range(runs[0], runs[-1] + 1))
    if not adjacent:    # the broadcast axes go first
        tokens = ["adv"] + [t for t in tokens if t != "adv"]
    else:
        tokens = [t for k, t in enumerate(tokens) if t != "adv" or k == runs[0]]
    bshape = tuple(np.broadcast_shapes(*[s for _, _, s in adv]))
    adv_axes = [ax for ax, _, _ in adv]
    rest = [d for ax, d in enumerate(shape) if ax not in adv_axes]
    if len(adv) == 1:
        name = g.node("Gather", [name, adv[0][1]], axis=adv[0][0])
        lead = adv[0][0]
    else:
        perm = adv_axes + [ax for ax in range(len(shape)) if ax not in adv_axes]
        if perm != list(range(len(shape))):
            name = g.node("Transpose", [name], perm=perm)
        parts = []
        for _, iname, ishape in adv:
            if ishape != bshape:
                iname = g.node("Expand", [iname, g.ints(bshape)])
            parts.append(g.node("Unsqueeze", [iname, g.ints([-1])]))
        name = g.node("GatherND", [name, g.node("Concat", parts, axis=-1)])
        lead = 0
        if adjacent and adv_axes[0] > 0:   # the broadcast axes back where the indices were
            k, p = len(bshape), adv_axes[0]
            name = g.node("Transpose", [name], perm=list(range(k, k + p)) + list(range(k))
                          + list(range(k + p, k + len(rest))))
            lead = p
    if not adjacent:
        lead = 0
    got = rest[:lead] + list(bshape) + rest[lead:]
    nones, pos = [], 0
    for t in tokens:
        if t == "none":
            nones.append(pos)
            got.insert(pos, 1)
        pos += len(bshape) if t == "adv" else 1
    if nones:
        name = g.node("Unsqueeze", [name, g.ints(nones)])
    if tuple(got) != _shape(out):
        raise _unsupported(f"GetItem with this mix of tensor indices (gives {_shape(out)}, "
                           f"the exporter's layout {tuple(got)})", x)
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


def _conv_transpose(g, a, out):
    """Conv2dData is conv2d's data gradient, which is conv_transpose2d: ONNX's ConvTranspose,
    with output_padding for the sizes that the traced output has beyond the formula's."""
    t, b_, l_, r = (int(p) for p in a["padding"])
    w, dy = a["w"], a["dy"]
    kernel = list(_shape(w)[2:])
    stride = [int(s) for s in a["stride"]]
    dilation = [int(d) for d in a["dilation"]]
    full = [s * (n - 1) + d * (k - 1) + 1 - lo - hi for n, s, d, k, lo, hi in
            zip(_shape(dy)[2:], stride, dilation, kernel, (t, l_), (b_, r))]
    extra = [int(o) - f for o, f in zip(a["x_shape"][2:], full)]
    return g.node("ConvTranspose", [g.input(dy), g.input(w)], kernel_shape=kernel,
                  strides=stride, pads=[t, l_, b_, r], dilations=dilation,
                  group=int(a["groups"]), output_padding=extra)


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
    if g.opset < 17:    # LayerNormalization is an op from opset 17: composed before it
        axes = list(range(-k, 0))
        xc = g.node("Sub", [g.input(x), g.node("ReduceMean", [g.input(x)], axes=axes)])
        var = g.node("ReduceMean", [g.node("Mul", [xc, xc])], axes=axes)
        y = g.node("Div", [xc, g.node("Sqrt", [g.node("Add", [var, g.const(
            float(a["eps"]), dt)])])])
        y = g.node("Mul", [y, g.input(w)]) if w is not None else y
        return g.node("Add", [y, g.input(b)]) if b is not None else y
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
    r = g.node("Unsqueeze", [_gate_rows(g, w_hh, order), g.ints([0])])
    bias = g.const(np.zeros(four_h, dt)) if b is None else _gate_rows(g, b, order)
    bias = g.node("Unsqueeze", [g.node("Concat", [bias, g.const(np.zeros(four_h, dt))],
                                       axis=0), g.ints([0])])

    node_out = [g.fresh("lstm_y"), "", g.fresh("lstm_c")]
    g.nodes.append(g.helper.make_node(
        "LSTM", [x, g.const(perm[None]), r, bias, "", _state(g, a["h0"]), _state(g, a["c0"])],
        node_out, name=g.fresh("LSTM"), hidden_size=hid,
        direction="reverse" if a["reverse"] else "forward"))
    y = g.node("Squeeze", [node_out[0], g.ints([1])])
    return g.node("Concat", [y, node_out[2]], axis=0)


def _state(g, v) -> str:
    """An initial state as ONNX's [1, B, H]; an all-zero one that no op made is ONNX's default
    and is left out, so the batch size stays free."""
    if isinstance(v, Tensor) and id(v) not in g.names and not np.any(_host_of(v)):
        return ""
    return g.node("Unsqueeze", [g.input(v), g.ints([0])])


def _gate_rows(g, v, order) -> str:
    return g.node("Gather", [g.input(v), g.ints(order)], axis=0)


def _gru(g, a, out):
    """Our GRUSequence takes gi = x W_ih^T + b_ih already made, so it is ONNX's GRU (with
    linear_before_reset, torch's form) on X = gi with W a gate-reordering permutation (ONNX
    orders gates z, r, h; torch r, z, n) and B = (0, b_hh)."""
    w_hh, b_hh = a["w_hh"], a["b_hh"]
    three_h, hid = _shape(w_hh)
    dt = np.dtype(out.dtype)
    order = np.concatenate([np.arange(k * hid, (k + 1) * hid) for k in (1, 0, 2)])
    r = g.node("Unsqueeze", [_gate_rows(g, w_hh, order), g.ints([0])])
    rb = g.const(np.zeros(three_h, dt)) if b_hh is None else _gate_rows(g, b_hh, order)
    bias = g.node("Unsqueeze", [g.node("Concat", [g.const(np.zeros(three_h, dt)), rb], axis=0),
                                g.ints([0])])
    y = g.fresh("gru_y")
    g.nodes.append(g.helper.make_node(
        "GRU", [g.input(a["gi"]), g.const(np.eye(three_h, dtype=dt)[order][None]), r, bias, "",
                _state(g, a["h0"])], [y], name=g.fresh("GRU"), hidden_size=hid,
        linear_before_reset=1, direction="reverse" if a["reverse"] else "forward"))
    return g.node("Squeeze", [y, g.ints([1])])


def _rnn(g, a, out):
    """RNNSequence takes gi = x W_ih^T + b_ih + b_hh already made: ONNX's RNN on X = gi with
    W the identity, R = W_hh and no bias."""
    w_hh = a["w_hh"]
    hid = _shape(w_hh)[0]
    dt = np.dtype(out.dtype)
    y = g.fresh("rnn_y")
    g.nodes.append(g.helper.make_node(
        "RNN", [g.input(a["gi"]), g.const(np.eye(hid, dtype=dt)[None]),
                g.node("Unsqueeze", [g.input(w_hh), g.ints([0])]), "", "", _state(g, a["h0"])],
        [y], name=g.fresh("RNN"), hidden_size=hid,
        activations=["Tanh" if a["nonlinearity"] == "tanh" else "Relu"],
        direction="reverse" if a["reverse"] else "forward"))
    return g.node("Squeeze", [y, g.ints([1])])


def _gather(g, a, out):
    """torch.gather is ONNX's GatherElements where the index has the input's sizes off its axis
    (torch also lets it be smaller there, reading a corner)."""
    x, index, axis = a["x"], a["index"], int(a["axis"])
    if any(i != n for d, (i, n) in enumerate(zip(index.shape, x.shape)) if d != axis):
        raise _unsupported(f"gather with an index of shape {tuple(index.shape)} smaller than "
                           "the input off the gather axis", x)
    return g.node("GatherElements", [g.input(x), g.input(index)], axis=axis)


# NumPy's name -> ONNX's, for the ops with no gradient (comparisons, logical and bitwise ops)
_COMPARE = {"equal": "Equal", "less": "Less", "less_equal": "LessOrEqual", "greater": "Greater",
            "greater_equal": "GreaterOrEqual"}
_LOGICAL = {"logical_and": "And", "logical_or": "Or", "logical_xor": "Xor"}
_BITWISE = {"bitwise_and": ("And", "BitwiseAnd"), "bitwise_or": ("Or", "BitwiseOr"),
            "bitwise_xor": ("Xor", "BitwiseXor")}


def _as_bool(g, v) -> str:
    """v as an ONNX bool (And/Or/Xor/Not take only bools; NumPy's logical ops take any)."""
    x = g.input(v)
    if np.dtype(v.dtype) == np.bool_:
        return x
    return g.node("Cast", [x], to=g.helper.np_dtype_to_tensor_dtype(np.dtype(bool)))


def _nondiff_binary(g, a, out):
    fn, x, y = a["fn"], a["a"], a["b"]
    dt = np.dtype(x.dtype)
    if fn in _COMPARE:
        return g.node(_COMPARE[fn], [g.input(x, dt), g.input(y, dt)])
    if fn == "not_equal":
        return g.node("Not", [g.node("Equal", [g.input(x, dt), g.input(y, dt)])])
    if fn in _LOGICAL:
        return g.node(_LOGICAL[fn], [_as_bool(g, x), _as_bool(g, y)])
    if fn in _BITWISE and dt == np.bool_:
        return g.node(_BITWISE[fn][0], [g.input(x, dt), g.input(y, dt)])
    if fn in _BITWISE and g.opset >= 18:
        return g.node(_BITWISE[fn][1], [g.input(x, dt), g.input(y, dt)])
    if fn == "floor_divide" and dt.kind == "f":
        return g.node("Floor", [g.node("Div", [g.input(x, dt), g.input(y, dt)])])
    raise _unsupported(f"{fn} of {dt} tensors" + (" below opset 18" if fn in _BITWISE else ""),
                       x)


def _nondiff_unary(g, a, out):
    fn, x = a["fn"], a["x"]
    dt = np.dtype(x.dtype)
    if fn == "logical_not" or (fn == "invert" and dt == np.bool_):
        return g.node("Not", [_as_bool(g, x)])
    if fn == "invert" and g.opset >= 18:
        return g.node("BitwiseNot", [g.input(x)])
    if fn == "isnan":       # NaN != NaN: the one test that holds for every dtype
        return g.node("IsNaN", [g.input(x)]) if dt.kind == "f" else g.node(
            "Not", [g.node("Equal", [g.input(x), g.input(x)])])
    if fn in ("isinf", "isfinite") and dt.kind == "f":
        inf = g.node("IsInf", [g.input(x)])
        if fn == "isinf":
            return inf
        return g.node("Not", [g.node("Or", [inf, g.node("IsNaN", [g.input(x)])])])
    raise _unsupported(f"{fn} of {dt} tensors" + (" below opset 18" if fn == "invert" else ""),
                       x)


def _host_of(t) -> np.ndarray:
    return _host(t._data)



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
    "ScaledDotProductAttention": _attention, "LSTMSequence": _lstm, "GRUSequence": _gru,
    "RNNSequence": _rnn, "Conv2dData": _conv_transpose, "Softplus": _softplus,
    "Resample": _resample, "NondiffBinary": _nondiff_binary, "NondiffUnary": _nondiff_unary,
    "Gather": _gather, "Detach": _identity,
}
