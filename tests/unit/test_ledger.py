"""The outbox pass's ledger: lanes take messages, the recorder takes outcomes in groups."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from mailer.outbound.ledger import OutcomeLedger
from mailer.outbound.relay import SendOutcome, SendResult
from store.outbox import ClaimedMessage

SENT = SendResult(SendOutcome.SENT, "250 ok")

# A wake-up lost shows as a thread waiting for good: fail soon, not after minutes.
pytestmark = pytest.mark.timeout(30)


def message(i: int) -> ClaimedMessage:
    return ClaimedMessage(
        id=i,
        recipient=f"r{i}@example.net",
        envelope_from="d-bounces@discuss.example.org",
        message_id=f"<{i}@x>",
        raw=b"Subject: x\r\n\r\nhi\r\n",
        attempts=1,
        created_at=datetime(2027, 3, 28, tzinfo=UTC),
        subscription_id=None,
        discussion_id=None,
        kind="test",
    )


def test_lanes_and_recorder_finish_a_pass_with_more_batches_added() -> None:
    """Every message is sent once and recorded once; no thread waits for a wake-up
    that never comes (the test would hang), whatever the order of events."""
    batches = [[message(b * 50 + i) for i in range(50)] for b in range(6)]
    ledger = OutcomeLedger(
        batches[0], slots=16, lanes=4, every=16, after=0.05, more_to_come=True
    )
    sent: list[int] = []
    lock = threading.Lock()
    on_the_wire = [0]
    most_on_the_wire = [0]

    def lane() -> None:
        try:
            while (m := ledger.next_message()) is not None:
                with lock:
                    on_the_wire[0] += 1
                    most_on_the_wire[0] = max(most_on_the_wire[0], on_the_wire[0])
                    sent.append(m.id)
                ledger.done(m, SENT)
        finally:
            ledger.lane_finished()

    def unrecorded(count: int) -> None:
        with lock:
            on_the_wire[0] -= count

    lanes = [threading.Thread(target=lane) for _ in range(4)]
    for t in lanes:
        t.start()
    recorded: list[int] = []
    groups: list[int] = []
    given = 1
    started = time.monotonic()
    while (collected := ledger.collect()) is not None:
        assert time.monotonic() - started < 30, "the pass hangs"
        if collected.outcomes:
            groups.append(len(collected.outcomes))
            recorded += [m.id for m, _ in collected.outcomes]
            unrecorded(len(collected.outcomes))
            ledger.recorded(len(collected.outcomes))
        if collected.wants_more:
            ledger.add(batches[given], last=given == len(batches) - 1)
            given += 1
    for t in lanes:
        t.join(5)
        assert not t.is_alive()
    everyone = [m.id for batch in batches for m in batch]
    assert sorted(sent) == everyone and sorted(recorded) == everyone
    assert given == len(batches)  # every batch was asked for
    assert max(groups) <= 16 and most_on_the_wire[0] <= 16  # the slots hold
    assert ledger.left() == []


def test_a_lone_outcome_is_recorded_after_the_wait() -> None:
    """One outcome, its group never full: the recorder takes it once *after* has passed."""
    ledger = OutcomeLedger(
        [message(1), message(2)],
        slots=8,
        lanes=1,
        every=8,
        after=0.05,
        more_to_come=False,
    )
    first = ledger.next_message()
    assert first is not None
    started = time.monotonic()
    threading.Timer(0.01, ledger.done, (first, SENT)).start()
    collected = ledger.collect()
    waited = time.monotonic() - started
    assert collected is not None and [m.id for m, _ in collected.outcomes] == [1]
    assert 0.05 <= waited < 1.0


def test_a_lane_waits_for_a_slot_until_outcomes_are_recorded() -> None:
    ledger = OutcomeLedger(
        [message(i) for i in range(3)],
        slots=2,
        lanes=1,
        every=2,
        after=10.0,
        more_to_come=False,
    )
    a, b = ledger.next_message(), ledger.next_message()
    assert a is not None and b is not None
    third: list[ClaimedMessage | None] = []
    waiting = threading.Thread(target=lambda: third.append(ledger.next_message()))
    waiting.start()
    ledger.done(a, SENT)
    ledger.done(b, SENT)
    collected = ledger.collect()  # every slot taken: recorded at once
    assert collected is not None and len(collected.outcomes) == 2
    time.sleep(0.05)
    assert waiting.is_alive()  # not before the record is committed
    ledger.recorded(2)
    waiting.join(5)
    assert not waiting.is_alive() and third and third[0] is not None
    assert third[0].id == 2
