"""What is due now: question releases, opening, closing and the daily digest.

Pure: the calendar a discussion's configuration gives, the runtime state the
store holds, and ``now`` go in; a :class:`Due` comes out. The scheduler only
decides *when* to ask; what to do is decided here, from state, so a job that
fires twice, late, or after days of downtime does each thing once:

- questions whose release time has passed and that are not released yet are
  released together, as one announcement (a week's set, or everything that was
  missed while the service was down);
- the discussion closes at ``closes_at`` once (a moderator may reopen it);
- the digest of local date D covers posts approved from the end of the
  previous digest to D at ``digest_hour`` in the discussion's time zone. After
  downtime only the latest missed date runs, covering everything since the
  last digest (coalesced), never one digest per missed day.

Daylight-saving time: the digest instant of a date is that date's
``digest_hour`` read with ``fold=0``. An hour that does not exist (the spring
gap) resolves to the instant the clocks jump, still on that date; an hour that
happens twice (autumn) resolves to its first occurrence. Either way each local
date has exactly one digest instant.

What a release, a close or a reopen then did is told by the values at the end
(:class:`ReleaseResult`, :class:`StateResult`): the mailings return them and
the moderators' commands, a layer below the mailings, read them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from types import MappingProxyType

# A post approved a moment before the digest hour may still be committing; the
# digest of that hour starts this much later so it is not missed.
DIGEST_SETTLE = timedelta(seconds=30)


class Phase(enum.Enum):
    """Where a discussion is in its life (mirrors the store's state)."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"


def _aware(value: datetime, name: str) -> None:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True)
class Calendar:
    """What the configuration says of one discussion's timetable."""

    opens_at: datetime
    closes_at: datetime
    time_zone: tzinfo
    digest_hour: int
    releases: Mapping[int, datetime]  # question number -> release_at

    def __post_init__(self) -> None:
        _aware(self.opens_at, "opens_at")
        _aware(self.closes_at, "closes_at")
        if not 0 <= self.digest_hour <= 23:
            raise ValueError(f"digest_hour must be 0-23, got {self.digest_hour}")
        for number, when in self.releases.items():
            _aware(when, f"release_at of question {number}")
        object.__setattr__(self, "releases", MappingProxyType(dict(self.releases)))

    def __hash__(self) -> int:
        return hash((self.opens_at, self.closes_at, self.digest_hour))


@dataclass(frozen=True)
class DigestWindow:
    """One digest: its label (part of the dedupe key), local date and time window.

    Posts approved at or after ``since`` (None: from the beginning) and
    before ``until`` belong to it.
    """

    label: str
    day: date
    since: datetime | None
    until: datetime
    final: bool = False

    def __post_init__(self) -> None:
        _aware(self.until, "until")
        if self.since is not None:
            _aware(self.since, "since")
            if self.since > self.until:
                raise ValueError("a digest window cannot end before it starts")

    def covers(self, approved_at: datetime) -> bool:
        """True when a post approved at *approved_at* belongs to this digest."""
        return (
            self.since is None or approved_at >= self.since
        ) and approved_at < self.until


@dataclass(frozen=True)
class ScheduleState:
    """What the store says: released questions, phase, and the last digests."""

    phase: Phase
    released: frozenset[int] = frozenset()
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    last_digest: DigestWindow | None = None  # the newest finished digest
    unfinished_digest: DigestWindow | None = None  # started, not finished


@dataclass(frozen=True)
class Due:
    """What should happen now; empty when nothing is due."""

    release: tuple[int, ...] = ()  # released together, in one announcement
    open: bool = False
    close: bool = False
    digest: DigestWindow | None = None

    @property
    def nothing(self) -> bool:
        """True when there is nothing to do."""
        return not (self.release or self.open or self.close or self.digest)


