"""ONNX export, with torch.onnx's signature: `tl.onnx.export(model, args, f, ...)`.

The forward is traced: while it runs, `Function.apply` hands every op (its class, its inputs and
its keyword settings) to a tracer installed as an observer (`grad_mode.state.observers`), and
each op is then written as ONNX nodes by a converter in `_ops.py`. Tensors that no traced op
made are graph inputs (the `args`), the model's parameters and buffers (initializers under their
state_dict names) or constants (initializers). A second run on other inputs tells which sizes
follow the dynamic axes and which untraced tensors depend on the inputs. The `onnx` package is
imported only here, when export is called (the `formats` extra).
"""
from __future__ import annotations

import inspect
import linecache
import os
import sys
from typing import Any, Optional, Sequence

import numpy as np

from ..autograd.grad_mode import no_grad, state
from ..tensor import Tensor
from ..dtypes import is_floating

__all__ = ["export", "is_in_onnx_export", "UnsupportedOperatorError"]

_EXPORTING = [False]


class UnsupportedOperatorError(RuntimeError):
    """An op the exporter has no ONNX converter for (torch.onnx's name)."""


def is_in_onnx_export() -> bool:
    """True while `export` runs the model's forward (models may branch on it, as in torch)."""
    return _EXPORTING[0]


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class _Tracer:
    """The observer: records each op as it runs, with the line of user code that made it (the
    first frame outside the package), keeping inputs and output alive so ids stay unique."""

    def __init__(self):
        self.calls: list = []

    def on_apply(self, cls, args, params, result) -> None:
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
            frame = frame.f_back
        where = (frame.f_code.co_filename, frame.f_lineno) if frame is not None else None
        self.calls.append((cls, args, params, result, where))

    def on_backward(self, *a) -> None:  # pragma: no cover - export runs no backward
        pass


def _site(where) -> str:
    if where is None:
        return ""
    line = linecache.getline(where[0], where[1]).strip()
    return f" (made at {where[0]}:{where[1]}: {line})"


def _bind(cls, args, params) -> dict:
    """The op's forward arguments by name, however apply was called."""
    sig = _SIGS.get(cls)
    if sig is None:
        sig = _SIGS[cls] = inspect.signature(cls.forward)
    bound = sig.bind(None, *args, **params)
    bound.apply_defaults()
    out = dict(bound.arguments)
    out.pop(next(iter(sig.parameters)))     # self
    return out


_SIGS: dict = {}


