"""Imports run one way: no module under mailer/ or store/ imports, even late, one that imports it back.

The graph is read from the source with :mod:`ast`, so an import inside a function or under
``TYPE_CHECKING`` counts as much as one at the top: each is a promise about which part may know
which. The layers, top to bottom: commands -> serve -> inbound, mailings, web -> subscriptions,
moderation -> outbound -> runtime -> config -> core, store (``STYLE.md`` section 1). A cycle fails,
and so does an import of a higher layer.
"""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("mailer", "store")

# Imports that still close a cycle, as (importer, imported). The list may only shrink: an import
# that closes a new cycle fails the test, and so does a listed one that no longer does (strike it).
KNOWN_CYCLE_IMPORTS: frozenset[tuple[str, str]] = frozenset()

# Each part's layer; a module may import its own layer and those below (a lower number).
LAYERS: tuple[tuple[str, int], ...] = (
    ("mailer.core", 0),
    ("store", 0),
    ("mailer.clock", 1),
    ("mailer.heap", 1),
    ("mailer.tls", 1),
    ("mailer.wakes", 1),
    ("mailer.links", 1),
    ("mailer.logs", 1),
    ("mailer.notify", 1),
    ("mailer.config", 2),
    ("mailer.keys", 3),
    ("mailer.runtime", 4),
    ("mailer.outbound", 5),
    ("mailer.subscriptions", 6),
    ("mailer.moderation", 6),
    ("mailer.inbound", 7),
    ("mailer.mailings", 7),
    ("mailer.web", 7),
    ("mailer.synthesis", 7),
    ("mailer.serve", 8),
    ("mailer.demo", 9),
    ("mailer.commands", 9),
    ("mailer.cli", 10),
    ("mailer.__main__", 11),
)

# Imports of a higher layer still made, as (importer, imported): none. A part that needs one
# above it is handed it (the moderators' commands get ``mailer.mailings.MAILING_CALLS``).
KNOWN_UPWARD_IMPORTS: frozenset[tuple[str, str]] = frozenset()


def module_files() -> dict[str, Path]:
    """Every module of the project packages, by dotted name."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _imported(
    node: ast.Import | ast.ImportFrom, name: str, is_package: bool
) -> list[str]:
    """The dotted names one import statement may load, most specific first."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = name.split(".") if is_package else name.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join(anchor + ([base] if base else []))
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


def import_graph() -> dict[str, set[str]]:
    """Module name -> the project modules it imports, wherever in the module the import sits."""
    modules = module_files()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            candidates = _imported(node, name, path.name == "__init__.py")
            if isinstance(node, ast.ImportFrom):
                # `from pkg import sub` loads pkg.sub when it is a module, else a name of pkg.
                found = {c for c in candidates[:-1] if c in modules}
                if len(found) < len(candidates) - 1 and candidates[-1] in modules:
                    found.add(candidates[-1])
            else:
                found = {c for c in candidates if c in modules}
            graph[name] |= found - {name}
    return graph


def _path(graph: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """The shortest chain of imports from *start* to *goal*, if there is one."""
    before: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if here == goal:
            chain = [here]
            while (back := before[chain[-1]]) is not None:
                chain.append(back)
            return chain[::-1]
        for there in sorted(graph[here]):
            if there not in before:
                before[there] = here
                queue.append(there)
    return None


def cycle_imports(graph: dict[str, set[str]]) -> dict[tuple[str, str], list[str]]:
    """Each import that closes a cycle, with one cycle it closes (importer first and last)."""
    found: dict[tuple[str, str], list[str]] = {}
    for importer, imported in sorted(
        (a, b) for a, targets in graph.items() for b in targets
    ):
        back = _path(graph, imported, importer)
        if back is not None:
            found[(importer, imported)] = [importer, *back]
    return found


def layer_of(module: str) -> int:
    """The layer of *module*: that of the part it falls under."""
    if module == "mailer":
        return 0  # mailer/__init__.py holds only the version
    for part, layer in LAYERS:
        if module == part or module.startswith(part + "."):
            return layer
    raise AssertionError(f"{module} is in no layer: add its part to LAYERS")


def upward_imports(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """Each import of a module in a higher layer than the importer's."""
    return {
        (a, b)
        for a, targets in graph.items()
        for b in targets
        if layer_of(b) > layer_of(a)
    }


def test_the_graph_sees_every_kind_of_import() -> None:
    """Late imports and TYPE_CHECKING imports are edges too; a reader that missed them would pass anything."""
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from store.models import Post\n"
        "def f() -> None:\n    import mailer.clock\n    from . import tokens\n"
    )
    names = [
        n
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for n in _imported(node, "store.subscribers", False)
    ]
    assert {"store.models", "mailer.clock", "store.tokens"} <= set(names)
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycle_imports(graph)[("c", "a")] == ["c", "a", "b", "c"]
    assert ("d", "a") not in cycle_imports(graph)


def test_imports_have_no_cycles() -> None:
    """Every cycle is named by its chain of modules; the known list only shrinks."""
    found = cycle_imports(import_graph())
    new = {
        edge: chain for edge, chain in found.items() if edge not in KNOWN_CYCLE_IMPORTS
    }
    gone = sorted(KNOWN_CYCLE_IMPORTS - found.keys())
    problems = [f"import cycle: {' -> '.join(chain)}" for chain in new.values()]
    problems += [
        f"{a} -> {b} no longer closes a cycle: strike it from KNOWN_CYCLE_IMPORTS"
        for a, b in gone
    ]
    assert not problems, "\n".join(problems)


def test_imports_run_down_the_layers() -> None:
    """No module imports one of a higher layer (see LAYERS); the known list only shrinks."""
    found = upward_imports(import_graph())
    problems = [
        f"{a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})"
        for a, b in sorted(found - KNOWN_UPWARD_IMPORTS)
    ]
    problems += [
        f"{a} -> {b} no longer goes up: strike it from KNOWN_UPWARD_IMPORTS"
        for a, b in sorted(KNOWN_UPWARD_IMPORTS - found)
    ]
    assert not problems, "\n".join(problems)


def test_a_late_import_of_serve_is_caught() -> None:
    """What the rule is for: a worker that imports serve, even inside a function, fails."""
    graph = import_graph()
    graph["mailer.outbound.worker"] = graph["mailer.outbound.worker"] | {"mailer.serve"}
    assert ("mailer.outbound.worker", "mailer.serve") in upward_imports(graph)
    assert ("mailer.outbound.worker", "mailer.serve") in cycle_imports(graph)
