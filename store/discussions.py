"""Queries over discussions and questions: keeping the runtime rows in step with the config."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Discussion, Question


@dataclass(frozen=True)
class QuestionSpec:
    """What the configuration says of one question: its number, week and release time."""

    number: int
    week: int
    release_at: datetime


@dataclass(frozen=True)
class DiscussionSpec:
    """What the configuration says of one discussion's schedule."""

    slug: str
    questions: Sequence[QuestionSpec]


def sync_discussions(
    session: Session, specs: Iterable[DiscussionSpec], now: datetime
) -> None:
    """Create missing discussion and question rows and update their schedule.

    Runtime state (released, closed) is never touched: a restart loses nothing.
    """
    for spec in specs:
        disc = session.scalar(select(Discussion).where(Discussion.slug == spec.slug))
        if disc is None:
            disc = Discussion(slug=spec.slug, created_at=now)
            session.add(disc)
            session.flush()
        existing = {q.number: q for q in disc.questions}
        for qs in spec.questions:
            row = existing.get(qs.number)
            if row is None:
                session.add(
                    Question(
                        discussion_id=disc.id,
                        number=qs.number,
                        week=qs.week,
                        release_at=qs.release_at,
                    )
                )
            else:
                row.week = qs.week
                row.release_at = qs.release_at
    session.flush()


def discussion_by_slug(session: Session, slug: str) -> Discussion | None:
    """The discussion row for *slug*, or None."""
    return session.scalar(select(Discussion).where(Discussion.slug == slug))


def questions_of(session: Session, slug: str) -> list[Question]:
    """The questions of discussion *slug*, in number order."""
    stmt = (
        select(Question)
        .join(Discussion)
        .where(Discussion.slug == slug)
        .order_by(Question.number)
    )
    return list(session.scalars(stmt))
