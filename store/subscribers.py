"""Subscribers and their subscriptions (the one-time tokens that confirm them: :mod:`store.tokens`).

Addresses arrive here already checked and normalised (lowercase); this module
only stores and finds. Creating a subscriber or a subscription is an INSERT
... ON CONFLICT DO NOTHING, so two requests racing for one address (mail and
web at once, two nodes) both succeed and one row remains.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session

from store.models import (
    DeliveryMode,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Token,
    TokenPurpose,
)
from store.writes import changed_rows, conflict_insert


def _insert_ignoring_duplicates(
    session: Session, model: type[Any], values: Mapping[str, Any], keys: list[str]
) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when the row is new."""
    stmt = (
        conflict_insert(session, model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=keys)
        .returning(model.id)
    )
    return session.execute(stmt).first() is not None


def subscriber_by_email(session: Session, email: str) -> Subscriber | None:
    """The subscriber with the normalised address *email*, or None."""
    return session.scalar(select(Subscriber).where(Subscriber.email == email))


def ensure_subscriber(
    session: Session,
    email: str,
    now: datetime,
    *,
    name: str = "",
    organisation: str = "",
    constituency: str = "",
) -> Subscriber:
    """The subscriber for *email*, created when new; empty profile fields are filled in.

    A known name, organisation or constituency is never overwritten: a second
    sign-up (perhaps forged) cannot rename anyone.
    """
    _insert_ignoring_duplicates(
        session,
        Subscriber,
        {
            "email": email,
            "name": name,
            "organisation": organisation,
            "constituency": constituency,
            "created_at": now,
        },
        ["email"],
    )
    person = subscriber_by_email(session, email)
    assert person is not None
    if name and not person.name:
        person.name = name
    if organisation and not person.organisation:
        person.organisation = organisation
    if constituency and not person.constituency:
        person.constituency = constituency
    return person


def subscription_of(
    session: Session, discussion_id: int, subscriber_id: int
) -> Subscription | None:
    """The subscription of one subscriber to one discussion, or None."""
    return session.scalar(
        select(Subscription).where(
            Subscription.discussion_id == discussion_id,
            Subscription.subscriber_id == subscriber_id,
        )
    )


def subscription_by_email(
    session: Session, discussion_id: int, email: str
) -> Subscription | None:
    """The subscription of address *email* to one discussion, or None."""
    return session.scalar(
        select(Subscription)
        .join(Subscriber, Subscription.subscriber_id == Subscriber.id)
        .where(Subscription.discussion_id == discussion_id, Subscriber.email == email)
    )


def ensure_subscription(
    session: Session,
    discussion_id: int,
    subscriber_id: int,
    now: datetime,
    *,
    language: str,
    mode: DeliveryMode,
    source: str,
    status: SubscriptionStatus = SubscriptionStatus.PENDING,
) -> tuple[Subscription, bool]:
    """The subscription of a subscriber to a discussion, and whether it was created now."""
    existing = subscription_of(session, discussion_id, subscriber_id)
    if existing is not None:
        return existing, False
    new = _insert_ignoring_duplicates(
        session,
        Subscription,
        {
            "discussion_id": discussion_id,
            "subscriber_id": subscriber_id,
            "status": status,
            "mode": mode,
            "language": language,
            "source": source,
            "created_at": now,
            "confirmed_at": now if status is SubscriptionStatus.ACTIVE else None,
            "bounce_score": 0,
        },
        ["discussion_id", "subscriber_id"],
    )
    created = subscription_of(session, discussion_id, subscriber_id)
    assert created is not None
    return created, new


@dataclass(frozen=True)
class Person:
    """One address to sign up in bulk, with the profile to give a new subscriber."""

    email: str
    name: str = ""
    organisation: str = ""
    constituency: str = ""
    language: str = "en"
    mode: DeliveryMode = DeliveryMode.EACH


