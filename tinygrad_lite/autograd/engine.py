"""The backward walk: order the nodes, hand each its summed gradient once, accumulate into leaves.

The walk is iterative (a graph of 100,000 chained ops must not hit Python's recursion limit).
A node runs only after every node that feeds gradient into it has run, so it sees the full sum
of its incoming gradients (a value reused twice gets both contributions before it passes them on).
"""
from __future__ import annotations

import time
import weakref

import numpy as np

from .autocast_mode import suspended
from .function import _FREED, Function
from .grad_mode import enable_grad, no_grad, state
from ..utils.hooks import RemovableHandle


# id(leaf) -> (weakref to the leaf, {handle id: hook}): Tensor.register_post_accumulate_grad_hook.
# Kept here rather than on the Tensor so a Tensor carries no extra slot for a rarely used feature.
_post_hooks = {}


def register_post_accumulate_grad_hook(leaf, hook):
    """hook(leaf) runs once per backward, right after the last contribution to leaf.grad."""
    if not leaf.requires_grad:
        raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on a "
                           "tensor that doesn't require gradient")
    if leaf.grad_fn is not None:
        raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks "
                           "cannot be registered on non-leaf tensors")
    key = id(leaf)
    entry = _post_hooks.get(key)
    if entry is None or entry[0]() is not leaf:
        def drop(ref, key=key, hooks=_post_hooks):    # bound: module globals go at exit
            if hooks.get(key, (None,))[0] is ref:
                del hooks[key]
        entry = _post_hooks[key] = (weakref.ref(leaf, drop), {})
    handle = RemovableHandle(entry[1])
    entry[1][handle.id] = hook
    return handle


def _count_post_edges(roots, deps):
    """Gradient edges still to arrive at each leaf that has post-accumulate hooks."""
    counts = {}
    F = Function
    for node in list(roots) + list(deps):
        for p in node.parents:
            if p is not None and not isinstance(p, F) and id(p) in _post_hooks:
                counts[id(p)] = counts.get(id(p), 0) + 1
    return counts


def _post_edge(leaf, g, post, held, capture, accumulate, create_graph):
    """One edge into a leaf with post-accumulate hooks arrived (g may be None): deliver the sum
    as soon as it was the last, so the hooks (DDP's bucket reductions) start during backward."""
    key = id(leaf)
    if g is not None:
        old = held.get(key)
        held[key] = (leaf, g if old is None else old[1] + g)
    post[key] -= 1
    if post[key] == 0:
        got = held.pop(key, None)
        if got is not None:
            _deliver_leaf(leaf, got[1], capture, accumulate, create_graph)


def _count_dependencies(roots):
    """Number of gradient edges arriving at each node reachable from `roots` (iterative DFS)."""
    deps = {}
    stack = list(roots)
    F = Function
    while stack:
        node = stack.pop()
        for p in node.parents:
            if isinstance(p, F):
                n = deps.get(p)
                if n is None:           # first visit: walk on from it
                    deps[p] = 1
                    stack.append(p)
                else:
                    deps[p] = n + 1
    return deps


def run_backward(outputs, grad_outputs, retain_graph=False, create_graph=False, capture=None,
                 accumulate=True):
    """Push `grad_outputs` back from `outputs` (see _run_backward). NumPy's floating-point
    warnings are off for the walk: an inf or NaN gradient propagates silently, as torch's does
    (anomaly mode is the tool that reports them)."""
    with np.errstate(all="ignore"), suspended():    # backward keeps forward's dtypes
        return _run_backward(outputs, grad_outputs, retain_graph, create_graph, capture,
                             accumulate)


