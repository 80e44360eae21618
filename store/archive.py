"""Read-only queries behind the web archive: approved posts only, as plain values.

Every query filters on the discussion's slug and on ``PostStatus.APPROVED``, so
a held, rejected or foreign post cannot be reached by guessing an id. Results
are frozen dataclasses, safe to hand to templates after the session closed.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, selectinload

from store.models import (
    Attachment,
    DeliveryMode,
    Discussion,
    DiscussionState,
    Post,
    PostStatus,
    Question,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Token,
    TokenPurpose,
)


@dataclass(frozen=True)
class QuestionProgress:
    """A question's runtime state and its number of approved posts."""

    number: int
    week: int
    release_at: datetime
    released_at: datetime | None
    approved: int


@dataclass(frozen=True)
class DiscussionView:
    """A discussion's runtime state and its questions, for the discussion page."""

    slug: str
    state: DiscussionState
    opened_at: datetime | None
    closed_at: datetime | None
    questions: tuple[QuestionProgress, ...]

    def question(self, number: int) -> QuestionProgress | None:
        """The question numbered *number*, or None."""
        return next((q for q in self.questions if q.number == number), None)


@dataclass(frozen=True)
class ArchiveAttachment:
    """An attachment as listed under a post (content not loaded)."""

    id: int
    filename: str
    content_type: str
    size: int
    kept: bool


@dataclass(frozen=True)
class ArchivePost:
    """An approved post as the archive shows it (no email address inside)."""

    id: int
    question: int
    parent_id: int | None  # None also when the parent is not approved
    message_id: str
    author_name: str
    organisation: str
    constituency: str
    subject: str
    body: str
    full_text: str
    received_at: datetime
    approved_at: datetime | None
    attachments: tuple[ArchiveAttachment, ...]
    language: str = ""  # as the message said or was guessed; "" when unclear
    by_moderator: bool = False  # written by one of the *moderators* asked about


@dataclass(frozen=True)
class AttachmentFile:
    """One kept attachment's bytes, for download."""

    filename: str
    content_type: str
    content: bytes


def discussion_state(session: Session, slug: str) -> DiscussionView | None:
    """The discussion *slug* with its questions and approved-post counts, or None."""
    disc = session.scalar(select(Discussion).where(Discussion.slug == slug))
    if disc is None:
        return None
    counts = dict(
        session.execute(
            select(Post.question_id, func.count(Post.id))
            .where(Post.discussion_id == disc.id, Post.status == PostStatus.APPROVED)
            .group_by(Post.question_id)
        ).all()
    )
    questions = session.scalars(
        select(Question)
        .where(Question.discussion_id == disc.id)
        .order_by(Question.number)
    )
    return DiscussionView(
        slug=disc.slug,
        state=disc.state,
        opened_at=disc.opened_at,
        closed_at=disc.closed_at,
        questions=tuple(
            QuestionProgress(
                q.number, q.week, q.release_at, q.released_at, int(counts.get(q.id, 0))
            )
            for q in questions
        ),
    )


def approved_participants(session: Session, slug: str) -> int:
    """How many different people (by address) have an approved post in *slug*."""
    found = session.scalar(
        select(func.count(func.distinct(func.lower(Post.author_email))))
        .join(Discussion, Post.discussion_id == Discussion.id)
        .where(Discussion.slug == slug, Post.status == PostStatus.APPROVED)
    )
    return int(found or 0)


def approved_posts(
    session: Session,
    slug: str,
    *,
    question: int | None = None,
    ids: Collection[int] | None = None,
    newest_first: bool = False,
    limit: int | None = None,
    moderators: Collection[str] = (),
) -> list[ArchivePost]:
    """Approved posts of discussion *slug* (of one question, or these *ids*), by arrival.

    A post whose author's address is one of *moderators* is marked
    ``by_moderator``; the address itself never leaves the store.
    """
    mods = frozenset(m.strip().lower() for m in moderators)
    parent = aliased(Post)
    stmt = (
        select(Post, Question.number, parent.id)
        .join(Question, Post.question_id == Question.id)
        .join(Discussion, Post.discussion_id == Discussion.id)
        .outerjoin(
            parent,
            (Post.parent_id == parent.id) & (parent.status == PostStatus.APPROVED),
        )
        .where(Discussion.slug == slug, Post.status == PostStatus.APPROVED)
        .options(selectinload(Post.attachments))
    )
    if question is not None:
        stmt = stmt.where(Question.number == question)
    if ids is not None:
        stmt = stmt.where(Post.id.in_(list(ids)))
    order = (
        (Post.received_at.desc(), Post.id.desc())
        if newest_first
        else (
            Post.received_at,
            Post.id,
        )
    )
    stmt = stmt.order_by(*order)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        _archive_post(post, number, parent_id, mods)
        for post, number, parent_id in session.execute(stmt).all()
    ]


