"""Handlers for the addresses that are not posts: request, confirm, moderators, bounces.

Each handler is a function ``(runtime, session, incoming) -> str`` that runs
inside the pipeline's transaction and returns a word of its own StrEnum for the log
and the message's ``kind``. They live with the part they serve (subscriptions,
moderation, bounces), which sit below ``inbound`` and never import it.
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
from mailer.mailings import MAILING_CALLS
from mailer.moderation import handle_moderator_mail
from mailer.outbound.bounces import handle_bounce_mail
from mailer.subscriptions import handle_confirm_mail, handle_request_mail

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.inbound")

__all__ = ["HANDLERS", "Handler", "Incoming", "handler_for", "keep_for_operator"]

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


HANDLERS: dict[AddressKind, Handler] = {
    AddressKind.POSTMASTER: keep_for_operator,
    AddressKind.REQUEST: handle_request_mail,
    AddressKind.CONFIRM: confirm_mail,
    AddressKind.MODERATORS: moderator_mail,
    AddressKind.BOUNCES: handle_bounce_mail,
}


def handler_for(kind: AddressKind) -> Handler | None:
    """The handler of address *kind*; None when this version has none."""
    return HANDLERS.get(kind)
