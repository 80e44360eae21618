"""Processing received mail in child processes beside ``serve``'s listener.

Python runs one thread of a process at a time, so processing in a thread of the
listener's process takes the processor from the listener (and the other way
round). As Mailman's runners do, ``serve`` keeps accepting and committing in
its own process and starts ``inbound.workers`` child processes that each loop
over :func:`~mailer.inbound.pipeline.process_pending`: claims keep two of them
(or two nodes) from taking the same message. ``inbound.workers = 0`` processes
in a thread of ``serve`` instead (as tests that drive ``serve`` in-process with
their own clock need: a clock set in code cannot cross into another process).

Each child is ``python -m mailer.inbound.workers``, given the settings on its
standard input, and two pipes:

* wake, parent to child: a byte after each commit of received mail, so the
  child starts at once; end of file means the parent is gone: the child stops.
* news, child to parent: ``R`` once ready, then a byte after each batch that
  queued outgoing mail, so the parent wakes its outbox worker at once.

A child that exits unexpectedly (a crash, a message that kills it) is logged
and started again, after a pause that grows from 1 s to 60 s while it keeps
dying. On stop each child gets SIGTERM, finishes the batch in hand and is
waited for; one that does not exit in time is killed (its transaction rolls
back, nothing is lost). A child ignores SIGINT: Ctrl-C reaches the whole
process group, and the parent stops the children itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailer.config import Settings
    from mailer.service import Runtime, Worker

log = logging.getLogger("ediscuss.inbound")

GATHER_SECONDS = 0.05  # after a wake, let a few more messages arrive: one batch
STOP_SECONDS = 15.0  # a stopping child finishes its batch within this, or is killed
FIRST_PAUSE = 1.0
MAX_PAUSE = 60.0
STEADY_SECONDS = 60.0
FAILURES_SECONDS = 5.0  # a child that ran this long before dying starts again at once

# Wake pipes of the children running for each runtime in this process.
_wakes: dict[int, list[int]] = {}
_wakes_lock = threading.Lock()


def wake_processing(runtime: Runtime) -> None:
    """Tell this process's processing children (or thread) that mail was committed."""
    from mailer.inbound.pipeline import wake_inbound

    wake_inbound(runtime)
    with _wakes_lock:
        fds = list(_wakes.get(id(runtime), ()))
    for fd in fds:
        try:
            os.write(fd, b"w")
        except (BlockingIOError, OSError):  # full (it will look anyway) or gone
            pass


@dataclass
class _Child:
    """One processing child process as the parent sees it."""

    index: int
    proc: subprocess.Popen[bytes] | None = None
    wake_w: int = -1
    news_r: int = -1
    started: float = 0.0
    pause: float = FIRST_PAUSE
    restart_at: float | None = None


def _spawn(runtime: Runtime, child: _Child) -> None:
    """Start *child*'s process with its pipes; the settings go down its stdin."""
    wake_r, wake_w = os.pipe()
    news_r, news_w = os.pipe()
    os.set_blocking(wake_w, False)
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (root, env.get("PYTHONPATH", "")) if p
    )
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mailer.inbound.workers",
                str(wake_r),
                str(news_w),
                str(child.index),
            ],
            stdin=subprocess.PIPE,
            pass_fds=(wake_r, news_w),
            env=env,
        )
    except BaseException:
        for fd in (wake_r, wake_w, news_r, news_w):
            os.close(fd)
        raise
    os.close(wake_r)
    os.close(news_w)
    assert proc.stdin is not None
    try:
        proc.stdin.write(pickle.dumps(runtime.settings))
        proc.stdin.close()
    except OSError:  # it died at once; noticed by its closed pipe
        pass
    child.proc, child.wake_w, child.news_r = proc, wake_w, news_r
    child.started = time.monotonic()
    with _wakes_lock:
        _wakes.setdefault(id(runtime), []).append(wake_w)
    log.info("processing worker %d started pid=%d", child.index, proc.pid)


def _forget(runtime: Runtime, child: _Child, loop: asyncio.AbstractEventLoop) -> None:
    """Close the parent's ends of *child*'s pipes."""
    with _wakes_lock:
        fds = _wakes.get(id(runtime), [])
        if child.wake_w in fds:
            fds.remove(child.wake_w)
        if not fds:
            _wakes.pop(id(runtime), None)
    if child.news_r >= 0:
        loop.remove_reader(child.news_r)
        os.close(child.news_r)
    if child.wake_w >= 0:
        os.close(child.wake_w)
    child.wake_w = child.news_r = -1


def _stop_children(children: list[_Child]) -> None:
    """SIGTERM every child, wait for each (killing the late ones), reap them."""
    for child in children:
        if child.proc is not None and child.proc.poll() is None:
            child.proc.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    for child in children:
        if child.proc is None:
            continue
        try:
            child.proc.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            log.error(
                "processing worker %d pid=%d did not stop in %.0f s: killed",
                child.index,
                child.proc.pid,
                STOP_SECONDS,
            )
            child.proc.kill()
            child.proc.wait()


