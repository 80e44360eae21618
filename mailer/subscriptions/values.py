"""Checking what a sign-up gives: the address, the language, the mode, the constituency.

Addresses are checked and normalised with email-validator: syntax always,
DNS deliverability only when ``subscribers.check_deliverability`` is on. The
whole address is lowercased: RFC 5321 lets a local part be case-sensitive,
but no mail system in use treats ``Ana@`` and ``ana@`` as two people, and one
person must not hold two subscriptions. Local parts must be ASCII (the relay
may not speak SMTPUTF8); international domains are kept in their ASCII form.
"""

from __future__ import annotations

from mailer.config.settings import DiscussionSettings
from mailer.core.command_values import (
    CONSTITUENCIES,
    Mode,
    parse_constituency,
    parse_language,
    parse_mode,
)
from mailer.core.errors import EdiscussError
from mailer.core.headers import header_safe
from store.models import DeliveryMode

TEXT_LIMIT = 200


class InvalidAddress(EdiscussError, ValueError):
    """An address that cannot be subscribed; ``reason`` says why, in English."""

    def __init__(self, address: str, reason: str) -> None:
        self.address = address
        self.reason = reason
        super().__init__(f"{address!r}: {reason}")


class InvalidValue(EdiscussError, ValueError):
    """A language, mode or constituency that is not one of the accepted values."""

    def __init__(self, field: str, value: str, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field} {value!r}: {reason}")


def normalise_address(address: str, check_deliverability: bool = False) -> str:
    """The address in the form the store keeps, or raise :class:`InvalidAddress`."""
    text = (address or "").strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    if not text or len(text) > 320:
        raise InvalidAddress(address, "not an email address")
    import email_validator  # with idna, only where addresses are signed up

    try:
        checked = email_validator.validate_email(
            text, check_deliverability=check_deliverability, allow_smtputf8=False
        )
    except email_validator.EmailNotValidError as exc:
        raise InvalidAddress(address, str(exc)) from exc
    normal = checked.ascii_email or checked.normalized
    return normal.lower()


def check_language(value: str | None, discussion: DiscussionSettings) -> str:
    """A language the discussion offers (its default when *value* is empty)."""
    if not value or not value.strip():
        return discussion.default_language
    if value in discussion.languages:
        return value
    found, _problem = parse_language(value, discussion.languages)
    if found is None:
        raise InvalidValue(
            "language", value, f"not one of {', '.join(discussion.languages)}"
        )
    return found


def check_mode(value: str | Mode | DeliveryMode | None) -> DeliveryMode:
    """A delivery mode (``each`` when *value* is empty); words in en/es/fr are accepted."""
    if value is None or value == "":
        return DeliveryMode.EACH
    if isinstance(value, Mode | DeliveryMode):
        return DeliveryMode(value.value)
    try:
        return DeliveryMode(value)
    except ValueError:
        pass
    found, _problem = parse_mode(value)
    if found is None:
        raise InvalidValue("mode", value, "not one of each, digest, announcements")
    return DeliveryMode(found.value)


def check_constituency(value: str | None) -> str:
    """One of :data:`CONSTITUENCIES`, or '' when not given; common words are mapped."""
    if not value or not value.strip():
        return ""
    if value in CONSTITUENCIES:
        return value
    found = parse_constituency(value)
    if found is None:
        raise InvalidValue(
            "constituency", value, f"not one of {', '.join(CONSTITUENCIES)}"
        )
    return found


def clean_text(value: str | None) -> str:
    """A name or organisation as one safe line, at most the column's width."""
    return header_safe(value or "", TEXT_LIMIT - 1)
