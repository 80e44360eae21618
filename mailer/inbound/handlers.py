"""Handlers for the addresses that are not posts: request, confirm, moderators, bounces.

Each handler is a function ``(runtime, session, incoming) -> str`` that runs
inside the pipeline's transaction and returns a short outcome word for the log
and the message's ``kind``. The modules that hold them are imported only when
first needed, which keeps import cycles away and lets the pipeline tell a
missing handler (the message waits, nothing is lost) from a failing one.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from mailer.core.addresses import AddressKind, Recipient
from mailer.core.message import ParsedMessage

if TYPE_CHECKING:
    from mailer.service import Runtime

log = logging.getLogger("ediscuss.inbound")


@dataclass(frozen=True)
class Incoming:
    """One received message for one of the service's addresses, as handlers get it."""

    inbound_id: int
    parsed: ParsedMessage
    recipient: Recipient
    envelope_from: str
    raw: bytes


Handler = Callable[["Runtime", Session, Incoming], str]

# Where each kind's handler lives: (module, function).
SOURCES: dict[AddressKind, tuple[str, str]] = {
    AddressKind.REQUEST: ("mailer.subscriptions", "handle_request_mail"),
    AddressKind.CONFIRM: ("mailer.subscriptions", "handle_confirm_mail"),
    AddressKind.MODERATORS: ("mailer.moderation", "handle_moderator_mail"),
    AddressKind.BOUNCES: ("mailer.outbound.bounces", "handle_bounce_mail"),
}


def keep_for_operator(runtime: Runtime, session: Session, incoming: Incoming) -> str:
    """Mail to postmaster@: kept in the inbox for the operator (``ediscuss inbox show``)."""
    log.info(
        "postmaster mail id=%d message-id=%s from=%s kept for the operator",
        incoming.inbound_id,
        incoming.parsed.message_id or "-",
        incoming.parsed.from_address or "<>",
    )
    return "postmaster"


HANDLERS: dict[AddressKind, Handler] = {AddressKind.POSTMASTER: keep_for_operator}


def lazy_function(module: str, name: str) -> Callable[..., Any] | None:
    """``module.name`` if that module exists and defines it, else None.

    An import error raised *inside* an existing module is a bug, not an
    absence: it propagates.
    """
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module + ".").startswith(exc.name + "."):
            return None
        raise
    function = getattr(found, name, None)
    return function if callable(function) else None


def handler_for(kind: AddressKind) -> Handler | None:
    """The handler of address *kind*, importing it on first use; None when not there."""
    handler = HANDLERS.get(kind)
    if handler is not None:
        return handler
    source = SOURCES.get(kind)
    if source is None:
        return None
    function = lazy_function(*source)
    if function is None:
        return None
    HANDLERS[kind] = function
    return function
