"""One error tree: every exception under mailer/ and store/ sits in it, and the CLI prints any as one line."""

from __future__ import annotations

import argparse
import ast
import importlib
import re
from pathlib import Path

import pytest

from mailer import cli
from mailer.commands import admin
from mailer.commands.base import Context
from mailer.core import errors
from mailer.core.errors import EdiscussError
from mailer.mailings.releases import UnknownDiscussion
from mailer.subscriptions.values import InvalidValue
from store.errors import MissingRow, StoreError
from tests.fixtures.settings import SHIPPED_CONFIG

ROOT = Path(__file__).resolve().parents[2]


def _exception_classes() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for package in ("mailer", "store"):
        for path in sorted((ROOT / package).rglob("*.py")):
            module_name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            module_name = module_name.removesuffix(".__init__")
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
            if not names:
                continue
            module = importlib.import_module(module_name)
            for name in names:
                value = getattr(module, name)
                if isinstance(value, type) and issubclass(value, BaseException):
                    found.append(value)
    return found


def test_every_project_exception_is_in_the_documented_tree() -> None:
    classes = _exception_classes()
    assert len(classes) >= 24  # the walk found them: the tree below lists 24
    tree = errors.__doc__ or ""
    outside = [
        c.__qualname__ for c in classes if not issubclass(c, EdiscussError | StoreError)
    ]
    undocumented = [
        c.__qualname__
        for c in classes
        if not re.search(rf"^\W*{c.__name__}\b", tree, re.MULTILINE)
    ]
    assert not outside, f"not under EdiscussError or StoreError: {outside}"
    assert not undocumented, f"not in mailer/core/errors.py's tree: {undocumented}"


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (UnknownDiscussion("nosuch"), "error: nosuch"),
        (
            InvalidValue("mode", "weekly", "not one of\n each, digest"),
            "error: mode 'weekly': not one of each, digest",
        ),
        (MissingRow("no inbound message 7"), "error: no inbound message 7"),
    ],
)
def test_the_cli_prints_a_project_error_as_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: Exception,
    line: str,
) -> None:
    def fails(ctx: Context, args: argparse.Namespace) -> int:
        raise error

    monkeypatch.setattr(admin, "cmd_config_check", fails)
    code = cli.main(["--config", str(SHIPPED_CONFIG), "config", "check"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.splitlines() == [line]
