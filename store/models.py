"""The database schema as SQLAlchemy 2 typed models.

Runtime state only: what the configuration says (texts, schedule, moderators)
stays in ``config.toml``; what happened (releases, subscriptions, posts, mail
in and out) lives here. Every timestamp is stored in UTC.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any, ClassVar, TypeVar

from sqlalchemy import (
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from store.assembly import SharedBody, assemble, parse_offsets


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime kept as naive UTC, the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(
        self, value: datetime | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


_W = TypeVar("_W", bound=enum.StrEnum)


class Word(TypeDecorator[_W]):
    """A closed set of words kept as plain VARCHAR, read back as its StrEnum.

    The column stays what it was (no CHECK, no migration); a value that is
    not one of the enum's words is refused when written.
    """

    impl = String
    cache_ok = True

    def __init__(self, kind: type[_W], length: int) -> None:
        super().__init__(length)
        self.kind = kind

    def process_bind_param(
        self, value: _W | str | None, dialect: Dialect
    ) -> str | None:
        return None if value is None else self.kind(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> _W | None:
        return None if value is None else self.kind(value)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as the enum's value in a VARCHAR with a CHECK; no native PG enum,
    # so adding a state is a plain migration.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda e: [m.value for m in e],
    )


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations name constraints alike."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class DiscussionState(enum.Enum):
    """Where a discussion is in its life."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"


class SubscriptionStatus(enum.Enum):
    """A subscription's state: pending until confirmed (double opt-in)."""

    PENDING = "pending"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    DISABLED = "disabled"  # too many bounces
    EXPIRED = "expired"  # never confirmed


class DeliveryMode(enum.Enum):
    """What a subscriber receives."""

    EACH = "each"
    DIGEST = "digest"
    ANNOUNCEMENTS = "announcements"


class PostStatus(enum.Enum):
    """A post's moderation state."""

    HELD = "held"
    APPROVED = "approved"
    REJECTED = "rejected"


class InboundState(enum.Enum):
    """Processing state of a received raw message."""

    NEW = "new"
    PROCESSED = "processed"
    FAILED = "failed"
    QUARANTINED = "quarantined"


class OutboxState(enum.Enum):
    """Delivery state of an outgoing message."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Via(enum.StrEnum):
    """How a message reached the inbox."""

    SMTP = "smtp"
    LMTP = "lmtp"
    IMAP = "imap"


class TokenPurpose(enum.StrEnum):
    """What a one-time token confirms."""

    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    COMMAND = "command"  # a moderator's commands, sent from an unsigned mail


class Discussion(Base):
    """Runtime state of one configured discussion (texts live in the config)."""

    __tablename__ = "discussions"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    state: Mapped[DiscussionState] = mapped_column(
        _enum(DiscussionState, "discussion_state"), default=DiscussionState.SCHEDULED
    )
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    last_digest_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    questions: Mapped[list[Question]] = relationship(
        back_populates="discussion", order_by="Question.number"
    )


class Question(Base):
    """A question of a discussion; ``released_at`` is set once it is open."""

    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("discussion_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int] = mapped_column(
        ForeignKey("discussions.id", ondelete="CASCADE")
    )
    number: Mapped[int]
    week: Mapped[int]
    release_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(320))

    discussion: Mapped[Discussion] = relationship(back_populates="questions")


class Subscriber(Base):
    """A person, known by their normalised address."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    constituency: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime]


# Sender lookups (store.posts.sender_records) and reports match lower(email):
# both databases use an index on that very expression. SQLite cannot reflect
# it, so a batch_alter_table("subscribers"), which rebuilds the table from
# what it reflects, would drop it: such a migration must create it again.
Index("ix_subscribers_lower_email", func.lower(Subscriber.email))


