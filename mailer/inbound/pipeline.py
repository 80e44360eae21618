"""From a stored raw message to its effect, once: claim, parse, route, apply.

A message's effects (posts, attachments, notices, audit entries, a handler's
work) are committed in the same transaction that marks it processed, so a
crash anywhere leaves it NEW and it is simply processed again. Messages are
claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (two nodes
never take the same one); SQLite serialises writers.

``process_pending`` works in batches: it reads the oldest NEW messages
without a lock, counts an attempt on them in a transaction of its own
(committed, so a message that kills the process outright, not by an
exception, still counts), parses them (the costly part) and reads what routing
needs in bulk, outside any write, then claims, routes and applies the batch
(:mod:`mailer.inbound.apply`) in one short transaction, or on SQLite in a few
of ``WRITE_CHUNK`` messages, so the one write lock is never held long. If
anything raises, that transaction is rolled back and its messages go one by
one through ``process_one``, which records a failure against the one message
that caused it: FAILED with the reason, retried later with a growing delay,
QUARANTINED after ``inbound.max_processing_attempts``. A message whose counted
attempt never finished (its process died) is taken again after
``inbound.retry_unfinished_seconds``, alone, and quarantined once it has used
up its attempts that way. A poison message never blocks the others.

Log: one line per message, ``processed id=.. message-id=.. decision=.. reason=..``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError

from mailer.core.message import ParsedMessage
from mailer.core.parse import parse_message
from mailer.core.route import POST_ADDRESSES
from mailer.inbound.apply import apply_message, read_waits, recipients_of
from mailer.inbound.lookups import Lookups
from mailer.inbound.writers import writer_lock
from mailer.mailings.fanout import publish_pending
from store.models import InboundState
from store.processing import (
    InboundItem,
    claim_inbound,
    claim_many,
    count_attempt,
    count_attempts,
    failed_retry_candidates,
    mark_processed,
    pending_items,
    record_failure,
    uncount_attempts,
)
from store.retries import retry_delay

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.inbound")

# Each batch costs a dozen statements and two commits whatever its size (about
# 3.5 ms), so a busy worker takes many messages at once; the bytes bound keeps a
# batch of large messages small in memory.
BATCH = 100  # messages per batch: parsed together, looked up together
BATCH_BYTES = 8 * 1024 * 1024  # raw mail per batch (the first message always goes)
WRITE_CHUNK = 25  # messages per write transaction on SQLite (one writer at a time)
POLL_SECONDS = 0.5
FIRST_RETRY = timedelta(minutes=1)


@dataclass(frozen=True)
class Outcome:
    """What processing one message did (for the log, the CLI and tests)."""

    inbound_id: int
    message_id: str | None
    state: InboundState
    decision: str
    reason: str


def parse(runtime: Runtime, raw: bytes) -> ParsedMessage:
    """Parse with the configured limits (raises MalformedMessage)."""
    s = runtime.settings
    return parse_message(
        raw,
        max_attachment_bytes=s.inbound.max_attachment_bytes,
        own_domain=s.service.domain,
    )


def process_pending(
    runtime: Runtime,
    limit: int = 100,
    *,
    failures: bool = True,
    queued: Callable[[], None] | None = None,
) -> int:
    """Process up to *limit* NEW messages, then (with *failures*) any FAILED ones
    whose retry is due, then queue the copies of the posts published.

    Returns how many messages were taken (processed, failed or left to
    another worker that counted them first). *queued* runs after each chunk of
    copies is committed.
    """
    done = 0
    while done < limit:
        taken = _process_batch(runtime, min(BATCH, limit - done))
        if taken == 0:
            break
        done += taken
    if done < limit and failures:
        for inbound_id in _due_failures(runtime, limit - done):
            if process_one(runtime, inbound_id) is not None:
                done += 1
    publish_copies(runtime, queued)
    return done


def publish_copies(runtime: Runtime, queued: Callable[[], None] | None = None) -> int:
    """Queue the copies of every post whose fan-out is not finished, in short writes."""
    return publish_pending(runtime, writer_lock(runtime.sessions), queued)


def process_one(
    runtime: Runtime,
    inbound_id: int,
    *,
    counted: int | None = None,
    parsed: ParsedMessage | None = None,
) -> Outcome | None:
    """Process message *inbound_id* now if it is NEW or FAILED; None if not (or locked).

    The attempt is counted and committed first (a message that kills the
    process still counts), unless the caller did so already: *counted* is
    then the attempt count it left. *parsed*: the message, when already parsed.
    """
    states = (InboundState.NEW, InboundState.FAILED)
    if counted is None:
        counted_row = _count_attempt(runtime, inbound_id, states)
        if counted_row is None or isinstance(counted_row, Outcome):
            return counted_row
        counted = counted_row
    now = runtime.clock()
    item: InboundItem | None = None
    try:
        with writer_lock(runtime.sessions), runtime.sessions.begin() as session:
            row = claim_inbound(session, inbound_id, states, attempts=counted)
            if row is None:
                return None
            item = InboundItem.of(row)
            lookups = Lookups(runtime, session, now)
            message = parsed if parsed is not None else parse(runtime, item.raw)
            decision, reason = apply_message(lookups, item, message)
            mark_processed(session, {item.id: decision}, now)
    except OperationalError:
        raise  # the store is unavailable: not the message's fault; the worker waits
    except Exception as exc:
        if item is None:
            raise
        return _fail(runtime, item, exc)
    _log(item, decision, reason)
    return Outcome(item.id, item.message_id, InboundState.PROCESSED, decision, reason)


def _count_attempt(
    runtime: Runtime, inbound_id: int, states: tuple[InboundState, ...]
) -> int | Outcome | None:
    """Commit one more attempt on a message: its new count, an Outcome when it was
    quarantined instead (it never finished), or None when it is not to be taken."""
    now = runtime.clock()
    with writer_lock(runtime.sessions), runtime.sessions.begin() as session:
        row = count_attempt(
            session,
            inbound_id,
            states,
            now,
            runtime.settings.inbound.max_processing_attempts,
        )
        if row is None:
            return None
        if row.state is not InboundState.QUARANTINED:
            return row.attempts
        outcome = Outcome(
            row.id,
            row.message_id,
            InboundState.QUARANTINED,
            "quarantined",
            row.error or "",
        )
    log.error(
        "processed id=%d message-id=%s decision=quarantined reason=%s",
        outcome.inbound_id,
        outcome.message_id or "-",
        outcome.reason,
    )
    return outcome


def _process_batch(runtime: Runtime, size: int) -> int:
    """Count an attempt on a batch, parse it outside any transaction, then apply it
    (in one transaction, or a few short ones on SQLite); returns how many were taken."""
    now = runtime.clock()
    with runtime.sessions() as session:
        unfinished = timedelta(
            seconds=runtime.settings.inbound.retry_unfinished_seconds
        )
        items = pending_items(session, size, now - unfinished, BATCH_BYTES)
    if not items:
        return 0
    fresh = [item for item in items if item.attempts == 0]
    # Tried before and never finished: the process died on one of them. Each
    # goes alone, so only the one that kills the process runs out of attempts.
    stale = sorted(item.id for item in items if item.attempts > 0)
    with writer_lock(runtime.sessions), runtime.sessions.begin() as session:
        counted = set(count_attempts(session, [item.id for item in fresh], now))
    mine = [item for item in fresh if item.id in counted]
    parsed: dict[int, ParsedMessage] = {}
    singles: list[int] = []
    for item in mine:
        try:
            parsed[item.id] = parse(runtime, item.raw)
        except Exception:  # noqa: BLE001 - recorded with its reason by process_one below
            singles.append(item.id)
    ready = [item for item in mine if item.id in parsed]
    # SQLite has one writer at a time, and the SMTP listener waits for it before
    # it can say 250: short transactions of a few messages each let it in.
    step = WRITE_CHUNK if runtime.engine.dialect.name == "sqlite" else BATCH
    lookups: Lookups | None = None
    for start in range(0, len(ready), step):
        part = ready[start : start + step]
        done: list[tuple[InboundItem, str, str]] = []
        if lookups is None:  # read before taking the write lock
            lookups = _looked_up(runtime, ready[start:], parsed)
        now = runtime.clock()
        try:
            with writer_lock(runtime.sessions), runtime.sessions.begin() as session:
                claimed = set(claim_many(session, [item.id for item in part]))
                ours = [item for item in part if item.id in claimed]
                lookups.rebind(session, now)
                read_waits(lookups, ((item, parsed[item.id]) for item in ours))
                for item in ours:
                    decision, reason = apply_message(lookups, item, parsed[item.id])
                    done.append((item, decision, reason))
                mark_processed(session, {item.id: d for item, d, _ in done}, now)
        except OperationalError:
            _give_back(runtime, [item.id for item in ready[start:]])
            raise
        except Exception:  # noqa: BLE001 - one message spoilt its part: one by one
            singles.extend(item.id for item in part)
            lookups = None  # it remembers what was rolled back
            continue
        for item, decision, reason in done:
            _log(item, decision, reason)
    for inbound_id in sorted(singles):
        process_one(runtime, inbound_id, counted=1, parsed=parsed.get(inbound_id))
    for inbound_id in stale:
        process_one(runtime, inbound_id)
    return len(items)


def _looked_up(
    runtime: Runtime, items: list[InboundItem], parsed: dict[int, ParsedMessage]
) -> Lookups:
    """The batch's lookups, read in bulk in a read-only session of their own."""
    with runtime.sessions() as session:
        lookups = Lookups(runtime, session, runtime.clock())
        lookups.prefetch(
            (parsed[item.id], rcpt)
            for item in items
            for rcpt in recipients_of(runtime, item)
            if rcpt.kind in POST_ADDRESSES
        )
        lookups.prove_moderators(
            (parsed[item.id], rcpt, item.raw)
            for item in items
            for rcpt in recipients_of(runtime, item)
            if rcpt.kind in POST_ADDRESSES
        )
        for slug in {r.slug for item in items for r in recipients_of(runtime, item)}:
            view = lookups.discussion(slug)
            if view is not None:
                lookups.has_each_readers(view.row.id)
    return lookups


