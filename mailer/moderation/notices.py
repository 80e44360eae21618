"""Telling moderators of held posts: a notice at once, or a summary a window later.

:func:`notify_held` runs when the pipeline holds a post; :func:`send_held_summaries`
runs in every scheduler round. Both ask :mod:`mailer.core.modnotices` what to
send, and record what each moderator was told in the same transaction as the
mail (``held_notices``), counting each moderator's mails in
``moderator_notices``: a mail is queued only by the transaction whose count
update matched, so two workers or two ``serve`` nodes never send it twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.config.settings import DiscussionSettings, Moderator
from mailer.core.addresses import AddressBook
from mailer.core.headers import stable_message_id
from mailer.core.modnotices import (
    HeldMailKind,
    NoticePlan,
    Told,
    next_summary_at,
    plan_on_hold,
    plan_summaries,
)
from mailer.links import held_post_address
from mailer.moderation.queue import held_notice_key, load_post, post_context
from mailer.outbound.mailing import Outgoing, queue_mail
from store.discussions import discussion_by_slug
from store.models import Post, Question
from store.modnotices import claim_notice, held_post_ids, notice_states, record_told

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.moderation")

SUMMARY_EXCERPT = 300  # characters of each new post shown in a summary
SUMMARY_WAITING_LIMIT = 100  # posts told before that a summary lists again


@dataclass(frozen=True)
class _Known:
    """What the store says about one discussion's queue and its moderators."""

    discussion_id: int
    held: list[int]
    seen: dict[str, int]  # notices sent so far, per moderator
    told: list[Told]


def _window(runtime: Runtime) -> timedelta:
    return timedelta(minutes=runtime.settings.moderation.notice_minutes)


def _known(
    session: Session, discussion: DiscussionSettings, discussion_id: int
) -> _Known:
    held = held_post_ids(session, discussion_id)
    emails = [m.email for m in discussion.moderators]
    states = notice_states(session, discussion_id, emails, held)
    return _Known(
        discussion_id,
        held,
        {m: sent for m, (sent, _, _) in states.items()},
        [Told(m, at, told) for m, (_, at, told) in states.items()],
    )


def notify_held(session: Session, runtime: Runtime, post_id: int, now: datetime) -> int:
    """Mail held post *post_id* at once to each moderator whose queue was empty.

    The notice carries the trimmed text, the sender, the question and the hold
    reason; its Reply-To is the held-post address, so replying ``approve`` or
    ``reject <reason>`` acts on this post. The other moderators hear of it in
    their next summary. Returns how many notices were queued (0 when called again).
    """
    loaded = load_post(session, post_id)
    if loaded is None:
        raise LookupError(f"no post {post_id}")
    post, _, slug = loaded
    discussion = runtime.settings.discussion(slug)
    if discussion is None:
        raise LookupError(f"post {post_id} belongs to unconfigured discussion {slug}")
    known = _known(session, discussion, post.discussion_id)
    plans = plan_on_hold(post_id, known.held, known.told, now, _window(runtime))
    queued = _send(session, runtime, discussion, known, plans, now)
    log.info(
        "held post=%s notices=%d (the other moderators: in their next summary)",
        post_id,
        queued,
    )
    return queued


def send_held_summaries(runtime: Runtime, now: datetime) -> int:
    """Queue the summaries due at *now*, one transaction per discussion; returns how many."""
    queued = 0
    for discussion in runtime.settings.discussions:
        if not discussion.moderators:
            continue
        with runtime.sessions.begin() as session:
            row = discussion_by_slug(session, discussion.slug)
            if row is None:
                continue
            known = _known(session, discussion, row.id)
            plans = plan_summaries(known.held, known.told, now, _window(runtime))
            queued += _send(session, runtime, discussion, known, plans, now)
    return queued


def next_summaries(runtime: Runtime, now: datetime) -> dict[str, datetime]:
    """Per discussion, when its next summary is due (absent: nothing waits untold)."""
    out: dict[str, datetime] = {}
    with runtime.sessions() as session:
        for discussion in runtime.settings.discussions:
            row = discussion_by_slug(session, discussion.slug)
            if row is None or not discussion.moderators:
                continue
            known = _known(session, discussion, row.id)
            at = next_summary_at(known.held, known.told, now, _window(runtime))
            if at is not None:
                out[discussion.slug] = at
    return out


