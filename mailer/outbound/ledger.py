"""What one pass of the outbox worker has to send, and what is sent but not yet recorded.

The lanes (one thread a relay connection) take the next message from the
ledger and hand back its outcome; the pass's own thread takes the outcomes in
groups to commit them, and adds the next claimed batch while the lanes are
still busy with this one. A lane takes a slot before it sends, and the slot
comes back only when the outcome is committed: at most *slots* messages are
ever sent, or on the wire, without a record, whatever the number of lanes.
That number is what a crash may send twice.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from mailer.outbound.relay import SendResult
from store.outbox import ClaimedMessage


@dataclass(frozen=True)
class Collected:
    """What :meth:`OutcomeLedger.collect` hands the recorder."""

    outcomes: list[tuple[ClaimedMessage, SendResult]]
    wants_more: bool  # few messages are left: claim the next batch now


class OutcomeLedger:
    """The queue of a pass and its outcomes, shared by the lanes and the recorder."""

    def __init__(
        self,
        batch: Iterable[ClaimedMessage],
        *,
        slots: int,
        lanes: int,
        every: int,
        after: float,
        more_to_come: bool,
    ) -> None:
        # One lock, two waiting rooms: an outcome wakes the recorder only when
        # its group may be ready, and lanes are woken only by what lets them
        # go on (a free slot, more messages, the end). Waking every thread at
        # every outcome cost more CPU than the outcome's own bookkeeping.
        self._lock = threading.Lock()
        self._lanes_wait = threading.Condition(self._lock)
        self._recorder_wait = threading.Condition(self._lock)
        self._todo: deque[ClaimedMessage] = deque(batch)
        self._slots = slots
        self._lanes = lanes
        self._every = every
        self._after = after
        self._low = 2 * lanes  # ask for the next batch when this few are left
        self._more_to_come = more_to_come
        self._asked = False
        self._done: list[tuple[ClaimedMessage, SendResult]] = []
        self._first_at = 0.0
        self._halted = False
        self.unreachable: SendResult | None = None  # the relay cannot be reached

    # -- the lanes ---------------------------------------------------------

    def next_message(self) -> ClaimedMessage | None:
        """The next message to send, once a slot is free; None when the pass is over."""
        with self._lock:
            while True:
                if self._halted or self.unreachable is not None:
                    return None
                if self._todo and self._slots > 0:
                    self._slots -= 1
                    message = self._todo.popleft()
                    if self._wants_more() or (self._slots == 0 and self._done):
                        self._recorder_wait.notify()
                    return message
                if not self._todo and not self._more_to_come:
                    return None
                self._lanes_wait.wait()

    def done(self, message: ClaimedMessage, result: SendResult) -> None:
        """A lane's outcome, to be recorded with its group."""
        with self._lock:
            if not self._done:
                self._first_at = time.monotonic()
            self._done.append((message, result))
            if (
                len(self._done) == 1  # the recorder starts the group's clock
                or len(self._done) >= self._every
                or self._slots == 0
            ):
                self._recorder_wait.notify()
            if self.unreachable is not None:
                self._lanes_wait.notify_all()

    def lane_finished(self) -> None:
        """A lane has stopped for good."""
        with self._lock:
            self._lanes -= 1
            self._recorder_wait.notify()
            self._lanes_wait.notify_all()

    # -- the recorder ------------------------------------------------------

    def collect(self, idle: float | None = None) -> Collected | None:
        """The next group to record, or a call for the next batch; None at the end.

        A group is ready at *every* outcomes, when its first has waited
        *after* seconds, when every slot is taken (the lanes wait for it) or
        when the lanes have stopped. None once all lanes have stopped and
        every outcome has been handed out. With *idle*, an empty group comes
        back after that many seconds of nothing, so the recorder can renew
        its claims while every lane waits on a slow relay.
        """
        with self._lock:
            since = time.monotonic()
            while True:
                wants_more = self._wants_more()
                if wants_more:
                    self._asked = True
                ready = bool(self._done) and (
                    len(self._done) >= self._every
                    or self._slots == 0
                    or self._lanes == 0
                    or time.monotonic() - self._first_at >= self._after
                )
                if ready or wants_more:
                    group: list[tuple[ClaimedMessage, SendResult]] = []
                    if ready:
                        group, self._done = self._done, []
                    return Collected(group, wants_more)
                if not self._done and self._lanes == 0:
                    return None
                if self._done:
                    waited = time.monotonic() - self._first_at
                    self._recorder_wait.wait(max(self._after - waited, 0.001))
                elif idle is None:
                    self._recorder_wait.wait()
                else:
                    left = idle - (time.monotonic() - since)
                    if left <= 0:
                        return Collected([], False)
                    self._recorder_wait.wait(left)

    def _wants_more(self) -> bool:
        """Few messages are left and the next batch is not asked for yet (lock held)."""
        return self._more_to_come and not self._asked and len(self._todo) <= self._low

    def add(self, batch: Iterable[ClaimedMessage], *, last: bool) -> None:
        """The next claimed batch; *last*: no more will come in this pass."""
        with self._lock:
            self._todo.extend(batch)
            self._asked = False
            if last:
                self._more_to_come = False
            self._lanes_wait.notify_all()
            self._recorder_wait.notify()

    def recorded(self, count: int) -> None:
        """*count* outcomes are committed: their slots are free again."""
        with self._lock:
            self._slots += count
            self._lanes_wait.notify_all()

    def halt(self) -> None:
        """Let no lane start another message (the pass stops or failed)."""
        with self._lock:
            self._halted = True
            self._more_to_come = False
            self._lanes_wait.notify_all()
            self._recorder_wait.notify()

    def left(self) -> list[ClaimedMessage]:
        """The claimed messages no lane took (after the lanes have stopped)."""
        with self._lock:
            rest = list(self._todo)
            self._todo.clear()
            return rest