def _give_back(runtime: Runtime, ids: list[int]) -> None:
    """The store failed before the batch could run: its attempts do not count."""
    try:
        with writer_lock(runtime.sessions), runtime.sessions.begin() as session:
            uncount_attempts(session, ids)
    except OperationalError:
        log.warning("could not give back %d attempt(s): the store is away", len(ids))


def _log(item: InboundItem, decision: str, reason: str) -> None:
    log.info(
        "processed id=%d message-id=%s decision=%s reason=%s",
        item.id,
        item.message_id or "-",
        decision,
        reason,
    )


def _fail(runtime: Runtime, item: InboundItem, exc: Exception) -> Outcome:
    reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
    with writer_lock(runtime.sessions), runtime.sessions.begin() as session:
        state = record_failure(
            session,
            item.id,
            reason,
            runtime.clock(),
            runtime.settings.inbound.max_processing_attempts,
        )
    log.warning(
        "processed id=%d message-id=%s decision=%s reason=%s",
        item.id,
        item.message_id or "-",
        state.value,
        reason,
        exc_info=state is InboundState.QUARANTINED,
    )
    return Outcome(item.id, item.message_id, state, state.value, reason)


def _due_failures(runtime: Runtime, limit: int) -> list[int]:
    now = runtime.clock()
    with runtime.sessions() as session:
        rows = failed_retry_candidates(session, limit * 4)
    due = [
        i
        for i, attempts, at in rows
        if at is None or at + retry_delay(attempts, FIRST_RETRY) <= now
    ]
    return due[:limit]


async def inbound_worker(runtime: Runtime, stop: asyncio.Event) -> None:
    """Process stored messages promptly, in a thread, until *stop* is set.

    It looks when the runtime's inbound bell rings (mail was committed), and every
    ``POLL_SECONDS`` anyway (mail stored by another process, retries); after a
    pass that took messages it wakes the outbox workers for what they queued.
    """
    with runtime.wakes.inbound.listen() as wake:
        await _work(runtime, stop, wake)


async def _work(runtime: Runtime, stop: asyncio.Event, wake: asyncio.Event) -> None:
    while not stop.is_set():
        wake.clear()  # a wake during the pass below is kept for the next
        try:
            taken = await asyncio.to_thread(process_pending, runtime, 200)
        except Exception:  # the store is away, or a bug: log, wait, try again
            log.exception("inbound processing paused for 5 s")
            taken, pause = 0, 5.0
        else:
            pause = POLL_SECONDS
        if taken:  # answers, notices, copies may be queued: as a child's news does
            runtime.wakes.outbox.ring()
        else:
            await _first_of(stop, wake, pause)


async def _first_of(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())}
    try:
        await asyncio.wait(
            waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for waiter in waiters:
            waiter.cancel()
