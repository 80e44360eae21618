"""Inbound raw messages: stored exactly once, then processed (restartably)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from store.models import InboundMessage, InboundState


@dataclass(frozen=True)
class StoredMessage:
    """Where a received message landed: its row id, and whether it was already there."""

    inbound_id: int
    duplicate: bool


def store_inbound(
    session: Session,
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
    message (two MX hosts, SMTP and IMAP) both succeed and one row remains.
    """
    values = {
        "dedupe_key": dedupe_key,
        "message_id": message_id,
        "envelope_from": envelope_from[:998],
        "envelope_to": "\n".join(envelope_to),
        "received_via": received_via,
        "peer": peer[:100],
        "raw": raw,
        "size": len(raw),
        "received_at": now,
        "state": InboundState.NEW,
        "attempts": 0,
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt = (
            pg_insert(InboundMessage)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(InboundMessage.id)
        )
    elif dialect == "sqlite":
        stmt = (
            sqlite_insert(InboundMessage)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(InboundMessage.id)
        )
    else:  # pragma: no cover - only the two supported databases
        stmt = insert(InboundMessage).values(**values).returning(InboundMessage.id)
    new_id = session.scalar(stmt)
    if new_id is not None:
        return StoredMessage(new_id, duplicate=False)
    existing = session.scalar(
        select(InboundMessage.id).where(InboundMessage.dedupe_key == dedupe_key)
    )
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
