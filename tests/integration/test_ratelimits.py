"""Shared rate counts: a sliding hour from two periods, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from mailer.runtime import open_runtime
from store.models import RateCount
from store.ratelimits import count_request, forget_old_counts
from tests.fixtures.settings import SettingsFactory

HOUR = 3600
START = datetime(2027, 3, 29, 10, 0, tzinfo=UTC)  # on a period's first second


def test_counts_slide_over_two_periods_and_old_ones_go(
    db_url: str, make_settings: SettingsFactory
) -> None:
    rt = open_runtime(make_settings(db_url), migrate=False)
    try:
        with rt.sessions.begin() as s:
            assert [count_request(s, "k", START, HOUR) for _ in range(4)] == [
                1,
                2,
                3,
                4,
            ]
            assert count_request(s, "other", START, HOUR) == 1
        with rt.sessions.begin() as s:
            # Three quarters into the next period, a quarter of the last one counts.
            later = START + timedelta(seconds=HOUR * 1.75)
            assert count_request(s, "k", later, HOUR) == 1 + 4 * 0.25
        with rt.sessions.begin() as s:
            assert forget_old_counts(s, START + timedelta(hours=3), HOUR) == 3
            assert s.scalar(select(func.count()).select_from(RateCount)) == 0
    finally:
        rt.close()
