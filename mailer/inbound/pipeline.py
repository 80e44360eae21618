"""From a stored raw message to its effect, once: claim, parse, route, apply.

Each message is processed in ONE transaction that also marks it processed, so
a crash anywhere leaves it NEW and it is simply processed again. Messages are
claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (two nodes
never take the same one); SQLite serialises writers. A message whose
processing raises is marked FAILED with the reason and retried later with a
growing delay, and QUARANTINED after ``inbound.max_processing_attempts``; it
never blocks the messages behind it. A message for a handler this version
does not have stays NEW, parked, until the next start.

Log: one line per message, ``processed id=.. message-id=.. decision=.. reason=..``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from mailer.core.addresses import AddressKind, Recipient, parse_recipient
from mailer.core.errors import UnknownRecipient
from mailer.core.headers import stable_message_id
from mailer.core.message import ParsedMessage
from mailer.core.parse import parse_message
from mailer.core.route import POST_ADDRESSES, Action, route_message
from mailer.inbound.effects import apply_decision, facts_for, handoff_facts
from mailer.inbound.handlers import Incoming, handler_for
from store.inbox import (
    claim_inbound,
    claim_next_new,
    failed_retry_candidates,
    park_inbound,
    record_failure,
    release_parked,
)
from store.models import InboundMessage, InboundState

if TYPE_CHECKING:
    from mailer.service import Runtime

log = logging.getLogger("ediscuss.inbound")

POLL_SECONDS = 0.5
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=6)


@dataclass(frozen=True)
class Outcome:
    """What processing one message did (for the log, the CLI and tests)."""

    inbound_id: int
    message_id: str | None
    state: InboundState
    decision: str
    reason: str


class _Parked(Exception):
    """A recipient's handler is not in this version: roll back, keep the message NEW."""

    def __init__(self, kind: AddressKind) -> None:
        super().__init__(f"waiting: no handler for {kind.value} mail in this version")
        self.kind = kind


def retry_delay(attempts: int) -> timedelta:
    """How long a FAILED message waits after *attempts* failures: 1 min, doubling, 6 h at most."""
    delay: timedelta = FIRST_RETRY * (2 ** min(max(attempts - 1, 0), 20))
    return min(delay, MAX_RETRY)


def process_pending(runtime: Runtime, limit: int = 100) -> int:
    """Process up to *limit* NEW messages, then any FAILED ones whose retry is due.

    Returns how many messages were taken (processed, failed or parked).
    """
    done = 0
    while done < limit:
        outcome = _run(runtime, claim_next_new)
        if outcome is None:
            break
        done += 1
    if done < limit:
        for inbound_id in _due_failures(runtime, limit - done):
            if process_one(runtime, inbound_id) is not None:
                done += 1
    return done


def process_one(runtime: Runtime, inbound_id: int) -> Outcome | None:
    """Process message *inbound_id* now if it is NEW or FAILED; None if it is not (or locked)."""

    def claim(session: Session) -> InboundMessage | None:
        return claim_inbound(
            session, inbound_id, (InboundState.NEW, InboundState.FAILED)
        )

    return _run(runtime, claim)


def _due_failures(runtime: Runtime, limit: int) -> list[int]:
    now = runtime.clock()
    with runtime.sessions() as session:
        rows = failed_retry_candidates(session, limit * 4)
    due = [
        i for i, attempts, at in rows if at is None or at + retry_delay(attempts) <= now
    ]
    return due[:limit]


def _run(
    runtime: Runtime, claim: Callable[[Session], InboundMessage | None]
) -> Outcome | None:
    now = runtime.clock()
    ident: tuple[int, str | None] | None = None
    try:
        with runtime.sessions.begin() as session:
            row = claim(session)
            if row is None:
                return None
            ident = (row.id, row.message_id)
            decision, reason = _process(runtime, session, row, now)
            row.state = InboundState.PROCESSED
            row.kind = decision[:20]
            row.error = None
            row.attempts += 1
            row.processed_at = now
    except _Parked as parked:
        assert ident is not None
        with runtime.sessions.begin() as session:
            row = claim_inbound(session, ident[0], (InboundState.NEW,))
            if row is not None:
                park_inbound(session, row, parked.kind.value, str(parked))
        log.warning(
            "parked id=%d message-id=%s reason=%s", ident[0], ident[1] or "-", parked
        )
        return Outcome(ident[0], ident[1], InboundState.NEW, "parked", str(parked))
    except OperationalError:
        raise  # the store is unavailable: not the message's fault; the worker waits
    except Exception as exc:
        if ident is None:
            raise
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        with runtime.sessions.begin() as session:
            state = record_failure(
                session,
                ident[0],
                reason,
                now,
                runtime.settings.inbound.max_processing_attempts,
            )
        log.warning(
            "processed id=%d message-id=%s decision=%s reason=%s",
            ident[0],
            ident[1] or "-",
            state.value,
            reason,
            exc_info=state is InboundState.QUARANTINED,
        )
        return Outcome(ident[0], ident[1], state, state.value, reason)
    log.info(
        "processed id=%d message-id=%s decision=%s reason=%s",
        ident[0],
        ident[1] or "-",
        decision,
        reason,
    )
    return Outcome(ident[0], ident[1], InboundState.PROCESSED, decision, reason)


