"""The one entry point for received mail, whatever carried it: store it, durably, once.

Deliveries that arrive while a commit is under way are committed together in
the next one (group commit): each caller still returns only after the
transaction holding its message committed, but many messages share one
``fsync``, which is what bounds a busy SQLite file.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mailer.clock import Clock
from mailer.core.dedupe import InboundKey, inbound_key
from mailer.core.errors import StoreUnavailable
from mailer.inbound.smtp import Accepted, Delivery
from mailer.inbound.writers import writer_lock
from store.inbox import Received, store_inbound_many

MAX_GROUP = 64  # messages in one commit at most
IDLE_SECONDS = 1.0  # the committer thread ends after this long without work

log = logging.getLogger("ediscuss.inbound")


@dataclass
class _Slot:
    """One delivery waiting for the commit that holds it."""

    delivery: Delivery
    key: InboundKey | None = None
    result: Accepted | None = None
    error: StoreUnavailable | None = None
    event: threading.Event | None = None  # a blocking caller waits on it
    future: asyncio.Future[Accepted] | None = None  # an event loop awaits it

    def finish(self) -> None:
        """Hand the result (or the error) to a blocking caller; an awaiting
        one is told by :func:`_finish_group`."""
        if self.result is None and self.error is None:  # the committer raised
            self.error = StoreUnavailable("unexpected store error")
        if self.event is not None:
            self.event.set()


def _finish_group(slots: Sequence[_Slot]) -> None:
    """Finish every slot of a group; the event loops awaiting some are woken
    once each (one wake per message would cost a write to the loop's pipe,
    and a turn of the loop, each)."""
    waiting: dict[asyncio.AbstractEventLoop, list[_Slot]] = {}
    for slot in slots:
        slot.finish()
        if slot.future is not None:
            waiting.setdefault(slot.future.get_loop(), []).append(slot)
    for loop, settled in waiting.items():
        try:
            loop.call_soon_threadsafe(_settle, settled)
        except RuntimeError:  # that loop is closed: nobody awaits there any more
            continue


def _settle(slots: Sequence[_Slot]) -> None:
    for slot in slots:
        future = slot.future
        assert future is not None
        if future.done():  # the client went away meanwhile
            continue
        if slot.error is not None:
            future.set_exception(slot.error)
        else:
            assert slot.result is not None
            future.set_result(slot.result)


def _commit(
    connection: Connection,
    lock: AbstractContextManager[object],
    clock: Clock,
    slots: Sequence[_Slot],
) -> None:
    """Store every slot's delivery in one statement and fill in the results.

    *connection* is in autocommit mode: the one INSERT is its own transaction
    (see :func:`store_inbound_many`). Everything else is done before the lock
    is taken: while this thread holds SQLite's write lock, each call that lets
    Python's other thread (the SMTP listener's) run costs a wait to get back.
    """
    keys = [slot.key for slot in slots if slot.key is not None]
    assert len(keys) == len(slots)
    messages = [
        Received(
            raw=slot.delivery.raw,
            dedupe_key=key.key,
            message_id=key.message_id,
            envelope_from=slot.delivery.mail_from,
            envelope_to=slot.delivery.rcpt_tos,
            received_via=slot.delivery.via,
            peer=slot.delivery.peer,
        )
        for slot, key in zip(slots, keys, strict=True)
    ]
    with lock:
        stored = store_inbound_many(connection, messages, clock())
        connection.commit()  # ends SQLAlchemy's transaction; the rows are committed
    for slot, key, landed in zip(slots, keys, stored, strict=True):
        slot.result = Accepted(landed.inbound_id, landed.duplicate, key.message_id)


class GroupCommit:
    """Commits deliveries and says where each landed, many to a transaction.

    One committer thread stores whatever deliveries are waiting in one
    transaction (group commit: many messages share one ``fsync``, which is
    what bounds a busy SQLite file), then the next group. A caller gets its
    answer only after the transaction holding its message committed: it may
    then say 250 (or, for IMAP, flag the message on the server). A database
    error becomes :class:`StoreUnavailable`, which SMTP answers with 451.
    Call it (blocking, from any thread) or await :meth:`submit` from an event
    loop: no thread per message then. The thread ends when idle for a second.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        bind = sessions.kw.get("bind")
        if not isinstance(bind, Engine):
            raise TypeError("the session factory has no engine")
        self._engine = bind
        self._lock = writer_lock(sessions)
        self._clock = clock
        self._after_commit = after_commit
        self._cond = threading.Condition()
        self._pending: list[_Slot] = []
        self._running = False

    def __call__(self, delivery: Delivery) -> Accepted:
        """Commit *delivery*; returns once it is committed (or raises StoreUnavailable)."""
        slot = _Slot(delivery, event=threading.Event())
        self._enqueue(slot)
        assert slot.event is not None
        slot.event.wait()
        if slot.error is not None:
            raise slot.error
        assert slot.result is not None
        return slot.result

    async def submit(self, delivery: Delivery) -> Accepted:
        """:meth:`__call__` for an event loop: await the commit without a thread."""
        future: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
        self._enqueue(_Slot(delivery, future=future))
        return await future

    def _enqueue(self, slot: _Slot) -> None:
        with self._cond:
            self._pending.append(slot)
            if self._running:
                self._cond.notify()
                return
            self._running = True
        threading.Thread(target=self._run, name="inbound-commit", daemon=True).start()

    def _store(
        self, connection: Connection | None, slots: Sequence[_Slot]
    ) -> Connection | None:
        """Commit *slots* in one transaction; a store failure goes to each slot.

        Returns the connection to use for the next group (None after a failure).
        """
        try:
            connection = connection or self._engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            )
            _commit(connection, self._lock, self._clock, slots)
            return connection
        except (OperationalError, DBAPIError) as exc:
            error = StoreUnavailable(str(exc.orig or exc).splitlines()[0])
        except OSError as exc:  # disk full, permissions
            error = StoreUnavailable(str(exc))
        if connection is not None:
            connection.close()
        for slot in slots:
            slot.error = error
        return None

    def _run(self) -> None:
        # The connection is kept while groups follow each other (a busy
        # listener), and given back to the pool before waiting for more.
        connection: Connection | None = None
        while True:
            with self._cond:
                if not self._pending and connection is not None:
                    connection.close()
                    connection = None
                if not self._pending:
                    self._cond.wait(IDLE_SECONDS)
                if not self._pending:
                    self._running = False
                    return
                group = self._pending[:MAX_GROUP]
                del self._pending[:MAX_GROUP]
            keyed = []
            for slot in group:  # a message whose key cannot be made fails alone
                try:
                    slot.key = inbound_key(slot.delivery.raw)
                    keyed.append(slot)
                except Exception:  # told to the client as a 451
                    log.exception("no dedupe key for a received message")
                    slot.error = StoreUnavailable("unreadable message header")
            try:
                if keyed:
                    connection = self._store(connection, keyed)
                if self._after_commit is not None and any(s.result for s in group):
                    self._after_commit()
            except Exception:  # each caller gets a 451; the thread goes on
                log.exception("storing %d received message(s) failed", len(group))
            finally:
                _finish_group(group)


def make_accept(
    sessions: sessionmaker[Session],
    clock: Clock,
    after_commit: Callable[[], None] | None = None,
) -> GroupCommit:
    """The function that commits a :class:`Delivery` (see :class:`GroupCommit`);
    *after_commit* runs after each commit (say, to wake the processing workers)."""
    return GroupCommit(sessions, clock, after_commit)
