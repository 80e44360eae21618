"""RFC 5965 feedback reports: a mailbox provider telling us a subscriber called our mail spam.

A report is ``multipart/report; report-type=feedback-report`` with a
human-readable part, a ``message/feedback-report`` part of fields
(``Feedback-Type``, ``Original-Mail-From``, ``Original-Rcpt-To``, ...) and the
message complained about (whole, or its headers only). Providers redact what
they like, usually the recipient's address, but our own envelope sender (a
VERP address with a signed token) and the signed one-click link in
``List-Unsubscribe`` tend to survive; the adapter trusts only those to name the
subscriber (a report is easily forged, an unsubscribe silent).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mailer.core.message import ComplaintReport

_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"@]{1,64}@[A-Za-z0-9.-]{1,253}")
_URL = re.compile(r"<(https?://[^>\s]{1,2000})>")


def _addresses(values: Sequence[str], *, lower: bool = True) -> tuple[str, ...]:
    """The addresses in *values*; a VERP token's case is kept (it is signed)."""
    found: list[str] = []
    for value in values:
        for m in _ADDRESS.finditer(value):
            address = m.group(0).strip(".")
            address = address.lower() if lower else address
            if address not in found:
                found.append(address)
    return tuple(found[:20])


def parse_feedback(
    fields: Sequence[tuple[str, str]],
    returned_headers: Sequence[tuple[str, str]],
    original_message_id: str | None = None,
) -> ComplaintReport:
    """The complaint a feedback report's *fields* and the returned message's headers make."""

    def values(pairs: Sequence[tuple[str, str]], name: str) -> list[str]:
        return [v for k, v in pairs if k.lower() == name]

    kind = next(iter(values(fields, "feedback-type")), "").strip().lower()
    recipients = _addresses(values(fields, "original-rcpt-to")) or _addresses(
        values(returned_headers, "to")
    )
    return_paths = _addresses(
        values(fields, "original-mail-from") + values(returned_headers, "return-path"),
        lower=False,
    )
    links = tuple(
        dict.fromkeys(
            m.group(1)
            for value in values(returned_headers, "list-unsubscribe")
            for m in _URL.finditer(value)
        )
    )[:10]
    return ComplaintReport(
        feedback_type=kind or "abuse",
        recipients=recipients,
        return_paths=return_paths,
        unsubscribe_links=links,
        original_message_id=original_message_id,
    )
