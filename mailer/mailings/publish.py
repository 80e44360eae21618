"""Publishing an approved post: one copy to every subscriber who gets each post.

Called by the inbound pipeline and by the moderators, inside their transaction,
when a post becomes approved. The copy is a list mail (:mod:`mailer.mailings.listmail`),
rendered once per language and queued per subscriber with the dedupe key
``post:<post>:<subscription>``, so publishing twice sends once. The copy comes
From the discussion's own address as "Ana Ruiz via <discussion>" (never the
author's address: their domain may publish DMARC p=reject), keeps the post's
Message-ID so replies thread under it, and answers go to the post's reply
address.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from mailer.config.settings import DiscussionSettings
from mailer.core.addresses import AddressBook
from mailer.core.headers import stable_message_id
from mailer.links import (
    post_url,
    question_message_id,
    question_url,
    reply_address,
)
from mailer.mailings.listmail import ListMail, queue_list_mail
from mailer.outbound.compose import message_id_safe
from store.models import DeliveryMode, Post, PostStatus, Question
from store.models import Discussion as DiscussionRow

if TYPE_CHECKING:
    from mailer.runtime import Runtime

_VIA = {"en": "{author} via {name}", "es": "{author} vía {name}"}
_SOMEONE = {
    "en": "A participant",
    "es": "Una persona participante",
    "fr": "Un participant",
}


def from_name(author: str, discussion_name: str, language: str) -> str:
    """The display name of a post copy: "Ana Ruiz via <discussion>", localised."""
    who = author.strip() or _SOMEONE.get(language, _SOMEONE["en"])
    pattern = _VIA.get(language, _VIA["en"])
    return pattern.format(author=who, name=discussion_name)


def clean_subject(subject: str, slug: str) -> str:
    """The post's subject without our own ``[slug]`` tag or ``Qn:`` prefix repeated."""
    text = " ".join(subject.split())
    text = re.sub(rf"\[{re.escape(slug)}\]\s*", "", text, flags=re.IGNORECASE)
    text = re.sub(r"^((re|aw|sv|r|rv|réf)\s*:\s*)+", "Re: ", text, flags=re.IGNORECASE)
    text = re.sub(r"^(Re: )?[QP]\d+\s*:\s*", r"\1", text)
    return text.strip()


@dataclass(frozen=True)
class PostMail:
    """What every copy of one approved post is made from."""

    discussion: DiscussionSettings
    discussion_id: int
    mail: ListMail
    context_for: Callable[[str], dict[str, Any]]


def post_mail(session: Session, runtime: Runtime, post_id: int) -> PostMail | None:
    """The copy of approved post *post_id*; None when it is not approved (or gone)."""
    settings, key = runtime.settings, runtime.key
    post = session.get(Post, post_id)
    if post is None or post.status is not PostStatus.APPROVED:
        return None
    row = session.get(DiscussionRow, post.discussion_id)
    question = session.get(Question, post.question_id)
    discussion = settings.discussion(row.slug) if row is not None else None
    if discussion is None or question is None:
        return None
    book = AddressBook(discussion.slug, settings.service.domain)
    conf_question = discussion.question(question.number)
    parent_mid = None
    if post.parent_id is not None:
        parent = session.get(Post, post.parent_id)
        parent_mid = parent.message_id if parent is not None else None
    root = question_message_id(
        settings.service.domain, discussion.slug, question.number
    )
    references = [root] + ([parent_mid] if parent_mid else [])
    subject = clean_subject(post.subject, discussion.slug)
    # Every copy keeps the post's own Message-ID, so a reply's In-Reply-To names it.
    message_id = message_id_safe(post.message_id) or stable_message_id(
        f"post:{post.id}", settings.service.domain, "post"
    )
    reply_to = reply_address(book, key, post.id)
    archived_at = post_url(settings.service.base_url, discussion.slug, post.id)
    shared = {
        "number": question.number,
        "post_subject": subject,
        "body": post.body.strip("\n"),
        "author": post.author_name.strip(),
        "organisation": post.organisation.strip(),
        "post_url": archived_at,
        "question_url": question_url(
            settings.service.base_url, discussion.slug, question.number
        ),
        "question_address": book.question(question.number),
        "reply_address": reply_to,
    }
    author = post.author_name

    def context_for(language: str) -> dict[str, Any]:
        text = (
            conf_question.text.in_language(language, discussion.default_language)
            if conf_question
            else ""
        )
        return {**shared, "question_text": text}

    def sender_for(language: str) -> str:
        name = discussion.name.in_language(language, discussion.default_language)
        return from_name(author, name, language)

    mail = ListMail(
        "post-copy",
        "post",
        f"post:{post.id}",
        reply_to=reply_to,
        references=references,
        list_post=book.question(question.number),
        in_reply_to=parent_mid or root,
        message_id=message_id,
        from_name=sender_for,
        archived_at=archived_at,
    )
    return PostMail(discussion, post.discussion_id, mail, context_for)


def publish_post(
    session: Session, runtime: Runtime, post_id: int, now: datetime
) -> int:
    """Queue a copy of approved post *post_id* to every active ``each`` subscriber.

    Returns how many copies were newly queued (0 when the post is not approved,
    or every copy was queued before). The caller commits. Inbound processing
    queues them in chunks instead (:mod:`mailer.mailings.fanout`).
    """
    made = post_mail(session, runtime, post_id)
    if made is None:
        return 0
    queued = queue_list_mail(
        session,
        runtime,
        made.discussion,
        made.discussion_id,
        [DeliveryMode.EACH],
        made.mail,
        made.context_for,
        now,
    )
    if queued:
        _wake_after_commit(session, runtime)
    return queued


def _wake_after_commit(session: Session, runtime: Runtime) -> None:
    """Let this process's outbox workers send the copies as soon as they are committed."""
    event.listen(
        session, "after_commit", lambda _s: runtime.wakes.outbox.ring(), once=True
    )
