"""Mail for the other addresses: handed to their handlers, never answered when automatic."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mailer.core.addresses import AddressKind
from mailer.inbound import handlers
from mailer.inbound.pipeline import process_pending, release_parked_messages
from store.models import InboundState, Subscriber
from tests.fixtures.inbound import OPEN_POLICY, MailhostFactory, address, mail


def test_request_mail_is_handed_over_and_automatic_mail_is_not(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(**OPEN_POLICY)
    request = address("-request")
    host.send(
        mail(to=request, message_id="<sub@example.net>", subject="subscribe"),
        [request],
    )
    vacation = mail(
        to=request,
        message_id="<away@example.net>",
        subject="Out of office: subscribe",
        headers={"Auto-Submitted": "auto-replied"},
    )
    host.send(vacation, [request])
    bounce = mail(
        to=request,
        message_id="<dsn@mx.example.net>",
        subject="Undelivered Mail Returned to Sender",
        sender="MAILER-DAEMON@mx.example.net",
    )
    host.send(bounce, [request], mail_from="")
    host.process()
    rows = {r.message_id: r for r in host.inbound()}
    assert rows["<away@example.net>"].kind == "dropped"
    assert rows["<dsn@mx.example.net>"].kind == "dropped"
    handled = rows["<sub@example.net>"]
    assert handled.state is InboundState.PROCESSED
    assert handled.kind not in ("dropped", "parked")
    # The subscriber handler ran inside the pipeline's transaction: the person
    # exists and exactly one mail (the confirmation request) went to them.
    people = host.query(lambda s: list(s.scalars(select(Subscriber.email))))
    assert people == ["ana@example.net"]
    assert [m.recipient for m in host.outbox()] == ["ana@example.net"]


def test_a_missing_handler_parks_the_message_until_the_next_start(
    make_mailhost: MailhostFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = make_mailhost(**OPEN_POLICY)
    # As in a version whose subscriber commands are not written yet.
    monkeypatch.delitem(handlers.HANDLERS, AddressKind.REQUEST)
    request = address("-request")
    host.send(mail(to=request, message_id="<wait@example.net>"), [request])
    host.send(
        mail(to=address("+q1"), message_id="<flows@example.net>"), [address("+q1")]
    )
    host.process()
    parked, post = host.inbound()
    assert (parked.state, parked.kind, parked.attempts) == (
        InboundState.NEW,
        "request",
        0,
    )
    assert "no handler for request mail" in (parked.error or "")
    assert post.state is InboundState.PROCESSED
    assert process_pending(host.runtime) == 0  # parked: not taken again
    monkeypatch.undo()
    assert release_parked_messages(host.runtime) == 1  # as at the next start
    assert process_pending(host.runtime) == 1
    assert host.inbound()[0].state is InboundState.PROCESSED
