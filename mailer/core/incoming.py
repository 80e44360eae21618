"""One received message for one of the service's addresses, as the handlers of those addresses get it.

Each handler answers with a word of its own StrEnum below; the inbox records the
word as the message's kind (bounces answer with ``BounceOutcome``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from mailer.core.addresses import Recipient
from mailer.core.message import ParsedMessage


@dataclass(frozen=True)
class Incoming:
    """One received message for one of the service's addresses, as handlers get it."""

    inbound_id: int
    parsed: ParsedMessage
    recipient: Recipient
    envelope_from: str
    raw: bytes


class PostmasterHandled(enum.StrEnum):
    """What the postmaster address did with one mail."""

    KEPT = "postmaster"  # kept in the inbox for the operator


class RequestHandled(enum.StrEnum):
    """What the request address did with one mail."""

    DONE = "request-done"
    HELP = "request-help"
    IGNORED = "request-ignored"  # automatic mail: never answered


class ConfirmHandled(enum.StrEnum):
    """What a confirmation address did with one mail."""

    SUBSCRIBED = "confirm-subscribed"
    UNSUBSCRIBED = "confirm-unsubscribed"
    ALREADY = "confirm-already"
    USED = "confirm-used"
    EXPIRED = "confirm-expired"
    UNKNOWN = "confirm-unknown"
    IGNORED = "confirm-ignored"  # automatic mail confirms nothing


class ModHandled(enum.StrEnum):
    """What the moderators' address did with one mail."""

    COMMAND = "mod-command"  # commands run
    CONFIRM_SENT = "mod-confirm-sent"  # a moderator by From only: asked to confirm
    CONFIRM_LIMIT = "mod-confirm-limit"  # too many confirmations asked lately
    NO_COMMAND = "mod-no-command"
    CONFIRMED = "mod-confirmed"  # a confirmation ran the waiting commands
    TOKEN_USED = "mod-token-used"
    TOKEN_EXPIRED = "mod-token-expired"
    TOKEN_UNKNOWN = "mod-token-unknown"
    IGNORED = "mod-ignored"  # automatic mail
    REFUSED = "mod-refused"  # not a moderator
