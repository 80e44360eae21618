"""One round of everything that is due: what the scheduler's jobs call.

:func:`run_due` releases, opens, closes, sends digests, reminds, expires
sign-ups and sends the moderators' held-post summaries, each step in its own transaction, each step safe to run on every
node at once and as often as wanted. It takes ``now``, so tests drive it with
their own clock and no scheduler at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from mailer.config.timetable import calendar_of, load_state
from mailer.core.errors import RoundStopped
from mailer.core.schedule import Due, ReleaseResult, StateResult, due, next_wakeup
from mailer.mailings.digests import DigestResult, send_due_digests
from mailer.mailings.releases import (
    close_due,
    release_due_questions,
)
from mailer.moderation.notices import next_summaries, send_held_summaries
from mailer.subscriptions.schedule import expire_pending, send_confirmation_reminders

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.schedule")

T = TypeVar("T")


@dataclass(frozen=True)
class Round:
    """What one round did; a step that failed is named in ``failed``."""

    releases: list[ReleaseResult] = field(default_factory=list)
    closes: list[StateResult] = field(default_factory=list)
    digests: list[DigestResult] = field(default_factory=list)
    reminded: int = 0
    expired: int = 0
    summaries: int = 0
    failed: tuple[str, ...] = ()


def _step(name: str, failed: list[str], default: T, work: Callable[[], T]) -> T:
    try:
        return work()
    except RoundStopped:  # serve is stopping: no further step either
        raise
    except Exception:  # one failing step must not stop the others
        log.exception("scheduled step failed: %s", name)
        failed.append(name)
        return default


def run_due(
    runtime: Runtime, now: datetime, stopping: Callable[[], bool] | None = None
) -> Round:
    """Do everything due at *now*, once, whatever was missed before.

    The store is read once to see what is due; a step with nothing to do is
    skipped (each step checks again inside its own transaction). *stopping*,
    asked between the batches of a long step (a digest to thousands), ends
    the round there with :class:`RoundStopped`; what was committed stays and
    the next round does the rest.
    """
    failed: list[str] = []
    todo = _due_now(runtime, now)

    def releases() -> list[ReleaseResult]:
        with runtime.sessions.begin() as session:
            return release_due_questions(session, runtime, now)

    def closes() -> list[StateResult]:
        with runtime.sessions.begin() as session:
            return close_due(session, runtime, now)

    def digests() -> list[DigestResult]:
        return send_due_digests(runtime, now, stopping)

    def reminders() -> int:
        with runtime.sessions.begin() as session:
            return send_confirmation_reminders(session, runtime, now)

    def expiry() -> int:
        with runtime.sessions.begin() as session:
            return expire_pending(
                session, now, runtime.settings.subscribers.confirm_ttl_days
            )

    released: list[ReleaseResult] = []
    closed: list[StateResult] = []
    sent: list[DigestResult] = []
    if any(d.release or d.open for d in todo):
        released = _step("releases", failed, released, releases)
    if any(d.close for d in todo):
        closed = _step("closing", failed, closed, closes)
    if any(d.digest for d in todo):
        sent = _step("digests", failed, sent, digests)
    reminded = _step("reminders", failed, 0, reminders)
    expired = _step("expiry", failed, 0, expiry)
    summaries = _step(
        "held-post summaries", failed, 0, lambda: send_held_summaries(runtime, now)
    )
    return Round(released, closed, sent, reminded, expired, summaries, tuple(failed))


def anything_due(runtime: Runtime, now: datetime) -> bool:
    """True when a release, opening, closing, digest or held-post summary is due at *now*."""
    if any(not d.nothing for d in _due_now(runtime, now)):
        return True
    return any(at <= now for at in next_summaries(runtime, now).values())


def _due_now(runtime: Runtime, now: datetime) -> list[Due]:
    with runtime.sessions() as session:
        states = [
            (d, load_state(session, d.slug)) for d in runtime.settings.discussions
        ]
    return [due(calendar_of(d), s.schedule, now) for d, s in states if s is not None]


def next_wakeups(runtime: Runtime, now: datetime) -> dict[str, datetime]:
    """Per discussion, the next moment something may become due (none: nothing left).

    A held-post summary counts from when it becomes due; one due already is
    :func:`anything_due`'s.
    """
    out: dict[str, datetime] = {}
    with runtime.sessions() as session:
        for discussion in runtime.settings.discussions:
            state = load_state(session, discussion.slug)
            if state is None:
                continue
            at = next_wakeup(calendar_of(discussion), state.schedule, now)
            if at is not None:
                out[discussion.slug] = at
    for slug, at in next_summaries(runtime, now).items():
        if at > now:  # one due already is the tick's (anything_due says so)
            out[slug] = min(at, out.get(slug, at))
    return out
