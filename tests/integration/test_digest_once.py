"""Exactly once: one digest per subscriber per day, fired twice, concurrently, or after a crash."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from mailer.mailings import digests as digests_module
from mailer.mailings import jobs
from mailer.mailings.digests import DigestResult, send_due_digests
from mailer.mailings.due import run_due
from mailer.mailings.listmail import queue_list_mail
from mailer.runtime import Runtime
from store.models import (
    DeliveryMode,
    DigestRun,
    Discussion,
    DiscussionState,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from tests.fixtures.schedule import MovableClock, add_post, discussion_id, outbox

OPENED = datetime(2027, 3, 27, 8, 5, tzinfo=UTC)
DIGEST_27 = datetime(2027, 3, 27, 17, 5, tzinfo=UTC)  # 18:05 CET


def many_subscribers(rt: Runtime, n: int, mode: DeliveryMode) -> list[int]:
    did = discussion_id(rt)
    langs = ["en", "es", "fr", "pt"]
    with rt.sessions.begin() as s:
        people = [
            Subscriber(email=f"reader{i}@example.net", name=f"R {i}", created_at=OPENED)
            for i in range(n)
        ]
        s.add_all(people)
        s.flush()
        subs = [
            Subscription(
                discussion_id=did,
                subscriber_id=p.id,
                language=langs[i % 4],
                mode=mode,
                status=SubscriptionStatus.ACTIVE,
                created_at=OPENED,
            )
            for i, p in enumerate(people)
        ]
        s.add_all(subs)
        s.flush()
        return [sub.id for sub in subs]


def open_with_posts(rt: Runtime, clock: MovableClock) -> None:
    clock.set(OPENED)
    run_due(rt, OPENED)
    for minute in range(0, 50, 10):
        add_post(
            rt,
            1 + minute % 3,
            OPENED + timedelta(hours=2, minutes=minute),
            author=f"Author {minute}",
            body=f"Contribution made {minute} minutes past ten.",
        )


def digest_keys(rt: Runtime) -> Counter[str]:
    return Counter(m.key for m in outbox(rt, ("digest",)))


def runs(rt: Runtime) -> list[tuple[str, bool]]:
    with rt.sessions() as s:
        return [
            (r.label, r.finished_at is not None)
            for r in s.scalars(select(DigestRun).order_by(DigestRun.id))
        ]


def test_fired_twice_concurrently_one_digest_each(
    sim_runtime: Runtime, sim_clock: MovableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = sim_runtime
    monkeypatch.setattr(
        "mailer.outbound.bulk.BATCH_ROWS", 15
    )  # many interleaved batches
    subs = many_subscribers(rt, 120, DeliveryMode.DIGEST)
    open_with_posts(rt, sim_clock)
    sim_clock.set(DIGEST_27)
    barrier = threading.Barrier(2)

    def fire() -> list[DigestResult]:
        barrier.wait()
        return send_due_digests(rt, DIGEST_27)

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(fire) for _ in range(2)]
        results = [f.result(timeout=60) for f in futures]
    keys = digest_keys(rt)
    assert set(keys.values()) == {1}
    assert sorted(keys) == sorted(f"digest:skills-covid19:2027-03-27:{s}" for s in subs)
    assert runs(rt) == [("2027-03-27", True)]
    # Both fired; together they queued each digest once.
    queued = sum(r.queued for batch in results for r in batch)
    assert queued == len(subs)
    # And firing again later that evening sends nothing.
    assert send_due_digests(rt, DIGEST_27 + timedelta(hours=2)) == []


def test_a_crash_half_way_resumes_the_same_digest(
    sim_runtime: Runtime, sim_clock: MovableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = sim_runtime
    monkeypatch.setattr("mailer.outbound.bulk.BATCH_ROWS", 10)
    subs = many_subscribers(rt, 35, DeliveryMode.DIGEST)
    open_with_posts(rt, sim_clock)
    real = queue_list_mail

    def crashing(*args: Any, after_batch: Callable[[], None], **kwargs: Any) -> int:
        def commit_then_die() -> None:
            after_batch()  # the first batch is committed...
            raise RuntimeError("power cut")  # ...and the node dies

        kwargs["after_batch"] = commit_then_die
        return real(*args, **kwargs)

    monkeypatch.setattr(digests_module, "queue_list_mail", crashing)
    with pytest.raises(RuntimeError):
        send_due_digests(rt, DIGEST_27)
    assert sum(digest_keys(rt).values()) == 10
    assert runs(rt) == [("2027-03-27", False)]
    monkeypatch.setattr(digests_module, "queue_list_mail", real)
    # Back two days later, with a post in between: first the interrupted
    # digest is finished with its own window, then one digest covers the rest.
    add_post(rt, 2, DIGEST_27 + timedelta(hours=20), author="Late", body="After.")
    later = DIGEST_27 + timedelta(days=2)
    done = send_due_digests(rt, later)
    assert [(r.label, r.queued) for r in done] == [
        ("2027-03-27", len(subs) - 10),
        ("2027-03-29", len(subs)),
    ]
    keys = digest_keys(rt)
    assert set(keys.values()) == {1} and len(keys) == 2 * len(subs)
    day27 = [m for m in outbox(rt, ("digest",)) if ":2027-03-27:" in m.key]
    assert all("After." not in m.text for m in day27)
    assert runs(rt) == [("2027-03-27", True), ("2027-03-29", True)]


def test_stopping_serve_stops_a_digest_after_the_batch_in_hand(
    sim_runtime: Runtime,
    sim_clock: MovableClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rt = sim_runtime
    monkeypatch.setattr("mailer.outbound.bulk.BATCH_ROWS", 10)
    subs = many_subscribers(rt, 35, DeliveryMode.DIGEST)
    open_with_posts(rt, sim_clock)
    sim_clock.set(DIGEST_27)
    asked: list[Callable[[], bool]] = []  # the scheduler's "are we stopping?"
    real_run_due, real_queue = run_due, queue_list_mail

    def run_due_seen(runtime: Runtime, now: datetime, stopping: Any = None) -> Any:
        asked.append(stopping)
        return real_run_due(runtime, now, stopping)

    first_batch = threading.Event()

    def queue_held(*args: Any, after_batch: Callable[[], None], **kwargs: Any) -> Any:
        def after_the_stop() -> None:
            # The first batch is queued; serve is told to stop now, and the
            # commit goes on once the scheduler has asked the round to stop.
            first_batch.set()
            deadline = time.monotonic() + 15
            while not asked[-1]() and time.monotonic() < deadline:
                time.sleep(0.01)
            after_batch()

        kwargs["after_batch"] = after_the_stop
        return real_queue(*args, **kwargs)

    monkeypatch.setattr(jobs, "run_due", run_due_seen)
    monkeypatch.setattr(digests_module, "queue_list_mail", queue_held)

    async def scenario() -> float:
        stop = asyncio.Event()
        task = asyncio.create_task(jobs.scheduler_worker(rt, stop))
        assert await asyncio.to_thread(first_batch.wait, 15), "no digest started"
        stop.set()
        start = time.monotonic()
        await task
        return time.monotonic() - start

    with caplog.at_level(logging.INFO, logger="ediscuss.schedule"):
        took = asyncio.run(scenario())
    assert took < 10  # the batch in hand, not the 30 s bound
    assert "scheduler stopped" in caplog.messages
    assert any(m.startswith("round stopped, the next start") for m in caplog.messages)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert sum(digest_keys(rt).values()) == 10  # the first batch, committed
    assert runs(rt) == [("2027-03-27", False)]
    # The next start finishes the same digest: each reader gets it once.
    monkeypatch.setattr(digests_module, "queue_list_mail", real_queue)
    done = send_due_digests(rt, DIGEST_27 + timedelta(minutes=10))
    assert [(r.label, r.queued) for r in done] == [("2027-03-27", len(subs) - 10)]
    keys = digest_keys(rt)
    assert set(keys.values()) == {1} and len(keys) == len(subs)
    assert runs(rt) == [("2027-03-27", True)]


def test_downtime_coalesces_into_one_digest(
    sim_runtime: Runtime, sim_clock: MovableClock
) -> None:
    rt = sim_runtime
    subs = many_subscribers(rt, 3, DeliveryMode.DIGEST)
    open_with_posts(rt, sim_clock)
    run_due(rt, DIGEST_27)
    for day in (28, 29, 30):
        add_post(
            rt,
            4,
            datetime(2027, 3, day, 10, 0, tzinfo=UTC),
            author=f"Day {day}",
            body=f"Written on the {day}th.",
        )
    # Down from the 28th in the morning to the 31st at noon: one digest.
    back = datetime(2027, 3, 31, 10, 0, tzinfo=UTC)
    done = run_due(rt, back)
    assert [(d.label, d.posts, d.queued) for d in done.digests] == [
        ("2027-03-30", 3, len(subs))
    ]
    mails = [m for m in outbox(rt, ("digest",)) if ":2027-03-30:" in m.key]
    assert len(mails) == len(subs)
    assert all(f"Written on the {d}th." in mails[0].text for d in (28, 29, 30))
    assert run_due(rt, back + timedelta(minutes=1)).digests == []


def test_closing_sends_a_closing_notice_then_a_last_digest(
    sim_runtime: Runtime, sim_clock: MovableClock
) -> None:
    rt = sim_runtime
    subs = many_subscribers(rt, 4, DeliveryMode.DIGEST)
    each = many_subscribers_other(rt)
    open_with_posts(rt, sim_clock)
    run_due(rt, DIGEST_27)
    closes = datetime(2027, 4, 17, 16, 0, tzinfo=UTC)  # 18:00 CEST
    last_regular = datetime(2027, 4, 16, 16, 5, tzinfo=UTC)
    run_due(rt, last_regular)
    add_post(rt, 3, closes - timedelta(hours=1), author="Last", body="Final word.")
    first = run_due(rt, closes + timedelta(seconds=5))
    assert [c.outcome.value for c in first.closes] == ["closed"]
    assert first.digests == []  # the last digest waits for posts still committing
    second = run_due(rt, closes + timedelta(minutes=1))
    assert [(d.label, d.posts) for d in second.digests] == [("2027-04-17", 1)]
    closing = outbox(rt, ("closing",))
    assert len(closing) == len(subs) + len(each)
    en = next(m for m in closing if m.message["Content-Language"] == "en")
    assert en.subject == "[skills-covid19] The discussion is closed: thank you"
    assert "6 contributions to 11 questions" in " ".join(en.text.split())
    assert en.message["List-Post"] == "NO"
    final = [m for m in outbox(rt, ("digest",)) if ":2027-04-17:" in m.key]
    assert len(final) == len(subs)
    fr = next(m for m in final if m.message["Content-Language"] == "fr")
    assert (
        fr.subject
        == "[skills-covid19] Dernier résumé du 17 avril 2027 : 1 nouvelle contribution"
    )
    assert "Final word." in fr.text and "QUESTIONS OUVERTES" not in fr.text
    # Nothing more, ever: no second close, no more digests.
    assert run_due(rt, closes + timedelta(days=3)).digests == []
    with rt.sessions() as s:
        assert s.scalar(select(Discussion.state)) is DiscussionState.CLOSED


def many_subscribers_other(rt: Runtime) -> list[int]:
    return many_subscribers_named(rt, "each", DeliveryMode.EACH)


def many_subscribers_named(rt: Runtime, prefix: str, mode: DeliveryMode) -> list[int]:
    did = discussion_id(rt)
    with rt.sessions.begin() as s:
        p = Subscriber(email=f"{prefix}@example.net", created_at=OPENED)
        s.add(p)
        s.flush()
        sub = Subscription(
            discussion_id=did,
            subscriber_id=p.id,
            language="en",
            mode=mode,
            status=SubscriptionStatus.ACTIVE,
            created_at=OPENED,
        )
        s.add(sub)
        s.flush()
        return [sub.id]
