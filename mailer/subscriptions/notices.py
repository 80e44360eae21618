"""The mails the subscription service sends, each through ``queue_mail``.

Every one is an automatic message: ``Auto-Submitted: auto-replied`` when it
answers a person's mail (RFC 3834), ``auto-generated`` otherwise. Replies go
to the request address (commands), or to a ``-confirm+<token>@`` address when
a reply confirms something; never to the discussion's own address, so a
"thank you" is not posted to everyone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.config.settings import DiscussionSettings
from mailer.core.addresses import AddressBook
from mailer.core.message import ParsedMessage
from mailer.core.tokens import hash_token, random_token
from mailer.links import confirm_url, manage_url, question_url, unsubscribe_url
from mailer.outbound.mailing import Outgoing, queue_mail
from store.discussions import discussion_by_slug
from store.models import (
    Question,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    TokenPurpose,
)
from store.tokens import add_token

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.subscribers")


@dataclass(frozen=True)
class Place:
    """One discussion as configured (texts) and as stored (its row id)."""

    conf: DiscussionSettings
    row_id: int

    @property
    def slug(self) -> str:
        """The discussion's slug."""
        return self.conf.slug


def place_for(session: Session, runtime: Runtime, slug: str) -> Place:
    """The configured and stored discussion *slug*; LookupError when unknown."""
    conf = runtime.settings.discussion(slug)
    row = discussion_by_slug(session, slug)
    if conf is None or row is None:
        raise LookupError(f"no discussion {slug!r}")
    return Place(conf, row.id)


def date_text(when: datetime, language: str, place: Place) -> str:
    """A date as people write it in *language*, in the discussion's time zone."""
    local = when.astimezone(place.conf.time_zone).date()
    return format_date(local, format="long", locale=language)


@dataclass(frozen=True)
class Notice:
    """One notice to one person: its template and values, its address and language.

    ``key`` is the outbox dedupe key (a notice is queued once); ``answering``
    is the mail it replies to, which makes it ``auto-replied`` and threads it.
    """

    template: str
    key: str
    to: str
    language: str
    context: Mapping[str, Any] = field(default_factory=dict)
    to_name: str = ""
    subscription_id: int | None = None
    reply_to: str | None = None  # default: the request address
    answering: ParsedMessage | None = None
    list_mail: bool = False


def queue_notice(
    session: Session, runtime: Runtime, place: Place, notice: Notice, now: datetime
) -> bool:
    """Queue one notice in the outbox; False when its dedupe key was already queued."""
    book = AddressBook(place.slug, runtime.settings.service.domain)
    references: tuple[str, ...] = ()
    in_reply_to = None
    answering = notice.answering
    if answering is not None and answering.message_id:
        in_reply_to = answering.message_id
        references = (*answering.references[-10:], answering.message_id)
    sub = (
        session.get(Subscription, notice.subscription_id)
        if notice.subscription_id is not None
        else None
    )
    context = {"languages": place.conf.languages, **notice.context}
    if sub is not None and sub.status is SubscriptionStatus.ACTIVE:
        context.update(subscription_links(runtime, sub, now))
    out = Outgoing(
        template=notice.template,
        language=notice.language,
        to_address=notice.to,
        dedupe_key=notice.key,
        kind=notice.template[:30],
        context=context,
        to_name=notice.to_name,
        subscription_id=notice.subscription_id,
        link_generation=sub.link_generation if sub is not None else 0,
        reply_to=notice.reply_to or book.request(),
        in_reply_to=in_reply_to,
        references=references,
        as_list_mail=notice.list_mail,
        auto_submitted="auto-replied" if answering is not None else "auto-generated",
    )
    queued = queue_mail(
        session, runtime.settings, runtime.key, place.conf, place.row_id, out, now
    )
    log.info(
        "notice %s to=%s key=%s %s",
        notice.template,
        notice.to,
        notice.key,
        "queued" if queued else "already queued",
    )
    return queued


def subscription_links(
    runtime: Runtime, sub: Subscription, now: datetime
) -> dict[str, str]:
    """A subscriber's own links, made now: ``unsubscribe_url`` and ``manage_url``."""
    ids = (sub.id, sub.link_generation, now)
    base = runtime.settings.service.base_url
    return {
        "unsubscribe_url": unsubscribe_url(base, runtime.key, *ids),
        "manage_url": manage_url(base, runtime.key, *ids),
    }