def ensure_many(
    session: Session,
    discussion_id: int,
    people: Sequence[Person],
    now: datetime,
    *,
    source: str,
    status: SubscriptionStatus,
) -> dict[str, tuple[Subscriber, Subscription, bool]]:
    """:func:`ensure_subscriber` and :func:`ensure_subscription` for many, in four statements.

    Returns, by address, the subscriber, the subscription and whether the
    subscription was created now. Empty profile fields are filled in, as one
    by one.
    """
    if not people:
        return {}
    session.flush()
    session.execute(
        conflict_insert(session, Subscriber).on_conflict_do_nothing(
            index_elements=["email"]
        ),
        [
            {
                "email": p.email,
                "name": p.name,
                "organisation": p.organisation,
                "constituency": p.constituency,
                "created_at": now,
            }
            for p in people
        ],
    )
    found = {
        person.email: person
        for person in session.scalars(
            select(Subscriber).where(Subscriber.email.in_([p.email for p in people]))
        )
    }
    for p in people:
        person = found[p.email]
        for column in ("name", "organisation", "constituency"):
            if getattr(p, column) and not getattr(person, column):
                setattr(person, column, getattr(p, column))
    created = set(
        session.scalars(
            conflict_insert(session, Subscription)
            .on_conflict_do_nothing(index_elements=["discussion_id", "subscriber_id"])
            .returning(Subscription.subscriber_id),
            [
                {
                    "discussion_id": discussion_id,
                    "subscriber_id": found[p.email].id,
                    "status": status,
                    "mode": p.mode,
                    "language": p.language,
                    "source": source,
                    "created_at": now,
                    "confirmed_at": now
                    if status is SubscriptionStatus.ACTIVE
                    else None,
                    "bounce_score": 0,
                }
                for p in people
            ],
        )
    )
    subs = {
        sub.subscriber_id: sub
        for sub in session.scalars(
            select(Subscription).where(
                Subscription.discussion_id == discussion_id,
                Subscription.subscriber_id.in_([s.id for s in found.values()]),
            )
        )
    }
    return {
        p.email: (
            found[p.email],
            subs[found[p.email].id],
            found[p.email].id in created,
        )
        for p in people
    }


def activate(subscription: Subscription, now: datetime) -> None:
    """Make a subscription ACTIVE (confirmed now); bounces counted before are forgotten."""
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.link_generation = (subscription.link_generation or 0) + 1
    subscription.confirmed_at = now
    subscription.ended_at = None
    subscription.reminded_at = None
    subscription.bounce_score = 0


def end_subscription(
    subscription: Subscription, status: SubscriptionStatus, now: datetime
) -> None:
    """End a subscription as UNSUBSCRIBED, EXPIRED or DISABLED; its links die with it."""
    subscription.status = status
    subscription.link_generation = (subscription.link_generation or 0) + 1
    subscription.ended_at = now


def reopen(subscription: Subscription) -> None:
    """Put an ended subscription back to PENDING for a new confirmation."""
    subscription.status = SubscriptionStatus.PENDING
    subscription.ended_at = None
    subscription.reminded_at = None


@dataclass(frozen=True)
class SubscriptionCounts:
    """How many subscriptions a discussion has, by status; active ones by kind."""

    by_status: Mapping[str, int]
    by_language: Mapping[str, int]  # active only
    by_mode: Mapping[str, int]  # active only
    by_constituency: Mapping[str, int]  # active only; "" when not given

    @property
    def active(self) -> int:
        """The number of active subscriptions."""
        return self.by_status.get(SubscriptionStatus.ACTIVE.value, 0)


def subscription_counts(session: Session, discussion_id: int) -> SubscriptionCounts:
    """Counts for statistics: every status, and the active ones by language, mode, constituency."""
    here = Subscription.discussion_id == discussion_id
    active = and_(here, Subscription.status == SubscriptionStatus.ACTIVE)
    by_status = {
        status.value: n
        for status, n in session.execute(
            select(Subscription.status, func.count())
            .where(here)
            .group_by(Subscription.status)
        )
    }
    by_language = {
        language: n
        for language, n in session.execute(
            select(Subscription.language, func.count())
            .where(active)
            .group_by(Subscription.language)
        )
    }
    by_mode = {
        mode.value: n
        for mode, n in session.execute(
            select(Subscription.mode, func.count())
            .where(active)
            .group_by(Subscription.mode)
        )
    }
    by_constituency = {
        constituency: n
        for constituency, n in session.execute(
            select(Subscriber.constituency, func.count())
            .join(Subscription, Subscription.subscriber_id == Subscriber.id)
            .where(active)
            .group_by(Subscriber.constituency)
        )
    }
    return SubscriptionCounts(by_status, by_language, by_mode, by_constituency)


@dataclass(frozen=True)
class ActiveSubscription:
    """What a fan-out or a digest needs of one active subscription."""

    subscription_id: int
    subscriber_id: int
    email: str
    name: str
    language: str
    mode: DeliveryMode


def iter_active_subscriptions(
    session: Session,
    discussion_id: int,
    modes: Iterable[DeliveryMode],
    batch: int = 1000,
) -> Iterator[ActiveSubscription]:
    """Stream the active subscriptions of a discussion in *modes*, in id order.

    Rows come *batch* at a time (``yield_per``: a server-side cursor on
    PostgreSQL), so a fan-out to a hundred thousand subscribers holds one batch
    in memory, not the list.
    """
    wanted = list(modes)
    if not wanted:
        return
    stmt = (
        select(
            Subscription.id,
            Subscriber.id,
            Subscriber.email,
            Subscriber.name,
            Subscription.language,
            Subscription.mode,
        )
        .join(Subscriber, Subscription.subscriber_id == Subscriber.id)
        .where(
            Subscription.discussion_id == discussion_id,
            Subscription.status == SubscriptionStatus.ACTIVE,
            Subscription.mode.in_(wanted),
        )
        .order_by(Subscription.id)
        .execution_options(yield_per=batch)
    )
    for row in session.execute(stmt):
        yield ActiveSubscription(*row)


