"""Signed and random tokens that travel in email addresses and links.

Address tokens must survive mail systems that change the case of a local part,
so they use lowercase base32 with no padding. A signed token binds a *purpose*
(``reply``, ``bounce``, ``unsubscribe``...) so one kind can never be replayed as
another.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
import secrets

from mailer.core.errors import BadToken


class SignedFor(enum.StrEnum):
    """What a signed token is good for; the word is part of what is signed."""

    REPLY = "reply"
    UNSUBSCRIBE = "unsubscribe"
    MANAGE = "manage"
    BOUNCE = "bounce"
    HELD_POST = "held-post"


_VALUE = re.compile(r"^[a-z0-9-]{1,64}$")
_MAC_BYTES = 10  # 80 bits: far beyond guessing by mail


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _mac(key: bytes, purpose: str, value: str) -> str:
    digest = hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()
    return _b32(digest[:_MAC_BYTES])


def sign_token(key: bytes, purpose: SignedFor, value: str) -> str:
    """Return ``value.mac``: *value* (lowercase letters, digits, '-') signed for *purpose*."""
    if not _VALUE.match(value):
        raise ValueError(f"token value {value!r} must be 1-64 of [a-z0-9-]")
    return f"{value}.{_mac(key, purpose, value)}"


def verify_token(key: bytes, purpose: SignedFor, token: str) -> str:
    """Return the value inside a signed *token*, or raise :class:`BadToken`."""
    value, sep, mac = token.lower().rpartition(".")
    if not sep or not _VALUE.match(value):
        raise BadToken(token, "malformed token")
    if not hmac.compare_digest(mac, _mac(key, purpose, value)):
        raise BadToken(token, "bad signature")
    return value


def random_token() -> str:
    """A fresh unguessable token (128 bits), safe in a local part and a URL."""
    return _b32(secrets.token_bytes(16))


def hash_token(token: str) -> str:
    """What the store keeps of a random token: a leaked table grants nothing."""
    return hashlib.sha256(token.lower().encode("ascii", "replace")).hexdigest()
