"""Raw bytes of a received message to a clean, trustworthy ParsedMessage."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from mailer.core.classify import classify, parse_dsn
from mailer.core.dedupe import normalise_message_id
from mailer.core.errors import MalformedMessage
from mailer.core.headers import display_name_safe, header_safe
from mailer.core.message import ParsedMessage
from mailer.core.trim import trim_reply


def parse_message(
    raw: bytes, *, max_attachment_bytes: int = 2 * 1024 * 1024, own_domain: str = ""
) -> ParsedMessage:
    """Parse *raw* into a ParsedMessage; MalformedMessage only for non-messages."""
    if not raw.strip():
        raise MalformedMessage("empty message")
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    headers = tuple(
        (header_safe(k, 100), header_safe(str(v), 2000)) for k, v in msg.items()
    )
    name, addr = parseaddr(str(msg.get("From", "")))
    body = msg.get_body(("plain", "html"))
    text = body.get_content() if body is not None else ""
    html_part = msg.get_body(("html",))
    html = html_part.get_content() if html_part is not None else None
    subject = header_safe(str(msg.get("Subject", "")), 998)
    date = None
    try:
        date = parsedate_to_datetime(str(msg.get("Date", "")))
    except (TypeError, ValueError):
        pass
    bounce = None
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            bounce = parse_dsn(str(part.get_payload()))
    return ParsedMessage(
        message_id=normalise_message_id(str(msg.get("Message-ID", ""))),
        in_reply_to=tuple(
            x for x in [normalise_message_id(str(msg.get("In-Reply-To", "")))] if x
        ),
        references=(),
        from_address=addr,
        from_name=display_name_safe(name),
        reply_to=parseaddr(str(msg.get("Reply-To", "")))[1],
        sender=parseaddr(str(msg.get("Sender", "")))[1],
        to=tuple(a for _, a in getaddresses([str(v) for v in msg.get_all("To", [])])),
        cc=tuple(a for _, a in getaddresses([str(v) for v in msg.get_all("Cc", [])])),
        subject=subject,
        date=date,
        text=text,
        html=html,
        new_text=trim_reply(text),
        language="",
        attachments=(),
        headers=headers,
        defects=(),
        message_class=classify(
            headers,
            subject=subject,
            from_address=addr,
            bounce=bounce,
            own_domain=own_domain,
        ),
        bounce=bounce,
    )
