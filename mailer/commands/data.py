"""Read-only views for operators: questions and the posts export."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from typing import Any

from sqlalchemy import select

from mailer.commands.base import Context, Subparsers, add_discussion_option
from mailer.commands.schedule import register_release
from store.discussions import questions_of
from store.models import (
    Discussion,
    Post,
    Question,
)


def register(sub: Subparsers) -> None:
    """Add ``questions list`` (and ``questions release``) and ``export``."""
    q = sub.add_parser("questions", help="the questions and their state")
    qsub = q.add_subparsers(dest="questions_command", metavar="ACTION", required=True)
    p = qsub.add_parser("list", help="list questions with release time and state")
    add_discussion_option(p)
    p.set_defaults(handler=cmd_questions_list)
    register_release(qsub)

    e = sub.add_parser("export", help="export the posts of a discussion")
    add_discussion_option(e)
    e.add_argument(
        "--format", choices=["json"], default="json", help="the output format"
    )
    e.set_defaults(handler=cmd_export)


def cmd_questions_list(ctx: Context, args: argparse.Namespace) -> int:
    """One line per question: number, week, release time, state and text."""
    disc = ctx.discussion(args.discussion)
    runtime = ctx.runtime()
    with runtime.sessions() as session:
        rows = questions_of(session, disc.slug)
    lines = []
    for row in rows:
        conf = disc.question(row.number)
        text = conf.text.in_language(disc.default_language) if conf else ""
        state = (
            f"released {row.released_at:%Y-%m-%d %H:%M}Z"
            if row.released_at
            else "scheduled"
        )
        when = row.release_at.astimezone(disc.time_zone)
        lines.append(
            (
                f"{row.number:>3}",
                f"week {row.week}",
                f"{when:%Y-%m-%d %H:%M %Z}",
                state,
                text,
            )
        )
    widths = [max((len(line[i]) for line in lines), default=0) for i in range(4)]
    room = shutil.get_terminal_size((100, 24)).columns
    for line in lines:
        head = "  ".join(
            cell.ljust(w) for cell, w in zip(line[:4], widths, strict=True)
        )
        print(f"{head}  {ellipsize(line[4], room - len(head) - 2)}")
    return 0


def ellipsize(text: str, width: int) -> str:
    """*text* on one line of at most *width* characters (at least 20), cut with an ellipsis."""
    text = " ".join(text.split())
    width = max(width, 20)
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def export_posts(ctx: Context, slug: str) -> list[dict[str, Any]]:
    """Every post of discussion *slug* with the stable export keys."""
    with ctx.runtime().sessions() as session:
        stmt = (
            select(Post, Question.number)
            .join(Question, Post.question_id == Question.id)
            .join(Discussion, Post.discussion_id == Discussion.id)
            .where(Discussion.slug == slug)
            .order_by(Post.id)
        )
        return [
            {
                "id": post.id,
                "question": number,
                "parent_id": post.parent_id,
                "author_email": post.author_email,
                "author_name": post.author_name,
                "subject": post.subject,
                "body": post.body,
                "status": post.status.value,
                "message_id": post.message_id,
                "received_at": post.received_at.isoformat(),
            }
            for post, number in session.execute(stmt).all()
        ]


def cmd_export(ctx: Context, args: argparse.Namespace) -> int:
    """Print the posts as a JSON list."""
    disc = ctx.discussion(args.discussion)
    json.dump(export_posts(ctx, disc.slug), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0
