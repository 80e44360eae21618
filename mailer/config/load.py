"""One typed, validated configuration object, built once at start-up.

``load_settings(path, environ)`` reads ``config.toml``, overlays
``EDISCUSS_<SECTION>_<KEY>`` variables from *environ*, checks every value and
returns a frozen :class:`Settings`, or raises :class:`ConfigError` listing every
problem with its key path. No other module reads the file or the environment.
The ``[[discussions]]`` tables are read by :mod:`mailer.config.discussions`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mailer.config.discussions import read_discussions
from mailer.config.reader import FieldReader
from mailer.config.settings import (
    ENV_PREFIX,
    CommitDurability,
    DatabaseSettings,
    DigestSettings,
    DiscussionSettings,
    DkimSettings,
    HostPort,
    ImapSettings,
    InboundSettings,
    ModerationSettings,
    Moderator,
    OutboxSettings,
    QuestionSettings,
    RelaySettings,
    ServiceSettings,
    Settings,
    SubscriberSettings,
    WebSettings,
)
from mailer.core.choices import Protocol, Security
from mailer.core.errors import ConfigError, ConfigProblem, UnusableCertificate
from mailer.tls import load_certificate

__all__ = [
    "DiscussionSettings",
    "HostPort",
    "Moderator",
    "QuestionSettings",
    "Settings",
    "load_settings",
    "parse_settings",
]

_SECTIONS = (
    "service",
    "database",
    "inbound",
    "relay",
    "outbox",
    "imap",
    "web",
    "dkim",
    "subscribers",
    "digest",
    "moderation",
)


def apply_environment(
    raw: dict[str, Any], environ: Mapping[str, str]
) -> list[ConfigProblem]:
    """Overlay ``EDISCUSS_<SECTION>_<KEY>`` variables onto the raw tables, in place."""
    problems: list[ConfigProblem] = []
    for name, value in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        section, sep, key = name[len(ENV_PREFIX) :].lower().partition("_")
        if section not in _SECTIONS or not sep:
            continue  # EDISCUSS_TEST_* and the like are not settings
        table = raw.setdefault(section, {})
        if not isinstance(table, dict):
            problems.append(ConfigProblem(section, "expected a table"))
            continue
        table[key] = value
    return problems


def _read_service(
    r: FieldReader, raw: Mapping[str, Any], base: Path
) -> ServiceSettings:
    t = r.table(raw, "service", "service") or {}
    r.unknown(t, {"domain", "base_url", "state_dir", "secret", "log_level"}, "service")
    domain = (
        r.string(t, "domain", "service", ServiceSettings.domain).lower().rstrip(".")
    )
    if not domain or "." not in domain or any(c in domain for c in " @/\\\r\n"):
        r.fail("service.domain", f"not a mail domain: {domain!r}")
    base_url = r.string(t, "base_url", "service", ServiceSettings.base_url).rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        r.fail(
            "service.base_url", f"expected an http:// or https:// URL, got {base_url!r}"
        )
    state_dir = Path(r.string(t, "state_dir", "service", "var"))
    if not state_dir.is_absolute():
        state_dir = base / state_dir
    level = r.choice(
        t, "log_level", "service", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"
    )
    return ServiceSettings(
        domain, base_url, state_dir, r.string(t, "secret", "service", ""), level
    )


def _inbound_tls(
    r: FieldReader, t: Mapping[str, Any], base: Path, protocol: Protocol
) -> tuple[Path | None, Path | None, bool]:
    """The listener's STARTTLS files and policy, the files loaded as serve will."""
    paths: list[Path | None] = []
    for name in ("tls_certificate", "tls_key"):
        value = r.string(t, name, "inbound", "").strip()  # "" from the environment: off
        paths.append(base / value if value else None)  # an absolute value stays as is
    cert, key = paths
    require = r.boolean(t, "require_tls", "inbound", False)
    if cert is not None and key is not None:
        try:
            load_certificate(cert, key)
        except UnusableCertificate as exc:
            r.fail(f"inbound.tls_{exc.which}", exc.reason)
    elif cert is not None or key is not None:
        given, missing = (
            ("certificate", "key") if key is None else ("key", "certificate")
        )
        r.fail(
            f"inbound.tls_{missing}",
            f"required with inbound.tls_{given}: STARTTLS needs the certificate and its key",
        )
    if require and (cert is None or key is None):
        r.fail(
            "inbound.require_tls", "needs inbound.tls_certificate and inbound.tls_key"
        )
    elif require and protocol is Protocol.LMTP:
        r.fail(
            "inbound.require_tls",
            "SMTP only: with LMTP, require TLS in the MTA that connects"
            " (Postfix: lmtp_tls_security_level = encrypt)",
        )
    return cert, key, require


