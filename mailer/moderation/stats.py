"""Counts a moderator asks for: posts by status, question and day; subscribers by kind."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailer.moderation.audit import recent_audit
from store.models import (
    Post,
    PostStatus,
    Question,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)

DAYS = 14  # posts per day over the last two weeks


@dataclass(frozen=True)
class SubscriberCounts:
    """Subscriptions of one discussion counted four ways."""

    total: int
    by_status: tuple[tuple[str, int], ...]
    by_language: tuple[tuple[str, int], ...]
    by_mode: tuple[tuple[str, int], ...]
    by_constituency: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class QuestionCount:
    """Posts under one question, by status."""

    number: int
    approved: int
    held: int
    rejected: int


@dataclass(frozen=True)
class ActionLine:
    """One audit entry as a moderator reads it."""

    at: datetime
    actor: str
    action: str
    target: str
    auth: str


@dataclass(frozen=True)
class Stats:
    """What ``stats`` answers."""

    posts_total: int
    posts_by_status: tuple[tuple[str, int], ...]
    posts_by_question: tuple[QuestionCount, ...]
    posts_by_day: tuple[tuple[date, int], ...]
    subscribers: SubscriberCounts
    last_actions: tuple[ActionLine, ...]


def _sorted(rows: Sequence[Any]) -> tuple[tuple[str, int], ...]:
    pairs = [
        (str(k.value if hasattr(k, "value") else k) or "-", int(n)) for k, n in rows
    ]
    return tuple(sorted(pairs, key=lambda p: (-p[1], p[0])))


def subscriber_counts(session: Session, discussion_id: int) -> SubscriberCounts:
    """Subscriptions by status (all), and active ones by language, mode and constituency."""
    base = (
        select(func.count())
        .select_from(Subscription)
        .where(Subscription.discussion_id == discussion_id)
    )
    total = int(session.scalar(base) or 0)

    def grouped(column: Any, active_only: bool = True) -> tuple[tuple[str, int], ...]:
        stmt = (
            select(column, func.count())
            .select_from(Subscription)
            .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
            .where(Subscription.discussion_id == discussion_id)
            .group_by(column)
        )
        if active_only:
            stmt = stmt.where(Subscription.status == SubscriptionStatus.ACTIVE)
        return _sorted(session.execute(stmt).all())

    return SubscriberCounts(
        total=total,
        by_status=grouped(Subscription.status, active_only=False),
        by_language=grouped(Subscription.language),
        by_mode=grouped(Subscription.mode),
        by_constituency=grouped(Subscriber.constituency),
    )


def discussion_stats(
    session: Session, discussion_id: int, slug: str, now: datetime
) -> Stats:
    """Every count of ``stats`` for one discussion, read in the caller's transaction."""
    by_status = session.execute(
        select(Post.status, func.count())
        .where(Post.discussion_id == discussion_id)
        .group_by(Post.status)
    ).all()
    per_question: dict[int, dict[str, int]] = {}
    rows = session.execute(
        select(Question.number, Post.status, func.count())
        .join(Question, Question.id == Post.question_id)
        .where(Post.discussion_id == discussion_id)
        .group_by(Question.number, Post.status)
    ).all()
    for number, status, n in rows:
        per_question.setdefault(int(number), {})[status.value] = int(n)
    since = now - timedelta(days=DAYS)
    received = session.scalars(
        select(Post.received_at).where(
            Post.discussion_id == discussion_id, Post.received_at >= since
        )
    ).all()
    days: dict[date, int] = {}
    for at in received:
        days[at.date()] = days.get(at.date(), 0) + 1
    actions = tuple(
        ActionLine(e.at, e.actor, e.action, e.target, e.auth)
        for e, _ in recent_audit(session, slug, limit=10)
    )
    return Stats(
        posts_total=sum(int(n) for _, n in by_status),
        posts_by_status=_sorted(by_status),
        posts_by_question=tuple(
            QuestionCount(
                number,
                counts.get(PostStatus.APPROVED.value, 0),
                counts.get(PostStatus.HELD.value, 0),
                counts.get(PostStatus.REJECTED.value, 0),
            )
            for number, counts in sorted(per_question.items())
        ),
        posts_by_day=tuple(sorted(days.items())),
        subscribers=subscriber_counts(session, discussion_id),
        last_actions=actions,
    )
