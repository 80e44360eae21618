"""Queries behind the moderators' synthesis report: every approved post with its author's facts.

A post keeps the author's organisation and constituency as they were when it
was made; where it has none, the author's subscriber record (what they said
when signing up) fills them in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from store.models import Discussion, Post, PostStatus, Question, Subscriber


@dataclass(frozen=True)
class ReportPost:
    """One approved post as the report shows it."""

    id: int
    question: int
    parent_id: int | None
    parent_author: str
    author_email: str
    author_name: str
    organisation: str
    constituency: str
    language: str
    body: str
    approved_at: datetime


def report_posts(session: Session, slug: str) -> list[ReportPost]:
    """The approved posts of discussion *slug*, in the order they were approved."""
    parent = aliased(Post)
    stmt = (
        select(
            Post,
            Question.number,
            parent.id,
            parent.author_name,
            Subscriber.organisation,
            Subscriber.constituency,
        )
        .join(Question, Post.question_id == Question.id)
        .join(Discussion, Post.discussion_id == Discussion.id)
        .outerjoin(
            parent,
            (Post.parent_id == parent.id) & (parent.status == PostStatus.APPROVED),
        )
        .outerjoin(Subscriber, func.lower(Subscriber.email) == Post.author_email)
        .where(Discussion.slug == slug, Post.status == PostStatus.APPROVED)
        .order_by(Post.approved_at, Post.id)
    )
    found = []
    for post, number, parent_id, parent_author, org, constituency in session.execute(
        stmt
    ):
        found.append(
            ReportPost(
                id=post.id,
                question=int(number),
                parent_id=parent_id,
                parent_author=parent_author or "",
                author_email=post.author_email,
                author_name=post.author_name,
                organisation=post.organisation or org or "",
                constituency=post.constituency or constituency or "",
                language=post.language,
                body=post.body,
                approved_at=post.approved_at or post.received_at,
            )
        )
    return found
