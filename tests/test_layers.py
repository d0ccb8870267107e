"""The package's import graph: no cycles among antom_django's modules, and ``client/`` stands alone.

Imports are read with ``ast`` from the source, at module level or inside a function: a lazy import that only
dodges a cycle is still a cycle. Imports under ``if TYPE_CHECKING:`` never run, so they make no cycle; they
do count for the client's layer rule (its types name no Django either).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "antom_django"
ROOT = "antom_django"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {
    module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "migrations" not in p.relative_to(PACKAGE).parts
}


def _is_type_checking(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST, *, type_checking: bool) -> Iterator[ast.AST]:
    """Every node of ``tree``; without ``type_checking``, not those only run under ``if TYPE_CHECKING:``."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if not type_checking and _is_type_checking(node):
            assert isinstance(node, ast.If)
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def imported(name: str, path: Path, *, type_checking: bool = False) -> Iterator[tuple[str, int]]:
    """Every module ``name`` imports (absolute, resolved), with the line that does."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in _nodes(ast.parse(path.read_text(), str(path)), type_checking=type_checking):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                # ``from . import signals`` imports the module ``signals``; ``from .x import name``, the module x.
                sub = f"{target}.{alias.name}"
                yield (sub if sub in MODULES else target), node.lineno


def graph() -> dict[str, dict[str, int]]:
    """Module → the package's modules it imports (→ the line of the first such import)."""
    edges: dict[str, dict[str, int]] = {}
    for name, path in MODULES.items():
        for target, line in imported(name, path):
            if target in MODULES and target != name:
                found = edges.setdefault(name, {})
                found[target] = min(line, found.get(target, line))
    return edges


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted({*edges, *(n for targets in edges.values() for n in targets)}):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read() -> None:
    edges = graph()
    assert "antom_django.client.types" in edges["antom_django.client.api"]
    assert "antom_django.services.context" in edges["antom_django.services.results"]
    assert "antom_django.signals" in edges["antom_django.services.context"], "from .. import signals"


def test_no_import_cycles() -> None:
    edges = graph()
    described = [
        " -> ".join(component)
        + "\n  "
        + "\n  ".join(
            f"{a} imports {b} (line {edges[a][b]})" for a in component for b in component if b in edges.get(a, {})
        )
        for component in cycles(edges)
    ]
    assert not described, "import cycles:\n" + "\n".join(described)


def test_cycles_are_found() -> None:
    assert cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b": 1}, "b": {"c": 1}}) == []


def test_lazy_imports_count_and_type_checking_ones_do_not(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import hidden\ndef f():\n    import lazy\n"
    )
    assert {t for t, _ in imported("pkg.mod", source)} == {"typing", "lazy"}
    assert {t for t, _ in imported("pkg.mod", source, type_checking=True)} == {"typing", "hidden", "lazy"}


def test_client_imports_no_django_and_nothing_else_of_the_package() -> None:
    stdlib = sys.stdlib_module_names
    wrong = []
    for name, path in MODULES.items():
        if not name.startswith(f"{ROOT}.client"):
            continue
        for target, line in imported(name, path, type_checking=True):
            top = target.partition(".")[0]
            inside_client = target == f"{ROOT}.client" or target.startswith(f"{ROOT}.client.")
            if top == "django" or (top == ROOT and not inside_client):
                wrong.append(f"{name} imports {target} (line {line})")
            assert top in stdlib or top in {ROOT, "requests", "cryptography", "urllib3"}, (name, target)
    assert not wrong, "client/ must stand alone:\n" + "\n".join(wrong)
