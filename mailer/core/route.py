"""What a received message should do, decided from values the adapter looked up.

``route_message`` is pure: the recipient, the parsed message and plain facts
about the store (the question's state, the sender's standing, known posts)
go in; a :class:`Decision` comes out. The adapter applies it in one
transaction. Outcomes:

- ``POST``: a post under a question, maybe under a parent post, approved or
  held with the reasons;
- ``NOTICE``: a short localized answer instead of a post (not released yet,
  discussion closed, unknown sender refused, please use a question address,
  reply address not valid), never to automatic mail or a null sender;
- ``DROP``: nothing happens (auto-reply, bounce, loop, banned sender, already
  posted), logged, audited when a person was refused; an auto-reply known only
  from its text, subject or From (no robot header) is held instead, once a day
  per sender and question (:func:`robot_by_headers`);
- ``HANDOFF``: another handler's address (request, moderators, confirm,
  bounces, postmaster); a feedback report (spam complaint) goes to the
  bounce handler whatever address it came to.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from mailer.core.addresses import AddressKind, Recipient
from mailer.core.choices import Moderation, OversizeAttachments, UnknownSenders
from mailer.core.classify import classify
from mailer.core.inline_images import own_attachments
from mailer.core.message import MessageClass, ParsedMessage
from mailer.core.threads import (
    KnownPost,
    ThreadPlace,
    awaited_ids,
    find_thread,
    makes_loop,
)
from mailer.core.trim import count_links

POST_ADDRESSES = (AddressKind.DISCUSSION, AddressKind.QUESTION, AddressKind.REPLY)
# The addresses whose mail is handed to a handler: every kind that is not a post's.
# ``mailer.inbound.handlers.handler_for`` has one for each (mypy checks its match).
HandoffKind = Literal[
    AddressKind.REQUEST,
    AddressKind.MODERATORS,
    AddressKind.BOUNCES,
    AddressKind.CONFIRM,
    AddressKind.POSTMASTER,
]
# Addresses whose handlers answer people: automatic mail must never reach them.
ANSWERING_ADDRESSES = (
    AddressKind.REQUEST,
    AddressKind.MODERATORS,
    AddressKind.CONFIRM,
)
_DAEMONS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply")
# The hold reason of a message only its words call automatic (mod-held.txt.j2
# translates it).
AUTO_REPLY_HOLD = "looks like an automatic reply: check before publishing"


class Action(enum.Enum):
    """What the adapter does with a message."""

    POST = "post"
    NOTICE = "notice"
    DROP = "drop"
    HANDOFF = "handoff"


class NoticeKind(enum.Enum):
    """Which automatic answer a sender gets; also the template name's tail."""

    NOT_RELEASED = "not-released"
    CLOSED = "closed"
    UNKNOWN_SENDER = "unknown-sender"
    USE_QUESTION_ADDRESS = "use-question-address"
    BAD_REPLY_ADDRESS = "bad-reply-address"

    @property
    def template(self) -> str:
        """The template that says it: ``notice-<kind>``."""
        return f"notice-{self.value}"


class QuestionState(enum.Enum):
    """A question as the store knows it."""

    RELEASED = "released"
    NOT_RELEASED = "not-released"
    UNKNOWN = "unknown"  # no such question in the discussion


class Role(enum.Enum):
    """Who the sender is to this discussion."""

    MODERATOR = "moderator"
    SUBSCRIBER = "subscriber"  # an active (confirmed) subscription
    UNKNOWN = "unknown"
    BANNED = "banned"


class TokenState(enum.Enum):
    """What checking the token of a ``reply+<token>`` address gave."""

    NONE = "none"  # not a reply address
    VALID = "valid"
    FORGED = "forged"  # bad signature or malformed
    UNKNOWN_POST = "unknown-post"  # signed by us, but the post is gone


@dataclass(frozen=True)
class SenderStanding:
    """The sender's role and recent activity, as looked up in the store."""

    role: Role
    approved_posts: int = 0
    posts_last_hour: int = 0
    language: str = ""  # the subscription's language, when there is one


