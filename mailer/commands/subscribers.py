"""``ediscuss subscribers list|export|import|add|remove|stats``: subscribers for operators.

``import`` and ``add`` need an explicit choice: ``--confirmed`` (the operator
vouches that these people agreed: active at once, no mail) or
``--send-confirmation`` (each new address gets the double opt-in mail).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailer.commands.base import (
    CommandError,
    Context,
    Subparsers,
    add_discussion_option,
)
from mailer.config.settings import SUPPORTED_LANGUAGES
from mailer.core.choices import SignupSource, UnsubscribeVia
from mailer.subscriptions import (
    InvalidAddress,
    InvalidValue,
    SignupForm,
    normalise_address,
    request_subscription,
    unsubscribe_subscription,
)
from mailer.subscriptions.imports import (
    COLUMNS,
    UnusableFile,
    count_rows,
    import_subscribers,
)
from store.discussions import discussion_by_slug
from store.models import DeliveryMode, SubscriptionStatus
from store.subscribers import (
    iter_subscriptions,
    subscription_by_email,
    subscription_counts,
)

if TYPE_CHECKING:
    from tqdm import tqdm

PROGRESS_FROM_ROWS = 1000  # smaller files are done before a bar is worth drawing


def register(sub: Subparsers) -> None:
    """Add the ``subscribers`` group."""
    s = sub.add_parser("subscribers", help="subscribers of a discussion")
    ssub = s.add_subparsers(dest="subscribers_command", metavar="ACTION", required=True)

    p = ssub.add_parser("list", help="list subscriptions")
    add_discussion_option(p)
    p.add_argument(
        "--status",
        choices=[s.value for s in SubscriptionStatus],
        help="only subscriptions in this state",
    )
    p.set_defaults(handler=cmd_subscribers_list)

    p = ssub.add_parser("export", help="write subscriptions as CSV to standard output")
    add_discussion_option(p)
    p.set_defaults(handler=cmd_subscribers_export)

    p = ssub.add_parser(
        "import", help="import subscribers from a CSV file (columns as export writes)"
    )
    p.add_argument(
        "file", type=Path, metavar="FILE.csv", help="columns as export writes them"
    )
    add_discussion_option(p)
    _consent(p)
    p.add_argument(
        "--dry-run", action="store_true", help="check every row, change nothing"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_subscribers_import)

    p = ssub.add_parser("add", help="subscribe one address")
    p.add_argument("email", help="the address to subscribe")
    add_discussion_option(p)
    p.add_argument("--name", default="", help="the subscriber's name")
    p.add_argument("--organisation", default="", help="their organisation")
    p.add_argument(
        "--constituency", default="", help="their group (government, NGO, ...)"
    )
    p.add_argument(
        "--language",
        choices=SUPPORTED_LANGUAGES,
        help="the language of their mail (default: the discussion's)",
    )
    p.add_argument(
        "--mode",
        choices=[m.value for m in DeliveryMode],
        help="every post, a daily digest, or announcements only (default: each)",
    )
    _consent(p)
    p.set_defaults(handler=cmd_subscribers_add)

    p = ssub.add_parser("remove", help="unsubscribe one address at once (no mail)")
    p.add_argument("email", help="the address to unsubscribe")
    add_discussion_option(p)
    p.set_defaults(handler=cmd_subscribers_remove)

    p = ssub.add_parser("stats", help="subscriptions by status, language, mode, group")
    add_discussion_option(p)
    p.set_defaults(handler=cmd_subscribers_stats)


def _consent(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "--confirmed",
        action="store_true",
        help="they agreed elsewhere: active at once, no mail",
    )
    group.add_argument(
        "--send-confirmation",
        action="store_true",
        help="send each new address the double opt-in mail",
    )


def _discussion_id(ctx: Context, slug: str) -> int:
    with ctx.runtime().sessions() as session:
        row = discussion_by_slug(session, slug)
    if row is None:
        raise CommandError(f"no discussion {slug!r} in the database")
    return row.id


def cmd_subscribers_list(ctx: Context, args: argparse.Namespace) -> int:
    """One line per subscription, by address."""
    disc = ctx.discussion(args.discussion)
    discussion_id = _discussion_id(ctx, disc.slug)
    status = SubscriptionStatus(args.status) if args.status else None
    count = 0
    with ctx.runtime().sessions() as session:
        for sub, person in iter_subscriptions(session, discussion_id, status):
            count += 1
            print(
                f"{person.email:<40} {sub.status.value:<12} {sub.mode.value:<13} "
                f"{sub.language:<3} {person.constituency or '-':<20} "
                f"{person.organisation}".rstrip()
            )
    print(f"{count} subscription(s)", file=sys.stderr)
    return 0


def cmd_subscribers_export(ctx: Context, args: argparse.Namespace) -> int:
    """CSV with a header row: the columns ``subscribers import`` reads."""
    disc = ctx.discussion(args.discussion)
    discussion_id = _discussion_id(ctx, disc.slug)
    writer = csv.writer(sys.stdout)
    writer.writerow(COLUMNS)
    with ctx.runtime().sessions() as session:
        for sub, person in iter_subscriptions(session, discussion_id):
            writer.writerow(
                [
                    person.email,
                    person.name,
                    person.organisation,
                    person.constituency,
                    sub.language,
                    sub.mode.value,
                    sub.status.value,
                    sub.confirmed_at.isoformat() if sub.confirmed_at else "",
                ]
            )
    return 0


def cmd_subscribers_import(ctx: Context, args: argparse.Namespace) -> int:
    """Check every row, import the good ones, report the others.

    Exit 0 when every row was good, 1 when some were reported (the others are
    imported), 2 when the file cannot be read at all.
    """
    disc = ctx.discussion(args.discussion)
    try:
        text = args.file.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"{args.file}: {exc}", exit_code=2) from exc
    total = count_rows(text)
    runtime = ctx.runtime()
    show = not args.no_progress and total >= PROGRESS_FROM_ROWS
    from tqdm import tqdm  # only an import shows progress: serve never loads it

    with tqdm(
        total=total,
        unit="row",
        file=sys.stderr,
        disable=None if show else True,
        desc=args.file.name,
    ) as bar:
        try:
            report = import_subscribers(
                runtime,
                disc.slug,
                io.StringIO(text),
                confirmed=args.confirmed,
                dry_run=args.dry_run,
                on_row=lambda: _tick(bar),
            )
        except UnusableFile as exc:
            raise CommandError(f"{args.file}: {exc}", exit_code=2) from exc
    for warning in report.warnings:
        print(f"{args.file}: warning: {warning}", file=sys.stderr)
    for problem in report.problems:
        print(f"{args.file}: {problem}", file=sys.stderr)
    bad = len({p.line for p in report.problems})
    done = ", ".join(f"{n} {what}" for what, n in sorted(report.outcomes.items()))
    verb = "checked" if args.dry_run else "read"
    print(
        f"{report.rows} row(s) {verb}: {done or 'none imported'}"
        + (f"; {bad} row(s) with problems, not imported" if bad else "")
    )
    return 1 if bad else 0


def _tick(bar: tqdm[Any]) -> None:
    bar.update(1)


def cmd_subscribers_add(ctx: Context, args: argparse.Namespace) -> int:
    """Subscribe one address: confirmed at once, or sent a confirmation."""
    disc = ctx.discussion(args.discussion)
    runtime = ctx.runtime()
    try:
        with runtime.sessions.begin() as session:
            form = SignupForm(
                args.email,
                name=args.name,
                organisation=args.organisation,
                constituency=args.constituency,
                language=args.language,
                mode=args.mode,
                source=SignupSource.CLI,
                confirmed=args.confirmed,
            )
            result = request_subscription(
                session, runtime, disc.slug, form, runtime.clock()
            )
    except (InvalidAddress, InvalidValue) as exc:
        raise CommandError(str(exc), exit_code=2) from exc
    print(f"{result.email}: {result.outcome.value}")
    return 0


def cmd_subscribers_remove(ctx: Context, args: argparse.Namespace) -> int:
    """Unsubscribe one address now, without a mail; exit 1 when it is not subscribed."""
    disc = ctx.discussion(args.discussion)
    discussion_id = _discussion_id(ctx, disc.slug)
    try:
        email = normalise_address(args.email)
    except InvalidAddress as exc:
        raise CommandError(str(exc), exit_code=2) from exc
    runtime = ctx.runtime()
    with runtime.sessions.begin() as session:
        sub = subscription_by_email(session, discussion_id, email)
        if sub is None:
            raise CommandError(f"{email} is not subscribed to {disc.slug}")
        outcome = unsubscribe_subscription(
            session, runtime, sub.id, runtime.clock(), UnsubscribeVia.CLI
        )
    print(f"{email}: {outcome.value}")
    return 0


def cmd_subscribers_stats(ctx: Context, args: argparse.Namespace) -> int:
    """Subscriptions by status, and the active ones by language, mode and group."""
    disc = ctx.discussion(args.discussion)
    discussion_id = _discussion_id(ctx, disc.slug)
    with ctx.runtime().sessions() as session:
        counts = subscription_counts(session, discussion_id)

    def line(title: str, values: dict[str, int]) -> None:
        pairs = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
        text = ", ".join(f"{k or '-'} {n}" for k, n in pairs) or "none"
        print(f"{title:<16} {text}")

    line("by status", dict(counts.by_status))
    line("active, language", dict(counts.by_language))
    line("active, mode", dict(counts.by_mode))
    line("active, group", dict(counts.by_constituency))
    return 0
