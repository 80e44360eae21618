"""Mail to ``<slug>-request@`` (commands) and ``<slug>-confirm+<token>@`` (confirmations).

Who is asking: the From address. It can be forged, so what could hurt a
subscriber needs a round trip to the subscribed address: subscribing (double
opt-in) and unsubscribing (a token mailed to the subscribed address). The
envelope sender is not compared with From: forwarding, SRS and bulk senders
make them differ for honest mail, and the round trip is the real proof.

``language`` and ``mode`` apply at once when the From address has a
subscription, and the answer always goes to that subscribed address. A
forger could switch someone to the digest or to Spanish, but nothing is lost
or disclosed, the subscriber is told at once by that answer, and one reply
undoes it; a confirmation round trip for each such change would cost every
honest subscriber an extra mail to prevent a prank. ``unsubscribe`` is
different: it stops all mail, and the victim might never notice.

``manage`` answers with the link to the page that manages the subscription
(see :mod:`mailer.web.manage`), and the answer too goes to the From address
only, so a forger learns nothing and the link reaches only the subscribed
mailbox. An address without an active subscription (never subscribed,
waiting for its confirmation, gone or disabled) gets one and the same
neutral text.

Nothing is ever sent in answer to an auto-reply, a bounce, a loop, a list
mail, or a message with a null envelope sender (RFC 3834); answers carry
``Auto-Submitted: auto-replied``, and one address gets at most
:data:`ANSWERS_PER_DAY` of them a day, so forged mail cannot turn the service
into a mail bomb.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailer.core.choices import SignupSource
from mailer.core.commands import (
    Help,
    Manage,
    SetLanguage,
    SetMode,
    Subscribe,
    SubscriberCommands,
    Unsubscribe,
    parse_commands,
)
from mailer.core.errors import BadToken
from mailer.core.incoming import ConfirmHandled, Incoming, ModHandled, RequestHandled
from mailer.core.message import MessageClass, ParsedMessage
from mailer.core.tokens import hash_token
from mailer.moderation import MailingCalls, confirm_command
from mailer.subscriptions.leaving import ConfirmOutcome, apply_token, ask_unsubscribe
from mailer.subscriptions.notices import Notice, Place, place_for, queue_notice
from mailer.subscriptions.signup import Signup, SignupOutcome, subscribe
from mailer.subscriptions.values import InvalidAddress, normalise_address
from store.discussions import discussion_by_slug
from store.models import (
    DeliveryMode,
    OutboxMessage,
    Subscription,
    SubscriptionStatus,
    TokenPurpose,
)
from store.subscribers import subscriber_by_email, subscription_of
from store.tokens import token_by_hash, token_payload

if TYPE_CHECKING:
    from mailer.runtime import Runtime

log = logging.getLogger("ediscuss.subscribers")

_BULK_PRECEDENCE = ("bulk", "junk", "list", "auto_reply")
ANSWERS_PER_DAY = 10  # answers to one address (help, results, used tokens)
_CHANGEABLE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PENDING)


def why_silent(incoming: Incoming) -> str | None:
    """Why this message must get no answer at all, or None when it may get one."""
    parsed = incoming.parsed
    if parsed.message_class is not MessageClass.NORMAL:
        return str(parsed.message_class.value)
    if incoming.envelope_from.strip() in ("", "<>"):
        return "null sender"
    auto = (parsed.header("Auto-Submitted") or "no").split(";")[0].strip().lower()
    if auto != "no":
        return f"Auto-Submitted: {auto}"
    if (parsed.header("Precedence") or "").strip().lower() in _BULK_PRECEDENCE:
        return "Precedence"
    if parsed.header("List-Id") or parsed.header("X-Autoreply"):
        return "list or automatic mail"
    return None


def _sender(runtime: Runtime, parsed: ParsedMessage) -> str | None:
    try:
        address = normalise_address(parsed.from_address)
    except InvalidAddress:
        return None
    if address.endswith("@" + runtime.settings.service.domain):
        return None  # our own address: a loop in the making
    return address


def _language(
    sub: Subscription | None,
    parsed_commands: SubscriberCommands,
    parsed: ParsedMessage,
    place: Place,
) -> str:
    if sub is not None:
        return sub.language
    for command in parsed_commands.commands:
        if isinstance(command, SetLanguage):
            return command.language
        if isinstance(command, Subscribe) and command.language:
            return command.language
    if parsed.language in place.conf.languages:
        return parsed.language
    return place.conf.default_language


def handle_request_mail(
    runtime: Runtime, session: Session, incoming: Incoming
) -> RequestHandled:
    """Run the commands of a mail to ``<slug>-request@`` and answer the sender once."""
    parsed = incoming.parsed
    mid = parsed.message_id or "-"
    silent = why_silent(incoming)
    address = _sender(runtime, parsed) if silent is None else None
    if silent is not None or address is None:
        log.info(
            "request mail id=%d message-id=%s ignored: %s",
            incoming.inbound_id,
            mid,
            silent or "no usable From address",
        )
        return RequestHandled.IGNORED
    now = runtime.clock()
    place = place_for(session, runtime, incoming.recipient.slug)
    commands = parse_commands(
        parsed.subject,
        parsed.text,
        place.conf.languages,
        slug=place.slug,
        sender=address,
    )
    person = subscriber_by_email(session, address)
    sub = subscription_of(session, place.row_id, person.id) if person else None
    language = _language(sub, commands, parsed, place)
    results: list[dict[str, Any]] = []
    want_help = not commands.commands
    want_manage = False
    for command in commands.commands:
        if isinstance(command, Help):
            want_help = True
            continue
        if isinstance(command, Manage):
            want_manage = True
            continue
        if isinstance(command, Subscribe):
            sub = _subscribe(
                session, runtime, place, address, command, sub, results, parsed, now
            )
        elif isinstance(command, Unsubscribe):
            if sub is None or sub.status is not SubscriptionStatus.ACTIVE:
                results.append(_result(command.source, "not-subscribed"))
            elif person is not None and not ask_unsubscribe(
                session, runtime, place, sub, person, now, parsed
            ):
                results.append(_result(command.source, "unsubscribe-pending"))
        elif sub is None or sub.status not in _CHANGEABLE:
            results.append(_result(command.source, "not-subscribed"))
        elif isinstance(command, SetLanguage):
            results.append(_set_language(sub, command.language, command.source))
        elif isinstance(command, SetMode):
            results.append(
                _set_mode(sub, DeliveryMode(command.mode.value), command.source)
            )
        if sub is not None:
            language = sub.language
    outcomes = [r["outcome"] for r in results]
    log.info(
        "request mail id=%d message-id=%s from=%s commands=%d unknown=%d results=%s",
        incoming.inbound_id,
        mid,
        address,
        len(commands.commands),
        len(commands.unknown),
        ",".join(outcomes) or "-",
    )
    if not (want_help or want_manage or results):
        return RequestHandled.DONE
    quiet = {"already-active", "already-pending", "unsubscribe-pending"}
    if (
        not (want_help or want_manage)
        and not commands.unknown
        and set(outcomes) <= quiet
        and sub
    ):
        key: str | None = f"already:{sub.id}:{now.date().isoformat()}"  # once a day
    else:
        key = answer_key(session, address, now)
    if key is None:
        log.info(
            "request mail id=%d: %s had its answers for today",
            incoming.inbound_id,
            address,
        )
        return RequestHandled.DONE
    if want_manage:
        template = "manage"
    else:
        template = "help" if want_help else "command-result"
    queue_notice(
        session,
        runtime,
        place,
        Notice(
            template=template,
            key=key,
            to=address,
            language=language,
            subscription_id=sub.id if sub is not None else None,
            answering=parsed,
            context={
                "results": results,
                "unknown": [
                    {"line": u.line, "text": u.text, "problem": u.problem.value}
                    for u in commands.unknown
                ],
                "status": sub.status.value if sub is not None else "",
                "mode": sub.mode.value if sub is not None else "",
                "reads": sub.language if sub is not None else "",
            },
        ),
        now,
    )
    if want_manage:
        log.info(
            "request mail id=%d message-id=%s: manage link %s",
            incoming.inbound_id,
            mid,
            "sent"
            if sub is not None and sub.status is SubscriptionStatus.ACTIVE
            else "not sent: no active subscription",
        )
    return RequestHandled.HELP if want_help else RequestHandled.DONE


def answer_key(session: Session, address: str, now: datetime) -> str | None:
    """The dedupe key of the next answer to *address* today, or None past the daily limit.

    A From header is easy to forge, so without a limit anyone could make the
    service mail a stranger again and again (backscatter). Each day has
    :data:`ANSWERS_PER_DAY` numbered slots per address; their keys are looked
    up through the outbox's unique index.
    """
    day = now.date().isoformat()
    keys = [f"answer:{day}:{n}:{address}" for n in range(ANSWERS_PER_DAY)]
    taken = set(
        session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))
        )
    )
    return next((k for k in keys if k not in taken), None)


def _result(source: str, outcome: str, value: str = "") -> dict[str, Any]:
    return {"line": source, "outcome": outcome, "value": value}


def _set_language(sub: Subscription, language: str, source: str) -> dict[str, Any]:
    if sub.language == language:
        return _result(source, "unchanged", language)
    sub.language = language
    return _result(source, "language-changed", language)


def _set_mode(sub: Subscription, mode: DeliveryMode, source: str) -> dict[str, Any]:
    if sub.mode is mode:
        return _result(source, "unchanged", mode.value)
    sub.mode = mode
    return _result(source, "mode-changed", mode.value)


def _subscribe(
    session: Session,
    runtime: Runtime,
    place: Place,
    address: str,
    command: Subscribe,
    sub: Subscription | None,
    results: list[dict[str, Any]],
    parsed: ParsedMessage,
    now: datetime,
) -> Subscription:
    """``subscribe`` by mail: a sign-up, or changes when the address is already active."""
    mode = DeliveryMode(command.mode.value) if command.mode else None
    if sub is not None and sub.status is SubscriptionStatus.ACTIVE:
        changes = []
        if command.language and command.language != sub.language:
            changes.append(_set_language(sub, command.language, command.source))
        if mode is not None and mode is not sub.mode:
            changes.append(_set_mode(sub, mode, command.source))
        results.extend(changes or [_result(command.source, "already-active")])
        return sub
    signup = Signup(
        address,
        name=command.name,
        organisation=command.organisation,
        constituency=command.constituency,
        language=command.language,
        mode=mode,
        source=SignupSource.EMAIL,
    )
    signed = subscribe(session, runtime, place, signup, now, answering=parsed)
    if signed.outcome is SignupOutcome.ALREADY_PENDING:
        results.append(_result(command.source, "already-pending"))
    found = session.get(Subscription, signed.subscription_id)
    assert found is not None
    return found


def handle_confirm_mail(
    runtime: Runtime, session: Session, incoming: Incoming, calls: MailingCalls
) -> ConfirmHandled | ModHandled:
    """A reply to a ``-confirm+<token>@`` address: use the token once, or say why not.

    The reply's From is not compared with the address the token went to (an
    alias may forward to another mailbox): holding the token is the proof. A
    moderator's command token runs its commands, with *calls* for the mailings.
    """
    parsed = incoming.parsed
    mid = parsed.message_id or "-"
    row = token_by_hash(session, hash_token(incoming.recipient.detail))
    if row is not None and row.purpose is TokenPurpose.COMMAND:
        home = discussion_by_slug(session, incoming.recipient.slug)
        if home is None or home.id != row.discussion_id:
            # A command token answers at its own discussion's address only.
            row = None
        else:
            return confirm_command(runtime, session, row, incoming, calls)
    silent = why_silent(incoming)
    if silent is not None:
        # A vacation notice to a confirmation address must not confirm anything.
        log.info(
            "confirm mail id=%d message-id=%s ignored: %s",
            incoming.inbound_id,
            mid,
            silent,
        )
        return ConfirmHandled.IGNORED
    now = runtime.clock()
    place = place_for(session, runtime, incoming.recipient.slug)
    usable = (
        row is not None
        and row.purpose in (TokenPurpose.SUBSCRIBE, TokenPurpose.UNSUBSCRIBE)
        and row.discussion_id == place.row_id
    )
    state = "unknown"
    if row is not None and usable:
        if row.used_at is not None:
            state = "used"
        elif row.expires_at <= now:
            state = "expired"
        else:
            try:
                done = apply_token(session, runtime, row, now, answering=parsed)
            except BadToken:
                state = "used"
            else:
                log.info(
                    "confirm mail id=%d message-id=%s: %s",
                    incoming.inbound_id,
                    mid,
                    done.outcome.value,
                )
                return {
                    ConfirmOutcome.SUBSCRIBED: ConfirmHandled.SUBSCRIBED,
                    ConfirmOutcome.UNSUBSCRIBED: ConfirmHandled.UNSUBSCRIBED,
                }.get(done.outcome, ConfirmHandled.ALREADY)
    # Used, expired or unknown: say so, to the address the token was mailed to
    # when there is one (the From of this reply may be forged).
    to = row.email if row is not None and usable else _sender(runtime, parsed)
    log.info(
        "confirm mail id=%d message-id=%s: token %s", incoming.inbound_id, mid, state
    )
    if to is None:
        return ConfirmHandled(f"confirm-{state}")
    language = place.conf.default_language
    if row is not None and usable:
        language = str(token_payload(row).get("language") or language)
    elif parsed.language in place.conf.languages:
        language = parsed.language
    key = answer_key(session, to, now)
    if key is None:
        return ConfirmHandled(f"confirm-{state}")
    queue_notice(
        session,
        runtime,
        place,
        Notice(
            template="token-expired",
            key=key,
            to=to,
            language=language,
            answering=parsed,
            context={
                "state": state,
                "purpose": row.purpose if row is not None and usable else "",
            },
        ),
        now,
    )
    return ConfirmHandled(f"confirm-{state}")
