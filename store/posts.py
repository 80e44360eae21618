"""Queries behind routing received mail: known posts, thread parents, senders, counts.

Results are plain frozen values, so the pure routing code never sees a row.
Addresses are compared in lowercase; posts keep the author's address lowercased.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Select,
    Table,
    bindparam,
    case,
    func,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from store.models import (
    Attachment,
    Ban,
    DeliveryMode,
    Discussion,
    DiscussionState,
    Post,
    PostStatus,
    Question,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from store.prepared import PreparedInsert

MAX_ANCESTRY = 64  # deeper threads are cut here; a loop never walks forever


@dataclass(frozen=True)
class PostRef:
    """A post as threading needs it: ids, its question and its ancestors' Message-IDs."""

    post_id: int
    question_number: int
    message_id: str
    ancestors: tuple[str, ...]


@dataclass(frozen=True)
class SenderRecord:
    """What the store knows of one address in one discussion."""

    banned: bool
    subscribed: bool  # an active, confirmed subscription
    language: str
    approved_posts: int
    recent_posts: int  # posts received since the given time, any status


@dataclass(frozen=True)
class QuestionRow:
    """A question's number and whether (and when) it was released."""

    number: int
    release_at: datetime
    released_at: datetime | None


@dataclass(frozen=True)
class NewAttachment:
    """A file to keep with a new post; ``content`` None when it was not kept."""

    filename: str
    content_type: str
    size: int
    content: bytes | None


@dataclass(frozen=True)
class NewPost:
    """Everything a new post row needs."""

    discussion_id: int
    question_id: int
    parent_id: int | None
    inbound_id: int | None
    message_id: str
    author_email: str
    author_name: str
    language: str
    subject: str
    body: str
    full_text: str
    approved: bool
    hold_reason: str | None
    received_at: datetime
    attachments: Sequence[NewAttachment] = ()


_IDS_IN: BindParameter[list[str]] = bindparam("wanted", expanding=True)
_D: BindParameter[int] = bindparam("discussion_id")
_PARENT = select(Post.message_id, Post.parent_id).where(Post.id == bindparam("post"))
_REFS = select(Post.id, Question.number, Post.message_id, Post.parent_id).join(
    Question, Post.question_id == Question.id
)
_REFS_BY_MID = _REFS.where(Post.discussion_id == _D, Post.message_id.in_(_IDS_IN))
_REF_BY_ID = _REFS.where(Post.discussion_id == _D, Post.id == bindparam("post"))


def _ancestors(connection: Connection, parent_id: int | None) -> tuple[str, ...]:
    """Message-IDs up the parent chain, nearest first; stops at a repeat."""
    chain: list[str] = []
    seen: set[int] = set()
    while parent_id is not None and parent_id not in seen and len(chain) < MAX_ANCESTRY:
        seen.add(parent_id)
        row = connection.execute(_PARENT, {"post": parent_id}).first()
        if row is None:
            break
        chain.append(row[0])
        parent_id = row[1]
    if parent_id is not None and parent_id in seen and chain:
        chain.append(chain[0])  # make the loop visible to the caller
    return tuple(chain)


def _refs(
    session: Session,
    stmt: Select[int, int, str, int | None],
    params: dict[str, Any],
) -> list[PostRef]:
    connection = session.connection()
    return [
        PostRef(post_id, number, mid, _ancestors(connection, parent_id))
        for post_id, number, mid, parent_id in connection.execute(stmt, params).all()
    ]


def posts_by_message_ids(
    session: Session, discussion_id: int, message_ids: Iterable[str]
) -> dict[str, PostRef]:
    """The posts of a discussion whose Message-ID is among *message_ids*."""
    wanted = sorted(set(message_ids))
    if not wanted:
        return {}
    params = {"discussion_id": discussion_id, "wanted": wanted}
    return {ref.message_id: ref for ref in _refs(session, _REFS_BY_MID, params)}


