"""Double opt-in sign-up: a PENDING subscription and a confirmation mail.

A sign-up (mail, web, import) makes a PENDING subscription and mails a one-time
token to the address; only someone who can read that mailbox can make it
ACTIVE, by replying to the token's ``-confirm+<token>@`` address or following
its link (:mod:`mailer.subscriptions.leaving` uses it). Tokens are random,
stored hashed, single-use and expire after ``subscribers.confirm_ttl_days``.

Nothing here spams: a sign-up for an active address is answered at most once
a day, a pending one gets no new confirmation within a day of the last (and an
import never re-sends while one is valid), and a person who unsubscribed is
never put back by an import.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailer.core.choices import SignupSource
from mailer.core.message import ParsedMessage
from mailer.subscriptions.notices import (
    Notice,
    Place,
    TokenNotice,
    place_for,
    queue_notice,
    queue_token_notice,
)
from mailer.subscriptions.values import (
    check_constituency,
    check_language,
    check_mode,
    clean_text,
    normalise_address,
)
from store.models import (
    DeliveryMode,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    TokenPurpose,
)
from store.subscribers import activate, ensure_subscriber, ensure_subscription, reopen
from store.tokens import latest_live_token

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.subscribers")

RESEND_AFTER = timedelta(hours=24)
ENDED_FOR_GOOD = (SubscriptionStatus.UNSUBSCRIBED, SubscriptionStatus.DISABLED)


class SignupOutcome(enum.Enum):
    """What a sign-up did."""

    CONFIRMATION_SENT = "confirmation-sent"
    ALREADY_PENDING = "already-pending"  # a confirmation went out recently
    ALREADY_ACTIVE = "already-active"
    ACTIVATED = "activated"  # the operator vouched for consent (import, CLI)
    SKIPPED = "skipped"  # an import does not bring back who left or bounces


@dataclass(frozen=True)
class SignupResult:
    """The outcome of a sign-up, and the subscription it concerns."""

    outcome: SignupOutcome
    subscription_id: int
    email: str
    language: str


@dataclass(frozen=True)
class SignupForm:
    """A sign-up as a form or a command line gives it: words, not yet checked.

    *confirmed* (import and CLI only) records an operator's word that the
    person agreed.
    """

    email: str
    name: str = ""
    organisation: str = ""
    constituency: str = ""
    language: str | None = None
    mode: str | DeliveryMode | None = None
    source: SignupSource = SignupSource.WEB
    confirmed: bool = False


@dataclass(frozen=True)
class Signup:
    """A sign-up on checked values: the address as stored, who it is, how they want mail.

    An empty ``language`` or ``mode`` keeps what a subscription already has
    (the discussion's default language and ``each`` for a new one).
    """

    address: str
    name: str = ""
    organisation: str = ""
    constituency: str = ""
    language: str | None = None
    mode: DeliveryMode | None = None
    source: SignupSource = SignupSource.WEB
    confirmed: bool = False


def request_subscription(
    session: Session, runtime: Runtime, slug: str, form: SignupForm, now: datetime
) -> SignupResult:
    """Ask for a subscription: PENDING plus a confirmation mail in the subscriber's language.

    A form marked *confirmed* (import and CLI only) is ACTIVE at once, no mail. Raises :class:`InvalidAddress` or
    :class:`InvalidValue` (both ValueError) for what cannot be accepted, and
    LookupError for an unknown discussion. A page should say the same thing
    for every outcome, so that it never reveals who is subscribed.
    """
    place = place_for(session, runtime, slug)
    address = normalise_address(
        form.email, runtime.settings.subscribers.check_deliverability
    )
    signup = Signup(
        address,
        name=clean_text(form.name),
        organisation=clean_text(form.organisation),
        constituency=check_constituency(form.constituency),
        language=check_language(form.language, place.conf) if form.language else None,
        mode=check_mode(form.mode) if form.mode else None,
        source=form.source,
        confirmed=form.confirmed,
    )
    result = subscribe(session, runtime, place, signup, now)
    if (
        result.outcome is SignupOutcome.ALREADY_ACTIVE
        and form.source is SignupSource.WEB
    ):
        queue_notice(
            session,
            runtime,
            place,
            Notice(
                template="command-result",
                key=f"already:{result.subscription_id}:{now.date().isoformat()}",
                to=address,
                language=result.language,
                subscription_id=result.subscription_id,
                context={
                    "results": [{"line": "", "outcome": "already-active", "value": ""}],
                    "unknown": [],
                    "status": "active",
                    "mode": "",
                },
            ),
            now,
        )
    return result


def subscribe(
    session: Session,
    runtime: Runtime,
    place: Place,
    signup: Signup,
    now: datetime,
    answering: ParsedMessage | None = None,
) -> SignupResult:
    """The sign-up itself, on checked values; see :func:`request_subscription`."""
    person = ensure_subscriber(
        session,
        signup.address,
        now,
        name=signup.name,
        organisation=signup.organisation,
        constituency=signup.constituency,
    )
    sub, created = ensure_subscription(
        session,
        place.row_id,
        person.id,
        now,
        language=signup.language or place.conf.default_language,
        mode=signup.mode or DeliveryMode.EACH,
        source=signup.source,
        status=SubscriptionStatus.ACTIVE
        if signup.confirmed
        else SubscriptionStatus.PENDING,
    )
    return settle(
        session, runtime, place, Found(person, sub, created), signup, now, answering
    )


@dataclass(frozen=True)
class Found:
    """A sign-up's subscriber and subscription as they are now, and whether it was just made."""

    person: Subscriber
    sub: Subscription
    created: bool


def settle(
    session: Session,
    runtime: Runtime,
    place: Place,
    found: Found,
    signup: Signup,
    now: datetime,
    answering: ParsedMessage | None = None,
) -> SignupResult:
    """Decide what a sign-up does to a subscription that exists now (created or not)."""
    person, sub, created = found.person, found.sub, found.created
    language, mode, source = signup.language, signup.mode, signup.source
    confirmed = signup.confirmed

    def result(outcome: SignupOutcome) -> SignupResult:
        log.log(
            logging.DEBUG if source is SignupSource.IMPORT else logging.INFO,
            "subscription %s discussion=%s address=%s source=%s",
            outcome.value,
            place.slug,
            person.email,
            source,
        )
        return SignupResult(outcome, sub.id, person.email, sub.language)

    if created:
        if confirmed:
            return result(SignupOutcome.ACTIVATED)
        queue_confirmation(session, runtime, place, sub, person, now, answering)
        return result(SignupOutcome.CONFIRMATION_SENT)
    if sub.status is SubscriptionStatus.ACTIVE:
        return result(SignupOutcome.ALREADY_ACTIVE)
    if sub.status in ENDED_FOR_GOOD and source is SignupSource.IMPORT:
        return result(SignupOutcome.SKIPPED)
    if language:
        sub.language = language
    if mode:
        sub.mode = mode
    if sub.status is not SubscriptionStatus.PENDING:
        reopen(sub)
        sub.source = source
    if confirmed:
        activate(sub, now)
        return result(SignupOutcome.ACTIVATED)
    live = latest_live_token(
        session, place.row_id, person.email, TokenPurpose.SUBSCRIBE, now
    )
    if live is not None and (
        source is SignupSource.IMPORT or now - live.created_at < RESEND_AFTER
    ):
        return result(SignupOutcome.ALREADY_PENDING)
    queue_confirmation(session, runtime, place, sub, person, now, answering)
    return result(SignupOutcome.CONFIRMATION_SENT)


def queue_confirmation(
    session: Session,
    runtime: Runtime,
    place: Place,
    sub: Subscription,
    person: Subscriber,
    now: datetime,
    answering: ParsedMessage | None = None,
    *,
    template: str = "confirm",
    expires_at: datetime | None = None,
    key_prefix: str = "confirm",
) -> str:
    """Mail a new subscribe token to the address; returns the token's hash."""
    return queue_token_notice(
        session,
        runtime,
        place,
        TokenNotice(
            sub=sub,
            person=person,
            purpose=TokenPurpose.SUBSCRIBE,
            template=template,
            key_prefix=key_prefix,
            expires_at=expires_at,
            context={"mode": sub.mode.value, "person": person.name},
            answering=answering,
        ),
        now,
    )
