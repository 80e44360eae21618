"""``serve`` on a compressed clock: the scheduler follows it, waits while it is held.

The demonstration plays three weeks in a minute; these tests show the
scheduler releasing questions and sending a digest at the clock's instants,
whether the clock runs scaled (an hour a second) or jumps, and doing nothing
while it is held before them.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from mailer.clock import ScaledClock
from mailer.runtime import Runtime, open_runtime
from mailer.serve import serve
from store.models import DeliveryMode, DigestRun, OutboxMessage, Question
from tests.fixtures.schedule import add_post, subscribe
from tests.fixtures.service import START_SECONDS
from tests.fixtures.settings import SettingsFactory

OPENS = datetime(2027, 3, 27, 8, 0, tzinfo=UTC)  # 09:00 in Zurich
DIGEST = datetime(
    2027, 3, 27, 17, 0, 30, tzinfo=UTC
)  # 18:00 + the settling half-minute
STOP_SECONDS = 30.0  # serve stops in well under a second; this only bounds a hang


def released(rt: Runtime) -> list[tuple[int, datetime | None]]:
    with rt.sessions() as s:
        return list(
            s.execute(
                select(Question.number, Question.released_at).order_by(Question.number)
            )
        )


def kinds(rt: Runtime) -> list[str]:
    with rt.sessions() as s:
        return list(s.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))


def within(seconds: float, done: Callable[[], bool]) -> Callable[[], float]:
    """A step that waits for *done()* and returns how long it took (or fails)."""

    def wait() -> float:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            if done():
                return time.monotonic() - start
            time.sleep(0.05)
        raise AssertionError(f"not done after {seconds} s")

    return wait


def serving(rt: Runtime, script: Callable[[], None]) -> None:
    """Run ``serve`` while *script* runs in a thread.

    A serve that fails while starting fails the test with its own error (not
    after a wait for a readiness that cannot come), and one that does not stop
    fails it too, within a bound, instead of hanging until pytest's time-out.
    """

    async def main() -> None:
        stop = asyncio.Event()
        ready = asyncio.Event()
        task = asyncio.create_task(serve(rt, stop, ready.set))
        started = asyncio.create_task(ready.wait())
        try:
            await asyncio.wait(
                {task, started},
                timeout=START_SECONDS,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if task.done():
                task.result()  # serve's own error
                raise AssertionError("serve returned before it was ready")
            assert ready.is_set(), f"serve not ready after {START_SECONDS} s"
            await asyncio.to_thread(script)
        finally:
            started.cancel()
            stop.set()
            await asyncio.wait({task}, timeout=STOP_SECONDS)
            if not task.done():
                task.cancel()
                raise AssertionError(f"serve did not stop within {STOP_SECONDS} s")
        task.result()

    asyncio.run(main())


def test_the_scheduler_follows_a_scaled_clock_and_waits_while_it_is_held(
    db_url: str, make_settings: SettingsFactory
) -> None:
    clock = ScaledClock(OPENS - timedelta(hours=1), rate=3600)  # an hour a second
    rt = open_runtime(make_settings(db_url), clock=clock, migrate=True)
    subscribe(rt, "ana@example.net", mode=DeliveryMode.DIGEST)

    def script() -> None:
        # Held half an hour before the opening: nothing happens.
        clock.run_until(OPENS - timedelta(minutes=30))
        time.sleep(1.5)
        assert all(at is None for _, at in released(rt))
        # Let it run: week one is released when the clock passes the opening.
        start = time.monotonic()
        clock.run_until(OPENS + timedelta(hours=2))
        within(10, lambda: released(rt)[0][1] is not None)()
        assert time.monotonic() - start > 0.3  # not before the clock got there
        at = released(rt)[0][1]
        assert at is not None and OPENS <= at < OPENS + timedelta(minutes=10)
        assert kinds(rt) == ["announce"]

    try:
        serving(rt, script)
        assert [n for n, at in released(rt) if at is not None] == [1, 2, 3, 4, 5, 6]
    finally:
        rt.close()


def test_a_jumping_clock_has_each_event_done_at_its_instant(
    db_url: str, make_settings: SettingsFactory
) -> None:
    clock = ScaledClock(OPENS - timedelta(hours=1), rate=math.inf)
    rt = open_runtime(make_settings(db_url), clock=clock, migrate=True)
    subscribe(rt, "ana@example.net", mode=DeliveryMode.DIGEST)

    def script() -> None:
        clock.run_until(OPENS)
        took = within(10, lambda: kinds(rt) == ["announce"])()
        assert took < 4  # moving the clock on runs what is due, not the next tick
        add_post(rt, 1, OPENS + timedelta(hours=2), author="Ana Ruiz", body="Hola.")
        clock.run_until(DIGEST - timedelta(minutes=1))
        time.sleep(1)
        assert kinds(rt) == ["announce"]  # held before the digest instant
        clock.run_until(DIGEST)
        within(10, lambda: kinds(rt) == ["announce", "digest"])()

    try:
        serving(rt, script)
        with rt.sessions() as s:
            run = s.scalars(select(DigestRun)).one()
        assert run.label == "2027-03-27" and run.started_at == DIGEST
        assert run.posts == 1
    finally:
        rt.close()