class Subscription(Base):
    """A subscriber's membership of one discussion: language, mode and state."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("discussion_id", "subscriber_id"),
        # Keyset pages of a fan-out (id > last ORDER BY id) read only their rows.
        Index(None, "discussion_id", "status", "mode", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int] = mapped_column(
        ForeignKey("discussions.id", ondelete="CASCADE")
    )
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE")
    )
    status: Mapped[SubscriptionStatus] = mapped_column(
        _enum(SubscriptionStatus, "subscription_status"),
        default=SubscriptionStatus.PENDING,
    )
    mode: Mapped[DeliveryMode] = mapped_column(
        _enum(DeliveryMode, "delivery_mode"), default=DeliveryMode.EACH
    )
    language: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(
        String(20), default="email"
    )  # email | web | cli | import (SignupSource)
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    bounce_score: Mapped[int] = mapped_column(default=0)
    last_bounce_at: Mapped[datetime | None]
    # Moves on each time the subscription starts or ends; unsubscribe and manage
    # links carry the value they were made with (see mailer.links), so a link
    # from before an end never acts on a later subscription of the same address.
    link_generation: Mapped[int] = mapped_column(default=0, server_default="0")

    subscriber: Mapped[Subscriber] = relationship()


class Ban(Base):
    """An address whose mail to a discussion is dropped (with an audit entry)."""

    __tablename__ = "bans"
    __table_args__ = (UniqueConstraint("discussion_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int] = mapped_column(
        ForeignKey("discussions.id", ondelete="CASCADE")
    )
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(320))


class InboundMessage(Base):
    """A received message, raw bytes first: committed before the 250 is said.

    ``dedupe_key`` is ``mid:<Message-ID>`` or, without one, ``sha256:<digest>``
    of the bytes, so the same mail by two paths is stored once.
    """

    __tablename__ = "inbound_messages"
    __table_args__ = (Index(None, "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(400), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(998))
    envelope_from: Mapped[str] = mapped_column(String(998), default="")
    envelope_to: Mapped[str] = mapped_column(Text)  # recipients, one per line
    received_via: Mapped[Via] = mapped_column(Word(Via, 10))
    peer: Mapped[str] = mapped_column(String(100), default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int]
    received_at: Mapped[datetime]
    state: Mapped[InboundState] = mapped_column(
        _enum(InboundState, "inbound_state"), default=InboundState.NEW
    )
    kind: Mapped[str | None] = mapped_column(String(20))  # what classification decided
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None]


class Post(Base):
    """A contribution: under a question, optionally a reply to another post."""

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("discussion_id", "message_id"),
        Index(None, "discussion_id", "status", "approved_at"),
        Index(None, "question_id", "status"),
        Index(None, "discussion_id", "author_email"),  # a sender's posts, per message
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int] = mapped_column(
        ForeignKey("discussions.id", ondelete="CASCADE")
    )
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE")
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL")
    )
    inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="SET NULL")
    )
    message_id: Mapped[str] = mapped_column(String(998))
    author_email: Mapped[str] = mapped_column(String(320))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    constituency: Mapped[str] = mapped_column(String(60), default="")
    language: Mapped[str] = mapped_column(String(8), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(
        Text
    )  # the new text, quotes and signature trimmed
    full_text: Mapped[str] = mapped_column(
        Text, default=""
    )  # untrimmed, for the archive
    status: Mapped[PostStatus] = mapped_column(_enum(PostStatus, "post_status"))
    hold_reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    approved_at: Mapped[datetime | None]
    moderated_by: Mapped[str | None] = mapped_column(String(320))
    moderation_note: Mapped[str | None] = mapped_column(Text)

    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="post", order_by="Attachment.id"
    )


class PostFanout(Base):
    """A post being copied to its each-post readers, a chunk at a time.

    Copies for subscriptions up to ``after`` are queued; ``upto`` is the
    highest subscription that was active when the post was published (later
    ones do not get it). The processing workers queue a chunk and move
    ``after`` on in one short transaction, so a crash resumes where the last
    commit left off; the copies' dedupe keys keep a chunk done twice from
    sending twice. ``finished_at`` is set once every copy is queued.
    """

    __tablename__ = "post_fanouts"
    __table_args__ = (Index(None, "finished_at"),)

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    upto: Mapped[int] = mapped_column(default=0)
    after: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class Attachment(Base):
    """A file that came with a post; content kept up to the configured limit."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    content: Mapped[bytes | None] = mapped_column(
        LargeBinary
    )  # None: over the limit, dropped

    post: Mapped[Post] = relationship(back_populates="attachments")


