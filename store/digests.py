"""Queries behind the timetable and the daily digest: state, digest runs, posts of a window.

A digest run's window is fixed by the first node that starts it
(``INSERT ... ON CONFLICT DO NOTHING`` on the discussion and label), so a run
fired twice, or resumed after a crash, sends the same posts under the same
dedupe keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased

from store.models import (
    DigestRun,
    Discussion,
    DiscussionState,
    Post,
    PostStatus,
    Question,
)
from store.writes import conflict_insert


@dataclass(frozen=True)
class RunRecord:
    """A digest run as stored: its label, local date and window."""

    id: int
    label: str
    digest_date: date
    since: datetime | None
    until: datetime
    final: bool
    finished: bool


@dataclass(frozen=True)
class TimetableState:
    """A discussion's runtime state as the timetable needs it."""

    discussion_id: int
    state: DiscussionState
    released: frozenset[int]
    opened_at: datetime | None
    closed_at: datetime | None
    last_finished: RunRecord | None
    unfinished: RunRecord | None


@dataclass(frozen=True)
class DigestPostRow:
    """An approved post of a digest window, with its question number and parent's author."""

    id: int
    question: int
    parent_id: int | None
    author_name: str
    organisation: str
    constituency: str
    body: str
    approved_at: datetime
    parent_author: str


def _record(run: DigestRun) -> RunRecord:
    return RunRecord(
        run.id,
        run.label,
        run.digest_date,
        run.since,
        run.until,
        run.final,
        run.finished_at is not None,
    )


def timetable_state(session: Session, slug: str) -> TimetableState | None:
    """The state of discussion *slug*, or None when it has no row yet."""
    disc = session.scalar(select(Discussion).where(Discussion.slug == slug))
    if disc is None:
        return None
    released = frozenset(
        session.scalars(
            select(Question.number).where(
                Question.discussion_id == disc.id, Question.released_at.is_not(None)
            )
        )
    )
    last = session.scalar(
        select(DigestRun)
        .where(DigestRun.discussion_id == disc.id, DigestRun.finished_at.is_not(None))
        .order_by(DigestRun.until.desc(), DigestRun.id.desc())
        .limit(1)
    )
    unfinished = session.scalar(
        select(DigestRun)
        .where(DigestRun.discussion_id == disc.id, DigestRun.finished_at.is_(None))
        .order_by(DigestRun.until, DigestRun.id)
        .limit(1)
    )
    return TimetableState(
        disc.id,
        disc.state,
        released,
        disc.opened_at,
        disc.closed_at,
        _record(last) if last is not None else None,
        _record(unfinished) if unfinished is not None else None,
    )


def start_run(
    session: Session,
    discussion_id: int,
    *,
    label: str,
    digest_date: date,
    since: datetime | None,
    until: datetime,
    final: bool,
    now: datetime,
) -> RunRecord:
    """The run labelled *label*: created now, or the one another node started first."""
    values = {
        "discussion_id": discussion_id,
        "label": label,
        "digest_date": digest_date,
        "since": since,
        "until": until,
        "final": final,
        "started_at": now,
        "posts": 0,
        "recipients": 0,
    }
    session.execute(
        conflict_insert(session, DigestRun)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["discussion_id", "label"])
    )
    run = session.scalars(
        select(DigestRun)
        .where(DigestRun.discussion_id == discussion_id, DigestRun.label == label)
        .execution_options(populate_existing=True)
    ).one()
    return _record(run)


def finish_run(
    session: Session, run_id: int, *, posts: int, recipients: int, now: datetime
) -> None:
    """Record that every digest of the run is queued; the discussion remembers when."""
    run = session.get(DigestRun, run_id)
    if run is None:
        return
    session.execute(
        update(DigestRun)
        .where(DigestRun.id == run_id, DigestRun.finished_at.is_(None))
        .values(finished_at=now, posts=posts, recipients=recipients)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Discussion)
        .where(
            Discussion.id == run.discussion_id,
            (Discussion.last_digest_at.is_(None))
            | (Discussion.last_digest_at < run.until),
        )
        .values(last_digest_at=run.until)
        .execution_options(synchronize_session=False)
    )


def run_by_label(session: Session, discussion_id: int, label: str) -> RunRecord | None:
    """The digest run labelled *label*, if there was one."""
    run = session.scalar(
        select(DigestRun).where(
            DigestRun.discussion_id == discussion_id, DigestRun.label == label
        )
    )
    return _record(run) if run is not None else None


def approved_posts(
    session: Session,
    discussion_id: int,
    since: datetime | None,
    until: datetime,
    batch: int = 500,
) -> Iterator[DigestPostRow]:
    """Posts approved in [since, until), oldest first, with what a digest shows."""
    parent = aliased(Post)
    stmt = (
        select(
            Post.id,
            Question.number,
            Post.parent_id,
            Post.author_name,
            Post.organisation,
            Post.constituency,
            Post.body,
            Post.approved_at,
            parent.author_name,
        )
        .join(Question, Post.question_id == Question.id)
        .outerjoin(parent, Post.parent_id == parent.id)
        .where(
            Post.discussion_id == discussion_id,
            Post.status == PostStatus.APPROVED,
            Post.approved_at.is_not(None),
            Post.approved_at < until,
        )
        .order_by(Post.approved_at, Post.id)
        .execution_options(yield_per=batch)
    )
    if since is not None:
        stmt = stmt.where(Post.approved_at >= since)
    for row in session.execute(stmt):
        (pid, number, parent_id, name, org, constituency, body, at, parent_name) = row
        if at is None:  # pragma: no cover - filtered above
            continue
        yield DigestPostRow(
            pid,
            number,
            parent_id,
            name,
            org,
            constituency,
            body,
            at,
            parent_name or "",
        )


def release_times(session: Session, discussion_id: int) -> dict[int, datetime]:
    """When each released question of a discussion was released."""
    rows = session.execute(
        select(Question.number, Question.released_at).where(
            Question.discussion_id == discussion_id, Question.released_at.is_not(None)
        )
    ).all()
    return {number: at for number, at in rows if at is not None}