def iter_subscriptions(
    session: Session,
    discussion_id: int,
    status: SubscriptionStatus | None = None,
    batch: int = 1000,
) -> Iterator[tuple[Subscription, Subscriber]]:
    """Every subscription of a discussion with its subscriber, by address, streamed."""
    stmt = (
        select(Subscription, Subscriber)
        .join(Subscriber, Subscription.subscriber_id == Subscriber.id)
        .where(Subscription.discussion_id == discussion_id)
        .order_by(Subscriber.email)
        .execution_options(yield_per=batch)
    )
    if status is not None:
        stmt = stmt.where(Subscription.status == status)
    yield from ((sub, person) for sub, person in session.execute(stmt))


def _token_of(purpose: TokenPurpose) -> Any:
    return and_(
        Token.discussion_id == Subscription.discussion_id,
        Token.email == Subscriber.email,
        Token.purpose == purpose,
    )


@dataclass(frozen=True)
class DueReminder:
    """A pending subscription due for its one reminder, and when its request expires."""

    subscription_id: int
    discussion_id: int
    email: str
    name: str
    language: str
    expires_at: datetime
    last_token_id: int


def due_reminders(
    session: Session, requested_before: datetime, now: datetime, limit: int = 500
) -> list[DueReminder]:
    """PENDING, never reminded, a live confirmation token, and no request since *requested_before*."""
    live = and_(
        _token_of(TokenPurpose.SUBSCRIBE),
        Token.used_at.is_(None),
        Token.expires_at > now,
    )
    recent = and_(
        _token_of(TokenPurpose.SUBSCRIBE), Token.created_at > requested_before
    )
    stmt = (
        select(
            Subscription.id,
            Subscription.discussion_id,
            Subscriber.email,
            Subscriber.name,
            Subscription.language,
            select(func.max(Token.expires_at)).where(live).scalar_subquery(),
            select(func.max(Token.id)).where(live).scalar_subquery(),
        )
        .join(Subscriber, Subscription.subscriber_id == Subscriber.id)
        .where(
            Subscription.status == SubscriptionStatus.PENDING,
            Subscription.reminded_at.is_(None),
            exists().where(live),
            ~exists().where(recent),
        )
        .order_by(Subscription.id)
        .limit(limit)
    )
    return [DueReminder(*row) for row in session.execute(stmt)]


def mark_reminded(session: Session, subscription_id: int, now: datetime) -> bool:
    """Record the reminder, atomically: True for exactly one caller."""
    result = session.execute(
        update(Subscription)
        .where(
            Subscription.id == subscription_id,
            Subscription.status == SubscriptionStatus.PENDING,
            Subscription.reminded_at.is_(None),
        )
        .values(reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    return changed_rows(result) == 1


def expire_unconfirmed(
    session: Session, requested_before: datetime, now: datetime
) -> int:
    """PENDING subscriptions with no live confirmation token become EXPIRED; returns how many.

    A subscription with no token at all (none was ever sent) expires once it
    was created before *requested_before*.
    """
    live = and_(
        _token_of(TokenPurpose.SUBSCRIBE),
        Token.used_at.is_(None),
        Token.expires_at > now,
    )
    any_token = _token_of(TokenPurpose.SUBSCRIBE)
    ids = list(
        session.scalars(
            select(Subscription.id)
            .join(Subscriber, Subscription.subscriber_id == Subscriber.id)
            .where(
                Subscription.status == SubscriptionStatus.PENDING,
                ~exists().where(live),
                exists().where(any_token)
                | (Subscription.created_at < requested_before),
            )
        )
    )
    expired = 0
    for start in range(0, len(ids), 500):
        result = session.execute(
            update(Subscription)
            .where(
                Subscription.id.in_(ids[start : start + 500]),
                Subscription.status == SubscriptionStatus.PENDING,
            )
            .values(
                status=SubscriptionStatus.EXPIRED,
                ended_at=now,
                link_generation=Subscription.link_generation + 1,
            )
            .execution_options(synchronize_session=False)
        )
        expired += changed_rows(result)
    return expired


def set_mode(session: Session, subscription_id: int, mode: DeliveryMode) -> bool:
    """Deliver *mode* to an active subscription from now on; False when it is not active."""
    result = session.execute(
        update(Subscription)
        .where(
            Subscription.id == subscription_id,
            Subscription.status == SubscriptionStatus.ACTIVE,
        )
        .values(mode=mode)
    )
    return changed_rows(result) > 0
