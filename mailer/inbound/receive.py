"""The one entry point for received mail, whatever carried it: store it, durably, once.

Deliveries that arrive while a commit is under way are committed together in
the next one (group commit): each caller still returns only after the
transaction holding its message committed, but many messages share one
``fsync``, which is what bounds a busy SQLite file.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mailer.clock import Clock
from mailer.core.dedupe import InboundKey, inbound_key
from mailer.core.errors import StoreUnavailable
from mailer.inbound.smtp import Accept, Accepted, Delivery
from store.inbox import store_inbound

MAX_GROUP = 64  # messages in one commit at most

_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = (
    weakref.WeakKeyDictionary()
)


def writer_lock(sessions: sessionmaker[Session]) -> AbstractContextManager[object]:
    """A lock the process's own SQLite writers take before writing.

    SQLite lets one writer in at a time and makes the others poll with
    growing sleeps (up to 100 ms each); queueing on a lock in the process
    instead wakes the next writer as soon as the file is free. Other
    databases need no such thing: a null context.
    """
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return nullcontext()
    with _LOCK:
        lock = _WRITERS.get(bind)
        if lock is None:
            lock = _WRITERS[bind] = threading.Lock()
    return lock


_LOCK = threading.Lock()


@dataclass
class _Slot:
    delivery: Delivery
    key: InboundKey
    done: bool = False
    result: Accepted | None = None
    error: StoreUnavailable | None = None


@dataclass
class _Group:
    cond: threading.Condition = field(default_factory=threading.Condition)
    pending: list[_Slot] = field(default_factory=list)
    busy: bool = False


def _commit(
    sessions: sessionmaker[Session], clock: Clock, slots: Sequence[_Slot]
) -> None:
    """Store every slot's delivery in one transaction; fill in results or the error."""
    try:
        with writer_lock(sessions), sessions.begin() as session:
            now = clock()
            results = []
            for slot in slots:
                d = slot.delivery
                stored = store_inbound(
                    session,
                    raw=d.raw,
                    dedupe_key=slot.key.key,
                    message_id=slot.key.message_id,
                    envelope_from=d.mail_from,
                    envelope_to=d.rcpt_tos,
                    received_via=d.via,
                    peer=d.peer,
                    now=now,
                )
                results.append(
                    Accepted(stored.inbound_id, stored.duplicate, slot.key.message_id)
                )
    except (OperationalError, DBAPIError) as exc:
        error = StoreUnavailable(str(exc.orig or exc).splitlines()[0])
    except OSError as exc:  # disk full, permissions
        error = StoreUnavailable(str(exc))
    else:
        for slot, result in zip(slots, results, strict=True):
            slot.result = result
        return
    for slot in slots:
        slot.error = error


def make_accept(sessions: sessionmaker[Session], clock: Clock) -> Accept:
    """A function that commits a :class:`Delivery` and says where it landed.

    It returns only after the commit: its caller may then say 250 (or, for IMAP,
    flag the message on the server). A database error becomes
    :class:`StoreUnavailable`, which the SMTP server answers with 451.
    Concurrent callers (one thread per SMTP session) are grouped into one
    transaction; the first caller to find no commit running does it for all.
    """
    group = _Group()

    def accept(delivery: Delivery) -> Accepted:
        slot = _Slot(delivery, inbound_key(delivery.raw))
        with group.cond:
            group.pending.append(slot)
        while True:
            with group.cond:
                while group.busy and not slot.done:
                    group.cond.wait()
                if slot.done:
                    break
                group.busy = True
                batch = group.pending[:MAX_GROUP]
                del group.pending[:MAX_GROUP]
            try:
                _commit(sessions, clock, batch)
            finally:
                with group.cond:
                    for s in batch:
                        if s.result is None and s.error is None:  # the leader raised
                            s.error = StoreUnavailable("unexpected store error")
                        s.done = True
                    group.busy = False
                    group.cond.notify_all()
        if slot.error is not None:
            raise slot.error
        assert slot.result is not None
        return slot.result

    return accept