def _run_backward(outputs, grad_outputs, retain_graph=False, create_graph=False, capture=None,
                  accumulate=True):
    """Push `grad_outputs` back from `outputs`.

    capture: optional dict {node or leaf tensor id -> None}; gradients reaching those are stored
    there (this is autograd.grad). accumulate: write leaves' `.grad` (this is Tensor.backward).
    """
    buffers = {}
    roots = []
    for out, g in zip(outputs, grad_outputs):
        node = out.grad_fn
        if node is None:
            if out.requires_grad:       # a leaf as its own output
                _deliver_leaf(out, g, capture, accumulate, create_graph)
                continue
            raise RuntimeError("backward: element 0 of tensors does not require grad and does not "
                               "have a grad_fn (did you compute it under no_grad or from tensors "
                               "without requires_grad=True?)")
        if node in buffers:
            buffers[node] = buffers[node] + g
        else:
            buffers[node] = g
            roots.append(node)
    deps = _count_dependencies(roots)
    post = _count_post_edges(roots, deps) if _post_hooks else None
    ready = [n for n in roots if deps.get(n, 0) == 0]
    mode = enable_grad() if create_graph else no_grad()
    observers = state.observers
    F = Function
    held = {}   # leaves with hooks: torch runs those once, on the summed gradient
    with mode:
        while ready:
            node = ready.pop()
            grad = buffers.pop(node, None)
            if grad is None:            # nothing flowed here; let its parents' counts drop too
                for parent in node.parents:
                    if isinstance(parent, F):
                        _release(parent, deps, ready)
                    elif post and parent is not None and id(parent) in post:
                        _post_edge(parent, None, post, held, capture, accumulate, create_graph)
                continue
            if node.tensor_hooks or node.retained is not None or capture is not None:
                grad = _visit(node, grad, capture, create_graph)
            if observers:
                t0 = time.perf_counter()
            if node.arithmetic_backward and not create_graph:
                grads = node.backward_on_arrays(grad)
            else:
                grads = node.backward(grad)
                if type(grads) is not tuple:
                    grads = (grads,)
            if observers:
                seconds = time.perf_counter() - t0
                for obs in list(observers):
                    obs.on_backward(node, grad, grads, seconds)
            if not retain_graph:
                node._saved = _FREED
            parents = node.parents
            if len(grads) != len(parents):
                raise RuntimeError(f"{node.name()}.backward returned {len(grads)} gradients for "
                                   f"{len(parents)} inputs")
            for parent, g, meta in zip(parents, grads, node.in_meta):
                if parent is None:
                    continue
                if isinstance(parent, F):
                    if g is not None:
                        data = g._data
                        if data.shape != meta[0]:
                            g = _sum_to_shape(g, meta[0], node)
                        # `is not` first: dtypes are singletons, so the slower != rarely runs
                        if data.dtype is not meta[1] and data.dtype != meta[1]:
                            g = g.to(meta[1])
                        old = buffers.get(parent)
                        buffers[parent] = g if old is None else old + g
                    left = deps[parent] - 1
                    deps[parent] = left
                    if left == 0:
                        ready.append(parent)
                elif g is not None:
                    if g._data.shape != meta[0]:
                        g = _sum_to_shape(g, meta[0], node)
                    if g._data.dtype != meta[1]:
                        g = g.to(meta[1])
                    if post and id(parent) in post:
                        _post_edge(parent, g, post, held, capture, accumulate, create_graph)
                    elif parent._hooks:
                        old = held.get(id(parent))
                        held[id(parent)] = (parent, g if old is None else old[1] + g)
                    else:
                        _deliver_leaf(parent, g, capture, accumulate, create_graph)
                elif post and id(parent) in post:
                    _post_edge(parent, None, post, held, capture, accumulate, create_graph)
        for leaf, g in held.values():
            _deliver_leaf(leaf, g, capture, accumulate, create_graph)


def _visit(node, grad, capture, create_graph):
    """The rare per-node extras: tensor hooks, retain_grad() and autograd.grad's captures."""
    if node.tensor_hooks:
        for hook in list(node.tensor_hooks.values()):
            new = hook(grad)
            if new is not None:
                grad = new
    ref = node.retained
    if ref is not None:
        t = ref()
        if t is not None:
            g = grad if create_graph else grad.detach()
            t.grad = g if t.grad is None else t.grad + g
    if capture is not None and node in capture:
        capture[node] = grad if capture[node] is None else capture[node] + grad
    return grad


def _release(parent, deps, ready):
    left = deps[parent] - 1
    deps[parent] = left
    if left == 0:
        ready.append(parent)


def _sum_to_shape(g, shape, node):
    """Undo broadcasting: sum the gradient down to the input's shape."""
    try:
        return g.sum_to_size(shape)
    except ValueError as e:
        raise RuntimeError(f"{node.name()}.backward: gradient of shape {tuple(g.shape)} cannot be "
                           f"reduced to the input's shape {tuple(shape)}") from e


def _deliver_leaf(leaf, g, capture, accumulate, create_graph):
    hooks = leaf._hooks
    if hooks:
        for hook in list(hooks.values()):
            new = hook(g)
            if new is not None:
                g = new
    if capture is not None and id(leaf) in capture:
        key = id(leaf)
        capture[key] = g if capture[key] is None else capture[key] + g
        return
    if not accumulate:
        return
    if not create_graph:
        g = g.detach()
    if leaf.grad is None:
        # own the array: another leaf may have received a view of the same gradient
        leaf.grad = g if create_graph else g.clone()
    else:
        leaf.grad = leaf.grad + g
    post = _post_hooks.get(id(leaf)) if _post_hooks else None
    if post is not None and post[0]() is leaf:
        for hook in list(post[1].values()):
            hook(leaf)
