"""``ediscuss config check`` and ``ediscuss db upgrade``: the operator's first two commands."""

from __future__ import annotations

import argparse

from mailer.commands.base import Context, Subparsers
from mailer.config import Settings
from mailer.config.shipped import shipped_config
from store.db import current_revision, head_revision, make_engine, upgrade


def register(sub: Subparsers) -> None:
    """Add ``config check`` and ``db upgrade|status``."""
    config = sub.add_parser("config", help="check the configuration")
    csub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    csub.add_parser(
        "check", help="validate config.toml and print a summary"
    ).set_defaults(handler=cmd_config_check)
    csub.add_parser(
        "sample",
        help="print the shipped config.toml (the model discussion and every default)",
    ).set_defaults(handler=cmd_config_sample)

    db = sub.add_parser("db", help="database schema")
    dsub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    dsub.add_parser("upgrade", help="apply migrations up to the newest").set_defaults(
        handler=cmd_db_upgrade
    )
    dsub.add_parser("status", help="show the schema revision").set_defaults(
        handler=cmd_db_status
    )


def cmd_config_sample(ctx: Context, args: argparse.Namespace) -> int:
    """Print the shipped configuration, to start a new one from."""
    print(shipped_config().read_text("utf-8"), end="")
    return 0


def _mask_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        user = rest.split("@", 1)[0].split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{rest.split('@', 1)[1]}"
    return url


def describe(settings: Settings) -> list[str]:
    """A summary of the settings for humans, with secrets masked."""
    s = settings
    questions = sum(len(d.questions) for d in s.discussions)
    languages = sorted({lang for d in s.discussions for lang in d.languages})
    lines = [
        (
            f"OK: {len(s.discussions)} discussion(s), {questions} questions, "
            f"{len(languages)} languages ({', '.join(languages)})"
        ),
        f"  domain      {s.service.domain}",
        f"  web         {s.service.base_url} (listening on {s.web.listen})",
        f"  database    {_mask_url(s.database.url)}, processing commits {s.database.processing_commits.value}",
        f"  inbound     {s.inbound.protocol} on {s.inbound.listen}, max {s.inbound.max_message_bytes} bytes, {_tls(s)}",
        f"  socketmap   {f'{s.inbound.socketmap_listen} (Postfix: socketmap:inet:{s.inbound.socketmap_listen}:recipients)' if s.inbound.socketmap_listen else 'off'}",
        f"  relay       {f'{s.relay.host}:{s.relay.port} ({s.relay.security})' if s.relay else 'none: Maildir at ' + str(s.service.state_dir / 'outbox')}",
        f"  imap        {_imap(s)}",
        f"  dkim        {f'selector {s.dkim.selector}' if s.dkim else 'off'}",
        f"  digest      at most {s.digest.max_bytes} bytes a message",
        f"  secret      {'from environment' if s.service.secret else 'key file in ' + str(s.service.state_dir)}",
    ]
    for d in s.discussions:
        lines.append(
            f"  discussion  {d.slug}: {len(d.questions)} questions (weeks {', '.join(map(str, d.weeks))}); "
            f"{len(d.moderators)} moderators, {d.opens_at:%Y-%m-%d} to {d.closes_at:%Y-%m-%d} {d.time_zone.key}, "
            f"moderation {d.moderation}, unknown senders {d.unknown_senders}"
        )
    return lines


def _imap(s: Settings) -> str:
    if s.imap is None:
        return "off"
    i = s.imap
    after = f"moved to {i.processed_folder}" if i.processed_folder else "flagged"
    idle = "IDLE or " if i.use_idle else ""
    return (
        f"{i.username}@{i.host}:{i.port} {i.folder} (security {i.security}; stored mail"
        f" {after}; {idle}poll every {i.poll_seconds} s)"
    )


def _tls(s: Settings) -> str:
    if s.inbound.tls_certificate is None:
        return "no STARTTLS"
    required = " (required)" if s.inbound.require_tls else ""
    return f"STARTTLS{required} with {s.inbound.tls_certificate}"


def cmd_config_check(ctx: Context, args: argparse.Namespace) -> int:
    """Print OK and a summary, or every problem (exit 2, via ConfigError)."""
    for line in describe(ctx.settings_with_secrets()):
        print(line)
    return 0


def cmd_db_upgrade(ctx: Context, args: argparse.Namespace) -> int:
    """Bring the schema to the newest revision."""
    engine = make_engine(ctx.settings.database.url)
    try:
        upgrade(engine)
        print(f"database at revision {current_revision(engine)}")
    finally:
        engine.dispose()
    return 0


def cmd_db_status(ctx: Context, args: argparse.Namespace) -> int:
    """Print the current and newest revision; exit 1 when behind."""
    engine = make_engine(ctx.settings.database.url)
    try:
        current, head = current_revision(engine), head_revision()
    finally:
        engine.dispose()
    print(f"current {current or 'none'}, newest {head}")
    return 0 if current == head else 1
