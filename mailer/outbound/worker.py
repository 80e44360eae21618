"""The outbox worker: claim due rows, send them over several connections, record in groups.

A pass claims a batch in one statement and hands it to ``outbox.connections``
lanes, each a thread with its own connection to the relay, which take the next
message as soon as they are free. Their outcomes are recorded by the pass's
own thread in groups: one statement (and one commit) for every
:data:`RECORD_EVERY` copies or :data:`RECORD_AFTER` seconds, whichever comes
first. A lane may start a message only while fewer than :data:`RECORD_EVERY`
are sent or on the wire without their outcome committed, so a crash (power
cut, ``kill -9``) re-sends at most that many: rows already recorded are
marked, the rest of the batch goes back to the queue when its lease runs out,
and nothing is lost. Inside ``serve`` the blocking work runs in a thread; the
loop wakes every ``outbox.poll_seconds`` or when the runtime's outbox bell rings.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import ssl
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from mailer.config.settings import CommitDurability, Settings
from mailer.outbound.bounces import count_bounce
from mailer.outbound.dkim import DkimSigner, load_signer
from mailer.outbound.ledger import OutcomeLedger
from mailer.outbound.maildir import MaildirTransport
from mailer.outbound.relay import SendOutcome, SendResult, SmtpRelay, Transport
from store.bodies import BodyCache
from store.bounces import decay_scores, with_bounces
from store.db import make_engine, make_sessionmaker
from store.models import OutboxState
from store.outbox import (
    ClaimedMessage,
    claim_due,
    mark_all_sent,
    mark_deferred,
    mark_failed,
    release_stale,
    renew_claims,
    unclaim,
)

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.outbox")

# A claimed row untouched this long: its worker died. The pass renews its
# claims every third of it from its own thread, which never waits on a relay,
# so a live worker keeps them; a killed one's rows go out again a minute later.
LEASE = timedelta(seconds=60)
RENEW_EVERY = LEASE.total_seconds() / 3
# How often a worker looks for rows a stopped worker left sending: a busy
# pass (a thousand copies) takes a second or two, far less than a lease.
RELEASE_EVERY = LEASE / 5
# At most this many copies are sent (or on the wire) without their outcome
# committed: what a crash may send twice. Measured in docs/performance.md.
RECORD_EVERY = 64
RECORD_AFTER = 0.05  # seconds an outcome may wait for its group's commit
FOLLOW_ON = 20  # batches a busy pass claims, each while the one before is sent
_T = TypeVar("_T")


@dataclass
class PassReport:
    """What one pass over the outbox did."""

    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0

    def add(self, other: PassReport) -> None:
        """Add *other*'s counts to these."""
        self.claimed += other.claimed
        self.sent += other.sent
        self.deferred += other.deferred
        self.failed += other.failed


def make_transport(
    settings: Settings, ssl_context: ssl.SSLContext | None = None
) -> Transport:
    """The configured relay, or the Maildir ``<state_dir>/outbox`` when there is none."""
    if settings.relay is None:
        return MaildirTransport(settings.service.state_dir / "outbox")
    return SmtpRelay(
        settings.relay,
        local_hostname=settings.service.domain,
        ssl_context=ssl_context,
    )


