"""Handlers for the addresses that are not posts: request, confirm, moderators, bounces.

Each handler is a function ``(runtime, session, incoming) -> str`` that runs
inside the pipeline's transaction and returns a word of its own StrEnum for the log
and the message's ``kind``. They live with the part they serve (subscriptions,
moderation, bounces), which sit below ``inbound`` and never import it.

Every address kind that is not a post's (:data:`~mailer.core.route.HandoffKind`)
has its handler in :func:`handler_for`, a ``match`` mypy fails if one is
missing: no message can wait for a handler. The moderators' commands and their
confirmations are handed the mailings they may set going
(:data:`mailer.mailings.MAILING_CALLS`).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailer.core.addresses import AddressKind
from mailer.core.incoming import (
    ConfirmHandled,
    Incoming,
    ModHandled,
    PostmasterHandled,
)
from mailer.core.route import HandoffKind
from mailer.mailings import MAILING_CALLS
from mailer.moderation import handle_moderator_mail
from mailer.outbound.bounces import handle_bounce_mail
from mailer.subscriptions import handle_confirm_mail, handle_request_mail

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.inbound")

__all__ = ["Handler", "Incoming", "handler_for", "keep_for_operator"]

Handler = Callable[["Runtime", Session, Incoming], enum.StrEnum]


def keep_for_operator(
    runtime: Runtime, session: Session, incoming: Incoming
) -> PostmasterHandled:
    """Mail to postmaster@: kept in the inbox for the operator (``ediscuss inbox show``)."""
    log.info(
        "postmaster mail id=%d message-id=%s from=%s kept for the operator",
        incoming.inbound_id,
        incoming.parsed.message_id or "-",
        incoming.parsed.from_address or "<>",
    )
    return PostmasterHandled.KEPT


def moderator_mail(
    runtime: Runtime, session: Session, incoming: Incoming
) -> ModHandled:
    """Mail to the moderators: their commands, with the mailings they may set going."""
    return handle_moderator_mail(runtime, session, incoming, MAILING_CALLS)


def confirm_mail(
    runtime: Runtime, session: Session, incoming: Incoming
) -> ConfirmHandled | ModHandled:
    """A confirmation reply; a moderator's command token runs with the mailings too."""
    return handle_confirm_mail(runtime, session, incoming, MAILING_CALLS)


def handler_for(kind: HandoffKind) -> Handler:
    """The handler of address *kind*: each has one, and mypy fails this match if one is missing."""
    match kind:
        case AddressKind.POSTMASTER:
            return keep_for_operator
        case AddressKind.REQUEST:
            return handle_request_mail
        case AddressKind.CONFIRM:
            return confirm_mail
        case AddressKind.MODERATORS:
            return moderator_mail
        case AddressKind.BOUNCES:
            return handle_bounce_mail
