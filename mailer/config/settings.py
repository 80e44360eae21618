"""The typed settings: frozen values that every part of the service receives.

Built and checked only by :mod:`mailer.config.load`; no module reads the file or the
environment itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from mailer.core.addresses import Mailboxes
from mailer.core.choices import (
    Moderation,
    OversizeAttachments,
    Protocol,
    Security,
    UnknownSenders,
)
from mailer.core.texts import Texts

ENV_PREFIX = "EDISCUSS_"
# The languages whose mail templates (digest_templates/<lang>/) and web pages
# (mailer/web/messages.py) exist: a discussion may name only these. A test keeps
# the three lists equal.
SUPPORTED_LANGUAGES = ("en", "es", "fr")


@dataclass(frozen=True)
class HostPort:
    """A host and a TCP port to listen on or connect to."""

    host: str
    port: int

    def __str__(self) -> str:
        return (
            f"[{self.host}]:{self.port}"
            if ":" in self.host
            else f"{self.host}:{self.port}"
        )


@dataclass(frozen=True)
class ServiceSettings:
    """Where the service lives: its mail domain, public URL and state folder."""

    domain: str = "discuss.example.org"
    base_url: str = "http://127.0.0.1:8080"
    state_dir: Path = Path("var")
    secret: str = field(
        default="", repr=False
    )  # from EDISCUSS_SERVICE_SECRET; else a key file
    log_level: str = "INFO"


class CommitDurability(enum.Enum):
    """Whether processing commits wait for the disk (``database.processing_commits``).

    FAST: the processing children's commits and the outbox's records of what
    was sent do not (SQLite ``synchronous=NORMAL``, PostgreSQL
    ``synchronous_commit=off``): a power cut may make the service process a
    message again or send one again, never lose one. DURABLE: they do, like
    every other commit.
    """

    FAST = "fast"
    DURABLE = "durable"


@dataclass(frozen=True)
class DatabaseSettings:
    """The SQLAlchemy URL of the store, and how durable processing commits are."""

    url: str = "sqlite:///var/ediscuss.db"
    processing_commits: CommitDurability = CommitDurability.FAST


@dataclass(frozen=True)
class InboundSettings:
    """The SMTP or LMTP listener and the limits it enforces before saying 250."""

    protocol: Protocol = Protocol.SMTP
    listen: HostPort = HostPort("127.0.0.1", 2525)
    max_message_bytes: int = 10 * 1024 * 1024
    max_recipients: int = 100
    max_line_bytes: int = 10_000
    timeout_seconds: int = 300
    max_connections_per_ip: int = 20
    max_attachment_bytes: int = 2 * 1024 * 1024
    oversize_attachments: OversizeAttachments = OversizeAttachments.DROP
    trusted_authserv_id: str = ""  # Authentication-Results from this MTA are believed
    dkim_resolver: HostPort | None = None  # DNS for DKIM keys; None: system
    max_processing_attempts: int = 5
    workers: int = 1  # processes that process stored mail; 0: a thread in serve
    retry_unfinished_seconds: int = 30  # an attempt this old never finished: died
    tls_certificate: Path | None = None  # PEM chain; with tls_key: STARTTLS offered
    tls_key: Path | None = None  # PEM private key, unencrypted
    require_tls: bool = False  # SMTP only: MAIL before STARTTLS gets 530 5.7.0
    socketmap_listen: HostPort | None = None  # Postfix's recipient lookup; None: off

    def __post_init__(self) -> None:
        object.__setattr__(self, "protocol", Protocol(self.protocol))
        object.__setattr__(
            self,
            "oversize_attachments",
            OversizeAttachments(self.oversize_attachments),
        )


@dataclass(frozen=True)
class RelaySettings:
    """The smarthost that outgoing mail is handed to."""

    host: str = "127.0.0.1"
    port: int = 587
    security: Security = Security.STARTTLS
    username: str = ""
    password: str = field(default="", repr=False)
    timeout_seconds: int = 60

    def __post_init__(self) -> None:
        object.__setattr__(self, "security", Security(self.security))


@dataclass(frozen=True)
class OutboxSettings:
    """How the outbox worker retries, gives up and counts bounces."""

    workers: int = 1
    connections: int = 4  # SMTP connections to the relay, per worker
    batch_size: int = 50
    poll_seconds: float = 2.0
    max_age_hours: int = 72
    first_retry_seconds: int = 60
    bounce_threshold: int = 5


@dataclass(frozen=True)
class ImapSettings:
    """A mailbox polled for inbound mail (organisations on hosted mail)."""

    host: str
    port: int = 993
    security: Security = Security.TLS
    username: str = ""
    password: str = field(default="", repr=False)
    folder: str = "INBOX"
    processed_folder: str = ""  # empty: flag \\Seen and leave in place
    poll_seconds: int = 60
    use_idle: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "security", Security(self.security))


@dataclass(frozen=True)
class WebSettings:
    """The web archive's listener."""

    listen: HostPort = HostPort("127.0.0.1", 8080)
    signup_per_hour: int = 10


