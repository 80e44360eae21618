"""The MIME tree of a parsed message to readable text, attachments and a DSN, within limits.

The walk is our own rather than ``Message.walk()`` so that it can stop at a
part count and a nesting depth, choose one rendition of each
multipart/alternative, and never descend into a delivery report's fields.
"""

from __future__ import annotations

import functools
import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.policy import EmailPolicy, Policy
from email.utils import collapse_rfc2231_value
from types import MappingProxyType

from mailer.core.charsets import decode_bytes, decode_header_text
from mailer.core.dedupe import normalise_message_id
from mailer.core.headers import header_safe
from mailer.core.message import ParsedAttachment, ParseLimits

# Signatures, and the public key Thunderbird attaches to signed mail by
# default: the machinery of signing, not what the sender wrote or shared.
_SIGNATURES = frozenset(
    {
        "application/pgp-signature",
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
        "application/pgp-keys",
    }
)
# S/MIME's "smime.p7m": the message itself, encrypted (enveloped-data) or
# signed in a wrapper only a PKCS #7 reader opens (signed-data): no text here.
_SMIME_WRAPPED = frozenset({"application/pkcs7-mime", "application/x-pkcs7-mime"})
_RETURNED = frozenset({"message/rfc822", "text/rfc822-headers", "message/global"})
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAX_PARAMS_CHARS = 2048  # as mailer.core.policy reads structured values
_LINE_BREAKS = re.compile(r"[\r\n]+")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f<>:\"|?*\u2028\u2029]")


@dataclass
class Body:
    """What the walk found: text pieces, HTML, attachments, the DSN fields and problems."""

    limits: ParseLimits
    max_attachment_bytes: int
    texts: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)  # texts less HTML's quoted history
    html: str | None = None
    from_html: bool = False
    encrypted: bool = False  # an encrypted part was met (and not read)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    delivery_status: list[list[tuple[str, str]]] = field(default_factory=list)
    returned_message_id: str | None = None
    returned_headers: list[tuple[str, str]] = field(default_factory=list)
    feedback: list[tuple[str, str]] | None = None  # RFC 5965 message/feedback-report
    defects: list[str] = field(default_factory=list)
    limit_reasons: list[str] = field(default_factory=list)
    parts: int = 0

    @property
    def text(self) -> str:
        """Every readable piece, in order, as one text."""
        return "\n\n".join(t.strip("\n") for t in self.texts if t.strip())

    @property
    def reply_text(self) -> str:
        """:attr:`text` without the quoted history and signatures HTML parts mark."""
        return "\n\n".join(t.strip("\n") for t in self.replies if t.strip())

    def over(self, reason: str) -> None:
        """Record that a limit was passed (once per reason)."""
        if reason not in self.limit_reasons:
            self.limit_reasons.append(reason)


@dataclass(frozen=True)
class _Info:
    """A part's Content-Type and Content-Disposition, read once."""

    ctype: str
    charset: str | None
    params: Mapping[str, str]  # read-only: one _Info serves every part like it
    disposition: str | None
    filename: str | None


def _info(part: Message) -> _Info:
    """Read the content headers through a compat32 view: the modern header objects
    cost half a millisecond each, and a hostile message may have hundreds of parts."""
    fields: list[tuple[str, str]] = []
    for key, value in part.raw_items():
        lower = key.lower()
        if lower in ("content-type", "content-disposition"):
            # Bounded: parameter parsing is quadratic in the number of them.
            fields.append((key, _LINE_BREAKS.sub("", str(value))[:_MAX_PARAMS_CHARS]))
    return _read_info(part.get_default_type(), tuple(fields))


# Remembered: most parts of most messages carry the same few values
# ('text/plain; charset="utf-8"'), and what they say depends on nothing else.
@functools.lru_cache(maxsize=256)
def _read_info(default_type: str, fields: tuple[tuple[str, str], ...]) -> _Info:
    view = Message()
    view.set_default_type(default_type)
    has_disposition = False
    for key, value in fields:
        view[key] = value
        has_disposition = has_disposition or key.lower() == "content-disposition"
    params: dict[str, str] = {}
    try:
        for key, value in view.get_params() or []:
            params[key.lower()] = collapse_rfc2231_value(value) if value else ""
        # Without a Content-Disposition or a name parameter there is no file
        # name and no disposition: most text parts, read without asking again.
        named = has_disposition or "name" in params
        filename = view.get_filename() if named else None
        disposition = view.get_content_disposition() if has_disposition else None
        ctype = view.get_content_type()
    except Exception:  # noqa: BLE001 - hostile parameters: plain text without a name
        return _Info("text/plain", None, MappingProxyType({}), None, None)
    charset = params.get("charset") or None
    return _Info(ctype, charset, MappingProxyType(params), disposition, filename)


