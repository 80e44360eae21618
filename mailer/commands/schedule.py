"""``questions release``, ``discussion close|reopen``, ``digest preview``: the timetable by hand.

What moderators do by email, an operator can do here; the announcements go
out exactly as when the schedule or a moderator does it. ``digest preview``
prints what digest readers of one language get (or got) for one date.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

from mailer.commands.base import (
    CommandError,
    Context,
    Subparsers,
    add_discussion_option,
)
from mailer.config.settings import SUPPORTED_LANGUAGES
from mailer.config.timetable import calendar_of, load_state
from mailer.core.modauth import AuthMethod
from mailer.core.schedule import ReleaseOutcome, StateOutcome, digest_by_hand
from mailer.mailings.digests import DigestPreview, preview_digest, send_digest
from mailer.mailings.releases import (
    close_discussion,
    release_questions,
    release_week,
    reopen_discussion,
)

BY = "cli"


def register_release(qsub: Subparsers) -> None:
    """Add ``questions release N... | --week W`` to the ``questions`` group."""
    p = qsub.add_parser(
        "release", help="release questions now and announce them to every subscriber"
    )
    p.add_argument("numbers", nargs="*", type=int, metavar="N", help="question numbers")
    p.add_argument(
        "--week", type=int, metavar="W", help="release every question of week W"
    )
    add_discussion_option(p)
    p.set_defaults(handler=cmd_questions_release)


def register(sub: Subparsers) -> None:
    """Add ``discussion close|reopen`` and ``digest preview``."""
    d = sub.add_parser("discussion", help="close or reopen a discussion")
    dsub = d.add_subparsers(dest="discussion_command", metavar="ACTION", required=True)
    for name, handler, text in (
        ("close", cmd_discussion_close, "close now: closing announcement, last digest"),
        ("reopen", cmd_discussion_reopen, "open a closed discussion again"),
    ):
        p = dsub.add_parser(name, help=text)
        add_discussion_option(p)
        p.set_defaults(handler=handler)

    g = sub.add_parser("digest", help="daily digests")
    gsub = g.add_subparsers(dest="digest_command", metavar="ACTION", required=True)
    p = gsub.add_parser(
        "preview", help="print the digest readers of a language get for a date"
    )
    p.add_argument(
        "--date",
        required=True,
        type=date.fromisoformat,
        metavar="D",
        help="the digest's date (YYYY-MM-DD, in the discussion's time zone)",
    )
    p.add_argument(
        "--language",
        required=True,
        choices=SUPPORTED_LANGUAGES,
        help="the readers' language (one the discussion offers)",
    )
    p.add_argument("--html", action="store_true", help="print the HTML part")
    add_discussion_option(p)
    p.set_defaults(handler=cmd_digest_preview)
    p = gsub.add_parser(
        "send",
        help="queue a digest now: what is due, or everything since the last one (once)",
    )
    p.add_argument(
        "--date",
        type=date.fromisoformat,
        metavar="D",
        help="the digest of date D (YYYY-MM-DD), once its hour has passed",
    )
    add_discussion_option(p)
    p.set_defaults(handler=cmd_digest_send)


def cmd_questions_release(ctx: Context, args: argparse.Namespace) -> int:
    """Release the numbered questions (or a week's); exit 1 if any could not be."""
    disc = ctx.discussion(args.discussion)
    if bool(args.numbers) == (args.week is not None):
        raise CommandError("name question numbers or --week W (not both)", 2)
    runtime = ctx.runtime()
    now = ctx.clock()
    with runtime.sessions.begin() as session:
        if args.week is not None:
            result = release_week(
                session, runtime, disc.slug, args.week, now, BY, AuthMethod.CLI
            )
            if not result.outcomes:
                raise CommandError(
                    f"no week {args.week} (weeks: {', '.join(map(str, disc.weeks))})"
                )
        else:
            result = release_questions(
                session, runtime, disc.slug, args.numbers, now, BY, AuthMethod.CLI
            )
    for number, outcome in result.outcomes:
        print(f"question {number}: {outcome.value}")
    if result.opened:
        print(f"{disc.slug} is open")
    if result.released:
        print(f"announcement queued for {result.announced} subscriber(s)")
    failed = any(
        o in (ReleaseOutcome.NO_SUCH_QUESTION, ReleaseOutcome.DISCUSSION_CLOSED)
        for _, o in result.outcomes
    )
    return 1 if failed else 0


def cmd_discussion_close(ctx: Context, args: argparse.Namespace) -> int:
    """Close now; the running service sends the last digest a moment later."""
    disc = ctx.discussion(args.discussion)
    runtime = ctx.runtime()
    with runtime.sessions.begin() as session:
        result = close_discussion(
            session, runtime, disc.slug, ctx.clock(), BY, AuthMethod.CLI
        )
    print(f"{disc.slug}: {result.outcome.value}")
    if result.outcome is StateOutcome.CLOSED:
        print(f"closing announcement queued for {result.announced} subscriber(s)")
        print("the last digest goes out at the service's next round")
    return 0


def cmd_discussion_reopen(ctx: Context, args: argparse.Namespace) -> int:
    """Open a closed discussion again."""
    disc = ctx.discussion(args.discussion)
    runtime = ctx.runtime()
    with runtime.sessions.begin() as session:
        result = reopen_discussion(
            session, runtime, disc.slug, ctx.clock(), BY, AuthMethod.CLI
        )
    print(f"{disc.slug}: {result.outcome.value}")
    return 0 if result.outcome is StateOutcome.REOPENED else 1


def cmd_digest_preview(ctx: Context, args: argparse.Namespace) -> int:
    """Print the subject and text (or the HTML) of a date's digest; exit 1 if none.

    Its size goes to standard error, so that standard output is the digest alone.
    """
    disc = ctx.discussion(args.discussion)
    if args.language not in disc.languages:
        raise CommandError(
            f"no language {args.language!r} in {disc.slug}"
            f" (languages: {', '.join(disc.languages)})",
            2,
        )
    preview = preview_digest(ctx.runtime(), disc.slug, args.date, args.language)
    if preview is None:
        print(f"no digest for {args.date}: nothing new that day", file=sys.stderr)
        return 1
    if args.html:
        sys.stdout.write(preview.html or "")
    else:
        sys.stdout.write(f"Subject: {preview.subject}\n\n{preview.text}")
    print(describe_size(preview, args.date.isoformat()), file=sys.stderr)
    return 0


def describe_size(preview: DigestPreview, day: str) -> str:
    """One line: how large the digest is, against digest.max_bytes, and what was cut."""
    n = preview.posts
    contributions = f"{n} contribution{'' if n == 1 else 's'}"
    if preview.abridged == 0:
        entries = f"{contributions}, all whole"
    elif preview.abridged == n:
        entries = f"{contributions}, all abridged to their first lines"
    else:
        entries = (
            f"{contributions}: {n - preview.abridged} whole, "
            f"{preview.abridged} abridged to their first lines"
        )
    parts = "text and HTML" if preview.html is not None else "text alone"
    verdict = (
        f"within digest.max_bytes {preview.limit:,}"
        if preview.fits
        else f"OVER digest.max_bytes {preview.limit:,} even so"
    )
    return (
        f"digest of {day} in {preview.language}: at most {preview.size:,} bytes "
        f"a copy, {verdict}; {entries}; {parts}"
    )


def cmd_digest_send(ctx: Context, args: argparse.Namespace) -> int:
    """Queue the digest :func:`digest_by_hand` chooses; exit 1 when there is none."""
    disc = ctx.discussion(args.discussion)
    runtime = ctx.runtime()
    now = ctx.clock()
    with runtime.sessions() as session:
        state = load_state(session, disc.slug)
    if state is None:
        raise CommandError(f"{disc.slug} is not in the database yet")
    chosen = digest_by_hand(calendar_of(disc), state.schedule, now, args.date)
    if chosen.window is None:
        raise CommandError(f"no digest sent: {chosen.reason}")
    result = send_digest(runtime, disc, state.discussion_id, chosen.window, now)
    print(
        f"digest {result.label}: {result.posts} post(s), queued for"
        f" {result.queued} digest reader(s); serve (or outbox send) delivers it"
    )
    return 0
