"""A guided tour of the engine on a live graph: what forward records, then backward step by step.

    python examples/autograd_tour.py            # print the story
    python examples/autograd_tour.py --draw DIR # also write the pictures used by docs/autograd.md

It follows docs/autograd.md: two worked examples (a reused node, then a two-layer MLP), the nodes
in the order the engine will run them, and the gradient that flows into each node as it runs
(seen through the observer protocol that the profiler and anomaly mode use too).
"""
from __future__ import annotations

import argparse
import os

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite.autograd.grad_mode import state


class GradientPrinter:
    """An observer: the engine calls on_backward after each node's backward."""

    def __init__(self):
        self.step = 0

    def on_forward(self, name, inputs, output, seconds, node):
        pass                    # ops that backward formulas run; not part of this story

    def on_backward(self, node, grad_in, grads_out, seconds):
        self.step += 1
        g = grad_in.detach().numpy()
        sent = ", ".join("-" if x is None else _short(x.detach().numpy()) for x in grads_out)
        print(f"  step {self.step}: {node.name():<8} receives {_short(g):<28} sends [{sent}]")


def _short(a: np.ndarray) -> str:
    if a.size <= 3:
        return np.array2string(a.ravel(), precision=3, separator=", ")
    return f"{a.shape} |g|={np.linalg.norm(a):.3f}"


def run_backward_with_printer(loss) -> None:
    printer = GradientPrinter()
    state.observers.append(printer)
    try:
        loss.backward()
    finally:
        state.observers.remove(printer)


def reused_node(draw_dir=None) -> None:
    print("== 1. A reused node:  b = a * a;  c = b + b;  d = c * b ==")
    a = tl.tensor([3.0], requires_grad=True)
    b = a * a
    c = b + b
    d = c * b
    print("forward recorded", tl.autograd.graph_stats(d))
    print("backward order (engine's Kahn walk; a node runs once all its consumers ran):")
    print(tl.viz.format_trace(d, params={"a": a}))
    if draw_dir:
        tl.viz.draw(d, path=os.path.join(draw_dir, "reused_node_forward.svg"), params={"a": a})
    print("running backward; the gradient flowing into each node:")
    run_backward_with_printer(d)
    # d = 2 a**4, so dd/da = 8 a**3 = 216 at a = 3
    print(f"a.grad = {a.grad.numpy()}  (expected 8 * 3**3 = 216)\n")
    if draw_dir:
        tl.viz.draw(d, path=os.path.join(draw_dir, "reused_node_backward.svg"), params={"a": a})


def mlp(draw_dir=None) -> None:
    print("== 2. A two-layer MLP: loss = mean((relu(x W1^T + b1) W2^T + b2 - y)^2) ==")
    rng = np.random.default_rng(0)
    x = tl.tensor(rng.standard_normal((8, 4)).astype(np.float32))
    y = tl.tensor(rng.standard_normal((8, 1)).astype(np.float32))
    params = {
        "W1": tl.tensor(0.5 * rng.standard_normal((16, 4)).astype(np.float32),
                        requires_grad=True),
        "b1": tl.zeros(16, requires_grad=True),
        "W2": tl.tensor(0.5 * rng.standard_normal((1, 16)).astype(np.float32),
                        requires_grad=True),
        "b2": tl.zeros(1, requires_grad=True),
    }
    h = (x @ params["W1"].T + params["b1"]).relu()
    pred = h @ params["W2"].T + params["b2"]
    loss = ((pred - y) ** 2).mean()
    stats = tl.autograd.graph_stats(loss)
    print(f"forward recorded {stats['nodes']} ops over {stats['leaves']} leaves, depth "
          f"{stats['depth']}, {stats['saved_bytes']} bytes saved for backward:")
    for op, n in sorted(stats["saved_bytes_by_op"].items()):
        print(f"  {op:<10} saved {n} bytes")
    print("backward order:")
    print(tl.viz.format_trace(loss, params=params))
    if draw_dir:
        tl.viz.draw(loss, path=os.path.join(draw_dir, "mlp_forward.svg"), params=params)
    print("running backward:")
    run_backward_with_printer(loss)
    for name, p in params.items():
        norm = np.linalg.norm(p.grad.numpy())
        print(f"  {name}.grad shape {tuple(p.grad.shape)} norm {norm:.4f}")
    print("after backward every node's saved arrays are freed:",
          tl.autograd.graph_stats(loss)["saved_bytes"], "bytes left")
    if draw_dir:
        tl.viz.draw(loss, path=os.path.join(draw_dir, "mlp_backward.svg"), params=params)
    with tl.autograd.profile() as prof:
        h = (x @ params["W1"].T + params["b1"]).relu()
        loss = ((h @ params["W2"].T + params["b2"] - y) ** 2).mean()
        loss.backward()
    print("\nthe same step under tl.autograd.profile():")
    print(prof.table(sort_by="count"))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draw", metavar="DIR", help="write the SVG pictures into DIR")
    args = ap.parse_args(argv)
    if args.draw:
        os.makedirs(args.draw, exist_ok=True)
    reused_node(args.draw)
    mlp(args.draw)


if __name__ == "__main__":
    main()
