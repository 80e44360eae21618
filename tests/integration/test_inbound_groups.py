"""A group of received messages is stored by one INSERT that commits itself.

The listener's committer stores whatever deliveries are waiting with
:func:`store.inbox.store_inbound_many` on a connection in autocommit mode:
one statement, one transaction. Each message must still land exactly once
(a key already stored, or twice in the group, is a duplicate with the id of
the row that holds it), in the order given, committed when the call returns,
and stored with the same values SQLAlchemy's own execution would store.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from store.db import make_engine, upgrade
from store.inbox import _KEYS, _STORE, Received, store_inbound_many
from store.models import InboundState, Via

NOW = datetime(2027, 3, 28, 9, 30, 15, 123456, tzinfo=UTC)


def _message(n: int, key: str | None = None, via: Via = Via.SMTP) -> Received:
    return Received(
        raw=f"Message-ID: <m{n}@x>\r\nSubject: {n}\r\n\r\nbody {n}\r\n".encode(),
        dedupe_key=key or f"mid:<m{n}@x>",
        message_id=f"<m{n}@x>",
        envelope_from=f"sender{n}@example.org",
        envelope_to=["skills+q1@discuss.example.org"],
        received_via=via,
        peer="127.0.0.1",
    )


def _autocommit(engine: Engine) -> Connection:
    """A connection whose every statement is its own transaction, as the listener's."""
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def _rows(connection: Connection) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in connection.execute(
            text(
                "SELECT id, dedupe_key, received_via FROM inbound_messages ORDER BY id"
            )
        )
    ]


