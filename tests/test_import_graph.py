"""The import graph of tinyms/ has no cycles and respects the layers.

Every module under ``tinyms/`` is parsed with ``ast`` (nothing is imported). An import makes an
edge from the importing module to the module it names, wherever the import statement is: at
module level, inside a function or a class, under ``try``/``if``. Lazy imports count: a
function-level import that closes a circle still ties the two modules together.

Where an import leads:

- ``import a.b.c`` and ``from a.b.c import name`` lead to ``a.b.c``; ``from a.b import c``
  leads to ``a.b.c`` when ``c`` is a module or package, else to ``a.b`` (a name its
  ``__init__`` defines). Relative imports are resolved against the importing module's package.
- Parent packages that Python initialises on the way (``tinyms``, ``tinyms.model``...) are
  not edges: a package's ``__init__`` importing its own submodules is the normal way to
  re-export them, and counting the implicit parent import would make every package a cycle.
  A submodule that imports a name its package's ``__init__`` defines (``from . import x``
  with ``x`` not a module) does make an edge to the package, and a cycle when that
  ``__init__`` imports the submodule.
- Only modules of ``tinyms`` are nodes; third-party imports are ignored.

Layers: ``tinyms.data``, ``tinyms.vision`` (and a future ``tinyms.text``) must not import
``tinyms.model``, ``tinyms.hub``, ``tinyms.serving``, the CLI or the apps (``tinyms.app``);
``tinyms.model`` must not import ``tinyms.hub``, ``tinyms.serving``, the CLI or the apps;
``tinyms.hub`` and ``tinyms.serving`` must not import the apps, which sit on top beside the CLI.
"""

import ast
import os

import tinyms

ROOT = os.path.dirname(os.path.abspath(tinyms.__file__))

# Cycles tolerated while a change removing them is under way, each with a comment naming it. An
# entry is the set of modules of one strongly connected component; the test fails when an entry
# is no longer a cycle (delete it then) as well as when a cycle is not listed. Empty since the
# model.py split removed tinyms.model.model <-> _loop <-> _lr_find (issue 15).
KNOWN_CYCLES = []

LOWER = ("tinyms.data", "tinyms.vision", "tinyms.text")
APPS = ("tinyms.app",)
UPPER_THAN_MODEL = ("tinyms.hub", "tinyms.serving", "tinyms.cli", "tinyms._train_cli", "tinyms.__main__",
                    "tinyms._quickstart") + APPS
FORBIDDEN = {layer: ("tinyms.model",) + UPPER_THAN_MODEL for layer in LOWER}
FORBIDDEN["tinyms.model"] = UPPER_THAN_MODEL
FORBIDDEN["tinyms.hub"] = FORBIDDEN["tinyms.serving"] = APPS


def _modules():
    """module name -> (path, is_package) for every .py file under tinyms/."""
    found = {}
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for file in files:
            if not file.endswith(".py"):
                continue
            rel = os.path.relpath(os.path.join(folder, file), os.path.dirname(ROOT))[:-3].split(os.sep)
            package = rel[-1] == "__init__"
            name = ".".join(rel[:-1] if package else rel)
            found[name] = (os.path.join(folder, file), package)
    return found


def _resolve(module, is_package, level, target):
    """The absolute module a relative import of ``level`` dots names from ``module``."""
    if level == 0:
        return target
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    if level > 1:
        base = base[:-(level - 1)]
    return ".".join(base + ([target] if target else []))


def _targets(module, is_package, tree, modules):
    """(target module, line) for every import in ``tree`` that names a tinyms module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node.level, node.module)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield (sub if sub in modules else base), node.lineno


def import_graph():
    """module -> {imported module: first line} over every tinyms module."""
    modules = _modules()
    graph = {}
    for name, (path, package) in modules.items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        edges = {}
        for target, line in _targets(name, package, tree, modules):
            # "import tinyms.x.y" may name a module or, for a missing name, nothing we know: keep
            # the longest known prefix so that the edge still lands on a tinyms module
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("tinyms"):
                edges.setdefault(target, line)
            elif target == name:
                edges.setdefault(name, line)  # a self-import
        graph[name] = edges
    return graph


def strongly_connected(graph):
    """Tarjan's algorithm, iterative: the components of more than one module, or with a self-loop."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    found.append(component)
    return found


def _describe(component, graph):
    edges = [f"{a} -> {b} (line {graph[a][b]})" for a in sorted(component) for b in sorted(graph[a])
             if b in component]
    return "{" + ", ".join(sorted(component)) + "}: " + "; ".join(edges)


def _layer(module, layers):
    return next((layer for layer in layers if module == layer or module.startswith(layer + ".")), None)


def layer_violations(graph):
    """'a -> b (line n)' for every import that goes from a lower layer up."""
    out = []
    for module, edges in sorted(graph.items()):
        layer = _layer(module, FORBIDDEN)
        if layer is None:
            continue
        for target, line in sorted(edges.items()):
            if _layer(target, FORBIDDEN[layer]):
                out.append(f"{module} -> {target} (line {line})")
    return out


def test_the_graph_sees_function_level_and_relative_imports():
    graph = import_graph()
    assert "tinyms.model.registry" in graph and "tinyms.errors" in graph["tinyms.model.registry"]
    assert "tinyms.model.zoo" in graph["tinyms.model"]       # a package re-exporting its submodules
    # a lazy import inside a function is an edge too (the hub builds networks only when asked)
    assert "tinyms.model.registry" in graph["tinyms.hub"]
    # the detection app is a node of the graph, above the model and vision layers it uses
    assert "tinyms.model" in graph["tinyms.app.object_detection.object_detector"]


def test_no_import_cycles_besides_the_known_one():
    graph = import_graph()
    cycles = strongly_connected(graph)
    unexpected = [c for c in cycles if c not in KNOWN_CYCLES]
    assert not unexpected, "import cycles:\n" + "\n".join(_describe(c, graph) for c in unexpected)
    gone = [c for c in KNOWN_CYCLES if c not in cycles]
    assert not gone, f"no longer a cycle, delete it from KNOWN_CYCLES: {gone}"


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"d": 4}, "e": {"a": 5}}
    assert sorted(map(sorted, strongly_connected(graph))) == [["a", "b", "c"], ["d"]]


def test_lower_layers_do_not_import_upper_ones():
    violations = layer_violations(import_graph())
    print("layer rule (data/vision/text -> model -> hub, serving -> cli):",
          "respected" if not violations else "\n  " + "\n  ".join(violations))
    assert not violations, "imports from a lower layer up:\n" + "\n".join(violations)
