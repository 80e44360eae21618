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
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from store.models import InboundMessage, InboundState
from store.prepared import PreparedInsert


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
# Built once: a statement made per message costs more than running it.
_STORE = {
    "postgresql": PreparedInsert(
        pg_insert(_INBOUND)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(_INBOUND.c.id),
        _KEYS,
    ),
    "sqlite": PreparedInsert(
        sqlite_insert(_INBOUND)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(_INBOUND.c.id),
        _KEYS,
    ),
}
_STORE_PLAIN = PreparedInsert(insert(_INBOUND).returning(_INBOUND.c.id), _KEYS)
_BY_KEY = select(_INBOUND.c.id).where(_INBOUND.c.dedupe_key == bindparam("key"))


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


def store_inbound(
    session: Session | Connection,
    *,
    raw: bytes,
    dedupe_key: str,
    message_id: str | None,
    envelope_from: str,
    envelope_to: Sequence[str],
    received_via: str,
    peer: str,
    now: datetime,
) -> StoredMessage:
    """Insert a received message unless its dedupe key is known; the caller commits.

    Uses INSERT ... ON CONFLICT DO NOTHING, so two sessions racing with the same
    message (two MX hosts, SMTP and IMAP) both succeed and one row remains. The
    envelope, as a hostile client or a mailbox's headers give it, is made
    storable (:func:`_storable`): a NUL there must not make the store refuse
    the message, which the sender would be told to send again for ever.
    """
    key = _storable(dedupe_key)  # the same text for the insert and the lookup
    values = {
        "dedupe_key": key,
        "message_id": None if message_id is None else _storable(message_id),
        "envelope_from": _storable(envelope_from[:998]),
        "envelope_to": _storable("\n".join(envelope_to)),
        "received_via": received_via,
        "peer": _storable(peer[:100]),
        "raw": raw,
        "size": len(raw),
        "received_at": now,
        "state": InboundState.NEW,
        "attempts": 0,
    }
    connection = session if isinstance(session, Connection) else session.connection()
    new_id = _STORE.get(connection.dialect.name, _STORE_PLAIN).scalar(
        connection, values
    )
    if new_id is not None:
        return StoredMessage(new_id, duplicate=False)
    existing = connection.execute(_BY_KEY, {"key": key}).scalar()
    assert existing is not None
    return StoredMessage(existing, duplicate=True)


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
