"""Confirming with a token, and leaving: by a confirmed mail request or the signed link.

Leaving by mail takes a round trip to the subscribed address, because a From
header proves nothing and an unsubscribe stops all mail (its victim might never
notice). The signed link in every list mail (RFC 8058 one-click) unsubscribes
at once: only the subscriber's mailbox ever received it.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailer.core.choices import UnsubscribeVia
from mailer.core.errors import BadToken
from mailer.core.message import ParsedMessage
from mailer.core.tokens import hash_token
from mailer.subscriptions.notices import (
    Notice,
    Place,
    TokenNotice,
    place_for,
    queue_notice,
    queue_token_notice,
    queue_welcome,
)
from mailer.subscriptions.signup import RESEND_AFTER
from store.models import (
    Discussion,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Token,
    TokenPurpose,
)
from store.subscribers import activate, end_subscription
from store.tokens import (
    latest_live_token,
    token_by_hash,
    token_payload,
    use_token,
)

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.subscribers")


class ConfirmOutcome(enum.Enum):
    """What a confirmation token did."""

    SUBSCRIBED = "subscribed"
    ALREADY_ACTIVE = "already-active"
    UNSUBSCRIBED = "unsubscribed"
    ALREADY_UNSUBSCRIBED = "already-unsubscribed"


@dataclass(frozen=True)
class ConfirmResult:
    """The outcome of a confirmation, with what a page needs to say it."""

    outcome: ConfirmOutcome
    subscription_id: int
    slug: str
    language: str


class UnsubscribeOutcome(enum.Enum):
    """What an unsubscribe did."""

    UNSUBSCRIBED = "unsubscribed"
    ALREADY_ENDED = "already-ended"
    NOT_FOUND = "not-found"
    LINK_SPENT = "link-spent"  # the subscription ended and began anew since


def ask_unsubscribe(
    session: Session,
    runtime: Runtime,
    place: Place,
    sub: Subscription,
    person: Subscriber,
    now: datetime,
    answering: ParsedMessage | None = None,
) -> bool:
    """Mail the subscribed address a token that confirms leaving; False if one went out today."""
    live = latest_live_token(
        session, place.row_id, person.email, TokenPurpose.UNSUBSCRIBE, now
    )
    if live is not None and now - live.created_at < RESEND_AFTER:
        return False
    queue_token_notice(
        session,
        runtime,
        place,
        TokenNotice(
            sub=sub,
            person=person,
            purpose=TokenPurpose.UNSUBSCRIBE,
            template="confirm-unsubscribe",
            key_prefix="confirm",
            answering=answering,
        ),
        now,
    )
    return True


def confirm_token(
    session: Session, runtime: Runtime, token: str, now: datetime
) -> ConfirmResult:
    """Use a subscribe or unsubscribe token from a confirmation link, once.

    Raises :class:`BadToken` (a ValueError) when the token is unknown, used,
    expired or not a subscription token.
    """
    row = token_by_hash(session, hash_token(token))
    if row is None or row.purpose not in (
        TokenPurpose.SUBSCRIBE,
        TokenPurpose.UNSUBSCRIBE,
    ):
        raise BadToken(token, "unknown token")
    if row.used_at is not None:
        raise BadToken(token, "already used")
    if row.expires_at <= now:
        raise BadToken(token, "expired")
    return apply_token(session, runtime, row, now)


def apply_token(
    session: Session,
    runtime: Runtime,
    row: Token,
    now: datetime,
    answering: ParsedMessage | None = None,
) -> ConfirmResult:
    """Claim a subscription token and do what it says; BadToken if another use won."""
    if not use_token(session, row.id, now):
        raise BadToken("", "already used or expired")
    sub = _subscription_of_token(session, row)
    if sub is None:
        raise BadToken("", "the subscription is gone")
    person = session.get(Subscriber, sub.subscriber_id)
    discussion = session.get(Discussion, sub.discussion_id)
    assert person is not None and discussion is not None
    place = place_for(session, runtime, discussion.slug)

    def result(outcome: ConfirmOutcome) -> ConfirmResult:
        log.info(
            "token %s: %s discussion=%s address=%s",
            row.purpose,
            outcome.value,
            place.slug,
            person.email,
        )
        return ConfirmResult(outcome, sub.id, place.slug, sub.language)

    if row.purpose == TokenPurpose.SUBSCRIBE:
        if sub.status is SubscriptionStatus.ACTIVE:
            return result(ConfirmOutcome.ALREADY_ACTIVE)
        activate(sub, now)
        queue_welcome(
            session,
            runtime,
            place,
            sub=sub,
            person=person,
            key=f"welcome:{sub.id}:{row.token_hash[:16]}",
            now=now,
            answering=answering,
        )
        return result(ConfirmOutcome.SUBSCRIBED)
    if sub.status is not SubscriptionStatus.ACTIVE:
        return result(ConfirmOutcome.ALREADY_UNSUBSCRIBED)
    end_subscription(sub, SubscriptionStatus.UNSUBSCRIBED, now)
    queue_goodbye(session, runtime, place, sub, person, now, answering)
    return result(ConfirmOutcome.UNSUBSCRIBED)


def _subscription_of_token(session: Session, row: Token) -> Subscription | None:
    """The subscription a token was made for: its discussion and its address, or None."""
    found = token_payload(row).get("subscription")
    sub = session.get(Subscription, found) if isinstance(found, int) else None
    if sub is None or sub.discussion_id != row.discussion_id:
        return None
    person = session.get(Subscriber, sub.subscriber_id)
    if person is None or person.email != row.email:
        return None
    return sub


def queue_goodbye(
    session: Session,
    runtime: Runtime,
    place: Place,
    sub: Subscription,
    person: Subscriber,
    now: datetime,
    answering: ParsedMessage | None = None,
) -> bool:
    """Say goodbye, and how to come back."""
    return queue_notice(
        session,
        runtime,
        place,
        Notice(
            template="goodbye",
            key=f"goodbye:{sub.id}:{int(now.timestamp())}",
            to=person.email,
            to_name=person.name,
            language=sub.language,
            subscription_id=sub.id,
            answering=answering,
        ),
        now,
    )


def unsubscribe_subscription(
    session: Session,
    runtime: Runtime,
    subscription_id: int,
    now: datetime,
    via: UnsubscribeVia,
    generation: int | None = None,
) -> UnsubscribeOutcome:
    """Unsubscribe at once: for the signed link (``via`` ONE_CLICK or WEB) and the CLI.

    A goodbye mail follows a click on the web page; not an RFC 8058 one-click
    POST (the mail client did it, perhaps without asking) nor the operator's CLI.
    With *generation* (a link's), a subscription that has ended and begun
    anew since the link was made is left alone: checked here, with the row
    locked, not only when the link was read.
    """
    sub = session.get(Subscription, subscription_id, with_for_update=True)
    if sub is None:
        return UnsubscribeOutcome.NOT_FOUND
    if sub.status in (SubscriptionStatus.UNSUBSCRIBED, SubscriptionStatus.EXPIRED):
        return UnsubscribeOutcome.ALREADY_ENDED
    if generation is not None and sub.link_generation != generation:
        return UnsubscribeOutcome.LINK_SPENT
    was_active = sub.status is SubscriptionStatus.ACTIVE
    end_subscription(sub, SubscriptionStatus.UNSUBSCRIBED, now)
    person = session.get(Subscriber, sub.subscriber_id)
    discussion = session.get(Discussion, sub.discussion_id)
    assert person is not None and discussion is not None
    log.info(
        "subscription unsubscribed discussion=%s address=%s via=%s",
        discussion.slug,
        person.email,
        via,
    )
    if was_active and via is UnsubscribeVia.WEB:
        place = place_for(session, runtime, discussion.slug)
        queue_goodbye(session, runtime, place, sub, person, now)
    return UnsubscribeOutcome.UNSUBSCRIBED
