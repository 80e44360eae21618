"""The scheduler inside ``serve``: the only module that knows APScheduler (3.x).

Nothing is stored in the scheduler. Its jobs are derived, at start and after
every round, from the configuration and the store: a ``tick`` every minute
(reminders, expiry, and a safety net) that also runs at once on start, so
whatever was missed while the service was down runs once; and one wake-up per
discussion at the next release, closing or digest instant. A restart
therefore neither loses nor duplicates a job, and every job calls
:func:`mailer.due.run_due`, which does only what is due and does it once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from mailer.due import next_wakeups, run_due

if TYPE_CHECKING:
    from mailer.service import Runtime

log = logging.getLogger("ediscuss.schedule")

TICK_SECONDS = 60
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
        self.scheduler: AsyncIOScheduler | None = None

    def run(self) -> None:
        with self.lock:
            runtime = self.runtime
            run_due(runtime, runtime.clock())
            self.plan_wakeups()

    def plan_wakeups(self) -> None:
        scheduler = self.scheduler
        if scheduler is None or not scheduler.running:
            return
        for slug, at in next_wakeups(self.runtime, self.runtime.clock()).items():
            scheduler.add_job(
                self.run,
                DateTrigger(run_date=at),
                id=f"wake:{slug}",
                name=f"next event of {slug}",
                replace_existing=True,
            )


def build_scheduler(
    runtime: Runtime, tick_seconds: float = TICK_SECONDS
) -> AsyncIOScheduler:
    """A scheduler with the tick job; wake-ups are added after each round."""
    rounds = _Rounds(runtime)
    scheduler = AsyncIOScheduler(timezone=UTC, job_defaults=dict(JOB_DEFAULTS))
    rounds.scheduler = scheduler
    scheduler.add_job(
        rounds.run,
        IntervalTrigger(seconds=tick_seconds, timezone=UTC),
        id="tick",
        name="everything due",
        next_run_time=runtime.clock(),  # catch up at once on start
        replace_existing=True,
    )
    return scheduler


async def scheduler_worker(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run the scheduler until *stop* is set (a background worker of ``serve``)."""
    scheduler = build_scheduler(runtime)
    scheduler.start()
    log.info("scheduler started")
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # shutdown runs on the loop
        log.info("scheduler stopped")
