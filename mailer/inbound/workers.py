"""Processing received mail in child processes beside ``serve``'s listener.

Python runs one thread of a process at a time, so processing in a thread of the
listener's process takes the processor from the listener (and the other way
round). As Mailman's runners do, ``serve`` keeps accepting and committing in
its own process and starts ``inbound.workers`` child processes that each loop
over :func:`~mailer.inbound.pipeline.process_pending`: claims keep two of them
(or two nodes) from taking the same message. ``inbound.workers = 0`` processes
in a thread of ``serve`` instead (as tests that drive ``serve`` in-process with
their own clock need: a clock set in code cannot cross into another process).

Each child is ``python -m mailer.inbound.runner`` (:mod:`mailer.inbound.runner`),
given the settings on its standard input, and two pipes:

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
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mailer.clock import system_clock

if TYPE_CHECKING:
    from mailer.runtime import Runtime, Worker

log = logging.getLogger("ediscuss.inbound")

STOP_SECONDS = 15.0  # a stopping child finishes its batch within this, or is killed
FIRST_PAUSE = 1.0
MAX_PAUSE = 60.0
STEADY_SECONDS = 60.0  # a child that ran this long before dying starts again at once


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
                "mailer.inbound.runner",
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
    # Written by a thread: the child reads it only once imported, and a large
    # configuration would not fit in the pipe.
    threading.Thread(
        target=_hand_over, args=(proc, pickle.dumps(runtime.settings)), daemon=True
    ).start()
    child.proc, child.wake_w, child.news_r = proc, wake_w, news_r
    child.started = time.monotonic()
    runtime.wakes.inbound.add_pipe(wake_w)
    log.info("processing worker %d started pid=%d", child.index, proc.pid)


def _hand_over(proc: subprocess.Popen[bytes], settings: bytes) -> None:
    """Write the pickled settings to a child's standard input, then close it."""
    assert proc.stdin is not None
    try:
        with proc.stdin:
            proc.stdin.write(settings)
    except OSError:  # it died at once; noticed by its closed pipe
        pass


def _forget(runtime: Runtime, child: _Child, loop: asyncio.AbstractEventLoop) -> None:
    """Close the parent's ends of *child*'s pipes."""
    if child.wake_w >= 0:
        runtime.wakes.inbound.close_pipe(child.wake_w)
    if child.news_r >= 0:
        loop.remove_reader(child.news_r)
        os.close(child.news_r)
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
    loop = asyncio.get_running_loop()
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
            runtime.wakes.outbox.ring()

    def start(child: _Child) -> None:
        try:
            _spawn(runtime, child)
        except OSError as exc:  # no more processes or memory just now: later
            log.error(
                "processing worker %d could not start (%s); trying again in %.0f s",
                child.index,
                exc,
                child.pause,
            )
            child.restart_at = time.monotonic() + child.pause
            child.pause = min(child.pause * 2, MAX_PAUSE)
            return
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
    The processing code (and the parser) is imported only for a thread: with
    children, ``serve`` never parses.
    """
    if runtime.settings.inbound.workers == 0 or runtime.clock is not system_clock:
        from mailer.inbound.pipeline import inbound_worker

        if runtime.settings.inbound.workers != 0:
            log.info("processing in a thread of serve: this runtime has its own clock")
        return inbound_worker
    return processing_workers
