"""Queue one templated mail to one person: render, compose, and put it in the outbox.

This is the one path every outgoing mail takes (confirmations, notices,
announcements, post copies, digests, moderator notices). It runs inside the
caller's transaction, so a mail is queued exactly when the change that made it
necessary is committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mailer.config.settings import DiscussionSettings, Settings
from mailer.core.addresses import AddressBook
from mailer.core.headers import stable_message_id
from mailer.links import discussion_url, unsubscribe_url, verp_address
from mailer.outbound.compose import ListHeaders, Mail, render
from mailer.outbound.templates import RenderedMail, Templates
from store.outbox import OutgoingRow, enqueue


@dataclass(frozen=True)
class Outgoing:
    """Who gets a mail, what template says it, and the dedupe key that makes it unique."""

    template: str
    language: str
    to_address: str
    dedupe_key: str
    kind: str
    context: Mapping[str, Any]
    to_name: str = ""
    subscription_id: int | None = None
    link_generation: int = 0  # the subscription's, for its unsubscribe link
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    as_list_mail: bool = False  # List-* headers and Precedence: list
    list_post: str | None = None  # List-Post address when it is a list mail
    auto_submitted: str | None = None  # "auto-replied" for answers to a person's mail
    from_name: str | None = None  # default: the discussion's name
    message_id: str | None = None  # default: stable, derived from the dedupe key
    archived_at: str | None = None  # the page of what a list mail copies (Archived-At)


def templates_for(discussion: DiscussionSettings) -> Templates:
    """The templates of one discussion (its override folder first)."""
    return Templates(discussion.templates_dir)


def base_context(
    settings: Settings, discussion: DiscussionSettings, language: str
) -> dict[str, Any]:
    """What every template may use: the discussion's texts and addresses."""
    book = AddressBook(discussion.slug, settings.service.domain)
    return {
        "slug": discussion.slug,
        "name": discussion.name.in_language(language, discussion.default_language),
        "title": discussion.title.in_language(language, discussion.default_language),
        "guidelines": discussion.guidelines.in_language(
            language, discussion.default_language
        ),
        "addresses": book,
        "base_url": settings.service.base_url,
        "discussion_url": discussion_url(
            settings.service.base_url, discussion.slug, language
        ),
        "request_address": book.request(),
        "moderators_address": book.moderators(),
    }


def build_row(
    settings: Settings,
    key: bytes,
    discussion: DiscussionSettings,
    discussion_id: int | None,
    out: Outgoing,
    now: datetime,
    rendered: RenderedMail | None = None,
) -> OutgoingRow:
    """Render and compose *out* into an outbox row (pure but for template files).

    *rendered*, when given, is used instead of rendering ``out.template``: a
    body rendered once for many recipients (see :mod:`mailer.outbound.bulk`).
    """
    book = AddressBook(discussion.slug, settings.service.domain)
    if rendered is None:
        context = {**base_context(settings, discussion, out.language), **out.context}
        rendered = templates_for(discussion).render(
            out.template,
            out.language,
            context,
            fallbacks=(discussion.default_language, "en"),
        )
    list_headers = None
    if out.as_list_mail:
        unsub = (
            unsubscribe_url(
                settings.service.base_url,
                key,
                out.subscription_id,
                out.link_generation,
                now,
            )
            if out.subscription_id is not None
            else None
        )
        list_headers = ListHeaders(
            list_id=f"<{discussion.slug}.{settings.service.domain}>",
            name=discussion.name.in_language(
                rendered.language, discussion.default_language
            ),
            post=out.list_post,
            help=book.request(),
            archive=discussion_url(settings.service.base_url, discussion.slug),
            unsubscribe_mailto=book.request(),
            unsubscribe_url=unsub,
            archived_at=out.archived_at,
        )
    message_id = out.message_id or stable_message_id(
        out.dedupe_key, settings.service.domain, out.kind
    )
    from_name = out.from_name or discussion.name.in_language(
        rendered.language, discussion.default_language
    )
    mail = Mail(
        from_name=from_name,
        from_address=book.discussion(),
        to_address=out.to_address,
        to_name=out.to_name,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        date=now,
        message_id=message_id,
        language=rendered.language,
        reply_to=out.reply_to,
        in_reply_to=out.in_reply_to,
        references=out.references,
        list_headers=list_headers,
        auto_submitted=out.auto_submitted,
        precedence="list" if out.as_list_mail else None,
        loop=book.discussion(),
    )
    return OutgoingRow(
        dedupe_key=out.dedupe_key,
        kind=out.kind,
        recipient=out.to_address,
        envelope_from=verp_address(book, key, out.to_address, out.subscription_id),
        message_id=message_id,
        raw=render(mail),
        discussion_id=discussion_id,
        subscription_id=out.subscription_id,
    )


def queue_mail(
    session: Session,
    settings: Settings,
    key: bytes,
    discussion: DiscussionSettings,
    discussion_id: int | None,
    out: Outgoing,
    now: datetime,
    rendered: RenderedMail | None = None,
) -> bool:
    """Render, compose and enqueue one mail; False when its dedupe key was already queued."""
    row = build_row(settings, key, discussion, discussion_id, out, now, rendered)
    return enqueue(session, [row], now) == 1
