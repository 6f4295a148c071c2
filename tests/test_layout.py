"""The house's rules, read from the source: which room may import which, one import cycle, no
file named after when it was added. See docs/architecture.md for the plan these rules keep."""
from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "tinygrad_lite"


def _modules() -> dict:
    """Dotted module name -> source path, for every .py file of the package."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _targets(module: str, path: pathlib.Path, node) -> list:
    """The package modules an import statement loads (a name that is a submodule counts as it)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = module.split(".")
        if path.name != "__init__.py":
            base = base[:-1]
        base = base[:len(base) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module
    return [f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target
            for a in node.names]


def _graph() -> dict:
    """module -> the package modules it imports, at the top level or inside a function (a lazy
    import is still a dependency: it only hides a cycle from the interpreter, not from a reader)."""
    graph = {}
    for module, path in MODULES.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                deps.update(t for t in _targets(module, path, node) if t in MODULES)
        deps.discard(module)
        graph[module] = deps
    return graph


GRAPH = _graph()


def _cycles(graph: dict) -> list:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def _imports_of(prefix: str) -> dict:
    return {m: deps for m, deps in GRAPH.items() if m == prefix or m.startswith(prefix + ".")}


def _within(module: str, rooms) -> bool:
    return any(module == r or module.startswith(r + ".") for r in rooms)


def test_the_graph_is_read():
    """The reader itself: the package has its rooms and tensor.py is seen importing ops."""
    assert "tinygrad_lite.tensor" in GRAPH and "tinygrad_lite.ops" in MODULES
    assert any(d.startswith("tinygrad_lite.ops") for d in GRAPH["tinygrad_lite.tensor"])
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert _one_package(["p", "p.q"]) and not _one_package(["p.q", "r"])


def test_no_file_is_named_after_when_it_was_added():
    bad = [str(p.relative_to(PACKAGE.parent)) for p in PACKAGE.rglob("*.py")
           if any(word in p.stem for word in ("extra", "misc", "basic"))
           or p.stem.startswith("fn_")]
    assert bad == []


@pytest.mark.parametrize("room, forbidden", [
    ("tinygrad_lite.ops", ["tinygrad_lite.tensor", "tinygrad_lite.functions", "tinygrad_lite.nn",
                           "tinygrad_lite.optim", "tinygrad_lite.utils", "tinygrad_lite.data"]),
    ("tinygrad_lite.autograd", ["tinygrad_lite.nn", "tinygrad_lite.optim",
                                "tinygrad_lite.utils.data", "tinygrad_lite.data"]),
    ("tinygrad_lite.optim", ["tinygrad_lite.nn"]),
    ("tinygrad_lite.tensor", ["tinygrad_lite.nn", "tinygrad_lite.optim",
                              "tinygrad_lite.utils.data", "tinygrad_lite.data"]),
    ("tinygrad_lite.functions", ["tinygrad_lite.nn", "tinygrad_lite.optim",
                                 "tinygrad_lite.utils.data", "tinygrad_lite.data"]),
    ("tinygrad_lite.backend", ["tinygrad_lite.tensor", "tinygrad_lite.functions",
                               "tinygrad_lite.nn", "tinygrad_lite.optim", "tinygrad_lite.ops"]),
    ("tinygrad_lite.utils.data", ["tinygrad_lite.nn", "tinygrad_lite.optim"]),
])
def test_layer_rules(room, forbidden):
    broken = {m: sorted(d for d in deps if _within(d, forbidden))
              for m, deps in _imports_of(room).items()}
    assert {m: d for m, d in broken.items() if d} == {}


def test_autograd_meets_tensor_only_at_the_seam():
    """autograd's Function wraps results in Tensor through names tensor.py binds into
    autograd/function.py; below Tensor, autograd imports neither tensor.py nor functions/.
    (autograd.functional, jacobian and friends, is built on Tensors: the package loads it.)"""
    below = {m: deps for m, deps in _imports_of("tinygrad_lite.autograd").items()
             if m != "tinygrad_lite.autograd.functional"}
    reach = {m: sorted(d for d in deps if _within(d, ["tinygrad_lite.tensor",
                                                      "tinygrad_lite.functions"]))
             for m, deps in below.items()}
    assert {m: d for m, d in reach.items() if d} == {}
    assert "tinygrad_lite.autograd.functional" not in GRAPH["tinygrad_lite.autograd"]


def _one_package(component) -> bool:
    """A package's __init__ and its own modules importing each other (a module takes a helper
    from its package, the package re-exports the module): one room, not a cycle between rooms."""
    root = min(component, key=len)
    return all(m == root or m.startswith(root + ".") for m in component)


def test_the_only_cycle_is_tensor_and_its_functions():
    """tensor.py's methods call functions/, whose functions make Tensors: that one cycle is
    allowed (and explained in tensor.py); any other is a layering mistake."""
    cycles = [c for c in _cycles(GRAPH) if not _one_package(c)]
    allowed = [c for c in cycles
               if all(m == "tinygrad_lite.tensor" or _within(m, ["tinygrad_lite.functions"])
                      for m in c)]
    assert [c for c in cycles if c not in allowed] == []
    assert len(allowed) <= 1


# A sample of each section of torch's documentation (torch.html) and the module it lives in here.
SECTIONS = {
    "creation": "tensor as_tensor from_numpy zeros zeros_like ones arange linspace logspace eye "
                "empty full full_like",
    "indexing": "cat concat chunk dsplit gather hstack index_add index_select masked_select "
                "movedim narrow nonzero permute reshape scatter scatter_add scatter_reduce split "
                "squeeze stack swapaxes t take take_along_dim tensor_split tile transpose unbind "
                "unsqueeze vstack argwhere",
    "random": "bernoulli multinomial normal poisson rand rand_like randint randn randperm",
    "pointwise": "abs acos asin atan2 add addcdiv addcmul ceil clamp cos digamma erf erfinv exp "
                 "float_power floor fmod frac lerp lgamma log logaddexp logit mul mvlgamma "
                 "nan_to_num polygamma pow reciprocal round rsqrt sigmoid sign sin sinc sqrt tanh "
                 "trunc xlogy bitwise_and logical_not hypot i0 nextafter",
    "reduction": "argmax argmin amax amin aminmax all any max min logsumexp mean nanmean median "
                 "nanmedian mode norm nansum prod quantile nanquantile std std_mean sum unique var "
                 "var_mean count_nonzero",
    "comparison": "allclose argsort eq equal ge gt isclose isfinite isin isinf isnan kthvalue le "
                  "lt maximum minimum fmax fmin ne sort topk",
    "other": "atleast_1d bincount block_diag broadcast_tensors broadcast_to bucketize "
             "cartesian_prod cdist clone corrcoef cov cross cummax cumprod cumsum diag "
             "diag_embed diagonal diff einsum flatten flip rot90 gcd histc kron lcm "
             "logcumsumexp meshgrid ravel renorm repeat_interleave roll searchsorted tensordot "
             "trace tril triu unflatten",
    "linalg": "addmm addmv addr baddbmm bmm det dot inner inverse matmul matrix_power mm mv "
              "outer vdot",
}


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_each_torch_function_lives_in_the_module_of_its_docs_section(section):
    import tinygrad_lite as tl
    home = f"tinygrad_lite.functions.{section}"
    elsewhere = {name: getattr(tl, name).__module__ for name in SECTIONS[section].split()
                 if getattr(tl, name).__module__ != home}
    assert elsewhere == {}


def test_a_family_of_ops_shares_one_file():
    """Asin sits beside Sin, cumprod beside cumsum: an op's home is its family, not its age."""
    from tinygrad_lite.ops import indexing, movement, pointwise, reduction, scan
    assert pointwise.Sin.__module__ == pointwise.Asin.__module__ == pointwise.Atanh.__module__
    assert scan.Cumsum.__module__ == scan.Cumprod.__module__ == scan.LogCumSumExp.__module__
    assert indexing.Gather.__module__ == indexing.ScatterAdd.__module__
    assert movement.Reshape.__module__ == movement.Flip.__module__
    assert reduction.Sum.__module__ == reduction.Mean.__module__


def test_optimizers_live_where_torch_keeps_them():
    import tinygrad_lite.optim as optim
    homes = {"SGD": "sgd", "Adam": "adam", "AdamW": "adamw", "Adamax": "adamax", "NAdam": "nadam",
             "RAdam": "radam", "RMSprop": "rmsprop", "Rprop": "rprop", "Adagrad": "adagrad",
             "Adadelta": "adadelta", "ASGD": "asgd", "LBFGS": "lbfgs", "Optimizer": "optimizer"}
    assert {n: getattr(optim, n).__module__ for n in homes} == \
        {n: f"tinygrad_lite.optim.{m}" for n, m in homes.items()}