def _archive_post(
    post: Post, number: int, parent_id: int | None, moderators: frozenset[str]
) -> ArchivePost:
    return ArchivePost(
        id=post.id,
        question=number,
        parent_id=parent_id,
        message_id=post.message_id,
        author_name=post.author_name,
        organisation=post.organisation,
        constituency=post.constituency,
        subject=post.subject,
        body=post.body,
        full_text=post.full_text,
        received_at=post.received_at,
        approved_at=post.approved_at,
        attachments=tuple(
            ArchiveAttachment(
                a.id, a.filename, a.content_type, a.size, a.content is not None
            )
            for a in post.attachments
        ),
        language=post.language or "",
        by_moderator=post.author_email.strip().lower() in moderators,
    )


@dataclass(frozen=True)
class PostLink:
    """An approved post's id and its approved parent's id (for thread order)."""

    id: int
    parent_id: int | None


def approved_links(session: Session, slug: str, question: int) -> list[PostLink]:
    """Ids and visible parents of one question's approved posts, by arrival."""
    parent = aliased(Post)
    stmt = (
        select(Post.id, parent.id)
        .join(Question, Post.question_id == Question.id)
        .join(Discussion, Post.discussion_id == Discussion.id)
        .outerjoin(
            parent,
            (Post.parent_id == parent.id) & (parent.status == PostStatus.APPROVED),
        )
        .where(
            Discussion.slug == slug,
            Post.status == PostStatus.APPROVED,
            Question.number == question,
        )
        .order_by(Post.received_at, Post.id)
    )
    return [PostLink(pid, parent_id) for pid, parent_id in session.execute(stmt).all()]


def approved_post_question(session: Session, slug: str, post_id: int) -> int | None:
    """The question number of approved post *post_id* of *slug*, or None."""
    stmt = (
        select(Question.number)
        .join(Post, Post.question_id == Question.id)
        .join(Discussion, Post.discussion_id == Discussion.id)
        .where(
            Discussion.slug == slug,
            Post.id == post_id,
            Post.status == PostStatus.APPROVED,
        )
    )
    return session.scalar(stmt)


def approved_attachment(
    session: Session, slug: str, post_id: int, attachment_id: int
) -> AttachmentFile | None:
    """A kept attachment of an approved post of *slug*, or None."""
    stmt = (
        select(Attachment)
        .join(Post, Attachment.post_id == Post.id)
        .join(Discussion, Post.discussion_id == Discussion.id)
        .where(
            Discussion.slug == slug,
            Post.id == post_id,
            Post.status == PostStatus.APPROVED,
            Attachment.id == attachment_id,
        )
    )
    row = session.scalar(stmt)
    if row is None or row.content is None:
        return None
    return AttachmentFile(row.filename, row.content_type, row.content)


@dataclass(frozen=True)
class SubscriptionView:
    """What an unsubscribe or manage page needs to know of one subscription."""

    id: int
    slug: str
    language: str
    status: SubscriptionStatus
    email: str = ""
    mode: DeliveryMode = DeliveryMode.EACH
    link_generation: int = 0


def subscription_view(
    session: Session, subscription_id: int
) -> SubscriptionView | None:
    """The subscription *subscription_id* with its discussion's slug, or None."""
    row = session.execute(
        select(Subscription, Discussion.slug, Subscriber.email)
        .join(Discussion, Subscription.discussion_id == Discussion.id)
        .join(Subscriber, Subscription.subscriber_id == Subscriber.id)
        .where(Subscription.id == subscription_id)
    ).first()
    if row is None:
        return None
    sub, slug, email = row
    return SubscriptionView(
        sub.id, slug, sub.language, sub.status, email, sub.mode, sub.link_generation
    )


@dataclass(frozen=True)
class TokenView:
    """What a confirmation page needs to know of a one-time token."""

    purpose: TokenPurpose
    slug: str | None
    language: str | None
    usable: bool


def token_view(session: Session, token_hash: str, now: datetime) -> TokenView | None:
    """The token whose hash is *token_hash*, or None; ``usable`` if unused and unexpired."""
    row = session.execute(
        select(Token, Discussion.slug)
        .outerjoin(Discussion, Token.discussion_id == Discussion.id)
        .where(Token.token_hash == token_hash)
    ).first()
    if row is None:
        return None
    token, slug = row
    language: str | None = None
    try:
        payload = json.loads(token.payload or "{}")
        if isinstance(payload, dict) and isinstance(payload.get("language"), str):
            language = payload["language"]
    except ValueError:
        pass
    usable = token.used_at is None and token.expires_at > now
    return TokenView(token.purpose, slug, language, usable)


def discussion_slugs(session: Session) -> Sequence[str]:
    """Every discussion's slug, in creation order."""
    return list(session.scalars(select(Discussion.slug).order_by(Discussion.id)))
