"""A processing child of ``serve``: process stored mail until told to stop.

Started by :mod:`mailer.inbound.workers` as ``python -m mailer.inbound.runner
WAKE_FD NEWS_FD INDEX`` with the settings pickled on its standard input. It
loops over :func:`~mailer.inbound.pipeline.process_pending`; between passes it
waits on the wake pipe (a byte: mail was committed; end of file: serve is gone,
so it stops) or for ``POLL_SECONDS``. After a wake it lets up to
``GATHER_SECONDS`` pass so that a batch holds several messages
(``GATHER_BUSY_SECONDS`` after a batch of many: mail is flowing, and a larger
batch costs less per message), but no longer than the flow lasts: once
``QUIET_SECONDS`` pass without a commit, what has come is processed at once.
It tells serve on the news pipe when it is ready and when it queued outgoing
mail. SIGTERM: it finishes the batch in hand and exits 0; SIGINT is ignored
(serve stops its children).
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from mailer.config import Settings

log = logging.getLogger("ediscuss.inbound")

GATHER_SECONDS = 0.05  # after a wake, let a few more messages arrive: one batch
# After a batch of many messages mail is flowing: wait a little longer, so the
# next batch is larger (each batch has a fixed cost) at no cost to a quiet day.
GATHER_BUSY_SECONDS = 0.15
QUIET_SECONDS = 0.02  # no commit for this long while gathering: the flow paused
GATHER_STEP_SECONDS = 0.01  # looks at the wake pipe at most this often while gathering
FAILURES_SECONDS = 5.0  # failed messages wait minutes: look for due ones this often


def _wait(fds: list[int], seconds: float) -> list[int]:
    """The fds of *fds* readable within *seconds*."""
    try:
        ready, _, _ = select.select(fds, [], [], seconds)
    except InterruptedError:  # pragma: no cover - retried by Python itself (PEP 475)
        return []
    return list(ready)


def _drain(fd: int) -> bool:
    """Read every wake byte waiting on *fd*; True at end of file (the parent is gone)."""
    while True:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return False
        if not data:
            return True


def _gather(fd: int, longest: float) -> bool:
    """Let a batch fill for up to *longest* seconds while commits keep coming.

    Returns early once ``QUIET_SECONDS`` pass with no wake byte (the last
    message of a burst is not left waiting), and True at end of file (the
    parent is gone).
    """
    deadline = time.monotonic() + longest
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not _wait([fd], min(QUIET_SECONDS, left)):
            return False
        if _drain(fd):
            return True
        time.sleep(min(GATHER_STEP_SECONDS, max(deadline - time.monotonic(), 0)))


def _tell(fd: int, news: bytes) -> bool:
    """Write *news* to serve; False when serve is gone (its end is closed)."""
    try:
        os.write(fd, news)
    except BrokenPipeError:
        return False
    except BlockingIOError:  # serve is busy reading: it will look anyway
        pass
    return True


def _sqlite_no_fsync_at_commit(dbapi_connection: Any, _record: object) -> None:
    """Processing commits do not wait for the disk: SQLite ``synchronous=NORMAL``,
    PostgreSQL ``synchronous_commit = off``.

    Safe for exactly-once: a processing commit lost to a power cut leaves its
    message NEW (the raw bytes were committed with a full sync before the 250)
    and it is processed again, with its effects, as one. Nothing outside sees
    a processing commit before a synchronous commit has made it durable: the
    log (SQLite's WAL, PostgreSQL's WAL) is written in order, and the outbox's
    claim (serve's process, synchronous) flushes it before any copy or notice
    is sent. The flush it saves is time SQLite's write lock is held, which the
    SMTP listener waits for, and a wait on every PostgreSQL commit.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _postgresql_no_fsync_at_commit(dbapi_connection: Any, _record: object) -> None:
    """:func:`_sqlite_no_fsync_at_commit`, for PostgreSQL."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SET synchronous_commit TO off")
    cursor.close()
    dbapi_connection.commit()  # a SET in a transaction rolled back would not last


def processing_engine(settings: Settings) -> Engine:
    """The child's engine, its commits as durable as ``database.processing_commits`` says."""
    from sqlalchemy import event

    from mailer.config.settings import CommitDurability
    from store.db import make_engine
    from store.wal import leave_checkpoints_to_keeper

    engine = make_engine(settings.database.url)
    if settings.database.processing_commits is CommitDurability.FAST:
        # Told apart by the engine, not by the driver's class: importing sqlite3
        # to ask would cost a PostgreSQL child 1 MB.
        fast = (
            _sqlite_no_fsync_at_commit
            if engine.dialect.name == "sqlite"
            else _postgresql_no_fsync_at_commit
        )
        event.listen(engine, "connect", fast)
    leave_checkpoints_to_keeper(engine)  # serve's keeper checkpoints, outside the lock
    return engine


@dataclass(frozen=True)
class _Signals:
    """SIGTERM, as the child notices it: a flag, and a pipe that wakes its wait."""

    stopping: threading.Event
    pipe: int

    @classmethod
    def install(cls) -> _Signals:
        """Catch SIGTERM (set the flag, wake the wait) and ignore SIGINT."""
        stopping = threading.Event()
        signal_r, signal_w = os.pipe()
        os.set_blocking(signal_w, False)
        signal.set_wakeup_fd(signal_w)
        signal.signal(signal.SIGTERM, lambda _n, _f: stopping.set())
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return cls(stopping, signal_r)


def run_child(
    settings: Settings, wake_fd: int, news_fd: int, index: int, signals: _Signals
) -> int:
    """The child's loop: process until SIGTERM, or until the parent is gone."""
    from sqlalchemy import event

    from mailer.clock import system_clock
    from mailer.heap import PROCESSING_YOUNG_OBJECTS, settle_heap
    from mailer.inbound.pipeline import BATCH, POLL_SECONDS, process_pending
    from mailer.keys import load_signing_key
    from mailer.runtime import Runtime
    from store.db import make_sessionmaker
    from store.models import OutboxMessage

    stopping, signal_r = signals.stopping, signals.pipe
    os.set_blocking(wake_fd, False)

    engine = processing_engine(settings)
    runtime = Runtime(
        settings,
        engine,
        make_sessionmaker(engine),
        load_signing_key(settings.service),
        system_clock,
    )
    queued = threading.Event()
    outbox_insert = f"INSERT INTO {OutboxMessage.__tablename__} "

    def notice_outbox(_c: object, _cur: object, statement: str, *_a: object) -> None:
        if statement.startswith(outbox_insert):
            queued.set()

    event.listen(engine, "after_cursor_execute", notice_outbox)

    # start-up is over: what the loop below allocates comes and goes
    settle_heap(PROCESSING_YOUNG_OBJECTS)
    parent_gone = not _tell(news_fd, b"R")

    def tell_outbox() -> None:
        """A chunk of copies is committed: serve's outbox worker sends it now."""
        nonlocal parent_gone
        queued.clear()
        if not _tell(news_fd, b"."):
            parent_gone = True

    log.info("processing worker %d ready", index)
    failures_due = 0.0
    try:
        while not stopping.is_set() and not parent_gone:
            # Failed messages wait a minute or more: look for due ones now and then.
            failures = time.monotonic() >= failures_due
            if failures:
                failures_due = time.monotonic() + FAILURES_SECONDS
            try:
                taken = process_pending(
                    runtime, BATCH, failures=failures, queued=tell_outbox
                )
            except Exception:  # the store is away, or a bug: log, wait, try again
                log.exception("inbound processing paused for 5 s")
                pause, taken = 5.0, 0
            else:
                pause = POLL_SECONDS
            if queued.is_set():  # copies or notices: serve's outbox worker sends now
                queued.clear()
                if not _tell(news_fd, b"."):
                    parent_gone = True
                    break
            if taken:
                if taken >= BATCH:
                    continue  # more are waiting
                busy = taken >= BATCH // 4
                # let the next batch fill a little, while mail keeps coming
                if _gather(wake_fd, GATHER_BUSY_SECONDS if busy else GATHER_SECONDS):
                    parent_gone = True
                    break
                continue
            ready = _wait([wake_fd, signal_r], pause)
            if signal_r in ready:
                os.read(signal_r, 512)
            if wake_fd in ready and (
                _drain(wake_fd) or _gather(wake_fd, GATHER_SECONDS)
            ):
                parent_gone = True
                break
    finally:
        engine.dispose()
    log.info(
        "processing worker %d stopped%s",
        index,
        " (serve is gone)" if parent_gone else "",
    )
    return 0


def main() -> int:
    """``python -m mailer.inbound.runner WAKE_FD NEWS_FD INDEX``, settings on stdin."""
    signals = _Signals.install()  # first: a SIGTERM while importing is a clean stop
    wake_fd, news_fd, index = (int(a) for a in sys.argv[1:4])
    settings = pickle.load(sys.stdin.buffer)
    from mailer.logs import configure_logging

    configure_logging(settings.service.log_level)
    return run_child(settings, wake_fd, news_fd, index, signals)


if __name__ == "__main__":
    sys.exit(main())
