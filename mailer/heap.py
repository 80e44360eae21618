"""The garbage collector, set for a long-running process once it has started.

CPython's cycle collector looks at young container objects every 700
allocations and, now and then, at every object the process holds: in a
listener or a processing worker, SQLAlchemy's, aiosmtpd's and the email
package's hundreds of thousands of objects from start-up, again and again,
though none of them ever becomes garbage (5 to 7% of their CPU under a
steady flow of mail). Frozen once started, those are never looked at again;
young objects are looked at every ``YOUNG_OBJECTS`` allocations instead: as
many die between two looks either way (most by reference counting), so each
look costs about the same and there are far fewer.

Not so in a processing worker: its garbage cycles hold parsed messages and
their texts, and 20,000 young objects between looks kept some 2.5 MB more of
them at its peak (bench/fanout.py: 66 MB against 63.7 at CPython's 700). It
looks every ``PROCESSING_YOUNG_OBJECTS`` instead, which costs it 0.5% of its
CPU in collections against 0.4%: its frozen start-up is what saved the rest.
"""

from __future__ import annotations

import gc

YOUNG_OBJECTS = 20_000  # allocations (less deallocations) between two young collections
PROCESSING_YOUNG_OBJECTS = 700  # CPython's own: a processing worker's cycles hold mail


def settle_heap(young: int = YOUNG_OBJECTS) -> None:
    """Freeze what start-up built out of the collector's sight and look at
    young objects every *young* allocations (see the module's docstring)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, old)
