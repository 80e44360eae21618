"""``ediscuss audit`` and ``ediscuss posts held|approve|reject``: moderation from a shell.

The operator's actions go through the same code as the moderators' mail and
are audited with ``auth = cli``; the actor is ``operator:<user>``.
"""

from __future__ import annotations

import argparse

from sqlalchemy import select

from mailer.commands.base import (
    CommandError,
    Context,
    Subparsers,
    add_discussion_option,
)
from mailer.core.modauth import AuthMethod
from mailer.core.modcommands import Command, Verb
from mailer.mailings import MAILING_CALLS
from mailer.moderation import Actor, recent_audit, run_commands
from store.models import Discussion as DiscussionRow
from store.models import Post, PostStatus, Question


def register(sub: Subparsers) -> None:
    """Add ``audit`` and ``posts held|approve|reject``."""
    audit = sub.add_parser("audit", help="show the audit log, newest first")
    audit.add_argument("--discussion", metavar="SLUG", help="only this discussion")
    audit.add_argument("--limit", type=int, default=50, help="entries (default 50)")
    audit.set_defaults(handler=cmd_audit)

    posts = sub.add_parser("posts", help="the moderation queue")
    psub = posts.add_subparsers(dest="posts_command", metavar="ACTION", required=True)
    held = psub.add_parser("held", help="list held posts")
    add_discussion_option(held)
    held.set_defaults(handler=cmd_posts_held)
    approve = psub.add_parser("approve", help="approve and publish a held post")
    approve.add_argument("post_id", type=int, metavar="ID", help="the held post")
    add_discussion_option(approve)
    approve.add_argument("--by", help="who acts (default: $USER)")
    approve.set_defaults(handler=cmd_posts_decide, verb=Verb.APPROVE)
    reject = psub.add_parser("reject", help="reject a held post")
    reject.add_argument("post_id", type=int, metavar="ID", help="the held post")
    reject.add_argument("--reason", default="", help='told to the author unless "spam"')
    add_discussion_option(reject)
    reject.add_argument("--by", help="who acts (default: $USER)")
    reject.set_defaults(handler=cmd_posts_decide, verb=Verb.REJECT)


def cmd_audit(ctx: Context, args: argparse.Namespace) -> int:
    """Print audit entries: when, discussion, who, what, target, how authenticated."""
    if args.limit < 1:
        raise CommandError("--limit must be at least 1", 2)
    if args.discussion is not None:
        ctx.discussion(args.discussion)
    runtime = ctx.runtime()
    with runtime.sessions() as session:
        entries = recent_audit(session, args.discussion, args.limit)
    for entry, slug in entries:
        print(
            f"{entry.at:%Y-%m-%d %H:%M:%S} {slug or '-'} {entry.actor} {entry.action}"
            f" {entry.target or '-'} auth={entry.auth or '-'}"
            + (f" {entry.detail}" if entry.detail else "")
        )
    if not entries:
        print("no audit entries")
    return 0


def cmd_posts_held(ctx: Context, args: argparse.Namespace) -> int:
    """List held posts: id, question, sender, why, first words."""
    slug = ctx.discussion(args.discussion).slug
    runtime = ctx.runtime()
    stmt = (
        select(Post, Question.number)
        .join(Question, Question.id == Post.question_id)
        .join(DiscussionRow, DiscussionRow.id == Post.discussion_id)
        .where(DiscussionRow.slug == slug, Post.status == PostStatus.HELD)
        .order_by(Post.id)
    )
    with runtime.sessions() as session:
        rows = session.execute(stmt).all()
    for post, number in rows:
        words = " ".join(post.body.split())[:60]
        print(
            f"{post.id:>6} q{number:<3} {post.author_email} "
            f"[{post.hold_reason or '-'}] {words}"
        )
    print(f"{len(rows)} held post(s)")
    return 0


def cmd_posts_decide(ctx: Context, args: argparse.Namespace) -> int:
    """Approve or reject one post as the operator; exit 1 when nothing changed."""
    discussion = ctx.discussion(args.discussion)
    runtime = ctx.runtime()
    who = args.by or ctx.environ.get("USER", "") or "operator"
    actor = Actor(f"operator:{who}", AuthMethod.CLI)
    verb: Verb = args.verb
    reason = getattr(args, "reason", "")
    line = f"{verb.value} {args.post_id}" + (f" {reason}" if reason else "")
    command = Command.decision(verb, args.post_id, reason, line)
    with runtime.sessions.begin() as session:
        results = run_commands(
            session,
            runtime,
            discussion,
            [command],
            actor,
            runtime.clock(),
            MAILING_CALLS,
        )
    result = results[0]
    p = result.params
    if result.code == "approved":
        print(f"post {args.post_id} approved and published")
    elif result.code == "rejected":
        told = "the author is told" if p.get("notified") else "the author is not told"
        print(f"post {args.post_id} rejected; {told}")
    elif result.code == "no_post":
        raise CommandError(f"no post {args.post_id} in {discussion.slug}")
    else:
        raise CommandError(
            f"post {args.post_id} was already {p.get('status')}"
            f" by {p.get('by') or 'someone'}: nothing changed"
        )
    return 0
