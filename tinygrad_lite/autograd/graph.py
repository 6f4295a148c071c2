"""Read-only walks over a recorded graph: the nodes, the engine's backward order, summary numbers.

Everything here is iterative (a 100,000-op chain must not hit the recursion limit) and touches
nothing the engine relies on: the nodes are only read, never run or freed.
"""
from __future__ import annotations

import sys
from typing import Dict, List, Optional

from .engine import _count_dependencies, _release, run_backward
from .function import _FREED, Function

__all__ = ["GraphView", "collect", "backward_order", "graph_stats", "saved_nbytes",
           "in_backward"]


class GraphView:
    """Every op node and leaf tensor behind one output, with the facts the tools need.

    nodes: op nodes (Function instances) in discovery order, the output's node first.
    leaves: leaf tensors that require grad, in discovery order.
    edges: (input, consumer, index): `input` (a node or a leaf) feeds argument `index` of
    `consumer`; this is the direction data flows in forward.
    out_meta: per node id, the (shape, dtype) of its output, read from a consumer's `in_meta`
    (a node never keeps its output tensor, so this is where the facts live).
    device: per node id, the device its output lives on.
    """

    def __init__(self, root):
        self.root = root
        self.nodes: List[Function] = []
        self.leaves: list = []
        self.edges: list = []
        self.out_meta: Dict[int, tuple] = {}
        self.device: Dict[int, object] = {}


def collect(tensor) -> GraphView:
    """The graph behind `tensor`, found by an iterative depth-first walk from its node."""
    view = GraphView(tensor)
    root = tensor.grad_fn
    if root is None:
        if tensor.requires_grad:
            view.leaves.append(tensor)
        return view
    view.out_meta[id(root)] = (tuple(tensor.shape), tensor.dtype)
    view.device[id(root)] = tensor.device
    seen = {id(root)}
    stack = [root]
    view.nodes.append(root)
    while stack:
        node = stack.pop()
        meta = node.in_meta
        for i, p in enumerate(node.parents):
            if p is None:
                continue
            view.edges.append((p, node, i))
            if id(p) in seen:
                continue
            seen.add(id(p))
            if isinstance(p, Function):
                shape, dtype = meta[i]
                view.out_meta[id(p)] = (tuple(shape), dtype)
                # all inputs of an op share its device, except across a device copy
                src = getattr(node, "src", None) if node.name() == "ToDevice" else None
                view.device[id(p)] = src if src is not None else view.device[id(node)]
                view.nodes.append(p)
                stack.append(p)
            else:
                view.leaves.append(p)
    return view


def backward_order(tensor) -> List[Function]:
    """The nodes in the order `tensor.backward()` will run them.

    This replays the engine's own Kahn walk (`engine._count_dependencies` and `engine._release`)
    without calling any backward, so the two cannot drift apart.
    """
    root = tensor.grad_fn
    if root is None:
        return []
    deps = _count_dependencies([root])
    ready = [root] if deps.get(root, 0) == 0 else []
    order = []
    while ready:
        node = ready.pop()
        order.append(node)
        for parent in node.parents:
            if isinstance(parent, Function):
                _release(parent, deps, ready)
    return order


def saved_nbytes(node) -> int:
    """Bytes of the arrays `node` keeps for backward (0 once they were freed)."""
    saved = getattr(node, "_saved", None)
    if saved is None or saved is _FREED:
        return 0
    total = 0
    for rec in saved:
        arr = rec[1]
        if arr is not None:
            total += int(getattr(arr, "nbytes", 0))
    return total


def depths(view: GraphView, order: Optional[List[Function]] = None) -> Dict[int, int]:
    """Longest distance (in edges) from the output's node to every node and leaf, keyed by id."""
    if not view.nodes:
        return {id(leaf): 0 for leaf in view.leaves}
    if order is None:
        order = backward_order(view.root)
    dist = {id(view.nodes[0]): 0}
    # the backward order is topological: a node comes before everything it feeds from
    for node in order:
        d = dist.get(id(node), 0) + 1
        for p in node.parents:
            if p is not None and dist.get(id(p), -1) < d:
                dist[id(p)] = d
    return dist


def graph_stats(tensor) -> dict:
    """Summary of the graph behind `tensor`.

    Returns a dict with `nodes` (ops), `leaves` (tensors that require grad), `edges`, `depth`
    (ops on the longest path from the output back to a leaf), `ops` (count per op name),
    `saved_bytes` (total kept for backward) and `saved_bytes_by_op`.
    """
    view = collect(tensor)
    dist = depths(view)
    depth = max((dist[id(n)] + 1 for n in view.nodes), default=0)
    ops: Dict[str, int] = {}
    by_op: Dict[str, int] = {}
    for n in view.nodes:
        name = n.name()
        ops[name] = ops.get(name, 0) + 1
        by_op[name] = by_op.get(name, 0) + saved_nbytes(n)
    return {"nodes": len(view.nodes), "leaves": len(view.leaves), "edges": len(view.edges),
            "depth": depth, "ops": ops, "saved_bytes": sum(by_op.values()),
            "saved_bytes_by_op": by_op}


_BACKWARD_CODE = run_backward.__code__


def in_backward() -> bool:
    """True when called from inside the engine's walk (ops a backward formula runs)."""
    f = sys._getframe(1)
    while f is not None:
        if f.f_code is _BACKWARD_CODE:
            return True
        f = f.f_back
    return False
