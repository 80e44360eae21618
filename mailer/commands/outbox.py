"""``ediscuss outbox list|retry|purge|send``: the operator's view of outgoing mail."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from mailer.commands.base import CommandError, Context, Subparsers
from mailer.outbound.worker import OutboxSender
from store.bodies import prune_bodies
from store.models import OutboxState
from store.outbox import count_by_state, list_messages, purge_sent, retry_messages


def register(sub: Subparsers) -> None:
    """Add ``outbox list``, ``outbox retry``, ``outbox purge`` and ``outbox send``."""
    o = sub.add_parser("outbox", help="outgoing mail")
    osub = o.add_subparsers(dest="outbox_command", metavar="ACTION", required=True)
    p = osub.add_parser("list", help="list outgoing messages, newest first")
    p.add_argument(
        "--state",
        choices=[s.value for s in OutboxState],
        help="only messages in this state",
    )
    p.add_argument("--limit", type=int, default=50, help="at most N (default 50)")
    p.set_defaults(handler=cmd_outbox_list)

    p = osub.add_parser("retry", help="send failed or deferred messages again now")
    p.add_argument("ids", nargs="*", type=int, metavar="ID", help="outbox ids")
    p.add_argument("--failed", action="store_true", help="every failed message")
    p.set_defaults(handler=cmd_outbox_retry)

    p = osub.add_parser(
        "purge",
        help="delete sent messages older than DAYS and shared bodies only sent mail used",
    )
    p.add_argument(
        "--sent-older-than",
        type=float,
        default=30.0,
        metavar="DAYS",
        dest="days",
        help="age of the sent messages to delete (default 30)",
    )
    p.set_defaults(handler=cmd_outbox_purge)

    p = osub.add_parser("send", help="send what is due now, then exit")
    p.set_defaults(handler=cmd_outbox_send)


def cmd_outbox_list(ctx: Context, args: argparse.Namespace) -> int:
    """One line per message, then the count in each state (on standard error)."""
    state = OutboxState(args.state) if args.state else None
    with ctx.runtime().sessions() as session:
        rows = list_messages(session, state=state, limit=args.limit)
        counts = count_by_state(session)
    for row in rows:
        when = row.sent_at or row.next_attempt_at
        print(
            f"{row.id:>6} {row.state.value:<8} {row.kind:<12} {row.recipient:<40} "
            f"attempts={row.attempts} {when:%Y-%m-%d %H:%M}Z {row.message_id} "
            f"{row.last_error or ''}".rstrip()
        )
    summary = ", ".join(f"{n} {s.value}" for s, n in sorted(counts.items(), key=str))
    print(summary or "the outbox is empty", file=sys.stderr)
    return 0


def cmd_outbox_retry(ctx: Context, args: argparse.Namespace) -> int:
    """Queue the named (or every failed) message for an attempt now."""
    if not args.ids and not args.failed:
        raise CommandError("name message ids, or give --failed", exit_code=2)
    runtime = ctx.runtime()
    with runtime.sessions.begin() as session:
        n = retry_messages(
            session, now=runtime.clock(), ids=args.ids, failed=args.failed
        )
    print(f"{n} message(s) queued again")
    return 0


# A body queued this recently may be in use by a transaction not yet committed.
BODY_GRACE = timedelta(hours=1)


def cmd_outbox_purge(ctx: Context, args: argparse.Namespace) -> int:
    """Delete sent rows older than the given age (their dedupe keys go with them).

    Then drop the shared bodies that no unsent row needs: younger sent rows
    keep their personal bytes, which say who got what.
    """
    if args.days < 1:
        raise CommandError(
            "--sent-older-than must be at least 1 day: a younger dedupe key "
            "may still stop a job that fires twice",
            exit_code=2,
        )
    runtime = ctx.runtime()
    now = runtime.clock()
    with runtime.sessions.begin() as session:
        n = purge_sent(session, before=now - timedelta(days=args.days))
    with runtime.sessions.begin() as session:
        bodies = prune_bodies(session, before=now - BODY_GRACE)
    noun = "body" if bodies == 1 else "bodies"
    print(f"{n} sent message(s) deleted, {bodies} shared {noun} dropped")
    return 0


def cmd_outbox_send(ctx: Context, args: argparse.Namespace) -> int:
    """Send every due message once (for cron, or a node that does not run serve)."""
    ctx.settings_with_secrets(imap=False)
    sender = OutboxSender(ctx.runtime())
    try:
        report = sender.drain()
    finally:
        sender.close()
    print(f"sent {report.sent}, deferred {report.deferred}, failed {report.failed}")
    return 0
