"""Mail of any shape that SMTP accepts is stored and handled, never lost or failed.

A body with no header section, broken MIME, NULs, 8-bit headers in charsets
nobody knows, a multipart without parts, a nesting bomb: each one goes in over
SMTP, is processed (not failed, not quarantined) and is held for a moderator
with its defects, or posted when it is sound enough; the listener keeps serving.
"""

from __future__ import annotations

import base64

import pytest

from store.models import InboundState, PostStatus
from tests.fixtures.inbound import OPEN_POLICY, MailhostFactory, address

_HEAD = (
    b"From: Ana Ruiz <ana@example.net>\r\n"
    b"To: skills-covid19+q1@discuss.example.org\r\n"
    b"Subject: Training in our region\r\n"
    b"Date: Sat, 28 Mar 2027 10:00:00 +0100\r\n"
)
_TEXT = b"Most workplace training stopped in March; we moved theory online.\r\n"


def _head(n: int) -> bytes:
    return _HEAD + f"Message-ID: <shape-{n}@example.net>\r\n".encode()


def _nested(depth: int) -> bytes:
    parts = b"".join(
        b"Content-Type: multipart/mixed; boundary=n%d\r\n\r\n--n%d\r\n" % (i, i)
        for i in range(depth)
    )
    return parts + b"Content-Type: text/plain\r\n\r\n" + _TEXT


# name -> (raw message, whether a readable text is expected in the post)
SHAPES: dict[str, tuple[bytes, bool]] = {
    "body after a blank line, no header": (b"\r\n" + _TEXT, True),
    "body alone, no blank line": (_TEXT + b"We also lost two trainers.\r\n", True),
    "body whose first line has a colon": (b"Note: " + _TEXT, True),
    "only unknown header fields": (b"X-Note: one\r\n\r\n" + _TEXT, True),
    "multipart without a boundary": (
        _head(1) + b"Content-Type: multipart/mixed\r\n\r\n--zz\r\n\r\n" + _TEXT,
        True,
    ),
    "boundary never closed": (
        _head(2)
        + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        + b"Content-Type: text/plain\r\n\r\n"
        + _TEXT,
        True,
    ),
    "unknown transfer encoding": (
        _head(3) + b"Content-Transfer-Encoding: x-rot13\r\n\r\n" + _TEXT,
        True,
    ),
    "truncated base64": (
        _head(4)
        + b"Content-Type: text/plain; charset=utf-8\r\n"
        + b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(_TEXT)[:-6]
        + b"\r\n",
        True,
    ),
    "header line without a colon": (
        _HEAD
        + b"this line is no header\r\nMessage-ID: <shape-5@example.net>\r\n\r\n"
        + _TEXT,
        True,
    ),
    "NUL bytes in the body": (
        _head(6) + b"\r\nMost\x00 workplace\x00 training\r\n",
        True,
    ),
    "8-bit headers, unknown charset": (
        b"From: =?x-martian?q?Ana?= <ana@example.net>\r\n"
        b"Subject: Formaci\xf3n \xe9t\xe9\r\n"
        b"Message-ID: <shape-7@example.net>\r\n"
        b"Content-Type: text/plain; charset=x-martian\r\n\r\n" + _TEXT,
        True,
    ),
    "multipart with no parts": (
        _head(8) + b"Content-Type: multipart/mixed; boundary=e\r\n\r\n--e--\r\n",
        False,
    ),
    "nesting bomb": (_head(9) + _nested(300), False),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_a_message_of_any_shape_is_stored_and_handled(
    make_mailhost: MailhostFactory, name: str
) -> None:
    raw, readable = SHAPES[name]
    host = make_mailhost(**OPEN_POLICY)
    host.send(raw, [address("+q1")])
    host.process()
    (row,) = host.inbound()
    assert row.state is InboundState.PROCESSED, (row.state, row.error)
    (post,) = host.posts()
    if readable:
        assert "workplace" in post.full_text or "workplace" in post.body, post
    if name.startswith(("body", "only")):
        # No header section: whoever wrote it, a moderator decides.
        assert post.status is PostStatus.HELD
        assert "no header section" in (post.hold_reason or "")
    # The listener is still there for the next message.
    host.send(_head(99) + b"\r\n" + _TEXT, [address("+q1")])
    host.process()
    assert len(host.posts()) == 2