def _sqlite_normal_sync(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _claimant() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class OutboxSender:
    """One worker: its claim token, its relay connections (kept across passes), its signer."""

    def __init__(
        self,
        runtime: Runtime,
        signer: DkimSigner | None = None,
    ) -> None:
        self.runtime = runtime
        s = runtime.settings
        self.connections = s.outbox.connections
        self.transports = [make_transport(s) for _ in range(self.connections)]
        self.signer = (
            signer if signer is not None else load_signer(s.dkim, s.service.domain)
        )
        self.claimant = _claimant()
        self.stopping = threading.Event()
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        self.marks = self._marks_sessions()
        self._bounced: set[int] = set()  # claimed subscriptions with a score
        self._released_at: datetime | None = None  # the last look for stale rows
        self.bodies = BodyCache()  # shared bodies, read once for many batches
        self._lanes = ThreadPoolExecutor(
            self.connections, thread_name_prefix="outbox-lane"
        )

    def _marks_sessions(self) -> sessionmaker[Session]:
        """The worker's own connection for recording outcomes, durable against its crash.

        Outcomes are committed in groups (see the module's docstring); the
        commits need not wait for the disk. On SQLite this connection uses
        ``synchronous=NORMAL`` (WAL: a killed process loses nothing), on
        PostgreSQL ``synchronous_commit=off`` (the server has it at once; only
        a crash of the database host could drop the last marks, which means a
        re-send, never a lost message). Claims go through the shared, fully
        durable sessions. ``database.processing_commits = "durable"`` makes
        these commits wait for the disk too.
        """
        url = self.runtime.engine.url
        if (
            self.runtime.settings.database.processing_commits
            is CommitDurability.DURABLE
        ):
            self._engine = make_engine(
                url.render_as_string(hide_password=False), pool_size=1
            )
        elif url.get_backend_name() == "sqlite":
            self._engine = make_engine(
                url.render_as_string(hide_password=False), pool_size=1
            )
            event.listen(self._engine, "connect", _sqlite_normal_sync)
        else:
            self._engine = make_engine(
                url.render_as_string(hide_password=False),
                pool_size=1,
                connect_args={"options": "-c synchronous_commit=off"},
            )
        return make_sessionmaker(self._engine)

    def _autocommit(self) -> Connection:
        """A held connection where each statement commits by itself."""
        if self._connection is None or self._connection.invalidated:
            assert self._engine is not None
            self._connection = self._engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            )
        return self._connection

    def _record_sent(self, messages: list[ClaimedMessage], now: datetime) -> None:
        """The hot path: one autocommitted UPDATE a group (two when a bounce score decays)."""
        ids = [m.id for m in messages]
        decaying = [
            m.subscription_id
            for m in messages
            if m.subscription_id is not None and m.subscription_id in self._bounced
        ]
        try:
            connection = self._autocommit()
            mark_all_sent(connection, ids, now=now)
            if decaying:
                decay_scores(connection, decaying)
        except DBAPIError as exc:
            if self._connection is not None:
                self._connection.invalidate()
                self._connection = None
            if not exc.connection_invalidated:
                raise
            connection = self._autocommit()  # the database restarted: once more
            mark_all_sent(connection, ids, now=now)

    def run_once(self, limit: int | None = None, *, most: int = 0) -> PassReport:
        """Release stale claims (every :data:`RELEASE_EVERY`), claim a batch, send it.

        Returns the counts. A batch is *limit* rows (default ``outbox.batch_size``). With *most*,
        the next batch is claimed while this one is sent, so the lanes never
        wait for a claim, until a claim comes back short or *most* rows were
        claimed.
        """
        rt = self.runtime
        batch_size = limit or rt.settings.outbox.batch_size
        now = rt.clock()
        if self._released_at is None or now - self._released_at >= RELEASE_EVERY:
            with rt.sessions.begin() as session:
                released = release_stale(session, now=now, lease=LEASE)
            self._released_at = now
            if released:
                log.warning(
                    "requeued %d message(s) left sending by a stopped worker", released
                )
        self._bounced = set()
        batch = self._claim(batch_size)
        # Each further claim of the pass starts where the last one ended.
        due_from = _latest_due(batch, None)
        report = PassReport(claimed=len(batch))
        if not batch:
            return report
        more_to_come = len(batch) == batch_size and most > len(batch)
        lanes = self.connections if more_to_come else min(self.connections, len(batch))
        ledger = OutcomeLedger(
            batch,
            slots=RECORD_EVERY,
            lanes=lanes,
            every=RECORD_EVERY,
            after=RECORD_AFTER,
            more_to_come=more_to_come,
        )
        futures: list[Future[None]] = [
            self._lanes.submit(self._lane, self.transports[i], ledger)
            for i in range(lanes)
        ]
        renewed = now
        try:
            while (collected := ledger.collect(idle=RENEW_EVERY)) is not None:
                if collected.outcomes:
                    try:
                        self._record_group(collected.outcomes, report)
                    finally:
                        ledger.recorded(len(collected.outcomes))
                if collected.wants_more:
                    more = (
                        []
                        if self.stopping.is_set()
                        else self._claim(batch_size, due_from)
                    )
                    due_from = _latest_due(more, due_from)
                    report.claimed += len(more)
                    ledger.add(
                        more, last=len(more) < batch_size or report.claimed >= most
                    )
                now = rt.clock()
                if now - renewed > timedelta(seconds=RENEW_EVERY):
                    with rt.sessions.begin() as session:
                        renew_claims(session, claimant=self.claimant, now=now)
                    renewed = now
        finally:
            # On an error here (the database went away), the lanes stop and
            # the unrecorded rows wait for their lease: sent again, not lost.
            ledger.halt()
            for future in futures:
                future.exception()  # wait for every lane
        for future in futures:
            future.result()  # a lane's unexpected error
        rest = ledger.left()
        if rest and ledger.unreachable is not None:
            # The relay cannot be reached: the rest waits with the same reason.
            self._record_group([(m, ledger.unreachable) for m in rest], report)
        elif rest:
            self._give_back(rest)
        return report

    def _claim(
        self, limit: int, due_from: datetime | None = None
    ) -> list[ClaimedMessage]:
        """Claim up to *limit* due rows in one statement (and one durable commit).

        With *due_from*, only rows due from then on (see :func:`claim_due`).
        """
        rt = self.runtime
        with rt.sessions.begin() as session:
            batch = claim_due(
                session,
                claimant=self.claimant,
                now=rt.clock(),
                limit=limit,
                bodies=self.bodies,
                due_from=due_from,
            )
            self._bounced |= with_bounces(
                session, [m.subscription_id for m in batch if m.subscription_id]
            )
        return batch

    def _lane(self, transport: Transport, ledger: OutcomeLedger) -> None:
        """Send the pass's next message until none is left (one lane's thread)."""
        try:
            while not self.stopping.is_set():
                message = ledger.next_message()
                if message is None:
                    return
                result = self._send(transport, message)
                if result.outcome is SendOutcome.DEFERRED and result.stage == "connect":
                    ledger.unreachable = result
                ledger.done(message, result)
        finally:
            ledger.lane_finished()

    def drain(self, max_passes: int = 1_000_000) -> PassReport:
        """Pass after pass until nothing is due (or a pass sent nothing)."""
        total = PassReport()
        for _ in range(max_passes):
            report = self.run_once(
                most=FOLLOW_ON * self.runtime.settings.outbox.batch_size
            )
            total.add(report)
            if report.claimed == 0 or report.sent + report.failed == 0:
                break
        return total

    def close_connections(self) -> None:
        """Close every relay connection (the next pass opens them again)."""
        for transport in self.transports:
            transport.close()

    def close(self) -> None:
        """Close the relay connections, the lanes and the worker's own database connection."""
        self._lanes.shutdown(wait=True)
        self.close_connections()
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._engine is not None:
            self._engine.dispose()

    def _send(self, transport: Transport, message: ClaimedMessage) -> SendResult:
        raw = message.whole()  # the shared body put in; signed as a whole
        if self.signer is not None:
            try:
                raw = self.signer.sign(raw)
            except ValueError as exc:  # SigningError included
                return SendResult(SendOutcome.DEFERRED, f"cannot DKIM-sign: {exc}")
        return transport.send(message.envelope_from, message.recipient, raw)

    def _record_group(
        self, group: list[tuple[ClaimedMessage, SendResult]], report: PassReport
    ) -> None:
        """Commit a group's outcomes: the sent ones in one statement, the others each."""
        sent = [m for m, r in group if r.outcome is SendOutcome.SENT]
        if sent:
            self._record_sent(sent, self.runtime.clock())
            report.sent += len(sent)
        for message, result in group:
            if result.outcome is SendOutcome.SENT:
                log.info(
                    "sent message_id=%s to=%s answer=%r",
                    message.message_id,
                    message.recipient,
                    result.answer,
                )
            else:
                self._record(message, result, report)

    def _record(
        self, message: ClaimedMessage, result: SendResult, report: PassReport
    ) -> None:
        """Record a deferral or a failure (rare: a transaction of its own)."""
        rt = self.runtime
        now = rt.clock()
        box = rt.settings.outbox
        with self.marks.begin() as session:
            if result.outcome is SendOutcome.FAILED:
                mark_failed(session, message.id, error=result.answer)
                expired = False
            else:
                state = mark_deferred(
                    session,
                    message,
                    now=now,
                    error=result.answer,
                    first_retry_seconds=box.first_retry_seconds,
                    max_age=timedelta(hours=box.max_age_hours),
                )
                expired = state is OutboxState.FAILED
            if result.outcome is SendOutcome.FAILED or expired:
                report.failed += 1
                log.warning(
                    "failed message_id=%s to=%s attempts=%d answer=%r",
                    message.message_id,
                    message.recipient,
                    message.attempts,
                    result.answer,
                )
                # The recipient's server refused it (not our relay being away).
                if message.subscription_id is not None and result.about_recipient:
                    count_bounce(
                        session,
                        rt.settings,
                        rt.key,
                        message.subscription_id,
                        permanent=result.outcome is SendOutcome.FAILED,
                        reason=result.answer,
                        now=now,
                    )
            else:
                report.deferred += 1
                log.warning(
                    "deferred message_id=%s to=%s attempts=%d answer=%r",
                    message.message_id,
                    message.recipient,
                    message.attempts,
                    result.answer,
                )

    def _give_back(self, rest: list[ClaimedMessage]) -> None:
        with self.runtime.sessions.begin() as session:
            unclaim(session, [m.id for m in rest])


