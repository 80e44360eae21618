"""Attempts counted before processing: a message that kills its process runs out of them.

A crash is played here by an exception that no ``except Exception`` catches
(as ``os._exit`` or a segfault, nothing after it runs); the real thing, a
processing child that dies, is in ``test_inbound_workers.py``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from mailer.inbound import apply, pipeline
from mailer.inbound.pipeline import process_pending
from mailer.runtime import Runtime
from store.models import (
    DeliveryMode,
    Discussion,
    InboundMessage,
    InboundState,
    OutboxMessage,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from tests.fixtures.inbound import OPEN_POLICY, MailhostFactory, address, mail


class Died(BaseException):
    """What the process would not survive."""


def _kill_on(monkeypatch: pytest.MonkeyPatch, marker: bytes) -> list[int]:
    """Make parsing a message holding *marker* 'kill the process'; counts the deaths."""
    deaths: list[int] = []
    real = pipeline.parse

    def parse(runtime: Runtime, raw: bytes):  # type: ignore[no-untyped-def]
        if marker in raw:
            deaths.append(1)
            raise Died
        return real(runtime, raw)

    monkeypatch.setattr(pipeline, "parse", parse)
    return deaths


def _age_attempts(runtime: Runtime, seconds: int) -> None:
    """Move every counted attempt *seconds* into the past."""
    with runtime.sessions.begin() as s:
        rows = s.execute(select(InboundMessage.id, InboundMessage.processed_at)).all()
        for inbound_id, at in rows:
            if at is not None:
                s.execute(
                    update(InboundMessage)
                    .where(InboundMessage.id == inbound_id)
                    .values(processed_at=at - timedelta(seconds=seconds))
                )


def _states(runtime: Runtime) -> dict[str, tuple[InboundState, int]]:
    with runtime.sessions() as s:
        return {
            str(r.message_id): (r.state, r.attempts)
            for r in s.scalars(select(InboundMessage))
        }


def test_a_message_that_kills_the_process_is_quarantined_and_the_rest_flow(
    make_mailhost: MailhostFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = make_mailhost(
        {"inbound": {"max_processing_attempts": 3, "retry_unfinished_seconds": 30}},
        **OPEN_POLICY,
    )
    deaths = _kill_on(monkeypatch, b"<killer@example.net>")
    for name in ("before", "killer", "after"):
        raw = mail(to=address("+q1"), message_id=f"<{name}@example.net>")
        host.send(raw, [address("+q1")])

    with pytest.raises(Died):
        process_pending(host.runtime)
    # The attempt was committed before the work began: all three counted, none done.
    assert set(_states(host.runtime).values()) == {(InboundState.NEW, 1)}
    # A restarted worker leaves them alone while another may still be on them...
    assert process_pending(host.runtime) == 0
    # ... and once that is past, takes each alone: the two innocent ones flow.
    _age_attempts(host.runtime, 31)
    with pytest.raises(Died):
        process_pending(host.runtime)
    states = _states(host.runtime)
    assert states["<before@example.net>"] == (InboundState.PROCESSED, 2)
    assert states["<killer@example.net>"] == (InboundState.NEW, 2)
    for _ in range(2):
        _age_attempts(host.runtime, 31)
        try:
            process_pending(host.runtime)
        except Died:
            pass
    states = _states(host.runtime)
    assert states["<after@example.net>"] == (InboundState.PROCESSED, 2)
    assert states["<killer@example.net>"] == (InboundState.QUARANTINED, 3)
    assert len(deaths) == 3
    [killer] = [r for r in host.inbound() if r.message_id == "<killer@example.net>"]
    assert "never finished in 3 attempts" in (killer.error or "")
    assert sorted(p.message_id for p in host.posts()) == [
        "<after@example.net>",
        "<before@example.net>",
    ]
    _age_attempts(host.runtime, 31)
    assert process_pending(host.runtime) == 0  # quarantined stays put


def test_an_exception_counts_once_and_the_batch_mates_once(
    make_mailhost: MailhostFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = make_mailhost(**OPEN_POLICY)
    real = apply.apply_one

    def one(lookups, item, parsed, rcpt, own_id):  # type: ignore[no-untyped-def]
        if parsed.message_id == "<bad@example.net>":
            raise RuntimeError("a bug met while applying")  # rolls the batch back
        return real(lookups, item, parsed, rcpt, own_id)

    monkeypatch.setattr(apply, "apply_one", one)
    for name in ("one", "bad", "two"):
        raw = mail(to=address("+q1"), message_id=f"<{name}@example.net>")
        host.send(raw, [address("+q1")])
    host.process()
    states = _states(host.runtime)
    assert states["<one@example.net>"] == (InboundState.PROCESSED, 1)
    assert states["<two@example.net>"] == (InboundState.PROCESSED, 1)
    assert states["<bad@example.net>"] == (InboundState.FAILED, 1)


def test_copies_go_to_each_reader_even_one_who_chose_each_in_the_same_batch(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(**OPEN_POLICY)

    def subscribe(s):  # type: ignore[no-untyped-def]
        disc = s.scalar(select(Discussion))
        person = Subscriber(email="bob@example.org", created_at=host.now)
        s.add(person)
        s.flush()
        s.add(
            Subscription(
                discussion_id=disc.id,
                subscriber_id=person.id,
                language="en",
                mode=DeliveryMode.DIGEST,
                status=SubscriptionStatus.ACTIVE,
                created_at=host.now,
            )
        )

    host.execute(subscribe)
    q1, request = address("+q1"), address("-request")
    host.send(mail(to=q1, message_id="<p1@example.net>"), [q1])
    host.send(
        mail(
            to=request,
            message_id="<mode@example.org>",
            sender="Bob <bob@example.org>",
            subject="mode each",
            body="mode each\n",
        ),
        [request],
        mail_from="bob@example.org",
    )
    host.send(
        mail(to=q1, message_id="<p2@example.net>", sender="Carl <carl@example.net>"),
        [q1],
    )
    assert process_pending(host.runtime) == 3  # one batch
    with host.runtime.sessions() as s:
        copies = list(
            s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "post"))
        )
    assert [c.recipient for c in copies] == ["bob@example.org"]
    [second] = [p for p in host.posts() if p.message_id == "<p2@example.net>"]
    assert copies[0].dedupe_key.startswith(f"post:{second.id}:")
