"""Releasing questions, opening, closing and reopening a discussion.

Called by the scheduler (``release_due_questions``, ``close_due``), by the
moderators' commands (``release <n>``, ``release week <w>``, ``close``,
``reopen``) and by the CLI. Each function works inside the caller's
transaction: the state change and its announcements
(:mod:`mailer.mailings.announcements`) commit together.

Every state change is a conditional ``UPDATE`` (``released_at IS NULL``,
``state <> 'closed'``...), so when two nodes or a node and a moderator act at
once, one of them makes the change and announces it; the other learns that it
was already done. The announcements' dedupe keys are the second safety net.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailer.config.settings import DiscussionSettings
from mailer.config.timetable import calendar_of, load_state
from mailer.core.errors import EdiscussError
from mailer.core.modauth import AuthMethod
from mailer.core.schedule import (
    ReleaseOutcome,
    ReleaseResult,
    StateOutcome,
    StateResult,
    due,
)
from mailer.core.schedule import close_due as schedule_close_due
from mailer.mailings.announcements import announce_closing, announce_release
from store.audit import record_audit
from store.models import Discussion as DiscussionRow
from store.models import DiscussionState, Question
from store.writes import changed_rows

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.schedule")


class UnknownDiscussion(EdiscussError, LookupError):
    """No configured discussion has this slug (or it has no row in the store yet)."""


def _configured(
    runtime: Runtime, session: Session, slug: str
) -> tuple[DiscussionSettings, int]:
    discussion = runtime.settings.discussion(slug)
    row_id = session.scalar(select(DiscussionRow.id).where(DiscussionRow.slug == slug))
    if discussion is None or row_id is None:
        raise UnknownDiscussion(slug)
    return discussion, row_id


def release_questions(
    session: Session,
    runtime: Runtime,
    slug: str,
    numbers: Iterable[int],
    now: datetime,
    by: str,
    auth: AuthMethod = AuthMethod.SYSTEM,
) -> ReleaseResult:
    """Open the questions *numbers* and announce them, together, to every subscriber.

    Opens the discussion when it was still scheduled. Writes one audit entry
    (actor *by*, authenticated by *auth*) when anything was released.
    Raises :class:`UnknownDiscussion`.
    """
    discussion, discussion_id = _configured(runtime, session, slug)
    wanted = sorted(set(numbers))
    configured = {q.number for q in discussion.questions}
    unknown = [n for n in wanted if n not in configured]
    known = [n for n in wanted if n in configured]
    outcomes = {n: ReleaseOutcome.NO_SUCH_QUESTION for n in unknown}
    state = session.scalar(
        select(DiscussionRow.state).where(DiscussionRow.id == discussion_id)
    )
    if state is DiscussionState.CLOSED:
        outcomes |= {n: ReleaseOutcome.DISCUSSION_CLOSED for n in known}
        return ReleaseResult(slug, tuple(sorted(outcomes.items())))
    released = (
        sorted(
            session.scalars(
                update(Question)
                .where(
                    Question.discussion_id == discussion_id,
                    Question.number.in_(known),
                    Question.released_at.is_(None),
                )
                .values(released_at=now, released_by=by[:320])
                .returning(Question.number)
                .execution_options(synchronize_session=False)
            ).all()
        )
        if known
        else []
    )
    outcomes |= {
        n: ReleaseOutcome.RELEASED if n in released else ReleaseOutcome.ALREADY_RELEASED
        for n in known
    }
    if not released:
        return ReleaseResult(slug, tuple(sorted(outcomes.items())))
    opened = open_discussion(session, discussion_id, now)
    announced = announce_release(
        session, runtime, discussion, discussion_id, released, opened, now
    )
    target = ",".join(f"q{n}" for n in released)
    record_audit(
        session,
        discussion_id=discussion_id,
        actor=by,
        action="release",
        target=target,
        detail=f"opened the discussion; announced {announced}"
        if opened
        else f"announced {announced}",
        auth=auth,
        now=now,
    )
    log.info(
        "released discussion=%s questions=%s by=%s announced=%d",
        slug,
        target,
        by,
        announced,
    )
    return ReleaseResult(slug, tuple(sorted(outcomes.items())), opened, announced)


def release_week(
    session: Session,
    runtime: Runtime,
    slug: str,
    week: int,
    now: datetime,
    by: str,
    auth: AuthMethod = AuthMethod.SYSTEM,
) -> ReleaseResult:
    """Release every question of *week* (one announcement); no outcomes: no such week."""
    discussion = runtime.settings.discussion(slug)
    if discussion is None:
        raise UnknownDiscussion(slug)
    numbers = [q.number for q in discussion.questions if q.week == week]
    if not numbers:
        return ReleaseResult(slug, ())
    return release_questions(session, runtime, slug, numbers, now, by, auth)


def open_discussion(session: Session, discussion_id: int, now: datetime) -> bool:
    """Mark a scheduled discussion open; False when it was not scheduled."""
    result = session.execute(
        update(DiscussionRow)
        .where(
            DiscussionRow.id == discussion_id,
            DiscussionRow.state == DiscussionState.SCHEDULED,
        )
        .values(state=DiscussionState.OPEN, opened_at=now)
        .execution_options(synchronize_session=False)
    )
    return changed_rows(result) > 0


def close_discussion(
    session: Session,
    runtime: Runtime,
    slug: str,
    now: datetime,
    by: str,
    auth: AuthMethod = AuthMethod.SYSTEM,
) -> StateResult:
    """Close the discussion and announce it; the last digest follows from the scheduler.

    Raises :class:`UnknownDiscussion`.
    """
    discussion, discussion_id = _configured(runtime, session, slug)
    result = session.execute(
        update(DiscussionRow)
        .where(
            DiscussionRow.id == discussion_id,
            DiscussionRow.state != DiscussionState.CLOSED,
        )
        .values(state=DiscussionState.CLOSED, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    if not changed_rows(result):
        return StateResult(slug, StateOutcome.ALREADY_CLOSED)
    announced = announce_closing(session, runtime, discussion, discussion_id, now)
    record_audit(
        session,
        discussion_id=discussion_id,
        actor=by,
        action="close",
        target=slug,
        detail=f"announced {announced}",
        auth=auth,
        now=now,
    )
    log.info("closed discussion=%s by=%s announced=%d", slug, by, announced)
    return StateResult(slug, StateOutcome.CLOSED, announced)


def reopen_discussion(
    session: Session,
    runtime: Runtime,
    slug: str,
    now: datetime,
    by: str,
    auth: AuthMethod = AuthMethod.SYSTEM,
) -> StateResult:
    """Open a closed discussion again (posts are accepted, digests resume)."""
    _, discussion_id = _configured(runtime, session, slug)
    result = session.execute(
        update(DiscussionRow)
        .where(
            DiscussionRow.id == discussion_id,
            DiscussionRow.state == DiscussionState.CLOSED,
        )
        .values(state=DiscussionState.OPEN)
        .execution_options(synchronize_session=False)
    )
    if not changed_rows(result):
        return StateResult(slug, StateOutcome.NOT_CLOSED)
    record_audit(
        session,
        discussion_id=discussion_id,
        actor=by,
        action="reopen",
        target=slug,
        auth=auth,
        now=now,
    )
    log.info("reopened discussion=%s by=%s", slug, by)
    return StateResult(slug, StateOutcome.REOPENED)


def release_due_questions(
    session: Session, runtime: Runtime, now: datetime
) -> list[ReleaseResult]:
    """Release, in one announcement per discussion, every question whose time has come."""
    results = []
    for discussion in runtime.settings.discussions:
        state = load_state(session, discussion.slug)
        if state is None:
            continue
        todo = due(calendar_of(discussion), state.schedule, now)
        if todo.release:
            results.append(
                release_questions(
                    session, runtime, discussion.slug, todo.release, now, "schedule"
                )
            )
        elif todo.open and open_discussion(session, state.discussion_id, now):
            log.info("opened discussion=%s", discussion.slug)
    return results


def close_due(session: Session, runtime: Runtime, now: datetime) -> list[StateResult]:
    """Close every discussion whose scheduled end has passed (once)."""
    results = []
    for discussion in runtime.settings.discussions:
        state = load_state(session, discussion.slug)
        if state is None:
            continue
        if schedule_close_due(calendar_of(discussion), state.schedule, now):
            results.append(
                close_discussion(session, runtime, discussion.slug, now, "schedule")
            )
    return results
