"""NUL bytes wherever a hostile client can put them: stored, processed, never a 451 loop.

PostgreSQL refuses NUL in text columns ("text fields cannot contain NUL (0x00)
bytes"), SQLite takes it: a NUL that reached a text column made a message
impossible to store on one database only, and the sender was told to try
again for ever. The raw bytes (a blob) keep every NUL; what is read out of
them into text never has one.
"""

from __future__ import annotations

import pytest

from store.models import InboundState
from tests.fixtures.inbound import OPEN_POLICY, MailhostFactory, address

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
        for text in (
            post.message_id,
            post.author_name,
            post.subject,
            post.body,
            post.full_text,
        ):
            assert "\x00" not in text