@dataclass(frozen=True)
class Policy:
    """A discussion's moderation policy and limits (from its configuration)."""

    moderation: Moderation = Moderation.FIRST_POST
    unknown_senders: UnknownSenders = UnknownSenders.HOLD
    max_links: int = 10
    max_posts_per_hour: int = 5
    max_post_chars: int = 20_000
    oversize_attachments: OversizeAttachments = OversizeAttachments.DROP
    languages: tuple[str, ...] = ("en",)
    default_language: str = "en"

    def __post_init__(self) -> None:
        # A word given where a member is expected is converted here, or refused
        # with ValueError naming it.
        object.__setattr__(self, "moderation", Moderation(self.moderation))
        object.__setattr__(
            self, "unknown_senders", UnknownSenders(self.unknown_senders)
        )
        object.__setattr__(
            self,
            "oversize_attachments",
            OversizeAttachments(self.oversize_attachments),
        )


@dataclass(frozen=True)
class Facts:
    """What the adapter looked up for one message and one recipient."""

    slug: str
    domain: str
    standing: SenderStanding
    envelope_from: str  # "" for the null sender
    policy: Policy = field(default_factory=Policy)
    discussion_closed: bool = False
    questions: Mapping[int, QuestionState] = field(default_factory=dict)
    known_posts: Mapping[str, KnownPost] = field(default_factory=dict)
    token_state: TokenState = TokenState.NONE
    token_post: KnownPost | None = None
    # Questions for which this sender has a message held as AUTO_REPLY_HOLD
    # in the last day: another one is dropped, not held again.
    auto_replies_held: frozenset[int] = frozenset()


@dataclass(frozen=True)
class PostPlan:
    """A post to create: where, and whether it is approved or held (and why)."""

    question_number: int
    parent_id: int | None
    approved: bool
    hold_reasons: tuple[str, ...] = ()
    dropped_attachments: tuple[str, ...] = ()  # filenames over the size limit
    awaiting: tuple[str, ...] = ()  # nearer parents not stored yet, nearest first

    def __post_init__(self) -> None:
        if self.approved == bool(self.hold_reasons):
            raise ValueError("a post is approved exactly when it has no hold reason")


@dataclass(frozen=True)
class Decision:
    """The outcome of routing one message to one recipient."""

    action: Action
    reason: str
    post: PostPlan | None = None
    notice: NoticeKind | None = None
    notice_to: str = ""
    language: str = "en"
    question_number: int | None = None  # the question a notice is about
    handler: HandoffKind | None = None
    audit: bool = False  # a person was refused: write an audit entry

    def __post_init__(self) -> None:
        if (self.action is Action.POST) != (self.post is not None):
            raise ValueError("POST decisions, and only they, carry a post plan")
        if (self.action is Action.NOTICE) != (self.notice is not None):
            raise ValueError("NOTICE decisions, and only they, carry a notice")
        if self.action is Action.NOTICE and not self.notice_to:
            raise ValueError("a notice needs an address to go to")
        if (self.action is Action.HANDOFF) != (self.handler is not None):
            raise ValueError("HANDOFF decisions, and only they, name a handler")


def is_automatic(parsed: ParsedMessage, envelope_from: str) -> bool:
    """True for mail that must never be answered: auto-replies, bounces, loops, <>."""
    if parsed.message_class is not MessageClass.NORMAL:
        return True
    if not envelope_from.strip("<> "):
        return True
    local = envelope_from.rpartition("@")[0].lower()
    return local in _DAEMONS or local.startswith("mailer-daemon")


_LIST_HEADERS = frozenset({"list-id", "list-post", "list-unsubscribe"})


