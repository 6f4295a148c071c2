"""Jacobians, Hessians and their products (torch.autograd.functional), built from reverse mode.

Everything here is `autograd.grad` called the right number of times; no new Function is needed:
  vjp       one backward pass seeded with v
  jvp       the double-vjp trick: g(u) = J^T u is linear in a dummy cotangent u, so its vjp with v
            is d<J^T u, v>/du = J v
  jacobian  one vjp per output element (rows), or one double-vjp per input element (columns)
  hessian   the jacobian of the gradient, the gradient built with create_graph=True
  vhp, hvp  the vjp and the jvp of that gradient
"""
from __future__ import annotations

from typing import Callable, Optional, Tuple, Union

from .grad_mode import enable_grad

TensorOrTuple = Union["Tensor", Tuple["Tensor", ...]]  # noqa: F821  (tensor.py imports autograd)

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]

_STRATEGIES = ("reverse-mode", "forward-mode")


def _shape(t) -> tuple:
    return tuple(t.shape)


def _as_tuple(x, what: str, fn: str):
    """(was it a tuple, the tensors as a tuple); anything but Tensors is a TypeError."""
    from ..tensor import Tensor
    is_tuple = isinstance(x, tuple)
    items = x if is_tuple else (x,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            where = f" (entry {i})" if is_tuple else ""
            raise TypeError(f"{fn}: {what} must be a Tensor or a tuple of Tensors, got "
                            f"{type(t).__name__}{where}")
    return is_tuple, items


def _unpack(res: tuple, is_tuple: bool):
    return res if is_tuple else res[0]


def _unpack2(res: tuple, out_tuple: bool, in_tuple: bool):
    """res[i][k] is d output i / d input k; drop the levels the caller did not ask as tuples."""
    if not in_tuple:
        res = tuple(row[0] for row in res)
    return _unpack(res, out_tuple)


def _prepare(tensors: tuple, create_graph: bool, need_graph: bool = True) -> tuple:
    """Fresh leaves, so the caller's tensors are never touched; with create_graph a tensor that
    already requires grad goes through an identity node instead, keeping the caller's graph."""
    with enable_grad():
        return tuple(t.clone() if create_graph and t.requires_grad
                     else t.detach().requires_grad_(need_graph) for t in tensors)


def _finish(res, create_graph: bool):
    """Detach every tensor of a (nested) tuple unless create_graph."""
    if create_graph:
        return res
    if isinstance(res, tuple):
        return tuple(_finish(r, False) for r in res)
    return res.detach()


def _call(func: Callable, inputs: tuple, fn: str, strict: bool):
    """Run func under enable_grad; (was the output a tuple, the outputs as a tuple)."""
    with enable_grad():
        out_tuple, outputs = _as_tuple(func(*inputs), "the outputs of func", fn)
    if strict:
        for i, out in enumerate(outputs):
            if not out.requires_grad:
                raise RuntimeError(f"{fn}: output {i} (shape {_shape(out)}) does not require "
                                   "grad; strict=True needs every output computed "
                                   "differentiably from the inputs")
    return out_tuple, outputs


def _scalar_output(out, fn: str, strict: bool):
    """The single one-element tensor that hessian, vhp and hvp need."""
    from ..tensor import Tensor
    if isinstance(out, tuple):
        raise RuntimeError(f"{fn}: func must return a single Tensor, got a tuple of {len(out)}")
    if not isinstance(out, Tensor):
        raise TypeError(f"{fn}: func must return a Tensor, got {type(out).__name__}")
    if out.numel() != 1:
        raise RuntimeError(f"{fn}: func must return a one-element tensor, got shape "
                           f"{_shape(out)}")
    if strict and not out.requires_grad:
        raise RuntimeError(f"{fn}: the output does not require grad; strict=True needs it "
                           "computed differentiably from the inputs")
    return out


def _check_v(fn: str, v, refs: tuple, create_graph: bool, what: str):
    """v as a tuple matching refs (the outputs for vjp, the inputs otherwise) tensor by tensor."""
    if v is None:
        if len(refs) != 1 or refs[0].numel() != 1:
            raise RuntimeError(f"{fn}: v may be None only when the {what} is a single "
                               f"one-element tensor; got {what} shapes "
                               f"{[_shape(r) for r in refs]}")
        return None
    _, v = _as_tuple(v, "v", fn)
    if len(v) != len(refs):
        raise RuntimeError(f"{fn}: v has {len(v)} tensor(s) but there are {len(refs)} {what}s")
    for i, (a, b) in enumerate(zip(v, refs)):
        if a.shape != b.shape:
            raise RuntimeError(f"{fn}: v[{i}] has shape {_shape(a)} but {what} {i} has shape "
                               f"{_shape(b)}")
    return _prepare(v, create_graph, need_graph=False)


def _vjp_raw(outputs: tuple, inputs: tuple, v: Optional[tuple], create_graph: bool,
             retain_graph: Optional[bool] = None) -> tuple:
    """autograd.grad over the outputs that are in a graph at all; None for unreached inputs."""
    from . import grad
    v = (None,) * len(outputs) if v is None else v
    pairs = [(o, w) for o, w in zip(outputs, v) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return grad([o for o, _ in pairs], inputs, [w for _, w in pairs], retain_graph=retain_graph,
                create_graph=create_graph, allow_unused=True)


def _transpose(outputs: tuple, inputs: tuple, like: tuple):
    """(dummy cotangents u shaped as `like`, J^T u as a graph in u): the first half of the
    double-vjp trick. u's value never matters, since J^T u is linear in it."""
    from ..functions.creation import zeros_like
    dummies = tuple(zeros_like(o, requires_grad=True) for o in like)
    return dummies, _vjp_raw(outputs, inputs, dummies, create_graph=True)


def _fill(grads: tuple, refs: tuple, strict: bool, create_graph: bool, fn: str,
          unused: str) -> tuple:
    """Zeros where nothing flowed back, or, under strict, an error saying `unused`."""
    from ..functions.creation import zeros_like
    res = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{fn}: {unused.format(i=i, shape=_shape(ref))}; "
                                   "strict=True forbids this")
            g = zeros_like(ref)
        elif strict and create_graph and not g.requires_grad:
            raise RuntimeError(f"{fn}: result {i} (shape {_shape(ref)}) does not depend on the "
                               "inputs, so create_graph=True cannot differentiate it; "
                               "strict=True forbids this")
        res.append(g)
    return tuple(res)


def _check_gradient_depends(grads: tuple, inputs: tuple, fn: str) -> None:
    """Under strict, a Hessian needs a gradient that still depends on the inputs."""
    for i, (g, x) in enumerate(zip(grads, inputs)):
        if g is None or not g.requires_grad:
            raise RuntimeError(f"{fn}: the gradient with respect to input {i} (shape "
                               f"{_shape(x)}) does not depend on the inputs (is func linear in "
                               "it?); strict=True forbids this")


def _assemble(parts: list, shape: tuple, ref, dim: int):
    """Stack per-element derivatives into one tensor of `shape`."""
    from ..functions.creation import zeros
    from ..functions.indexing import stack
    if not parts:
        return zeros(shape, dtype=ref.dtype, device=ref.device)
    return stack(parts, dim=dim).reshape(shape)


def vjp(func: Callable, inputs: TensorOrTuple, v: Optional[TensorOrTuple] = None,
        create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T J): one backward pass seeded with v."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
    inputs = _prepare(inputs, create_graph)
    out_tuple, outputs = _call(func, inputs, "vjp", strict)
    v = _check_v("vjp", v, outputs, create_graph, "output")
    res = _vjp_raw(outputs, inputs, v, create_graph)
    res = _fill(res, inputs, strict, create_graph, "vjp",
                "the outputs do not depend on input {i} (shape {shape})")
    return (_unpack(_finish(outputs, create_graph), out_tuple),
            _unpack(_finish(res, create_graph), in_tuple))


def jvp(func: Callable, inputs: TensorOrTuple, v: Optional[TensorOrTuple] = None,
        create_graph: bool = False, strict: bool = False):
    """(func(inputs), J v) by the double-vjp trick: J v = d<J^T u, v>/du for a dummy u."""
    _, inputs = _as_tuple(inputs, "inputs", "jvp")  # J v is shaped like the outputs
    inputs = _prepare(inputs, create_graph)
    v = _check_v("jvp", v, inputs, create_graph, "input")
    out_tuple, outputs = _call(func, inputs, "jvp", strict)
    with enable_grad():
        dummies, back = _transpose(outputs, inputs, outputs)
    if strict:
        for i, (b, x) in enumerate(zip(back, inputs)):
            if b is None or not b.requires_grad:
                raise RuntimeError(f"jvp: the outputs do not depend on input {i} (shape "
                                   f"{_shape(x)}); strict=True forbids this")
    res = _vjp_raw(back, dummies, v, create_graph)
    res = _fill(res, outputs, strict, create_graph, "jvp",
                "output {i} (shape {shape}) does not depend on the inputs")
    return (_unpack(_finish(outputs, create_graph), out_tuple),
            _unpack(_finish(res, create_graph), out_tuple))


def _jacobian_rows(outputs: tuple, inputs: tuple, create_graph: bool, strict: bool,
                   fn: str) -> tuple:
    """Reverse mode: row j of d output i / d inputs is the vjp with the j-th one-hot vector."""
    from ..functions.creation import zeros_like
    jac = []
    for i, out in enumerate(outputs):
        rows = [[] for _ in inputs]
        flat = out.reshape(-1)
        for j in range(out.numel()):
            grads = _vjp_raw((flat[j],), inputs, None, create_graph, retain_graph=True)
            for k, (g, x) in enumerate(zip(grads, inputs)):
                if g is None:
                    if strict:
                        raise RuntimeError(f"{fn}: output {i} (shape {_shape(out)}) does not "
                                           f"depend on input {k} (shape {_shape(x)}); "
                                           "strict=True forbids this")
                    g = zeros_like(x)
                elif strict and create_graph and not g.requires_grad:
                    raise RuntimeError(f"{fn}: the jacobian of output {i} with respect to input "
                                       f"{k} does not depend on the inputs, so create_graph=True "
                                       "cannot differentiate it; strict=True forbids this")
                rows[k].append(g)
        jac.append(tuple(_assemble(r, _shape(out) + _shape(x), x, 0)
                         for r, x in zip(rows, inputs)))
    return tuple(jac)


def _jacobian_columns(outputs: tuple, inputs: tuple, create_graph: bool) -> tuple:
    """Forward mode by double vjps: column j of d outputs / d input k is J e_j, one backward pass
    each through the shared graph of J^T u."""
    from ..functions.creation import eye, zeros_like
    dummies, back = _transpose(outputs, inputs, outputs)
    cols = [[[] for _ in inputs] for _ in outputs]
    for k, (x, b) in enumerate(zip(inputs, back)):
        basis = eye(x.numel(), dtype=x.dtype, device=x.device)
        for j in range(x.numel()):
            e = (basis[j].reshape(x.shape),)
            got = _vjp_raw((b,), dummies, e, create_graph, retain_graph=True)
            for i, (c, out) in enumerate(zip(got, outputs)):
                cols[i][k].append(zeros_like(out) if c is None else c)
    return tuple(tuple(_assemble(cols[i][k], _shape(out) + _shape(x), out, -1)
                       for k, x in enumerate(inputs)) for i, out in enumerate(outputs))


def _jacobian(func: Callable, inputs: tuple, create_graph: bool, strict: bool, strategy: str,
              fn: str):
    """(output was a tuple, J[i][k] = d output i / d input k of shape out_i.shape + in_k.shape)"""
    inputs = _prepare(inputs, create_graph)
    out_tuple, outputs = _call(func, inputs, fn, strict)
    with enable_grad():
        if strategy == "forward-mode":
            jac = _jacobian_columns(outputs, inputs, create_graph)
        else:
            jac = _jacobian_rows(outputs, inputs, create_graph, strict, fn)
    return out_tuple, _finish(jac, create_graph)


def _check_strategy(fn: str, name: str, strategy: str, strict: bool) -> None:
    if strategy not in _STRATEGIES:
        raise ValueError(f"{fn}: {name} must be 'reverse-mode' or 'forward-mode', got "
                         f"{strategy!r}")
    if strategy == "forward-mode" and strict:
        raise NotImplementedError(f"{fn}: strict=True is not supported with "
                                  f"{name}='forward-mode'; use {name}='reverse-mode'")


def jacobian(func: Callable, inputs: TensorOrTuple, create_graph: bool = False,
             strict: bool = False, vectorize: bool = False, strategy: str = "reverse-mode"):
    """J[i][k] = d func(inputs)[i] / d inputs[k], of shape output_i.shape + input_k.shape.

    vectorize is accepted for torch compatibility and runs the same loop; forward-mode builds
    the columns with double vjps, so unlike torch it needs no vectorize=True."""
    _check_strategy("jacobian", "strategy", strategy, strict)
    in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    out_tuple, jac = _jacobian(func, inputs, create_graph, strict, strategy, "jacobian")
    return _unpack2(jac, out_tuple, in_tuple)


def hessian(func: Callable, inputs: TensorOrTuple, create_graph: bool = False,
            strict: bool = False, vectorize: bool = False,
            outer_jacobian_strategy: str = "reverse-mode"):
    """H[i][k] = d^2 func / d inputs[i] d inputs[k], of shape input_i.shape + input_k.shape:
    the jacobian of the gradient, the gradient itself built with create_graph=True."""
    _check_strategy("hessian", "outer_jacobian_strategy", outer_jacobian_strategy, strict)
    in_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs):
        def scalar(*ys):
            return _scalar_output(func(*ys), "hessian", strict).reshape(())
        _, g = _jacobian(scalar, xs, True, False, "reverse-mode", "hessian")
        if strict:
            _check_gradient_depends(g[0], xs, "hessian")
        return g[0]

    _, hess = _jacobian(gradient, inputs, create_graph, strict, outer_jacobian_strategy,
                        "hessian")
    return _unpack2(hess, in_tuple, in_tuple)


