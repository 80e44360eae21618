"""The clock, passed in: production reads the system clock, tests pass their own.

:class:`ScaledClock` is simulated time for ``ediscuss demo``: weeks played in a
minute. It runs a fixed number of times faster than the system clock, only up
to the instant it was last told to run to, and holds there; the scheduler asks
:func:`system_time` when a simulated instant will come and is told through
:func:`on_advance` when the clock is moved on.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)


class ScaledClock:
    """Simulated time running *rate* times faster than real time, held at a limit.

    It starts held at *start*. :meth:`run_until` lets it run from where it is
    to a later instant, where it holds again; with ``rate=math.inf`` it jumps
    there at once. Several threads may read it while one moves it on.
    """

    def __init__(
        self,
        start: datetime,
        rate: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock starts at a timezone-aware instant")
        if not rate > 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = rate
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._anchor = start
        self._anchor_real = monotonic()
        self._limit = start
        self._listeners: list[Callable[[], None]] = []

    def __call__(self) -> datetime:
        with self._lock:
            return self._now()

    def _now(self) -> datetime:
        if math.isinf(self.rate):
            return self._limit
        elapsed = (self._monotonic() - self._anchor_real) * self.rate
        return min(self._anchor + timedelta(seconds=elapsed), self._limit)

    @property
    def limit(self) -> datetime:
        """The instant where the clock holds until it is moved on."""
        return self._limit

    def run_until(self, limit: datetime) -> None:
        """Let the clock run from where it is to *limit* (never backwards), then hold."""
        with self._lock:
            now = self._now()
            if limit < now:
                raise ValueError(f"the clock is at {now}, cannot run back to {limit}")
            self._anchor, self._anchor_real, self._limit = now, self._monotonic(), limit
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def seconds_to(self, at: datetime) -> float | None:
        """Real seconds until the clock shows *at*: 0 when it has, None while held before it."""
        with self._lock:
            now = self._now()
            if at <= now:
                return 0.0
            if at > self._limit:
                return None
            return (at - now).total_seconds() / self.rate

    def on_advance(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call *listener* (in the mover's thread) each time the clock is moved on.

        Returns the function that stops the calls.
        """
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove


def system_time(clock: Clock, at: datetime) -> datetime | None:
    """The system-clock instant at which *clock* will show *at*.

    The same instant for the system clock and for clocks a test sets by hand;
    for a :class:`ScaledClock`, the scaled moment, or None while it is held
    before *at* (ask again when :func:`on_advance` says it moved).
    """
    if not isinstance(clock, ScaledClock):
        return at
    seconds = clock.seconds_to(at)
    if seconds is None:
        return None
    return system_clock() + timedelta(seconds=seconds)


def clock_rate(clock: Clock) -> float:
    """How many seconds of *clock* pass in one real second (1 but for a ScaledClock)."""
    return clock.rate if isinstance(clock, ScaledClock) else 1.0


def on_advance(clock: Clock, listener: Callable[[], None]) -> Callable[[], None]:
    """Call *listener* whenever *clock* is moved on (never for the system clock)."""
    if isinstance(clock, ScaledClock):
        return clock.on_advance(listener)
    return lambda: None
