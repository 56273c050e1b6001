"""No import cycles: between packages none, inside a package only the documented provider registry.

Dependencies point one way (``cli -> assembly -> proxy -> routing, pipeline, cache, providers ->
formats -> canonical``): a cycle held apart by an import inside a function still means neither side
can be understood, tested or replaced without the other. The graph is read from the source with
``ast`` (nothing is imported), counting every import: at module level, inside functions, and, between
packages, those under ``TYPE_CHECKING`` too (a type from a higher layer is a dependency on it). A
module's ``if __name__ == "__main__":`` block is a program of its own, run as ``python -m``, not part
of the module others import.

A package is a directory of ``lynkr_cli`` (``proxy``, ``routing``...) or a top-level module
(``session``, ``settings``...).
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "lynkr_cli"

# The one cycle inside a package, by design: ``providers/base.py``'s ``get_registry()`` imports
# ``providers/presets.py`` on first use, which imports the families that subclass ``base``.
REGISTRY_EDGES = {("lynkr_cli.providers.base", "lynkr_cli.providers.presets")}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _main_guard(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators))


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(path: Path, modules: Mapping[str, Path]) -> Iterable[tuple[str, bool]]:
    """(imported lynkr_cli module, under TYPE_CHECKING) for every import statement in ``path``."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]

    def targets(node: ast.stmt) -> Iterable[str]:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:  # ``from lynkr_cli.proxy import flow`` imports the module flow
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base

    def walk(node: ast.AST, checking: bool) -> Iterable[tuple[str, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _main_guard(child):
                continue
            if isinstance(child, ast.If) and _type_checking(child):
                for statement in child.body:
                    yield from walk_statement(statement, True)
                for statement in child.orelse:
                    yield from walk_statement(statement, checking)
            else:
                yield from walk_statement(child, checking)

    def walk_statement(node: ast.AST, checking: bool) -> Iterable[tuple[str, bool]]:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for target in targets(node):
                while target not in modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target.startswith("lynkr_cli") and target != name:
                    yield target, checking
        else:
            yield from walk(node, checking)

    yield from walk(ast.parse(path.read_text(encoding="utf-8")), False)


def graphs() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(module -> modules it imports at run time, package -> packages it depends on)."""
    modules = {module_name(p): p for p in ROOT.rglob("*.py")}
    runtime: dict[str, set[str]] = {m: set() for m in modules}
    packages: dict[str, set[str]] = {package_of(m): set() for m in modules}
    for module, path in modules.items():
        for target, checking in imports_of(path, modules):
            if not checking:
                runtime[module].add(target)
            source, dest = package_of(module), package_of(target)
            if source != dest and dest != "lynkr_cli":
                packages[source].add(dest)
    return runtime, packages


def cycles(graph: Mapping[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = itertools.count()

    def visit(node: str) -> None:
        index[node] = low[node] = next(counter)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _short(names: Iterable[str]) -> list[str]:
    return sorted(name.removeprefix("lynkr_cli.") for name in names)


def test_no_cycle_between_packages() -> None:
    _, packages = graphs()
    found = [_short(c) for c in cycles(packages)]
    assert not found, f"packages import each other (directly or around a loop): {found}"


def test_no_cycle_inside_a_package_but_the_provider_registry() -> None:
    runtime, _ = graphs()
    for source, dest in REGISTRY_EDGES:
        assert dest in runtime[source], f"the documented registry import {source} -> {dest} is gone: update the test"
        runtime[source].discard(dest)
    found = [_short(c) for c in cycles(runtime)]
    assert not found, f"modules import each other (directly or around a loop): {found}"


def test_the_cycle_finder_finds_loops_not_chains() -> None:
    """The checks above can fail: a loop is found, a chain is not."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
