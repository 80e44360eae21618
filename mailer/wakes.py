"""Wake-ups within one ``serve``: a commit tells the workers that wait for it to look at once.

A :class:`~mailer.runtime.Runtime` holds one :class:`Wakes`; whoever commits received
mail rings ``inbound``, whoever queues outgoing mail rings ``outbox``. Workers wait on
an event they get from :meth:`Bell.listen`, and the processing children's wake pipes
hang on the inbound bell too. Without a ring the workers still poll: a ring only
shortens the wait.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


class Bell:
    """Wakes this process's listeners (events in event loops, pipes to children); any thread rings."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._pipes: list[int] = []

    @contextmanager
    def listen(self) -> Iterator[asyncio.Event]:
        """An event of the running loop, set at each ring while the block lasts."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._events.append(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                self._events.remove(entry)

    def add_pipe(self, fd: int) -> None:
        """Write a byte to *fd* (non-blocking) at each ring, until :meth:`close_pipe`."""
        with self._lock:
            self._pipes.append(fd)

    def close_pipe(self, fd: int) -> None:
        """Stop ringing *fd* and close it (under the lock: no ring writes to it meanwhile)."""
        with self._lock:
            if fd in self._pipes:
                self._pipes.remove(fd)
            os.close(fd)

    def ring(self) -> None:
        """Wake every listener now."""
        with self._lock:  # held while writing: a pipe is closed only under it
            targets = list(self._events)
            for fd in self._pipes:
                try:
                    os.write(fd, b"w")
                except OSError:  # full (it will look anyway) or gone
                    pass
        for loop, event in targets:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # loop closed
                pass


@dataclass(eq=False)
class Wakes:
    """The bells of one runtime: received mail was committed, outgoing mail was queued."""

    inbound: Bell = field(default_factory=Bell)
    outbox: Bell = field(default_factory=Bell)
