"""tl.viz (SVG, HTML, DOT, backward trace) and tl.autograd.graph_stats on real graphs."""
import re
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.autograd.grad_mode import state
from tinygrad_lite.autograd.graph import collect

SVG_NS = "{http://www.w3.org/2000/svg}"


def _mlp_graph():
    """A two-layer MLP written with tensor ops; returns (loss, named parameters)."""
    rng = np.random.default_rng(0)
    x = tl.tensor(rng.standard_normal((4, 3)).astype(np.float32))
    params = {
        "fc1.weight": tl.tensor(rng.standard_normal((5, 3)).astype(np.float32),
                                requires_grad=True),
        "fc1.bias": tl.zeros(5, requires_grad=True),
        "fc2.weight": tl.tensor(rng.standard_normal((2, 5)).astype(np.float32),
                                requires_grad=True),
        "fc2.bias": tl.zeros(2, requires_grad=True),
    }
    h = (x @ params["fc1.weight"].T + params["fc1.bias"]).relu()
    out = h @ params["fc2.weight"].T + params["fc2.bias"]
    loss = (out * out).mean()
    return loss, params


def _op_names(t):
    return {n.name() for n in collect(t).nodes}


def _svg_texts(svg: str):
    root = ET.fromstring(svg)
    return root, [el.text or "" for el in root.iter(SVG_NS + "text")]


def test_svg_parses_and_names_every_op_and_parameter():
    loss, params = _mlp_graph()
    svg = tl.viz.draw(loss, params=params)
    root, texts = _svg_texts(svg)
    assert root.tag == SVG_NS + "svg"
    heads = {t.split()[0] for t in texts if t}
    for name in _op_names(loss):
        assert name in heads, name
    for name in params:
        assert name in texts
    view = collect(loss)
    boxes = [g for g in root.iter(SVG_NS + "g") if "node" in g.get("class", "").split()]
    assert len(boxes) == len(view.nodes) + len(view.leaves)
    edges = list(root.iter(SVG_NS + "polyline"))
    assert len(edges) == len(view.edges)


def test_labels_show_shape_dtype_device_and_saved_bytes():
    x = tl.tensor(np.ones((3, 4), dtype=np.float32), requires_grad=True)
    y = x.exp()                         # keeps its (3, 4) float32 output: 48 bytes
    z = y.sum()
    _, texts = _svg_texts(tl.viz.draw(z))
    assert "(3, 4) float32 cpu" in texts
    assert "() float32 cpu" in texts
    assert "saved 48 B" in texts


def test_grad_norms_appear_after_backward_and_saved_arrays_show_freed():
    loss, params = _mlp_graph()
    _, before = _svg_texts(tl.viz.draw(loss, params=params))
    assert not any(t.startswith("|grad|") for t in before)
    loss.backward()
    _, after = _svg_texts(tl.viz.draw(loss, params=params))
    for p in params.values():
        norm = float(np.linalg.norm(p.grad.numpy().astype(np.float64)))
        assert f"|grad| {norm:.4g}" in after
    assert "saved: freed" in after


def test_html_is_self_contained():
    loss, params = _mlp_graph()
    html = tl.viz.draw(loss, format="html", params=params)
    assert html.startswith("<!DOCTYPE html>")
    for bad in ("http:", "https:", "src=", "<link", "@import", "url(http"):
        assert bad not in html, bad
    svg = html[html.index("<svg"):html.index("</svg>") + len("</svg>")]
    ET.fromstring(svg)                  # the inline picture is well-formed
    for name in _op_names(loss):
        assert f"<td>{name}</td>" in html


def test_dot_mentions_each_node_and_edge():
    loss, params = _mlp_graph()
    dot = tl.viz.draw(loss, format="dot", params=params)
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    view = collect(loss)
    ids = re.findall(r"^  (n\d+) \[label=", dot, flags=re.M)
    assert len(ids) == len(set(ids)) == len(view.nodes) + len(view.leaves)
    arrows = re.findall(r"^  (n\d+) -> (n\d+)", dot, flags=re.M)
    assert len(arrows) == len(view.edges)
    assert all(a in ids and b in ids for a, b in arrows)
    for name in list(_op_names(loss)) + list(params):
        assert f'label="{name}' in dot


