"""Mail for the other addresses: handed to their handlers, never answered when automatic."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

from sqlalchemy import insert, select

from mailer.core.addresses import AddressKind
from mailer.core.incoming import RequestHandled
from mailer.core.route import POST_ADDRESSES, HandoffKind, handoff_kind
from mailer.inbound.handlers import handler_for
from mailer.inbound.pipeline import process_pending
from mailer.runtime import open_runtime
from store.db import make_engine, upgrade
from store.models import InboundMessage, InboundState, Subscriber, Via
from tests.fixtures.inbound import OPEN_POLICY, MailhostFactory, address, mail
from tests.fixtures.settings import SettingsFactory


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
    assert handled.kind != "dropped"
    # The subscriber handler ran inside the pipeline's transaction: the person
    # exists and exactly one mail (the confirmation request) went to them.
    people = host.query(lambda s: list(s.scalars(select(Subscriber.email))))
    assert people == ["ana@example.net"]
    assert [m.recipient for m in host.outbox()] == ["ana@example.net"]


def test_every_address_that_is_not_a_posts_has_a_handler() -> None:
    """HandoffKind names every other address, and handler_for answers for each.

    mypy already fails ``handler_for`` when a kind has no case; this keeps
    the Literal itself from forgetting an address kind.
    """
    kinds = set(get_args(HandoffKind))
    assert kinds == set(AddressKind) - set(POST_ADDRESSES)
    assert all(handoff_kind(kind) is kind for kind in kinds)
    assert all(handoff_kind(kind) is None for kind in POST_ADDRESSES)
    handlers = {kind: handler_for(kind) for kind in kinds}
    assert all(callable(h) for h in handlers.values())
    assert len(set(handlers.values())) == len(kinds)


def test_a_message_an_old_version_parked_is_processed_after_the_upgrade(
    empty_db_url: str, make_settings: SettingsFactory
) -> None:
    """Earlier versions parked mail for a handler they lacked; migration 0010 frees it."""
    engine = make_engine(empty_db_url)
    request = address("-request")
    raw = mail(to=request, message_id="<wait@example.net>", subject="subscribe")
    now = datetime.now(UTC)
    try:
        upgrade(engine, "0009")
        with engine.begin() as c:  # a row as _park left it: NEW, attempt given back
            c.execute(
                insert(InboundMessage).values(
                    dedupe_key="mid:<wait@example.net>",
                    message_id="<wait@example.net>",
                    envelope_from="ana@example.net",
                    envelope_to=request,
                    received_via=Via.SMTP,
                    peer="127.0.0.1",
                    raw=raw,
                    size=len(raw),
                    received_at=now,
                    state=InboundState.NEW,
                    kind="request",
                    attempts=0,
                    error="waiting: no handler for request mail in this version",
                    processed_at=now,
                )
            )
        upgrade(engine)
    finally:
        engine.dispose()
    runtime = open_runtime(make_settings(empty_db_url))
    try:
        assert process_pending(runtime) == 1
        with runtime.sessions() as s:
            (row,) = s.scalars(select(InboundMessage))
            people = list(s.scalars(select(Subscriber.email)))
        assert (row.state, row.attempts, row.error) == (InboundState.PROCESSED, 1, None)
        assert row.kind == RequestHandled.DONE  # as any subscribe mail: handled
        assert people == ["ana@example.net"]
    finally:
        runtime.close()
