"""Pictures of a recorded graph: `draw` (SVG, HTML or Graphviz DOT) and `backward_trace`.

The SVG and HTML are laid out here, with no Graphviz binary: a layered ("Sugiyama") layout.
1. Rank every node by its longest distance from the output (the output's op is rank 0, so an
   edge always points from a higher rank to a lower one); leaves sit above everything they feed.
2. Edges that skip ranks get invisible waypoints, one per skipped rank, so they bend around
   boxes instead of crossing them (only for short skips; long ones stay straight lines).
3. Order each rank by the mean position of its neighbours (a few sweeps up and down), which
   removes most crossings at a linear cost per sweep.
4. Place each box at the mean x of the boxes it feeds, then push boxes apart left to right.
Every step is a loop over the nodes or edges, so a 10,000-op chain draws in well under a second.
"""
from __future__ import annotations

from typing import Dict, List, Optional
from xml.sax.saxutils import escape

from .autograd.function import _FREED, Function
from .autograd.graph import backward_order, collect, depths, saved_nbytes
from .backend import array_module

__all__ = ["draw", "backward_trace", "format_trace", "TraceStep"]

_CHAR_W = 7.0          # width of one character of the 12px monospace label font
_LINE_H = 15.0
_PAD_X = 10.0
_PAD_Y = 6.0
_GAP_X = 24.0          # between boxes of one rank
_GAP_Y = 44.0          # between ranks
_MARGIN = 20.0
_MAX_SKIP = 8          # edges skipping more ranks than this are drawn straight

_COLORS = {            # (fill, stroke)
    "op": ("#dbeafe", "#2563eb"),
    "output": ("#fee2e2", "#dc2626"),
    "param": ("#dcfce7", "#16a34a"),
    "leaf": ("#fef9c3", "#ca8a04"),
}


# -- facts shown on each box ---------------------------------------------------------------
def _nbytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 ** 2:
        return f"{n / 1024:.1f} KiB"
    if n < 1024 ** 3:
        return f"{n / 1024 ** 2:.1f} MiB"
    return f"{n / 1024 ** 3:.2f} GiB"


def _norm(t) -> Optional[float]:
    if t is None:
        return None
    a = t._data
    xp = array_module(a)
    return float(xp.sqrt((a.astype(xp.float64) ** 2).sum()))


def _shape_str(shape) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


_DTYPE_NAMES: Dict[object, str] = {}


def _dtype_str(dtype) -> str:
    # numpy builds dtype.name afresh on every access (slow), so remember each one
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = getattr(dtype, "name", str(dtype))
    return name


class _Vertex:
    """One box (an op node or a leaf) or an invisible waypoint of a long edge."""

    __slots__ = ("key", "kind", "lines", "title", "rank", "pos", "x", "w", "h", "up", "down",
                 "index")

    def __init__(self, key, kind, lines, title, rank):
        self.key = key
        self.kind = kind            # "op", "output", "param", "leaf" or "dummy"
        self.lines = lines
        self.title = title
        self.rank = rank
        self.pos = 0.0              # order within the rank
        self.x = 0.0                # centre
        if kind == "dummy":
            self.w, self.h = 0.0, 0.0
        else:
            self.w = max(len(s) for s in lines) * _CHAR_W + 2 * _PAD_X
            self.h = len(lines) * _LINE_H + 2 * _PAD_Y
        self.up: list = []          # neighbours one rank higher (inputs)
        self.down: list = []        # neighbours one rank lower (consumers)
        self.index = 0              # id in the output ("n0", "n1", ...)


