"""LMTP behind an MTA: per-recipient answers from a real ``smtplib.LMTP`` client."""

from __future__ import annotations

import smtplib

from store.models import InboundState
from tests.fixtures.inbound import OPEN_POLICY, MailhostFactory, address, mail


def test_lmtp_answers_each_recipient(make_mailhost: MailhostFactory) -> None:
    host = make_mailhost({"inbound": {"protocol": "lmtp"}}, **OPEN_POLICY)
    raw = mail(to=address("+q1"), message_id="<lmtp1@example.net>")
    with smtplib.LMTP("127.0.0.1", host.port, timeout=10) as client:
        assert client.docmd("EHLO", "mx.example.org")[0] == 500  # LHLO only
        assert client.ehlo("mx.example.org")[0] == 250  # smtplib.LMTP sends LHLO
        assert client.mail("ana@example.net")[0] == 250
        assert client.rcpt(address("+q1"))[0] == 250
        code, text = client.rcpt("anyone@gmail.com")
        assert (code, text[:5]) == (550, b"5.1.1")
        assert client.rcpt(address("-request").upper())[0] == 250
        code, text = client.rcpt(f"{address('+q1')}%evil.example")
        assert code == 550
        # RFC 2033 section 4.2: one reply per accepted recipient, in order.
        first = client.data(raw)
        second = client.getreply()
        for code, text in (first, second):
            assert code == 250 and text.startswith(b"2.0.0 OK queued as ")
        assert first[1] == second[1]
        # A transaction whose every recipient was refused has nothing to deliver.
        client.mail("ana@example.net")
        assert client.rcpt("postmaster@example.com")[0] == 550
        code, _ = client.docmd("DATA")
        assert code == 503
        client.rset()
    [row] = host.inbound()
    assert row.received_via == "lmtp"
    assert row.envelope_to.splitlines() == [address("+q1"), address("-request").upper()]
    host.process()
    [post] = host.posts()
    assert post.message_id == "<lmtp1@example.net>"
    assert host.inbound()[0].state in (InboundState.PROCESSED, InboundState.NEW)
