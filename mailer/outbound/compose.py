"""Build outgoing messages: good citizens of every mailbox they reach.

Pure functions from values to :class:`email.message.EmailMessage`. Every
header that carries outside text is set through the standard library's header
API after :func:`header_safe`; bodies are quoted-printable (or base64) so no
line exceeds 998 octets, and :func:`message_bytes` gives CRLF line ends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from mailer.core.headers import display_name_safe, header_safe

SMTP_POLICY = policy.SMTPUTF8.clone(max_line_length=78)


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


def _address(name: str, addr: str) -> Address:
    local, _, domain = addr.rpartition("@")
    return Address(display_name=display_name_safe(name), username=local, domain=domain)


def compose(mail: Mail) -> EmailMessage:
    """Build the message: headers in a sensible order, text first, HTML as alternative."""
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = _address(mail.from_name, mail.from_address)
    msg["To"] = _address(mail.to_name, mail.to_address)
    msg["Subject"] = header_safe(mail.subject, 250)
    msg["Date"] = format_datetime(mail.date)
    msg["Message-ID"] = mail.message_id
    if mail.reply_to:
        msg["Reply-To"] = mail.reply_to
    if mail.in_reply_to:
        msg["In-Reply-To"] = header_safe(mail.in_reply_to, 998)
    if mail.references:
        msg["References"] = " ".join(header_safe(r, 998) for r in mail.references[-20:])
    if mail.list_headers is not None:
        lh = mail.list_headers
        msg["List-Id"] = f"{display_name_safe(lh.name)} {lh.list_id}"
        msg["List-Post"] = f"<mailto:{lh.post}>" if lh.post else "NO"
        msg["List-Help"] = f"<mailto:{lh.help}?subject=help>"
        msg["List-Archive"] = f"<{lh.archive}>"
        if lh.unsubscribe_url:
            msg["List-Unsubscribe"] = (
                f"<{lh.unsubscribe_url}>, <mailto:{lh.unsubscribe_mailto}?subject=unsubscribe>"
            )
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        else:
            msg["List-Unsubscribe"] = (
                f"<mailto:{lh.unsubscribe_mailto}?subject=unsubscribe>"
            )
    if mail.precedence:
        msg["Precedence"] = mail.precedence
    if mail.auto_submitted:
        msg["Auto-Submitted"] = mail.auto_submitted
    for name, value in mail.extra.items():
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
    msg["Content-Language"] = mail.language
    return msg


def _normalise_text(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).rstrip("\n") + "\n"


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as it goes on the wire: CRLF line ends, no line over 998 octets."""
    return msg.as_bytes(policy=SMTP_POLICY)