class _Graph:
    """The graph behind a tensor turned into labelled vertices and edges, ready to lay out."""

    def __init__(self, tensor, params=None):
        self.view = view = collect(tensor)
        self.order = backward_order(tensor)
        dist = depths(view, self.order)
        step = {id(n): i for i, n in enumerate(self.order)}
        names = {}
        for name, p in (params or {}).items():
            names[id(p)] = name
        self.vertices: List[_Vertex] = []
        self.by_id: Dict[int, _Vertex] = {}
        root = view.nodes[0] if view.nodes else None
        for node in view.nodes:
            shape, dtype = view.out_meta[id(node)]
            device = str(view.device[id(node)])
            saved = node._saved
            saved_txt = "saved: freed" if saved is _FREED else \
                f"saved {_nbytes(saved_nbytes(node))}"
            head = node.name()
            if id(node) in step:
                head += f"  [bwd #{step[id(node)] + 1}]"
            lines = [head, f"{_shape_str(shape)} {_dtype_str(dtype)} {device}", saved_txt]
            ref = getattr(node, "retained", None)
            kept = ref() if ref is not None else None
            if kept is not None and kept.grad is not None:
                lines.append(f"|grad| {_norm(kept.grad):.4g}")
            kind = "output" if node is root else "op"
            title = (f"{node.name()} -> {_shape_str(shape)} {_dtype_str(dtype)} on {device}; "
                     f"inputs: " + ", ".join(_shape_str(m[0]) if m else "const"
                                             for m in node.in_meta))
            trace = getattr(node, "trace", None)
            if trace:
                title += "\ncreated at " + trace
            self._add(node, kind, lines, title, dist.get(id(node), 0))
        for leaf in view.leaves:
            name = names.get(id(leaf))
            kind = "param" if name is not None else "leaf"
            lines = [name if name is not None else "leaf",
                     f"{_shape_str(leaf.shape)} {_dtype_str(leaf.dtype)} {leaf.device}"]
            if leaf.grad is not None:
                lines.append(f"|grad| {_norm(leaf.grad):.4g}")
            title = f"{name or 'leaf tensor'} {_shape_str(leaf.shape)}"
            self._add(leaf, kind, lines, title, dist.get(id(leaf), 0))
        # edges in forward direction: (input vertex, consumer vertex, argument index, waypoints)
        self.edges = []
        self.ranks: List[List[_Vertex]] = [[] for _ in range(1 + max(
            (v.rank for v in self.vertices), default=0))]
        for v in self.vertices:
            self.ranks[v.rank].append(v)
        shared = {}     # x * x feeds one op twice: both edges follow one route
        for src, dst, i in view.edges:
            a, b = self.by_id[id(src)], self.by_id[id(dst)]
            pair = (a.index, b.index)
            if pair in shared:
                self.edges.append((a, b, i, shared[pair]))
                continue
            path = shared[pair] = []
            prev = a
            if a.rank - b.rank - 1 <= _MAX_SKIP:
                for r in range(a.rank - 1, b.rank, -1):
                    d = _Vertex(None, "dummy", [], "", r)
                    self.ranks[r].append(d)
                    prev.down.append(d)
                    d.up.append(prev)
                    path.append(d)
                    prev = d
            if prev.rank - b.rank == 1:
                prev.down.append(b)
                b.up.append(prev)
            self.edges.append((a, b, i, path))

    def _add(self, key, kind, lines, title, rank):
        v = _Vertex(key, kind, lines, title, rank)
        v.index = len(self.vertices)
        self.vertices.append(v)
        self.by_id[id(key)] = v

    # -- layout ---------------------------------------------------------------------------
    def layout(self, sweeps: int = 4) -> None:
        ranks = self.ranks
        for row in ranks:
            for i, v in enumerate(row):
                v.pos = float(i)
        for _ in range(sweeps):
            for r in range(1, len(ranks)):          # order inputs by their consumers
                _order_row(ranks[r], "down")
            for r in range(len(ranks) - 2, -1, -1):  # and consumers by their inputs
                _order_row(ranks[r], "up")
        # x: the output's rank first, each higher rank above the boxes it feeds
        for r, row in enumerate(ranks):
            if r == 0:
                want = [0.0] * len(row)
            else:
                want = [sum(n.x for n in v.down) / len(v.down) if v.down else 0.0 for v in row]
            _place_row(row, want)
        xs = [v.x - v.w / 2 for v in self.vertices] + [v.x for row in ranks for v in row]
        shift = _MARGIN - min(xs, default=0.0)
        right = 0.0
        for row in ranks:
            for v in row:
                v.x += shift
                right = max(right, v.x + v.w / 2)
        self.width = right + _MARGIN
        # y: leaves on top, the output at the bottom, so data flows down the page
        self.rank_top = [0.0] * len(ranks)
        self.rank_h = [max((v.h for v in row), default=0.0) for row in ranks]
        y = _MARGIN
        for r in range(len(ranks) - 1, -1, -1):
            self.rank_top[r] = y
            y += self.rank_h[r] + _GAP_Y
        self.height = y - _GAP_Y + _MARGIN

    def top(self, v) -> float:
        return self.rank_top[v.rank] + (self.rank_h[v.rank] - v.h) / 2

    def mid(self, v) -> float:
        return self.rank_top[v.rank] + self.rank_h[v.rank] / 2