class Graph:
    """What converters write into: nodes, initializers and the names of traced tensors."""

    def __init__(self, onnx, opset: int, param_names: dict, shapes2: Optional[dict] = None):
        self.onnx, self.helper, self.opset = onnx, onnx.helper, opset
        self.nodes: list = []
        self.initializers: list = []
        self.names: dict = {}           # id(Tensor) -> name
        self.array_names: dict = {}     # id(array) -> name (ops that take x._data, not x)
        self.param_names = param_names  # id(Parameter or buffer) -> state_dict name
        shapes2 = dict(shapes2 or {})
        self.settings2 = shapes2.pop("settings", {})   # id(op's output) -> the op's settings
        self.fills = shapes2.pop("fills", {})          # id(constant fill) -> its shape there
        self.shapes2 = shapes2          # id(traced Tensor) -> its shape at the grown sizes
        self.sizes: list = []           # (graph input's name, its shape, its shape there)
        self._n = 0
        self.keep: list = []

    def fresh(self, base: str) -> str:
        self._n += 1
        return f"{base}_{self._n}"

    def bind(self, t: Tensor, name: str) -> None:
        self.names[id(t)] = name
        self.array_names[id(t._data)] = name
        self.keep.append(t)

    def varying(self, t) -> Optional[set]:
        """The axes of t whose size follows a dynamic input axis; None where unknown (no second
        trace). A tensor no op made (a parameter, a constant) has none."""
        if not self.shapes2:
            return None
        if not isinstance(t, Tensor) or id(t) not in self.shapes2:
            return set()
        other = self.shapes2[id(t)]
        if len(other) != t.ndim:
            return None
        return {i for i, (n, m) in enumerate(zip(t.shape, other)) if n != m}

    def const(self, value, dtype=None, name: Optional[str] = None) -> str:
        arr = np.asarray(value, dtype=dtype)
        if not isinstance(arr, np.ndarray):     # a CuPy array
            arr = arr.get()
        name = name or self.fresh("const")
        self.initializers.append(self.onnx.numpy_helper.from_array(np.array(arr, order="C"),
                                                                   name))
        return name

    def ints(self, values) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64))

    def input(self, v, dtype=None) -> str:
        """The name of an op's input: a traced tensor, a parameter, or a constant."""
        if isinstance(v, Tensor):
            name = self.names.get(id(v))
            if name is not None:
                return name
            pname = self.param_names.get(id(v))
            name = self.fill(v) if id(v) in self.fills else None
            name = name or self.const(_host(v._data), name=pname)
            self.bind(v, name)
            return name
        if hasattr(v, "shape") and id(v) in self.array_names:
            return self.array_names[id(v)]
        if hasattr(v, "shape") and id(v) in self.fills:
            name = self.fill(v)
            if name is not None:
                return name
        if hasattr(v, "shape") and not isinstance(v, np.generic):
            return self.const(_host(v))
        return self.const(v, dtype=dtype)

    def fill(self, v) -> Optional[str]:
        """A constant of one value whose sizes follow graph inputs' dynamic axes (zeros made
        from x.shape[0]): that value expanded to a shape read off those inputs; None where a
        size matches no input's axis."""
        parts = []
        for n, n2 in zip(v.shape, self.fills[id(v)]):
            if n == n2:
                parts.append(self.ints([n]))
                continue
            src = next(((name, ax) for name, s1, s2 in self.sizes for ax in range(len(s1))
                        if (s1[ax], s2[ax]) == (n, n2)), None)
            if src is None:
                return None
            parts.append(self.node("Gather", [self.node("Shape", [src[0]]), self.ints([src[1]])],
                                   axis=0))
        shape = self.node("Concat", parts, axis=0)
        data = v._data if isinstance(v, Tensor) else v
        return self.node("Expand", [self.const(_host(data).flat[0]), shape])

    def node(self, op_type: str, inputs: Sequence[str], out: Optional[str] = None,
             **attrs) -> str:
        out = out or self.fresh(op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out],
                                                name=self.fresh(op_type), **attrs))
        return out


def _host(arr) -> np.ndarray:
    return arr if isinstance(arr, np.ndarray) else arr.get()


def _dynamic(dynamic_axes, name: str, ndim: int) -> dict:
    axes = (dynamic_axes or {}).get(name, {})
    if isinstance(axes, (list, tuple)):
        axes = {int(a): f"{name}_dynamic_axes_{i + 1}" for i, a in enumerate(axes)}
    return {int(a) % max(ndim, 1): str(n) for a, n in axes.items()}


def _value_info(helper, name: str, t: Tensor, dyn: dict):
    dims = [dyn.get(i, int(d)) for i, d in enumerate(t.shape)]
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(
        np.dtype(t.dtype)), dims)


def _flat(v, what: str) -> list:
    """The tensors of nested tuples/lists, in order (torch's flattening of args and outputs)."""
    if isinstance(v, Tensor):
        return [v]
    if isinstance(v, (tuple, list)):
        return [t for i in v for t in _flat(i, what)]
    raise TypeError(f"onnx.export: {what} must be Tensors or (nested) tuples/lists of Tensors, "
                    f"got {type(v).__name__}")


def _nest(like, flat):
    """flat (an iterator of tensors) put back into the nesting of like."""
    if isinstance(like, Tensor):
        return next(flat)
    return type(like)(_nest(i, flat) for i in like)


def _trace(model, args) -> tuple:
    """Run model(*args) under no_grad with a tracer: (the recorded ops, the result)."""
    tracer = _Tracer()
    state.observers.append(tracer)
    try:
        with no_grad():
            return tracer.calls, model(*args)
    finally:
        state.observers.remove(tracer)