def robot_by_headers(parsed: ParsedMessage, envelope_from: str, domain: str) -> bool:
    """True when the envelope or a header says a program sent *parsed*.

    A bounce or a loop, a null or daemon envelope sender, a MAILER-DAEMON From,
    RFC 3834 ``Auto-Submitted``, ``X-Autoreply`` and its kin, ``Precedence``
    ``bulk|junk|list|auto_reply``, a DSN, MDN or ARF report, a mailing list's
    ``List-*`` headers, or a subject that responders write and people do not
    ("Automatic reply:", "Out of office:", "Abwesenheitsnotiz:" and their kin in
    classify's table). An auto-reply known only by its text or a no-reply From
    may be a person's words written that way.
    """
    if parsed.message_class in (MessageClass.BOUNCE, MessageClass.LOOP):
        return True
    if parsed.complaint is not None or any(
        name.lower() in _LIST_HEADERS for name, _ in parsed.headers
    ):
        return True
    envelope = envelope_from.strip("<> ")
    local = envelope.rpartition("@")[0].lower()
    if not envelope or local in _DAEMONS or local.startswith("mailer-daemon"):
        return True
    by_headers = classify(
        parsed.headers,
        subject=parsed.subject,
        from_address=parsed.from_address,
        envelope_from=envelope,
        message_id=parsed.message_id,
        own_domain=domain.lower(),
    )
    return by_headers is not MessageClass.NORMAL


def auto_reply_by_words(parsed: ParsedMessage, envelope_from: str, domain: str) -> bool:
    """True for an auto-reply that only its subject, text or From calls one: held."""
    return parsed.message_class is MessageClass.AUTO_REPLY and not robot_by_headers(
        parsed, envelope_from, domain
    )


def may_answer(parsed: ParsedMessage, envelope_from: str, domain: str) -> bool:
    """False for mail that gets no automatic answer (DESIGN.md, issue 9 promise 7).

    Automatic mail and null senders, mail from a mailing list (RFC 2369/2919
    headers: the answer would go to the list or its bounce address), and mail
    whose envelope sender is at our own domain (our own mail coming back).
    """
    if is_automatic(parsed, envelope_from):
        return False
    if any(name.lower() in _LIST_HEADERS for name, _ in parsed.headers):
        return False
    own = envelope_from.strip("<> ").rpartition("@")[2].lower().rstrip(".")
    return own != domain.lower()


def answer_address(parsed: ParsedMessage, facts: Facts) -> str | None:
    """Where an automatic answer may go (RFC 3834 section 4: the envelope sender).

    None when the message must not be answered at all, or the address is one
    of our own (a loop in the making).
    """
    if not may_answer(parsed, facts.envelope_from, facts.domain):
        return None
    return facts.envelope_from.strip("<> ")


def notice_language(parsed: ParsedMessage, facts: Facts) -> str:
    """The subscriber's language, else the message's if the discussion has it."""
    langs = facts.policy.languages
    for candidate in (facts.standing.language, parsed.language):
        if candidate and candidate in langs:
            return candidate
    return facts.policy.default_language


def route_message(
    recipient: Recipient, parsed: ParsedMessage, facts: Facts
) -> Decision:
    """Decide what *parsed*, sent to *recipient*, should do (see the module docstring)."""
    kind = recipient.kind
    if parsed.complaint is not None:
        # A feedback loop reports to the address the operator registered
        # (postmaster, a list address) or to our envelope sender: wherever it
        # lands, the bounce handler reads it.
        return Decision(Action.HANDOFF, "feedback report", handler=AddressKind.BOUNCES)
    handoff = handoff_kind(kind)
    if handoff is None:
        return _route_post(recipient, parsed, facts)
    if handoff in ANSWERING_ADDRESSES and not may_answer(
        parsed, facts.envelope_from, facts.domain
    ):
        return Decision(Action.DROP, f"{_auto_reason(parsed)} to {kind.value}")
    return Decision(Action.HANDOFF, kind.value, handler=handoff)


