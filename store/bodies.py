"""Shared bodies: the part of a mail many recipients read, stored once.

A digest, an announcement or a post copy goes to every subscriber with the
same body but for a few personal lines (the unsubscribe link) and the headers.
Its outbox rows therefore keep only their personal bytes in ``raw`` and name
an :class:`~store.models.OutboxBody` by the SHA-256 of its content; the body's
segments go in at the offsets ``body_at`` of ``raw``::

    raw[:a0] + segment0 + raw[a0:a1] + segment1 + ... + raw[an:]

:func:`assemble` puts the message together again at send time, byte for byte
what a row holding the whole message would have held. A row without a body
holds the whole message, as every row did before bodies were shared.

A body is dropped by :func:`prune_bodies` once no unsent row uses it; sent rows
that used it keep only their personal bytes (enough to know what was sent to
whom, not to send it again).

Queueing and pruning may run at the same moment without either failing on
the foreign key. :func:`ensure_bodies` moves a stored body's ``created_at`` on
to the time it is used again, in the queueing transaction, and
:func:`prune_bodies` deletes only bodies older than its bound, a condition
the database checks again on the newest version of the row: PostgreSQL's
DELETE waits for the queueing transaction's row lock, then finds the body
used again; on SQLite the queueing transaction holds the write lock from that
update until it commits. A body the prune deleted first is not found by the
update, so the queueing stores it again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    SQLColumnExpression,
    and_,
    case,
    delete,
    exists,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from store.assembly import SharedBody
from store.models import OutboxBody, OutboxMessage, OutboxState
from store.writes import changed_rows, conflict_insert


def ensure_bodies(session: Session, bodies: Iterable[SharedBody], now: datetime) -> int:
    """Store the bodies not stored yet, and mark the stored ones used at *now*.

    Runs in the caller's transaction; returns how many bodies were stored.
    Only the keys travel for a body already there, so a digest queued in
    twenty batches sends its bodies to the database once. Marking a body used
    locks it until the caller commits, so a concurrent :func:`prune_bodies`
    cannot delete it under the rows about to name it (see the module's
    docstring).
    """
    wanted = {b.digest: b for b in bodies}
    if not wanted:
        return 0
    touched = set(
        session.scalars(
            update(OutboxBody)
            .where(OutboxBody.hash.in_(sorted(wanted)))  # one lock order for all
            .values(created_at=_later(OutboxBody.created_at, _at(now)))
            .returning(OutboxBody.hash)
            .execution_options(synchronize_session=False)
        )
    )
    missing = [wanted[key] for key in sorted(wanted) if key not in touched]
    if not missing:
        return 0
    stmt = conflict_insert(session, OutboxBody)
    # Another transaction may have stored the same body meanwhile: it is
    # marked used (and so locked) here too, as above.
    stmt = stmt.on_conflict_do_update(
        index_elements=["hash"],
        set_={"created_at": _later(OutboxBody.created_at, stmt.excluded.created_at)},
    )
    session.execute(
        stmt,
        [
            {"hash": b.digest, "content": b.content, "cuts": b.cuts, "created_at": now}
            for b in missing
        ],
    )
    return len(missing)


def _at(when: datetime) -> SQLColumnExpression[datetime]:
    """*when* as a bound value of the store's own time type (UTC, naive in SQL)."""
    return literal(when, OutboxBody.__table__.c.created_at.type)


def _later(
    stored: SQLColumnExpression[datetime], other: SQLColumnExpression[datetime]
) -> SQLColumnExpression[datetime]:
    """The later of two times, in SQL: a clock behind the stored time never moves it back."""
    return case((stored < other, other), else_=stored)


@dataclass
class BodyCache:
    """Bodies a worker has read, by key, up to *max_bytes* (oldest read dropped first).

    A key names its content for good, so a cached body is never stale. The
    outbox sends a body's copies one after the other, so the cache needs only
    the bodies of the batches in hand: 8 MB holds a day's digests in every
    language (at most ``digest.max_bytes`` each) or a thousand post bodies,
    where the 64 MB it once allowed was more than the service's whole
    memory budget.
    """

    max_bytes: int = 8 * 1024 * 1024
    _bodies: OrderedDict[str, SharedBody] = field(default_factory=OrderedDict)
    _size: int = 0

    def get(self, key: str) -> SharedBody | None:
        """The body under *key*, when cached."""
        body = self._bodies.get(key)
        if body is not None:
            self._bodies.move_to_end(key)
        return body

    def put(self, key: str, body: SharedBody) -> None:
        """Keep *body*, dropping the least recently used beyond the limit."""
        if key in self._bodies:
            return
        self._bodies[key] = body
        self._size += len(body.content)
        while self._size > self.max_bytes and len(self._bodies) > 1:
            _, old = self._bodies.popitem(last=False)
            self._size -= len(old.content)


def load_bodies(
    session: Session, keys: Iterable[str], cache: BodyCache
) -> dict[str, SharedBody]:
    """The bodies under *keys*: from *cache*, the others read in one query."""
    found: dict[str, SharedBody] = {}
    for key in set(keys):
        body = cache.get(key)
        if body is not None:
            found[key] = body
    missing = set(keys) - set(found)
    if missing:
        stmt = select(OutboxBody.hash, OutboxBody.content, OutboxBody.cuts).where(
            OutboxBody.hash.in_(missing)
        )
        for key, content, cuts in session.execute(stmt).all():
            body = SharedBody.from_stored(content, cuts)
            cache.put(key, body)
            found[key] = body
    return found


def prune_bodies(session: Session, *, before: datetime) -> int:
    """Drop the bodies no unsent row uses and none used since *before*.

    Sent rows that used one keep their personal bytes only. *before* leaves
    bodies just queued alone: a row queued in a transaction not yet committed
    is not seen here, but its body was marked used by :func:`ensure_bodies`,
    and the DELETE checks that mark on each row as it deletes it (after
    waiting for the queueing transaction). Returns how many were dropped.
    """
    users = select(OutboxMessage.id).where(OutboxMessage.body_hash == OutboxBody.hash)
    still_used = exists(
        users.where(
            or_(
                OutboxMessage.state != OutboxState.SENT,
                OutboxMessage.created_at >= before,
            )
        )
    )
    unused = select(OutboxBody.hash).where(OutboxBody.created_at < before, ~still_used)
    keys = list(session.scalars(unused))
    dropped = 0
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        session.execute(
            update(OutboxMessage)
            .where(
                and_(
                    OutboxMessage.body_hash.in_(chunk),
                    OutboxMessage.state == OutboxState.SENT,
                    OutboxMessage.created_at < before,
                )
            )
            .values(body_hash=None)
            .execution_options(synchronize_session=False)
        )
        result = session.execute(
            delete(OutboxBody)
            .where(
                OutboxBody.hash.in_(chunk),
                # Checked again on the row's newest version when an enqueue
                # marked it used meanwhile (PostgreSQL waits for that first).
                OutboxBody.created_at < before,
                ~exists(users),
            )
            .execution_options(synchronize_session=False)
        )
        dropped += changed_rows(result)
    return dropped
