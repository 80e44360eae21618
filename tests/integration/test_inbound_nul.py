"""NUL bytes wherever a hostile client can put them: stored, processed, never a 451 loop.

PostgreSQL refuses NUL in text columns ("text fields cannot contain NUL (0x00)
bytes"), SQLite takes it: a NUL that reached a text column made a message
impossible to store on one database only, and the sender was told to try
again for ever. The raw bytes (a blob) keep every NUL; what is read out of
them into text never has one.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from store.db import make_engine
from store.inbox import store_inbound
from store.models import InboundState, Via
from tests.fixtures.inbound import OPEN_POLICY, MailhostFactory, address, raw_smtp

TO = address("+q1")


def _mail(head: bytes, body: bytes = b"A contribution with enough words.\r\n") -> bytes:
    base = {
        b"From": b"Ana Ruiz <ana@example.net>",
        b"To": TO.encode(),
        b"Subject": b"Re: Question 1",
        b"Message-ID": b"<nul-base@example.net>",
        b"Date": b"Sat, 28 Mar 2027 10:00:00 +0100",
    }
    name, _, value = head.partition(b": ")
    base[name] = value
    lines = [k + b": " + v for k, v in base.items()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


CASES = {
    "in the Message-ID": _mail(b"Message-ID: <nul\x00id@example.net>"),
    "in the From name": _mail(b"From: Ana\x00Ruiz <ana@example.net>"),
    "in the Subject": _mail(b"Subject: Re: Question\x00 1"),
    "in References": _mail(b"References: <q1@discuss.example.org> <a\x00b@x>"),
    "in In-Reply-To": _mail(b"In-Reply-To: <a\x00b@example.net>"),
    "in the sender's address": _mail(b"From: Ana <an\x00a@example.net>"),
    "in the body": _mail(b"X-Case: body", b"Line one\x00 and\r\nline two.\r\n"),
    "in a quoted-printable body": _mail(
        b"Content-Transfer-Encoding: quoted-printable",
        b"Encoded=00 NUL in the text.\r\n",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_nul_byte_is_stored_and_processed(
    make_mailhost: MailhostFactory, case: str
) -> None:
    host = make_mailhost(**OPEN_POLICY)
    raw = CASES[case]
    host.send(raw, [TO])  # 250, not a 451 the sender retries for days
    host.process()
    [row] = host.inbound()
    assert row.raw == raw  # the bytes as received, NUL included
    assert row.state is InboundState.PROCESSED, (row.state, row.error)
    for post in host.posts():
        for value in (
            post.message_id,
            post.author_name,
            post.subject,
            post.body,
            post.full_text,
        ):
            assert "\x00" not in value


@pytest.mark.parametrize(
    "mail_from",
    [
        b"<an\x00a@example.net>",
        b"<ana@exam\x00ple.net>",
        b"<ana@example.net> SIZE=1\x00",
    ],
)
def test_a_nul_in_the_envelope_is_refused_or_stored_never_deferred(
    make_mailhost: MailhostFactory, mail_from: bytes
) -> None:
    host = make_mailhost(**OPEN_POLICY)
    raw = _mail(b"Message-ID: <envelope-nul@example.net>")
    with raw_smtp(host.port, 10) as say:
        say(b"EHLO raw.example.net\r\n")
        answer = say(b"MAIL FROM:" + mail_from + b"\r\n")
        if answer.startswith(b"250"):
            assert say(f"RCPT TO:<{TO}>\r\n".encode()).startswith(b"250")
            assert say(b"DATA\r\n").startswith(b"354")
            answer = say(raw + b"\r\n.\r\n")
        say(b"QUIT\r\n")
    assert answer[:1] in (b"2", b"5"), answer  # never 4xx: retrying cannot help
    if answer.startswith(b"250"):
        host.process()
        [row] = host.inbound()
        assert "\x00" not in row.envelope_from
        assert row.state is InboundState.PROCESSED, (row.state, row.error)


def test_the_store_keeps_an_envelope_it_could_not_hold_as_text(db_url: str) -> None:
    # IMAP recovers the envelope from headers a sender wrote (Return-Path,
    # To): a NUL or an undecodable byte there must not make the store refuse
    # the message, or the poller would fetch it again at every poll.
    engine = make_engine(db_url)
    raw = b"Return-Path: <a\x00b@x.net>\r\nSubject: x\r\n\r\nbody\r\n"
    try:
        with engine.begin() as connection:
            stored = store_inbound(
                connection,
                raw=raw,
                dedupe_key="sha256:nul-envelope",
                message_id=None,
                envelope_from="a\x00b@x.net",
                envelope_to=[TO, "caf\udce9@x.net"],
                received_via=Via.IMAP,
                peer="imap.example.net\x00",
                now=datetime.now(UTC),
            )
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT envelope_from, envelope_to, peer, raw"
                    " FROM inbound_messages WHERE id = :id"
                ),
                {"id": stored.inbound_id},
            ).one()
    finally:
        engine.dispose()
    assert row.envelope_from == "a\ufffdb@x.net"
    assert row.envelope_to.splitlines()[0] == TO
    assert "\x00" not in row.peer
    assert bytes(row.raw) == raw


def test_a_key_made_storable_still_finds_its_duplicate(db_url: str) -> None:
    # The insert and the duplicate lookup must use the same (storable) key:
    # with the key as given, the second delivery found no row and raised.
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            first, again = (
                store_inbound(
                    connection,
                    raw=b"Subject: x\r\n\r\nbody\r\n",
                    dedupe_key="mid:<a\x00b@x.net>",
                    message_id=None,
                    envelope_from="a@x.net",
                    envelope_to=[TO],
                    received_via=Via.SMTP,
                    peer="127.0.0.1",
                    now=datetime.now(UTC),
                )
                for _ in range(2)
            )
    finally:
        engine.dispose()
    assert not first.duplicate and again.duplicate
    assert again.inbound_id == first.inbound_id