def _latest_due(batch: list[ClaimedMessage], since: datetime | None) -> datetime | None:
    """The latest due time of *batch*, or *since* when it has none later."""
    due = [m.due_at for m in batch if m.due_at is not None]
    if since is not None:
        due.append(since)
    return max(due, default=None)


async def outbox_worker(runtime: Runtime, stop: asyncio.Event) -> None:
    """Send due mail until *stop* is set; a cancelled worker finishes its message first."""
    loop = asyncio.get_running_loop()
    try:
        sender = OutboxSender(runtime)
    except OSError as exc:  # the DKIM key file is configured but unreadable
        log.error("outbox worker cannot start, stopping the service: %s", exc)
        stop.set()
        return
    executor = ThreadPoolExecutor(1, thread_name_prefix="outbox")
    batch_size = runtime.settings.outbox.batch_size
    busy_pass = functools.partial(sender.run_once, most=FOLLOW_ON * batch_size)

    async def blocking(fn: Callable[[], _T]) -> _T:
        future = loop.run_in_executor(executor, fn)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            sender.stopping.set()
            await asyncio.wait([future])  # the message in flight is recorded
            raise

    try:
        with runtime.wakes.outbox.listen() as wake:
            while not stop.is_set():
                wake.clear()  # a wake during the pass below means: look again
                try:
                    report = await blocking(busy_pass)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception(
                        "outbox pass failed; retrying after the poll interval"
                    )
                    report = PassReport()
                if report.claimed >= batch_size:
                    continue  # more is waiting
                if report.claimed == 0:
                    await blocking(sender.close_connections)  # idle: free the relay
                waiter = asyncio.ensure_future(wake.wait())
                stopper = asyncio.ensure_future(stop.wait())
                try:
                    await asyncio.wait(
                        {waiter, stopper},
                        timeout=runtime.settings.outbox.poll_seconds,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    waiter.cancel()
                    stopper.cancel()
    finally:
        sender.stopping.set()
        await loop.run_in_executor(executor, sender.close)
        executor.shutdown(wait=False)