def _hessian_product(fn: str, func: Callable, inputs: TensorOrTuple, v, create_graph: bool,
                     strict: bool):
    """vhp: the vjp of the gradient g(x) with v.  hvp: its jvp, by the double-vjp trick."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", fn)
    inputs = _prepare(inputs, create_graph)
    v = _check_v(fn, v, inputs, create_graph, "input")
    with enable_grad():
        out = _scalar_output(func(*inputs), fn, strict)
        grads = _vjp_raw((out,), inputs, None, create_graph=True)
        if strict:
            _check_gradient_depends(grads, inputs, fn)
        wrt = inputs
        if fn == "hvp":
            wrt, grads = _transpose(grads, inputs, inputs)
    res = _vjp_raw(grads, wrt, v, create_graph)
    res = _fill(res, inputs, strict, create_graph, fn,
                "the gradient with respect to input {i} (shape {shape}) is constant")
    return _finish(out, create_graph), _unpack(_finish(res, create_graph), in_tuple)


def vhp(func: Callable, inputs: TensorOrTuple, v: Optional[TensorOrTuple] = None,
        create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T H) for a scalar func: the vjp of its gradient."""
    return _hessian_product("vhp", func, inputs, v, create_graph, strict)


def hvp(func: Callable, inputs: TensorOrTuple, v: Optional[TensorOrTuple] = None,
        create_graph: bool = False, strict: bool = False):
    """(func(inputs), H v) for a scalar func: the jvp of its gradient (equal to vhp, since H is
    symmetric, but the way torch computes it)."""
    return _hessian_product("hvp", func, inputs, v, create_graph, strict)
