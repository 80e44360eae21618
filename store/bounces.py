"""Bounce scores of subscriptions: raised by bounces, decayed by deliveries.

A permanent bounce counts :data:`HARD_POINTS`, a temporary one
:data:`SOFT_POINTS`; a subscription whose score reaches the threshold is
disabled. Every delivery the relay accepts halves the score, so an address that
recovered is soon clean again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from store.models import Subscriber, Subscription, SubscriptionStatus
from store.writes import changed_rows

HARD_POINTS = 2
SOFT_POINTS = 1


@dataclass(frozen=True)
class BounceResult:
    """What one counted bounce did to a subscription."""

    subscription_id: int
    discussion_id: int
    email: str
    score: int
    disabled: bool  # True only when this bounce disabled it


def threshold_points(bounces: int) -> int:
    """The score at which a subscription is disabled, for a threshold in hard bounces."""
    return bounces * HARD_POINTS


def record_bounce(
    session: Session,
    subscription_id: int,
    *,
    permanent: bool,
    threshold: int,
    now: datetime,
) -> BounceResult | None:
    """Add a bounce to a subscription's score; disable it at the threshold.

    Returns None when the subscription does not exist. The row is locked for the
    update on PostgreSQL, so two bounces processed at once both count.
    """
    stmt = (
        select(Subscription, Subscriber.email)
        .join(Subscriber, Subscription.subscriber_id == Subscriber.id)
        .where(Subscription.id == subscription_id)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Subscription)
    found = session.execute(stmt).first()
    if found is None:
        return None
    sub, email = found
    sub.bounce_score = (sub.bounce_score or 0) + (
        HARD_POINTS if permanent else SOFT_POINTS
    )
    sub.last_bounce_at = now
    disabled = False
    if sub.status is SubscriptionStatus.ACTIVE and sub.bounce_score >= threshold_points(
        threshold
    ):
        sub.status = SubscriptionStatus.DISABLED
        sub.ended_at = now
        sub.link_generation = (sub.link_generation or 0) + 1  # its links die
        disabled = True
    session.flush()
    return BounceResult(sub.id, sub.discussion_id, email, sub.bounce_score, disabled)


def with_bounces(session: Session, subscription_ids: Sequence[int]) -> set[int]:
    """Which of these subscriptions have a bounce score to decay (usually none)."""
    ids = [i for i in subscription_ids if i is not None]
    if not ids:
        return set()
    return set(session.connection().scalars(_WITH_BOUNCES, {"ids": ids}))


# Built once: the outbox worker asks at every claim.
_WITH_BOUNCES = select(Subscription.id).where(
    Subscription.id.in_(bindparam("ids", expanding=True)),
    Subscription.bounce_score > 0,
)


def decay_scores(session: Session | Connection, subscription_ids: Sequence[int]) -> int:
    """Halve the bounce score of subscriptions that just received a message."""
    ids = [i for i in subscription_ids if i is not None]
    if not ids:
        return 0
    stmt = (
        update(Subscription)
        .where(Subscription.id.in_(ids), Subscription.bounce_score > 0)
        .values(bounce_score=Subscription.bounce_score // 2)
    )
    connection = session if isinstance(session, Connection) else session.connection()
    return changed_rows(connection.execute(stmt))
