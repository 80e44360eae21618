"""``ediscuss inbox``: what was received, what failed and why, and reprocessing after a fix.

The parser and the processing pipeline are imported by the commands that use
them: every command module is imported by ``ediscuss serve`` too, which does
not parse when it has processing children (some 10 MB it would hold for nothing).
"""

from __future__ import annotations

import argparse
import sys

from mailer.commands.base import CommandError, Context, Subparsers
from store.inbox import failed_inbound, list_inbound, reset_for_retry
from store.models import InboundMessage, InboundState

SHOWN_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To")
SHOWN_LINES = 40


def register(sub: Subparsers) -> None:
    """Add ``inbox list|failed|retry|show``."""
    inbox = sub.add_parser("inbox", help="received messages and their processing")
    isub = inbox.add_subparsers(dest="inbox_command", metavar="ACTION", required=True)
    p = isub.add_parser("list", help="the newest received messages")
    p.add_argument(
        "--state",
        choices=[s.value for s in InboundState],
        help="only messages in this state",
    )
    p.add_argument("--limit", type=int, default=50, help="at most N (default 50)")
    p.set_defaults(handler=cmd_inbox_list)
    p = isub.add_parser("failed", help="messages that failed or were quarantined, why")
    p.set_defaults(handler=cmd_inbox_failed)
    p = isub.add_parser(
        "retry", help="reprocess failed and quarantined messages (all, or the IDs)"
    )
    p.add_argument(
        "ids", nargs="*", type=int, metavar="ID", help="inbox ids (default: all)"
    )
    p.set_defaults(handler=cmd_inbox_retry)
    p = isub.add_parser("show", help="one received message: state, headers, text")
    p.add_argument("id", type=int, metavar="ID", help="the inbox id")
    p.add_argument("--raw", action="store_true", help="print the whole raw message")
    p.set_defaults(handler=cmd_inbox_show)


def printable(text: str) -> str:
    """Received text made safe for a terminal: no escape sequences, tabs and newlines kept."""
    return "".join(c if c.isprintable() or c in "\n\t" else "?" for c in text)


def _line(row: InboundMessage) -> str:
    first_to = (row.envelope_to.splitlines() or ["-"])[0]
    return printable(
        f"{row.id:>6} {row.state.value:<11} {row.kind or '-':<14} {row.received_via:<5} "
        f"{row.received_at:%Y-%m-%d %H:%M:%S} {row.message_id or '-'} "
        f"from={row.envelope_from or '<>'} to={first_to}"
    )


def cmd_inbox_list(ctx: Context, args: argparse.Namespace) -> int:
    """Newest first: id, state, decision, path, time, Message-ID, sender, recipient."""
    state = InboundState(args.state) if args.state else None
    with ctx.runtime().sessions() as session:
        rows = list_inbound(session, state, args.limit)
    for row in rows:
        print(_line(row))
    print(f"{len(rows)} message(s)", file=sys.stderr)
    return 0


def cmd_inbox_failed(ctx: Context, args: argparse.Namespace) -> int:
    """Each failed or quarantined message with its attempts and the reason."""
    with ctx.runtime().sessions() as session:
        rows = failed_inbound(session)
    if not rows:
        print("no failed or quarantined messages")
        return 0
    for row in rows:
        print(_line(row))
        print(printable(f"       attempts={row.attempts} reason: {row.error or '-'}"))
    print(f"{len(rows)} failed message(s)", file=sys.stderr)
    return 0


def cmd_inbox_retry(ctx: Context, args: argparse.Namespace) -> int:
    """Put the messages back to NEW and process them now; exit 1 if any fails again."""
    from mailer.inbound.pipeline import process_one, publish_copies

    runtime = ctx.runtime()
    with runtime.sessions.begin() as session:
        ids = reset_for_retry(session, args.ids)
    missing = sorted(set(args.ids) - set(ids))
    if missing:
        print(
            f"not failed or quarantined: {', '.join(map(str, missing))}",
            file=sys.stderr,
        )
    if not ids:
        raise CommandError("nothing to retry")
    failed = 0
    for inbound_id in ids:
        outcome = process_one(runtime, inbound_id)
        if outcome is None:
            print(
                f"{inbound_id:>6} taken by a running service; it will be processed there"
            )
            continue
        if outcome.state is not InboundState.PROCESSED:
            failed += 1
        print(printable(f"{inbound_id:>6} {outcome.decision}: {outcome.reason}"))
    publish_copies(runtime)  # the copies of the posts it made
    return 1 if failed else 0


def cmd_inbox_show(ctx: Context, args: argparse.Namespace) -> int:
    """The message's state and main headers, then its text (or, with --raw, all of it)."""
    with ctx.runtime().sessions() as session:
        row = session.get(InboundMessage, args.id)
        if row is None:
            raise CommandError(f"no received message {args.id}")
        session.expunge(row)
    print(f"id:          {row.id}")
    print(f"state:       {row.state.value} (attempts {row.attempts})")
    print(printable(f"decision:    {row.kind or '-'}"))
    if row.error:
        print(printable(f"reason:      {row.error}"))
    print(
        f"received:    {row.received_at:%Y-%m-%d %H:%M:%S} UTC via {row.received_via}"
    )
    print(printable(f"peer:        {row.peer or '-'}"))
    print(printable(f"envelope:    from {row.envelope_from or '<>'}"))
    for rcpt in row.envelope_to.splitlines():
        print(printable(f"             to {rcpt}"))
    print(f"size:        {row.size} bytes")
    print()
    if args.raw:
        print(printable(row.raw.decode("utf-8", "replace").replace("\r\n", "\n")))
        return 0
    for line in _decoded(row.raw):
        print(printable(line))
    return 0


def _decoded(raw: bytes) -> list[str]:
    """The main headers and the text as a reader sees them: encoded words,
    quoted-printable, base64 and charsets decoded, HTML-only mail as text,
    attachments listed by name."""
    from mailer.core.errors import MalformedMessage
    from mailer.core.parse import parse_message

    try:
        parsed = parse_message(raw)
    except MalformedMessage as exc:
        return [f"(not readable as a message: {exc}; --raw shows the bytes)"]
    out = [
        f"{name}: {' '.join(value.split())}"
        for name in SHOWN_HEADERS
        for value in parsed.header_values(name)
    ]
    lines = parsed.text.splitlines()
    out += ["", *lines[:SHOWN_LINES]]
    if len(lines) > SHOWN_LINES:
        out.append(
            f"[... {len(lines) - SHOWN_LINES} more lines: --raw shows everything]"
        )
    if parsed.encrypted:
        out.append("[encrypted: its text cannot be read]")
    for a in parsed.attachments:
        out.append(
            f"[attachment: {a.filename or '-'} {a.content_type}, {a.size} bytes]"
        )
    return out
