"""Mail to ``<slug>-moderators[+token]@`` and command confirmations: who, then what.

A command mail from a configured moderator runs at once when a DKIM signature
aligned with its From domain verifies (or the trusted MTA says so); otherwise
the service asks the moderator, at their configured address, to confirm with a
one-time expiring token. Mail from anyone else changes nothing and gets no
answer (its From may be forged; answering would be backscatter).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from mailer.core.addresses import AddressBook, Recipient
from mailer.core.errors import BadToken
from mailer.core.message import MessageClass, ParsedMessage
from mailer.core.modauth import (
    AuthOutcome,
    authres_dkim_pass,
    decide,
    domain_of,
    trusted_results,
)
from mailer.core.modcommands import (
    Command,
    ParsedCommands,
    commands_from_json,
    commands_to_json,
    parse_commands,
)
from mailer.core.tokens import hash_token, random_token
from mailer.links import post_from_held_token
from mailer.moderation.actions import Actor, ResultLine, run_commands
from mailer.moderation.audit import record_audit
from mailer.moderation.dkimcheck import DnsFunc, resolver_dnsfunc, verify_dkim
from mailer.outbound.mailing import Outgoing, queue_mail
from mailer.settings import Discussion, Moderator
from store.discussions import discussion_by_slug
from store.models import OutboxMessage, Token

if TYPE_CHECKING:
    from mailer.service import Runtime

log = logging.getLogger("ediscuss.moderation")

COMMAND_PURPOSE = "command"
CONFIRMS_PER_HOUR = 10  # forged command mail cannot flood a moderator's mailbox


class IncomingMail(Protocol):
    """What the inbound pipeline hands over: the parsed mail, its bytes and envelope."""

    @property
    def inbound_id(self) -> int: ...
    @property
    def parsed(self) -> ParsedMessage: ...
    @property
    def recipient(self) -> Recipient: ...
    @property
    def envelope_from(self) -> str: ...
    @property
    def raw(self) -> bytes: ...


def _moderator(discussion: Discussion, address: str) -> Moderator | None:
    wanted = address.strip().lower()
    for m in discussion.moderators:
        if m.email == wanted:
            return m
    return None


def _reply(
    session: Session,
    runtime: Runtime,
    discussion: Discussion,
    discussion_id: int | None,
    moderator: Moderator,
    *,
    template: str,
    key: str,
    context: dict[str, Any],
    parsed: ParsedMessage | None,
    now: datetime,
    reply_to: str | None = None,
) -> bool:
    """Queue one mail to the moderator's configured address (never a Reply-To)."""
    mid = parsed.message_id if parsed is not None else None
    refs = (*parsed.references[-10:], mid) if parsed is not None and mid else ()
    out = Outgoing(
        template=template,
        language=moderator.language,
        to_address=moderator.email,
        to_name=moderator.name,
        dedupe_key=key,
        kind=template,
        context={
            "moderator_name": moderator.name,
            "original_subject": parsed.subject if parsed is not None else "",
            **context,
        },
        reply_to=reply_to,
        in_reply_to=mid,
        references=tuple(r for r in refs if r),
        auto_submitted="auto-replied",
    )
    return queue_mail(
        session, runtime.settings, runtime.key, discussion, discussion_id, out, now
    )


def _results_context(
    results: list[ResultLine], parsed_commands: ParsedCommands | None, auth: str
) -> dict[str, Any]:
    unknown = parsed_commands.unknown if parsed_commands is not None else ()
    truncated = parsed_commands.truncated if parsed_commands is not None else False
    return {
        "results": results,
        "unknown": unknown,
        "truncated": truncated,
        "auth": auth,
        "show_help": any(r.code == "help" for r in results)
        or (not results and bool(unknown)),
    }


def _dnsfunc(runtime: Runtime) -> DnsFunc:
    return resolver_dnsfunc(runtime.settings.inbound.dkim_resolver)


def _held_post(runtime: Runtime, recipient: Recipient) -> tuple[int | None, bool]:
    """The post a held-post address names, and whether a token was there but bad."""
    if not recipient.detail:
        return None, False
    try:
        return post_from_held_token(runtime.key, recipient.detail), False
    except (BadToken, ValueError):
        return None, True


