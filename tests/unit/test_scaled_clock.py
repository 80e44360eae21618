"""The compressed clock of ``ediscuss demo``: runs scaled, holds at its limit, never goes back."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from mailer.clock import ScaledClock, clock_rate, on_advance, system_clock, system_time

START = datetime(2027, 3, 26, 9, 0, tzinfo=UTC)


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_held_at_start_until_told_to_run() -> None:
    real = Ticks()
    clock = ScaledClock(START, rate=3600, monotonic=real)
    real.now += 10
    assert clock() == START  # held: no time passes
    assert clock.seconds_to(START + timedelta(hours=1)) is None


def test_runs_scaled_then_holds_at_the_limit() -> None:
    real = Ticks()
    clock = ScaledClock(START, rate=3600, monotonic=real)
    clock.run_until(START + timedelta(hours=2))
    real.now += 0.5
    assert clock() == START + timedelta(minutes=30)
    assert clock.seconds_to(START + timedelta(hours=1)) == pytest.approx(0.5)
    assert clock.seconds_to(START) == 0
    real.now += 10
    assert clock() == START + timedelta(hours=2)  # held there
    assert clock.seconds_to(START + timedelta(hours=3)) is None


def test_an_infinite_rate_jumps_and_nothing_goes_back() -> None:
    clock = ScaledClock(START, rate=math.inf)
    clock.run_until(START + timedelta(days=3))
    assert clock() == START + timedelta(days=3)
    assert clock.seconds_to(START + timedelta(days=2)) == 0
    with pytest.raises(ValueError, match="cannot run back"):
        clock.run_until(START + timedelta(days=1))
    with pytest.raises(ValueError):
        ScaledClock(START.replace(tzinfo=None))
    with pytest.raises(ValueError):
        ScaledClock(START, rate=0)


def test_listeners_hear_each_move_until_they_leave() -> None:
    clock = ScaledClock(START, rate=math.inf)
    heard: list[datetime] = []
    leave = on_advance(clock, lambda: heard.append(clock()))
    clock.run_until(START + timedelta(hours=1))
    clock.run_until(START + timedelta(hours=2))
    leave()
    clock.run_until(START + timedelta(hours=3))
    assert heard == [START + timedelta(hours=1), START + timedelta(hours=2)]
    # The system clock never moves by itself: nothing to hear, nothing to leave.
    on_advance(system_clock, lambda: heard.append(START))()


def test_system_time_maps_simulated_instants_to_real_ones() -> None:
    real = Ticks()
    clock = ScaledClock(START, rate=3600, monotonic=real)
    assert system_time(clock, START + timedelta(hours=1)) is None  # held before it
    clock.run_until(START + timedelta(hours=4))
    before = system_clock()
    when = system_time(clock, START + timedelta(hours=2))
    assert when is not None
    assert timedelta(seconds=1.9) < when - before < timedelta(seconds=2.5)
    # Every other clock is taken at its word.
    at = START + timedelta(days=400)
    assert system_time(system_clock, at) == at
    assert clock_rate(clock) == 3600 and clock_rate(system_clock) == 1.0