def _order_row(row: list, side: str) -> None:
    """Sort a rank by the mean order of its neighbours on `side`; ties keep the old order."""
    if len(row) < 2:
        return
    keyed = []
    for v in row:
        nb = v.down if side == "down" else v.up
        key = sum(n.pos for n in nb) / len(nb) if nb else v.pos
        keyed.append((key, v.pos, v))
    keyed.sort(key=lambda t: (t[0], t[1]))
    row[:] = [t[2] for t in keyed]
    for i, v in enumerate(row):
        v.pos = float(i)


def _place_row(row: list, want: list) -> None:
    """Put boxes near their wished-for x in row order without overlap, keeping the mean shift 0."""
    x_prev = None
    w_prev = 0.0
    for v, w in zip(row, want):
        x = w
        if x_prev is not None:
            x = max(x, x_prev + (w_prev + v.w) / 2 + _GAP_X)
        v.x = x
        x_prev, w_prev = x, v.w
    if row:
        shift = sum(w - v.x for v, w in zip(row, want)) / len(row)
        for v in row:
            v.x += shift


# -- writers --------------------------------------------------------------------------------
def _edge_points(g: _Graph, a: _Vertex, b: _Vertex, path) -> list:
    pts = [(a.x, g.top(a) + a.h)]
    for d in path:
        pts.append((d.x, g.mid(d)))
    pts.append((b.x, g.top(b)))
    return pts


def _svg_body(g: _Graph) -> List[str]:
    out = []
    out.append('<defs><marker id="tl-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
               'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
               '<path d="M0,0 L10,5 L0,10 z" fill="#64748b"/></marker></defs>')
    out.append('<g class="edges">')
    for a, b, i, path in g.edges:
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in _edge_points(g, a, b, path))
        label = f"{a.lines[0]} -> {b.lines[0]} (input {i})"
        out.append(f'<polyline class="edge" points="{pts}" marker-end="url(#tl-arrow)">'
                   f'<title>{escape(label)}</title></polyline>')
    out.append('</g><g class="nodes">')
    for v in g.vertices:
        fill, stroke = _COLORS[v.kind]
        x0, y0 = v.x - v.w / 2, g.top(v)
        width = 2.5 if v.kind == "output" else 1.2
        out.append(f'<g class="node {v.kind}" id="n{v.index}"><title>{escape(v.title)}</title>'
                   f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{v.w:.1f}" height="{v.h:.1f}" '
                   f'rx="6" fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>')
        for k, line in enumerate(v.lines):
            ty = y0 + _PAD_Y + (k + 1) * _LINE_H - 4
            weight = ' font-weight="bold"' if k == 0 else ""
            out.append(f'<text x="{v.x:.1f}" y="{ty:.1f}" text-anchor="middle"{weight}>'
                       f'{escape(line)}</text>')
        out.append("</g>")
    out.append("</g>")
    return out


_SVG_STYLE = ("text{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;"
              "fill:#0f172a}.edge{fill:none;stroke:#64748b;stroke-width:1.3}"
              ".node:hover rect{stroke-width:3}")


def _to_svg(g: _Graph, standalone: bool = True) -> str:
    ns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    head = (f'<svg{ns} width="{g.width:.0f}" height="{g.height:.0f}" '
            f'viewBox="0 0 {g.width:.1f} {g.height:.1f}">')
    parts = [head, f"<style>{_SVG_STYLE}</style>",
             '<rect width="100%" height="100%" fill="#ffffff"/>']
    parts.extend(_svg_body(g))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _to_html(g: _Graph) -> str:
    rows = []
    for k, node in enumerate(g.order):
        shape, dtype = g.view.out_meta[id(node)]
        rows.append(f"<tr><td>{k + 1}</td><td>{escape(node.name())}</td>"
                    f"<td>{_shape_str(shape)}</td><td>{_dtype_str(dtype)}</td>"
                    f"<td>{_nbytes(saved_nbytes(node))}</td></tr>")
    saved = sum(saved_nbytes(n) for n in g.view.nodes)
    summary = (f"{len(g.view.nodes)} ops, {len(g.view.leaves)} leaves, "
               f"{len(g.view.edges)} edges, {_nbytes(saved)} saved for backward")
    css = ("body{font-family:system-ui,sans-serif;margin:16px;color:#0f172a}"
           ".graph{overflow:auto;border:1px solid #cbd5e1;max-height:80vh}"
           "table{border-collapse:collapse;margin-top:12px}"
           "td,th{border:1px solid #cbd5e1;padding:2px 8px;font-family:monospace}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>tinygrad_lite graph</title>"
            f"<style>{css}</style></head><body>\n<h1>tinygrad_lite graph</h1>\n"
            f"<p>{summary}. Data flows down; backward runs the ops in the order of the "
            "[bwd #] labels (and the table below).</p>\n"
            f"<div class=\"graph\">\n{_to_svg(g, standalone=False)}</div>\n"
            "<h2>Backward order</h2>\n<table><tr><th>step</th><th>op</th><th>output shape</th>"
            "<th>dtype</th><th>saved</th></tr>\n" + "\n".join(rows) +
            "\n</table>\n</body></html>\n")