def _recipients(runtime: Runtime, row: InboundMessage) -> list[Recipient]:
    """The envelope recipients that are (still) ours, each once, in order."""
    s = runtime.settings
    found: list[Recipient] = []
    for line in row.envelope_to.splitlines():
        try:
            rcpt = parse_recipient(line, s.service.domain, s.slugs)
        except UnknownRecipient:
            continue  # a discussion removed from the configuration since
        if rcpt not in found:
            found.append(rcpt)
    return found


def _process(
    runtime: Runtime, session: Session, row: InboundMessage, now: datetime
) -> tuple[str, str]:
    """Parse, route and apply for every recipient; returns (decision, reason)."""
    s = runtime.settings
    parsed = parse_message(
        row.raw,
        max_attachment_bytes=s.inbound.max_attachment_bytes,
        own_domain=s.service.domain,
    )
    recipients = _recipients(runtime, row)
    if not recipients:
        return "dropped", "no recipient of ours"
    own_id = parsed.message_id or stable_message_id(
        row.dedupe_key, s.service.domain, "in"
    )
    results: list[tuple[str, str]] = []
    posted: set[str] = set()
    for rcpt in recipients:
        if rcpt.kind in POST_ADDRESSES and rcpt.slug in posted:
            results.append(("dropped", f"{rcpt.kind.value}: one post per message"))
            continue
        outcome = _one(runtime, session, row, parsed, rcpt, own_id, now)
        if outcome[0] in ("post", "held"):
            posted.add(rcpt.slug)
        results.append(outcome)
    decisions = list(dict.fromkeys(d for d, _ in results))
    return "+".join(decisions), "; ".join(r for _, r in results)


def _one(
    runtime: Runtime,
    session: Session,
    row: InboundMessage,
    parsed: ParsedMessage,
    rcpt: Recipient,
    own_id: str,
    now: datetime,
) -> tuple[str, str]:
    """Route and apply one recipient."""
    if rcpt.kind in POST_ADDRESSES:
        facts = facts_for(runtime, session, parsed, rcpt, row.envelope_from, now)
        if facts is None:
            return "dropped", f"no discussion {rcpt.slug}"
    else:
        facts = handoff_facts(runtime, rcpt, row.envelope_from)
    decision = route_message(rcpt, parsed, facts)
    if decision.action is Action.HANDOFF:
        assert decision.handler is not None
        handler = handler_for(decision.handler)
        if handler is None:
            raise _Parked(decision.handler)
        incoming = Incoming(row.id, parsed, rcpt, row.envelope_from, row.raw)
        word = handler(runtime, session, incoming)
        return word, f"{decision.handler.value} handler: {word}"
    return apply_decision(runtime, session, row, parsed, rcpt, decision, own_id, now)


async def inbound_worker(runtime: Runtime, stop: asyncio.Event) -> None:
    """Process stored messages promptly, in a thread, until *stop* is set."""
    await asyncio.to_thread(_release_parked, runtime)
    while not stop.is_set():
        try:
            taken = await asyncio.to_thread(process_pending, runtime, 100)
        except Exception:  # the store is away, or a bug: log, wait, try again
            log.exception("inbound processing paused for 5 s")
            taken, pause = 0, 5.0
        else:
            pause = POLL_SECONDS
        if taken == 0:
            try:
                await asyncio.wait_for(stop.wait(), pause)
            except TimeoutError:
                pass


def _release_parked(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        released = release_parked(session)
    if released:
        log.info("released %d parked message(s) for another try", released)
