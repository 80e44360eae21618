"""Build outgoing messages: good citizens of every mailbox they reach.

Pure functions from values to :class:`email.message.EmailMessage`. Every
header that carries outside text is set through the standard library's header
API after :func:`header_safe`; names and subjects outside ASCII become RFC 2047
encoded words, bodies are quoted-printable so no line exceeds 998 octets, and
:func:`message_bytes` gives CRLF line ends. Only a recipient whose address is
itself outside ASCII gets a message that needs SMTPUTF8 (RFC 6532).
"""

from __future__ import annotations

import email
import functools
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy, quoprimime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

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
    archived_at: str | None = None  # this message's page in the archive (RFC 5064)


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


def _headers(mail: Mail) -> list[tuple[str, str | Address]]:
    """Every header of *mail* in order, each value checked or made safe."""
    message_id = message_id_safe(mail.message_id)
    if message_id is None:
        raise ValueError(f"not a Message-ID: {mail.message_id!r}")
    out: list[tuple[str, str | Address]] = [
        ("From", _address(mail.from_name, mail.from_address)),
        ("To", _address(mail.to_name, mail.to_address)),
        ("Subject", header_safe(mail.subject, 250)),
        ("Date", format_datetime(mail.date)),
        ("Message-ID", message_id),
    ]
    if mail.reply_to:
        out.append(("Reply-To", address_safe(mail.reply_to)))
    parent = message_id_safe(mail.in_reply_to or "")
    if parent:
        out.append(("In-Reply-To", parent))
    refs = [r for r in (message_id_safe(x) for x in mail.references) if r]
    if parent and parent not in refs:
        refs.append(parent)
    if refs:
        out.append(("References", " ".join(dict.fromkeys(refs[-20:]))))
    if mail.list_headers is not None:
        out.extend(_list_headers(mail.list_headers))
    if mail.precedence:
        out.append(("Precedence", header_safe(mail.precedence, 20)))
    if mail.auto_submitted:
        out.append(("Auto-Submitted", header_safe(mail.auto_submitted, 40)))
    if mail.loop:
        out.append((LOOP_HEADER, address_safe(mail.loop)))
    for name, value in mail.extra.items():
        if not _EXTRA_NAME.match(name):
            raise ValueError(f"not a header name: {name!r}")
        out.append((name, header_safe(value, 900)))
    return out


def render(mail: Mail) -> bytes:
    """The message as it goes on the wire: CRLF line ends, lines of at most 78 octets.

    Written directly rather than through :class:`EmailMessage`, whose header
    folding costs milliseconds per message; a post copy to thousands of
    subscribers is rendered thousands of times. Values are checked exactly as
    for :func:`compose`; headers with text outside ASCII still go through the
    standard library's folding, which writes RFC 2047 encoded words.
    """
    pol = UTF8_POLICY if _needs_utf8(mail) else SMTP_POLICY
    lines = [_fold(name, value, pol) for name, value in _headers(mail)]
    lines.append("MIME-Version: 1.0\r\n")
    text = _qp_body(_normalise_text(mail.text))
    if mail.html is None:
        lines.append(_TEXT_HEADERS)
        lines.append(f"Content-Language: {header_safe(mail.language, 20)}\r\n\r\n")
        return "".join(lines).encode("utf-8") + text
    boundary = f"=_{secrets.token_hex(16)}"
    lines.append(
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n'
        f"Content-Language: {header_safe(mail.language, 20)}\r\n\r\n"
        f"--{boundary}\r\n{_TEXT_HEADERS}\r\n"
    )
    html_head = f"--{boundary}\r\n{_HTML_HEADERS}\r\n"
    return b"".join(
        [
            "".join(lines).encode("utf-8"),
            text,
            html_head.encode("ascii"),
            _qp_body(mail.html),
            f"--{boundary}--\r\n".encode("ascii"),
        ]
    )


_TEXT_HEADERS = (
    'Content-Type: text/plain; charset="utf-8"\r\n'
    "Content-Transfer-Encoding: quoted-printable\r\n"
)
_HTML_HEADERS = (
    'Content-Type: text/html; charset="utf-8"\r\n'
    "Content-Transfer-Encoding: quoted-printable\r\n"
)


def _qp_body(text: str) -> bytes:
    """Quoted-printable exactly as ``EmailMessage.set_content`` writes it, CRLF ends."""
    lines = text.encode("utf-8").splitlines()
    body = (b"\n".join(lines) + b"\n").decode("latin-1")
    encoded = quoprimime.body_encode(body, SMTP_POLICY.max_line_length or 78)
    return encoded.replace("\n", "\r\n").encode("ascii")