@dataclass(frozen=True)
class DkimSettings:
    """DKIM signing of outgoing mail."""

    selector: str
    key_file: Path
    domain: str = ""  # empty: the service domain


@dataclass(frozen=True)
class SubscriberSettings:
    """Sign-up rules: address checks and how long a confirmation stays valid.

    ``link_ttl_days``: how long the unsubscribe and manage links in a mail keep
    working after it was sent. Every mail carries fresh ones, so only an old
    mail's links run out; 90 days covers a whole discussion (a few weeks of
    questions, then the closing and the report) and an announcements-only
    reader's longest wait between two mails, while a link that leaked (a
    forwarded or quoted mail) stops working within a season.
    """

    check_deliverability: bool = False
    confirm_ttl_days: int = 7
    reminder_after_hours: int = 48
    command_ttl_hours: int = 24
    link_ttl_days: int = 90


@dataclass(frozen=True)
class DigestSettings:
    """How large a daily digest may be, measured on the whole message as sent.

    100,000 bytes: Gmail shows a message of more than 102 KB only in part
    ("[Message clipped]"), whether 102 KB means 102,000 or 104,448 bytes; the
    relays on the way add their own headers (Received, Authentication-Results,
    ARC: one to two kilobytes) after the digest has been measured.
    """

    max_bytes: int = 100_000


@dataclass(frozen=True)
class ModerationSettings:
    """How often moderators are mailed about held posts.

    The first held post, when nothing else waits, is noticed at once; after
    that each moderator gets at most one summary every ``notice_minutes``.
    """

    notice_minutes: int = 30


@dataclass(frozen=True)
class Moderator:
    """A moderator of one discussion."""

    name: str
    email: str
    language: str


@dataclass(frozen=True)
class QuestionSettings:
    """One numbered question of a discussion, released at ``release_at``."""

    number: int
    week: int
    release_at: datetime
    text: Texts


@dataclass(frozen=True)
class DiscussionSettings:
    """One e-discussion as configured: its texts, people, questions and policies."""

    slug: str
    name: Texts
    title: Texts
    introduction: Texts
    guidelines: Texts
    languages: tuple[str, ...]
    default_language: str
    opens_at: datetime
    closes_at: datetime
    time_zone: ZoneInfo
    digest_hour: int
    moderation: Moderation
    unknown_senders: UnknownSenders
    moderators: tuple[Moderator, ...]
    questions: tuple[QuestionSettings, ...]
    max_links: int = 10
    max_posts_per_hour: int = 5
    max_post_chars: int = 20_000  # longer posts are held for a moderator
    templates_dir: Path | None = None  # overrides digest_templates/ for this discussion

    def question(self, number: int) -> QuestionSettings | None:
        """The question numbered *number*, or None."""
        for q in self.questions:
            if q.number == number:
                return q
        return None

    def is_moderator(self, email: str) -> bool:
        """True when *email* (any case) is one of this discussion's moderators."""
        e = email.lower()
        return any(m.email.lower() == e for m in self.moderators)

    @property
    def weeks(self) -> tuple[int, ...]:
        """The week numbers that have questions, in order."""
        return tuple(sorted({q.week for q in self.questions}))


@dataclass(frozen=True)
class Settings:
    """Everything configurable, checked; passed to whatever needs part of it."""

    service: ServiceSettings
    database: DatabaseSettings
    inbound: InboundSettings
    relay: RelaySettings | None
    outbox: OutboxSettings
    imap: ImapSettings | None
    web: WebSettings
    dkim: DkimSettings | None
    subscribers: SubscriberSettings
    discussions: tuple[DiscussionSettings, ...]
    source: str = "config.toml"
    digest: DigestSettings = DigestSettings()
    moderation: ModerationSettings = ModerationSettings()

    def discussion(self, slug: str) -> DiscussionSettings | None:
        """The discussion with *slug*, or None."""
        for d in self.discussions:
            if d.slug == slug:
                return d
        return None

    @property
    def slugs(self) -> tuple[str, ...]:
        """Every configured discussion's slug."""
        return tuple(d.slug for d in self.discussions)

    @property
    def mailboxes(self) -> Mailboxes:
        """The service's addresses that exist, for the listener and the Postfix lookup."""
        return Mailboxes.of(
            self.service.domain,
            ((d.slug, (q.number for q in d.questions)) for d in self.discussions),
        )
