"""One list mail to many subscribers: what announcements and digests have in common.

Each renders one body per language (:class:`SharedMail`, made the first time a
reader of that language comes up, from the template context the caller gives
for it) and gives every subscriber a copy that differs only in its address,
language and dedupe key ``<prefix>:<subscription>``; :func:`queue_shared`
pages through the subscribers and queues the copies in batches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from mailer.config.settings import DiscussionSettings, Settings
from mailer.outbound.bulk import SharedMail, queue_shared, shared_row
from mailer.outbound.mailing import Outgoing
from store.models import DeliveryMode
from store.outbox import OutboxRecipient, OutgoingRow

if TYPE_CHECKING:
    from mailer.runtime import Runtime


@dataclass(frozen=True)
class ListMail:
    """What every copy of one list mail shares but the body: template, kind, headers.

    *from_name*, when given, names the sender per language (a post's copy
    comes from "Ana Ruiz via <discussion>"); *message_id* is then the same on
    every copy, so that replies thread under the one message they answer.
    """

    template: str
    kind: str
    dedupe_prefix: str
    reply_to: str | None = None
    references: Sequence[str] = ()
    list_post: str | None = None
    in_reply_to: str | None = None
    message_id: str | None = None
    from_name: Callable[[str], str] | None = None
    archived_at: str | None = None

    def copy_for(self, person: OutboxRecipient, language: str) -> Outgoing:
        """The copy for one subscriber, keyed ``<dedupe_prefix>:<subscription>``."""
        return Outgoing(
            template=self.template,
            language=language,
            to_address=person.email,
            to_name=person.name,
            dedupe_key=f"{self.dedupe_prefix}:{person.subscription_id}",
            kind=self.kind,
            context={},
            subscription_id=person.subscription_id,
            link_generation=person.link_generation,
            reply_to=self.reply_to,
            in_reply_to=self.in_reply_to,
            references=self.references,
            as_list_mail=True,
            list_post=self.list_post,
            from_name=self.from_name(language) if self.from_name else None,
            message_id=self.message_id,
            archived_at=self.archived_at,
        )


def shared_per_language(
    settings: Settings,
    discussion: DiscussionSettings,
    template: str,
    context_for: Callable[[str], Mapping[str, Any]],
) -> Callable[[str], SharedMail]:
    """The body of *template* per language, rendered once, when a reader first needs it."""
    cache: dict[str, SharedMail] = {}

    def shared(language: str) -> SharedMail:
        if language not in cache:
            cache[language] = SharedMail(
                settings, discussion, template, language, context_for(language)
            )
        return cache[language]

    return shared


def queue_list_mail(
    session: Session,
    runtime: Runtime,
    discussion: DiscussionSettings,
    discussion_id: int,
    modes: Sequence[DeliveryMode],
    mail: ListMail,
    context_for: Callable[[str], Mapping[str, Any]],
    now: datetime,
    after_batch: Callable[[], None] | None = None,
    shared_for: Callable[[str], SharedMail] | None = None,
) -> int:
    """Queue *mail* to every active subscriber in *modes*; returns how many copies were new.

    *context_for(language)* is asked once per language read, for what the
    template needs besides the discussion's texts; *after_batch* is as for
    :func:`queue_shared`. *shared_for(language)*, when given, makes each
    language's body instead (a digest fitted to its size limit).
    """
    settings = runtime.settings
    if shared_for is None:
        shared_for = shared_per_language(
            settings, discussion, mail.template, context_for
        )
    return queue_shared(
        session,
        settings,
        runtime.key,
        discussion,
        discussion_id,
        modes,
        shared_for,
        mail.copy_for,
        now,
        after_batch=after_batch,
    )


def list_rows(
    runtime: Runtime,
    discussion: DiscussionSettings,
    discussion_id: int,
    people: Sequence[OutboxRecipient],
    mail: ListMail,
    shared_for: Callable[[str], SharedMail],
    now: datetime,
) -> list[OutgoingRow]:
    """The copies of *mail* for *people*, to be queued by the caller (a chunk)."""
    return [
        shared_row(
            runtime.settings,
            runtime.key,
            discussion,
            discussion_id,
            person,
            shared_for,
            mail.copy_for,
            now,
        )
        for person in people
    ]
