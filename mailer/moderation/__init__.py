"""Moderators by email: commands, their authentication, the queue and the audit log.

The inbound pipeline calls :func:`handle_moderator_mail` for mail to
``<slug>-moderators[+token]@`` and :func:`notify_held` when it holds a post;
the scheduler calls :func:`send_held_summaries` for what waits untold;
the confirmation handler calls :func:`confirm_command` for ``command`` tokens.
"""

from __future__ import annotations

from mailer.moderation.actions import (
    Actor,
    MailingCalls,
    ResultLine,
    is_banned,
    run_commands,
)
from mailer.moderation.audit import recent_audit, record_audit
from mailer.moderation.confirm import confirm_command
from mailer.moderation.inbox import handle_moderator_mail
from mailer.moderation.notices import (
    next_summaries,
    notify_held,
    send_held_summaries,
)

__all__ = [
    "Actor",
    "MailingCalls",
    "ResultLine",
    "confirm_command",
    "handle_moderator_mail",
    "is_banned",
    "next_summaries",
    "notify_held",
    "recent_audit",
    "record_audit",
    "run_commands",
    "send_held_summaries",
]
