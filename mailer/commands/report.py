"""``ediscuss report``: the moderators' synthesis pack, written to a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from mailer.commands.base import Context, Subparsers
from mailer.synthesis import load_report, write_report
from mailer.synthesis.labels import LABELS


def register(sub: Subparsers) -> None:
    """Add ``report``."""
    p = sub.add_parser(
        "report",
        help="write the synthesis report (HTML, Markdown, PNG chart) of a discussion",
        description=(
            "Per question, the published contributions in order with their authors "
            "and constituencies; counts by constituency and by language; "
            "participation per day as a chart. Written as report.html (chart "
            "embedded), report.md and participation.png."
        ),
    )
    p.add_argument(
        "--discussion", metavar="SLUG", help="the discussion (default: the only one)"
    )
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="the folder to write to (default: ./report-SLUG)",
    )
    p.add_argument(
        "--language",
        choices=sorted(LABELS),
        help="the report's language (default: the discussion's)",
    )
    p.set_defaults(handler=cmd_report)


def cmd_report(ctx: Context, args: argparse.Namespace) -> int:
    """Write the report and say where."""
    discussion = ctx.discussion(args.discussion)
    language = args.language or (
        discussion.default_language if discussion.default_language in LABELS else "en"
    )
    report = load_report(ctx.runtime(), discussion, language)
    files = write_report(report, args.out or Path(f"report-{discussion.slug}"))
    print(f"{report.total} contributions by {report.participants} participants")
    for path in (files.html, files.markdown, files.chart):
        print(f"  {path}")
    return 0
