"""The store side of routing: look up the facts a decision needs, then apply it.

Both run inside the pipeline's transaction. Posts, attachments, audit entries
and notices are written together with the message's state change, so a
message has its effect exactly once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from babel.dates import format_skeleton

from mailer.config.settings import DiscussionSettings
from mailer.core.addresses import AddressBook, Recipient
from mailer.core.headers import header_safe
from mailer.core.inline_images import own_attachments
from mailer.core.message import ParsedMessage
from mailer.core.redact import mark_for, redact_personal
from mailer.core.route import Action, Decision, Facts, Role, SenderStanding
from mailer.core.threads import KnownPost, WaitingPost, adoptions
from mailer.inbound.lookups import BatchDiscussion, Lookups
from mailer.links import own_links, question_url
from mailer.mailings.fanout import start_publishing
from mailer.moderation import notify_held
from mailer.outbound.mailing import Outgoing, queue_mail
from store.audit import record_audit
from store.posts import NewAttachment, NewPost, add_post
from store.processing import InboundItem
from store.threads import add_waits, move_under, waiting_for

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.inbound")

_ATTACHMENT_NOTE = {
    "en": "[Attachment {name} ({size}) was not kept: it is larger than {limit}.]",
    "es": "[El archivo adjunto {name} ({size}) no se ha conservado: supera {limit}.]",
    "fr": "[La pièce jointe {name} ({size}) n'a pas été conservée : elle dépasse {limit}.]",
}


def handoff_facts(runtime: Runtime, rcpt: Recipient, envelope_from: str) -> Facts:
    """The little a handed-over message needs: who sent it, nothing looked up."""
    return Facts(
        slug=rcpt.slug,
        domain=runtime.settings.service.domain,
        standing=SenderStanding(Role.UNKNOWN),
        envelope_from=envelope_from,
    )


def apply_decision(
    lookups: Lookups,
    item: InboundItem,
    parsed: ParsedMessage,
    rcpt: Recipient,
    decision: Decision,
    own_id: str,
) -> tuple[str, str]:
    """Make a POST, NOTICE or DROP decision happen; returns (decision word, reason)."""
    session, now = lookups.session, lookups.now
    view = lookups.discussion(rcpt.slug)
    if decision.audit and view is not None:
        record_audit(
            session,
            discussion_id=view.row.id,
            actor=parsed.from_address or item.envelope_from or "<>",
            action="dropped" if decision.action is Action.DROP else "refused",
            target=own_id,
            detail=f"inbound {item.id}: {decision.reason}",
            auth="system",
            now=now,
        )
    if decision.action is Action.DROP:
        return "dropped", decision.reason
    assert view is not None
    if decision.action is Action.NOTICE:
        queued = _queue_notice(lookups, view, parsed, decision)
        word = "notice" if queued else "notice-limited"
        return (
            word,
            f"{decision.reason} ({decision.notice.value if decision.notice else ''})",
        )
    assert decision.post is not None
    return _create_post(lookups, view, item, parsed, decision, own_id)


def _size(n: int) -> str:
    """A byte count for people: ``900 bytes``, ``2.0 MB``."""
    if n < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:.1f} {unit}"


def _create_post(
    lookups: Lookups,
    view: BatchDiscussion,
    item: InboundItem,
    parsed: ParsedMessage,
    decision: Decision,
    own_id: str,
) -> tuple[str, str]:
    runtime, session, now = lookups.runtime, lookups.session, lookups.now
    plan = decision.post
    assert plan is not None
    question = view.questions.get(plan.question_number)
    if question is None:
        raise LookupError(f"question {plan.question_number} has no row")
    # The one place a post's words enter the store: what every reader of the
    # archive, its exports, the report, copies and digests gets is redacted here.
    service = runtime.settings.service
    own = own_links(service.domain, service.base_url)
    mark = mark_for(parsed.language)
    body = redact_personal(parsed.new_text.strip(), own, mark)
    limit = runtime.settings.inbound.max_attachment_bytes
    lang = parsed.language if parsed.language in _ATTACHMENT_NOTE else "en"
    notes = [
        _ATTACHMENT_NOTE[lang].format(
            name=a.filename or "?", size=_size(a.size), limit=_size(limit)
        )
        for a in parsed.attachments
        if not a.kept and a.filename in plan.dropped_attachments
    ]
    if notes:
        body = "\n\n".join([body, *notes]) if body else "\n\n".join(notes)
    post_id = add_post(
        session,
        NewPost(
            discussion_id=view.row.id,
            question_id=question.id,
            parent_id=plan.parent_id,
            inbound_id=item.id,
            message_id=own_id,
            author_email=parsed.from_address,
            author_name=parsed.from_name,
            language=parsed.language,
            subject=redact_personal(parsed.subject, own, mark),
            body=body,
            full_text=redact_personal(parsed.text, own, mark),
            approved=plan.approved,
            hold_reason="; ".join(plan.hold_reasons) or None,
            received_at=now,
            attachments=[
                NewAttachment(
                    a.filename, a.content_type, a.size, a.content if a.kept else None
                )
                for a in own_attachments(parsed)
            ],
        ),
    )
    known = lookups.remember_post(
        view.row.id,
        post_id,
        plan.question_number,
        own_id,
        plan.parent_id,
        parsed.from_address,
        plan.approved,
    )
    add_waits(session, view.row.id, post_id, plan.awaiting)
    lookups.note_waits(view.row.id, plan.awaiting)
    _adopt_waiting(lookups, view.row.id, known, question.id)
    if plan.approved:
        # Publishing queues a copy for each reader of every post; with none
        # (most discussions read digests) there is nothing to queue. The copies
        # are queued after this transaction, in chunks (mailer.mailings.fanout).
        if lookups.has_each_readers(view.row.id):
            start_publishing(session, post_id, view.row.id, now)
        return "post", f"post {post_id}: {decision.reason}"
    notify_held(session, runtime, post_id, now)
    return "held", f"post {post_id}: {decision.reason}"


def _adopt_waiting(
    lookups: Lookups, discussion_id: int, parent: KnownPost, question_id: int
) -> None:
    """Move under *parent* the replies that arrived before it (refusing loops)."""
    if not lookups.may_be_awaited(discussion_id, parent.message_id):
        return
    waiting = waiting_for(lookups.session, discussion_id, parent.message_id)
    if not waiting:
        return
    accepted = {
        w.post_id
        for w in adoptions(
            parent, [WaitingPost(w.post_id, w.message_id, w.distance) for w in waiting]
        )
    }
    moves = [w for w in waiting if w.post_id in accepted]
    move_under(lookups.session, parent.post_id, question_id, moves)
    lookups.moved_under(discussion_id, parent, {w.post_id: w.message_id for w in moves})
    for move in moves:
        log.info(
            "threaded post=%d under post=%d message-id=%s (its parent arrived after it)",
            move.post_id,
            parent.post_id,
            parent.message_id,
        )


def _queue_notice(
    lookups: Lookups, view: BatchDiscussion, parsed: ParsedMessage, decision: Decision
) -> bool:
    """Queue one notice; False when this address already had this kind today."""
    assert decision.notice is not None
    runtime, session, now = lookups.runtime, lookups.session, lookups.now
    discussion, discussion_id = view.config, view.row.id
    s = runtime.settings
    lang = decision.language
    book = AddressBook(discussion.slug, s.service.domain)
    states = view.questions
    open_questions = [
        {
            "number": q.number,
            "text": q.text.in_language(lang, discussion.default_language),
            "address": book.question(q.number),
            "url": question_url(s.service.base_url, discussion.slug, q.number),
        }
        for q in discussion.questions
        if q.number in states and states[q.number].released_at is not None
    ]
    context: dict[str, Any] = {
        "open_questions": open_questions,
        "their_subject": header_safe(parsed.subject, 120),
    }
    number = decision.question_number
    if number is not None and discussion.question(number) is not None:
        q = discussion.question(number)
        assert q is not None
        row = states.get(number)
        context["question"] = {
            "number": number,
            "text": q.text.in_language(lang, discussion.default_language),
            "address": book.question(number),
            "release_at": _when(
                row.release_at if row else q.release_at, discussion, lang
            ),
        }
    address = decision.notice_to.lower()
    day = now.date().isoformat()
    refs = tuple(parsed.references[-10:]) + (
        (parsed.message_id,) if parsed.message_id else ()
    )
    return queue_mail(
        session,
        s,
        runtime.key,
        discussion,
        discussion_id,
        Outgoing(
            template=decision.notice.template,
            language=lang,
            to_address=decision.notice_to,
            dedupe_key=f"auto:{decision.notice.value}:{address}:{day}",
            kind="notice",
            context=context,
            auto_submitted="auto-replied",
            in_reply_to=parsed.message_id,
            references=refs,
        ),
        now,
    )


def _when(moment: datetime, discussion: DiscussionSettings, language: str) -> str:
    local = moment.astimezone(discussion.time_zone)
    day = format_skeleton("yMMMMd", local, locale=language)
    return f"{day}, {format_skeleton('Hm', local, locale=language)} ({discussion.time_zone.key})"