def _second_trace(model, nested, input_names, dynamic_axes, calls) -> dict:
    """The forward traced once more, on other inputs: every dynamic input axis one longer (its
    first entry repeated), floating inputs redrawn, integer ones rolled along their first
    axis. Returns the shapes of that run by id of each tensor's twin in the first (where an
    axis is dynamic), and raises where a tensor that no traced op made changes with the inputs
    (a comparison or another op the tracer does not see: the file would hold its value from
    the trace). Nothing is learnt where the second run fails or records other ops."""
    from .. import cat, from_numpy  # noqa: PLC0415  (the package root imports this one)
    rng = np.random.default_rng(0x6F6E6E78)     # a stream of its own, not the global seed's
    args = _flat(nested, "args")
    sized, dynamic = [], False
    for a, name in zip(args, input_names):
        for ax in _dynamic(dynamic_axes, name, a.ndim):
            with no_grad():
                a = cat([a, a[(slice(None),) * ax + (slice(0, 1),)]], dim=ax)
            dynamic = True
        sized.append(a)
    # floats redrawn first; where that takes the forward down other branches (a check on the
    # values), scaled keeping their signs instead
    for redraw in (True, False):
        grown = []
        for a in sized:
            arr = _host(a._data)
            if is_floating(arr.dtype):
                arr = rng.standard_normal(arr.shape).astype(arr.dtype) if redraw else (
                    arr * rng.uniform(0.5, 1.5, arr.shape)).astype(arr.dtype)
            elif arr.ndim:
                arr = np.roll(arr, 1, axis=0)
            grown.append(from_numpy(np.ascontiguousarray(arr)).to(a.device))
        try:
            calls2, _ = _trace(model, _nest(nested, iter(grown)))
        except Exception:   # a model that only runs at the traced sizes: no second opinion
            continue
        if len(calls2) == len(calls) and all(c[0] is c2[0] for c, c2 in zip(calls, calls2)):
            break
    else:
        return {}
    traced = {id(a) for a in args} | {id(c[3]) for c in calls}
    traced |= {id(t._data) for t in args} | {id(c[3]._data) for c in calls}
    fills: dict = {}
    for c, c2 in zip(calls, calls2):
        _check_constants(c, c2, traced, fills)
    if not dynamic:
        return {}
    shapes = {id(a): tuple(a2.shape) for a, a2 in zip(args, grown)}
    shapes["fills"] = fills
    shapes.update((id(c[3]), tuple(c2[3].shape)) for c, c2 in zip(calls, calls2))
    shapes["settings"] = {id(c[3]): c2[2] for c, c2 in zip(calls, calls2)}
    return shapes


def _leaves(v, arrays: bool):
    """The tensors (and, with arrays, the arrays) inside an op's arguments, in order."""
    if isinstance(v, (tuple, list)):
        for i in v:
            yield from _leaves(i, arrays)
    elif isinstance(v, dict):
        for i in v.values():
            yield from _leaves(i, arrays)
    elif isinstance(v, Tensor) or (arrays and hasattr(v, "shape")
                                   and not isinstance(v, np.generic)):
        yield v


def _data_inputs(args, params) -> list:
    """An op's tensor and array inputs, and the arrays of an index (the other arrays in the
    settings are sizes' tables or workspaces)."""
    return list(_leaves(args, True)) + list(_leaves(params, False)) + list(
        _leaves(params.get("index"), True))


def _check_constants(call, call2, traced, fills) -> None:
    """Raise where an op's untraced input differs between the traces; a fill (one value
    throughout) whose shape moved goes into fills (id -> its shape in the second)."""
    cls, args, params, _, where = call
    for k, (v, v2) in enumerate(zip(args, call2[1])):
        if isinstance(v, (int, float)) and isinstance(v2, (int, float)) and v != v2 and not (
                v != v and v2 != v2):
            raise UnsupportedOperatorError(
                f"onnx.export: input {k} of op {cls.__name__} is the number {v!r}, which "
                f"changes with the model's inputs ({v2!r} in a second trace): a size taken "
                f"from a tensor's shape (x.shape[0]) would be written as a constant{_site(where)}")
    ins, ins2 = _data_inputs(args, params), _data_inputs(call2[1], call2[2])
    for k, (v, v2) in enumerate(zip(ins, ins2)):
        if v is v2 or id(v) in traced:
            continue
        x = _host(v._data if isinstance(v, Tensor) else v)
        x2 = _host(v2._data if isinstance(v2, Tensor) else v2)
        if x.shape == x2.shape and np.array_equal(x, x2, equal_nan=True):
            continue
        if x.size and x2.size and (x == x.flat[0]).all() and (x2 == x2.flat[0]).all() and (
                x.flat[0] == x2.flat[0] and x.ndim == x2.ndim and x.dtype != np.bool_):
            fills[id(v)] = x2.shape     # a fill (zeros, ones) sized from the input; not a mask
            continue
        raise UnsupportedOperatorError(
            f"onnx.export: input {k} of op {cls.__name__} (shape {x.shape}, {x.dtype}) depends "
            "on the model's inputs but was made by an op the exporter cannot see (a "
            "comparison, argmax, or a value taken to NumPy and back); written as it is, the "
            f"file would hold its traced value{_site(where)}")


