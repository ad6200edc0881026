"""No import cycle between the modules of ``src/deepscope``.

The graph is read from the source with ``ast``: every ``import`` and ``from ... import`` anywhere
in a module (at module level, inside functions, under ``TYPE_CHECKING``) is an edge to the most
specific deepscope module it names (``from deepscope.data import profile`` is an edge to
``deepscope.data.profile``; ``from deepscope.data import Profile`` to ``deepscope.data``).
A string handed to ``importlib`` (``Result.figure_function``) is not an import: that is the one
lazy hook upward, from a result to the ``viz`` function that draws it.

The layers themselves (``app`` > ``viz`` > compute > ``model``/``track`` > ``errors``) are checked
by import-linter (``make lint``, contracts in ``pyproject.toml``).
"""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# Cycles still to be broken, each named so it can be removed when its fix lands.


def _modules(src: Path, package: str) -> dict[str, tuple[Path, bool]]:
    modules = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        package = parts[-1] == "__init__"
        if package:
            parts = parts[:-1]
        modules[".".join(parts)] = (path, package)
    return modules


def _resolve(name: str, modules: dict) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(src: Path = SRC, package: str = "deepscope") -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports (anywhere in its source)."""
    modules = _modules(src, package)
    graph: dict[str, set[str]] = {}
    for name, (path, package) in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets.update(_resolve(alias.name, modules) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    here = name.split(".") if package else name.split(".")[:-1]
                    here = here[: len(here) - node.level + 1]
                    base = ".".join([*here, base] if base else here)
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in modules else _resolve(base, modules))
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components with more than one module (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
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
                if len(component) > 1:
                    components.append(component)
    return components


def a_cycle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """One cycle through the component, as a list of modules that starts and ends the same."""
    start = min(component)
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph[node] & component):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if child not in parent:
                parent[child] = node
                queue.append(child)
    return sorted(component)


def test_the_graph_sees_every_kind_of_import(tmp_path):
    files = {
        "pkg/__init__.py": "",
        "pkg/a.py": "import pkg.b\nfrom pkg import c\n",
        "pkg/b.py": "def f():\n    from .sub import d\n",
        "pkg/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.sub.d import X\n",
        "pkg/sub/__init__.py": "from pkg.sub.d import X\n",
        "pkg/sub/d.py": "from .. import a\nfrom pkg import NAME\nimport os\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.a"] == {"pkg.b", "pkg.c"}  # module level; a submodule named by from-import
    assert graph["pkg.b"] == {"pkg.sub.d"}  # inside a function, relative
    assert graph["pkg.c"] == {"pkg.sub.d"}  # under TYPE_CHECKING
    assert graph["pkg.sub.d"] == {"pkg.a", "pkg"}  # relative to the parent; a name from a package
    assert strongly_connected(graph) == [{"pkg.a", "pkg.b", "pkg.c", "pkg.sub.d"}]


def test_strongly_connected_components_name_planted_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    (component,) = strongly_connected(graph)
    assert component == {"a", "b", "c"}
    assert a_cycle(graph, component) == ["a", "b", "c", "a"]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_modules():
    graph = import_graph()
    cycles = strongly_connected(graph)
    named = ["  " + " -> ".join(a_cycle(graph, c)) + f"  ({len(c)} modules)" for c in cycles]
    assert not cycles, "import cycles in src/deepscope:\n" + "\n".join(named)
