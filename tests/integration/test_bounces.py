"""Bounce mail to VERP addresses: scores, disabling, moderators told, forgeries ignored."""

from __future__ import annotations

import dataclasses

from mailer.core.addresses import AddressBook, parse_recipient
from mailer.core.incoming import Incoming
from mailer.core.message import BounceReport
from mailer.core.parse import parse_message
from mailer.links import verp_address
from mailer.outbound.bounces import BounceOutcome, handle_bounce_mail
from mailer.runtime import Runtime
from store.models import OutboxState, SubscriptionStatus
from tests.fixtures.settings import SettingsFactory
from tests.integration.outbound_setup import (
    add_subscriber,
    make_runtime,
    rows,
    subscription,
)

DOMAIN = "discuss.example.org"
HARD = BounceReport(
    ("gone@example.net",), True, "5.1.1", "smtp; 550 5.1.1 user unknown"
)
SOFT = BounceReport(("gone@example.net",), False, "4.4.1", "smtp; 450 4.4.1 no answer")


def dsn(to: str, action: str = "failed", status: str = "5.1.1") -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        f"To: {to}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn.1@mx.example.net>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n'
        "\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        "Final-Recipient: rfc822; gone@example.net\r\n"
        f"Action: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {status[0]}50 {status} user unknown\r\n"
        "--b--\r\n"
    ).encode()


def plain_bounce(to: str) -> bytes:
    return (
        f"From: MAILER-DAEMON@old.example.net\r\nTo: {to}\r\n"
        "Subject: failure notice\r\n\r\n"
        "Hi. This is the qmail-send program. I'm afraid I wasn't able to deliver.\r\n"
    ).encode()


def vacation(to: str) -> bytes:
    return (
        f"From: gone@example.net\r\nTo: {to}\r\nSubject: Out of office\r\n"
        "Auto-Submitted: auto-replied\r\nMessage-ID: <v1@example.net>\r\n\r\n"
        "I am away until Monday.\r\n"
    ).encode()


def deliver(
    rt: Runtime,
    to: str,
    raw: bytes,
    report: BounceReport | None = None,
    inbound_id: int = 1,
) -> str:
    parsed = parse_message(raw, own_domain=DOMAIN)
    if report is not None:
        # The contract with the inbound parser is the BounceReport it fills in.
        parsed = dataclasses.replace(parsed, bounce=report)
    incoming = Incoming(
        inbound_id,
        parsed,
        parse_recipient(to, DOMAIN, rt.settings.slugs),
        "",
        raw,
    )
    with rt.sessions.begin() as s:
        return handle_bounce_mail(rt, s, incoming)


def test_permanent_and_transient_and_plain_bounces_count(
    db_url: str, make_settings: SettingsFactory
) -> None:
    rt = make_runtime(
        make_settings, db_url, overrides={"outbox": {"bounce_threshold": 3}}
    )
    try:
        sub = add_subscriber(rt, "gone@example.net")
        book = AddressBook("skills-covid19", DOMAIN)
        verp = verp_address(book, rt.key, "gone@example.net", sub)
        assert deliver(rt, verp, dsn(verp), HARD) == BounceOutcome.COUNTED
        assert subscription(rt, sub).bounce_score == 2
        delayed = dsn(verp, action="delayed", status="4.4.1")
        assert deliver(rt, verp, delayed, SOFT) == BounceOutcome.COUNTED
        assert subscription(rt, sub).bounce_score == 3  # a delay counts half
        assert deliver(rt, verp, vacation(verp)) == BounceOutcome.AUTO_REPLY
        assert subscription(rt, sub).bounce_score == 3
        assert rows(rt) == []  # nothing answered, nobody told yet
        assert deliver(rt, verp, plain_bounce(verp)) == BounceOutcome.COUNTED
        assert subscription(rt, sub).bounce_score == 5  # no DSN: a failure notice
        assert subscription(rt, sub).status is SubscriptionStatus.ACTIVE
        assert deliver(rt, verp, dsn(verp), HARD) == BounceOutcome.DISABLED
        after = subscription(rt, sub)
        assert after.status is SubscriptionStatus.DISABLED and after.bounce_score == 7
        notices = rows(rt)
        assert sorted(r.recipient for r in notices) == [
            "aggarwal@ilo.example.org",
            "comyn@ilo.example.org",
            "moreno@ilo.example.org",
        ]
        assert {r.kind for r in notices} == {"bounce-notice"}
        assert {r.state for r in notices} == {OutboxState.QUEUED}
        assert b"Auto-Submitted: auto-generated" in notices[0].raw
        # Already disabled: more bounces count but tell nobody again.
        assert deliver(rt, verp, dsn(verp), HARD) == BounceOutcome.COUNTED
        assert len(rows(rt)) == 3
    finally:
        rt.close()


def test_forged_and_foreign_tokens_change_nothing(
    db_url: str, make_settings: SettingsFactory
) -> None:
    rt = make_runtime(make_settings, db_url)
    try:
        sub = add_subscriber(rt, "ana@example.net")
        book = AddressBook("skills-covid19", DOMAIN)
        good = verp_address(book, rt.key, "ana@example.net", sub)
        token = good.split("+", 1)[1].split("@")[0]
        _value, mac = token.split(".")
        forged = good.replace(token, f"s{sub + 1}.{mac}")
        assert deliver(rt, forged, dsn(forged)) == BounceOutcome.FORGED
        other_key = verp_address(book, b"x" * 32, "ana@example.net", sub)
        assert deliver(rt, other_key, dsn(other_key)) == BounceOutcome.FORGED
        stranger = verp_address(book, rt.key, "someone@example.org", None)
        assert deliver(rt, stranger, dsn(stranger)) == BounceOutcome.NOT_SUBSCRIBER
        missing = verp_address(book, rt.key, "x@example.org", 9999)
        assert deliver(rt, missing, dsn(missing)) == BounceOutcome.UNKNOWN
        assert subscription(rt, sub).bounce_score == 0
        assert rows(rt) == []
    finally:
        rt.close()
