"""Spam complaints (RFC 5965 feedback reports): the complaining subscriber is unsubscribed.

Mailbox providers send these through their feedback loops when a person
presses "this is spam". Mailing them again hurts the service's reputation with
that provider, so the subscription ends at once, without a goodbye mail.

A report is easily forged and an unsubscribe is silent, so the subscriber is
found only through what we signed: the VERP token of the envelope recipient
(a report sent to our return path), of the returned message's envelope sender
(``Original-Mail-From``, ``Return-Path``), or of the one-click link in its
``List-Unsubscribe``. An address alone never unsubscribes anyone; such a report
is logged for the operator.
"""

from __future__ import annotations

import enum
import logging
import re
from typing import TYPE_CHECKING
from urllib.parse import unquote

from sqlalchemy.orm import Session

from mailer.core.addresses import AddressKind, Recipient, parse_recipient
from mailer.core.errors import BadToken, UnknownRecipient
from mailer.core.incoming import Incoming
from mailer.core.message import ComplaintReport
from mailer.links import subscription_from_unsubscribe_token, verp_value
from store.models import Subscription, SubscriptionStatus
from store.subscribers import end_subscription

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.bounces")

_UNSUBSCRIBE_PATH = re.compile(r"/unsubscribe/([^/?#\s>]{1,400})")
_ACTED_ON = frozenset({"abuse"})  # RFC 5965 3.5: what "this is spam" sends


class ComplaintOutcome(enum.StrEnum):
    """What handling one feedback report did (recorded as the message's kind: 20 characters)."""

    UNSUBSCRIBED = "complaint-left"
    ALREADY_ENDED = "complaint-again"
    UNMATCHED = "complaint-unmatched"
    NOT_A_COMPLAINT = "feedback-other"


def complained_subscription(
    key: bytes,
    domain: str,
    slugs: tuple[str, ...],
    recipient: Recipient,
    complaint: ComplaintReport,
) -> int | None:
    """The subscription a report names through one of our signed tokens, or None."""
    tokens: list[str] = []
    if recipient.kind is AddressKind.BOUNCES:
        tokens.append(recipient.detail)
    for address in complaint.return_paths:
        try:
            found = parse_recipient(address, domain, slugs)
        except UnknownRecipient:
            continue
        if found.kind is AddressKind.BOUNCES and found.detail:
            tokens.append(found.detail)
    for token in tokens:
        try:
            value = verp_value(key, token)
        except (BadToken, ValueError):
            continue
        if value.startswith("s") and value[1:].isdigit():
            return int(value[1:])
    for link in complaint.unsubscribe_links:
        m = _UNSUBSCRIBE_PATH.search(link)
        if m is None:
            continue
        try:
            return subscription_from_unsubscribe_token(key, unquote(m.group(1)))
        except (BadToken, ValueError):
            continue
    return None


def handle_complaint(
    runtime: Runtime, session: Session, incoming: Incoming
) -> ComplaintOutcome:
    """Unsubscribe the subscriber a spam complaint names; returns a :class:`ComplaintOutcome`."""
    parsed = incoming.parsed
    complaint = parsed.complaint
    assert complaint is not None
    if complaint.feedback_type not in _ACTED_ON:
        log.info(
            "feedback report inbound=%s message_id=%s type=%s: nothing to do",
            incoming.inbound_id,
            parsed.message_id,
            complaint.feedback_type,
        )
        return ComplaintOutcome.NOT_A_COMPLAINT
    settings = runtime.settings
    sub_id = complained_subscription(
        runtime.key,
        settings.service.domain,
        settings.slugs,
        incoming.recipient,
        complaint,
    )
    sub = session.get(Subscription, sub_id) if sub_id is not None else None
    if sub is None:
        log.warning(
            "spam complaint inbound=%s message_id=%s names no subscription of ours"
            " (recipients %s): nothing done",
            incoming.inbound_id,
            parsed.message_id,
            ", ".join(complaint.recipients) or "redacted",
        )
        return ComplaintOutcome.UNMATCHED
    if sub.status in (SubscriptionStatus.UNSUBSCRIBED, SubscriptionStatus.EXPIRED):
        return ComplaintOutcome.ALREADY_ENDED
    end_subscription(sub, SubscriptionStatus.UNSUBSCRIBED, runtime.clock())
    log.warning(
        "subscription %d unsubscribed after a spam complaint inbound=%s message_id=%s"
        " original=%s",
        sub.id,
        incoming.inbound_id,
        parsed.message_id,
        complaint.original_message_id,
    )
    return ComplaintOutcome.UNSUBSCRIBED