def test_each_lands_once_in_order_and_is_committed_on_return(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with _autocommit(engine) as connection:
            [before] = store_inbound_many(connection, [_message(0)], NOW)
            group = [
                _message(1),
                _message(0, via=Via.IMAP),  # stored by an earlier group
                _message(2),
                _message(1, via=Via.IMAP),  # twice in this group
                _message(3),
            ]
            landed = store_inbound_many(connection, group, NOW)
            # Seen from another connection at once: the statement committed itself.
            with engine.connect() as other:
                rows = _rows(other)
        assert [m.duplicate for m in landed] == [False, True, False, True, False]
        assert landed[1].inbound_id == before.inbound_id
        assert landed[3].inbound_id == landed[0].inbound_id
        ids = {key: row_id for row_id, key, _ in rows}
        assert [m.inbound_id for m in landed] == [
            ids["mid:<m1@x>"],
            ids["mid:<m0@x>"],
            ids["mid:<m2@x>"],
            ids["mid:<m1@x>"],
            ids["mid:<m3@x>"],
        ]
        assert len(rows) == 4  # m0, m1, m2, m3: nothing twice
        assert all(via == "smtp" for _, _, via in rows)  # the first copy stays
    finally:
        engine.dispose()


def _sqlite(path: Path) -> Engine:
    """An engine on a migrated SQLite file at *path*."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


def test_a_group_is_one_insert_statement_on_sqlite(tmp_path: Path) -> None:
    engine = _sqlite(tmp_path / "one.db")
    try:
        with _autocommit(engine) as connection:
            driver = connection.connection.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            seen: list[str] = []
            driver.set_trace_callback(seen.append)
            landed = store_inbound_many(
                connection, [_message(n) for n in range(20)], NOW
            )
            driver.set_trace_callback(None)
        inserts = [s for s in seen if s.lstrip().upper().startswith("INSERT")]
        assert len(inserts) == 1, seen
        # Autocommit: no BEGIN or COMMIT of the driver's own around it.
        assert not [s for s in seen if s.strip().upper() in ("BEGIN", "COMMIT")]
        assert len({m.inbound_id for m in landed}) == 20
    finally:
        engine.dispose()


def test_a_large_group_is_split_and_keeps_its_order(db_url: str) -> None:
    """SQLite allows 999 parameters a statement on old versions: 90 rows of 11."""
    engine = make_engine(db_url)
    try:
        with _autocommit(engine) as connection:
            landed = store_inbound_many(
                connection, [_message(n) for n in range(200)], NOW
            )
            ids = {key: row_id for row_id, key, _ in _rows(connection)}
        assert [m.inbound_id for m in landed] == [
            ids[f"mid:<m{n}@x>"] for n in range(200)
        ]
        assert not any(m.duplicate for m in landed)
    finally:
        engine.dispose()


def test_rows_store_what_sqlalchemy_would_store(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            prepared = _STORE[connection.dialect.name]
            values = {
                "dedupe_key": "mid:<fast@x>",
                "message_id": None,
                "envelope_from": "",
                "envelope_to": "skills+q1@discuss.example.org\nskills@discuss.example.org",
                "received_via": "lmtp",
                "peer": "127.0.0.1",
                "raw": b"Subject: x\r\n\r\n\x00\xff\xfe body\r\n",
                "size": 25,
                "received_at": NOW,
                "state": InboundState.NEW,
                "attempts": 0,
            }
            assert set(values) == set(_KEYS)
            [(fast_id, fast_key)] = prepared.rows(connection, [values])
            slow_id, slow_key = connection.execute(
                prepared.statement, {**values, "dedupe_key": "mid:<slow@x>"}
            ).one()
            assert (fast_key, slow_key) == ("mid:<fast@x>", "mid:<slow@x>")
            got, want = (
                dict(
                    connection.execute(
                        text("SELECT * FROM inbound_messages WHERE id = :id"),
                        {"id": row_id},
                    )
                    .one()
                    ._mapping
                )
                for row_id in (fast_id, slow_id)
            )
            for row in (got, want):
                del row["id"], row["dedupe_key"]
            assert got == want
    finally:
        engine.dispose()


def test_a_locked_database_is_sqlalchemys_operational_error(tmp_path: Path) -> None:
    """What the listener answers 451 to, as before."""
    engine = _sqlite(tmp_path / "locked.db")
    holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with _autocommit(engine) as connection:
            connection.exec_driver_sql("PRAGMA busy_timeout=100")
            with pytest.raises(OperationalError, match="locked"):
                store_inbound_many(connection, [_message(1), _message(2)], NOW)
        holder.execute("ROLLBACK")
        with engine.connect() as connection:
            assert _rows(connection) == []  # nothing half-stored
    finally:
        holder.close()
        engine.dispose()


def test_an_event_loop_is_woken_once_for_a_whole_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from mailer.inbound import receive
    from mailer.inbound.smtp import Delivery
    from mailer.inbound.writers import writer_lock
    from store.db import make_sessionmaker

    engine = _sqlite(tmp_path / "woken.db")
    sessions = make_sessionmaker(engine)
    accept = receive.make_accept(sessions, lambda: NOW)
    wakes: list[int] = []
    settle = receive._settle

    def counted(slots: list[receive._Slot]) -> None:
        wakes.append(len(slots))
        settle(slots)

    monkeypatch.setattr(receive, "_settle", counted)

    def delivery(n: int) -> Delivery:
        raw = _message(n).raw
        return Delivery(raw, f"s{n}@example.org", ("q@x",), Via.SMTP, "127.0.0.1")

    async def send() -> list[int]:
        lock = writer_lock(sessions)
        with lock:  # the first group waits for the lock; the other 19 queue behind it
            first = asyncio.ensure_future(accept.submit(delivery(0)))
            rest = [
                asyncio.ensure_future(accept.submit(delivery(n))) for n in range(1, 20)
            ]
            await asyncio.sleep(0.2)
        done = await asyncio.gather(first, *rest)
        return [a.inbound_id for a in done]

    try:
        ids = asyncio.run(send())
        with engine.connect() as connection:
            rows = _rows(connection)
    finally:
        engine.dispose()
    assert ids == [row_id for row_id, _, _ in rows]  # each its own row, in order
    assert wakes == [1, 19]  # one wake per group, not one per message
