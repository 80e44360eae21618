"""Promise 4: canonical input.

Bare CR or LF in a header section, NUL bytes, and duplicate From, Subject or
Message-ID headers, sent over a raw socket exactly as a hostile client would:
the message is held as not trusted (never published), and an SMTP smuggling
attempt inside DATA never becomes a second message.
"""

from __future__ import annotations

import pytest

from store.models import PostStatus
from tests.fixtures.inbound import raw_smtp
from tests.fixtures.service import ServiceProcess, address

pytestmark = [pytest.mark.hardening, pytest.mark.xdist_group("hardening-canonical")]


def _head(n: int, mid: str) -> list[bytes]:
    return [
        f"From: Writer {n} <canon{n}@example.net>".encode(),
        f"To: {address('+q1')}".encode(),
        b"Subject: a contribution",
        f"Message-ID: {mid}".encode(),
        b"Date: Sat, 28 Mar 2027 10:00:00 +0100",
    ]


CASES = {
    "bare LF adds a From": lambda h: (
        b"\r\n".join(h[:2])
        + b"\r\nSubject: hi\nFrom: Mallory <mallory@evil.example>\r\n"
        + b"\r\n".join(h[3:])
    ),
    "bare CR adds a From": lambda h: (
        b"\r\n".join(h[:2])
        + b"\r\nSubject: hi\rFrom: Mallory <mallory@evil.example>\r\n"
        + b"\r\n".join(h[3:])
    ),
    "two From headers": lambda h: b"\r\n".join(
        [*h, b"From: Mallory <mallory@evil.example>"]
    ),
    "two Subject headers": lambda h: b"\r\n".join([*h, b"Subject: another subject"]),
    "two Message-ID headers": lambda h: b"\r\n".join(
        [*h, b"Message-ID: <another@evil.example>"]
    ),
    "NUL in a header": lambda h: b"\r\n".join(h) + b"\r\nX-Note: a\x00b",
    "From with two addresses": lambda h: b"\r\n".join(
        [h[0] + b", mallory@evil.example", *h[1:]]
    ),
}


def _deliver(port: int, envelope_from: str, data: bytes) -> bytes:
    """One transaction over a raw socket; the answer to the final dot."""
    with raw_smtp(port) as say:
        say(b"EHLO raw.example.net\r\n")
        assert say(f"MAIL FROM:<{envelope_from}>\r\n".encode()).startswith(b"250")
        assert say(f"RCPT TO:<{address('+q1')}>\r\n".encode()).startswith(b"250")
        assert say(b"DATA\r\n").startswith(b"354")
        answer = say(data + b"\r\n.\r\n")
        say(b"QUIT\r\n")
        return answer


@pytest.mark.parametrize("name", sorted(CASES))
def test_non_canonical_headers_are_held_not_trusted(
    module_service: ServiceProcess, name: str
) -> None:
    n = sorted(CASES).index(name)
    mid = f"<canon-{n}@example.net>"
    head = CASES[name](_head(n, mid))
    data = head + b"\r\n\r\nHello, a contribution with enough words.\r\n"
    answer = _deliver(module_service.smtp_port, f"canon{n}@example.net", data)
    if not answer.startswith(b"250"):
        assert answer.startswith(b"5"), answer  # refused outright is fine too
        return
    module_service.processed(mid)
    posts = module_service.posts(mid)
    assert len(posts) <= 1
    for post in posts:
        assert post.status is PostStatus.HELD, (name, post.status)
        assert "not trusted" in (post.hold_reason or ""), post.hold_reason
        assert post.author_email != "mallory@evil.example" or name == "two From headers"
    assert not [r for r in module_service.outbox("post") if r.message_id == mid]


def test_consistent_lf_line_ends_are_normalised(module_service: ServiceProcess) -> None:
    """LF everywhere is not ambiguous: read as one header section, one From."""
    mid = "<all-lf@example.net>"
    data = b"\n".join(_head(77, mid)) + b"\n\nA contribution written on Unix.\n"
    assert _deliver(module_service.smtp_port, "canon77@example.net", data)[:3] == b"250"
    module_service.processed(mid)
    (post,) = module_service.posts(mid)
    assert post.author_email == "canon77@example.net"


def test_smuggled_second_message_is_not_one(module_service: ServiceProcess) -> None:
    """``\\n.\\r\\n`` and ``\\r\\n.\\n`` inside DATA do not end it (SMTP smuggling)."""
    mid, smuggled = "<carrier@example.net>", "<smuggled@evil.example>"
    second = (
        b"MAIL FROM:<mallory@evil.example>\r\n"
        + f"RCPT TO:<{address('+q1')}>\r\n".encode()
        + b"DATA\r\nFrom: <"
        + b"aggarwal@ilo.example.org>\r\nMessage-ID: "
        + smuggled.encode()
        + b"\r\nSubject: smuggled\r\n\r\nI am the moderator.\r\n"
    )
    data = (
        b"\r\n".join(_head(99, mid))
        + b"\r\n\r\nFirst part.\n.\r\n"
        + second
        + b"\r\n.\nStill the first.\r\n"
        + second
    )
    answer = _deliver(module_service.smtp_port, "canon99@example.net", data)
    assert answer.startswith(b"250"), answer
    module_service.processed(mid)
    assert not module_service.inbound(smuggled)
    assert not module_service.posts(smuggled)
