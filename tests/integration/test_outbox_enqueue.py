"""Enqueueing is idempotent by dedupe key, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from store.db import make_engine, make_sessionmaker
from store.models import OutboxMessage, OutboxState
from store.outbox import OutgoingRow, enqueue

NOW = datetime(2027, 3, 28, 17, 0, tzinfo=UTC)


def row(key: str) -> OutgoingRow:
    return OutgoingRow(
        dedupe_key=key,
        kind="test",
        recipient="ana@example.net",
        envelope_from="d-bounces@discuss.example.org",
        message_id=f"<{key}@x>",
        raw=b"Subject: x\r\n\r\nhi\r\n",
    )


def test_enqueue_twice_stores_once(db_url: str) -> None:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as s:
            assert enqueue(s, [row("a"), row("b")], NOW) == 2
        with sessions.begin() as s:
            assert enqueue(s, [row("a"), row("c")], NOW) == 1
        with sessions.begin() as s:
            assert enqueue(s, [], NOW) == 0
        with sessions() as s:
            assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 3
            states = set(s.scalars(select(OutboxMessage.state)))
            assert states == {OutboxState.QUEUED}
    finally:
        engine.dispose()
