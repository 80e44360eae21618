"""Inbound raw messages: stored exactly once, then processed (restartably)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, insert, select, update
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


def claim_inbound(
    session: Session,
    inbound_id: int,
    states: Sequence[InboundState],
    attempts: int | None = None,
) -> InboundMessage | None:
    """Lock message *inbound_id* if it is in one of *states* (and not locked elsewhere).

    With *attempts*, only while its attempt count is still that one.
    """
    where = (InboundMessage.id == inbound_id) & InboundMessage.state.in_(states)
    if attempts is not None:
        where = where & (InboundMessage.attempts == attempts)
    if session.get_bind().dialect.name == "postgresql":
        stmt = select(InboundMessage).where(where).with_for_update(skip_locked=True)
        return session.scalars(stmt).first()
    claimed = session.scalar(
        update(InboundMessage)
        .where(where)
        .values(attempts=InboundMessage.attempts)
        .returning(InboundMessage.id)
    )
    return None if claimed is None else session.get(InboundMessage, claimed)


def failed_retry_candidates(
    session: Session, limit: int = 100
) -> list[tuple[int, int, datetime | None]]:
    """(id, attempts, last try) of FAILED messages, oldest first; the caller picks the due."""
    stmt = (
        select(InboundMessage.id, InboundMessage.attempts, InboundMessage.processed_at)
        .where(InboundMessage.state == InboundState.FAILED)
        .order_by(InboundMessage.id)
        .limit(limit)
    )
    return [(i, n, at) for i, n, at in session.execute(stmt).all()]


def record_failure(
    session: Session, inbound_id: int, error: str, now: datetime, max_attempts: int
) -> InboundState:
    """Record a failed attempt (already counted when it started): FAILED, retried
    later, or QUARANTINED once *max_attempts* attempts were made."""
    row = session.get(InboundMessage, inbound_id, with_for_update=True)
    if row is None:
        raise LookupError(f"no inbound message {inbound_id}")
    row.error = error[:4000]
    row.processed_at = now
    row.state = (
        InboundState.QUARANTINED
        if row.attempts >= max_attempts
        else InboundState.FAILED
    )
    return row.state


def park_inbound(session: Session, row: InboundMessage, kind: str, why: str) -> None:
    """Leave a message NEW but skipped until :func:`release_parked` (no handler yet).

    Waiting for a handler is not a failed attempt: the one counted is given back.
    """
    row.kind = kind[:20]
    row.error = why[:4000]
    row.attempts = max(row.attempts - 1, 0)


def release_parked(session: Session) -> int:
    """Make parked NEW messages claimable again (at start-up, after an upgrade)."""
    result = session.execute(
        update(InboundMessage)
        .where(
            InboundMessage.state == InboundState.NEW, InboundMessage.error.is_not(None)
        )
        .values(error=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


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


@dataclass(frozen=True)
class InboundItem:
    """A received message as processing needs it, detached from any session."""

    id: int
    dedupe_key: str
    message_id: str | None
    envelope_from: str
    envelope_to: str
    raw: bytes
    attempts: int = 0  # processing attempts started so far

    @classmethod
    def of(cls, row: InboundMessage) -> InboundItem:
        """The item of a loaded row."""
        return cls(
            row.id,
            row.dedupe_key,
            row.message_id,
            row.envelope_from,
            row.envelope_to,
            row.raw,
            row.attempts,
        )


def pending_items(
    session: Session, limit: int, stale_before: datetime
) -> list[InboundItem]:
    """The oldest NEW (not parked) messages nobody is processing, read without a lock.

    That is: never tried, or tried (counted) before *stale_before* and never
    finished, because the process working on it died.
    """
    stmt = (
        select(
            InboundMessage.id,
            InboundMessage.dedupe_key,
            InboundMessage.message_id,
            InboundMessage.envelope_from,
            InboundMessage.envelope_to,
            InboundMessage.raw,
            InboundMessage.attempts,
        )
        .where(
            InboundMessage.state == InboundState.NEW,
            InboundMessage.error.is_(None),
            (InboundMessage.attempts == 0)
            | InboundMessage.processed_at.is_(None)
            | (InboundMessage.processed_at <= stale_before),
        )
        .order_by(InboundMessage.id)
        .limit(limit)
    )
    return [InboundItem(*row) for row in session.execute(stmt).all()]


def count_attempts(session: Session, ids: Sequence[int], now: datetime) -> list[int]:
    """Count an attempt on those of *ids* still NEW and never tried; returns them.

    The caller commits this before processing, so a message that kills the
    process outright has its attempt counted all the same. ``attempts = 0``
    in the condition makes it a claim too: of two workers, one counts it.
    """
    if not ids:
        return []
    claimed = session.scalars(
        update(InboundMessage)
        .where(
            InboundMessage.id.in_(list(ids)),
            InboundMessage.state == InboundState.NEW,
            InboundMessage.error.is_(None),
            InboundMessage.attempts == 0,
        )
        .values(attempts=1, processed_at=now)
        .returning(InboundMessage.id)
    )
    return sorted(claimed)


def count_attempt(
    session: Session,
    inbound_id: int,
    states: Sequence[InboundState],
    now: datetime,
    max_attempts: int,
) -> InboundMessage | None:
    """Count one more attempt on message *inbound_id* if it is in *states*; the caller commits.

    A NEW message that already had *max_attempts* attempts, none of which
    finished (each start is counted, so the process died every time), is
    QUARANTINED instead. Returns the row, or None when it is not in *states*
    or is locked by another worker.
    """
    row = claim_inbound(session, inbound_id, states)
    if row is None:
        return None
    if row.state is InboundState.NEW and row.attempts >= max_attempts:
        row.state = InboundState.QUARANTINED
        row.error = (
            f"processing never finished in {row.attempts} attempts "
            "(the process stopped while working on it)"
        )
        row.processed_at = now
        return row
    row.attempts += 1
    row.processed_at = now
    return row


def uncount_attempts(session: Session, ids: Sequence[int], attempts: int = 1) -> int:
    """Give back attempts counted on *ids* that never got to run (the store failed)."""
    if not ids:
        return 0
    result = session.execute(
        update(InboundMessage)
        .where(
            InboundMessage.id.in_(list(ids)),
            InboundMessage.state == InboundState.NEW,
            InboundMessage.attempts == attempts,
        )
        .values(attempts=attempts - 1)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def claim_many(session: Session, ids: Sequence[int], attempts: int = 1) -> list[int]:
    """Lock those of *ids* still NEW for this transaction; returns them in order.

    Only rows whose attempt count is still *attempts* (the one this worker
    counted) are taken: a row another worker took over since is left to it.
    PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED``, so a message another
    node holds is skipped. SQLite: the claim starts with a write, which takes
    the database's single write lock at once (waiting for the busy timeout),
    so writers are serialised and what is read after it is current.
    """
    if not ids:
        return []
    where = (
        InboundMessage.id.in_(list(ids))
        & (InboundMessage.state == InboundState.NEW)
        & InboundMessage.error.is_(None)
        & (InboundMessage.attempts == attempts)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = (
            select(InboundMessage.id)
            .where(where)
            .order_by(InboundMessage.id)
            .with_for_update(skip_locked=True)
        )
        return list(session.scalars(stmt))
    claimed = session.scalars(
        update(InboundMessage)
        .where(where)
        .values(attempts=InboundMessage.attempts)
        .returning(InboundMessage.id)
    )
    return sorted(claimed)


def mark_processed(session: Session, kinds: Mapping[int, str], now: datetime) -> None:
    """Record messages as processed with the decision word of each (one UPDATE per word).

    The attempt was counted when it started (:func:`count_attempts`).
    """
    by_kind: dict[str, list[int]] = {}
    for inbound_id, kind in kinds.items():
        by_kind.setdefault(kind[:20], []).append(inbound_id)
    for kind, ids in by_kind.items():
        session.execute(
            update(InboundMessage)
            .where(InboundMessage.id.in_(ids))
            .values(
                state=InboundState.PROCESSED,
                kind=kind,
                error=None,
                processed_at=now,
            )
        )
