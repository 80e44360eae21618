"""One stored message, parsed, to its effect: routed and applied for each recipient.

Runs inside the pipeline's transaction (:mod:`mailer.inbound.pipeline` claims,
counts attempts and records outcomes). A post address is routed with the facts
:class:`~mailer.inbound.lookups.Lookups` holds and applied by
:mod:`mailer.inbound.effects`; any other address is handed to its handler.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING

from mailer.core.addresses import Recipient, parse_recipient
from mailer.core.errors import UnknownRecipient
from mailer.core.headers import stable_message_id
from mailer.core.incoming import Incoming
from mailer.core.message import ParsedMessage
from mailer.core.route import POST_ADDRESSES, Action, route_message
from mailer.inbound.effects import apply_decision, handoff_facts
from mailer.inbound.handlers import handler_for
from mailer.inbound.lookups import Lookups
from store.processing import InboundItem

if TYPE_CHECKING:
    from mailer.runtime import Runtime


@functools.lru_cache(maxsize=4096)
def _recipient(line: str, domain: str, slugs: tuple[str, ...]) -> Recipient | None:
    """*line* as one of our addresses, or None (asked three times a message)."""
    try:
        return parse_recipient(line, domain, slugs)
    except UnknownRecipient:
        return None  # a discussion removed from the configuration since


def recipients_of(runtime: Runtime, item: InboundItem) -> list[Recipient]:
    """The envelope recipients that are (still) ours, each once, in order."""
    s = runtime.settings
    domain, slugs = s.service.domain, s.slugs
    found: list[Recipient] = []
    for line in item.envelope_to.splitlines():
        rcpt = _recipient(line, domain, slugs)
        if rcpt is not None and rcpt not in found:
            found.append(rcpt)
    return found


def own_message_id(runtime: Runtime, item: InboundItem, parsed: ParsedMessage) -> str:
    """The Message-ID a post of this message is stored under (one is made when it has none)."""
    return parsed.message_id or stable_message_id(
        item.dedupe_key, runtime.settings.service.domain, "in"
    )


def read_waits(
    lookups: Lookups, items: Iterable[tuple[InboundItem, ParsedMessage]]
) -> None:
    """Ask at once, for every post these messages may make, whether a reply stored
    earlier waits for it (:meth:`Lookups.read_waits`)."""
    runtime = lookups.runtime
    wanted = []
    for item, parsed in items:
        own_id = own_message_id(runtime, item, parsed)
        for rcpt in recipients_of(runtime, item):
            view = (
                lookups.discussion(rcpt.slug) if rcpt.kind in POST_ADDRESSES else None
            )
            if view is not None:
                wanted.append((view.row.id, own_id))
    lookups.read_waits(wanted)


def apply_message(
    lookups: Lookups, item: InboundItem, parsed: ParsedMessage
) -> tuple[str, str]:
    """Route and apply for every recipient; returns (decision, reason)."""
    runtime = lookups.runtime
    recipients = recipients_of(runtime, item)
    if not recipients:
        return "dropped", "no recipient of ours"
    own_id = own_message_id(runtime, item, parsed)
    results: list[tuple[str, str]] = []
    posted: set[str] = set()
    for rcpt in recipients:
        if rcpt.kind in POST_ADDRESSES and rcpt.slug in posted:
            results.append(("dropped", f"{rcpt.kind.value}: one post per message"))
            continue
        outcome = apply_one(lookups, item, parsed, rcpt, own_id)
        if outcome[0] in ("post", "held"):
            posted.add(rcpt.slug)
        results.append(outcome)
    decisions = list(dict.fromkeys(d for d, _ in results))
    return "+".join(decisions), "; ".join(r for _, r in results)


def apply_one(
    lookups: Lookups,
    item: InboundItem,
    parsed: ParsedMessage,
    rcpt: Recipient,
    own_id: str,
) -> tuple[str, str]:
    """Route and apply one recipient."""
    runtime = lookups.runtime
    if rcpt.kind in POST_ADDRESSES:
        facts = lookups.facts(parsed, rcpt, item.envelope_from, item.raw)
        if facts is None:
            return "dropped", f"no discussion {rcpt.slug}"
    else:
        facts = handoff_facts(runtime, rcpt, item.envelope_from)
    decision = route_message(rcpt, parsed, facts)
    if decision.action is Action.HANDOFF:
        assert decision.handler is not None
        handler = handler_for(decision.handler)
        incoming = Incoming(item.id, parsed, rcpt, item.envelope_from, item.raw)
        word = handler(runtime, lookups.session, incoming)
        lookups.forget_changeable()
        return word, f"{decision.handler.value} handler: {word}"
    return apply_decision(lookups, item, parsed, rcpt, decision, own_id)