def clean_text(text: str) -> str:
    """LF line ends and no control characters other than tab and newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _TEXT_CONTROL.sub("", text)


def unflow(text: str, delsp: bool) -> str:
    """Join the soft line breaks of RFC 3676 format=flowed text."""
    out: list[str] = []
    buffer = ""
    buffer_depth = -1
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        content = content.removeprefix(" ")  # space-stuffing
        if buffer and depth != buffer_depth:
            out.append(">" * buffer_depth + (" " if buffer_depth else "") + buffer)
            buffer = ""
        soft = content.endswith(" ") and content != "-- "
        if soft:
            buffer += content[:-1] if delsp else content
            buffer_depth = depth
            continue
        full = buffer + content
        buffer = ""
        out.append(">" * depth + (" " if depth and full else "") + full)
    if buffer:
        out.append(">" * buffer_depth + (" " if buffer_depth else "") + buffer)
    return "\n".join(out)


def _decoded_payload(part: Message, body: Body) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - the stdlib decoders on hostile input
        body.defects.append("a part could not be decoded")
        return b""
    if isinstance(data, bytes):
        return data
    return b""


def _part_text(part: Message, info: _Info, body: Body) -> str:
    data = _decoded_payload(part, body)
    charset = info.charset
    subtype = info.ctype.split("/", 1)[-1]
    if charset is None and subtype == "html":
        meta = re.search(
            rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_:.-]+)", data[:4096], re.IGNORECASE
        )
        if meta:
            charset = meta.group(1).decode("ascii")
    read = decode_bytes(data, charset)
    if read.defect:
        body.defects.append(read.defect)
    text = clean_text(read.text)
    if subtype == "plain" and info.params.get("format", "").lower() == "flowed":
        text = unflow(text, info.params.get("delsp", "").lower() == "yes")
    return text


def safe_filename(raw: str | None, content_type: str, index: int) -> str:
    """A file name that cannot climb directories or carry control characters."""
    name = ""
    if raw:
        decoded, _ = decode_header_text(str(raw))
        name = decoded.replace("\\", "/").rsplit("/", 1)[-1]
        name = " ".join(_UNSAFE_NAME.sub(" ", name).split()).strip(". ")
    if not name:
        ext = mimetypes.guess_extension(content_type) or ".bin"
        name = f"attachment-{index}{ext}"
    return header_safe(name, 200)


def _as_received(policy: Policy) -> Policy:
    """*policy*, writing header lines as they were read instead of refolding them."""
    if isinstance(policy, EmailPolicy):
        return policy.clone(refold_source="none")
    return policy


def _attachment(part: Message, info: _Info, body: Body) -> None:
    content_type = header_safe(info.ctype, 100)
    inner = part.get_payload(0) if part.is_multipart() else None
    if info.ctype == "message/rfc822":
        try:
            # Its header lines as they came: refolding them (the default) costs
            # the stdlib seconds on one long encoded header (found by fuzzing).
            data = (
                inner.as_bytes(policy=_as_received(inner.policy))
                if isinstance(inner, Message)
                else b""
            )
        except Exception:  # noqa: BLE001 - the generator on a hostile inner message
            data = b""
            body.defects.append("an attached message could not be serialised")
    else:
        data = _decoded_payload(part, body)
    raw_name = info.filename
    if raw_name is None and isinstance(inner, Message):
        raw_name = f"{inner.get('Subject') or 'message'}.eml"
    name = safe_filename(raw_name, content_type, len(body.attachments) + 1)
    kept = len(data) <= body.max_attachment_bytes
    if not kept:
        body.defects.append(f"attachment {name!r} ({len(data)} bytes) over the limit")
    cid = next((str(v) for k, v in part.raw_items() if k.lower() == "content-id"), "")
    body.attachments.append(
        ParsedAttachment(
            filename=name,
            content_type=content_type,
            size=len(data),
            content=data if kept else b"",
            kept=kept,
            inline=info.disposition == "inline",
            # Apple Mail's Content-Id is a bare UUID, not a msg-id (RFC 2392).
            content_id=(normalise_message_id(cid) or header_safe(cid.strip(), 200))
            if cid
            else "",
        )
    )


def _delivery_status(part: Message, body: Body) -> None:
    payload = part.get_payload()
    blocks = payload if isinstance(payload, list) else []
    for block in blocks:
        if isinstance(block, Message):
            body.delivery_status.append(
                [(k, decode_header_text(str(v))[0]) for k, v in block.raw_items()]
            )


def _feedback(part: Message, body: Body) -> None:
    """The fields of an RFC 5965 report (the stdlib reads them as a message's headers)."""
    payload = part.get_payload()
    block = payload[0] if isinstance(payload, list) and payload else None
    if isinstance(block, Message) and body.feedback is None:
        body.feedback = [
            (k, decode_header_text(str(v))[0]) for k, v in list(block.raw_items())[:100]
        ]


_RETURNED_FIELDS = frozenset(
    {"message-id", "return-path", "to", "list-unsubscribe", "list-id"}
)


def _returned(part: Message, info: _Info, body: Body) -> None:
    if body.returned_message_id is not None:
        return
    inner: object = None
    if info.ctype == "text/rfc822-headers":
        data = _decoded_payload(part, body)
        head = re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0][:100_000]
        for m in re.finditer(rb"(?im)^([a-z-]+):[ \t]*(.*(?:\r?\n[ \t].*)*)", head):
            name = m.group(1).decode("ascii").lower()
            if name in _RETURNED_FIELDS:
                value = m.group(2).decode("utf-8", "replace")
                body.returned_headers.append((name, " ".join(value.split())))
        mid = next((v for k, v in body.returned_headers if k == "message-id"), "")
        body.returned_message_id = normalise_message_id(mid) if mid else None
        return
    if part.is_multipart():
        inner = part.get_payload(0)
    if isinstance(inner, Message):
        for key, value in list(inner.raw_items())[:500]:
            if key.lower() in _RETURNED_FIELDS:
                text = " ".join(decode_header_text(str(value))[0].split())
                body.returned_headers.append((key.lower(), text))
        body.returned_message_id = normalise_message_id(
            str(inner.get("Message-ID", ""))
        )


