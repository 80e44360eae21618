"""The outbox worker: claim due rows, send them, record each result at once.

Each message's outcome is committed before the next one is sent, so a crash
(power cut, ``kill -9``) re-sends at most the one message that was on the wire:
rows already sent are marked, rows not yet tried go back to the queue when
their lease runs out. Inside ``serve`` the blocking work runs in a thread; the
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import dkim
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from mailer.config.settings import CommitDurability, Settings
from mailer.outbound.bounces import count_bounce
from mailer.outbound.dkim import DkimSigner, load_signer
from mailer.outbound.maildir import MaildirTransport
from mailer.outbound.relay import SendOutcome, SendResult, SmtpRelay, Transport
from store.bodies import BodyCache
from store.bounces import decay_scores, with_bounces
from store.db import make_engine, make_sessionmaker
from store.models import OutboxState
from store.outbox import (
    ClaimedMessage,
    claim_due,
    mark_deferred,
    mark_failed,
    mark_sent,
    release_stale,
    renew_claims,
    unclaim,
)

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.outbox")

LEASE = timedelta(minutes=5)  # a claimed row untouched this long: its worker died
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
    """One worker: its claim token, its transport (kept across passes) and signer."""

    def __init__(
        self,
        runtime: Runtime,
        transport: Transport | None = None,
        signer: DkimSigner | None = None,
    ) -> None:
        self.runtime = runtime
        s = runtime.settings
        self.transport = transport or make_transport(s)
        self.signer = (
            signer if signer is not None else load_signer(s.dkim, s.service.domain)
        )
        self.claimant = _claimant()
        self.stopping = threading.Event()
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        self.marks = self._marks_sessions()
        self._bounced: set[int] = set()  # this batch's subscriptions with a score
        self.bodies = BodyCache()  # shared bodies, read once for many batches

    def _marks_sessions(self) -> sessionmaker[Session]:
        """The worker's own connection for recording outcomes, durable against its crash.

        A result must be committed before the next message can be delivered,
        so one commit per message; it need not wait for the disk. On SQLite
        this connection uses ``synchronous=NORMAL`` (WAL: a killed process
        loses nothing), on PostgreSQL ``synchronous_commit=off`` (the server
        has it at once; only a crash of the database host could drop the last
        marks, which means a re-send, never a lost message). Claims go through
        the shared, fully durable sessions. ``database.processing_commits =
        "durable"`` makes these commits wait for the disk too.
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

    def _record_sent(self, message: ClaimedMessage, now: datetime) -> None:
        """The hot path: one autocommitted UPDATE (two when a bounce score decays)."""
        try:
            connection = self._autocommit()
            mark_sent(connection, message.id, now=now)
            if message.subscription_id in self._bounced:
                decay_scores(connection, [message.subscription_id])
        except DBAPIError as exc:
            if self._connection is not None:
                self._connection.invalidate()
                self._connection = None
            if not exc.connection_invalidated:
                raise
            connection = self._autocommit()  # the database restarted: once more
            mark_sent(connection, message.id, now=now)

    def run_once(self, limit: int | None = None) -> PassReport:
        """Release stale claims, claim one batch, send it; returns the counts."""
        rt = self.runtime
        batch_size = limit or rt.settings.outbox.batch_size
        now = rt.clock()
        with rt.sessions.begin() as session:
            released = release_stale(session, now=now, lease=LEASE)
            batch = claim_due(
                session,
                claimant=self.claimant,
                now=now,
                limit=batch_size,
                bodies=self.bodies,
            )
            self._bounced = with_bounces(
                session, [m.subscription_id for m in batch if m.subscription_id]
            )
        if released:
            log.warning(
                "requeued %d message(s) left sending by a stopped worker", released
            )
        report = PassReport(claimed=len(batch))
        renewed = now
        # Each outcome is committed while the relay answers the next MAIL
        # FROM, before that next message can be delivered: a crash still
        # re-sends at most one message, and the commit costs no time.
        pending: list[Callable[[], None]] = []

        def previous_recorded() -> None:
            while pending:
                pending.pop()()

        try:
            for i, message in enumerate(batch):
                if self.stopping.is_set():
                    previous_recorded()
                    self._give_back(batch[i:])
                    break
                result = self._send(message, previous_recorded)
                previous_recorded()
                if result.outcome is SendOutcome.DEFERRED and result.stage == "connect":
                    self._record(message, result, report)
                    self._defer_rest(batch[i + 1 :], result, report)
                    break
                pending.append(functools.partial(self._record, message, result, report))
                now = rt.clock()
                if now - renewed > LEASE / 3:
                    with rt.sessions.begin() as session:
                        renew_claims(session, claimant=self.claimant, now=now)
                    renewed = now
        finally:
            previous_recorded()
        return report

    def drain(self, max_passes: int = 1_000_000) -> PassReport:
        """Pass after pass until nothing is due (or a pass sent nothing)."""
        total = PassReport()
        for _ in range(max_passes):
            report = self.run_once()
            total.add(report)
            if report.claimed == 0 or report.sent + report.failed == 0:
                break
        return total

    def close(self) -> None:
        """Close the relay connection (and the worker's own SQLite connection)."""
        self.transport.close()
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._engine is not None:
            self._engine.dispose()

    def _send(
        self, message: ClaimedMessage, before_commit: Callable[[], None]
    ) -> SendResult:
        raw = message.whole()  # the shared body put in; signed as a whole
        if self.signer is not None:
            try:
                raw = self.signer.sign(raw)
            except (dkim.DKIMException, ValueError) as exc:
                return SendResult(SendOutcome.DEFERRED, f"cannot DKIM-sign: {exc}")
        return self.transport.send(
            message.envelope_from, message.recipient, raw, before_commit
        )

    def _record(
        self, message: ClaimedMessage, result: SendResult, report: PassReport
    ) -> None:
        rt = self.runtime
        now = rt.clock()
        box = rt.settings.outbox
        if result.outcome is SendOutcome.SENT:
            self._record_sent(message, now)
            report.sent += 1
            log.info(
                "sent message_id=%s to=%s answer=%r",
                message.message_id,
                message.recipient,
                result.answer,
            )
            return
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

    def _defer_rest(
        self, rest: list[ClaimedMessage], result: SendResult, report: PassReport
    ) -> None:
        """The relay cannot be reached: the rest of the batch waits with the same reason."""
        for message in rest:
            self._record(message, result, report)

    def _give_back(self, rest: list[ClaimedMessage]) -> None:
        with self.runtime.sessions.begin() as session:
            unclaim(session, [m.id for m in rest])


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
                    report = await blocking(sender.run_once)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception(
                        "outbox pass failed; retrying after the poll interval"
                    )
                    report = PassReport()
                if report.claimed >= runtime.settings.outbox.batch_size:
                    continue  # more is waiting
                if report.claimed == 0:
                    await blocking(sender.transport.close)  # idle: free the relay
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
