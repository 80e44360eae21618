"""A SQLite file's write-ahead log, copied back into the file by a thread of its own.

SQLite copies its log back into the database file (a checkpoint) when a commit
leaves the log over 1,000 pages, inside that commit's call: the committer waits
for it (some 4 MB copied and two ``fsync`` calls, 6 to 8 ms here), and so does
every writer queued behind it on the service's writer lock
(:mod:`mailer.inbound.writers`), the SMTP listener first of all. ``serve`` and
its processing children turn that off on their connections
(``wal_autocheckpoint=0``) and a :class:`WalKeeper` checkpoints instead, every
quarter of a second and outside every lock: a passive checkpoint takes no lock
that a writer needs, and a reader keeps its snapshot.

Other processes (the command line, tests) keep SQLite's own checkpoints, and so
does the outbox's marks engine in serve (its commits hold no shared lock); a
file is also checkpointed when its last connection closes.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger("ediscuss.store")

EVERY_SECONDS = 0.25  # how often the keeper looks at the log


def _no_autocheckpoint(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def log_path(engine: Engine) -> str | None:
    """The write-ahead log of *engine*'s SQLite file; None for any other database
    (PostgreSQL, an in-memory or URI-named SQLite database)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}-wal"


def leave_checkpoints_to_keeper(engine: Engine) -> bool:
    """Turn off SQLite's checkpoints inside commits on *engine*'s connections,
    those open in its pool as well as later ones. A :class:`WalKeeper` must run
    on the file (``serve`` starts one). Returns False (and changes nothing) for a
    database that has no log file."""
    if log_path(engine) is None:
        return False
    if not event.contains(engine, "connect", _no_autocheckpoint):
        event.listen(engine, "connect", _no_autocheckpoint)
        engine.dispose()  # connections opened before: closed, opened again when needed
    return True


class WalKeeper:
    """Checkpoints one SQLite file from a daemon thread (see the module's docstring).

    :meth:`check` is one look: a passive checkpoint when the log changed since
    the last one. The thread calls it every *every* seconds until :meth:`stop`.
    """

    def __init__(self, engine: Engine, every: float = EVERY_SECONDS) -> None:
        path = log_path(engine)
        if path is None:
            raise ValueError("only a SQLite file has a write-ahead log")
        self._engine = engine
        self._path = path
        self._every = every
        self._seen: tuple[int, int] | None = None
        self._failing: str | None = None  # the last failure's reason, told once
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def start_for(cls, engine: Engine) -> WalKeeper | None:
        """Leave *engine*'s checkpoints to a keeper and start it; None (nothing
        done) for a database without a log file."""
        if not leave_checkpoints_to_keeper(engine):
            return None
        keeper = cls(engine)
        keeper.start()
        return keeper

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="wal-keeper", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def check(self) -> bool:
        """Checkpoint if the log changed since the last look; True if it ran."""
        try:
            stat = os.stat(self._path)
        except FileNotFoundError:
            return False
        seen = (stat.st_size, stat.st_mtime_ns)
        if stat.st_size == 0 or seen == self._seen:
            return False
        with self._engine.connect() as connection:
            busy, frames, copied = connection.exec_driver_sql(
                "PRAGMA wal_checkpoint(PASSIVE)"
            ).one()
        if not busy and frames == copied:
            # Everything copied: the next look can skip a log nobody wrote to.
            # Otherwise (a reader holds old frames) look again next time.
            self._seen = seen
        log.debug("checkpoint frames=%d copied=%d busy=%d", frames, copied, busy)
        return True

    def _run(self) -> None:
        while not self._stopping.wait(self._every):
            try:
                self.check()
            except (
                Exception
            ) as exc:  # the file is away for a while: the next look retries
                reason = f"{type(exc).__name__}: {exc}"
                if reason != self._failing:  # once, not four times a second
                    log.exception("checkpoint of %s failed", self._path)
                self._failing = reason
            else:
                if self._failing is not None:
                    log.info("checkpoints of %s work again", self._path)
                self._failing = None
