"""What the moderation handlers share: the incoming mail's shape and the answers.

Every answer goes to the moderator's configured address, never to a Reply-To
or a Sender, so a forged mail can at most make a moderator read a notice.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from mailer.config.settings import DiscussionSettings, Moderator
from mailer.core.message import ParsedMessage
from mailer.core.modauth import AuthMethod
from mailer.core.modcommands import ParsedCommands
from mailer.moderation.actions import ResultLine
from mailer.outbound.mailing import Outgoing, queue_mail

if TYPE_CHECKING:
    from mailer.runtime import Runtime


def moderator_of(discussion: DiscussionSettings, address: str) -> Moderator | None:
    """The configured moderator whose address is *address* (any case), or None."""
    wanted = address.strip().lower()
    for m in discussion.moderators:
        if m.email == wanted:
            return m
    return None


def reply_to_moderator(
    session: Session,
    runtime: Runtime,
    discussion: DiscussionSettings,
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


def results_context(
    results: list[ResultLine],
    parsed_commands: ParsedCommands | None,
    auth: AuthMethod | None,
) -> dict[str, Any]:
    """The template values of a ``mod-result`` mail."""
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
