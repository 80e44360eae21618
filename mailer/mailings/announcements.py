"""The announcements a release or a closing sends: one mail per subscriber, in their language.

Every active subscriber gets them, whatever their delivery mode. The body is
rendered once per language (:class:`mailer.outbound.bulk.SharedMail`); a set
of questions released together is one announcement listing each with its own
address, and an announcement of one question has that question's address as
``Reply-To`` and its thread root in ``References``, so a reply threads there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from mailer.config.settings import DiscussionSettings
from mailer.core.addresses import AddressBook
from mailer.core.digest import OpenQuestion
from mailer.links import question_message_id, question_url
from mailer.mailings.listmail import ListMail, queue_list_mail
from mailer.outbound.dates import LocalDates
from store.models import DeliveryMode, Post, PostStatus, Question

if TYPE_CHECKING:
    from mailer.runtime import Runtime

EVERY_MODE = (DeliveryMode.EACH, DeliveryMode.DIGEST, DeliveryMode.ANNOUNCEMENTS)


def _wake_after_commit(session: Session, runtime: Runtime) -> None:
    event.listen(
        session, "after_commit", lambda _s: runtime.wakes.outbox.ring(), once=True
    )


def _open_questions(
    runtime: Runtime,
    discussion: DiscussionSettings,
    numbers: Iterable[int],
    language: str,
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


def _queue_to_everyone(
    session: Session,
    runtime: Runtime,
    discussion: DiscussionSettings,
    discussion_id: int,
    mail: ListMail,
    context: Callable[[str], Mapping[str, Any]],
    now: datetime,
) -> int:
    """Queue *mail* to every active subscriber, whatever their mode; wake the outbox on commit."""
    queued = queue_list_mail(
        session, runtime, discussion, discussion_id, EVERY_MODE, mail, context, now
    )
    if queued:
        _wake_after_commit(session, runtime)
    return queued


def announce_release(
    session: Session,
    runtime: Runtime,
    discussion: DiscussionSettings,
    discussion_id: int,
    numbers: list[int],
    opening: bool,
    now: datetime,
) -> int:
    """Queue one announcement of *numbers* to every active subscriber, in their language."""
    settings = runtime.settings
    book = AddressBook(discussion.slug, settings.service.domain)
    weeks = {q.week for q in discussion.questions if q.number in numbers}
    single = len(numbers) == 1

    def context(language: str) -> dict[str, Any]:
        return {
            "questions": _open_questions(runtime, discussion, numbers, language),
            "opening": opening,
            "week": next(iter(weeks)) if len(weeks) == 1 else None,
            "closes_at": discussion.closes_at,
            "introduction": discussion.introduction.in_language(
                language, discussion.default_language
            ),
            "dates": LocalDates(language, discussion.time_zone),
        }

    root = question_message_id(settings.service.domain, discussion.slug, numbers[0])
    mail = ListMail(
        "announcement",
        "announce",
        f"announce:{discussion.slug}:{','.join(map(str, numbers))}",
        reply_to=book.question(numbers[0]) if single else None,
        references=(root,) if single else (),
        list_post=book.question(numbers[0]) if single else book.discussion(),
    )
    return _queue_to_everyone(
        session, runtime, discussion, discussion_id, mail, context, now
    )


def announce_closing(
    session: Session,
    runtime: Runtime,
    discussion: DiscussionSettings,
    discussion_id: int,
    closed_at: datetime,
) -> int:
    """Queue one closing announcement to every active subscriber, in their language."""
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

    def context(language: str) -> dict[str, Any]:
        return {
            "closed_at": closed_at,
            "contributions": int(contributions or 0),
            "questions": int(released or 0),
            "dates": LocalDates(language, discussion.time_zone),
        }

    stamp = closed_at.strftime("%Y%m%dT%H%M%S")
    mail = ListMail("closing", "closing", f"close:{discussion.slug}:{stamp}")
    return _queue_to_everyone(
        session, runtime, discussion, discussion_id, mail, context, closed_at
    )