def digest_instant(calendar: Calendar, day: date) -> datetime:
    """The UTC instant of *day*'s digest: ``digest_hour`` there, fold=0 (see module doc)."""
    local = datetime.combine(day, time(calendar.digest_hour), calendar.time_zone)
    instant = local.astimezone(UTC)
    # In a spring gap fold=0 reads the hour with the offset before the jump,
    # which lands on the jump itself or after; check it is still that date.
    if instant.astimezone(calendar.time_zone).date() != day:  # pragma: no cover
        raise ValueError(f"no digest instant on {day}")
    return instant


def local_day(calendar: Calendar, moment: datetime) -> date:
    """The date in the discussion's time zone at *moment*."""
    return moment.astimezone(calendar.time_zone).date()


def latest_digest_day(calendar: Calendar, now: datetime) -> date:
    """The newest local date whose digest instant is at or before *now*."""
    today = local_day(calendar, now)
    if digest_instant(calendar, today) <= now:
        return today
    return today - timedelta(days=1)


def due_releases(
    calendar: Calendar, state: ScheduleState, now: datetime
) -> tuple[int, ...]:
    """Questions whose time has come and that are still unreleased, in order."""
    if state.phase is Phase.CLOSED:
        return ()
    return tuple(
        sorted(
            n
            for n, when in calendar.releases.items()
            if when <= now and n not in state.released
        )
    )


def close_due(calendar: Calendar, state: ScheduleState, now: datetime) -> bool:
    """True when the scheduled end has passed and the discussion is not closed.

    A discussion a moderator reopened after the scheduled end stays open.
    """
    if state.phase is Phase.CLOSED or now < calendar.closes_at:
        return False
    return state.closed_at is None or state.closed_at < calendar.closes_at


def _label(
    calendar: Calendar, day: date, until: datetime, last: DigestWindow | None
) -> str:
    label = day.isoformat()
    if last is not None and last.label.startswith(label):
        # A second digest on one local date (a closing digest after that day's
        # regular one): the time keeps the label, and so the dedupe key, new.
        label = f"{label}-{until.astimezone(calendar.time_zone):%H%M}"
    return label


def due_digest(
    calendar: Calendar, state: ScheduleState, now: datetime
) -> DigestWindow | None:
    """The digest to send now, if any (an unfinished one first)."""
    if state.unfinished_digest is not None:
        return state.unfinished_digest
    last = state.last_digest
    since = last.until if last is not None else None
    if state.phase is Phase.CLOSED:
        closed = state.closed_at
        if closed is None or now < closed + DIGEST_SETTLE:
            return None
        if since is not None and since >= closed:
            return None
        day = local_day(calendar, closed)
        return DigestWindow(
            _label(calendar, day, closed, last), day, since, closed, final=True
        )
    if state.phase is not Phase.OPEN or close_due(calendar, state, now):
        return None  # the closing (and its own last digest) comes first
    day = latest_digest_day(calendar, now - DIGEST_SETTLE)
    until = digest_instant(calendar, day)
    started = state.opened_at or calendar.opens_at
    floor = since if since is not None else started
    if until <= floor:
        return None
    return DigestWindow(_label(calendar, day, until, last), day, since, until)


@dataclass(frozen=True)
class DigestByHand:
    """What ``ediscuss digest send`` sends now: a window, or why there is none."""

    window: DigestWindow | None
    reason: str = ""


