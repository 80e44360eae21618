"""The closed sets of words that configuration and records name.

Each is a :class:`~enum.StrEnum` whose values are the words written in
``config.toml`` or stored in the database (policies, security, protocols; how
a sign-up came and how an unsubscribe was done), so files and rows read as
before; the edge converts each word once, and the code that acts on it
compares members, never strings.
"""

from __future__ import annotations

import enum


class Moderation(enum.StrEnum):
    """Which posts wait for a moderator: none, a sender's first post, or all."""

    NONE = "none"
    FIRST_POST = "first-post"
    ALL = "all"


class UnknownSenders(enum.StrEnum):
    """What happens to a post from an address the discussion does not know."""

    ACCEPT = "accept"
    HOLD = "hold"
    REJECT = "reject"


class OversizeAttachments(enum.StrEnum):
    """What happens to a post with an attachment over the limit."""

    DROP = "drop"  # the attachment, with a note in the post
    HOLD = "hold"  # the post, for a moderator


class Security(enum.StrEnum):
    """How a connection to the relay or the IMAP server is protected."""

    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class Protocol(enum.StrEnum):
    """What the inbound listener speaks: SMTP (RFC 5321) or LMTP (RFC 2033)."""

    SMTP = "smtp"
    LMTP = "lmtp"


class SignupSource(enum.StrEnum):
    """Where a sign-up came from: stored as the word in ``subscriptions.source``."""

    WEB = "web"  # the sign-up form
    EMAIL = "email"  # a subscribe command mail
    CLI = "cli"  # ``subscribers add``
    IMPORT = "import"  # ``subscribers import``


class UnsubscribeVia(enum.StrEnum):
    """How an unsubscribe at once was asked for: logged as the word after ``via=``."""

    ONE_CLICK = "one-click"  # a mail client's RFC 8058 POST
    WEB = "web"  # a person on our page
    CLI = "cli"  # ``subscribers remove``