def encoded_size(text: str) -> int:
    """Bytes of *text* as a quoted-printable body on the wire (UTF-8, CRLF).

    Lines are encoded one by one, so a run of whole lines costs the same
    alone as inside a body: an accented letter is six bytes (``=C3=A9``).
    """
    return len(_qp_body(text))


def _fold(
    name: str, value: str | Address, pol: policy.EmailPolicy[EmailMessage]
) -> str:
    """``Name: value`` folded at spaces to 78 columns, with CRLF."""
    utf8 = pol is not SMTP_POLICY
    if isinstance(value, Address):
        if value.display_name.isascii() and not utf8:
            value = formataddr((value.display_name, value.addr_spec))
        else:
            return _fold_address(
                name, value.display_name, value.username, value.domain, utf8
            )
    if not value.isascii():
        return _fold_text(name, value, utf8)
    out: list[str] = []
    line = f"{name}:"
    for word in value.split(" "):
        if len(line) + 1 + len(word) > 78 and line != f"{name}:":
            out.append(line)
            line = ""
        line += " " + word
    out.append(line)
    return "\r\n".join(out) + "\r\n"


# The standard library's folding (RFC 2047 encoded words) costs about a
# millisecond a header, and a post's copies repeat the same few values outside
# ASCII ("Ana Ruiz vía ...", a subject with accents) thousands of times: each
# is folded once. Keyed by value, not by recipient: the caches stay small.
@functools.lru_cache(maxsize=256)
def _fold_address(
    name: str, display_name: str, username: str, domain: str, utf8: bool
) -> str:
    pol = UTF8_POLICY if utf8 else SMTP_POLICY
    # By its parts, as the caller's Address was made: an addr_spec is parsed
    # again, and a local part outside ASCII (RFC 6531) is refused there.
    value = Address(display_name=display_name, username=username, domain=domain)
    return str(pol.header_factory(name, value).fold(policy=pol))


@functools.lru_cache(maxsize=256)
def _fold_text(name: str, value: str, utf8: bool) -> str:
    pol = UTF8_POLICY if utf8 else SMTP_POLICY
    return str(pol.header_factory(name, value).fold(policy=pol))


def compose(mail: Mail) -> EmailMessage:
    """The message as an :class:`EmailMessage` (parsed from :func:`render`)."""
    pol = UTF8_POLICY if _needs_utf8(mail) else SMTP_POLICY
    msg = email.message_from_bytes(render(mail), policy=pol)
    assert isinstance(msg, EmailMessage)
    return msg


def _list_headers(lh: ListHeaders) -> list[tuple[str, str | Address]]:
    """RFC 2919 List-Id, RFC 2369 List-*, RFC 5064 Archived-At and RFC 8058 one-click unsubscribe."""
    list_id = message_id_safe(lh.list_id) or lh.list_id
    if not re.fullmatch(r"<[A-Za-z0-9.-]{1,250}>", list_id):
        raise ValueError(f"not a list id: {lh.list_id!r}")
    out: list[tuple[str, str | Address]] = [
        ("List-Id", f"{display_name_safe(lh.name)} {list_id}"),
        ("List-Post", f"<mailto:{address_safe(lh.post)}>" if lh.post else "NO"),
        ("List-Help", f"<mailto:{address_safe(lh.help)}?subject=help>"),
        ("List-Archive", f"<{_url_safe(lh.archive)}>"),
    ]
    if lh.archived_at:
        out.append(("Archived-At", f"<{_url_safe(lh.archived_at)}>"))
    mailto = f"<mailto:{address_safe(lh.unsubscribe_mailto)}?subject=unsubscribe>"
    if lh.unsubscribe_url:
        out.append(("List-Unsubscribe", f"<{_url_safe(lh.unsubscribe_url)}>, {mailto}"))
        out.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    else:
        out.append(("List-Unsubscribe", mailto))
    return out


def _url_safe(url: str) -> str:
    if not re.fullmatch(r"https?://[!#-;=?-~]{1,900}", url):  # no space, < or >
        raise ValueError(f"not a URL for a header: {url!r}")
    return url


def _normalise_text(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    # mailer.outbound.bulk.normalise_text must stay the same function.
    return "\n".join(line.rstrip() for line in lines).rstrip("\n") + "\n"


def message_bytes(msg: EmailMessage) -> bytes:
    """*msg* on the wire: CRLF line ends, no line over 998 octets (see :func:`render`)."""
    pol = msg.policy if isinstance(msg.policy, policy.EmailPolicy) else SMTP_POLICY
    return msg.as_bytes(policy=pol.clone(linesep="\r\n", max_line_length=78))
