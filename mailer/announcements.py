"""The announcements a release or a closing sends: one mail per subscriber, in their language.

Every active subscriber gets them, whatever their delivery mode. The body is
rendered once per language (:class:`mailer.outbound.bulk.SharedMail`); a set
of questions released together is one announcement listing each with its own
address, and an announcement of one question has that question's address as
``Reply-To`` and its thread root in ``References``, so a reply threads there.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from mailer.core.addresses import AddressBook
from mailer.core.digest import OpenQuestion
from mailer.links import question_message_id, question_url
from mailer.outbound.bulk import SharedMail, queue_shared
from mailer.outbound.dates import LocalDates
from mailer.outbound.mailing import Outgoing
from mailer.settings import Discussion
from store.models import DeliveryMode, Post, PostStatus, Question
from store.outbox import Recipient

if TYPE_CHECKING:
    from mailer.service import Runtime

EVERY_MODE = (DeliveryMode.EACH, DeliveryMode.DIGEST, DeliveryMode.ANNOUNCEMENTS)


def _wake_after_commit(session: Session, runtime: Runtime) -> None:
    from mailer.outbound.worker import wake_outbox

    event.listen(session, "after_commit", lambda _s: wake_outbox(runtime), once=True)


def _open_questions(
    runtime: Runtime, discussion: Discussion, numbers: Iterable[int], language: str
) -> list[OpenQuestion]:
    s = runtime.settings.service
    book = AddressBook(discussion.slug, s.domain)
    out = []
    for n in numbers:
        q = discussion.question(n)
        if q is not None:
            out.append(
                OpenQuestion(
                    n,
                    q.text.in_language(language, discussion.default_language),
                    book.question(n),
                    question_url(s.base_url, discussion.slug, n),
                )
            )
    return out


def announce_release(
    session: Session,
    runtime: Runtime,
    discussion: Discussion,
    discussion_id: int,
    numbers: list[int],
    opening: bool,
    now: datetime,
) -> int:
    """Queue one announcement of *numbers* to every active subscriber, in their language."""
    settings, key = runtime.settings, runtime.key
    book = AddressBook(discussion.slug, settings.service.domain)
    weeks = {q.week for q in discussion.questions if q.number in numbers}
    single = len(numbers) == 1
    cache: dict[str, SharedMail] = {}

    def shared(language: str) -> SharedMail:
        if language not in cache:
            context: dict[str, Any] = {
                "questions": _open_questions(runtime, discussion, numbers, language),
                "opening": opening,
                "week": next(iter(weeks)) if len(weeks) == 1 else None,
                "closes_at": discussion.closes_at,
                "introduction": discussion.introduction.in_language(
                    language, discussion.default_language
                ),
                "dates": LocalDates(language, discussion.time_zone),
            }
            cache[language] = SharedMail(
                settings, discussion, "announcement", language, context
            )
        return cache[language]

    key_prefix = f"announce:{discussion.slug}:{','.join(map(str, numbers))}"
    root = question_message_id(settings.service.domain, discussion.slug, numbers[0])

    def outgoing(person: Recipient, language: str) -> Outgoing:
        return Outgoing(
            template="announcement",
            language=language,
            to_address=person.email,
            to_name=person.name,
            dedupe_key=f"{key_prefix}:{person.subscription_id}",
            kind="announce",
            context={},
            subscription_id=person.subscription_id,
            reply_to=book.question(numbers[0]) if single else None,
            references=[root] if single else (),
            as_list_mail=True,
            list_post=book.question(numbers[0]) if single else book.discussion(),
        )

    queued = queue_shared(
        session,
        settings,
        key,
        discussion,
        discussion_id,
        EVERY_MODE,
        shared,
        outgoing,
        now,
    )
    if queued:
        _wake_after_commit(session, runtime)
    return queued


def announce_closing(
    session: Session,
    runtime: Runtime,
    discussion: Discussion,
    discussion_id: int,
    closed_at: datetime,
) -> int:
    """Queue one closing announcement to every active subscriber, in their language."""
    settings, key = runtime.settings, runtime.key
    contributions = session.scalar(
        select(func.count(Post.id)).where(
            Post.discussion_id == discussion_id, Post.status == PostStatus.APPROVED
        )
    )
    released = session.scalar(
        select(func.count(Question.id)).where(
            Question.discussion_id == discussion_id, Question.released_at.is_not(None)
        )
    )
    cache: dict[str, SharedMail] = {}

    def shared(language: str) -> SharedMail:
        if language not in cache:
            context = {
                "closed_at": closed_at,
                "contributions": int(contributions or 0),
                "questions": int(released or 0),
                "dates": LocalDates(language, discussion.time_zone),
            }
            cache[language] = SharedMail(
                settings, discussion, "closing", language, context
            )
        return cache[language]

    stamp = closed_at.strftime("%Y%m%dT%H%M%S")

    def outgoing(person: Recipient, language: str) -> Outgoing:
        return Outgoing(
            template="closing",
            language=language,
            to_address=person.email,
            to_name=person.name,
            dedupe_key=f"close:{discussion.slug}:{stamp}:{person.subscription_id}",
            kind="closing",
            context={},
            subscription_id=person.subscription_id,
            as_list_mail=True,
        )

    queued = queue_shared(
        session,
        settings,
        key,
        discussion,
        discussion_id,
        EVERY_MODE,
        shared,
        outgoing,
        closed_at,
    )
    if queued:
        _wake_after_commit(session, runtime)
    return queued
