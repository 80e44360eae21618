"""Bounces: mail to a ``-bounces+<token>@`` address raises that subscription's score.

The VERP token (``mailer.links.verp_address``) names the subscription the
failed message was for, so no guessing from the bounce's text is needed. A
permanent failure counts fully, a delay notice half; at ``outbox.bounce_threshold``
the subscription is disabled and each moderator gets one notice. A forged or
unknown token changes nothing. A bounce is never answered.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailer.config.settings import Settings
from mailer.core.errors import BadToken
from mailer.core.incoming import Incoming
from mailer.links import verp_value
from mailer.outbound.complaints import ComplaintOutcome, handle_complaint
from mailer.outbound.mailing import Outgoing, queue_mail
from store.bounces import HARD_POINTS, BounceResult, record_bounce
from store.models import Discussion as DiscussionRow

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.bounces")


class BounceOutcome(enum.StrEnum):
    """What handling one bounce did (the inbound pipeline records it as the kind)."""

    COUNTED = "bounce-counted"
    DISABLED = "bounce-disabled"
    FORGED = "bounce-forged"
    UNKNOWN = "bounce-unknown-subscription"
    NOT_SUBSCRIBER = "bounce-not-subscriber"
    AUTO_REPLY = "bounce-auto-reply"


def handle_bounce_mail(
    runtime: Runtime, session: Session, incoming: Incoming
) -> BounceOutcome | ComplaintOutcome:
    """Count the bounce that reached a VERP address; returns a :class:`BounceOutcome`.

    A spam complaint, to whichever address it came, unsubscribes instead
    (:mod:`mailer.outbound.complaints`).
    """
    parsed = incoming.parsed
    if parsed.complaint is not None:
        return handle_complaint(runtime, session, incoming)
    token = incoming.recipient.detail
    try:
        value = verp_value(runtime.key, token)
    except (BadToken, ValueError):
        log.warning(
            "bounce ignored inbound=%s message_id=%s: forged or unknown token %r",
            incoming.inbound_id,
            parsed.message_id,
            token[:80],
        )
        return BounceOutcome.FORGED
    if getattr(parsed.message_class, "value", "") == "auto-reply":
        # RFC 3834 auto-responders answer the return path; an absence notice
        # says nothing about the address working or not.
        log.info(
            "auto-reply to return path ignored inbound=%s message_id=%s",
            incoming.inbound_id,
            parsed.message_id,
        )
        return BounceOutcome.AUTO_REPLY
    report = parsed.bounce
    if not value.startswith("s"):
        log.info(
            "bounce for a non-subscriber message inbound=%s token=%s status=%s",
            incoming.inbound_id,
            value,
            report.status if report else "-",
        )
        return BounceOutcome.NOT_SUBSCRIBER
    # A bounce without a DSN report ("plain", from old MTAs) is a failure notice.
    permanent = report.permanent if report is not None else True
    reason = (
        f"{report.status} {report.diagnostic}".strip()
        if report is not None
        else "non-DSN bounce"
    )
    result = count_bounce(
        session,
        runtime.settings,
        runtime.key,
        int(value[1:]),
        permanent=permanent,
        reason=reason,
        now=runtime.clock(),
    )
    if result is None:
        log.warning(
            "bounce for unknown subscription %s inbound=%s", value, incoming.inbound_id
        )
        return BounceOutcome.UNKNOWN
    return BounceOutcome.DISABLED if result.disabled else BounceOutcome.COUNTED


def count_bounce(
    session: Session,
    settings: Settings,
    key: bytes,
    subscription_id: int,
    *,
    permanent: bool,
    reason: str,
    now: datetime,
) -> BounceResult | None:
    """Raise a subscription's bounce score; when that disables it, tell the moderators."""
    result = record_bounce(
        session,
        subscription_id,
        permanent=permanent,
        threshold=settings.outbox.bounce_threshold,
        now=now,
    )
    if result is None:
        return None
    log.info(
        "bounce counted subscription=%d to=%s permanent=%s score=%d reason=%r",
        result.subscription_id,
        result.email,
        permanent,
        result.score,
        reason[:200],
    )
    if result.disabled:
        log.warning(
            "subscription %d (%s) disabled after bounces",
            result.subscription_id,
            result.email,
        )
        _tell_moderators(session, settings, key, result, reason, now)
    return result


def _tell_moderators(
    session: Session,
    settings: Settings,
    key: bytes,
    result: BounceResult,
    reason: str,
    now: datetime,
) -> None:
    row = session.get(DiscussionRow, result.discussion_id)
    discussion = settings.discussion(row.slug) if row is not None else None
    if discussion is None:
        return
    for moderator in discussion.moderators:
        queue_mail(
            session,
            settings,
            key,
            discussion,
            result.discussion_id,
            Outgoing(
                template="bounce-notice",
                language=moderator.language,
                to_address=moderator.email,
                to_name=moderator.name,
                dedupe_key=(
                    f"bounce-disabled:{result.subscription_id}:"
                    f"{now:%Y%m%dT%H%M%S}:{moderator.email}"
                ),
                kind="bounce-notice",
                context={
                    "subscriber": result.email,
                    "score": f"{result.score / HARD_POINTS:g}",
                    "threshold": settings.outbox.bounce_threshold,
                    "reason": reason[:300],
                },
                auto_submitted="auto-generated",
            ),
            now,
        )