def test_path_writes_the_returned_text(tmp_path):
    loss, _ = _mlp_graph()
    for fmt in ("svg", "html", "dot"):
        p = tmp_path / f"g.{fmt}"
        text = tl.viz.draw(loss, format=fmt, path=str(p))
        assert p.read_text(encoding="utf-8") == text


def test_bad_arguments_raise():
    loss, _ = _mlp_graph()
    with pytest.raises(ValueError, match="format"):
        tl.viz.draw(loss, format="png")
    with pytest.raises(ValueError, match="no graph"):
        tl.viz.draw(tl.ones(3))


def test_boxes_of_one_rank_do_not_overlap():
    loss, params = _mlp_graph()
    root, _ = _svg_texts(tl.viz.draw(loss, params=params))
    rects = [r for r in root.iter(SVG_NS + "rect") if r.get("x") is not None]
    boxes = [tuple(float(r.get(k)) for k in ("x", "y", "width", "height")) for r in rects]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            apart = (a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or
                     a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1])
            assert apart, (a, b)


class _Recorder:
    def __init__(self):
        self.nodes = []

    def on_forward(self, *args):
        pass

    def on_backward(self, node, grad_in, grads_out, seconds):
        self.nodes.append(node)


def test_backward_trace_is_the_order_the_engine_runs():
    loss, params = _mlp_graph()
    a = tl.tensor([2.0], requires_grad=True)
    b = a + a                           # a reused node feeding two ops
    c = (b * b + b.exp()).sum()
    for out in (loss, c):
        trace = tl.viz.backward_trace(out, params=params)
        rec = _Recorder()
        state.observers.append(rec)
        try:
            out.backward()
        finally:
            state.observers.remove(rec)
        assert [s.node for s in trace] == rec.nodes
        assert [s.step for s in trace] == list(range(1, len(trace) + 1))
    text = tl.viz.format_trace(loss, params=params)
    assert "leaf fc2.weight" in text and text.splitlines()[0].split()[1] == "Mean"


def test_ten_thousand_node_chain_draws_without_recursion():
    x = tl.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0
    depth = 0
    f = sys._getframe()
    while f is not None:
        depth += 1
        f = f.f_back
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 60)   # any walk that recursed per node would fail here
    try:
        svg = tl.viz.draw(y)
        dot = tl.viz.draw(y, format="dot")
        stats = tl.autograd.graph_stats(y)
        trace = tl.viz.backward_trace(y)
    finally:
        sys.setrecursionlimit(old)
    assert svg.count('<g class="node ') == 10_001
    assert dot.count(" -> ") == 10_000
    assert stats["nodes"] == 10_000 and stats["depth"] == 10_000
    assert len(trace) == 10_000


def test_graph_stats_on_reused_node_and_mlp():
    a = tl.tensor([1.0, 2.0], requires_grad=True)
    b = a + a
    c = b + b
    s = tl.autograd.graph_stats(c)
    assert (s["nodes"], s["leaves"], s["edges"], s["depth"]) == (2, 1, 4, 2)
    assert s["ops"] == {"Add": 2}
    loss, params = _mlp_graph()
    s = tl.autograd.graph_stats(loss)
    assert s["leaves"] == 4
    assert s["saved_bytes"] == sum(s["saved_bytes_by_op"].values()) > 0
    assert s["saved_bytes_by_op"]["Relu"] > 0
    assert s["depth"] >= 6
    loss.backward()
    assert tl.autograd.graph_stats(loss)["saved_bytes"] == 0


def test_autograd_tour_prints_the_story_and_draws_the_doc_pictures(tmp_path, capsys):
    import importlib.util
    import pathlib
    src = pathlib.Path(__file__).resolve().parents[1] / "examples" / "autograd_tour.py"
    spec = importlib.util.spec_from_file_location("autograd_tour", src)
    tour = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tour)
    tour.main(["--draw", str(tmp_path)])
    out = capsys.readouterr().out
    assert "a.grad = [216.]" in out
    assert "step 3: Mul" in out and "0 bytes left" in out
    for name in ("reused_node_forward", "reused_node_backward", "mlp_forward", "mlp_backward"):
        ET.parse(tmp_path / f"{name}.svg")
    assert state.observers == []