@dataclass(frozen=True)
class TokenNotice:
    """A notice that carries a new one-time token: whose, for what, in which template.

    The dedupe key is ``<key_prefix>:<token hash>``; ``context`` adds to the
    confirmation values every such notice has.
    """

    sub: Subscription
    person: Subscriber
    purpose: TokenPurpose
    template: str
    key_prefix: str
    expires_at: datetime | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    answering: ParsedMessage | None = None


def queue_token_notice(
    session: Session,
    runtime: Runtime,
    place: Place,
    notice: TokenNotice,
    now: datetime,
) -> str:
    """Queue a notice with a new token for the subscribed address; returns the token's hash.

    A reply to the mail (its ``Reply-To`` is the token's confirm address) or
    the link in it uses the token.
    """
    sub, person, expires_at = notice.sub, notice.person, notice.expires_at
    token, token_hash = new_token(
        session,
        runtime,
        place,
        purpose=notice.purpose,
        email=person.email,
        subscription_id=sub.id,
        language=sub.language,
        now=now,
        expires_at=expires_at,
    )
    book = AddressBook(place.slug, runtime.settings.service.domain)
    full = confirm_context(
        runtime, place, token, expires_at or expiry(runtime, now), sub.language
    )
    full.update(notice.context)
    queue_notice(
        session,
        runtime,
        place,
        Notice(
            template=notice.template,
            key=f"{notice.key_prefix}:{token_hash}",
            to=person.email,
            to_name=person.name,
            language=sub.language,
            subscription_id=sub.id,
            reply_to=book.confirm(token),
            answering=notice.answering,
            context=full,
        ),
        now,
    )
    return token_hash


def new_token(
    session: Session,
    runtime: Runtime,
    place: Place,
    *,
    purpose: TokenPurpose,
    email: str,
    subscription_id: int,
    language: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> tuple[str, str]:
    """A fresh one-time token for *purpose*, stored hashed; returns (token, hash)."""
    token = random_token()
    token_hash = hash_token(token)
    add_token(
        session,
        token_hash=token_hash,
        purpose=purpose,
        discussion_id=place.row_id,
        email=email,
        payload={"subscription": subscription_id, "language": language},
        now=now,
        expires_at=expires_at or expiry(runtime, now),
    )
    return token, token_hash


def expiry(runtime: Runtime, now: datetime) -> datetime:
    """When a confirmation sent *now* stops working."""
    return now + timedelta(days=runtime.settings.subscribers.confirm_ttl_days)


def confirm_context(
    runtime: Runtime, place: Place, token: str, expires_at: datetime, language: str
) -> dict[str, Any]:
    """The two ways to confirm: reply to the token's address, or follow its link."""
    book = AddressBook(place.slug, runtime.settings.service.domain)
    return {
        "confirm_address": book.confirm(token),
        "confirm_link": confirm_url(runtime.settings.service.base_url, token),
        "expires": date_text(expires_at, language, place),
    }


def open_questions(
    session: Session, runtime: Runtime, place: Place, language: str
) -> list[dict[str, Any]]:
    """The questions released so far, with their text, address and page."""
    book = AddressBook(place.slug, runtime.settings.service.domain)
    numbers = session.scalars(
        select(Question.number)
        .where(
            Question.discussion_id == place.row_id, Question.released_at.is_not(None)
        )
        .order_by(Question.number)
    )
    found = []
    for number in numbers:
        conf = place.conf.question(number)
        if conf is None:
            continue
        found.append(
            {
                "number": number,
                "text": conf.text.in_language(language, place.conf.default_language),
                "address": book.question(number),
                "url": question_url(
                    runtime.settings.service.base_url, place.slug, number
                ),
            }
        )
    return found


def queue_welcome(
    session: Session,
    runtime: Runtime,
    place: Place,
    *,
    sub: Subscription,
    person: Subscriber,
    key: str,
    now: datetime,
    answering: ParsedMessage | None = None,
) -> bool:
    """The welcome: the guidelines, how to take part, and the questions open now."""
    return queue_notice(
        session,
        runtime,
        place,
        Notice(
            template="welcome",
            key=key,
            to=person.email,
            to_name=person.name,
            language=sub.language,
            subscription_id=sub.id,
            answering=answering,
            list_mail=True,
            context={
                "person": person.name,
                "mode": sub.mode.value,
                "questions": open_questions(session, runtime, place, sub.language),
                "unsubscribe_link": unsubscribe_url(
                    runtime.settings.service.base_url,
                    runtime.key,
                    sub.id,
                    sub.link_generation,
                    now,
                ),
                "manage_link": manage_url(
                    runtime.settings.service.base_url,
                    runtime.key,
                    sub.id,
                    sub.link_generation,
                    now,
                ),
            },
        ),
        now,
    )
