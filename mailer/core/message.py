"""The clean value a received message becomes once parsed.

Everything here came from outside and has been made safe: header values carry
no CR, LF or other control character, addresses are plain addr-specs, and the
problems noticed while reading the bytes are listed in ``defects``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class MessageClass(enum.Enum):
    """What a received message is, whatever address it came to."""

    NORMAL = "normal"
    AUTO_REPLY = "auto-reply"
    BOUNCE = "bounce"
    LOOP = "loop"


@dataclass(frozen=True)
class ParseLimits:
    """Bounds on the work one message may cost; passing one makes it suspicious."""

    max_parts: int = 200
    max_depth: int = 20
    max_headers: int = 500
    max_header_bytes: int = 100 * 1024
    max_addresses: int = 100
    max_received: int = 30
    max_references: int = 100
    max_text_chars: int = 1_000_000

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer")


DEFAULT_LIMITS = ParseLimits()


@dataclass(frozen=True)
class ParsedAttachment:
    """One attached file; ``content`` is empty and ``kept`` False when over the limit."""

    filename: str
    content_type: str
    size: int
    content: bytes
    kept: bool
    inline: bool = False
    content_id: str = ""


@dataclass(frozen=True)
class BounceReport:
    """What a delivery status notification says about the failed recipients."""

    recipients: tuple[str, ...]
    permanent: bool
    status: str
    diagnostic: str
    original_message_id: str | None = None  # of our message that bounced, when given


@dataclass(frozen=True)
class ComplaintReport:
    """What an RFC 5965 feedback report (a spam complaint) says about our message.

    The fields name the complaining subscriber as well as the report lets us
    see: the envelope sender our message had (its VERP address), the signed
    unsubscribe links of its ``List-Unsubscribe``, and the addresses it went to.
    """

    feedback_type: str  # "abuse" for a spam complaint; "fraud", "not-spam", ...
    recipients: tuple[str, ...]  # Original-Rcpt-To, else the returned message's To
    return_paths: tuple[str, ...]  # Original-Mail-From and the returned Return-Path
    unsubscribe_links: tuple[str, ...]  # the returned message's List-Unsubscribe URLs
    original_message_id: str | None = None


@dataclass(frozen=True)
class ParsedMessage:
    """A received message as clean values: addresses, decoded text, classification."""

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_address: str
    from_name: str
    reply_to: str
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: datetime | None
    text: str
    html: str | None
    new_text: str
    language: str
    attachments: tuple[ParsedAttachment, ...]
    headers: tuple[tuple[str, str], ...]
    defects: tuple[str, ...]
    message_class: MessageClass
    bounce: BounceReport | None
    over_limits: bool = False  # a ParseLimits bound was passed: hold, do not trust
    suspicious: bool = False  # over limits, or non-canonical headers (promise 4)
    limit_reasons: tuple[str, ...] = field(default=())
    suspicious_reasons: tuple[str, ...] = field(default=())  # every reason, limits too
    text_from_html: bool = False  # text was converted from the HTML part
    encrypted: bool = False  # S/MIME or OpenPGP encrypted: its text cannot be read
    complaint: ComplaintReport | None = None  # an RFC 5965 feedback report

    def header(self, name: str) -> str | None:
        """The first value of header *name* (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def header_values(self, name: str) -> tuple[str, ...]:
        """Every value of header *name* (case-insensitive), in order."""
        wanted = name.lower()
        return tuple(value for key, value in self.headers if key.lower() == wanted)
