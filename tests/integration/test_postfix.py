"""ediscuss behind a real Postfix: LMTP hand-off and the socketmap recipient check.

Postfix itself refuses what does not exist (550 at RCPT, no bounce queued),
asks ediscuss with no cache in between (an outage refuses nothing once it is
over) and hands what it accepts to ``serve`` over LMTP.
"""

from __future__ import annotations

import smtplib

import pytest

from mailer.core.addresses import AddressBook
from mailer.links import reply_address
from tests.fixtures.inbound import (
    DOMAIN,
    OPEN_POLICY,
    SLUG,
    Mailhost,
    MailhostFactory,
    Served,
    address,
    mail,
    wait_until,
)
from tests.fixtures.postfix import PostfixServer

pytestmark = pytest.mark.postfix


def behind(postfix: PostfixServer, make_mailhost: MailhostFactory) -> Mailhost:
    """A service on the ports this Postfix hands to (questions 1-6 released)."""
    return make_mailhost(postfix.overrides(), listen=False, **OPEN_POLICY)


def rcpt(postfix: PostfixServer, *recipients: str) -> list[tuple[int, bytes]]:
    """Postfix's answers to RCPT TO for each of *recipients*, nothing sent."""
    with smtplib.SMTP("127.0.0.1", postfix.port, timeout=30) as client:
        client.ehlo("client.example.net")
        client.mail("ana@example.net")
        answers = [client.rcpt(r) for r in recipients]
        client.rset()
    return answers


def send(postfix: PostfixServer, raw: bytes, to: str) -> None:
    with smtplib.SMTP("127.0.0.1", postfix.port, timeout=30) as client:
        assert not client.sendmail("ana@example.net", [to], raw)


def test_a_reply_through_postfix_becomes_a_post(
    postfix: PostfixServer, make_mailhost: MailhostFactory
) -> None:
    host = behind(postfix, make_mailhost)
    served = Served(host.runtime)
    try:
        first = mail(to=address("+q1"), message_id="<pf-first@example.net>")
        send(postfix, first, address("+q1"))
        wait_until(lambda: len(host.posts()) == 1, seconds=30)
        [parent] = host.posts()
        to = reply_address(AddressBook(SLUG, DOMAIN), host.runtime.key, parent.id)
        reply = mail(
            to=to,
            message_id="<pf-reply@example.net>",
            sender="Ben Okafor <ben@example.org>",
            subject="Re: Apprenticeships in our region",
            body="In our district the chambers of commerce kept them going.\n",
        )
        send(postfix, reply, to)
        wait_until(lambda: len(host.posts()) == 2, seconds=30)
    finally:
        served.close()
    posts = {p.message_id: p for p in host.posts()}
    assert posts["<pf-reply@example.net>"].parent_id == parent.id
    [row] = [r for r in host.inbound() if r.message_id == "<pf-reply@example.net>"]
    assert row.received_via == "lmtp"
    assert row.envelope_to.splitlines() == [to]


def test_an_unknown_recipient_gets_550_at_rcpt_from_postfix_itself(
    postfix: PostfixServer, make_mailhost: MailhostFactory
) -> None:
    host = behind(postfix, make_mailhost)
    served = Served(host.runtime)
    try:
        answers = rcpt(
            postfix,
            address("+q999"),  # no such question
            f"nobody@{DOMAIN}",
            address("-confirm"),  # a confirmation address needs its token
            address("+q11"),  # exists, not released yet: accepted and answered
            address("+q1"),
            address("-request"),
        )
        lookup = postfix.lookup(address("+q2"), address("+q12"))
    finally:
        served.close()
    codes = [(code, text.split(b" ", 1)[0]) for code, text in answers]
    assert codes == [
        (550, b"5.1.1"),
        (550, b"5.1.1"),
        (550, b"5.1.1"),
        (250, b"2.1.5"),
        (250, b"2.1.5"),
        (250, b"2.1.5"),
    ]
    assert b"User unknown in relay recipient table" in answers[0][1]
    # Refused by Postfix at RCPT: nothing reached ediscuss, nothing was queued
    # to bounce to a (maybe forged) sender.
    assert host.inbound() == []
    assert "Mail queue is empty" in postfix.queue()
    # Postfix's own socketmap client (postmap) reads the same answers.
    assert lookup.stdout.splitlines() == [f"{address('+q2')}\tquestion"]


def test_an_outage_refuses_nothing_once_it_is_over(
    postfix: PostfixServer, make_mailhost: MailhostFactory
) -> None:
    host = behind(postfix, make_mailhost)
    mine = (address("+q2"), address("-request"), address("-confirm+t0ken"))
    served = Served(host.runtime)
    try:
        assert [code for code, _ in rcpt(postfix, *mine)] == [250, 250, 250]
    finally:
        served.close()
    # ediscuss is down: Postfix cannot ask, so it says "later" (4xx), never 550.
    down = rcpt(postfix, *mine)
    assert [code for code, _ in down] == [451, 451, 451], down
    served = Served(host.runtime)
    try:
        # Back: the very next RCPT is accepted, nothing was remembered.
        assert [code for code, _ in rcpt(postfix, *mine)] == [250, 250, 250]
        send(postfix, mail(to=mine[0], message_id="<pf-back@example.net>"), mine[0])
        wait_until(lambda: len(host.posts()) == 1, seconds=30)
    finally:
        served.close()
    assert host.posts()[0].message_id == "<pf-back@example.net>"