def handoff_kind(kind: AddressKind) -> HandoffKind | None:
    """The handler *kind* of address is handed to, or None for a post's address."""
    match kind:
        case (
            AddressKind.REQUEST
            | AddressKind.MODERATORS
            | AddressKind.BOUNCES
            | AddressKind.CONFIRM
            | AddressKind.POSTMASTER
        ):
            return kind
        case AddressKind.DISCUSSION | AddressKind.QUESTION | AddressKind.REPLY:
            return None


def _auto_reason(parsed: ParsedMessage) -> str:
    if parsed.message_class is MessageClass.NORMAL:
        return "null, daemon, list or own sender"
    return str(parsed.message_class.value)


def _notice(
    kind: NoticeKind,
    reason: str,
    parsed: ParsedMessage,
    facts: Facts,
    *,
    question: int | None = None,
    audit: bool = False,
) -> Decision:
    to = answer_address(parsed, facts)
    if to is None:
        return Decision(
            Action.DROP, f"{reason}; no notice: sender cannot be answered", audit=audit
        )
    return Decision(
        Action.NOTICE,
        reason,
        notice=kind,
        notice_to=to,
        language=notice_language(parsed, facts),
        question_number=question,
        audit=audit,
    )


def _route_post(recipient: Recipient, parsed: ParsedMessage, facts: Facts) -> Decision:
    by_words = auto_reply_by_words(parsed, facts.envelope_from, facts.domain)
    if is_automatic(parsed, facts.envelope_from) and not by_words:
        return Decision(Action.DROP, _auto_reason(parsed))
    if facts.standing.role is Role.BANNED:
        return Decision(Action.DROP, "banned sender", audit=True)
    own = parsed.message_id
    if own is not None and own in facts.known_posts:
        return Decision(
            Action.DROP, f"already posted as post {facts.known_posts[own].post_id}"
        )
    if facts.discussion_closed:
        return _notice(NoticeKind.CLOSED, "discussion closed", parsed, facts)

    place = _place(recipient, parsed, facts)
    if isinstance(place, Decision):
        return place
    state = facts.questions.get(place.question_number, QuestionState.UNKNOWN)
    if state is QuestionState.UNKNOWN and recipient.kind is AddressKind.QUESTION:
        # The address itself does not exist (``+q999``): SMTP and LMTP refuse
        # it at RCPT, so only a mailbox read over IMAP (or a question removed
        # from the configuration since) brings it here. It was stored, and is
        # dropped like mail to any unknown address: a notice would go to a
        # sender who may be forged (backscatter), which RCPT avoids too.
        return Decision(
            Action.DROP,
            f"no question {place.question_number}: an address that does not exist"
            " gets no answer",
        )
    if state is QuestionState.UNKNOWN:
        return _notice(
            NoticeKind.USE_QUESTION_ADDRESS,
            f"no question {place.question_number}",
            parsed,
            facts,
        )
    if state is QuestionState.NOT_RELEASED:
        return _notice(
            NoticeKind.NOT_RELEASED,
            f"question {place.question_number} not released",
            parsed,
            facts,
            question=place.question_number,
        )
    if (
        facts.standing.role is Role.UNKNOWN
        and facts.policy.unknown_senders is UnknownSenders.REJECT
    ):
        return _notice(
            NoticeKind.UNKNOWN_SENDER, "unknown sender refused", parsed, facts
        )
    if by_words and place.question_number in facts.auto_replies_held:
        return Decision(
            Action.DROP,
            f"auto-reply: one from this sender for question {place.question_number}"
            " is already held today",
        )
    reasons, dropped = _hold_reasons(parsed, facts)
    if by_words:
        reasons = (AUTO_REPLY_HOLD, *reasons)
    plan = PostPlan(
        question_number=place.question_number,
        parent_id=place.parent.post_id if place.parent else None,
        approved=not reasons,
        hold_reasons=reasons,
        dropped_attachments=dropped,
        awaiting=awaited_ids(
            place,
            own_message_id=parsed.message_id,
            in_reply_to=parsed.in_reply_to,
            references=parsed.references,
            slug=facts.slug,
            domain=facts.domain,
        ),
    )
    where = f"question {plan.question_number}" + (
        f" under post {plan.parent_id}" if plan.parent_id else ""
    )
    verdict = "approved" if plan.approved else "held: " + "; ".join(reasons)
    return Decision(
        Action.POST,
        f"{where} ({place.found_by}), {verdict}",
        post=plan,
        question_number=plan.question_number,
    )


