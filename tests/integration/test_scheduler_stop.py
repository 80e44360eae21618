"""Stopping ``serve`` waits for the scheduled round in progress, within a bound."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from mailer.clock import system_clock
from mailer.mailings import jobs
from mailer.mailings.due import Round, run_due
from mailer.runtime import Runtime, open_runtime
from mailer.serve import serve
from store.models import Question
from tests.fixtures.settings import SettingsFactory
from tests.integration.test_jobs import shifted


class HeldRounds:
    """The real ``run_due``, held at its start until the test lets it go on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()
        self.real = run_due
        monkeypatch.setattr(jobs, "run_due", self.run_due)

    def run_due(
        self,
        runtime: Runtime,
        now: datetime,
        stopping: Callable[[], bool] | None = None,
    ) -> Round:
        self.started.set()
        self.release.wait(30)
        try:
            return self.real(runtime, now, stopping)
        finally:
            self.finished.set()


@pytest.fixture
def rt(db_url: str, make_settings: SettingsFactory) -> Iterator[Runtime]:
    """The service with six questions due an hour ago: the first round releases them."""
    now = system_clock()
    settings = shifted(
        make_settings(db_url), now - timedelta(hours=1), now + timedelta(days=3)
    )
    runtime = open_runtime(settings, migrate=True)
    try:
        yield runtime
    finally:
        runtime.close()


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldRounds]:
    """Rounds held at their start; let go at the end whatever happened."""
    rounds = HeldRounds(monkeypatch)
    yield rounds
    rounds.release.set()


def released(rt: Runtime) -> list[int]:
    with rt.sessions() as s:
        return sorted(
            s.scalars(select(Question.number).where(Question.released_at.is_not(None)))
        )


def test_serve_says_stopped_only_after_the_round_in_progress_wrote(
    rt: Runtime, held: HeldRounds, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> tuple[bool, float]:
        stop = asyncio.Event()
        task = asyncio.create_task(serve(rt, stop))
        assert await asyncio.to_thread(held.started.wait, 15), "no round started"
        stop.set()
        stopped_at = time.monotonic()
        # The round goes on writing well after serve has stopped everything else.
        threading.Timer(1.5, held.release.set).start()
        await task
        return held.finished.is_set(), time.monotonic() - stopped_at

    with caplog.at_level(logging.INFO, logger="ediscuss"):
        finished, took = asyncio.run(scenario())
    assert finished, "serve returned while the round was still running"
    assert 1.4 < took < 10
    assert released(rt) == [1, 2, 3, 4, 5, 6]
    lines = [r.getMessage() for r in caplog.records]
    assert "scheduler stopped" in lines
    assert lines.index("scheduler stopped") < lines.index("stopped")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_round_that_does_not_end_is_given_up_after_the_bound(
    rt: Runtime, held: HeldRounds, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> tuple[float, bool]:
        stop = asyncio.Event()
        task = asyncio.create_task(jobs.scheduler_worker(rt, stop, stop_seconds=0.5))
        assert await asyncio.to_thread(held.started.wait, 15), "no round started"
        stop.set()
        start = time.monotonic()
        await task
        took, finished = time.monotonic() - start, held.finished.is_set()
        held.release.set()  # the round ends before the store is closed
        await asyncio.to_thread(held.finished.wait, 30)
        return took, finished

    with caplog.at_level(logging.INFO, logger="ediscuss.schedule"):
        took, finished = asyncio.run(scenario())
    assert 0.4 < took < 5
    assert not finished
    [error] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.getMessage().startswith(
        "a scheduled round was still running after 0.5 s"
    )
    assert "scheduler stopped" not in caplog.messages
