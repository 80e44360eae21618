"""The scheduler inside ``serve``: the only module that knows APScheduler (3.x).

Nothing is stored in the scheduler. Its jobs are derived, at start and after
every round, from the configuration and the store: a ``tick`` every minute
(reminders, expiry, and a safety net) that also runs at once on start, so
whatever was missed while the service was down runs once; and one wake-up per
discussion at the next release, closing or digest instant. A restart
therefore neither loses nor duplicates a job, and every job calls
:func:`mailer.mailings.due.run_due`, which does only what is due and does it once.

The jobs follow the runtime's clock: on a :class:`mailer.clock.ScaledClock`
(``ediscuss demo``) a wake-up fires when the scaled clock reaches its instant,
the tick is scaled too (every few seconds at most), and moving the clock on
runs what became due and plans the wake-ups again.

On stop no round starts any more, and the one running (a release, a digest)
is waited for, up to :data:`STOP_SECONDS`, so nothing writes to the store
after ``serve`` has said it stopped. A digest to thousands stops after the
batch in hand (each batch is committed) and the next start resumes it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from mailer.clock import clock_rate, on_advance, system_clock, system_time
from mailer.core.errors import RoundStopped
from mailer.mailings.due import anything_due, next_wakeups, run_due

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.schedule")

TICK_SECONDS = 60
STOP_SECONDS = 30.0  # a round running at stop is waited for this long
JOB_DEFAULTS = {
    "coalesce": True,  # runs missed while asleep become one run
    "max_instances": 1,
    "misfire_grace_time": None,  # late is better than never: run however late
}


class _Rounds:
    """Runs rounds one at a time (the tick and a wake-up may fire together)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.scheduler: AsyncIOScheduler | None = None

    def run(self) -> None:
        with self.lock:
            if self.stopped.is_set():  # handed to a thread before the stop
                return
            runtime = self.runtime
            if self._run_due(runtime.clock()):
                self.plan_wakeups()

    def replan(self) -> None:
        """The clock was moved on: a round if something is due now, else plan again."""
        with self.lock:
            if self.stopped.is_set():
                return
            runtime = self.runtime
            now = runtime.clock()
            if anything_due(runtime, now) and not self._run_due(now):
                return
            self.plan_wakeups()

    def _run_due(self, now: datetime) -> bool:
        """One round; False when it stopped between batches because serve stops."""
        try:
            run_due(self.runtime, now, stopping=self.stopped.is_set)
        except RoundStopped as stopped:
            log.info("round stopped, the next start does the rest: %s", stopped)
            return False
        return True

    def finish(self, seconds: float) -> bool:
        """Start no round any more; wait up to *seconds* for the one running.

        True when no round is running any more (blocking: call it in a thread).
        """
        self.stopped.set()
        if not self.lock.acquire(timeout=seconds):
            return False
        self.lock.release()
        return True

    def plan_wakeups(self) -> None:
        scheduler = self.scheduler
        if scheduler is None or not scheduler.running:
            return
        clock = self.runtime.clock
        for slug, at in next_wakeups(self.runtime, clock()).items():
            when = system_time(clock, at)
            if when is None:  # a held clock: the round after it moves on plans again
                if scheduler.get_job(f"wake:{slug}") is not None:
                    scheduler.remove_job(f"wake:{slug}")
                continue
            scheduler.add_job(
                self.run,
                DateTrigger(run_date=when),
                id=f"wake:{slug}",
                name=f"next event of {slug}",
                replace_existing=True,
            )


def build_scheduler(
    runtime: Runtime, tick_seconds: float = TICK_SECONDS
) -> AsyncIOScheduler:
    """A scheduler with the tick job; wake-ups are added after each round."""
    return _build(runtime, tick_seconds)[0]


def _build(
    runtime: Runtime, tick_seconds: float = TICK_SECONDS
) -> tuple[AsyncIOScheduler, _Rounds]:
    rounds = _Rounds(runtime)
    # Rounds run in the scheduler's own threads, not the loop's: the asyncio
    # executor cancels what it handed out at shutdown (logging each as a failed
    # job) and cannot wait for it; a pool's threads are left to end, and
    # scheduler_worker waits for them.
    scheduler = AsyncIOScheduler(
        timezone=UTC,
        job_defaults=dict(JOB_DEFAULTS),
        executors={"default": ThreadPoolExecutor(max_workers=2)},
    )
    rounds.scheduler = scheduler
    # A scaled clock ticks as often in its own time, but not more than every few
    # seconds: its wake-ups are planned again whenever it is moved on.
    interval = max(tick_seconds / clock_rate(runtime.clock), min(tick_seconds, 5.0))
    scheduler.add_job(
        rounds.run,
        IntervalTrigger(seconds=interval, timezone=UTC),
        id="tick",
        name="everything due",
        next_run_time=system_clock(),  # catch up at once on start
        replace_existing=True,
    )
    return scheduler, rounds


def _replan_when_moved(
    scheduler: AsyncIOScheduler, rounds: _Rounds
) -> Callable[[], None]:
    """A listener that plans the wake-ups again when the clock is moved on (any thread)."""

    def listener() -> None:
        if scheduler.running:
            scheduler.add_job(
                rounds.replan,
                id="moved",
                name="the clock moved on",
                replace_existing=True,
                max_instances=2,  # one may wait its turn to plan for the new time
            )

    return listener


async def scheduler_worker(
    runtime: Runtime, stop: asyncio.Event, stop_seconds: float = STOP_SECONDS
) -> None:
    """Run the scheduler until *stop* is set (a background worker of ``serve``).

    Stopping waits up to *stop_seconds* for a round in progress, even when
    this task is being cancelled.
    """
    scheduler, rounds = _build(runtime)
    scheduler.start()
    forget = on_advance(runtime.clock, _replan_when_moved(scheduler, rounds))
    log.info("scheduler started")
    try:
        await stop.wait()
    finally:
        forget()
        scheduler.shutdown(wait=False)  # wait=True would block the loop, unbounded
        await _finish(rounds, stop_seconds)


async def _finish(rounds: _Rounds, seconds: float) -> None:
    """Wait for the running round (bounded), then say whether the scheduler stopped cleanly."""
    waiting = asyncio.ensure_future(asyncio.to_thread(rounds.finish, seconds))
    try:
        await asyncio.shield(waiting)
    except asyncio.CancelledError:
        await waiting  # the round in progress ends before we go
        raise
    finally:
        if waiting.done() and not waiting.cancelled() and waiting.result():
            log.info("scheduler stopped")
        else:
            log.error(
                "a scheduled round was still running after %g s: "
                "the scheduler stopped without waiting for it any longer",
                seconds,
            )