def _place(
    recipient: Recipient, parsed: ParsedMessage, facts: Facts
) -> ThreadPlace | Decision:
    """Where the message threads, or the notice that says it cannot be placed."""
    by_headers = find_thread(
        own_message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
        known_posts=facts.known_posts,
        slug=facts.slug,
        domain=facts.domain,
    )
    if recipient.kind is AddressKind.REPLY:
        if facts.token_state is TokenState.FORGED:
            return _notice(
                NoticeKind.BAD_REPLY_ADDRESS,
                "forged reply token",
                parsed,
                facts,
                audit=True,
            )
        post = facts.token_post
        if facts.token_state is TokenState.VALID and post is not None:
            if makes_loop(parsed.message_id, post):
                return Decision(Action.DROP, "reply token names the message itself")
            return ThreadPlace(post.question_number, post, "reply address")
        if by_headers is not None:
            return by_headers
        return _notice(
            NoticeKind.BAD_REPLY_ADDRESS, "reply token names no post", parsed, facts
        )
    if recipient.kind is AddressKind.QUESTION:
        number = recipient.question_number
        # A reply to a known post stays with that post (and its question);
        # a question address otherwise decides the question.
        if by_headers is not None and by_headers.parent is not None:
            return by_headers
        return ThreadPlace(number, None, "question address")
    if by_headers is not None:
        return by_headers
    return _notice(
        NoticeKind.USE_QUESTION_ADDRESS,
        "discussion address without a known thread",
        parsed,
        facts,
    )


def _hold_reasons(
    parsed: ParsedMessage, facts: Facts
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Why a post must wait for a moderator (empty: approved), and dropped files."""
    policy, standing = facts.policy, facts.standing
    reasons: list[str] = []
    if standing.role is Role.UNKNOWN and policy.unknown_senders is UnknownSenders.HOLD:
        reasons.append("unknown sender")
    if policy.moderation is Moderation.ALL:
        reasons.append("every post is moderated")
    elif (
        policy.moderation is Moderation.FIRST_POST
        and standing.role is not Role.MODERATOR
        and standing.approved_posts == 0
    ):
        reasons.append("first post")
    if parsed.suspicious or parsed.over_limits:
        reasons.append(
            "message not trusted: "
            + ", ".join(
                parsed.limit_reasons or parsed.suspicious_reasons or ("suspicious",)
            )
        )
    text = parsed.new_text.strip()
    if parsed.encrypted:  # the moderator reads the raw message, or asks again
        reasons.append("encrypted: its text cannot be read here")
    elif not text and not own_attachments(parsed):
        reasons.append("no new text")
    links = count_links(parsed.new_text)
    if links > policy.max_links:
        reasons.append(f"too many links ({links} > {policy.max_links})")
    if len(text) > policy.max_post_chars:
        reasons.append(f"too long ({len(text)} > {policy.max_post_chars} characters)")
    if (
        standing.role is not Role.MODERATOR
        and standing.posts_last_hour >= policy.max_posts_per_hour
    ):
        reasons.append(
            f"posting rate ({standing.posts_last_hour + 1} in an hour,"
            f" limit {policy.max_posts_per_hour})"
        )
    oversize = tuple(
        a.filename or "(unnamed)" for a in parsed.attachments if not a.kept
    )
    dropped: tuple[str, ...] = ()
    if oversize:
        if policy.oversize_attachments is OversizeAttachments.HOLD:
            reasons.append("attachment over the size limit: " + ", ".join(oversize))
        else:
            dropped = oversize
    return tuple(reasons), dropped
