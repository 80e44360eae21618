"""The moderation queue: approving, rejecting or holding a post (notices: :mod:`.notices`).

Each decision is one conditional UPDATE (``... WHERE status = 'held'``): when
two moderators act on the same post at once, the database lets exactly one
UPDATE match, so the post is published (or rejected) once and the other
moderator is told who was first.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailer.config.settings import DiscussionSettings, Moderator
from mailer.core.modcommands import Rejection
from mailer.outbound.mailing import Outgoing, queue_mail
from store.models import Discussion as DiscussionRow
from store.models import Post, PostStatus, Question
from store.modnotices import told_by
from store.writes import changed_rows

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.moderation")

NOTICE_TEXT_LIMIT = 6000  # characters of a held post shown in the notice
_AUTOMATIC_SENDERS = ("mailer-daemon@", "postmaster@", "noreply@", "no-reply@")


class DecisionCode(enum.Enum):
    """Outcome of a moderation decision."""

    DONE = "done"
    NO_POST = "no_post"
    ALREADY = "already"


@dataclass(frozen=True)
class DecisionResult:
    """What happened to one post: done, not found, or already decided (by whom, when)."""

    code: DecisionCode
    post_id: int
    status: str = ""
    by: str = ""
    at: datetime | None = None
    notified: bool = False


def held_notice_key(post_id: int, moderator_email: str) -> str:
    """The outbox dedupe key of one moderator's notice about one held post."""
    return f"held:{post_id}:{moderator_email.lower()}"


def _question_text(discussion: DiscussionSettings, number: int, language: str) -> str:
    q = discussion.question(number)
    if q is None:
        return ""
    return q.text.in_language(language, discussion.default_language)


def post_context(
    discussion: DiscussionSettings, post: Post, number: int, language: str
) -> dict[str, Any]:
    body = post.body
    cut = len(body) > NOTICE_TEXT_LIMIT
    return {
        "post_id": post.id,
        "author_name": post.author_name,
        "author_email": post.author_email,
        "organisation": post.organisation,
        "constituency": post.constituency,
        "post_subject": post.subject,
        "body": body[:NOTICE_TEXT_LIMIT],
        "body_cut": cut,
        "question_number": number,
        "question_text": _question_text(discussion, number, language),
        "hold_reason": post.hold_reason or "",
        "received_at": post.received_at,
    }


def load_post(session: Session, post_id: int) -> tuple[Post, int, str] | None:
    row = session.execute(
        select(Post, Question.number, DiscussionRow.slug)
        .join(Question, Question.id == Post.question_id)
        .join(DiscussionRow, DiscussionRow.id == Post.discussion_id)
        .where(Post.id == post_id)
    ).first()
    if row is None:
        return None
    return row[0], int(row[1]), str(row[2])


