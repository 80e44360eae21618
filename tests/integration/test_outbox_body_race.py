"""Queueing mail with an old shared body while a prune runs: both succeed, on both databases.

Two real connections, interleaved: one transaction stops at a chosen
statement, the other runs meanwhile in its own thread until it finishes or
waits for the first (a lock, or SQLite's write lock), and then the first goes
on and commits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from store.assembly import SharedBody
from store.bodies import prune_bodies
from store.db import make_engine, make_sessionmaker
from store.models import OutboxBody, OutboxMessage
from store.outbox import OutgoingRow, enqueue, mark_sent

QUEUED_FIRST = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
NOW = QUEUED_FIRST + timedelta(days=2)
BEFORE = NOW - timedelta(hours=1)  # what `ediscuss outbox purge` passes
BODY = SharedBody((b"the shared part\r\n", b"and its second segment\r\n"))

Work = Callable[[Session], int]


def _row(key: str) -> OutgoingRow:
    return OutgoingRow(
        dedupe_key=key,
        kind="digest",
        recipient=f"{key}@example.net",
        envelope_from="bounces@discuss.example.org",
        message_id=f"<{key}@discuss.example.org>",
        raw=b"Subject: s\r\n\r\n--\r\n",
        body=BODY,
        body_at=(13, 17),
    )


def queue_new(session: Session) -> int:
    return enqueue(session, [_row("new")], NOW)


def prune(session: Session) -> int:
    return prune_bodies(session, before=BEFORE)


def _waiting_on_a_lock(engine: Engine) -> bool:
    if engine.dialect.name != "postgresql":
        return False  # SQLite's busy wait cannot be seen from outside
    with engine.connect() as c:
        n = c.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(n)


def _let_run(engine: Engine, other: threading.Thread) -> None:
    """Until *other* ends or waits for us (at most 1 s where waiting cannot be seen)."""
    seconds = 10.0 if engine.dialect.name == "postgresql" else 1.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        other.join(0.05)
        if not other.is_alive() or _waiting_on_a_lock(engine):
            return


def interleave(
    engine: Engine, first: Work, at: str, *, after: bool, second: Work
) -> tuple[dict[str, int], dict[str, BaseException]]:
    """Run *first* until it reaches the statement starting with *at*; *second* runs then."""
    sessions = make_sessionmaker(engine)
    results: dict[str, int] = {}
    errors: dict[str, BaseException] = {}

    def run(name: str, work: Work, hook: Callable[..., None] | None = None) -> None:
        try:
            with sessions.begin() as s:
                if hook is not None:
                    kind = "after_cursor_execute" if after else "before_cursor_execute"
                    event.listen(s.connection(), kind, hook)
                results[name] = work(s)
        except SQLAlchemyError as exc:
            errors[name] = exc

    other = threading.Thread(target=run, args=("second", second))
    started = threading.Event()

    def hook(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if statement.startswith(at) and not started.is_set():
            started.set()
            other.start()
            _let_run(engine, other)

    run("first", first, hook)
    assert started.is_set(), f"the first transaction never ran {at!r}"
    other.join(30)
    assert not other.is_alive()
    return results, errors


@pytest.fixture
def engine(db_url: str) -> Any:
    """A store with one body last used two days ago, by a row sent since."""
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as s:
        enqueue(s, [_row("old")], QUEUED_FIRST)
    with sessions.begin() as s:
        old = s.scalar(select(OutboxMessage.id))
        assert old is not None
        mark_sent(s, old, now=QUEUED_FIRST)
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    ("order", "at", "after", "dropped"),
    [
        # The enqueue has looked at its body and is about to add its row.
        ("enqueue first", "INSERT INTO outbox (", False, 0),
        # The enqueue's row is in, not yet committed.
        ("enqueue first", "INSERT INTO outbox (", True, 0),
        # The prune has deleted the body, not yet committed.
        ("prune first", "DELETE FROM outbox_bodies", True, 1),
    ],
)
def test_a_purge_and_an_enqueue_reusing_an_old_body_both_succeed(
    engine: Engine, order: str, at: str, after: bool, dropped: int
) -> None:
    if order == "enqueue first":
        results, errors = interleave(engine, queue_new, at, after=after, second=prune)
        queued, pruned = results.get("first"), results.get("second")
    else:
        results, errors = interleave(engine, prune, at, after=after, second=queue_new)
        pruned, queued = results.get("first"), results.get("second")
    assert errors == {}
    assert (queued, pruned) == (1, dropped)
    with make_sessionmaker(engine)() as s:
        new = s.scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == "new")
        ).one()
        assert new.body_hash == BODY.digest
        assert new.whole() == _row("new").whole()
        assert s.scalar(select(OutboxBody.created_at)) == NOW
    # A later prune leaves it to the row queued.
    with make_sessionmaker(engine).begin() as s:
        assert prune_bodies(s, before=BEFORE) == 0


def test_an_enqueue_with_a_clock_behind_never_ages_a_body(engine: Engine) -> None:
    sessions = make_sessionmaker(engine)
    with sessions.begin() as s:
        enqueue(s, [_row("late")], QUEUED_FIRST - timedelta(days=1))
    with sessions() as s:
        assert s.scalar(select(OutboxBody.created_at)) == QUEUED_FIRST
