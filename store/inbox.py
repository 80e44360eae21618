"""Inbound raw messages: stored exactly once (processing them: :mod:`store.processing`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from store.errors import MissingRow
from store.models import InboundMessage, InboundState, Via
from store.prepared import PreparedInsert
from store.writes import conflict_insert


@dataclass(frozen=True)
class StoredMessage:
    """Where a received message landed: its row id, and whether it was already there."""

    inbound_id: int
    duplicate: bool


_INBOUND = cast(Table, InboundMessage.__table__)
_KEYS = (
    "dedupe_key",
    "message_id",
    "envelope_from",
    "envelope_to",
    "received_via",
    "peer",
    "raw",
    "size",
    "received_at",
    "state",
    "attempts",
)
# Built once: a statement made per message costs more than running it. Both
# databases the service runs on have INSERT ... ON CONFLICT DO NOTHING.
_STORE = {
    name: PreparedInsert(
        conflict_insert(name, _INBOUND)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(_INBOUND.c.id, _INBOUND.c.dedupe_key),
        _KEYS,
    )
    for name in ("postgresql", "sqlite")
}
_BY_KEYS = select(_INBOUND.c.dedupe_key, _INBOUND.c.id).where(
    _INBOUND.c.dedupe_key.in_(bindparam("keys", expanding=True))
)


def _storable(text: str) -> str:
    """*text* as every database can keep it: no NUL (PostgreSQL refuses it in
    text) and no lone surrogate (not UTF-8); each becomes U+FFFD. The raw
    bytes, a blob, keep what the sender sent."""
    if text.isascii() and "\x00" not in text:
        return text
    return (
        text.encode("utf-8", "surrogatepass")
        .decode("utf-8", "replace")
        .replace("\x00", "\ufffd")
    )


@dataclass(frozen=True)
class Received:
    """A received message as the store keeps it, before it has a row."""

    raw: bytes
    dedupe_key: str
    message_id: str | None
    envelope_from: str
    envelope_to: Sequence[str]
    received_via: Via
    peer: str


def _row(message: Received, now: datetime) -> dict[str, object]:
    """The column values of *message*'s new row, storable on every database.

    The envelope, as a hostile client or a mailbox's headers give it, is made
    storable (:func:`_storable`): a NUL there must not make the store refuse
    the message, which the sender would be told to send again for ever.
    """
    return {
        "dedupe_key": _storable(message.dedupe_key),
        "message_id": (
            None if message.message_id is None else _storable(message.message_id)
        ),
        "envelope_from": _storable(message.envelope_from[:998]),
        "envelope_to": _storable("\n".join(message.envelope_to)),
        "received_via": message.received_via,
        "peer": _storable(message.peer[:100]),
        "raw": message.raw,
        "size": len(message.raw),
        "received_at": now,
        "state": InboundState.NEW,
        "attempts": 0,
    }


def store_inbound(
    session: Session | Connection,
    *,
    raw: bytes,
    dedupe_key: str,
    message_id: str | None,
    envelope_from: str,
    envelope_to: Sequence[str],
    received_via: Via,
    peer: str,
    now: datetime,
) -> StoredMessage:
    """Insert a received message unless its dedupe key is known; the caller commits.

    Uses INSERT ... ON CONFLICT DO NOTHING, so two sessions racing with the same
    message (two MX hosts, SMTP and IMAP) both succeed and one row remains.
    """
    connection = session if isinstance(session, Connection) else session.connection()
    message = Received(
        raw, dedupe_key, message_id, envelope_from, envelope_to, received_via, peer
    )
    return store_inbound_many(connection, [message], now)[0]


def store_inbound_many(
    connection: Connection, messages: Sequence[Received], now: datetime
) -> list[StoredMessage]:
    """Insert *messages* in one statement, each unless its dedupe key is known;
    where each landed, in order.

    One INSERT ... VALUES (...), (...) ... ON CONFLICT DO NOTHING RETURNING for
    the lot (:meth:`PreparedInsert.rows`): on a connection in autocommit
    mode the statement is its own transaction, so SQLite's write lock is taken,
    used and given back within one call into SQLite, and PostgreSQL answers in
    one round trip. A message whose key was already stored, or that comes
    twice in *messages*, is a duplicate with the id of the row that holds it.
    """
    if not messages:
        return []
    rows = [_row(message, now) for message in messages]
    statement = _STORE[connection.dialect.name]
    inserted: dict[str, int] = {
        key: inbound_id for inbound_id, key in statement.rows(connection, rows)
    }
    keys = [cast(str, row["dedupe_key"]) for row in rows]
    missing = sorted(set(keys) - inserted.keys())
    existing: dict[str, int] = {}
    if missing:
        existing = {
            key: inbound_id
            for key, inbound_id in connection.execute(_BY_KEYS, {"keys": missing})
        }
    out: list[StoredMessage] = []
    for key in keys:
        if key in inserted:
            out.append(StoredMessage(inserted.pop(key), duplicate=False))
            existing[key] = out[-1].inbound_id  # a second copy in this group
        elif key in existing:
            out.append(StoredMessage(existing[key], duplicate=True))
        else:  # pragma: no cover - a conflicting row is there by definition
            raise MissingRow(f"inbound row for dedupe key {key!r} vanished")
    return out


def pending_inbound_ids(session: Session, limit: int = 100) -> list[int]:
    """Ids of received messages not yet processed, oldest first."""
    stmt = (
        select(InboundMessage.id)
        .where(InboundMessage.state == InboundState.NEW)
        .order_by(InboundMessage.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def failed_inbound(session: Session) -> list[InboundMessage]:
    """Messages whose processing failed or that were quarantined, oldest first."""
    stmt = (
        select(InboundMessage)
        .where(
            InboundMessage.state.in_([InboundState.FAILED, InboundState.QUARANTINED])
        )
        .order_by(InboundMessage.id)
    )
    return list(session.scalars(stmt))


def reset_for_retry(session: Session, ids: Sequence[int] = ()) -> list[int]:
    """Put FAILED and QUARANTINED messages (all, or those in *ids*) back to NEW."""
    where: ColumnElement[bool] = InboundMessage.state.in_(
        [InboundState.FAILED, InboundState.QUARANTINED]
    )
    if ids:
        where = where & InboundMessage.id.in_(list(ids))
    reset = session.scalars(
        update(InboundMessage)
        .where(where)
        .values(state=InboundState.NEW, error=None, attempts=0)
        .returning(InboundMessage.id)
    )
    return sorted(reset)


def list_inbound(
    session: Session, state: InboundState | None = None, limit: int = 50
) -> list[InboundMessage]:
    """The newest received messages, optionally in one state, newest first."""
    stmt = select(InboundMessage).order_by(InboundMessage.id.desc()).limit(limit)
    if state is not None:
        stmt = stmt.where(InboundMessage.state == state)
    return list(session.scalars(stmt))


def inbound_counts(session: Session) -> dict[str, int]:
    """How many received messages are in each state."""
    rows = session.execute(
        select(InboundMessage.state, func.count(InboundMessage.id)).group_by(
            InboundMessage.state
        )
    ).all()
    return {state.value: int(n) for state, n in rows}
