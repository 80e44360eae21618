"""Processing received messages: attempts, claims and outcomes, restartably.

A message's processing attempt is counted in a transaction of its own and
committed before the work starts, so a message that kills its process outright
still uses up an attempt; the work then claims the rows it counted and records
the outcome in its own transaction, with its effects.

The statements of the batch path run for every few messages received: they
are built once, here, and run on the session's connection with parameters
(building a statement costs SQLAlchemy more than running it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import BindParameter, Table, bindparam, or_, select, update
from sqlalchemy.orm import Session

from store.errors import MissingRow
from store.models import InboundMessage, InboundState
from store.writes import changed_rows

_T = cast(Table, InboundMessage.__table__)
_C = _T.c
_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_NEW = InboundState.NEW


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


# NEW and nobody at work on it: never tried, or tried (counted)
# before ``stale_before`` and never finished, because its process died.
_UNTAKEN = (
    _C.state == _NEW,
    or_(
        _C.attempts == 0,
        _C.processed_at.is_(None),
        _C.processed_at <= bindparam("stale_before"),
    ),
)
_PENDING = (
    select(_C.id, _C.size).where(*_UNTAKEN).order_by(_C.id).limit(bindparam("limit"))
)
# The chosen ones in full, if still untaken (another worker may have counted
# one since): the same conditions again.
_ITEMS = (
    select(
        _C.id,
        _C.dedupe_key,
        _C.message_id,
        _C.envelope_from,
        _C.envelope_to,
        _C.raw,
        _C.attempts,
    )
    .where(_C.id.in_(_IDS), *_UNTAKEN)
    .order_by(_C.id)
)


def pending_items(
    session: Session, limit: int, stale_before: datetime, max_bytes: int | None = None
) -> list[InboundItem]:
    """The oldest NEW messages nobody is processing, read without a lock.

    That is: never tried, or tried (counted) before *stale_before* and never
    finished, because the process working on it died. At most *limit* of them,
    and no more than *max_bytes* of raw mail (but always the first one), so a
    batch of large messages stays small in memory.
    """
    connection = session.connection()
    ids: list[int] = []
    total = 0
    for inbound_id, size in connection.execute(
        _PENDING, {"limit": limit, "stale_before": stale_before}
    ):
        total += size or 0
        if ids and max_bytes is not None and total > max_bytes:
            break
        ids.append(inbound_id)
    if not ids:
        return []
    rows = connection.execute(_ITEMS, {"ids": ids, "stale_before": stale_before})
    return [InboundItem(*row) for row in rows]


_COUNT = (
    update(_T)
    .where(_C.id.in_(_IDS), _C.state == _NEW, _C.attempts == 0)
    .values(attempts=1, processed_at=bindparam("now"))
    .returning(_C.id)
)


def count_attempts(session: Session, ids: Sequence[int], now: datetime) -> list[int]:
    """Count an attempt on those of *ids* still NEW and never tried; returns them.

    The caller commits this before processing, so a message that kills the
    process outright has its attempt counted all the same. ``attempts = 0``
    in the condition makes it a claim too: of two workers, one counts it.
    """
    if not ids:
        return []
    rows = session.connection().execute(_COUNT, {"ids": list(ids), "now": now})
    return sorted(rows.scalars())


_UNCOUNT = (
    update(_T)
    .where(_C.id.in_(_IDS), _C.state == _NEW, _C.attempts == bindparam("counted"))
    .values(attempts=_C.attempts - 1)
)


def uncount_attempts(session: Session, ids: Sequence[int], attempts: int = 1) -> int:
    """Give back attempts counted on *ids* that never got to run (the store failed)."""
    if not ids:
        return 0
    result = session.connection().execute(
        _UNCOUNT, {"ids": list(ids), "counted": attempts}
    )
    return changed_rows(result)


_CLAIMABLE = (
    _C.id.in_(_IDS),
    _C.state == _NEW,
    _C.attempts == bindparam("counted"),
)
_CLAIM_LOCKED = (
    select(_C.id).where(*_CLAIMABLE).order_by(_C.id).with_for_update(skip_locked=True)
)
_CLAIM_BY_WRITE = (
    update(_T).where(*_CLAIMABLE).values(attempts=_C.attempts).returning(_C.id)
)


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
    connection = session.connection()
    stmt = _CLAIM_LOCKED if connection.dialect.name == "postgresql" else _CLAIM_BY_WRITE
    rows = connection.execute(stmt, {"ids": list(ids), "counted": attempts})
    return sorted(rows.scalars())


_PROCESSED = (
    update(_T)
    .where(_C.id.in_(_IDS))
    .values(
        state=InboundState.PROCESSED,
        kind=bindparam("decision"),
        error=None,
        processed_at=bindparam("now"),
    )
)


def mark_processed(session: Session, kinds: Mapping[int, str], now: datetime) -> None:
    """Record messages as processed with the decision word of each (one UPDATE per word).

    The attempt was counted when it started (:func:`count_attempts`).
    """
    by_kind: dict[str, list[int]] = {}
    for inbound_id, kind in kinds.items():
        by_kind.setdefault(kind[:20], []).append(inbound_id)
    connection = session.connection()
    for kind, ids in by_kind.items():
        connection.execute(_PROCESSED, {"ids": ids, "decision": kind, "now": now})


_FAILED = (
    select(_C.id, _C.attempts, _C.processed_at)
    .where(_C.state == InboundState.FAILED)
    .order_by(_C.id)
    .limit(bindparam("limit"))
)


def failed_retry_candidates(
    session: Session, limit: int = 100
) -> list[tuple[int, int, datetime | None]]:
    """(id, attempts, last try) of FAILED messages, oldest first; the caller picks the due."""
    rows = session.connection().execute(_FAILED, {"limit": limit})
    return [(i, n, at) for i, n, at in rows]


# -- one message at a time (after a batch failed, retries, the CLI) ----------


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


def record_failure(
    session: Session, inbound_id: int, error: str, now: datetime, max_attempts: int
) -> InboundState:
    """Record a failed attempt (already counted when it started): FAILED, retried
    later, or QUARANTINED once *max_attempts* attempts were made."""
    row = session.get(InboundMessage, inbound_id, with_for_update=True)
    if row is None:
        raise MissingRow(f"no inbound message {inbound_id}")
    row.error = error[:4000]
    row.processed_at = now
    row.state = (
        InboundState.QUARANTINED
        if row.attempts >= max_attempts
        else InboundState.FAILED
    )
    return row.state