def handle_moderator_mail(
    runtime: Runtime, session: Session, incoming: IncomingMail
) -> str:
    """Authenticate and run (or ask to confirm) the commands of one mail; returns what was done.

    The returned word is for the inbound log and the message's ``kind``.
    """
    parsed = incoming.parsed
    now = runtime.clock()
    settings = runtime.settings
    slug = incoming.recipient.slug
    discussion = settings.discussion(slug)
    row = discussion_by_slug(session, slug)
    if discussion is None or row is None:
        log.info("moderators mail for unknown discussion %s dropped", slug)
        return "mod-ignored"
    mid = parsed.message_id or "-"
    if parsed.message_class is not MessageClass.NORMAL:
        log.info(
            "moderators mail message-id=%s ignored: %s", mid, parsed.message_class.value
        )
        return "mod-ignored"
    sender = parsed.from_address.strip().lower()
    moderator = _moderator(discussion, sender)
    from_domain = domain_of(sender)
    dkim_ok = False
    authres_ok = False
    if moderator is not None and from_domain:
        verdict = verify_dkim(incoming.raw, sender, _dnsfunc(runtime))
        dkim_ok = verdict.ok
        if not dkim_ok:
            trusted = trusted_results(
                parsed.headers, settings.inbound.trusted_authserv_id
            )
            authres_ok = authres_dkim_pass(trusted, from_domain)
            log.info("moderators mail message-id=%s dkim: %s", mid, verdict.reason)
    decision = decide(
        is_moderator=moderator is not None,
        dkim_aligned=dkim_ok,
        authres_aligned=authres_ok,
    )
    if decision.outcome is AuthOutcome.REFUSE or moderator is None:
        record_audit(
            session,
            discussion_id=row.id,
            actor=sender or incoming.envelope_from,
            action="refused",
            target=mid,
            detail=decision.reason,
            auth="none",
            now=now,
        )
        log.info(
            "moderators mail message-id=%s from=%s refused: %s",
            mid,
            sender,
            decision.reason,
        )
        return "mod-refused"
    held_post, bad_token = _held_post(runtime, incoming.recipient)
    commands = parse_commands(parsed.subject, parsed.text, held_post)
    if decision.outcome is AuthOutcome.RUN:
        assert decision.method is not None
        actor = Actor(moderator.email, decision.method.value, moderator)
        results = run_commands(
            session, runtime, discussion, commands.commands, actor, now
        )
        if bad_token:
            results.insert(0, ResultLine("bad_held_address", "", {}))
        _reply(
            session,
            runtime,
            discussion,
            row.id,
            moderator,
            template="mod-result",
            key=f"mod-result:{incoming.inbound_id}",
            context=_results_context(results, commands, actor.auth),
            parsed=parsed,
            now=now,
        )
        log.info(
            "moderators mail message-id=%s from=%s auth=%s commands=%d",
            mid,
            sender,
            actor.auth,
            len(commands.commands),
        )
        return "mod-command"
    return _ask_confirmation(
        session,
        runtime,
        discussion,
        row.id,
        moderator,
        incoming,
        commands,
        bad_token,
        now,
    )


def _confirmations_last_hour(session: Session, address: str, now: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.kind == "mod-confirm",
                OutboxMessage.recipient == address,
                OutboxMessage.created_at > now - timedelta(hours=1),
            )
        )
        or 0
    )


