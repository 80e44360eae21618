"""Moderator commands confirmed by a one-time token: run once, or say why not.

The token was mailed to the moderator's configured address when their command
mail carried no proof; its reply to ``<slug>-confirm+<token>@`` runs the
commands stored (hashed token, JSON payload) in the Token table. A used or
expired token runs nothing and the moderator is told, once per token.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailer.config.settings import DiscussionSettings
from mailer.core.incoming import Incoming, ModHandled
from mailer.core.message import MessageClass
from mailer.core.modauth import AuthMethod
from mailer.core.modcommands import Command, commands_from_json
from mailer.moderation.actions import Actor, MailingCalls, ResultLine, run_commands
from mailer.moderation.audit import record_audit
from mailer.moderation.replies import (
    moderator_of,
    reply_to_moderator,
    results_context,
)
from store.models import Discussion as DiscussionRow
from store.models import Token, TokenPurpose
from store.tokens import use_token

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.moderation")


def confirm_command(
    runtime: Runtime,
    session: Session,
    token_row: Token,
    incoming: Incoming,
    calls: MailingCalls,
) -> ModHandled:
    """Run the commands waiting in a ``command`` token, once; say so when it is used or expired.

    The answer goes to the moderator the token was sent to. An automatic
    answer (vacation notice, bounce) never confirms anything.
    """
    now = runtime.clock()
    parsed = incoming.parsed
    discussion_row = None
    discussion: DiscussionSettings | None = None
    if token_row.discussion_id is not None:
        discussion_row = session.get(DiscussionRow, token_row.discussion_id)
        if discussion_row is not None:
            discussion = runtime.settings.discussion(discussion_row.slug)
    if (
        token_row.purpose is not TokenPurpose.COMMAND
        or discussion is None
        or discussion_row is None
    ):
        return ModHandled.TOKEN_UNKNOWN
    if parsed.message_class is not MessageClass.NORMAL:
        log.info("command confirmation ignored: %s", parsed.message_class.value)
        return ModHandled.IGNORED
    moderator = moderator_of(discussion, token_row.email)
    if moderator is None:
        log.info("command token for %s: no longer a moderator", token_row.email)
        return ModHandled.REFUSED
    if (
        token_row.used_at is not None
        or token_row.expires_at <= now
        or not use_token(session, token_row.id, now)
    ):
        session.refresh(token_row)
        state = "used" if token_row.used_at is not None else "expired"
        reply_to_moderator(
            session,
            runtime,
            discussion,
            discussion_row.id,
            moderator,
            template="mod-result",
            key=f"mod-token-{state}:{token_row.id}",
            context=results_context(
                [ResultLine(f"token_{state}", "", {"at": token_row.used_at})],
                None,
                None,
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
            auth=AuthMethod.NONE,
            now=now,
        )
        log.info("command token %s %s: nothing done", token_row.id, state)
        return ModHandled(f"mod-token-{state}")
    try:
        payload = json.loads(token_row.payload)
        commands: tuple[Command, ...] = commands_from_json(
            json.dumps(payload["commands"])
        )
    except (ValueError, KeyError, TypeError):
        log.warning("command token %s has an unreadable payload", token_row.id)
        return ModHandled.TOKEN_UNKNOWN
    actor = Actor(moderator.email, AuthMethod.CONFIRMED, moderator)
    results = run_commands(session, runtime, discussion, commands, actor, now, calls)
    reply_to_moderator(
        session,
        runtime,
        discussion,
        discussion_row.id,
        moderator,
        template="mod-result",
        key=f"mod-result:token:{token_row.id}",
        context=results_context(results, None, actor.auth),
        parsed=parsed,
        now=now,
    )
    log.info(
        "command token %s confirmed by %s: commands=%d",
        token_row.id,
        moderator.email,
        len(commands),
    )
    return ModHandled.CONFIRMED
