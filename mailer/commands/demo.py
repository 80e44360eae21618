"""``ediscuss demo``: see the whole service work in about a minute."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from mailer.commands.base import CommandError, Context, Subparsers


def register(sub: Subparsers) -> None:
    """Add ``demo``."""
    p = sub.add_parser(
        "demo",
        help="play the model discussion end to end by email, three weeks in a minute",
        description=(
            "Start the service on a temporary SQLite database and Maildir, play the "
            "model discussion of the configuration through real SMTP on loopback "
            "(sign-ups, contributions from many mail clients, moderators by mail, "
            "digests, the close), print what happens, then keep the archive "
            "browsable until Ctrl-C."
        ),
    )
    p.add_argument(
        "--fast", action="store_true", help="no pauses: run the clock as fast as it can"
    )
    p.add_argument(
        "--no-wait",
        dest="wait",
        action="store_false",
        help="exit when the script is played instead of serving the archive",
    )
    p.add_argument("--port", type=int, help="the archive's port (default: a free one)")
    p.add_argument(
        "--state",
        type=Path,
        metavar="DIR",
        help="keep the demo's database and Maildir in DIR, for report and export"
        " (default: a temporary folder, removed at the end)",
    )
    p.set_defaults(handler=cmd_demo)


def cmd_demo(ctx: Context, args: argparse.Namespace) -> int:
    """Play the demonstration; 0 when it ran to the end."""
    # The demonstration's script and stage are loaded only to play it: serve,
    # which registers this command too, never holds them.
    from mailer.demo import DemoError, DemoOptions, run_demo
    from mailer.demo.stage import Interrupted

    logging.getLogger().setLevel(logging.WARNING)  # the account says what happens
    options = DemoOptions(fast=args.fast, web_port=args.port, state_dir=args.state)
    try:
        run = run_demo(ctx.settings, options, sys.stdout, wait=args.wait)
    except DemoError as exc:
        raise CommandError(str(exc)) from exc
    except OSError as exc:  # the archive's port is taken, most likely
        raise CommandError(f"cannot start the demo's service: {exc}") from exc
    except Interrupted:
        print("\nstopped before the end of the script", file=sys.stderr)
        return 130
    return 0 if run.finished else 1
