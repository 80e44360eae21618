"""What routing needs from the store, looked up once for a whole batch.

A batch of messages shares one :class:`Lookups`: the discussion's state and
questions are read once, the senders and the posts the messages point at are
read in bulk, and every post created in the batch is remembered at once, so
the next message sees it (a reply in the same batch threads under it; a
sender's second post counts against the first-post rule and the rate limit).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailer.config.settings import DiscussionSettings
from mailer.core.addresses import AddressKind, Recipient
from mailer.core.choices import OversizeAttachments
from mailer.core.errors import BadToken
from mailer.core.message import MessageClass, ParsedMessage
from mailer.core.modauth import (
    AuthOutcome,
    authres_dkim_pass,
    decide,
    domain_of,
    trusted_results,
)
from mailer.core.route import (
    AUTO_REPLY_HOLD,
    Facts,
    Policy,
    QuestionState,
    Role,
    SenderStanding,
    TokenState,
)
from mailer.core.threads import KnownPost, candidate_ids
from mailer.links import post_from_reply_token
from store.models import DeliveryMode, DiscussionState, Question
from store.models import Discussion as DiscussionRow
from store.posts import (
    PostRef,
    SenderRecord,
    has_readers,
    held_with_reason,
    post_ref,
    posts_by_message_ids,
    recent_window,
    sender_records,
)
from store.threads import awaited_among

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.inbound")

# All the DNS lookups that check one moderator's post, together. The message's
# write transaction waits meanwhile (on SQLite, so does the SMTP listener's
# 250); a post not proven in time is moderated like anyone's, nothing more.
POST_DKIM_SECONDS = 3.0


@dataclass(frozen=True)
class DiscussionRowState:
    """A discussion's row as routing needs it."""

    id: int
    state: DiscussionState


@dataclass(frozen=True)
class QuestionRowState:
    """A question's row as routing needs it."""

    id: int
    number: int
    release_at: datetime
    released_at: datetime | None


@dataclass
class BatchDiscussion:
    """One discussion as this batch sees it: configuration, row and questions."""

    config: DiscussionSettings
    row: DiscussionRowState
    questions: dict[int, QuestionRowState]

    @property
    def closed(self) -> bool:
        """True once closed (by the schedule or a moderator)."""
        return self.row.state is DiscussionState.CLOSED


def _known(ref: PostRef) -> KnownPost:
    return KnownPost(ref.post_id, ref.question_number, ref.message_id, ref.ancestors)


def policy_of(
    discussion: DiscussionSettings, oversize_attachments: OversizeAttachments
) -> Policy:
    """A discussion's configured policy as the router's value."""
    return Policy(
        moderation=discussion.moderation,
        unknown_senders=discussion.unknown_senders,
        max_links=discussion.max_links,
        max_posts_per_hour=discussion.max_posts_per_hour,
        max_post_chars=discussion.max_post_chars,
        oversize_attachments=oversize_attachments,
        languages=discussion.languages,
        default_language=discussion.default_language,
    )


_DISCUSSION = select(DiscussionRow.id, DiscussionRow.state).where(
    DiscussionRow.slug == bindparam("slug")
)
_QUESTIONS = select(
    Question.id, Question.number, Question.release_at, Question.released_at
).where(Question.discussion_id == bindparam("discussion"))


