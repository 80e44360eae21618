"""Making outside text safe for a header, and stable Message-IDs for our own mail.

Python 3.11.7's email package still has CVE-2024-6923: encoded newlines in a
received header can survive parsing and be written out again. Every string
that came from outside passes through :func:`header_safe` before it reaches an
outgoing header, so no name, subject or organisation can add a header or a
recipient.
"""

from __future__ import annotations

import hashlib
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
# Every format character (Unicode category Cf: soft hyphen, zero-width and bidi
# controls, tags...) as of Unicode 14 (Python 3.11); a unit test checks this
# class against unicodedata for every code point, so a newer Unicode shows up.
_FORMAT = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)


def header_safe(text: str, limit: int = 200) -> str:
    """One line of printable text: control characters become spaces, runs collapse.

    Also drops format characters that can reorder text (bidi overrides), and
    cuts at *limit* characters on a word boundary when it can.
    """
    text = str(text)
    if (  # most values: printable ASCII, single spaces, short enough
        len(text) <= limit
        and text.isascii()
        and text.isprintable()
        and "  " not in text
        and text.strip(" ") == text
    ):
        return text
    flat = _CONTROL.sub(" ", text)
    if not flat.isascii():  # ASCII holds no format character
        flat = _FORMAT.sub("", flat)
    flat = " ".join(flat.split())
    if len(flat) > limit:
        cut = flat[:limit].rsplit(" ", 1)[0] if " " in flat[:limit] else flat[:limit]
        flat = cut.rstrip() + "…"
    return flat


_NAME_UNSAFE = re.compile(r"[<>@\"\\,;:]")
_NAME_UNSAFE_BUT_COMMA = re.compile(r"[<>@\"\\;:]")


def display_name_safe(text: str, limit: int = 80, *, commas: bool = False) -> str:
    """A display name that cannot smuggle an address: no '@', '<' or '>' either.

    With *commas*, a comma stays: a name as people read it ("Ruiz, Ana", as
    Exchange writes it); a header made from it drops the comma again.
    """
    cleaned = header_safe(text, limit)
    unsafe = _NAME_UNSAFE_BUT_COMMA if commas else _NAME_UNSAFE
    return " ".join(unsafe.sub(" ", cleaned).split()).strip(", ")


def stable_message_id(key: str, domain: str, kind: str = "m") -> str:
    """A Message-ID that depends only on *key*: a re-sent message keeps its ID."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    safe_kind = re.sub(r"[^a-z0-9-]", "", kind.lower())[:20] or "m"
    return f"<{safe_kind}.{digest}@{domain}>"
