"""Where the demonstration meets the running service: its clock, its quiet moments, its mail.

The service runs on a :class:`~mailer.clock.ScaledClock`. :class:`Stage`
moves that clock to the next moment of the script, stopping at every instant
the scheduler has work (a release, a digest, the close) so that each happens
at its own time, and waits until the service is quiet: every received message
processed, every queued mail delivered, nothing due. It reads what the service
did from the store, as an operator would.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from mailer.clock import ScaledClock
from mailer.config.timetable import calendar_of, load_state
from mailer.core.errors import EdiscussError
from mailer.core.schedule import due
from mailer.mailings.due import next_wakeups
from mailer.moderation.notices import next_summaries
from mailer.runtime import Runtime
from store.models import (
    InboundMessage,
    InboundState,
    OutboxMessage,
    OutboxState,
    Post,
    Subscription,
)

POLL = 0.01  # seconds before the first look at the store while waiting
MAX_POLL = 0.1


class Interrupted(EdiscussError):
    """The demonstration was stopped (Ctrl-C) before the end of its script."""


class StuckError(EdiscussError, RuntimeError):
    """The service did not become quiet in time; the message says what is waiting."""


@dataclass(frozen=True)
class SentRow:
    """One outgoing message as the outbox holds it."""

    id: int
    kind: str
    recipient: str
    subscription_id: int | None
    dedupe_key: str


class Stage:
    """The running service seen from outside: its clock, its store, its quiet."""

    def __init__(
        self,
        runtime: Runtime,
        clock: ScaledClock,
        cancelled: Callable[[], bool] = lambda: False,
        timeout: float = 60.0,
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self.cancelled = cancelled
        self.timeout = timeout
        self._last_row = 0

    # -- time ------------------------------------------------------------

    def advance(self, until: datetime, on_event: Callable[[datetime], None]) -> None:
        """Run the clock to *until*, stopping at each scheduled event; *on_event* after each."""
        while True:
            now = self.clock()
            wakeups = [w for w in next_wakeups(self.runtime, now).values() if w > now]
            nxt = min(wakeups, default=None)
            target = nxt if nxt is not None and nxt <= until else until
            self.clock.run_until(target)
            self._wait_for_clock(target)
            self.settle(scheduled=True)
            if target == until:
                if nxt == until:
                    on_event(target)
                return
            on_event(target)

    def _wait_for_clock(self, target: datetime) -> None:
        while True:
            self._check()
            left = self.clock.seconds_to(target)
            if left is None or left <= 0:
                return
            time.sleep(min(left, 0.1))

    # -- quiet -----------------------------------------------------------

    def busy(self, scheduled: bool = True) -> str:
        """What the service is still doing ('' when quiet); *scheduled*: look at the timetable too."""
        receiving = (
            select(func.count(InboundMessage.id))
            .where(InboundMessage.state.in_((InboundState.NEW, InboundState.FAILED)))
            .scalar_subquery()
        )
        sending = (
            select(func.count(OutboxMessage.id))
            .where(OutboxMessage.state.in_((OutboxState.QUEUED, OutboxState.SENDING)))
            .scalar_subquery()
        )
        with self.runtime.sessions() as s:
            inbound, outbound = s.execute(select(receiving, sending)).one()
            if inbound or outbound:
                return ", ".join(
                    text
                    for n, text in (
                        (inbound, f"{inbound} received message(s) to process"),
                        (outbound, f"{outbound} message(s) to send"),
                    )
                    if n
                )
            if not scheduled:
                return ""
            states = [
                (d, load_state(s, d.slug)) for d in self.runtime.settings.discussions
            ]
        now = self.clock()
        summaries = next_summaries(self.runtime, now)
        return ", ".join(
            f"scheduled work of {discussion.slug}"
            for discussion, state in states
            if state is not None
            and (
                not due(calendar_of(discussion), state.schedule, now).nothing
                or summaries.get(discussion.slug, now + timedelta(1)) <= now
            )
        )

    def settle(self, scheduled: bool = False) -> None:
        """Wait until nothing received is unprocessed and nothing queued is unsent.

        With *scheduled* (after the clock moved), also until nothing is due: a
        held clock makes nothing newly due, so mail sent meanwhile need not ask.
        Raises StuckError after the timeout.
        """
        start = time.monotonic()
        pause = POLL
        while True:
            self._check()
            waiting = self.busy(scheduled)
            if not waiting:
                return
            if time.monotonic() - start > self.timeout:
                raise StuckError(
                    f"the service is still busy after {self.timeout:.0f} s: {waiting}"
                )
            time.sleep(pause)
            pause = min(
                pause * 1.5, MAX_POLL
            )  # look less often: the service needs the processor

    def _check(self) -> None:
        if self.cancelled():
            raise Interrupted

    # -- what happened -----------------------------------------------------

    def new_rows(self) -> list[SentRow]:
        """Outgoing messages queued since the last call, oldest first."""
        with self.runtime.sessions() as s:
            rows = s.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.kind,
                    OutboxMessage.recipient,
                    OutboxMessage.subscription_id,
                    OutboxMessage.dedupe_key,
                )
                .where(OutboxMessage.id > self._last_row)
                .order_by(OutboxMessage.id)
            ).all()
        found = [SentRow(*row) for row in rows]
        if found:
            self._last_row = found[-1].id
        return found

    def post(self, message_id: str) -> Post | None:
        """The post made of the message *message_id*, if any."""
        with self.runtime.sessions() as s:
            return s.scalar(select(Post).where(Post.message_id == message_id))

    def post_id(self, message_id: str) -> int:
        """The id of the post made of *message_id* (the script names posts by key)."""
        found = self.post(message_id)
        if found is None:
            raise LookupError(f"no post was made of {message_id}")
        return found.id

    def inbound_kind(self, message_id: str) -> str:
        """What processing decided for the received message *message_id*."""
        with self.runtime.sessions() as s:
            return str(
                s.scalar(
                    select(InboundMessage.kind).where(
                        InboundMessage.message_id == message_id
                    )
                )
                or ""
            )

    def modes(self) -> dict[int, str]:
        """Each subscription's delivery mode now."""
        with self.runtime.sessions() as s:
            return {
                sid: mode.value
                for sid, mode in s.execute(select(Subscription.id, Subscription.mode))
            }
