"""The ``ediscuss`` command: ``main(argv)`` parses, dispatches and returns an exit code.

Each command group lives in a module of :mod:`mailer.commands` that adds its
subcommands with ``register(subparsers)``; a command is a function
``(ctx, args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from mailer.commands import admin, base, data, serve
from mailer.commands import demo as demo_commands
from mailer.commands import dkim as dkim_commands
from mailer.commands import inbox as inbox_commands
from mailer.commands import moderation as moderation_commands
from mailer.commands import outbox as outbox_commands
from mailer.commands import report as report_commands
from mailer.commands import schedule as schedule_commands
from mailer.commands import subscribers as subscriber_commands
from mailer.core.errors import ConfigError, EdiscussError
from mailer.logs import configure_logging
from store.errors import StoreError

COMMAND_MODULES = [
    serve,
    admin,
    data,
    outbox_commands,
    dkim_commands,
    moderation_commands,
    subscriber_commands,
    inbox_commands,
    schedule_commands,
    report_commands,
    demo_commands,
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="ediscuss",
        description=(
            "Run and administer moderated, time-boxed e-discussions by email: the"
            " service, its questions, posts, subscribers and mail."
        ),
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("EDISCUSS_CONFIG", "config.toml")),
        help="the configuration file (default: ./config.toml, or $EDISCUSS_CONFIG)",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"ediscuss {importlib.metadata.version('ediscuss')}",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    _describe(parser)
    return parser


def _describe(parser: argparse.ArgumentParser) -> None:
    """Give each subcommand without a description its one-line help as one.

    ``ediscuss questions list --help`` then says what the command does, not
    only its usage (argparse shows ``help`` in the parent's list alone).
    """
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {a.dest: a.help for a in action._choices_actions}
        for name, child in action.choices.items():
            if child.description is None and helps.get(name):
                text = str(helps[name])
                child.description = text[0].upper() + text[1:] + "."
            _describe(child)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    configure_logging(logging.INFO)
    ctx = base.Context(args.config, os.environ)
    try:
        return int(handler(ctx, args))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except base.CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OperationalError as exc:  # the database is down, or refuses us
        reason = str(exc.orig or exc).strip().splitlines()[0]
        where = make_url(ctx.settings.database.url).render_as_string(hide_password=True)
        print(f"error: the database {where} cannot be used: {reason}", file=sys.stderr)
        return 1
    except (EdiscussError, StoreError) as exc:
        # Any other error the project raises on purpose: one line, no traceback
        # (as Datasette's CLI turns StartupError into a ClickException).
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 1
    finally:
        ctx.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