_DEFECTS = {
    "StartBoundaryNotFoundDefect": "multipart boundary not found in the body",
    "CloseBoundaryNotFoundDefect": "multipart closing boundary missing",
    "FirstHeaderLineIsContinuationDefect": "first header line is a continuation line",
    "MisplacedEnvelopeHeaderDefect": "misplaced envelope From_ line",
    "MissingHeaderBodySeparatorDefect": "a header line without a colon; the body starts early",
    "MultipartInvariantViolationDefect": "multipart content type without parts",
    "NoBoundaryInMultipartDefect": "multipart without a boundary parameter",
    "InvalidMultipartContentTransferEncodingDefect": "multipart with a transfer encoding",
    "InvalidBase64PaddingDefect": "invalid base64 padding",
    "InvalidBase64CharactersDefect": "invalid base64 characters",
    "InvalidBase64LengthDefect": "invalid base64 length",
}


def describe_defect(defect: object) -> str:
    """A readable sentence for one of the standard library's parse defects."""
    name = type(defect).__name__
    return _DEFECTS.get(name, f"{name}: {defect}")


def _note_defects(part: Message, body: Body) -> None:
    for defect in getattr(part, "defects", ())[:20]:
        if type(defect).__name__ != "UndecodableBytesDefect":  # read by charsets
            body.defects.append(describe_defect(defect))


def _walk(
    part: Message, body: Body, depth: int, in_report: bool
) -> list[tuple[str, str]]:
    """The readable pieces of *part* as (kind, text); attachments go to *body*."""
    try:
        return _visit(part, body, depth, in_report)
    finally:
        _note_defects(part, body)


