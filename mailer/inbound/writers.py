"""The queue the service's own SQLite writers wait in, one process or several.

Apart from :mod:`mailer.inbound.receive` (the SMTP listener's commits) so that
a processing child, which takes the lock but never listens, does not import
the SMTP server (aiosmtpd and the listener's module, some 2 MB a process).
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from contextlib import AbstractContextManager, nullcontext

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

_WRITERS: weakref.WeakKeyDictionary[Engine, _WriterLock] = weakref.WeakKeyDictionary()


class _WriterLock:
    """A lock in this process, then an OS lock on a file beside the database.

    The file lock queues the writers of other processes (``serve`` and its
    processing workers) the same way: the kernel wakes the next one as soon
    as the lock is free, where SQLite's busy handler would sleep up to 100 ms.
    """

    def __init__(self, database: str | None) -> None:
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        if database and database != ":memory:" and not database.startswith("file:"):
            path = f"{database}-writer.lock"
            try:
                self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:  # a read-only folder: the busy timeout still serialises
                self._fd = None

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._thread_lock.release()
                raise

    def __exit__(self, *exc: object) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def __del__(self) -> None:
        if self._fd is not None:
            os.close(self._fd)


def writer_lock(sessions: sessionmaker[Session]) -> AbstractContextManager[object]:
    """A lock the service's own SQLite writers take before writing.

    SQLite lets one writer in at a time and makes the others poll with
    growing sleeps (up to 100 ms each); queueing on a lock instead wakes the
    next writer as soon as the file is free, in this process and in the
    others (see :class:`_WriterLock`). Other databases need no such thing:
    a null context.
    """
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return nullcontext()
    with _LOCK:
        lock = _WRITERS.get(bind)
        if lock is None:
            lock = _WRITERS[bind] = _WriterLock(bind.url.database)
    return lock


_LOCK = threading.Lock()
