"""``ediscuss serve``: run the whole service in one process."""

from __future__ import annotations

import argparse
import asyncio

from mailer.commands.base import CommandError, Context, Subparsers
from mailer.core.errors import CannotListen
from mailer.heap import settle_heap
from mailer.logs import configure_logging
from mailer.notify import sd_notify
from mailer.serve import serve


def register(sub: Subparsers) -> None:
    """Add ``serve``."""
    p = sub.add_parser(
        "serve", help="run the service: inbound mail, scheduler, outbox, web"
    )
    p.set_defaults(handler=cmd_serve)


def _started() -> None:
    """Everything listens: settle the heap, then tell systemd (under
    ``Type=notify``; nothing otherwise)."""
    settle_heap()
    sd_notify("READY=1")


def cmd_serve(ctx: Context, args: argparse.Namespace) -> int:
    """Run until SIGTERM or SIGINT; exit 0 on a clean stop."""
    settings = ctx.settings_with_secrets()
    configure_logging(settings.service.log_level)
    runtime = ctx.runtime()
    try:
        asyncio.run(serve(runtime, ready=_started))
    except CannotListen as exc:
        raise CommandError(exc.explain()) from exc
    return 0
