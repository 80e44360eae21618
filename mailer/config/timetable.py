"""From the configuration and the store to the pure timetable's values, and back.

:func:`calendar_of` reads a configured discussion's times; :func:`load_state`
reads what the store says happened. :mod:`mailer.core.schedule` decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from mailer.config.settings import DiscussionSettings
from mailer.core.schedule import Calendar, DigestWindow, Phase, ScheduleState
from store.digests import RunRecord, timetable_state
from store.models import DiscussionState

_PHASES = {
    DiscussionState.SCHEDULED: Phase.SCHEDULED,
    DiscussionState.OPEN: Phase.OPEN,
    DiscussionState.CLOSED: Phase.CLOSED,
}


@dataclass(frozen=True)
class LoadedState:
    """A discussion's row id and its state as the timetable sees it."""

    discussion_id: int
    schedule: ScheduleState
    unfinished_run: RunRecord | None


def calendar_of(discussion: DiscussionSettings) -> Calendar:
    """The timetable the configuration gives *discussion*."""
    return Calendar(
        discussion.opens_at,
        discussion.closes_at,
        discussion.time_zone,
        discussion.digest_hour,
        {q.number: q.release_at for q in discussion.questions},
    )


def window_of(run: RunRecord) -> DigestWindow:
    """A stored digest run as the timetable's window."""
    return DigestWindow(run.label, run.digest_date, run.since, run.until, run.final)


def load_state(session: Session, slug: str) -> LoadedState | None:
    """What the store says of discussion *slug*, or None when it has no row."""
    row = timetable_state(session, slug)
    if row is None:
        return None
    schedule = ScheduleState(
        _PHASES[row.state],
        row.released,
        row.opened_at,
        row.closed_at,
        window_of(row.last_finished) if row.last_finished else None,
        window_of(row.unfinished) if row.unfinished else None,
    )
    return LoadedState(row.discussion_id, schedule, row.unfinished)
