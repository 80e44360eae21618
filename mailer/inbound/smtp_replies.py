"""Enhanced status codes (RFC 3463) on replies that aiosmtpd writes without one.

The LMTP listener advertises ``ENHANCEDSTATUSCODES`` (RFC 2033 section 5
requires it); aiosmtpd's own replies (``250 OK``, ``221 Bye``, ``503 Error:
need RCPT command``) carry no such code, so the server class passes every
reply through :func:`with_enhanced_code`. Here too: the words the listener
answers limits and a full store with. Pure text.
"""

from __future__ import annotations

import re

from mailer.inbound.smtp_data import DataState

# RFC 3463 codes for aiosmtpd's own replies that carry none; any other reply
# gets its class with ".0.0" (RFC 3463 section 3.1, "other undefined status").
_ENHANCED = {
    "500": "5.5.2",  # syntax error, command unrecognised
    "501": "5.5.4",  # invalid arguments
    "502": "5.5.1",  # command not implemented
    "503": "5.5.1",  # bad sequence of commands
    "504": "5.5.4",
    "530": "5.7.0",
    "552": "5.3.4",
    "553": "5.1.3",
    "555": "5.5.4",
    "452": "4.3.1",
    "454": "4.7.0",
}
_HAS_ENHANCED = re.compile(r"\d{3}[ -][245]\.\d{1,3}\.\d{1,3}(?: |$)")


def with_enhanced_code(status: str, hostname: str) -> str:
    """*status* with an RFC 3463 enhanced status code where it has none.

    RFC 2034 section 3: with ENHANCEDSTATUSCODES every reply carries one but
    the greeting, the answer to EHLO/LHLO and 354 (not a completion reply).
    Only a single-line reply is changed: aiosmtpd's multi-line replies are the
    EHLO lines, which keep their text.
    """
    code = status[:3]
    if (
        len(status) < 4
        or not code.isdigit()
        or status[3] != " "
        or code[0] not in "245"
        or "\r\n" in status
        or _HAS_ENHANCED.match(status)
        or status == "250 HELP"  # the last line of the LHLO answer
        or status.startswith(f"220 {hostname} ")  # the greeting
    ):
        return status
    enhanced = _ENHANCED.get(code, f"{code[0]}.0.0")
    return f"{code} {enhanced} {status[4:]}"


_FULL = (
    "database or disk is full",  # SQLite (SQLITE_FULL)
    "no space left on device",  # ENOSPC, also in PostgreSQL's messages
    "could not extend file",  # PostgreSQL, SQLSTATE 53100
    "disk quota exceeded",  # EDQUOT
)


def storage_full(reason: str) -> bool:
    """True when the store failed for want of space (RFC 3463: 452 4.3.1)."""
    low = reason.lower()
    return any(text in low for text in _FULL)


# aiosmtpd's texts for limits and STARTTLS, with codes and words of our own.
REWRITES = {
    "552 Error: Too much mail data": "552 5.3.4 Message too big for system",
    "552 Error: message size exceeds fixed maximum message size": "552 5.3.4 Message size exceeds fixed maximum message size",
    "500 Line too long (see RFC5321 4.5.3.1.6)": "500 5.5.2 Line too long (RFC 5321 4.5.3.1.6)",
    "530 Must issue a STARTTLS command first": "530 5.7.0 Must issue a STARTTLS command first",
}


# The answer to mail data that passed a limit (as REWRITES words aiosmtpd's).
DATA_REFUSALS = {
    DataState.TOO_LONG: REWRITES["500 Line too long (see RFC5321 4.5.3.1.6)"],
    DataState.TOO_MUCH: REWRITES["552 Error: Too much mail data"],
}