def digest_by_hand(
    calendar: Calendar, state: ScheduleState, now: datetime, day: date | None = None
) -> DigestByHand:
    """The digest an operator sends at *now*, like Mailman's ``digests --send``.

    What the schedule has due (an unfinished run, a missed day, the final
    digest) comes first. Otherwise, without *day*: everything approved since
    the last digest, up to *now*; with *day*: that date's digest, once its hour
    has passed. Each window starts where the last digest ended, so a digest
    sent by hand and the scheduled ones never carry a post twice, and sending
    again finds the digest of *day* sent.
    """
    _aware(now, "now")
    scheduled = due_digest(calendar, state, now)
    if scheduled is not None and (day is None or scheduled.day == day):
        return DigestByHand(scheduled)
    if state.phase is not Phase.OPEN:
        return DigestByHand(
            None, f"the discussion is {state.phase.value}: no digest to send"
        )
    last = state.last_digest
    since = last.until if last is not None else None
    floor = since or state.opened_at or calendar.opens_at
    if day is None:
        if now <= floor:
            return DigestByHand(None, "nothing since the last digest")
        today = local_day(calendar, now)
        return DigestByHand(
            DigestWindow(_label(calendar, today, now, last), today, since, now)
        )
    until = digest_instant(calendar, day)
    if until > now:
        return DigestByHand(
            None,
            f"the digest of {day} is due at {until.astimezone(calendar.time_zone):%Y-%m-%d %H:%M %Z};"
            " without --date, digest send sends what has come so far",
        )
    if until <= floor:
        sent = f" (digest {last.label})" if last is not None else ""
        return DigestByHand(None, f"the digest of {day} went out already{sent}")
    return DigestByHand(
        DigestWindow(_label(calendar, day, until, last), day, since, until)
    )


def due(calendar: Calendar, state: ScheduleState, now: datetime) -> Due:
    """Everything due at *now*: releases (with opening), closing, the digest."""
    _aware(now, "now")
    release = due_releases(calendar, state, now)
    opening = state.phase is Phase.SCHEDULED and (
        bool(release) or now >= calendar.opens_at
    )
    closing = close_due(calendar, state, now)
    return Due(
        release=release,
        open=opening,
        close=closing,
        digest=None if closing else due_digest(calendar, state, now),
    )


def next_wakeup(
    calendar: Calendar, state: ScheduleState, now: datetime
) -> datetime | None:
    """The next moment after *now* when something may become due, or None."""
    _aware(now, "now")
    candidates: list[datetime] = []
    if state.phase is not Phase.CLOSED:
        candidates += [
            when
            for n, when in calendar.releases.items()
            if when > now and n not in state.released
        ]
        if state.phase is Phase.SCHEDULED and calendar.opens_at > now:
            candidates.append(calendar.opens_at)
        if calendar.closes_at > now and (
            state.closed_at is None or state.closed_at < calendar.closes_at
        ):
            candidates.append(calendar.closes_at)
        day = local_day(calendar, now) - timedelta(days=1)
        for _ in range(3):
            at = digest_instant(calendar, day) + DIGEST_SETTLE
            if at > now:
                candidates.append(at)
                break
            day += timedelta(days=1)
    elif state.closed_at is not None:
        final_at = state.closed_at + DIGEST_SETTLE
        if final_at > now:
            candidates.append(final_at)
    return min(candidates) if candidates else None


# What a release, a close or a reopen did: values the mailings return and the
# moderators' commands (a layer below them) turn into result lines.


class ReleaseOutcome(enum.Enum):
    """What became of one question a release asked for."""

    RELEASED = "released"
    ALREADY_RELEASED = "already released"
    NO_SUCH_QUESTION = "no such question"
    DISCUSSION_CLOSED = "discussion closed"


@dataclass(frozen=True)
class ReleaseResult:
    """The outcome of a release, question by question, and what was sent."""

    slug: str
    outcomes: tuple[tuple[int, ReleaseOutcome], ...]
    opened: bool = False
    announced: int = 0

    @property
    def released(self) -> tuple[int, ...]:
        """The questions this release made open."""
        return tuple(n for n, o in self.outcomes if o is ReleaseOutcome.RELEASED)

    def outcome(self, number: int) -> ReleaseOutcome | None:
        """What happened to question *number*, if it was asked for."""
        return dict(self.outcomes).get(number)


class StateOutcome(enum.Enum):
    """What a close or reopen did."""

    CLOSED = "closed"
    ALREADY_CLOSED = "already closed"
    REOPENED = "reopened"
    NOT_CLOSED = "not closed"


@dataclass(frozen=True)
class StateResult:
    """The outcome of a close or reopen, and how many announcements it queued."""

    slug: str
    outcome: StateOutcome
    announced: int = 0
