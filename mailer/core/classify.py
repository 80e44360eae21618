"""Telling a person's mail from auto-replies, bounces and our own mail coming back."""

from __future__ import annotations

from collections.abc import Sequence

from mailer.core.message import BounceReport, MessageClass


def _first(headers: Sequence[tuple[str, str]], name: str) -> str:
    for key, value in headers:
        if key.lower() == name:
            return value
    return ""


def parse_dsn(report_text: str) -> BounceReport | None:
    """The failed recipients and status of a message/delivery-status body, or None."""
    recipients: list[str] = []
    status = ""
    diagnostic = ""
    permanent = False
    for line in report_text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        value = value.strip()
        if key in ("final-recipient", "original-recipient"):
            addr = value.split(";", 1)[-1].strip()
            if addr and addr not in recipients and key == "final-recipient":
                recipients.append(addr)
        elif key == "status" and not status:
            status = value.split()[0] if value else ""
            permanent = permanent or status.startswith("5")
        elif key == "action" and value.lower().startswith("failed"):
            permanent = True
        elif key == "diagnostic-code" and not diagnostic:
            diagnostic = value
    if not recipients and not status:
        return None
    return BounceReport(tuple(recipients), permanent, status, diagnostic)


def classify(
    headers: Sequence[tuple[str, str]],
    *,
    subject: str = "",
    from_address: str = "",
    bounce: BounceReport | None = None,
    own_domain: str = "",
) -> MessageClass:
    """The class of a message from its headers, subject, sender and DSN report."""
    if bounce is not None:
        return MessageClass.BOUNCE
    local = from_address.split("@", 1)[0].lower()
    if local in ("mailer-daemon", "postmaster"):
        return MessageClass.BOUNCE
    auto = _first(headers, "auto-submitted").strip().lower()
    if auto and auto != "no":
        return MessageClass.AUTO_REPLY
    if _first(headers, "x-autoreply") or _first(headers, "x-autorespond"):
        return MessageClass.AUTO_REPLY
    if _first(headers, "precedence").strip().lower() in ("bulk", "junk", "list"):
        return MessageClass.AUTO_REPLY
    return MessageClass.NORMAL
