"""Mail to ``<slug>-moderators[+token]@``: who sent it, whether that is proven, then what.

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
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailer.config.settings import DiscussionSettings, Moderator
from mailer.core.addresses import AddressBook, Recipient
from mailer.core.errors import BadToken
from mailer.core.incoming import Incoming, ModHandled
from mailer.core.message import MessageClass
from mailer.core.modauth import (
    AuthMethod,
    AuthOutcome,
    authres_dkim_pass,
    decide,
    domain_of,
    trusted_results,
)
from mailer.core.modcommands import (
    ParsedCommands,
    commands_to_json,
    parse_commands,
)
from mailer.core.tokens import hash_token, random_token
from mailer.links import post_from_held_token
from mailer.moderation.actions import Actor, MailingCalls, ResultLine, run_commands
from mailer.moderation.audit import record_audit
from mailer.moderation.dkimcheck import DnsFunc, resolver_dnsfunc, verify_dkim
from mailer.moderation.replies import (
    moderator_of,
    reply_to_moderator,
    results_context,
)
from store.discussions import discussion_by_slug
from store.models import OutboxMessage, Token, TokenPurpose

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.moderation")

CONFIRMS_PER_HOUR = 10  # forged command mail cannot flood a moderator's mailbox


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
    runtime: Runtime, session: Session, incoming: Incoming, calls: MailingCalls
) -> ModHandled:
    """Authenticate and run (or ask to confirm) the commands of one mail; returns what was done.

    The returned word is for the inbound log and the message's ``kind``;
    *calls* are the mailings the commands may set going.
    """
    parsed = incoming.parsed
    now = runtime.clock()
    settings = runtime.settings
    slug = incoming.recipient.slug
    discussion = settings.discussion(slug)
    row = discussion_by_slug(session, slug)
    if discussion is None or row is None:
        log.info("moderators mail for unknown discussion %s dropped", slug)
        return ModHandled.IGNORED
    mid = parsed.message_id or "-"
    if parsed.message_class is not MessageClass.NORMAL:
        log.info(
            "moderators mail message-id=%s ignored: %s", mid, parsed.message_class.value
        )
        return ModHandled.IGNORED
    sender = parsed.from_address.strip().lower()
    moderator = moderator_of(discussion, sender)
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
            auth=AuthMethod.NONE,
            now=now,
        )
        log.info(
            "moderators mail message-id=%s from=%s refused: %s",
            mid,
            sender,
            decision.reason,
        )
        return ModHandled.REFUSED
    held_post, bad_token = _held_post(runtime, incoming.recipient)
    commands = parse_commands(parsed.subject, parsed.text, held_post)
    if decision.outcome is AuthOutcome.RUN:
        assert decision.method is not None
        actor = Actor(moderator.email, decision.method, moderator)
        results = run_commands(
            session, runtime, discussion, commands.commands, actor, now, calls
        )
        if bad_token:
            results.insert(0, ResultLine("bad_held_address", "", {}))
        reply_to_moderator(
            session,
            runtime,
            discussion,
            row.id,
            moderator,
            template="mod-result",
            key=f"mod-result:{incoming.inbound_id}",
            context=results_context(results, commands, actor.auth),
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
        return ModHandled.COMMAND
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
    discussion: DiscussionSettings,
    discussion_id: int,
    moderator: Moderator,
    incoming: Incoming,
    commands: ParsedCommands,
    bad_token: bool,
    now: datetime,
) -> ModHandled:
    parsed = incoming.parsed
    mid = parsed.message_id or "-"
    if _confirmations_last_hour(session, moderator.email, now) >= CONFIRMS_PER_HOUR:
        log.warning(
            "moderators mail message-id=%s: confirmation limit reached for %s",
            mid,
            moderator.email,
        )
        return ModHandled.CONFIRM_LIMIT
    if not commands.commands:
        reply_to_moderator(
            session,
            runtime,
            discussion,
            discussion_id,
            moderator,
            template="mod-result",
            key=f"mod-result:{incoming.inbound_id}",
            context=results_context([], commands, None),
            parsed=parsed,
            now=now,
        )
        return ModHandled.NO_COMMAND
    token = random_token()
    ttl = timedelta(hours=runtime.settings.subscribers.command_ttl_hours)
    session.add(
        Token(
            token_hash=hash_token(token),
            purpose=TokenPurpose.COMMAND,
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
    reply_to_moderator(
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
    return ModHandled.CONFIRM_SENT
