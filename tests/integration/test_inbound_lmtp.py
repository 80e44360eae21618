"""LMTP behind an MTA: per-recipient answers from a real ``smtplib.LMTP`` client."""

from __future__ import annotations

import re
import smtplib
import socket

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


def test_lhlo_offers_pipelining_and_enhanced_status_codes(
    make_mailhost: MailhostFactory,
) -> None:
    """RFC 2033 section 5: both are required; every reply then carries a code."""
    host = make_mailhost({"inbound": {"protocol": "lmtp"}}, **OPEN_POLICY)
    with smtplib.LMTP("127.0.0.1", host.port, timeout=10) as client:
        client.ehlo("mx.example.org")
        assert client.has_extn("pipelining")
        assert client.has_extn("enhancedstatuscodes")
    raw = mail(to=address("+q1"), message_id="<piped@example.net>")
    # One write holds the whole transaction, as a pipelining client sends it.
    burst = (
        b"LHLO mx.example.org\r\nMAIL FROM:<ana@example.net>\r\n"
        + f"RCPT TO:<{address('+q1')}>\r\n".encode()
        + f"RCPT TO:<{address('+q999')}>\r\n".encode()
        + f"RCPT TO:<{address('-request')}>\r\n".encode()
        + b"DATA\r\n"
        + raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        + b".\r\nRSET\r\nNOOP\r\nQUIT\r\n"
    )
    with socket.create_connection(("127.0.0.1", host.port), timeout=10) as sock:
        sock.sendall(burst)
        received = b""
        while not received.endswith(b"\r\n") or b"\r\n221 " not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    lines = received.decode().split("\r\n")[:-1]
    greeting, rest = lines[0], lines[1:]
    assert greeting.startswith("220 ")
    lhlo = [line for line in rest if line.startswith("250-") or line == "250 HELP"]
    replies = [line for line in rest if line not in lhlo]
    assert [r[:3] for r in replies] == [
        "250",  # MAIL
        "250",  # RCPT +q1
        "550",  # RCPT +q999: no such question
        "250",  # RCPT -request
        "354",  # DATA
        "250",  # the message, for +q1
        "250",  # the message, for -request
        "250",  # RSET
        "250",  # NOOP
        "221",  # QUIT
    ]
    coded = re.compile(r"\d{3} [245]\.\d{1,3}\.\d{1,3} ")
    assert all(coded.match(r) for r in replies if not r.startswith("354")), replies
    assert replies[2].startswith("550 5.1.1 ")
    [row] = host.inbound()
    assert row.envelope_to.splitlines() == [address("+q1"), address("-request")]