def _ask_confirmation(
    session: Session,
    runtime: Runtime,
    discussion: Discussion,
    discussion_id: int,
    moderator: Moderator,
    incoming: IncomingMail,
    commands: ParsedCommands,
    bad_token: bool,
    now: datetime,
) -> str:
    parsed = incoming.parsed
    mid = parsed.message_id or "-"
    if _confirmations_last_hour(session, moderator.email, now) >= CONFIRMS_PER_HOUR:
        log.warning(
            "moderators mail message-id=%s: confirmation limit reached for %s",
            mid,
            moderator.email,
        )
        return "mod-confirm-limit"
    if not commands.commands:
        _reply(
            session,
            runtime,
            discussion,
            discussion_id,
            moderator,
            template="mod-result",
            key=f"mod-result:{incoming.inbound_id}",
            context=_results_context([], commands, ""),
            parsed=parsed,
            now=now,
        )
        return "mod-no-command"
    token = random_token()
    ttl = timedelta(hours=runtime.settings.subscribers.command_ttl_hours)
    session.add(
        Token(
            token_hash=hash_token(token),
            purpose=COMMAND_PURPOSE,
            discussion_id=discussion_id,
            email=moderator.email,
            payload=json.dumps(
                {
                    "commands": json.loads(commands_to_json(commands.commands)),
                    "message_id": parsed.message_id,
                    "subject": parsed.subject[:200],
                }
            ),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    book = AddressBook(discussion.slug, runtime.settings.service.domain)
    confirm_address = book.confirm(token)
    _reply(
        session,
        runtime,
        discussion,
        discussion_id,
        moderator,
        template="mod-confirm",
        key=f"mod-confirm:{incoming.inbound_id}",
        context={
            "commands": [c.line for c in commands.commands],
            "unknown": commands.unknown,
            "confirm_address": confirm_address,
            "expires_at": now + ttl,
            "ttl_hours": runtime.settings.subscribers.command_ttl_hours,
            "bad_held_address": bad_token,
        },
        parsed=parsed,
        now=now,
        reply_to=confirm_address,
    )
    log.info(
        "moderators mail message-id=%s from=%s unproven: confirmation asked",
        mid,
        moderator.email,
    )
    return "mod-confirm-sent"


def _consume(session: Session, token_row: Token, now: datetime) -> bool:
    result = session.execute(
        update(Token)
        .where(
            Token.id == token_row.id, Token.used_at.is_(None), Token.expires_at > now
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount) == 1


def confirm_command(
    runtime: Runtime, session: Session, token_row: Token, incoming: IncomingMail
) -> str:
    """Run the commands waiting in a ``command`` token, once; say so when it is used or expired.

    The answer goes to the moderator the token was sent to. An automatic
    answer (vacation notice, bounce) never confirms anything.
    """
    now = runtime.clock()
    parsed = incoming.parsed
    discussion_row = None
    discussion: Discussion | None = None
    if token_row.discussion_id is not None:
        from store.models import Discussion as DiscussionRow

        discussion_row = session.get(DiscussionRow, token_row.discussion_id)
        if discussion_row is not None:
            discussion = runtime.settings.discussion(discussion_row.slug)
    if (
        token_row.purpose != COMMAND_PURPOSE
        or discussion is None
        or discussion_row is None
    ):
        return "mod-token-unknown"
    if parsed.message_class is not MessageClass.NORMAL:
        log.info("command confirmation ignored: %s", parsed.message_class.value)
        return "mod-ignored"
    moderator = _moderator(discussion, token_row.email)
    if moderator is None:
        log.info("command token for %s: no longer a moderator", token_row.email)
        return "mod-refused"
    if (
        token_row.used_at is not None
        or token_row.expires_at <= now
        or not _consume(session, token_row, now)
    ):
        session.refresh(token_row)
        state = "used" if token_row.used_at is not None else "expired"
        _reply(
            session,
            runtime,
            discussion,
            discussion_row.id,
            moderator,
            template="mod-result",
            key=f"mod-token-{state}:{token_row.id}",
            context=_results_context(
                [ResultLine(f"token_{state}", "", {"at": token_row.used_at})], None, ""
            ),
            parsed=parsed,
            now=now,
        )
        record_audit(
            session,
            discussion_id=discussion_row.id,
            actor=parsed.from_address or incoming.envelope_from,
            action="confirm-refused",
            target=f"token:{token_row.id}",
            detail=f"token {state}",
            auth="none",
            now=now,
        )
        log.info("command token %s %s: nothing done", token_row.id, state)
        return f"mod-token-{state}"
    try:
        payload = json.loads(token_row.payload)
        commands: tuple[Command, ...] = commands_from_json(
            json.dumps(payload["commands"])
        )
    except (ValueError, KeyError, TypeError):
        log.warning("command token %s has an unreadable payload", token_row.id)
        return "mod-token-unknown"
    actor = Actor(moderator.email, "confirmed", moderator)
    results = run_commands(session, runtime, discussion, commands, actor, now)
    _reply(
        session,
        runtime,
        discussion,
        discussion_row.id,
        moderator,
        template="mod-result",
        key=f"mod-result:token:{token_row.id}",
        context=_results_context(results, None, actor.auth),
        parsed=parsed,
        now=now,
    )
    log.info(
        "command token %s confirmed by %s: commands=%d",
        token_row.id,
        moderator.email,
        len(commands),
    )
    return "mod-confirmed"
