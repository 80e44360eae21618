"""When a failed attempt is made again: the one back-off both queues use.

The inbound queue (a message whose processing failed) and the outbox (a
message the relay deferred) wait *first*, then twice that, four times...,
never more than six hours.
"""

from __future__ import annotations

from datetime import timedelta

LONGEST = timedelta(hours=6)


def retry_delay(attempts: int, first: timedelta) -> timedelta:
    """How long to wait after *attempts* failures: *first*, doubling, six hours at most."""
    exponent = min(max(attempts - 1, 0), 20)  # 2**20 minutes is past the cap already
    return min(first * (1 << exponent), LONGEST)