class Lookups:
    """Per-transaction cache of discussions, senders and known posts."""

    def __init__(self, runtime: Runtime, session: Session, now: datetime) -> None:
        self.runtime = runtime
        self.session = session
        self.now = now
        self._discussions: dict[str, BatchDiscussion | None] = {}
        self._senders: dict[tuple[int, str], SenderRecord] = {}
        self._known: dict[tuple[int, str], KnownPost] = {}
        self._by_id: dict[int, KnownPost] = {}
        self._asked: set[tuple[int, str]] = set()
        # Moderators' proofs by (discussion slug, sender, message digest).
        self._proofs: dict[tuple[str, str, bytes], bool] = {}
        self._readers: dict[int, bool] = {}
        # Late parents: the Message-IDs asked in this transaction, by discussion,
        # and those of them some stored post waits for (see read_waits).
        self._waits_asked: dict[int, set[str]] = {}
        self._awaited: dict[int, set[str]] = {}

    def rebind(self, session: Session, now: datetime) -> None:
        """Go on in the next transaction of the same batch (SQLite's short ones).

        What is cached stays: within a batch it is as current as the values a
        PostgreSQL transaction read at its start. What :meth:`read_waits` read
        goes: it is read again inside each write transaction.
        """
        self.session = session
        self.now = now
        self._waits_asked.clear()
        self._awaited.clear()

    def read_waits(self, wanted: Iterable[tuple[int, str]]) -> None:
        """Read in one query per discussion which of the (discussion id, Message-ID)
        pairs of the posts this transaction is about to store some stored post
        waits for; :meth:`may_be_awaited` then answers without a query for each."""
        by_discussion: dict[int, set[str]] = {}
        for discussion_id, message_id in wanted:
            by_discussion.setdefault(discussion_id, set()).add(message_id)
        for discussion_id, mids in by_discussion.items():
            found = awaited_among(self.session, discussion_id, sorted(mids))
            self._waits_asked.setdefault(discussion_id, set()).update(mids)
            self._awaited.setdefault(discussion_id, set()).update(found)

    def may_be_awaited(self, discussion_id: int, message_id: str) -> bool:
        """False only when no post waits for *message_id*: read so in this transaction
        (:meth:`read_waits`), and no post stored since named it (:meth:`note_waits`)."""
        if message_id in self._awaited.get(discussion_id, ()):
            return True
        return message_id not in self._waits_asked.get(discussion_id, ())

    def note_waits(self, discussion_id: int, message_ids: Iterable[str]) -> None:
        """A post stored in this transaction waits for *message_ids*."""
        self._awaited.setdefault(discussion_id, set()).update(message_ids)

    def discussion(self, slug: str) -> BatchDiscussion | None:
        """The configured discussion *slug* with its row and question rows, or None."""
        if slug not in self._discussions:
            config = self.runtime.settings.discussion(slug)
            connection = self.session.connection()
            found = connection.execute(_DISCUSSION, {"slug": slug}).first()
            if config is None or found is None:
                self._discussions[slug] = None
            else:
                row = DiscussionRowState(*found)
                questions = [
                    QuestionRowState(*q)
                    for q in connection.execute(_QUESTIONS, {"discussion": row.id})
                ]
                self._discussions[slug] = BatchDiscussion(
                    config, row, {q.number: q for q in questions}
                )
        return self._discussions[slug]

    def prefetch(self, items: Iterable[tuple[ParsedMessage, Recipient]]) -> None:
        """Read the senders and referenced posts of many messages in a few queries."""
        senders: dict[int, set[str]] = {}
        ids: dict[int, set[str]] = {}
        for parsed, rcpt in items:
            state = self.discussion(rcpt.slug)
            if state is None:
                continue
            d = state.row.id
            senders.setdefault(d, set()).add(parsed.from_address.strip().lower())
            wanted = ids.setdefault(d, set())
            wanted.update(candidate_ids(parsed.in_reply_to, parsed.references))
            if parsed.message_id:
                wanted.add(parsed.message_id)
        since = recent_window(self.now)
        for d, emails in senders.items():
            fresh = [e for e in emails if (d, e) not in self._senders]
            for email, record in sender_records(self.session, d, fresh, since).items():
                self._senders[(d, email)] = record
        for d, mids in ids.items():
            fresh = [m for m in mids if (d, m) not in self._asked]
            self._asked.update((d, m) for m in fresh)
            for mid, ref in posts_by_message_ids(self.session, d, fresh).items():
                self._known[(d, mid)] = self._by_id[ref.post_id] = _known(ref)

    def prove_moderators(
        self, items: Iterable[tuple[ParsedMessage, Recipient, bytes]]
    ) -> None:
        """Check, ahead of the write, the mail of moderators: DNS may take seconds,
        and on SQLite the SMTP listener's 250 waits while a write is open."""
        for parsed, rcpt, raw in items:
            state = self.discussion(rcpt.slug)
            sender = parsed.from_address.strip().lower()
            if state is not None and state.config.is_moderator(sender):
                self._proven(parsed, rcpt.slug, sender, raw)

    def _proven(
        self, parsed: ParsedMessage, slug: str, sender: str, raw: bytes
    ) -> bool:
        """True when the mail proves it comes from *sender*'s domain (asked once)."""
        key = (slug, sender, hashlib.sha256(raw).digest())
        proof = self._proofs.get(key)
        if proof is None:
            proof = self._proofs[key] = self._prove(parsed, sender, raw)
        return proof

    def _prove(self, parsed: ParsedMessage, sender: str, raw: bytes) -> bool:
        """True when the mail proves it comes from *sender*'s domain, as a command must.

        Asked only for a moderator's address: the trusted MTA's
        Authentication-Results, else a DKIM signature checked here (DNS, within
        ``POST_DKIM_SECONDS``). A From header alone is anyone's to write:
        unproven, the post is moderated like anyone else's (issue 9, promise 5).
        """
        # Imported on first use: most senders are not moderators.
        from mailer.moderation.dkimcheck import resolver_dnsfunc, verify_dkim

        inbound = self.runtime.settings.inbound
        domain = domain_of(sender)
        trusted = trusted_results(parsed.headers, inbound.trusted_authserv_id)
        authres_ok = authres_dkim_pass(trusted, domain)
        dkim_ok, why = False, "no domain in From"
        if not authres_ok and domain:
            verdict = verify_dkim(
                raw,
                sender,
                resolver_dnsfunc(inbound.dkim_resolver),
                timeout=POST_DKIM_SECONDS,
            )
            dkim_ok, why = verdict.ok, verdict.reason
        decision = decide(
            is_moderator=True, dkim_aligned=dkim_ok, authres_aligned=authres_ok
        )
        if decision.outcome is AuthOutcome.RUN:
            assert decision.method is not None
            outcome = f"proven by {decision.method.value}"
        else:
            outcome = f"not proven, moderated as anyone's: {why}"
        log.info(
            "moderator post message-id=%s from=%s %s",
            parsed.message_id or "-",
            sender,
            outcome,
        )
        return decision.outcome is AuthOutcome.RUN

    def facts(
        self, parsed: ParsedMessage, rcpt: Recipient, envelope_from: str, raw: bytes
    ) -> Facts | None:
        """Everything the router needs for a post address, or None (no such discussion).

        *raw*: the message as received, for a moderator's DKIM signature.
        """
        state = self.discussion(rcpt.slug)
        if state is None:
            return None
        self.prefetch([(parsed, rcpt)])
        d, config = state.row.id, state.config
        sender = parsed.from_address.strip().lower()
        record = self._senders.get((d, sender), SenderRecord(False, False, "", 0, 0))
        if record.banned:
            role = Role.BANNED
        elif config.is_moderator(sender) and self._proven(
            parsed, rcpt.slug, sender, raw
        ):
            role = Role.MODERATOR
        elif record.subscribed:
            role = Role.SUBSCRIBER
        else:
            role = Role.UNKNOWN
        wanted = [*candidate_ids(parsed.in_reply_to, parsed.references)]
        if parsed.message_id:
            wanted.append(parsed.message_id)
        known = {m: self._known[(d, m)] for m in wanted if (d, m) in self._known}
        token_state, token_post = self._token(rcpt, d)
        held: frozenset[int] = frozenset()
        if parsed.message_class is MessageClass.AUTO_REPLY:  # rare: asked each time
            ids = held_with_reason(
                self.session, d, sender, AUTO_REPLY_HOLD, self.now - timedelta(days=1)
            )
            held = frozenset(n for n, q in state.questions.items() if q.id in ids)
        return Facts(
            slug=rcpt.slug,
            domain=self.runtime.settings.service.domain,
            standing=SenderStanding(
                role, record.approved_posts, record.recent_posts, record.language
            ),
            envelope_from=envelope_from,
            policy=policy_of(
                config, self.runtime.settings.inbound.oversize_attachments
            ),
            discussion_closed=state.closed,
            questions={
                n: QuestionState.RELEASED
                if q.released_at is not None
                else QuestionState.NOT_RELEASED
                for n, q in state.questions.items()
                if config.question(n) is not None
            },
            known_posts=known,
            token_state=token_state,
            token_post=token_post,
            auto_replies_held=held,
        )

    def _token(
        self, rcpt: Recipient, discussion_id: int
    ) -> tuple[TokenState, KnownPost | None]:
        if rcpt.kind is not AddressKind.REPLY:
            return TokenState.NONE, None
        try:
            post_id = post_from_reply_token(self.runtime.key, rcpt.detail)
        except (BadToken, ValueError):
            return TokenState.FORGED, None
        known = self._by_id.get(post_id)
        if known is None:
            ref = post_ref(self.session, discussion_id, post_id)
            if ref is None:
                return TokenState.UNKNOWN_POST, None
            known = self._by_id[post_id] = _known(ref)
        return TokenState.VALID, known

    def has_each_readers(self, discussion_id: int) -> bool:
        """Whether anyone gets each post of the discussion (asked once per batch)."""
        if discussion_id not in self._readers:
            self._readers[discussion_id] = has_readers(
                self.session, discussion_id, (DeliveryMode.EACH,)
            )
        return self._readers[discussion_id]

    def forget_changeable(self) -> None:
        """Ask again after a handler ran: a confirmation, a mode change, a ban or a
        moderator's close may have changed the readers, the senders or the discussion.
        """
        self._readers.clear()
        self._senders.clear()
        self._discussions.clear()

    def remember_post(
        self,
        discussion_id: int,
        post_id: int,
        question_number: int,
        message_id: str,
        parent_id: int | None,
        author: str,
        approved: bool,
    ) -> KnownPost:
        """Make a post created in this transaction visible to the next messages."""
        ancestors: tuple[str, ...] = ()
        parent = self._by_id.get(parent_id) if parent_id is not None else None
        if parent is not None:
            ancestors = (parent.message_id, *parent.ancestors)
        post = KnownPost(post_id, question_number, message_id, ancestors)
        self._known[(discussion_id, message_id)] = self._by_id[post_id] = post
        key = (discussion_id, author.strip().lower())
        record = self._senders.get(key, SenderRecord(False, False, "", 0, 0))
        self._senders[key] = dataclasses.replace(
            record,
            approved_posts=record.approved_posts + (1 if approved else 0),
            recent_posts=record.recent_posts + 1,
        )
        return post

    def moved_under(
        self, discussion_id: int, parent: KnownPost, moved_posts: dict[int, str]
    ) -> None:
        """Posts moved under *parent* (ids to Message-IDs), and their replies,
        now carry its question and its ancestry in this batch's cache too."""
        moved = set(moved_posts)
        above = (parent.message_id, *parent.ancestors)
        moved_ids = set(moved_posts.values())
        for post_id, post in list(self._by_id.items()):
            if post_id in moved:
                ancestors = above
            else:
                cut = next(
                    (i for i, mid in enumerate(post.ancestors) if mid in moved_ids),
                    None,
                )
                if cut is None:
                    continue
                ancestors = (*post.ancestors[: cut + 1], *above)
            changed = dataclasses.replace(
                post, question_number=parent.question_number, ancestors=ancestors
            )
            self._by_id[post_id] = changed
            self._known[(discussion_id, post.message_id)] = changed
