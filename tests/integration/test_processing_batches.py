"""Which stored messages a processing batch takes: the oldest untaken, within a byte bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store.db import make_engine, make_sessionmaker
from store.inbox import store_inbound
from store.models import Via
from store.processing import count_attempts, pending_items

NOW = datetime(2027, 3, 27, 8, 0, tzinfo=UTC)


def _store(db_url: str, sizes: list[int]) -> list[int]:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    ids = []
    with sessions.begin() as s:
        for i, size in enumerate(sizes):
            raw = f"Message-ID: <b{i}@example.net>\r\n\r\n".encode() + b"x" * size
            stored = store_inbound(
                s,
                raw=raw,
                dedupe_key=f"mid:<b{i}@example.net>",
                message_id=f"<b{i}@example.net>",
                envelope_from="ana@example.net",
                envelope_to=["skills-covid19+q1@discuss.example.org"],
                received_via=Via.SMTP,
                peer="127.0.0.1",
                now=NOW,
            )
            ids.append(stored.inbound_id)
    engine.dispose()
    return ids


def _pending(db_url: str, limit: int, max_bytes: int | None) -> list[int]:
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as s:
            stale = NOW - timedelta(minutes=10)
            return [item.id for item in pending_items(s, limit, stale, max_bytes)]
    finally:
        engine.dispose()


def test_a_batch_stops_at_its_byte_bound_but_always_takes_one(db_url: str) -> None:
    ids = _store(db_url, [5000, 1000, 1000, 1000])
    assert _pending(db_url, 10, None) == ids
    assert _pending(db_url, 2, None) == ids[:2]
    # The first message alone is over the bound: it still goes, alone.
    assert _pending(db_url, 10, 4000) == ids[:1]
    assert _pending(db_url, 10, 6500) == ids[:2]
    assert _pending(db_url, 10, 10_000) == ids


def test_a_message_counted_by_another_worker_is_not_taken(db_url: str) -> None:
    ids = _store(db_url, [100, 100, 100])
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine).begin() as s:
            assert count_attempts(s, [ids[1]], NOW) == [ids[1]]
    finally:
        engine.dispose()
    # Counted a moment ago: somebody is at work on it.
    assert _pending(db_url, 10, None) == [ids[0], ids[2]]