def post_ref(session: Session, discussion_id: int, post_id: int) -> PostRef | None:
    """One post of a discussion by id, or None (gone, or another discussion's)."""
    params = {"discussion_id": discussion_id, "post": post_id}
    refs = _refs(session, _REF_BY_ID, params)
    return refs[0] if refs else None


# Built once: routing asks them for every batch of received mail.
_BANNED = select(func.lower(Ban.email)).where(
    Ban.discussion_id == _D, func.lower(Ban.email).in_(_IDS_IN)
)
# The addresses are found through the index on lower(email), then their
# subscriptions through (discussion_id, subscriber_id). Written as a join,
# SQLite without ANALYZE statistics walks every subscription of the
# discussion instead (an equality on an index's first column looks cheaper).
_SUBSCRIBED = (
    select(func.lower(Subscriber.email), Subscription.status, Subscription.language)
    .join(Subscriber, Subscription.subscriber_id == Subscriber.id)
    .where(
        Subscription.discussion_id == _D,
        Subscription.subscriber_id.in_(
            select(Subscriber.id).where(func.lower(Subscriber.email).in_(_IDS_IN))
        ),
    )
)
_POSTED = (
    select(
        Post.author_email,
        func.sum(case((Post.status == PostStatus.APPROVED, 1), else_=0)),
        func.sum(case((Post.received_at >= bindparam("since"), 1), else_=0)),
    )
    .where(Post.discussion_id == _D, Post.author_email.in_(_IDS_IN))
    .group_by(Post.author_email)
)


def sender_records(
    session: Session, discussion_id: int, emails: Iterable[str], since: datetime
) -> dict[str, SenderRecord]:
    """Ban, subscription, approved posts and posts since *since* of each address.

    Three queries whatever the number of addresses; keys are lowercased.
    """
    wanted = sorted({e.strip().lower() for e in emails if e.strip()})
    if not wanted:
        return {}
    connection = session.connection()
    params = {"discussion_id": discussion_id, "wanted": wanted, "since": since}
    banned = set(connection.execute(_BANNED, params).scalars())
    subs = {
        email: (status, language)
        for email, status, language in connection.execute(_SUBSCRIBED, params)
    }
    posted = {
        email: (int(approved or 0), int(recent or 0))
        for email, approved, recent in connection.execute(_POSTED, params)
    }
    records = {}
    for email in wanted:
        status, language = subs.get(email, (None, ""))
        approved, recent = posted.get(email, (0, 0))
        records[email] = SenderRecord(
            banned=email in banned,
            subscribed=status is SubscriptionStatus.ACTIVE,
            language=language,
            approved_posts=approved,
            recent_posts=recent,
        )
    return records


def sender_record(
    session: Session, discussion_id: int, email: str, since: datetime
) -> SenderRecord:
    """What the store knows of one address (see :func:`sender_records`)."""
    found = sender_records(session, discussion_id, [email], since)
    return found.get(email.strip().lower(), SenderRecord(False, False, "", 0, 0))


def questions_state(session: Session, discussion_id: int) -> list[QuestionRow]:
    """Every question of a discussion with its release state, in number order."""
    rows = session.execute(
        select(Question.number, Question.release_at, Question.released_at)
        .where(Question.discussion_id == discussion_id)
        .order_by(Question.number)
    ).all()
    return [QuestionRow(n, at, released) for n, at, released in rows]


def question_id(session: Session, discussion_id: int, number: int) -> int | None:
    """The row id of question *number* of a discussion, or None."""
    return session.scalar(
        select(Question.id).where(
            Question.discussion_id == discussion_id, Question.number == number
        )
    )


def discussion_closed(session: Session, discussion_id: int) -> bool:
    """True once the discussion is closed (by schedule or by a moderator)."""
    state = session.scalar(
        select(Discussion.state).where(Discussion.id == discussion_id)
    )
    return state is DiscussionState.CLOSED


_POSTS = cast(Table, Post.__table__)


