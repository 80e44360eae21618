"""The outbox queries on both databases: claims, backoff, retry and purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from store.db import make_engine, make_sessionmaker
from store.models import OutboxMessage, OutboxState
from store.outbox import (
    _CLAIMS,
    _SENDING,
    RELEASE_CHUNK,
    OutgoingRow,
    claim_due,
    count_by_state,
    enqueue,
    list_messages,
    mark_deferred,
    mark_failed,
    mark_sent,
    purge_sent,
    release_stale,
    retry_messages,
)
from store.retries import retry_delay

NOW = datetime(2027, 3, 28, 17, 0, tzinfo=UTC)


def row(i: int) -> OutgoingRow:
    return OutgoingRow(
        dedupe_key=f"k{i}",
        kind="test",
        recipient=f"r{i}@example.net",
        envelope_from="d-bounces@discuss.example.org",
        message_id=f"<{i}@x>",
        raw=b"Subject: x\r\n\r\nhi\r\n",
    )


def test_claims_respect_the_limit_and_never_overlap(db_url: str) -> None:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as s:
            enqueue(s, [row(i) for i in range(25)], NOW)
        with sessions.begin() as s:
            first = claim_due(s, claimant="a", now=NOW, limit=10)
        with sessions.begin() as s:
            second = claim_due(s, claimant="b", now=NOW, limit=10)
        with sessions.begin() as s:
            third = claim_due(s, claimant="c", now=NOW, limit=10)
            assert claim_due(s, claimant="d", now=NOW, limit=10) == []
        assert [len(first), len(second), len(third)] == [10, 10, 5]
        ids = [m.id for m in first + second + third]
        assert len(set(ids)) == 25 and ids == sorted(ids)  # oldest first
        assert all(m.attempts == 1 for m in first)
        with sessions() as s:
            assert count_by_state(s) == {OutboxState.SENDING: 25}
    finally:
        engine.dispose()


def test_backoff_retry_and_purge(db_url: str) -> None:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    try:
        assert retry_delay(1, timedelta(seconds=60)) == timedelta(seconds=60)
        assert retry_delay(4, timedelta(seconds=60)) == timedelta(seconds=480)
        assert retry_delay(30, timedelta(seconds=60)) == timedelta(hours=6)
        with sessions.begin() as s:
            enqueue(s, [row(i) for i in range(3)], NOW)
        with sessions.begin() as s:
            a, b, c = claim_due(s, claimant="w", now=NOW, limit=10)
            mark_sent(s, a.id, now=NOW)
            mark_failed(s, b.id, error="550 no")
            state = mark_deferred(
                s,
                c,
                now=NOW,
                error="451 later",
                first_retry_seconds=60,
                max_age=timedelta(hours=1),
            )
            assert state is OutboxState.QUEUED
        with sessions.begin() as s:
            assert claim_due(s, claimant="w", now=NOW, limit=10) == []
            # Sent rows are never revived; failed and deferred ones are.
            assert retry_messages(s, now=NOW, ids=[a.id]) == 0
            assert retry_messages(s, now=NOW, failed=True) == 1
            assert retry_messages(s, now=NOW, ids=[c.id]) == 1
            assert retry_messages(s, now=NOW) == 0
        with sessions.begin() as s:
            again = claim_due(s, claimant="w", now=NOW, limit=10)
            assert sorted(m.id for m in again) == [b.id, c.id]
            assert all(m.attempts == 1 for m in again)
        with sessions.begin() as s:
            assert purge_sent(s, before=NOW) == 0
            assert purge_sent(s, before=NOW + timedelta(days=1)) == 1
        with sessions() as s:
            assert [m.id for m in list_messages(s)] == [c.id, b.id]
            assert list_messages(s, state=OutboxState.SENT) == []
    finally:
        engine.dispose()


def _plan(session: Session, stmt: object, params: dict[str, object]) -> str:
    """The database's plan for *stmt*, as text (seq scans off on PostgreSQL)."""
    connection = session.connection()
    compiled = stmt.compile(dialect=connection.dialect)  # type: ignore[attr-defined]
    values = {
        k: str(v) if isinstance(v, datetime) else getattr(v, "value", v)
        for k, v in compiled.construct_params(params).items()
    }
    args: Any = values
    if compiled.positiontup is not None:  # SQLite
        args = tuple(values[k] for k in compiled.positiontup)
    if connection.dialect.name == "postgresql":
        # A small table is read whole; what matters is that the index can serve.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        explain = "EXPLAIN "
    else:
        explain = "EXPLAIN QUERY PLAN "
    result = connection.exec_driver_sql(explain + compiled.string, args)
    return "\n".join(" ".join(str(v) for v in r) for r in result)