def _visit(
    part: Message, body: Body, depth: int, in_report: bool
) -> list[tuple[str, str]]:
    body.parts += 1
    if body.parts > body.limits.max_parts:
        body.over(f"more than {body.limits.max_parts} MIME parts")
        return []
    if depth > body.limits.max_depth:
        body.over(f"MIME parts nested deeper than {body.limits.max_depth}")
        return []
    info = _info(part)
    ctype = info.ctype
    if ctype.startswith("multipart/") and not part.is_multipart():
        # No usable boundary: the stdlib keeps the body as one string; read it as text.
        return [("plain", _part_text(part, info, body))]
    if part.is_multipart() and ctype.startswith("multipart/"):
        children = [c for c in part.get_payload() if isinstance(c, Message)]
        if ctype == "multipart/alternative":
            return _alternative(children, body, depth)
        if ctype == "multipart/encrypted":
            body.defects.append("encrypted message: no readable text")
            body.encrypted = True
            return []
        report = ctype == "multipart/report"
        pieces: list[tuple[str, str]] = []
        for child in children:
            pieces.extend(_walk(child, body, depth + 1, report))
        return pieces
    if ctype == "message/delivery-status":
        _delivery_status(part, body)
        return []
    if in_report and ctype == "message/feedback-report":
        _feedback(part, body)
        return []
    if in_report and ctype in _RETURNED:
        _returned(part, info, body)
        return []
    if ctype in _SIGNATURES:
        return []
    if ctype in _SMIME_WRAPPED:  # S/MIME encrypted, or signed inside the wrapper
        body.defects.append("S/MIME encrypted or wrapped message: no readable text")
        body.encrypted = True
        return []
    if (
        ctype in ("text/plain", "text/html")
        and not info.filename
        and info.disposition != "attachment"
    ):
        text = _part_text(part, info, body)
        if ctype == "text/html":
            if body.html is None:
                body.html = text
            return [("html", text)]
        return [("plain", text)]
    _attachment(part, info, body)
    return []


# What a sender writes into a text/plain part it does not mean to be read:
# "This is an HTML message", "Your mail client does not support HTML"...
_STUB = re.compile(
    r"\bhtml\b.{0,80}\b(?:message|mail|format|version|view|client|program|reader"
    r"|support|display|browser|enable)|\b(?:view|read|display|open|support)\w*\b"
    r".{0,80}\bhtml\b",
    re.IGNORECASE | re.DOTALL,
)
_WORD = re.compile(r"[^\W_]")


def _says_something(text: str, has_html: bool) -> bool:
    """True when a text/plain rendition holds words that are not a stub."""
    if not _WORD.search(text):  # empty, blank, invisible characters, "&nbsp;"?
        return False
    if has_html and len(text) <= 300 and _STUB.search(text):
        return False
    return _WORD.search(text.replace("&nbsp;", "")) is not None


def _alternative(
    children: list[Message], body: Body, depth: int
) -> list[tuple[str, str]]:
    """One rendition: plain text when it says something (not a stub that points
    to the HTML), else HTML."""
    renditions = [_walk(child, body, depth + 1, False) for child in children]
    has_html = any(k == "html" and t.strip() for p in renditions for k, t in p)
    for pieces in renditions:
        if any(k == "plain" and _says_something(t, has_html) for k, t in pieces):
            return pieces
    for pieces in renditions:
        if any(k == "html" and t.strip() for k, t in pieces):
            return pieces
    for pieces in renditions:
        if any(k == "plain" and t.strip() for k, t in pieces):
            return pieces
    return next((p for p in renditions if p), [])


def read_body(
    msg: EmailMessage, *, limits: ParseLimits, max_attachment_bytes: int
) -> Body:
    """Walk *msg* within *limits*: readable text, HTML, attachments, DSN fields."""
    body = Body(limits=limits, max_attachment_bytes=max_attachment_bytes)
    try:
        pieces = _walk(msg, body, 0, False)
    except RecursionError:
        body.over("MIME structure too deep to read")
        pieces = []
    for kind, text in pieces:
        if kind == "html":
            # lxml and inscriptis (some 6 MB) only once a message has HTML to read
            from mailer.core.html_text import read_html

            body.from_html = True
            read = read_html(text)
            body.texts.append(clean_text(read.text))
            body.replies.append(clean_text(read.reply))
        else:
            body.texts.append(text)
            body.replies.append(text)
    return body
