"""Raw bytes of a received message to a clean, trustworthy :class:`ParsedMessage`.

The standard library's modern policy parses; everything exposed is then made
safe here. Header values never hold CR, LF or another control character:
Python 3.11.7 still has CVE-2024-6923 (an encoded newline in a header
survives parsing), so every value passes :func:`header_safe`. Problems are
recorded as ``defects`` rather than raised; a message that passes a
:class:`ParseLimits` bound, or whose header section is not canonical (bare CR
or LF, two From, two Subject, two Message-ID), is marked ``suspicious`` so the
flow can hold it instead of trusting it. Only bytes that are not a message at
all raise :class:`MalformedMessage`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

from mailer.core.charsets import decode_header_text, has_surrogates, repair_mojibake
from mailer.core.classify import classify
from mailer.core.dedupe import normalise_message_id
from mailer.core.errors import MalformedMessage
from mailer.core.feedback import parse_feedback
from mailer.core.headers import display_name_safe, header_safe
from mailer.core.language import guess_language, language_from_header
from mailer.core.mailboxes import Mailbox, read_mailboxes
from mailer.core.message import (
    DEFAULT_LIMITS,
    MessageClass,
    ParsedMessage,
    ParseLimits,
)
from mailer.core.mime import Body, read_body
from mailer.core.openpgp import unwrap_clearsigned, without_encrypted
from mailer.core.policy import MAX_STRUCTURED_CHARS, PARSE_POLICY
from mailer.core.robots import read_robot
from mailer.core.trim import count_links, trim_reply

__all__ = ["count_links", "parse_message"]

_MESSAGE_FIELDS = frozenset(
    {
        "from", "sender", "to", "cc", "subject", "date", "message-id", "received",
        "return-path", "mime-version", "content-type", "reply-to", "in-reply-to",
        "references", "delivered-to",
    }
)  # fmt: skip
_SINGLE = ("from", "sender", "subject", "message-id", "date", "to", "cc", "reply-to",
           "in-reply-to", "references")  # fmt: skip
_IDENTITY = frozenset({"from", "sender", "subject", "message-id"})
_MSGID = re.compile(r"<[^<>\s]{1,400}>")
_ADDR_SPEC = re.compile(r"[^\s<>()\[\],;:\\\"@]{1,64}@[^\s<>()\[\],;:\\\"@]{1,255}")
_HEADER_VALUE_LIMIT = 10_000
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_READABLE_BYTE = re.compile(rb"[^\x00-\x20\x7f]")
_BARE_CR = re.compile(rb"\r(?!\n)")
_LINE_BREAKS = re.compile(r"[\r\n]+")


def _header_section(raw: bytes) -> bytes:
    crlf = raw.find(b"\r\n\r\n")
    lf = raw.find(b"\n\n")
    ends = [e for e in (crlf, lf) if e >= 0]
    return raw[: min(ends)] if ends else raw


def _canonical_defects(section: bytes) -> list[str]:
    """Bare CR or LF in the header section (issue 9, promise 4)."""
    found = []
    if _BARE_CR.search(section):
        found.append("bare CR in the header section")
    # Each CR LF holds one LF: fewer pairs than LFs is an LF without its CR
    # (two counts in C, where a look-behind pattern was tried at every byte).
    crlf = section.count(b"\r\n")
    if crlf and crlf != section.count(b"\n"):
        found.append("bare LF in the header section")
    if b"\x00" in section:
        found.append("NUL byte in the header section")
    return found


_FIRST_BOUNDARY = re.compile(
    rb"^--([0-9A-Za-z'()+_,./:=?-]{1,70})[ \t]*\r?$", re.MULTILINE
)
_MULTIPART_TYPE = re.compile(
    rb"^(Content-Type:[ \t]*multipart/[A-Za-z0-9.+-]+)", re.IGNORECASE | re.MULTILINE
)


def _with_guessed_boundary(msg: Message, raw: bytes, section: bytes) -> bytes | None:
    """*raw* with the boundary its top-level multipart forgot, read from the body; or None.

    A multipart without a boundary parameter is one string to the parser, MIME
    headers and all; its first ``--boundary`` line says what was meant
    (RFC 2046 section 5.1.1).
    """
    if msg.get_content_maintype() != "multipart" or msg.get_param("boundary"):
        return None
    body = raw[len(section) :]
    found = _FIRST_BOUNDARY.search(body[:4096].lstrip(b"\r\n"))
    if found is None or b'"' in found.group(1):
        return None
    boundary = found.group(1)
    fixed, count = _MULTIPART_TYPE.subn(
        lambda m: m.group(1) + b'; boundary="' + boundary + b'"', section, count=1
    )
    return fixed + body if count else None


def _as_body(raw: bytes) -> bytes:
    """*raw* behind an empty header section, so that all of it is read as the body."""
    newline = b"\r\n" if b"\r\n" in raw[:1000] else b"\n"
    for blank in (b"\r\n", b"\n"):
        if raw.startswith(blank):
            raw = raw[len(blank) :]
            break
    return newline + raw


def _parse_bytes(raw: bytes, headers_only: bool) -> EmailMessage:
    parsed = BytesParser(policy=PARSE_POLICY).parsebytes(raw, headersonly=headers_only)
    if not isinstance(
        parsed, EmailMessage
    ):  # pragma: no cover - the modern policy says so
        raise MalformedMessage("not an email message")
    return parsed


def _fix_surrogates(text: str) -> str:
    if has_surrogates(text):
        return decode_header_text(text)[0]
    return text


_ATOMS = r"[A-Za-z0-9'-]+(?:[ \t]+[A-Za-z0-9'-]+)*"
_LOCAL = r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_SPEC = rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})*"
_SIMPLE = re.compile(
    rf"[ \t]*(?:({_ATOMS})[ \t]*)?<({_SPEC})>[ \t]*|[ \t]*({_SPEC})[ \t]*"
)


def simple_address(flat: str) -> tuple[str, str] | None:
    """(display name, addr-spec) of a plain ``Name <a@b.c>`` or ``a@b.c``, else None.

    Most address headers are that simple; the modern parser gives the same
    pair for them at a tenth of the cost (a unit test compares the two).
    """
    m = _SIMPLE.fullmatch(flat)
    if m is None:
        return None
    name, angled, bare = m.groups()
    return (" ".join(name.split()) if name else ""), angled or bare


_ADDRESS_FIELDS = ("from", "to", "cc", "reply-to", "sender")


def _address_values(msg: Message) -> dict[str, list[str]]:
    """The raw values of each address header of *msg*, by lower-case name, in order."""
    found: dict[str, list[str]] = {name: [] for name in _ADDRESS_FIELDS}
    for key, value in msg.raw_items():  # one pass, not one a header name
        values = found.get(key.lower())
        if values is not None:
            values.append(value)
    return found


def _addresses(
    values: list[str], name: str, defects: list[str], reasons: list[str]
) -> list[tuple[str, str]]:
    """(display name, addr-spec) pairs of every *name* header (their raw *values*),
    domains lower-cased.

    Each address comes from the header's structure (:mod:`mailer.core.mailboxes`),
    never from decoded text. At most ``MAX_STRUCTURED_CHARS["address"]``
    characters of them are read; longer is a passed limit.
    """
    found: list[tuple[str, str]] = []
    budget = MAX_STRUCTURED_CHARS["address"]
    for value in values:
        if budget <= 0:
            break
        flat = _LINE_BREAKS.sub("", str(value))
        if len(flat) > budget:
            why = f"{name} headers over {MAX_STRUCTURED_CHARS['address']} characters"
            if why not in reasons:
                reasons.append(why)
            flat = flat[:budget].rpartition(",")[0] or flat[:budget]
        budget -= len(flat)
        simple = simple_address(flat)
        if simple is not None:
            boxes = [Mailbox(*simple)]
        else:  # from the header's structure; only display names are decoded
            boxes = read_mailboxes(flat)
        for box in boxes:
            address = _address_of(box.address)
            if address:
                found.append((_fix_surrogates(box.display_name), address))
            else:
                defects.append(f"unreadable address in {name}")
    return found


def _address_of(spec: str) -> str:
    """*spec* with its domain lower-cased, or "" when it is no address to act on.

    A local part holding a character whose lower case is ASCII (the Kelvin
    sign U+212A lower-cases to "k") is refused: addresses are compared in
    lower case, and such a one would then be someone else's.
    """
    spec = _fix_surrogates(spec).strip()
    local, at, domain = spec.rpartition("@")
    if not at or not _ADDR_SPEC.fullmatch(spec) or not spec.isprintable():
        return ""
    if not local.isascii() and any(
        not c.isascii() and c.lower().isascii() for c in local
    ):
        return ""
    return f"{local}@{domain.lower()}"


def _ids(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        for candidate in _MSGID.findall(value):
            mid = normalise_message_id(candidate)
            if mid and mid not in out:
                out.append(mid)
    return out


def _date(value: str | None, defects: list[str]) -> datetime | None:
    if not value:
        defects.append("no Date header")
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append("unreadable Date header")
        return None
    if parsed.tzinfo is None:  # "-0000": the zone is unknown, the time is UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


_DELIVERY_STATUS = re.compile(rb"message/(?:global-)?delivery-status", re.IGNORECASE)
_BOUNDARY = re.compile(rb"""boundary\s*=\s*["']?([^"';\r\n]{1,200})""", re.IGNORECASE)


def _mime_budget(raw: bytes, limits: ParseLimits) -> str | None:
    """Why the MIME structure is too big to parse at all, or None.

    The stdlib parser costs several milliseconds per part and per nesting
    level, so boundaries are counted in the raw bytes first: a few regex scans.
    """
    # A case-insensitive pattern has no literal to skip ahead to: it is tried
    # at every byte. Lower-cased once (as IGNORECASE on bytes, ASCII only), the
    # text says with two fast substring searches whether it is worth a scan.
    lowered = raw.lower()
    maybe_boundary = b"boundary" in lowered
    maybe_report = b"delivery-status" in lowered
    del lowered  # before the parser's own copies
    declared = _BOUNDARY.findall(raw) if maybe_boundary else []
    if len(declared) > limits.max_depth * 2:
        return f"more than {limits.max_depth * 2} multipart boundaries"
    parts = sum(raw.count(b"\n--" + b.strip()) for b in set(declared))
    if parts > limits.max_parts + limits.max_parts // 4:
        return f"more than {limits.max_parts} MIME parts"
    # The parser makes a message of every blank-line separated block of a
    # delivery report: a report of a million empty blocks took seconds and
    # hundreds of MB. An honest one has a block per recipient.
    if maybe_report and _DELIVERY_STATUS.search(raw):
        blocks = raw.count(b"\n\n") + raw.count(b"\n\r\n")
        if blocks > limits.max_parts * 10:
            return f"a delivery report of more than {limits.max_parts * 10} blocks"
    return None


def _read(raw: bytes, limits: ParseLimits) -> tuple[EmailMessage, list[str], bool]:
    """The parsed message, the limits passed, and whether only its headers were read.

    Only the headers are parsed when the body holds far more boundary lines
    than parts allowed: the stdlib parser costs milliseconds per part.
    """
    reasons: list[str] = []
    too_much = _mime_budget(raw, limits)
    headers_only = too_much is not None
    if too_much is not None:
        reasons.append(too_much)
    try:
        return _parse_bytes(raw, headers_only), reasons, headers_only
    except RecursionError:
        reasons.append("MIME structure too deep to read")
    except MalformedMessage:
        raise
    except Exception as exc:  # noqa: BLE001 - the stdlib parser should not raise; keep headers
        reasons.append(f"MIME structure unreadable ({type(exc).__name__})")
    try:
        return _parse_bytes(raw, True), reasons, True
    except Exception as exc:
        raise MalformedMessage(f"unreadable message ({type(exc).__name__})") from exc


def parse_message(
    raw: bytes,
    *,
    max_attachment_bytes: int = 2 * 1024 * 1024,
    own_domain: str = "",
    envelope_from: str | None = None,
    limits: ParseLimits = DEFAULT_LIMITS,
) -> ParsedMessage:
    """Parse *raw* into a :class:`ParsedMessage`, recording every problem as a defect.

    *own_domain* lets our own mail coming back be classed as a loop;
    *envelope_from*, when known, is the SMTP ``MAIL FROM`` ("" for a null
    sender). Raises :class:`MalformedMessage` only for bytes that are not an
    email message at all: nothing but white space and control characters. A message without a header
    section (a body alone) is read as a body and marked suspicious.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise MalformedMessage("not bytes")
    raw = bytes(raw)
    if not _READABLE_BYTE.search(raw):
        raise MalformedMessage(
            "empty message: nothing but white space and control characters"
        )
    defects: list[str] = []
    section = _header_section(raw)
    canonical = _canonical_defects(section)
    defects.extend(canonical)
    msg, reasons, headers_only = _read(raw, limits)
    repaired_raw = _with_guessed_boundary(msg, raw, section)
    if repaired_raw is not None:
        defects.append(
            "multipart without a boundary parameter; boundary read from the body"
        )
        msg, reasons, headers_only = _read(repaired_raw, limits)
    raw_items = list(msg.raw_items())
    names = [name.lower() for name, _ in raw_items]
    shape: list[str] = []  # why the message's shape is not to be trusted
    if not _MESSAGE_FIELDS.intersection(names):
        # A body alone, or one after a blank line: nothing is lost for its shape.
        shape.append("no header section: read as a body")
        defects[:] = [d for d in defects if d not in canonical]
        canonical = []
        msg, reasons, headers_only = _read(_as_body(raw), limits)
        raw_items, names = [], []
    if len(raw_items) > limits.max_headers:
        reasons.append(f"more than {limits.max_headers} header fields")
    if raw_items and len(section) > limits.max_header_bytes:
        reasons.append(f"header section over {limits.max_header_bytes} bytes")

    headers: list[tuple[str, str]] = []
    injected: list[str] = []
    full_values: dict[str, list[str]] = {}
    for name, value in raw_items[: limits.max_headers]:
        decoded, problems = decode_header_text(str(value))
        defects.extend(f"{header_safe(name, 60)}: {p}" for p in problems)
        key = header_safe(name, 100)
        if _CONTROL.search(decoded):  # an encoded CR LF (CVE-2024-6923) or worse
            injected.append(f"{key}: control characters neutralised")
        full_values.setdefault(key.lower(), []).append(decoded)
        headers.append((key, header_safe(decoded, _HEADER_VALUE_LIMIT)))

    defects.extend(injected)
    duplicated = [n for n in _SINGLE if names.count(n) > 1]
    defects.extend(
        f"duplicate {n} header ({names.count(n)} of them)" for n in duplicated
    )

    fields = _address_values(msg)
    from_pairs = _addresses(fields["from"], "from", defects, reasons)
    if "from" not in names:
        defects.append("no From header")
    elif not from_pairs:
        defects.append("unreadable From address")
    elif len(from_pairs) > 1:
        defects.append(f"From holds {len(from_pairs)} addresses")
    from_name, from_address = from_pairs[0] if from_pairs else ("", "")
    to = [a for _, a in _addresses(fields["to"], "to", defects, reasons)]
    cc = [a for _, a in _addresses(fields["cc"], "cc", defects, reasons)]
    if len(to) + len(cc) > limits.max_addresses:
        reasons.append(f"more than {limits.max_addresses} addresses in To and Cc")
    reply_to = [
        a for _, a in _addresses(fields["reply-to"], "reply-to", defects, reasons)
    ]
    sender = [a for _, a in _addresses(fields["sender"], "sender", defects, reasons)]

    mid_values = full_values.get("message-id", [])
    message_id = normalise_message_id(mid_values[0]) if mid_values else None
    if not mid_values:
        defects.append("no Message-ID header")
    elif message_id is None:
        defects.append("unusable Message-ID header")
    in_reply_to = _ids(full_values.get("in-reply-to", []))
    references = _ids(full_values.get("references", []))
    if len(references) > limits.max_references:
        defects.append(
            f"References holds {len(references)} ids; kept the last {limits.max_references}"
        )
        references = references[-limits.max_references :]
    subject_values = full_values.get("subject", [])
    subject = header_safe(subject_values[0], 998) if subject_values else ""
    date_values = full_values.get("date", [])
    date = _date(date_values[0] if date_values else None, defects)

    if headers_only:  # the body is not read at all: nothing of it is trusted
        body = Body(limits=limits, max_attachment_bytes=max_attachment_bytes)
    else:
        body = read_body(msg, limits=limits, max_attachment_bytes=max_attachment_bytes)
    defects.extend(body.defects)
    if b"\x00" in raw[len(section) :]:
        defects.append("NUL byte in the body; removed from the text")
    reasons.extend(r for r in body.limit_reasons if r not in reasons)
    text = body_text = body.text  # a join of the pieces: made once
    if len(text) > limits.max_text_chars:
        defects.append(f"text over {limits.max_text_chars} characters; cut")
    text, mojibake = _readable(text, limits, None)
    if mojibake:
        defects.append(mojibake)
    text, encrypted = without_encrypted(unwrap_clearsigned(text))
    if encrypted:
        defects.append("encrypted message: no readable text")
    # HTML marks its quoted history: the reply is trimmed without it.
    reply = body.reply_text if body.from_html else body_text
    if reply != body_text:
        reply = without_encrypted(
            unwrap_clearsigned(_readable(reply, limits, mojibake)[0])
        )[0]
    else:
        reply = text

    safe_name = display_name_safe(from_name, commas=True)
    new_text = trim_reply(reply, sender_name=safe_name)
    language = language_from_header(
        next((v for k, v in headers if k.lower() == "content-language"), None)
    ) or guess_language(new_text or text)

    message_class = classify(
        headers,
        subject=subject,
        from_address=from_address,
        envelope_from=envelope_from,
        has_delivery_report=bool(body.delivery_status),
        message_id=message_id,
        own_domain=own_domain.lower(),
        max_received=limits.max_received,
    )
    message_class, bounce = read_robot(
        None if headers_only else msg,
        message_class=message_class,
        headers=headers,
        subject=subject,
        from_name=from_name,
        from_address=from_address,
        null_sender=envelope_from == ""
        or any(
            k.lower() == "return-path" and v.replace(" ", "") == "<>"
            for k, v in headers
        ),
        text=text,
        delivery_status=body.delivery_status,
        returned_message_id=body.returned_message_id,
        own_domain=own_domain.lower(),
    )
    complaint = None
    if body.feedback is not None:  # a spam complaint is a robot, never a bounce count
        message_class, bounce = MessageClass.BOUNCE, None
        complaint = parse_feedback(
            body.feedback, body.returned_headers, body.returned_message_id
        )
    defects.extend(f"over limit: {r}" for r in reasons)
    defects.extend(shape)
    untrusted = [
        *reasons,
        *shape,
        *canonical,
        *injected,
        *(f"duplicate {n} header" for n in duplicated if n in _IDENTITY),
        *([f"From holds {len(from_pairs)} addresses"] if len(from_pairs) > 1 else []),
    ]
    return ParsedMessage(
        message_id=message_id,
        in_reply_to=tuple(in_reply_to),
        references=tuple(references),
        from_address=header_safe(from_address, 320),
        from_name=safe_name,
        reply_to=header_safe(reply_to[0], 320) if reply_to else "",
        sender=header_safe(sender[0], 320) if sender else "",
        to=tuple(header_safe(a, 320) for a in to),
        cc=tuple(header_safe(a, 320) for a in cc),
        subject=subject,
        date=date,
        text=text,
        html=body.html,
        new_text=new_text,
        language=language,
        attachments=tuple(body.attachments),
        headers=tuple(headers),
        defects=tuple(dict.fromkeys(header_safe(d, 300) for d in defects)),
        message_class=message_class,
        bounce=bounce,
        over_limits=bool(reasons),
        suspicious=bool(untrusted),
        limit_reasons=tuple(reasons),
        suspicious_reasons=tuple(untrusted),
        text_from_html=body.from_html,
        encrypted=encrypted or body.encrypted,
        complaint=complaint,
    )


def _readable(text: str, limits: ParseLimits, mojibake: str | None) -> tuple[str, str]:
    """*text* within the size limit and repaired when it is mojibake, and the
    defect that says so ("" when it is not). *mojibake* given, the repair is
    made only when the full text needed it."""
    text = text[: limits.max_text_chars]
    if mojibake == "":
        return text, ""
    repaired = repair_mojibake(text)
    return (repaired.text if repaired.defect else text), repaired.defect or ""
