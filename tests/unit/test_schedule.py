"""The pure timetable: releases, opening, closing and digests, across DST and downtime."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mailer.core.schedule import (
    DIGEST_SETTLE,
    Calendar,
    DigestWindow,
    Phase,
    ScheduleState,
    digest_instant,
    due,
    latest_digest_day,
    next_wakeup,
)

ZURICH = ZoneInfo("Europe/Zurich")
WEEK1 = datetime(2027, 3, 27, 9, 0, tzinfo=ZURICH)
WEEK2 = datetime(2027, 4, 3, 9, 0, tzinfo=ZURICH)
CLOSES = datetime(2027, 4, 17, 18, 0, tzinfo=ZURICH)


def calendar(hour: int = 18) -> Calendar:
    releases = {n: WEEK1 for n in range(1, 7)} | {n: WEEK2 for n in range(7, 12)}
    return Calendar(WEEK1, CLOSES, ZURICH, hour, releases)


def z(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZURICH)


OPEN1 = ScheduleState(Phase.OPEN, frozenset(range(1, 7)), opened_at=WEEK1)


def test_nothing_before_opening() -> None:
    d = due(calendar(), ScheduleState(Phase.SCHEDULED), z(2027, 3, 27, 8, 59))
    assert d.nothing
    assert next_wakeup(
        calendar(), ScheduleState(Phase.SCHEDULED), z(2027, 3, 27, 8, 59)
    ) == WEEK1.astimezone(UTC)


def test_week_one_released_together_and_opens() -> None:
    d = due(calendar(), ScheduleState(Phase.SCHEDULED), WEEK1)
    assert d.release == (1, 2, 3, 4, 5, 6)
    assert d.open and not d.close and d.digest is None


def test_partly_released_week_releases_the_rest() -> None:
    # a moderator released question 7 early
    state = ScheduleState(Phase.OPEN, frozenset({*range(1, 7), 7}), opened_at=WEEK1)
    assert due(calendar(), state, WEEK2).release == (8, 9, 10, 11)


def test_downtime_over_both_weeks_releases_all_at_once() -> None:
    d = due(calendar(), ScheduleState(Phase.SCHEDULED), z(2027, 4, 4, 12, 0))
    assert d.release == tuple(range(1, 12))
    assert d.open


def test_first_digest_of_the_day_it_opens() -> None:
    at = z(2027, 3, 27, 18, 0) + DIGEST_SETTLE
    assert due(calendar(), OPEN1, at - timedelta(seconds=1)).digest is None
    d = due(calendar(), OPEN1, at).digest
    assert d == DigestWindow("2027-03-27", date(2027, 3, 27), None, z(2027, 3, 27, 18))


def test_digest_instants_follow_the_dst_change() -> None:
    cal = calendar()
    # 18:00 CET is 17:00 UTC; from 28 March, 18:00 CEST is 16:00 UTC.
    assert digest_instant(cal, date(2027, 3, 27)) == datetime(
        2027, 3, 27, 17, tzinfo=UTC
    )
    assert digest_instant(cal, date(2027, 3, 28)) == datetime(
        2027, 3, 28, 16, tzinfo=UTC
    )


def test_digest_hour_in_the_spring_gap_sends_that_day_once() -> None:
    cal = calendar(hour=2)  # 02:00-03:00 does not exist on 28 March 2027
    jump = datetime(2027, 3, 28, 1, 0, tzinfo=UTC)  # 02:00 CET becomes 03:00 CEST
    assert digest_instant(cal, date(2027, 3, 28)) == jump
    last = DigestWindow(
        "2027-03-27", date(2027, 3, 27), None, digest_instant(cal, date(2027, 3, 27))
    )
    state = ScheduleState(
        Phase.OPEN, frozenset(range(1, 7)), opened_at=WEEK1, last_digest=last
    )
    seen = set()
    t = datetime(2027, 3, 27, 23, 0, tzinfo=UTC)
    while t < datetime(2027, 3, 28, 23, 0, tzinfo=UTC):
        d = due(cal, state, t).digest
        if d is not None:
            seen.add(d.label)
            assert d.until == jump and d.since == last.until
            state = ScheduleState(
                Phase.OPEN, state.released, opened_at=WEEK1, last_digest=d
            )
        t += timedelta(minutes=5)
    assert seen == {"2027-03-28"}


def test_ambiguous_digest_hour_sends_once_at_the_first_occurrence() -> None:
    cal = Calendar(
        z(2027, 10, 1, 9), z(2027, 11, 30, 18), ZURICH, 2, {1: z(2027, 10, 1, 9)}
    )
    first = datetime(2027, 10, 31, 0, 0, tzinfo=UTC)  # 02:00 CEST
    assert digest_instant(cal, date(2027, 10, 31)) == first
    state = ScheduleState(
        Phase.OPEN,
        frozenset({1}),
        opened_at=z(2027, 10, 1, 9),
        last_digest=DigestWindow(
            "2027-10-30",
            date(2027, 10, 30),
            None,
            digest_instant(cal, date(2027, 10, 30)),
        ),
    )
    labels = []
    t = datetime(2027, 10, 30, 22, 0, tzinfo=UTC)
    while t < datetime(2027, 10, 31, 6, 0, tzinfo=UTC):  # through both 02:00s
        d = due(cal, state, t).digest
        if d is not None:
            labels.append(d.label)
            state = ScheduleState(
                Phase.OPEN, state.released, opened_at=state.opened_at, last_digest=d
            )
        t += timedelta(minutes=10)
    assert labels == ["2027-10-31"]


def test_downtime_coalesces_missed_digests_into_one() -> None:
    last = DigestWindow(
        "2027-03-28", date(2027, 3, 28), None, datetime(2027, 3, 28, 16, tzinfo=UTC)
    )
    state = ScheduleState(
        Phase.OPEN, frozenset(range(1, 7)), opened_at=WEEK1, last_digest=last
    )
    # Down from the 29th to the 1st at noon: one digest, for the 31st.
    d = due(calendar(), state, z(2027, 4, 1, 12, 0)).digest
    assert d is not None
    assert d.label == "2027-03-31" and d.since == last.until
    assert d.until == z(2027, 3, 31, 18)


def test_unfinished_digest_is_resumed_with_its_window() -> None:
    started = DigestWindow(
        "2027-03-29", date(2027, 3, 29), z(2027, 3, 28, 18), z(2027, 3, 29, 18)
    )
    state = ScheduleState(
        Phase.OPEN, frozenset(range(1, 7)), opened_at=WEEK1, unfinished_digest=started
    )
    assert due(calendar(), state, z(2027, 4, 2, 7, 0)).digest == started


def test_closing_then_a_final_digest() -> None:
    last = DigestWindow(
        "2027-04-16", date(2027, 4, 16), z(2027, 4, 15, 18), z(2027, 4, 16, 18)
    )
    state = ScheduleState(
        Phase.OPEN, frozenset(range(1, 12)), opened_at=WEEK1, last_digest=last
    )
    d = due(calendar(), state, CLOSES)
    assert d.close and d.digest is None and d.release == ()
    closed = ScheduleState(
        Phase.CLOSED,
        state.released,
        opened_at=WEEK1,
        closed_at=CLOSES,
        last_digest=last,
    )
    assert due(calendar(), closed, CLOSES).nothing  # settling
    final = due(calendar(), closed, CLOSES + DIGEST_SETTLE).digest
    assert final == DigestWindow(
        "2027-04-17", date(2027, 4, 17), last.until, CLOSES, final=True
    )
    done = ScheduleState(Phase.CLOSED, state.released, WEEK1, CLOSES, last_digest=final)
    assert due(calendar(), done, CLOSES + timedelta(days=3)).nothing
    assert next_wakeup(calendar(), done, CLOSES + timedelta(days=3)) is None


def test_closing_digest_on_a_day_that_had_one_gets_its_own_label() -> None:
    cal = calendar(hour=8)
    last = DigestWindow(
        "2027-04-17", date(2027, 4, 17), z(2027, 4, 16, 8), z(2027, 4, 17, 8)
    )
    closed = ScheduleState(
        Phase.CLOSED, frozenset(range(1, 12)), WEEK1, CLOSES, last_digest=last
    )
    final = due(cal, closed, CLOSES + timedelta(minutes=1)).digest
    assert final is not None and final.label == "2027-04-17-1800"


def test_reopened_after_the_end_stays_open_with_digests() -> None:
    reopened = ScheduleState(
        Phase.OPEN,
        frozenset(range(1, 12)),
        WEEK1,
        closed_at=CLOSES,
        last_digest=DigestWindow(
            "2027-04-17", date(2027, 4, 17), None, CLOSES, final=True
        ),
    )
    d = due(calendar(), reopened, z(2027, 4, 18, 18, 1))
    assert not d.close
    assert d.digest is not None and d.digest.label == "2027-04-18"


def test_closed_early_by_a_moderator_releases_nothing_more() -> None:
    early = ScheduleState(
        Phase.CLOSED, frozenset(range(1, 7)), WEEK1, closed_at=z(2027, 4, 1, 10)
    )
    d = due(calendar(), early, WEEK2)
    assert d.release == () and not d.close


def test_latest_digest_day_before_and_after_the_hour() -> None:
    cal = calendar()
    assert latest_digest_day(cal, z(2027, 3, 29, 17, 59)) == date(2027, 3, 28)
    assert latest_digest_day(cal, z(2027, 3, 29, 18, 0)) == date(2027, 3, 29)


def test_next_wakeup_is_the_next_digest_or_release() -> None:
    at = next_wakeup(calendar(), OPEN1, z(2027, 3, 28, 12, 0))
    assert at == z(2027, 3, 28, 18, 0) + DIGEST_SETTLE
    at = next_wakeup(calendar(), OPEN1, z(2027, 4, 3, 8, 0))
    assert at == WEEK2


def test_calendar_refuses_naive_times() -> None:
    with pytest.raises(ValueError):
        Calendar(datetime(2027, 1, 1), CLOSES, ZURICH, 18, {})
    with pytest.raises(ValueError):
        Calendar(WEEK1, CLOSES, ZURICH, 24, {})
