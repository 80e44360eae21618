"""The identity of a received message, so that the same mail is stored once.

A message is the same message when it carries the same Message-ID (whatever
path it took: SMTP retry, a second MX, the IMAP mailbox). Without a usable
Message-ID the SHA-256 of its bytes stands in, as Mailman does for mail that
arrives without one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

_MSGID = re.compile(r"<([^<>\s]{1,400})>")
_FOLDING = re.compile(r"[\r\n\t]+")
_MAX_KEY = 380


@dataclass(frozen=True)
class InboundKey:
    """The dedupe key of a raw message and the Message-ID it was made from, if any."""

    key: str
    message_id: str | None


def normalise_message_id(value: str | None) -> str | None:
    """``<id@host>`` from a header value, without folding or comments, or None.

    An id holding a control or format character (a NUL, say) is no
    Message-ID (RFC 5322 and 6532 allow printable characters only) and cannot
    be stored as text on every database (PostgreSQL refuses NUL): None, and
    the message is known by the hash of its bytes instead.
    """
    if not value:
        return None
    flat = _FOLDING.sub(" ", str(value))
    m = _MSGID.search(flat)
    if not m or "@" not in m.group(1) or not m.group(1).isprintable():
        return None
    return f"<{m.group(1)}>"


def header_block(raw: bytes) -> bytes:
    """The start of *raw* that holds its whole header section, and a blank line.

    The parser ends the header section at the first empty line (or earlier, at
    a line that is no header); each of these marks an empty line, whatever the
    line ends around it, so parsing the block gives the headers parsing all of
    *raw* gives, without reading a body of megabytes.
    """
    ends = [
        at + len(mark)
        for mark in (b"\r\n\r\n", b"\n\n", b"\r\r")
        if (at := raw.find(mark)) >= 0
    ]
    return raw[: min(ends)] if ends else raw


# A header section of plain ASCII header lines (an optional Unix "From " line,
# then "name:" lines and their continuations): the parser would read each line
# as a header, so the first Message-ID line found by a scan is the one it gives.
_PLAIN_SECTION = re.compile(
    rb"(?:From [^\r\n]*\r?\n)?(?:(?:[\041-\071\073-\176]+:|[ \t])[^\r\n]*\r?\n)*\r?\n?"
)
_MESSAGE_ID_FIELD = re.compile(
    rb"^message-id:[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)",
    re.IGNORECASE | re.MULTILINE,
)


def _message_id_field(block: bytes) -> str | None:
    """The first Message-ID value of a header *block*, as the parser reads it."""
    plain = block.isascii() and b"\r" not in block.replace(b"\r\n", b"")
    if plain and _PLAIN_SECTION.fullmatch(block):
        m = _MESSAGE_ID_FIELD.search(block)
        return m.group(1).decode("ascii") if m else None
    headers = BytesHeaderParser(policy=compat32).parsebytes(block)
    for name, value in headers.raw_items():
        if name.lower() == "message-id":
            return _as_read(value)
    return None


def _as_read(value: str) -> str:
    """A header value as its bytes say: UTF-8 (RFC 6532), any other byte escaped.

    compat32 gives 8-bit bytes as surrogates, and its ``str()`` made each a
    U+FFFD: ``<café@x>`` and ``<cafè@x>`` read the same, and the second
    message was taken for a copy of the first. Escaping keeps them apart.
    """
    if value.isascii():
        return value
    data = value.encode("ascii", "surrogateescape")
    return data.decode("utf-8", "backslashreplace")


def inbound_key(raw: bytes) -> InboundKey:
    """The dedupe key for *raw*: by Message-ID, else by content hash."""
    mid = normalise_message_id(_message_id_field(header_block(raw)))
    if mid is not None:
        key = f"mid:{mid}"
        if len(key) > _MAX_KEY:
            key = (
                "midsha256:"
                + hashlib.sha256(mid.encode("utf-8", "replace")).hexdigest()
            )
        return InboundKey(key, mid)
    return InboundKey("sha256:" + hashlib.sha256(raw).hexdigest(), None)