def export(model, args, f, export_params: bool = True, verbose: bool = False,
           training=None, input_names: Optional[Sequence[str]] = None,
           output_names: Optional[Sequence[str]] = None, opset_version: Optional[int] = None,
           dynamic_axes: Optional[dict] = None, do_constant_folding: bool = True) -> Any:
    """Trace model(*args) once (in eval mode, no grad) and write it to f (a path or a binary
    file) as an ONNX model; returns the ModelProto. args is a Tensor or a tuple of the model's
    arguments; tensors nested in tuples/lists there (an LSTM's (h, c)) are flattened into graph
    inputs input_0, input_1, ... in order, as torch does, and so are nested outputs.

    dynamic_axes maps an input or output name to the axes that may vary ({"x": {0: "batch"}} or
    {"x": [0]}). Ops with no converter raise UnsupportedOperatorError naming the op and the line
    that made it. export_params=False, training and do_constant_folding are accepted for
    torch's signature; parameters are always written, and export always traces in eval mode."""
    import onnx  # noqa: PLC0415  (the formats extra; only export needs it)
    from . import _ops  # noqa: PLC0415

    opset = 17 if opset_version is None else int(opset_version)
    if opset < 13:
        raise ValueError(f"onnx.export: opset_version {opset} is too old; 13 or newer is "
                         "supported")
    if isinstance(args, Tensor):
        args = (args,)
    nested = tuple(args)        # model(*nested); nested tuples/lists of tensors are graph inputs
    args = _flat(nested, "args")
    input_names = list(input_names or [])
    input_names += [f"input_{i}" for i in range(len(input_names), len(args))]
    if len(input_names) != len(args):
        raise ValueError(f"onnx.export: {len(input_names)} input_names for {len(args)} inputs")

    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    _EXPORTING[0] = True
    try:
        calls, result = _trace(model, nested)
        outputs = _flat(result, "the model's outputs")
        shapes2 = _second_trace(model, nested, input_names, dynamic_axes, calls)
    finally:
        _EXPORTING[0] = False
        if was_training and hasattr(model, "train"):
            model.train(True)
    output_names = list(output_names or [])
    output_names += [f"output_{i}" for i in range(len(output_names), len(outputs))]

    params = {}
    if hasattr(model, "state_dict"):
        params = {id(t): k for k, t in model.state_dict(keep_vars=True).items()}
    g = Graph(onnx, opset, params, shapes2)
    for a, name in zip(args, input_names):
        g.bind(a, name)
        if id(a) in g.shapes2:
            g.sizes.append((name, tuple(a.shape), g.shapes2[id(a)]))
    for cls, cargs, cparams, out, where in calls:
        convert = _ops.CONVERTERS.get(cls.__name__)
        if convert is None:
            shapes = [tuple(a.shape) for a in cargs if isinstance(a, Tensor)]
            raise UnsupportedOperatorError(
                f"onnx.export: op {cls.__name__} is not supported by the exporter; inputs "
                f"{shapes}{_site(where)}")
        try:
            name = convert(g, _bind(cls, cargs, cparams), out)
        except UnsupportedOperatorError as e:
            raise UnsupportedOperatorError(f"{e}{_site(where)}") from None
        g.bind(out, name)
    graph_outputs = []
    for o, name in zip(outputs, output_names):
        g.node("Identity", [g.input(o)], out=name)    # an input passed through works too
        graph_outputs.append(_value_info(onnx.helper, name, o, _dynamic(dynamic_axes, name,
                                                                       o.ndim)))
    graph_inputs = [_value_info(onnx.helper, n, a, _dynamic(dynamic_axes, n, a.ndim))
                    for a, n in zip(args, input_names)]
    graph = onnx.helper.make_graph(g.nodes, type(model).__name__, graph_inputs, graph_outputs,
                                   g.initializers)
    proto = onnx.helper.make_model(graph, producer_name="tinygrad_lite",
                                   opset_imports=[onnx.helper.make_opsetid("", opset)])
    proto.ir_version = min(proto.ir_version, 8)     # what onnxruntime releases still read
    onnx.checker.check_model(proto)
    if verbose:
        print(onnx.helper.printable_graph(graph))
    onnx.save(proto, f)
    return proto