def parse_settings(
    raw: dict[str, Any],
    environ: Mapping[str, str],
    base: Path,
    source: str = "config.toml",
) -> Settings:
    """Check raw TOML tables (plus the environment) and build :class:`Settings`."""
    r = FieldReader()
    r.problems.extend(apply_environment(raw, environ))
    r.unknown(raw, set(_SECTIONS) | {"discussions"}, "")
    service = _read_service(r, raw, base)

    t: Mapping[str, Any] | None = r.table(raw, "database", "database") or {}
    assert t is not None
    r.unknown(t, {"url", "processing_commits"}, "database")
    default_db = f"sqlite:///{service.state_dir / 'ediscuss.db'}"
    url = r.string(t, "url", "database", default_db)
    if not url.startswith(("sqlite:", "postgresql")):
        r.fail(
            "database.url",
            f"expected a sqlite:/// or postgresql+psycopg:// URL, got {url.split(':')[0]!r}",
        )
    if (
        url.startswith("sqlite:///")
        and not url.startswith("sqlite:////")
        and url != "sqlite:///:memory:"
    ):
        url = f"sqlite:///{base / url[len('sqlite:///') :]}"  # relative to the config file
    commits = r.choice(
        t,
        "processing_commits",
        "database",
        tuple(c.value for c in CommitDurability),
        CommitDurability.FAST.value,
    )
    database = DatabaseSettings(url, CommitDurability(commits))

    t = r.table(raw, "inbound", "inbound") or {}
    d = InboundSettings()
    r.unknown(t, set(InboundSettings.__dataclass_fields__), "inbound")
    protocol = r.member(t, "protocol", "inbound", d.protocol)
    tls_certificate, tls_key, require_tls = _inbound_tls(r, t, base, protocol)
    inbound = InboundSettings(
        protocol=protocol,
        listen=r.host_port(t, "listen", "inbound", d.listen),
        max_message_bytes=r.integer(
            t, "max_message_bytes", "inbound", d.max_message_bytes, 1024, 1 << 30
        ),
        max_recipients=r.integer(
            t, "max_recipients", "inbound", d.max_recipients, 1, 10000
        ),
        max_line_bytes=r.integer(
            t, "max_line_bytes", "inbound", d.max_line_bytes, 1000, 1 << 20
        ),
        timeout_seconds=r.integer(
            t, "timeout_seconds", "inbound", d.timeout_seconds, 1, 3600
        ),
        max_connections_per_ip=r.integer(
            t, "max_connections_per_ip", "inbound", d.max_connections_per_ip, 1, 10000
        ),
        max_attachment_bytes=r.integer(
            t, "max_attachment_bytes", "inbound", d.max_attachment_bytes, 0, 1 << 30
        ),
        oversize_attachments=r.member(
            t, "oversize_attachments", "inbound", d.oversize_attachments
        ),
        trusted_authserv_id=r.string(t, "trusted_authserv_id", "inbound", ""),
        dkim_resolver=(
            r.host_port(t, "dkim_resolver", "inbound", HostPort("127.0.0.1", 53))
            if t.get("dkim_resolver")
            else None
        ),
        max_processing_attempts=r.integer(
            t, "max_processing_attempts", "inbound", d.max_processing_attempts, 1, 100
        ),
        workers=r.integer(t, "workers", "inbound", d.workers, 0, 16),
        retry_unfinished_seconds=r.integer(
            t,
            "retry_unfinished_seconds",
            "inbound",
            d.retry_unfinished_seconds,
            1,
            86400,
        ),
        tls_certificate=tls_certificate,
        tls_key=tls_key,
        require_tls=require_tls,
        socketmap_listen=(
            r.host_port(t, "socketmap_listen", "inbound", HostPort("127.0.0.1", 2526))
            if t.get("socketmap_listen")
            else None
        ),
    )

    relay: RelaySettings | None = None
    t = r.table(raw, "relay", "relay")
    if t is not None:
        d2 = RelaySettings()
        r.unknown(t, set(RelaySettings.__dataclass_fields__), "relay")
        relay = RelaySettings(
            host=r.string(t, "host", "relay", d2.host),
            port=r.integer(t, "port", "relay", d2.port, 1, 65535),
            security=r.member(t, "security", "relay", d2.security),
            username=r.string(t, "username", "relay", ""),
            password=r.string(t, "password", "relay", ""),
            timeout_seconds=r.integer(
                t, "timeout_seconds", "relay", d2.timeout_seconds, 1, 3600
            ),
        )

    t = r.table(raw, "outbox", "outbox") or {}
    d3 = OutboxSettings()
    r.unknown(t, set(OutboxSettings.__dataclass_fields__), "outbox")
    outbox = OutboxSettings(
        workers=r.integer(t, "workers", "outbox", d3.workers, 1, 64),
        connections=r.integer(t, "connections", "outbox", d3.connections, 1, 64),
        batch_size=r.integer(t, "batch_size", "outbox", d3.batch_size, 1, 10000),
        poll_seconds=r.number(t, "poll_seconds", "outbox", d3.poll_seconds),
        max_age_hours=r.integer(
            t, "max_age_hours", "outbox", d3.max_age_hours, 1, 24 * 30
        ),
        first_retry_seconds=r.integer(
            t, "first_retry_seconds", "outbox", d3.first_retry_seconds, 1, 86400
        ),
        bounce_threshold=r.integer(
            t, "bounce_threshold", "outbox", d3.bounce_threshold, 1, 1000
        ),
    )

    imap: ImapSettings | None = None
    t = r.table(raw, "imap", "imap")
    if t is not None:
        r.unknown(t, set(ImapSettings.__dataclass_fields__), "imap")
        security = r.member(t, "security", "imap", Security.TLS)
        imap = ImapSettings(
            host=r.string(t, "host", "imap"),
            port=r.integer(
                t, "port", "imap", 993 if security is Security.TLS else 143, 1, 65535
            ),
            security=security,
            username=r.string(t, "username", "imap"),
            password=r.string(t, "password", "imap", ""),
            folder=r.string(t, "folder", "imap", "INBOX"),
            processed_folder=r.string(t, "processed_folder", "imap", ""),
            poll_seconds=r.integer(t, "poll_seconds", "imap", 60, 1, 86400),
            use_idle=r.boolean(t, "use_idle", "imap", True),
        )

    t = r.table(raw, "web", "web") or {}
    r.unknown(t, {"listen", "signup_per_hour"}, "web")
    web = WebSettings(
        r.host_port(t, "listen", "web", WebSettings.listen),
        r.integer(t, "signup_per_hour", "web", WebSettings.signup_per_hour, 1, 100000),
    )

    dkim: DkimSettings | None = None
    t = r.table(raw, "dkim", "dkim")
    if t is not None:
        r.unknown(t, {"selector", "key_file", "domain"}, "dkim")
        key_file = Path(r.string(t, "key_file", "dkim"))
        if not key_file.is_absolute():
            key_file = base / key_file
        dkim = DkimSettings(
            r.string(t, "selector", "dkim"), key_file, r.string(t, "domain", "dkim", "")
        )

    t = r.table(raw, "subscribers", "subscribers") or {}
    d4 = SubscriberSettings()
    r.unknown(t, set(SubscriberSettings.__dataclass_fields__), "subscribers")
    subscribers = SubscriberSettings(
        check_deliverability=r.boolean(
            t, "check_deliverability", "subscribers", d4.check_deliverability
        ),
        confirm_ttl_days=r.integer(
            t, "confirm_ttl_days", "subscribers", d4.confirm_ttl_days, 1, 365
        ),
        reminder_after_hours=r.integer(
            t,
            "reminder_after_hours",
            "subscribers",
            d4.reminder_after_hours,
            1,
            24 * 365,
        ),
        command_ttl_hours=r.integer(
            t, "command_ttl_hours", "subscribers", d4.command_ttl_hours, 1, 24 * 30
        ),
        link_ttl_days=r.integer(
            t, "link_ttl_days", "subscribers", d4.link_ttl_days, 1, 3650
        ),
    )

    t = r.table(raw, "digest", "digest") or {}
    r.unknown(t, set(DigestSettings.__dataclass_fields__), "digest")
    digest = DigestSettings(
        # Below 20,000 bytes the open questions and the footer alone may not
        # fit; above 25 MiB most providers refuse a message outright.
        max_bytes=r.integer(
            t, "max_bytes", "digest", DigestSettings.max_bytes, 20_000, 25 << 20
        ),
    )

    t = r.table(raw, "moderation", "moderation") or {}
    r.unknown(t, set(ModerationSettings.__dataclass_fields__), "moderation")
    moderation = ModerationSettings(
        # A week at most: a held post should not wait longer than that unseen.
        notice_minutes=r.integer(
            t,
            "notice_minutes",
            "moderation",
            ModerationSettings.notice_minutes,
            1,
            7 * 24 * 60,
        ),
    )

    discussions = read_discussions(r, raw, base)
    if r.problems:
        raise ConfigError(r.problems, source)
    return Settings(
        service,
        database,
        inbound,
        relay,
        outbox,
        imap,
        web,
        dkim,
        subscribers,
        tuple(discussions),
        source,
        digest,
        moderation,
    )


def load_settings(path: Path, environ: Mapping[str, str]) -> Settings:
    """Read and check *path*; relative paths inside it are relative to its folder."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem("(file)", f"cannot read: {exc.strerror}")], str(path)
        ) from exc
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem("(syntax)", str(exc))], str(path)) from exc
    return parse_settings(raw, environ, path.resolve().parent, str(path))
