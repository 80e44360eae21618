"""The outbox: every outgoing message is a row with a UNIQUE dedupe key.

Enqueueing the same key twice (a job that fires twice, on one node or two)
stores one row, so the message is sent once. Rows move
``queued -> sending -> sent``, back to ``queued`` with a later
``next_attempt_at`` on a temporary failure, or to ``failed``.

Claiming is one statement on both databases: on PostgreSQL the rows are picked
with ``SELECT ... FOR UPDATE SKIP LOCKED`` inside the ``UPDATE``, so workers on
several nodes never take the same row; SQLite serialises writers, so the same
``UPDATE ... RETURNING`` is atomic there too. A row left in ``sending`` by a
crashed worker goes back to ``queued`` once its lease has run out.

A mail sent to many people stores its shared body once (:mod:`store.bodies`);
its rows keep the personal bytes, and a claimed row is put together whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Connection,
    Integer,
    String,
    Update,
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from store.assembly import SharedBody, assemble, format_offsets, parse_offsets
from store.bodies import BodyCache, ensure_bodies, load_bodies
from store.models import (
    OUTBOX_DUE,
    OUTBOX_SENDING,
    DeliveryMode,
    OutboxMessage,
    OutboxState,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from store.retries import retry_delay
from store.writes import changed_rows, conflict_insert


@dataclass(frozen=True)
class OutgoingRow:
    """One rendered message for one recipient, ready to be queued.

    With *body*, *raw* holds only the personal bytes and the body's segments
    go in at *body_at* (see :mod:`store.bodies`).
    """

    dedupe_key: str
    kind: str
    recipient: str
    envelope_from: str
    message_id: str
    raw: bytes
    discussion_id: int | None = None
    subscription_id: int | None = None
    body: SharedBody | None = None
    body_at: tuple[int, ...] = ()

    def whole(self) -> bytes:
        """The message as it will go to the relay (before DKIM signing)."""
        return assemble(self.raw, self.body_at, self.body)


@dataclass(frozen=True)
class ClaimedMessage:
    """A row a worker has claimed: everything needed to send it once."""

    id: int
    recipient: str
    envelope_from: str
    message_id: str
    raw: bytes  # whole, or the personal bytes around body
    attempts: int
    created_at: datetime
    subscription_id: int | None
    discussion_id: int | None
    kind: str
    body_at: tuple[int, ...] = ()
    body: SharedBody | None = None
    due_at: datetime | None = None  # its next_attempt_at when claimed

    def whole(self) -> bytes:
        """The message as it goes to the relay (before DKIM signing)."""
        return assemble(self.raw, self.body_at, self.body)


def enqueue(session: Session, rows: list[OutgoingRow], now: datetime) -> int:
    """Queue *rows*, skipping any whose dedupe key is already queued or sent.

    Returns how many rows were new. The caller commits, typically together with
    the change that made the mail necessary. Shared bodies not stored yet are
    stored first, in the same transaction.
    """
    if not rows:
        return 0
    ensure_bodies(session, (r.body for r in rows if r.body is not None), now)
    values = [
        {
            "dedupe_key": r.dedupe_key,
            "kind": r.kind,
            "recipient": r.recipient,
            "envelope_from": r.envelope_from,
            "message_id": r.message_id,
            "raw": r.raw,
            "body_hash": r.body.digest if r.body is not None else None,
            "body_at": format_offsets(r.body_at) if r.body is not None else None,
            "discussion_id": r.discussion_id,
            "subscription_id": r.subscription_id,
            "state": OutboxState.QUEUED,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        }
        for r in rows
    ]
    stmt = (
        conflict_insert(session, OutboxMessage)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id)
    )
    return len(session.execute(stmt, values).all())


# The states the partial indexes hold, written as they are in the indexes'
# predicates: a bound parameter could not be matched to them.
_QUEUED = text(f"outbox.{OUTBOX_DUE}")
_SENDING = text(f"outbox.{OUTBOX_SENDING}")

_CLAIMED_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.recipient,
    OutboxMessage.envelope_from,
    OutboxMessage.message_id,
    OutboxMessage.raw,
    OutboxMessage.attempts,
    OutboxMessage.created_at,
    OutboxMessage.subscription_id,
    OutboxMessage.discussion_id,
    OutboxMessage.kind,
    OutboxMessage.body_hash,
    OutboxMessage.body_at,
    OutboxMessage.next_attempt_at,
)
# A claim from the start of the queue: earlier than any row's due time.
_EVER = datetime(1970, 1, 1, tzinfo=UTC)


def _claim_statement(dialect: str) -> Update:
    """The claim; ``now``, ``due_from``, ``claimant`` and ``claim_limit`` are parameters."""
    due = OutboxMessage.__table__.c.next_attempt_at.type
    now = bindparam("now", type_=due)
    pick = (
        select(OutboxMessage.id)
        .where(
            _QUEUED,
            OutboxMessage.next_attempt_at <= now,
            OutboxMessage.next_attempt_at >= bindparam("due_from", type_=due),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(bindparam("claim_limit", type_=Integer))
    )
    stmt = update(OutboxMessage)
    if dialect == "postgresql":
        # A materialised CTE runs once: "id IN (SELECT ... LIMIT n FOR UPDATE
        # SKIP LOCKED)" may be re-run by the planner and take more than n rows.
        picked = (
            pick.with_for_update(skip_locked=True)
            .cte("picked")
            .prefix_with("MATERIALIZED")
        )
        stmt = stmt.where(OutboxMessage.id == picked.c.id)
    else:  # SQLite runs one writer at a time: the plain subquery is atomic
        stmt = stmt.where(OutboxMessage.id.in_(pick.scalar_subquery()))
    return (
        stmt.where(_QUEUED)
        .values(
            state=OutboxState.SENDING,
            claimed_at=now,
            claimed_by=bindparam("claimant", type_=String),
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(*_CLAIMED_COLUMNS)
        .execution_options(synchronize_session=False)
    )


# Built once per dialect: building and hashing a fresh statement for every
# claim cost more of the worker's CPU than reading the rows it returns.
_CLAIMS = {name: _claim_statement(name) for name in ("postgresql", "sqlite")}


def claim_due(
    session: Session,
    *,
    claimant: str,
    now: datetime,
    limit: int,
    bodies: BodyCache | None = None,
    due_from: datetime | None = None,
) -> list[ClaimedMessage]:
    """Mark up to *limit* due rows ``sending`` for *claimant* and return them, oldest first.

    The caller commits right away: from then on no other worker takes them.
    ``attempts`` counts the claim, so a worker that crashes mid-send still
    uses up one attempt. Shared bodies come from *bodies* (a worker keeps one
    across batches) or are read in one more query.

    With *due_from*, only rows due from then on are taken: a worker claiming
    batch after batch starts each from the last one's latest due time, so the
    claim does not step again over the index entries of every row claimed
    before it (dead until a VACUUM, and the more so the more was sent). A row
    due earlier that turns up meanwhile (a transaction that committed late,
    a clock behind) waits for the next claim without *due_from*.
    """
    dialect = session.get_bind().dialect.name
    stmt = _CLAIMS.get(dialect)
    if stmt is None:
        stmt = _CLAIMS[dialect] = _claim_statement(dialect)
    # Core, not the ORM's bulk UPDATE: nothing in the session needs to know.
    rows = (
        session.connection()
        .execute(
            stmt,
            {
                "now": now,
                "due_from": due_from or _EVER,
                "claimant": claimant[:100],
                "claim_limit": limit,
            },
        )
        .all()
    )
    keys = {row.body_hash for row in rows if row.body_hash is not None}
    shared = load_bodies(session, keys, bodies or BodyCache()) if keys else {}
    claimed = [
        ClaimedMessage(
            id=row.id,
            recipient=row.recipient,
            envelope_from=row.envelope_from,
            message_id=row.message_id,
            raw=row.raw,
            attempts=row.attempts,
            created_at=row.created_at,
            subscription_id=row.subscription_id,
            discussion_id=row.discussion_id,
            kind=row.kind,
            body_at=parse_offsets(row.body_at),
            body=shared[row.body_hash] if row.body_hash is not None else None,
            due_at=row.next_attempt_at,
        )
        for row in rows
    ]
    claimed.sort(key=lambda c: c.id)
    return claimed


def renew_claims(session: Session, *, claimant: str, now: datetime) -> int:
    """Refresh the lease of the rows *claimant* still holds (a long batch is alive)."""
    stmt = (
        update(OutboxMessage)
        .where(OutboxMessage.claimed_by == claimant[:100], _SENDING)
        .values(claimed_at=now)
    )
    return _rowcount(session, stmt)


RELEASE_CHUNK = 100  # stale rows put back by one statement


def release_stale(session: Session, *, now: datetime, lease: timedelta) -> int:
    """Put rows stuck in ``sending`` longer than *lease* back in the queue.

    Their worker died (or lost its database) between claiming and recording the
    result; the message that was on the wire may go out once more.

    The stale rows are picked oldest first, :data:`RELEASE_CHUNK` at a time:
    the ordered, limited pick makes PostgreSQL walk the partial index of
    sending rows in order, marking the entries of dead row versions as it
    goes, so that the next look skips them. Without the order and the limit
    it chose a bitmap scan, which never marks them and read the table page
    of every row ever sent (3.4 s after 300,000 copies).
    """
    pick = (
        select(OutboxMessage.id)
        .where(_SENDING, OutboxMessage.claimed_at < now - lease)
        .order_by(OutboxMessage.claimed_at)
        .limit(RELEASE_CHUNK)
    )
    stmt = (
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(pick.scalar_subquery()),
            _SENDING,  # checked again on the newest version: a rival released it
            OutboxMessage.claimed_at < now - lease,
        )
        .values(
            state=OutboxState.QUEUED,
            next_attempt_at=now,
            claimed_by=None,
            last_error="released after the sending worker stopped",
        )
    )
    released = 0
    while (n := _rowcount(session, stmt)) > 0:
        released += n
        if n < RELEASE_CHUNK:
            break
    return released


def connection_of(session: Session | Connection) -> Connection:
    """The Core connection behind *session* (or *session* itself)."""
    return session if isinstance(session, Connection) else session.connection()


# Built once: compiling a fresh UPDATE for every message costs more CPU than
# the statement itself (about 0.3 ms), and the worker runs it per message.
_MARK_SENT = (
    update(OutboxMessage)
    .where(OutboxMessage.id == bindparam("row_id"))
    .values(
        state=OutboxState.SENT,
        sent_at=bindparam("sent_now", type_=OutboxMessage.__table__.c.sent_at.type),
        claimed_by=None,
        last_error=None,
    )
)


def mark_sent(session: Session | Connection, message_id: int, *, now: datetime) -> None:
    """Record that the relay (or the Maildir) took the message."""
    connection_of(session).execute(_MARK_SENT, {"row_id": message_id, "sent_now": now})


_MARK_ALL_SENT = (
    update(OutboxMessage)
    .where(OutboxMessage.id.in_(bindparam("row_ids", expanding=True)))
    .values(
        state=OutboxState.SENT,
        sent_at=bindparam("sent_now", type_=OutboxMessage.__table__.c.sent_at.type),
        claimed_by=None,
        last_error=None,
    )
)


def mark_all_sent(
    session: Session | Connection, message_ids: Sequence[int], *, now: datetime
) -> None:
    """Record a group of messages the relay took, in one statement.

    The worker's hot path: one UPDATE (and, on its autocommit connection, one
    commit) for every group of copies, however many connections sent them.
    """
    if message_ids:
        connection_of(session).execute(
            _MARK_ALL_SENT, {"row_ids": list(message_ids), "sent_now": now}
        )


def mark_failed(session: Session, message_id: int, *, error: str) -> None:
    """Record a permanent failure: the row is not tried again (``outbox retry`` can)."""
    session.connection().execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(state=OutboxState.FAILED, claimed_by=None, last_error=error[:2000])
    )


def mark_deferred(
    session: Session,
    message: ClaimedMessage,
    *,
    now: datetime,
    error: str,
    first_retry_seconds: int,
    max_age: timedelta,
) -> OutboxState:
    """Queue the row again after a backoff, or fail it once it is older than *max_age*.

    The last attempt is made when the row reaches *max_age*, not after it.
    Returns the state the row is left in.
    """
    deadline = message.created_at + max_age
    if now >= deadline:
        mark_failed(
            session, message.id, error=f"gave up after {message.attempts}: {error}"
        )
        return OutboxState.FAILED
    delay = retry_delay(message.attempts, timedelta(seconds=first_retry_seconds))
    next_at = min(now + delay, deadline)
    session.connection().execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(
            state=OutboxState.QUEUED,
            next_attempt_at=next_at,
            claimed_by=None,
            last_error=error[:2000],
        )
    )
    return OutboxState.QUEUED


def list_messages(
    session: Session, *, state: OutboxState | None = None, limit: int = 50
) -> list[OutboxMessage]:
    """The newest rows first, optionally in one state."""
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if state is not None:
        stmt = stmt.where(OutboxMessage.state == state)
    return list(session.scalars(stmt))


def count_by_state(session: Session) -> dict[OutboxState, int]:
    """How many rows are in each state."""
    stmt = select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    return {state: int(n) for state, n in session.execute(stmt).all()}


def retry_messages(
    session: Session,
    *,
    now: datetime,
    ids: Sequence[int] = (),
    failed: bool = False,
) -> int:
    """Queue the given rows (failed or deferred) for an attempt now; never sent ones."""
    if not ids and not failed:
        return 0
    stmt = update(OutboxMessage).where(
        OutboxMessage.state.in_([OutboxState.FAILED, OutboxState.QUEUED])
    )
    if ids:
        stmt = stmt.where(OutboxMessage.id.in_(list(ids)))
    if failed:
        stmt = stmt.where(OutboxMessage.state == OutboxState.FAILED)
    # A fresh created_at restarts the maximum age for a row an operator revived.
    stmt = stmt.values(
        state=OutboxState.QUEUED, next_attempt_at=now, created_at=now, attempts=0
    )
    return _rowcount(session, stmt)


def purge_sent(session: Session, *, before: datetime) -> int:
    """Delete sent rows older than *before*; their dedupe keys are forgotten with them."""
    stmt = delete(OutboxMessage).where(
        OutboxMessage.state == OutboxState.SENT, OutboxMessage.sent_at < before
    )
    return _rowcount(session, stmt)


@dataclass(frozen=True)
class OutboxRecipient:
    """One active subscription and the person it belongs to."""

    subscription_id: int
    email: str
    name: str
    language: str
    link_generation: int = 0  # what its unsubscribe and manage links carry


def iter_recipients(
    session: Session,
    discussion_id: int,
    modes: Sequence[DeliveryMode],
    page: int = 500,
    *,
    after: int = 0,
    upto: int | None = None,
) -> Iterator[OutboxRecipient]:
    """Every active subscription of a discussion in *modes*, by id, a page at a time.

    Keyset pages keep memory flat for any number of subscribers and let the
    caller write in the same session while iterating. *after* and *upto*
    bound the subscription ids (a fan-out's chunk).
    """
    last = after
    while True:
        stmt = (
            select(
                Subscription.id,
                Subscriber.email,
                Subscriber.name,
                Subscription.language,
                Subscription.link_generation,
            )
            .join(Subscriber, Subscription.subscriber_id == Subscriber.id)
            .where(
                Subscription.discussion_id == discussion_id,
                Subscription.status == SubscriptionStatus.ACTIVE,
                Subscription.mode.in_(list(modes)),
                Subscription.id > last,
            )
            .order_by(Subscription.id)
            .limit(page)
        )
        if upto is not None:
            stmt = stmt.where(Subscription.id <= upto)
        rows = session.execute(stmt).all()
        for sub_id, email, name, language, generation in rows:
            yield OutboxRecipient(sub_id, email, name, language, generation)
        if len(rows) < page:
            return
        last = rows[-1][0]


def _rowcount(session: Session, stmt: object) -> int:
    result = session.execute(
        stmt,  # type: ignore[call-overload]
        execution_options={"synchronize_session": False},
    )
    return changed_rows(result)


def unclaim(session: Session, ids: Sequence[int]) -> int:
    """Give back claimed rows that were never tried (a worker stopping mid-batch)."""
    if not ids:
        return 0
    stmt = (
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(list(ids)),
            OutboxMessage.state == OutboxState.SENDING,
        )
        .values(
            state=OutboxState.QUEUED,
            claimed_by=None,
            attempts=OutboxMessage.attempts - 1,
        )
    )
    return _rowcount(session, stmt)
