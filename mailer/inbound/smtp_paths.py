"""The path argument of ``MAIL FROM`` and ``RCPT TO`` as the client wrote it.

Read here before aiosmtpd sees it: a plain ``<local@domain>`` path takes a
short cut past aiosmtpd's parser, and a routing trick that its parser would
hide (a source route, an encoded word) is caught on the raw text. Pure text
functions; the server class in :mod:`mailer.inbound.smtp` calls them.
"""

from __future__ import annotations

import re

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_PATH = re.compile(
    rf"[ \t]*<({_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>(.*)"
)


def plain_path(arg: str) -> tuple[str, str] | None:
    """(address, rest) of a plain ``<local@domain> PARAMS`` SMTP path, else None.

    Nearly every MAIL FROM and RCPT TO is that simple; aiosmtpd reads each
    with the email package's header parser (and makes a class per call). The
    answer is the same (a unit test compares them); anything else, quoted
    strings, comments, source routes, encoded words, goes to aiosmtpd.
    """
    if "=?" in arg:  # aiosmtpd decodes RFC 2047 encoded words, even there
        return None
    m = _PLAIN_PATH.fullmatch(arg)
    if m is None or any(c in m.group(2) for c in '()"\\'):
        return None
    return m.group(1), m.group(2).lstrip(" \t")


def routing_trick(arg: str) -> str | None:
    """Why a raw ``RCPT TO:`` argument is a routing trick, or None.

    aiosmtpd parses the address with the email package, which drops a source
    route (``<@a,@b:user@d>``) and decodes RFC 2047 encoded words in the
    local part, so the handler would see a clean address of ours. Both are
    refused here, on the text the client sent.
    """
    text = arg.partition(":")[2].strip() if ":" in arg[:3] else arg.strip()
    if control_character(text):
        return "control character"
    if text.startswith(("<@", "@")):
        return "source route"
    if "=?" in text:
        return "encoded word in the address"
    return None


def sender_trick(arg: str) -> str | None:
    """Why a raw ``MAIL FROM:`` argument is refused, or None.

    aiosmtpd decodes RFC 2047 encoded words in the local part of the path
    (``<=?utf-8?q?ana=40x.org?=@evil.test>`` becomes ``"ana@x.org"@evil.test``),
    so the sender would be read from decoded text; no real sender has one.
    A source route is allowed here: RFC 5321 section 4.1.1.2 says to ignore it.
    """
    if control_character(arg):
        return "control character"
    if "=?" in arg.partition(">")[0]:
        return "encoded word in the address"
    return None


def control_character(arg: str) -> bool:
    """True when an SMTP path or its parameters hold a control or format
    character (a NUL, say): no address has one (RFC 5321 section 4.1.2), and
    it must not reach the store, which could not keep it as text."""
    return not arg.replace("\t", " ").isprintable()  # a tab may separate parameters