def _move(
    session: Session,
    discussion_id: int,
    post_id: int,
    from_statuses: Sequence[PostStatus],
    **values: Any,
) -> bool:
    """Set *values* on the post if its status is one of *from_statuses*; True if this did it."""
    result = session.execute(
        update(Post)
        .where(
            Post.id == post_id,
            Post.discussion_id == discussion_id,
            Post.status.in_(from_statuses),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if changed_rows(result) != 1:
        return False
    session.expire_all()
    return True


def _decided(session: Session, post_id: int, discussion_id: int) -> DecisionResult:
    post = session.get(Post, post_id, populate_existing=True)
    if post is None or post.discussion_id != discussion_id:
        return DecisionResult(DecisionCode.NO_POST, post_id)
    return DecisionResult(
        DecisionCode.ALREADY,
        post_id,
        status=post.status.value,
        by=post.moderated_by or "",
        at=post.approved_at,
    )


def approve_post(
    session: Session,
    runtime: Runtime,
    discussion_id: int,
    post_id: int,
    actor: str,
    now: datetime,
    publish: Callable[[Session, Runtime, int, datetime], int],
) -> DecisionResult:
    """Approve a held post and *publish* it; the first moderator to act wins.

    *publish* is :func:`mailer.mailings.publish.publish_post`, handed down by
    whoever runs the command (mailings sit a layer above moderation).
    """
    if not _move(
        session,
        discussion_id,
        post_id,
        [PostStatus.HELD],
        status=PostStatus.APPROVED,
        approved_at=now,
        moderated_by=actor,
        moderation_note=None,
    ):
        return _decided(session, post_id, discussion_id)
    publish(session, runtime, post_id, now)
    return DecisionResult(
        DecisionCode.DONE, post_id, PostStatus.APPROVED.value, actor, now
    )


def reject_post(
    session: Session,
    runtime: Runtime,
    discussion: DiscussionSettings,
    discussion_id: int,
    post_id: int,
    actor: str,
    reason: str,
    rejection: Rejection,
    now: datetime,
) -> DecisionResult:
    """Reject a held post; its author is told why, in their language, unless it is spam."""
    if not _move(
        session,
        discussion_id,
        post_id,
        [PostStatus.HELD],
        status=PostStatus.REJECTED,
        moderated_by=actor,
        moderation_note=reason,
    ):
        return _decided(session, post_id, discussion_id)
    notified = False
    if rejection is Rejection.EXPLAINED:
        notified = _tell_author(session, runtime, discussion, post_id, reason, now)
    return DecisionResult(
        DecisionCode.DONE, post_id, PostStatus.REJECTED.value, actor, now, notified
    )


def _tell_author(
    session: Session,
    runtime: Runtime,
    discussion: DiscussionSettings,
    post_id: int,
    reason: str,
    now: datetime,
) -> bool:
    loaded = load_post(session, post_id)
    if loaded is None:
        return False
    post, number, _ = loaded
    address = post.author_email.strip().lower()
    if not address or "@" not in address or address.startswith(_AUTOMATIC_SENDERS):
        return False
    language = post.language if post.language in discussion.languages else ""
    language = language or discussion.default_language
    context = {
        **post_context(discussion, post, number, language),
        "reason": reason,
    }
    out = Outgoing(
        template="post-rejected",
        language=language,
        to_address=address,
        to_name=post.author_name,
        dedupe_key=f"rejected:{post_id}",
        kind="post-rejected",
        context=context,
        in_reply_to=post.message_id or None,
        references=(post.message_id,) if post.message_id else (),
        auto_submitted="auto-replied",
    )
    return queue_mail(
        session, runtime.settings, runtime.key, discussion, post.discussion_id, out, now
    )


def hold_post(
    session: Session, discussion_id: int, post_id: int, actor: str
) -> DecisionResult:
    """Put an approved or rejected post back in the queue (off the archive and digests)."""
    if not _move(
        session,
        discussion_id,
        post_id,
        [PostStatus.APPROVED, PostStatus.REJECTED],
        status=PostStatus.HELD,
        approved_at=None,
        moderated_by=actor,
        hold_reason="held by a moderator",
    ):
        return _decided(session, post_id, discussion_id)
    return DecisionResult(DecisionCode.DONE, post_id, PostStatus.HELD.value, actor)


def tell_other_moderators(
    session: Session,
    runtime: Runtime,
    discussion: DiscussionSettings,
    discussion_id: int,
    decision: DecisionResult,
    actor: Moderator | None,
    reason: str,
    now: datetime,
) -> int:
    """Tell the other moderators who heard of a held post that it was handled.

    The mail threads under the notice or summary that told them of it; a
    moderator who never heard of the post is not mailed (it just leaves the
    next summary).
    """
    told = told_by(session, decision.post_id)
    queued = 0
    for moderator in discussion.moderators:
        if actor is not None and moderator.email == actor.email:
            continue
        notice_id = told.get(moderator.email)
        if notice_id is None:
            continue
        out = Outgoing(
            template="mod-handled",
            language=moderator.language,
            to_address=moderator.email,
            to_name=moderator.name,
            dedupe_key=f"handled:{decision.post_id}:{moderator.email}",
            kind="mod-handled",
            context={
                "post_id": decision.post_id,
                "status": decision.status,
                "by": actor.name if actor is not None else decision.by,
                "reason": reason,
            },
            in_reply_to=notice_id,
            references=(notice_id,),
            auto_submitted="auto-generated",
        )
        if queue_mail(
            session, runtime.settings, runtime.key, discussion, discussion_id, out, now
        ):
            queued += 1
    return queued