def _author_says(column: InstrumentedAttribute[str]) -> ColumnElement[str]:
    """What the author gave for *column* when signing up ('' when not a subscriber)."""
    said = select(column).where(Subscriber.email == bindparam("author_key"))
    return func.coalesce(said.scalar_subquery(), "")


# A post keeps the organisation and constituency its author signed up with.
_INSERT_POST = PreparedInsert(
    _POSTS.insert()
    .values(
        organisation=_author_says(Subscriber.organisation),
        constituency=_author_says(Subscriber.constituency),
    )
    .returning(_POSTS.c.id),
    (
        "discussion_id",
        "question_id",
        "parent_id",
        "inbound_id",
        "message_id",
        "author_email",
        "author_key",
        "author_name",
        "language",
        "subject",
        "body",
        "full_text",
        "status",
        "hold_reason",
        "received_at",
        "approved_at",
    ),
)
_INSERT_ATTACHMENT = cast(Table, Attachment.__table__).insert()


def add_post(session: Session, new: NewPost) -> int:
    """Insert a post and its attachments; returns the post id. The caller commits.

    Plain INSERTs, not the ORM's unit of work: a received message is one post,
    and this runs for every one of them inside the writer's transaction.
    """
    values = {
        "discussion_id": new.discussion_id,
        "question_id": new.question_id,
        "parent_id": new.parent_id,
        "inbound_id": new.inbound_id,
        "message_id": new.message_id,
        "author_email": new.author_email.strip().lower(),
        "author_key": new.author_email.strip().lower(),
        "author_name": new.author_name[:200],
        "language": new.language[:8],
        "subject": new.subject,
        "body": new.body,
        "full_text": new.full_text,
        "status": PostStatus.APPROVED if new.approved else PostStatus.HELD,
        "hold_reason": new.hold_reason,
        "received_at": new.received_at,
        "approved_at": new.received_at if new.approved else None,
    }
    connection = session.connection()
    post_id = _INSERT_POST.scalar(connection, values)
    assert post_id is not None
    if new.attachments:
        connection.execute(
            _INSERT_ATTACHMENT,
            [
                {
                    "post_id": post_id,
                    "filename": a.filename[:255],
                    "content_type": a.content_type[:255],
                    "size": a.size,
                    "content": a.content,
                }
                for a in new.attachments
            ],
        )
    return int(post_id)


_READERS = (
    select(Subscription.id)
    .where(
        Subscription.discussion_id == _D,
        Subscription.status == SubscriptionStatus.ACTIVE,
        Subscription.mode.in_(bindparam("modes", expanding=True)),
    )
    .limit(1)
)


def has_readers(
    session: Session, discussion_id: int, modes: Sequence[DeliveryMode]
) -> bool:
    """True when some active subscription of the discussion is in one of *modes*."""
    params = {"discussion_id": discussion_id, "modes": list(modes)}
    return session.connection().execute(_READERS, params).first() is not None


def post_counts(session: Session, discussion_id: int) -> dict[str, int]:
    """How many posts a discussion has in each status."""
    rows = session.execute(
        select(Post.status, func.count(Post.id))
        .where(Post.discussion_id == discussion_id)
        .group_by(Post.status)
    ).all()
    return {status.value: int(n) for status, n in rows}


def recent_window(now: datetime) -> datetime:
    """The start of the posting-rate window ending at *now*."""
    return now - timedelta(hours=1)


def held_with_reason(
    session: Session, discussion_id: int, email: str, reason: str, since: datetime
) -> set[int]:
    """The questions (ids) where *email* has a post held for *reason* since *since*.

    *reason* is one of the reasons a hold names (``hold_reason`` joins them
    with "; "); a moderator's later decision does not matter: it was held once.
    """
    rows = session.execute(
        select(Post.question_id)
        .where(
            Post.discussion_id == discussion_id,
            Post.author_email == email.strip().lower(),
            Post.received_at >= since,
            Post.hold_reason.contains(reason, autoescape=True),
        )
        .distinct()
    ).scalars()
    return set(rows)
