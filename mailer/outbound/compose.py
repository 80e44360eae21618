"""Build outgoing messages: good citizens of every mailbox they reach.

Pure functions from values to :class:`email.message.EmailMessage`. Every
header that carries outside text is set through the standard library's header
API after :func:`header_safe`; names and subjects outside ASCII become RFC 2047
encoded words, bodies are quoted-printable so no line exceeds 998 octets, and
:func:`message_bytes` gives CRLF line ends. Only a recipient whose address is
itself outside ASCII gets a message that needs SMTPUTF8 (RFC 6532).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from mailer.core.headers import display_name_safe, header_safe

# Plain SMTP: non-ASCII names and subjects are written as encoded words.
SMTP_POLICY = policy.SMTP.clone(max_line_length=78)
# Only for internationalised recipient addresses (RFC 6531/6532).
UTF8_POLICY = policy.SMTPUTF8.clone(max_line_length=78)

LOOP_HEADER = "X-Loop"  # names the discussion address; our own mail coming back
_MSGID = re.compile(r"<[^<>\s@]{1,200}@[^<>\s@]{1,200}>")
_ADDR = re.compile(r"^[^\s<>()\[\]\\,;:\"@]{1,200}@[^\s<>()\[\]\\,;:\"@]{1,200}$")
_EXTRA_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,60}$")


@dataclass(frozen=True)
class ListHeaders:
    """RFC 2369/2919/8058 headers of one discussion, for one recipient."""

    list_id: str  # "<slug.domain>"
    name: str  # the human name shown with List-Id
    post: str | None  # address for List-Post, or None for "NO"
    help: str  # mailto of the request address
    archive: str  # URL
    unsubscribe_mailto: str
    unsubscribe_url: str | None  # one-click https link (RFC 8058), when known


@dataclass(frozen=True)
class Mail:
    """What a mail says and to whom, before it becomes an EmailMessage."""

    from_name: str
    from_address: str
    to_address: str
    subject: str
    text: str
    date: datetime
    message_id: str
    to_name: str = ""
    html: str | None = None
    language: str = "en"
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    list_headers: ListHeaders | None = None
    auto_submitted: str | None = None  # "auto-replied" | "auto-generated"
    precedence: str | None = None  # "list" | "bulk"
    extra: Mapping[str, str] = field(default_factory=dict)
    loop: str | None = None  # X-Loop value: the discussion's own address


def address_safe(addr: str) -> str:
    """*addr* when it is one plain ``local@domain``; ValueError otherwise.

    Addresses reach headers and the SMTP envelope; one with a space, a comma, a
    bracket or a line break could name a second recipient, so it is refused.
    """
    text = str(addr)
    if not _ADDR.match(text) or any(ord(c) < 32 or c == "\x7f" for c in text):
        raise ValueError(f"not a plain address: {text!r}")
    return text


def message_id_safe(value: str) -> str | None:
    """The first ``<id@host>`` in *value* (at most 400 characters), or None."""
    m = _MSGID.search(str(value))
    return m.group(0) if m else None


def _address(name: str, addr: str) -> Address:
    local, _, domain = address_safe(addr).rpartition("@")
    return Address(display_name=display_name_safe(name), username=local, domain=domain)


def _needs_utf8(mail: Mail) -> bool:
    return not all(a.isascii() for a in (mail.to_address, mail.from_address))


def compose(mail: Mail) -> EmailMessage:
    """Build the message: headers in a sensible order, text first, HTML as alternative."""
    msg = EmailMessage(policy=UTF8_POLICY if _needs_utf8(mail) else SMTP_POLICY)
    msg["From"] = _address(mail.from_name, mail.from_address)
    msg["To"] = _address(mail.to_name, mail.to_address)
    msg["Subject"] = header_safe(mail.subject, 250)
    msg["Date"] = format_datetime(mail.date)
    message_id = message_id_safe(mail.message_id)
    if message_id is None:
        raise ValueError(f"not a Message-ID: {mail.message_id!r}")
    msg["Message-ID"] = message_id
    if mail.reply_to:
        msg["Reply-To"] = address_safe(mail.reply_to)
    parent = message_id_safe(mail.in_reply_to or "")
    if parent:
        msg["In-Reply-To"] = parent
    refs = [r for r in (message_id_safe(x) for x in mail.references) if r]
    if parent and parent not in refs:
        refs.append(parent)
    if refs:
        msg["References"] = " ".join(dict.fromkeys(refs[-20:]))
    if mail.list_headers is not None:
        _list_headers(msg, mail.list_headers)
    if mail.precedence:
        msg["Precedence"] = header_safe(mail.precedence, 20)
    if mail.auto_submitted:
        msg["Auto-Submitted"] = header_safe(mail.auto_submitted, 40)
    if mail.loop:
        msg[LOOP_HEADER] = address_safe(mail.loop)
    for name, value in mail.extra.items():
        if not _EXTRA_NAME.match(name):
            raise ValueError(f"not a header name: {name!r}")
        msg[name] = header_safe(value, 900)
    msg.set_content(
        _normalise_text(mail.text),
        subtype="plain",
        charset="utf-8",
        cte="quoted-printable",
    )
    if mail.html is not None:
        msg.add_alternative(
            mail.html, subtype="html", charset="utf-8", cte="quoted-printable"
        )
    # After the body: set_content() drops every Content-* header set before it.
    msg["Content-Language"] = header_safe(mail.language, 20)
    return msg


def _list_headers(msg: EmailMessage, lh: ListHeaders) -> None:
    """RFC 2919 List-Id, RFC 2369 List-* and RFC 8058 one-click unsubscribe."""
    list_id = message_id_safe(lh.list_id) or lh.list_id
    if not re.fullmatch(r"<[A-Za-z0-9.-]{1,250}>", list_id):
        raise ValueError(f"not a list id: {lh.list_id!r}")
    msg["List-Id"] = f"{display_name_safe(lh.name)} {list_id}"
    msg["List-Post"] = f"<mailto:{address_safe(lh.post)}>" if lh.post else "NO"
    msg["List-Help"] = f"<mailto:{address_safe(lh.help)}?subject=help>"
    msg["List-Archive"] = f"<{_url_safe(lh.archive)}>"
    mailto = f"<mailto:{address_safe(lh.unsubscribe_mailto)}?subject=unsubscribe>"
    if lh.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{_url_safe(lh.unsubscribe_url)}>, {mailto}"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    else:
        msg["List-Unsubscribe"] = mailto


def _url_safe(url: str) -> str:
    if not re.fullmatch(r"https?://[!#-;=?-~]{1,900}", url):  # no space, < or >
        raise ValueError(f"not a URL for a header: {url!r}")
    return url


def _normalise_text(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    # mailer.outbound.bulk.normalise_text must stay the same function.
    return "\n".join(line.rstrip() for line in lines).rstrip("\n") + "\n"


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as it goes on the wire: CRLF line ends, no line over 998 octets."""
    pol = msg.policy if isinstance(msg.policy, policy.EmailPolicy) else SMTP_POLICY
    return msg.as_bytes(policy=pol.clone(linesep="\r\n", max_line_length=78))
