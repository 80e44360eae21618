"""The scheduler inside ``serve``, on the real clock: on time, caught up, never twice."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select

from mailer.clock import system_clock
from mailer.config import Settings
from mailer.mailings.due import next_wakeups
from mailer.mailings.jobs import JOB_DEFAULTS, build_scheduler
from mailer.runtime import Runtime, open_runtime
from mailer.serve import serve
from store.models import DeliveryMode, OutboxMessage, Question
from tests.fixtures.schedule import subscribe
from tests.fixtures.settings import SettingsFactory


def shifted(settings: Settings, week1: datetime, week2: datetime) -> Settings:
    """The model discussion moved to now: week one at *week1*, week two at *week2*."""
    d = settings.discussions[0]
    questions = tuple(
        dataclasses.replace(q, release_at=week1 if q.week == 1 else week2)
        for q in d.questions
    )
    d = dataclasses.replace(
        d,
        opens_at=week1,
        closes_at=week2 + timedelta(days=14),
        questions=questions,
    )
    return dataclasses.replace(settings, discussions=(d,))


def announcements(rt: Runtime) -> list[str]:
    with rt.sessions() as s:
        return list(
            s.scalars(
                select(OutboxMessage.dedupe_key)
                .where(OutboxMessage.kind == "announce")
                .order_by(OutboxMessage.id)
            )
        )


def serve_until(rt: Runtime, done: Callable[[], bool], seconds: float) -> float:
    """Run ``serve`` until *done()* or *seconds* pass; returns the time taken."""

    async def scenario() -> float:
        stop = asyncio.Event()
        task = asyncio.create_task(serve(rt, stop))
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            if await asyncio.to_thread(done):
                break
            await asyncio.sleep(0.2)
        elapsed = time.monotonic() - start
        stop.set()
        await task
        return elapsed

    return asyncio.run(scenario())


def test_serve_catches_up_releases_on_time_and_restarts_without_repeats(
    db_url: str, make_settings: SettingsFactory
) -> None:
    now = system_clock()
    # Week one was due an hour ago (the service was down); week two in 3 s.
    settings = shifted(
        make_settings(db_url), now - timedelta(hours=1), now + timedelta(seconds=3)
    )
    rt = open_runtime(settings, migrate=True)
    try:
        subs = [
            subscribe(rt, "ana@example.net", language="es"),
            subscribe(rt, "bo@example.net", mode=DeliveryMode.ANNOUNCEMENTS),
        ]
        week1 = [f"announce:skills-covid19:1,2,3,4,5,6:{s}" for s in subs]
        week2 = [f"announce:skills-covid19:7,8,9,10,11:{s}" for s in subs]
        elapsed = serve_until(rt, lambda: len(announcements(rt)) >= 4, 20)
        assert announcements(rt) == week1 + week2
        assert elapsed < 12  # the wake-up, not the one-minute tick, released week two
        # A restart derives the same jobs from the store: nothing is sent again.
        serve_until(rt, lambda: False, 2.5)
        assert announcements(rt) == week1 + week2
        with rt.sessions() as s:
            total = s.scalar(select(func.count(OutboxMessage.id)))
        assert total == 4
    finally:
        rt.close()


def test_jobs_coalesce_and_wake_up_at_the_next_event(
    db_url: str, make_settings: SettingsFactory
) -> None:
    now = system_clock()
    week2 = now + timedelta(hours=5)
    settings = shifted(make_settings(db_url), now - timedelta(minutes=5), week2)
    rt = open_runtime(settings, migrate=True)

    async def scenario() -> dict[str, object]:
        scheduler = build_scheduler(rt)
        scheduler.start()
        try:
            for _ in range(100):
                if scheduler.get_job("wake:skills-covid19") is not None:
                    break
                await asyncio.sleep(0.05)
            tick = scheduler.get_job("tick")
            wake = scheduler.get_job("wake:skills-covid19")
            assert tick is not None and wake is not None
            return {
                "coalesce": tick.coalesce,
                "misfire": tick.misfire_grace_time,
                "max": tick.max_instances,
                "wake_at": wake.next_run_time,
                "wake_coalesce": wake.coalesce,
            }
        finally:
            scheduler.shutdown(wait=False)
            await asyncio.sleep(0)

    try:
        found = asyncio.run(scenario())
        assert JOB_DEFAULTS == {
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": None,
        }
        assert found["coalesce"] is True and found["wake_coalesce"] is True
        assert found["misfire"] is None and found["max"] == 1
        # The wake-up is the next event the timetable names, from the store.
        assert found["wake_at"] == next_wakeups(rt, system_clock())["skills-covid19"]
        with rt.sessions() as s:
            released = s.scalars(
                select(Question.number).where(Question.released_at.is_not(None))
            ).all()
        assert sorted(released) == [1, 2, 3, 4, 5, 6]
    finally:
        rt.close()