def _send(
    session: Session,
    runtime: Runtime,
    discussion: DiscussionSettings,
    known: _Known,
    plans: list[NoticePlan],
    now: datetime,
) -> int:
    moderators = {m.email: m for m in discussion.moderators}
    queued = 0
    for plan in plans:
        seen = known.seen[plan.moderator]
        if not claim_notice(session, known.discussion_id, plan.moderator, seen, now):
            log.info("held-post mail to %s: sent by another node", plan.moderator)
            continue
        moderator = moderators[plan.moderator]
        if plan.kind is HeldMailKind.SINGLE:
            out = _single(session, runtime, discussion, moderator, plan.new[0])
        else:
            out = _summary(session, runtime, discussion, moderator, plan, seen + 1)
        if out is None:
            continue
        queue_mail(
            session,
            runtime.settings,
            runtime.key,
            discussion,
            known.discussion_id,
            out,
            now,
        )
        assert out.message_id is not None
        record_told(session, plan.moderator, plan.new, out.message_id, now)
        queued += 1
        log.info(
            "%s to %s message-id=%s posts=%s",
            out.kind,
            plan.moderator,
            out.message_id,
            ",".join(str(p) for p in plan.new),
        )
    return queued


def _single(
    session: Session,
    runtime: Runtime,
    discussion: DiscussionSettings,
    moderator: Moderator,
    post_id: int,
) -> Outgoing | None:
    loaded = load_post(session, post_id)
    if loaded is None:
        return None
    post, number, _ = loaded
    book = AddressBook(discussion.slug, runtime.settings.service.domain)
    held_address = held_post_address(book, runtime.key, post_id)
    key = held_notice_key(post_id, moderator.email)
    return Outgoing(
        template="mod-held",
        language=moderator.language,
        to_address=moderator.email,
        to_name=moderator.name,
        dedupe_key=key,
        kind="mod-held",
        context={
            **post_context(discussion, post, number, moderator.language),
            "moderator_name": moderator.name,
            "held_address": held_address,
        },
        reply_to=held_address,
        auto_submitted="auto-generated",
        message_id=stable_message_id(key, runtime.settings.service.domain, "mod-held"),
    )


def _summary(
    session: Session,
    runtime: Runtime,
    discussion: DiscussionSettings,
    moderator: Moderator,
    plan: NoticePlan,
    number: int,
) -> Outgoing:
    waiting = plan.waiting[-SUMMARY_WAITING_LIMIT:]
    entries = _entries(
        session, runtime, discussion, moderator.language, [*plan.new, *waiting]
    )
    key = f"held-summary:{discussion.slug}:{moderator.email}:{number}"
    return Outgoing(
        template="mod-summary",
        language=moderator.language,
        to_address=moderator.email,
        to_name=moderator.name,
        dedupe_key=key,
        kind="mod-summary",
        context={
            "moderator_name": moderator.name,
            "new": [entries[p] for p in plan.new if p in entries],
            "waiting": [entries[p] for p in waiting if p in entries],
            "waiting_more": len(plan.waiting) - len(waiting),
            "minutes": runtime.settings.moderation.notice_minutes,
        },
        auto_submitted="auto-generated",
        message_id=stable_message_id(
            key, runtime.settings.service.domain, "mod-summary"
        ),
    )


def _entries(
    session: Session,
    runtime: Runtime,
    discussion: DiscussionSettings,
    language: str,
    post_ids: list[int],
) -> dict[int, dict[str, Any]]:
    """Each post's summary entry: who, which question, why, an excerpt, its address."""
    book = AddressBook(discussion.slug, runtime.settings.service.domain)
    found: dict[int, dict[str, Any]] = {}
    rows = session.execute(
        select(Post, Question.number)
        .join(Question, Question.id == Post.question_id)
        .where(Post.id.in_(post_ids))
    )
    for post, number in rows:
        context = post_context(discussion, post, int(number), language)
        body = " ".join(post.body.split())
        context["excerpt"] = body[:SUMMARY_EXCERPT]
        context["excerpt_cut"] = len(body) > SUMMARY_EXCERPT
        context["held_address"] = held_post_address(book, runtime.key, post.id)
        found[post.id] = context
    return found
