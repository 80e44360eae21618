"""The outbox: every outgoing message is a row with a UNIQUE dedupe key.

Enqueueing the same key twice (a job that fires twice, on one node or two)
stores one row, so the message is sent once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from store.models import OutboxMessage, OutboxState


@dataclass(frozen=True)
class OutgoingRow:
    """One rendered message for one recipient, ready to be queued."""

    dedupe_key: str
    kind: str
    recipient: str
    envelope_from: str
    message_id: str
    raw: bytes
    discussion_id: int | None = None
    subscription_id: int | None = None


def enqueue(session: Session, rows: list[OutgoingRow], now: datetime) -> int:
    """Queue *rows*, skipping any whose dedupe key is already queued or sent.

    Returns how many rows were new. The caller commits, typically together with
    the change that made the mail necessary.
    """
    if not rows:
        return 0
    values = [
        {
            "dedupe_key": r.dedupe_key,
            "kind": r.kind,
            "recipient": r.recipient,
            "envelope_from": r.envelope_from,
            "message_id": r.message_id,
            "raw": r.raw,
            "discussion_id": r.discussion_id,
            "subscription_id": r.subscription_id,
            "state": OutboxState.QUEUED,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        }
        for r in rows
    ]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(OutboxMessage)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id)
    )
    return len(session.execute(stmt, values).all())