async def processing_workers(runtime: Runtime, stop: asyncio.Event) -> None:
    """Run ``inbound.workers`` processing children until *stop*; restart the dead."""
    from mailer.inbound.pipeline import release_parked_messages
    from mailer.outbound.worker import wake_outbox

    loop = asyncio.get_running_loop()
    await asyncio.to_thread(release_parked_messages, runtime)
    children = [_Child(i) for i in range(runtime.settings.inbound.workers)]

    def on_news(child: _Child) -> None:
        try:
            data = os.read(child.news_r, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the child is gone
            _forget(runtime, child, loop)
            return
        if data.strip(b"R"):  # "R": ready; anything else: it queued mail, maybe
            wake_outbox(runtime)

    def start(child: _Child) -> None:
        _spawn(runtime, child)
        loop.add_reader(child.news_r, on_news, child)

    try:
        for child in children:
            start(child)
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except TimeoutError:
                pass
            if stop.is_set():
                break
            now = time.monotonic()
            for child in children:
                _supervise(runtime, child, now, start, loop)
    finally:
        await _finish(runtime, children, loop)


def _supervise(
    runtime: Runtime,
    child: _Child,
    now: float,
    start: Callable[[_Child], None],
    loop: asyncio.AbstractEventLoop,
) -> None:
    """Notice a dead child and start it again when its pause is over."""
    proc = child.proc
    if child.restart_at is not None:
        if now >= child.restart_at:
            child.restart_at = None
            start(child)
        return
    if proc is None or proc.poll() is None:
        return
    _forget(runtime, child, loop)
    if now - child.started >= STEADY_SECONDS:
        child.pause = FIRST_PAUSE
    log.error(
        "processing worker %d pid=%d exited with %s; starting it again in %.0f s",
        child.index,
        proc.pid,
        _exit_text(proc.returncode),
        child.pause,
    )
    child.restart_at = now + child.pause
    child.pause = min(child.pause * 2, MAX_PAUSE)


async def _finish(
    runtime: Runtime, children: list[_Child], loop: asyncio.AbstractEventLoop
) -> None:
    """Stop every child and wait for them, even when this task is being cancelled."""
    for child in children:
        if child.news_r >= 0:
            loop.remove_reader(child.news_r)
    waiting = asyncio.ensure_future(asyncio.to_thread(_stop_children, children))
    try:
        await asyncio.shield(waiting)
    except asyncio.CancelledError:
        await waiting  # the children are stopped and reaped before we go
        raise
    finally:
        for child in children:
            _forget(runtime, child, loop)
        log.info("processing workers stopped")


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"status {code}"


def processing_worker_for(runtime: Runtime) -> Worker:
    """What processes stored mail under ``serve``: child processes, or a thread.

    A thread when ``inbound.workers`` is 0, or when the runtime runs on a clock
    set in code (tests): the children would read the system clock instead.
    """
    from mailer.clock import system_clock
    from mailer.inbound.pipeline import inbound_worker

    if runtime.settings.inbound.workers == 0:
        return inbound_worker
    if runtime.clock is not system_clock:
        log.info("processing in a thread of serve: this runtime has its own clock")
        return inbound_worker
    return processing_workers


# -- the child ---------------------------------------------------------------


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


def _no_fsync_at_commit(dbapi_connection: Any, _record: object) -> None:
    """SQLite ``synchronous=NORMAL`` for processing: its commits skip the fsync.

    Safe for exactly-once: a processing commit lost to a power cut leaves its
    message NEW (the raw bytes were committed with a full sync before the 250)
    and it is processed again, with its effects, as one. Nothing outside sees
    a processing commit before a full-sync commit has made it durable: the
    WAL is one file, and the outbox's claim (serve's process, synchronous=FULL)
    syncs it before any copy or notice is sent. The fsync it saves is time
    the SQLite write lock is held, which the SMTP listener waits for.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


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
    from mailer.inbound.pipeline import BATCH, POLL_SECONDS, process_pending
    from mailer.keys import load_signing_key
    from mailer.service import Runtime
    from store.db import make_engine, make_sessionmaker
    from store.models import OutboxMessage

    stopping, signal_r = signals.stopping, signals.pipe
    os.set_blocking(wake_fd, False)

    engine = make_engine(settings.database.url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _no_fsync_at_commit)
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
    os.write(news_fd, b"R")
    log.info("processing worker %d ready", index)
    parent_gone = False
    failures_due = 0.0
    try:
        while not stopping.is_set():
            # Failed messages wait a minute or more: look for due ones now and then.
            failures = time.monotonic() >= failures_due
            if failures:
                failures_due = time.monotonic() + FAILURES_SECONDS
            try:
                taken = process_pending(runtime, BATCH, failures=failures)
            except Exception:  # the store is away, or a bug: log, wait, try again
                log.exception("inbound processing paused for 5 s")
                pause, taken = 5.0, 0
            else:
                pause = POLL_SECONDS
            if queued.is_set():  # copies or notices: serve's outbox worker sends now
                queued.clear()
                os.write(news_fd, b".")
            if taken:
                if taken >= BATCH:
                    continue  # more are waiting
                time.sleep(GATHER_SECONDS)  # let the next batch fill a little
                if _drain(wake_fd):
                    parent_gone = True
                    break
                continue
            ready = _wait([wake_fd, signal_r], pause)
            if signal_r in ready:
                os.read(signal_r, 512)
            if wake_fd in ready:
                if _drain(wake_fd):
                    parent_gone = True
                    break
                time.sleep(GATHER_SECONDS)
    finally:
        engine.dispose()
    log.info(
        "processing worker %d stopped%s",
        index,
        " (serve is gone)" if parent_gone else "",
    )
    return 0


def main() -> int:
    """``python -m mailer.inbound.workers WAKE_FD NEWS_FD INDEX``, settings on stdin."""
    signals = _Signals.install()  # first: a SIGTERM while importing is a clean stop
    wake_fd, news_fd, index = (int(a) for a in sys.argv[1:4])
    settings = pickle.load(sys.stdin.buffer)
    logging.basicConfig(
        level=settings.service.log_level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    return run_child(settings, wake_fd, news_fd, index, signals)


if __name__ == "__main__":
    sys.exit(main())
