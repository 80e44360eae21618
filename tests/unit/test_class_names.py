"""One class name means one thing: no two classes under mailer/ or store/ share a name.

Two ``Discussion`` classes (settings and row) made every reader look up which one an
annotation meant and every module import one of them under another name. The walk reads
the source with :mod:`ast`, so nested and conditional classes count too.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("mailer", "store")


def class_definitions(source: str) -> list[str]:
    """The names of every class defined in *source*, nested ones included."""
    return [
        node.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ClassDef)
    ]


def duplicated_class_names(root: Path) -> dict[str, list[str]]:
    """Each class name defined more than once under *root*'s packages, with where."""
    places: defaultdict[str, list[str]] = defaultdict(list)
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            where = path.relative_to(root).as_posix()
            for name in class_definitions(path.read_text(encoding="utf-8")):
                places[name].append(where)
    return {name: found for name, found in places.items() if len(found) > 1}


def test_no_class_name_is_defined_twice() -> None:
    duplicated = duplicated_class_names(ROOT)
    assert not duplicated, "; ".join(
        f"{name} in {', '.join(found)}" for name, found in sorted(duplicated.items())
    )


def test_the_walk_finds_a_duplicate(tmp_path: Path) -> None:
    (tmp_path / "mailer").mkdir()
    (tmp_path / "store").mkdir()
    (tmp_path / "mailer" / "a.py").write_text("class Row:\n    class Inner: ...\n")
    (tmp_path / "store" / "b.py").write_text("def f():\n    class Row: ...\n")
    assert duplicated_class_names(tmp_path) == {"Row": ["mailer/a.py", "store/b.py"]}