def _dot_label(lines) -> str:
    return "\\n".join(s.replace("\\", "\\\\").replace('"', '\\"') for s in lines)


def _to_dot(g: _Graph) -> str:
    out = ["digraph tinygrad_lite {",
           '  node [shape=box, style="rounded,filled", fontname="monospace", fontsize=10];']
    for v in g.vertices:
        fill, stroke = _COLORS[v.kind]
        out.append(f'  n{v.index} [label="{_dot_label(v.lines)}", fillcolor="{fill}", '
                   f'color="{stroke}"];')
    for a, b, i, _ in g.edges:
        out.append(f'  n{a.index} -> n{b.index} [tooltip="input {i}"];')
    out.append("}")
    return "\n".join(out) + "\n"


# -- public ----------------------------------------------------------------------------------
def draw(tensor, format: str = "svg", path: Optional[str] = None, params=None) -> str:
    """Draw the graph that produced `tensor`; return the text and write it to `path` if given.

    format: "svg" (standalone picture), "html" (one self-contained page: the picture and the
    backward order as a table) or "dot" (for Graphviz: `dot -Tpng graph.dot`).
    params: names for leaves, e.g. `dict(model.named_parameters())`.
    Each op box shows the op, its output's shape, dtype and device, the bytes it saved for
    backward and its step in the backward order; leaves show `|grad|` once backward has run.
    """
    if format not in ("svg", "html", "dot"):
        raise ValueError(f"draw: unknown format {format!r}; use 'svg', 'html' or 'dot'")
    if not tensor.requires_grad:
        raise ValueError(f"draw: the tensor (shape {tuple(tensor.shape)}) has no graph; it does "
                         "not require grad (was it made under no_grad?)")
    g = _Graph(tensor, params)
    if format == "dot":
        text = _to_dot(g)
    else:
        g.layout()
        text = _to_svg(g) if format == "svg" else _to_html(g)
    if path is not None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return text


class TraceStep:
    """One node of the backward walk: its step number, op name, output facts and inputs."""

    __slots__ = ("step", "op", "node", "shape", "dtype", "inputs")

    def __init__(self, step, op, node, shape, dtype, inputs):
        self.step = step
        self.op = op
        self.node = node
        self.shape = shape
        self.dtype = dtype
        self.inputs = inputs      # per argument: an op name, "leaf <name>", or "-" (no grad)

    def __str__(self) -> str:
        return (f"{self.step:>4}. {self.op:<14} out {_shape_str(self.shape):<12} "
                f"-> sends grad to [{', '.join(self.inputs)}]")

    def __repr__(self) -> str:
        return f"TraceStep({self.step}, {self.op!r}, {self.shape})"


def backward_trace(tensor, params=None) -> List[TraceStep]:
    """The nodes in the order `tensor.backward()` runs them (the engine's own Kahn walk)."""
    names = {id(p): n for n, p in (params or {}).items()}
    order = backward_order(tensor)
    metas = {id(tensor.grad_fn): (tuple(tensor.shape), tensor.dtype)} if order else {}
    for node in order:
        for p, m in zip(node.parents, node.in_meta):
            if isinstance(p, Function):
                metas[id(p)] = (tuple(m[0]), m[1])
    steps = []
    for k, node in enumerate(order):
        ins = []
        for p in node.parents:
            if p is None:
                ins.append("-")
            elif isinstance(p, Function):
                ins.append(p.name())
            else:
                ins.append("leaf " + names.get(id(p), _shape_str(p.shape)))
        shape, dtype = metas[id(node)]
        steps.append(TraceStep(k + 1, node.name(), node, shape, dtype, ins))
    return steps


def format_trace(tensor, params=None) -> str:
    """`backward_trace` as text, one line per node."""
    return "\n".join(str(s) for s in backward_trace(tensor, params))