class ThreadWait(Base):
    """A post that names a parent not stored yet: it moves under that parent on arrival.

    ``distance`` is the parent's place among the Message-IDs the post names,
    nearest first (0: its In-Reply-To).
    """

    __tablename__ = "thread_waits"
    __table_args__ = (Index(None, "discussion_id", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int] = mapped_column(
        ForeignKey("discussions.id", ondelete="CASCADE")
    )
    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[str] = mapped_column(String(998))
    distance: Mapped[int]


class OutboxBody(Base):
    """The part of a mail many recipients share, stored once under its SHA-256.

    ``content`` is the body's shared segments one after another; ``cuts`` says
    where each but the first starts. Outbox rows name it by ``hash`` and keep
    only their personal bytes (see :mod:`store.bodies`). ``created_at`` is when
    it was last queued (each enqueue moves it forward), so a purge leaves alone
    a body that an enqueue is using.
    """

    __tablename__ = "outbox_bodies"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    cuts: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


# The predicates of the outbox's partial indexes, as the statements that use
# them write their state too.
OUTBOX_DUE = "state = 'queued'"
OUTBOX_SENDING = "state = 'sending'"


class OutboxMessage(Base):
    """One message to one recipient, rendered, waiting to be sent exactly once.

    ``dedupe_key`` is UNIQUE: ``confirm:<token>``, ``announce:<question>:<sub>``,
    ``post:<post>:<sub>``, ``digest:<slug>:<date>:<sub>``..., so enqueueing the
    same thing twice, on one node or two, sends once.

    ``raw`` is the whole message, or, with ``body_hash``, its personal bytes
    (headers, unsubscribe lines, MIME boundaries): the shared body's segments
    go in at the offsets ``body_at``. :meth:`whole` puts it together.
    """

    __tablename__ = "outbox"
    # Partial indexes: each holds the rows of one state only, so a claim (the
    # due rows in order) and a release (the rows left sending) never walk the
    # entries of the sent rows, nor those that every claim and every record
    # left behind, as an index on (state, next_attempt_at) did: a release
    # read all of them from the table (see migration 0014). The statements
    # that use them name the state as a literal, so that the planner can
    # match it to the predicate (a parameter would not do).
    __table_args__ = (
        Index(
            None,
            "next_attempt_at",
            "id",
            postgresql_where=text(OUTBOX_DUE),
            sqlite_where=text(OUTBOX_DUE),
        ),
        Index(
            None,
            "claimed_at",
            postgresql_where=text(OUTBOX_SENDING),
            sqlite_where=text(OUTBOX_SENDING),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(400), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    discussion_id: Mapped[int | None] = mapped_column(
        ForeignKey("discussions.id", ondelete="SET NULL")
    )
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="SET NULL")
    )
    recipient: Mapped[str] = mapped_column(String(320))
    envelope_from: Mapped[str] = mapped_column(String(998))
    message_id: Mapped[str] = mapped_column(String(998))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    body_hash: Mapped[str | None] = mapped_column(
        ForeignKey("outbox_bodies.hash"), index=True
    )
    body_at: Mapped[str | None] = mapped_column(Text)  # "812,870": offsets in raw
    state: Mapped[OutboxState] = mapped_column(
        _enum(OutboxState, "outbox_state"), default=OutboxState.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    # Loaded with the rows (one query for all their bodies), so a row read in a
    # session that is closed since can still be put together.
    body: Mapped[OutboxBody | None] = relationship(lazy="selectin")

    def whole(self) -> bytes:
        """The message as it goes to the relay (before DKIM signing).

        LookupError for a sent row whose shared body was pruned since.
        """
        body = (
            SharedBody.from_stored(self.body.content, self.body.cuts)
            if self.body is not None
            else None
        )
        return assemble(self.raw, parse_offsets(self.body_at), body)


class Token(Base):
    """A one-time token (confirmation of a subscription or a command).

    Only the SHA-256 of the token is stored; the token itself travels by mail.
    """

    __tablename__ = "tokens"
    # Reminders and expiry look up the tokens of one address in one discussion.
    __table_args__ = (Index(None, "discussion_id", "email", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[TokenPurpose] = mapped_column(Word(TokenPurpose, 30))
    discussion_id: Mapped[int | None] = mapped_column(
        ForeignKey("discussions.id", ondelete="CASCADE")
    )
    email: Mapped[str] = mapped_column(String(320))
    payload: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class DigestRun(Base):
    """One daily digest of a discussion: its window, fixed when it starts.

    ``label`` is the local date (``2027-03-28``), or the date and time of a
    closing digest on a day that already had one; it is part of each digest's
    dedupe key. A run interrupted half-way is resumed with the same window, and
    two nodes starting the same run share this row.
    """

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("discussion_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int] = mapped_column(
        ForeignKey("discussions.id", ondelete="CASCADE")
    )
    label: Mapped[str] = mapped_column(String(40))
    digest_date: Mapped[date]
    since: Mapped[datetime | None]  # None: from the beginning
    until: Mapped[datetime]
    final: Mapped[bool] = mapped_column(default=False)  # the digest at closing
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    posts: Mapped[int] = mapped_column(default=0)
    recipients: Mapped[int] = mapped_column(default=0)


class AuditEntry(Base):
    """Who did what, when, and how they were authenticated."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "discussion_id", "at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    discussion_id: Mapped[int | None] = mapped_column(
        ForeignKey("discussions.id", ondelete="CASCADE")
    )
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(400), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    auth: Mapped[str] = mapped_column(
        String(40), default=""
    )  # dkim | confirmed | cli | system


class ModeratorNotice(Base):
    """When a moderator was last mailed about held posts, and how many times.

    ``sent`` is the guard that makes each notice once across nodes: a notice is
    sent only by the transaction whose ``UPDATE ... WHERE sent = <seen>`` matched.
    """

    __tablename__ = "moderator_notices"

    discussion_id: Mapped[int] = mapped_column(
        ForeignKey("discussions.id", ondelete="CASCADE"), primary_key=True
    )
    moderator: Mapped[str] = mapped_column(String(320), primary_key=True)
    sent: Mapped[int] = mapped_column(default=0)
    last_at: Mapped[datetime | None]


class HeldNotice(Base):
    """One moderator was told of one held post, by the mail with this Message-ID."""

    __tablename__ = "held_notices"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    moderator: Mapped[str] = mapped_column(String(320), primary_key=True)
    notified_at: Mapped[datetime]
    message_id: Mapped[str] = mapped_column(String(998))


class RateCount(Base):
    """Requests of one client in one period (``period`` = epoch seconds // length).

    Rate limits live here, not in one process's memory, so every node that
    serves the web shares them (see :mod:`store.ratelimits`).
    """

    __tablename__ = "rate_counts"
    __table_args__ = (Index(None, "period"),)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    period: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