def test_claims_and_releases_read_the_partial_indexes(db_url: str) -> None:
    """A claim reads the due rows' index in its order, a release the sending rows'.

    Without them, both walk every row version the outbox ever had until a
    VACUUM (migration 0014).
    """
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as s:
            enqueue(s, [row(i) for i in range(25)], NOW)
        with sessions.begin() as s:
            dialect = s.get_bind().dialect.name
            claim = _CLAIMS[dialect]
            plan = _plan(
                s,
                claim,
                {"now": NOW, "due_from": NOW, "claimant": "a", "claim_limit": 10},
            )
            assert "ix_outbox_next_attempt_at_id" in plan, plan
            stale = select(OutboxMessage.id).where(
                _SENDING, OutboxMessage.claimed_at < bindparam("before")
            )
            plan = _plan(s, stale, {"before": NOW})
            assert "ix_outbox_claimed_at" in plan, plan
            s.rollback()
    finally:
        engine.dispose()


def test_a_claim_from_a_due_time_leaves_earlier_rows_to_the_next_full_claim(
    db_url: str,
) -> None:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as s:
            enqueue(s, [row(i) for i in range(10)], NOW)
        with sessions.begin() as s:
            first = claim_due(s, claimant="a", now=NOW, limit=5)
        assert {m.due_at for m in first} == {NOW}
        late = NOW - timedelta(minutes=1)  # a transaction that committed late
        with sessions.begin() as s:
            enqueue(s, [row(10)], late)
        with sessions.begin() as s:
            after = claim_due(s, claimant="a", now=NOW, limit=5, due_from=NOW)
        assert sorted(m.recipient for m in after) == [
            f"r{i}@example.net" for i in range(5, 10)
        ]
        with sessions.begin() as s:
            (again,) = claim_due(s, claimant="a", now=NOW, limit=5)
        assert again.recipient == "r10@example.net" and again.due_at == late
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgresql_compresses_the_personal_bytes_with_lz4(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as c:
            lz4 = (
                "lz4"
                in c.exec_driver_sql(
                    "SELECT enumvals FROM pg_settings "
                    "WHERE name = 'default_toast_compression'"
                ).scalar_one()
            )
            method = c.exec_driver_sql(
                "SELECT attcompression FROM pg_attribute "
                "WHERE attrelid = 'outbox'::regclass AND attname = 'raw'"
            ).scalar_one()
        assert method == ("l" if lz4 else "")
    finally:
        engine.dispose()


def test_release_puts_back_every_stale_row_a_chunk_at_a_time(db_url: str) -> None:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    many = 2 * RELEASE_CHUNK + 10
    try:
        with sessions.begin() as s:
            enqueue(s, [row(i) for i in range(many)], NOW)
        with sessions.begin() as s:
            assert len(claim_due(s, claimant="dead", now=NOW, limit=many)) == many
        later = NOW + timedelta(minutes=5)
        with sessions.begin() as s:
            assert release_stale(s, now=later, lease=timedelta(minutes=10)) == 0
            assert release_stale(s, now=later, lease=timedelta(minutes=1)) == many
        with sessions() as s:
            assert count_by_state(s) == {OutboxState.QUEUED: many}
    finally:
        engine.dispose()
