"""The subscription service on both databases: links, tokens, leaving, reminders, expiry."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select

from mailer.core.addresses import AddressKind, Recipient
from mailer.core.choices import SignupSource, UnsubscribeVia
from mailer.core.errors import BadToken
from mailer.core.incoming import Incoming
from mailer.core.message import MessageClass
from mailer.core.parse import parse_message
from mailer.core.tokens import hash_token
from mailer.links import subscription_from_unsubscribe_token
from mailer.mailings import MAILING_CALLS
from mailer.subscriptions import (
    ConfirmOutcome,
    InvalidAddress,
    InvalidValue,
    SignupForm,
    SignupOutcome,
    UnsubscribeOutcome,
    confirm_token,
    expire_pending,
    handle_confirm_mail,
    handle_request_mail,
    request_subscription,
    send_confirmation_reminders,
    unsubscribe_subscription,
)
from mailer.subscriptions.mail import ANSWERS_PER_DAY
from store.models import (
    DeliveryMode,
    Discussion,
    OutboxMessage,
    Subscription,
    SubscriptionStatus,
    Token,
)
from store.outbox import OutgoingRow, enqueue
from store.subscribers import iter_active_subscriptions, subscription_counts
from tests.fixtures.inbound import SLUG, Mailhost, MailhostFactory, address, mail

Change = Callable[[Any], Any]


def write(host: Mailhost, fn: Change) -> Any:
    """Run *fn(session)* in a committed transaction and return what it returned."""
    with host.runtime.sessions.begin() as session:
        return fn(session)


def sign_up(host: Mailhost, email: str, now: datetime, **values: Any) -> Any:
    return write(
        host,
        lambda s: request_subscription(
            s,
            host.runtime,
            SLUG,
            SignupForm(email, source=SignupSource.WEB, **values),
            now,
        ),
    )


def mails(host: Mailhost) -> list[EmailMessage]:
    found = []
    for row in host.outbox():
        msg = message_from_bytes(row.raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        found.append(msg)
    return found


def link_token(msg: EmailMessage, path: str = "/confirm/") -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    text = str(part.get_content())
    line = next(line for line in text.splitlines() if path in line)
    return line.split(path, 1)[1].strip()


def status_of(host: Mailhost, subscription_id: int) -> SubscriptionStatus:
    sub: Subscription | None = host.query(
        lambda s: s.get(Subscription, subscription_id)
    )
    assert sub is not None
    return sub.status


def test_sign_up_on_the_web_and_confirm_by_link_once(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(listen=False)
    now = host.now
    result = sign_up(
        host,
        " Ana.Ruiz@Example.NET ",
        now,
        name="Ana\r\nBcc: x@example.org",
        language="fr",
        mode="announcements",
        constituency="Syndicat",
    )
    assert result.outcome is SignupOutcome.CONFIRMATION_SENT
    assert result.email == "ana.ruiz@example.net"
    [confirm] = mails(host)
    assert confirm["Content-Language"] == "fr"
    assert confirm["Auto-Submitted"] == "auto-generated"
    assert confirm["Bcc"] is None
    token = link_token(confirm)
    done = write(host, lambda s: confirm_token(s, host.runtime, token, now))
    assert done.outcome is ConfirmOutcome.SUBSCRIBED
    assert (done.slug, done.language) == (SLUG, "fr")
    assert status_of(host, result.subscription_id) is SubscriptionStatus.ACTIVE
    welcome = mails(host)[1]
    assert welcome["Subject"] == "[E-discussion sur les compétences] Bienvenue"
    # Single use: the same link again is refused and sends nothing.
    with pytest.raises(BadToken, match="already used"):
        write(host, lambda s: confirm_token(s, host.runtime, token, now))
    with pytest.raises(BadToken, match="unknown"):
        write(host, lambda s: confirm_token(s, host.runtime, "x" * 26, now))
    assert len(mails(host)) == 2


def test_bad_values_are_refused(make_mailhost: MailhostFactory) -> None:
    host = make_mailhost(listen=False)
    for bad in ("ana", "ana@localhost", "ana@@example.net", "José@example.net", ""):
        with pytest.raises(InvalidAddress):
            sign_up(host, bad, host.now)
    with pytest.raises(InvalidValue):
        sign_up(host, "ana@example.net", host.now, language="de")
    with pytest.raises(InvalidValue):
        sign_up(host, "ana@example.net", host.now, mode="weekly")
    assert mails(host) == []


def test_an_expired_token_confirms_nothing(make_mailhost: MailhostFactory) -> None:
    host = make_mailhost(listen=False)
    now = host.now
    result = sign_up(host, "ana@example.net", now)
    token = link_token(mails(host)[0])
    later = now + timedelta(days=7, minutes=1)
    with pytest.raises(BadToken, match="expired"):
        write(host, lambda s: confirm_token(s, host.runtime, token, later))
    assert status_of(host, result.subscription_id) is SubscriptionStatus.PENDING


def test_one_click_unsubscribes_at_once_and_quietly(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(listen=False)
    now = host.now
    result = sign_up(host, "ana@example.net", now)
    write(
        host, lambda s: confirm_token(s, host.runtime, link_token(mails(host)[0]), now)
    )
    welcome = mails(host)[1]
    unsubscribe = link_token(welcome, "/unsubscribe/")
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    subscription_id = subscription_from_unsubscribe_token(host.runtime.key, unsubscribe)
    assert subscription_id == result.subscription_id
    outcome = write(
        host,
        lambda s: unsubscribe_subscription(
            s, host.runtime, subscription_id, now, UnsubscribeVia.ONE_CLICK
        ),
    )
    assert outcome is UnsubscribeOutcome.UNSUBSCRIBED
    assert status_of(host, subscription_id) is SubscriptionStatus.UNSUBSCRIBED
    assert len(mails(host)) == 2  # no goodbye for a one-click POST
    again = write(
        host,
        lambda s: unsubscribe_subscription(
            s, host.runtime, subscription_id, now, UnsubscribeVia.WEB
        ),
    )
    assert again is UnsubscribeOutcome.ALREADY_ENDED
    # Coming back takes a new confirmation; a click on the web page says goodbye.
    assert sign_up(host, "ana@example.net", now).outcome is (
        SignupOutcome.CONFIRMATION_SENT
    )
    write(
        host, lambda s: confirm_token(s, host.runtime, link_token(mails(host)[2]), now)
    )
    assert len(mails(host)) == 4  # the second welcome is a new mail
    # A link of the first run, read just before the return and acted on just
    # after it (the web page's check and its write are apart): spent, at the
    # write too.
    with host.runtime.sessions() as s:
        run = s.get(Subscription, subscription_id)
        assert run is not None
        current = run.link_generation

    def leave(generation: int) -> UnsubscribeOutcome:
        outcome: UnsubscribeOutcome = write(
            host,
            lambda s: unsubscribe_subscription(
                s,
                host.runtime,
                subscription_id,
                now,
                UnsubscribeVia.WEB,
                generation=generation,
            ),
        )
        return outcome

    assert leave(current - 2) is UnsubscribeOutcome.LINK_SPENT
    assert status_of(host, subscription_id) is SubscriptionStatus.ACTIVE
    assert len(mails(host)) == 4
    assert leave(current) is UnsubscribeOutcome.UNSUBSCRIBED
    assert mails(host)[-1]["Subject"] == (
        "[Skills e-discussion] You have left the discussion"
    )


def test_a_reminder_once_then_expiry(make_mailhost: MailhostFactory) -> None:
    host = make_mailhost(listen=False)
    start = host.now
    pending = sign_up(host, "ana@example.net", start, language="es")
    early = sign_up(host, "li@example.org", start + timedelta(hours=40))

    def remind(at: datetime) -> int:
        return int(
            write(host, lambda s: send_confirmation_reminders(s, host.runtime, at))
        )

    assert remind(start + timedelta(hours=47)) == 0
    assert remind(start + timedelta(hours=49)) == 1
    assert remind(start + timedelta(hours=50)) == 0  # once
    reminder = mails(host)[-1]
    assert reminder["Subject"] == (
        "[E-debate sobre competencias] Recordatorio: confirme su suscripción"
    )
    assert reminder["To"].addresses[0].addr_spec == "ana@example.net"
    # Li asked later: reminded when it is Li's turn.
    assert remind(start + timedelta(hours=89)) == 1
    assert len(mails(host)) == 4

    # Nothing expires before the first request's seven days are over...
    assert write(host, lambda s: expire_pending(s, start + timedelta(days=6))) == 0
    # ... the reminder's token does not outlive the request ...
    token = link_token(reminder)
    with pytest.raises(BadToken, match="expired"):
        write(
            host,
            lambda s: confirm_token(
                s, host.runtime, token, start + timedelta(days=7, seconds=1)
            ),
        )
    # ... and then Ana's sign-up expires, Li's (asked later) not yet.
    at = start + timedelta(days=7, minutes=1)
    assert write(host, lambda s: expire_pending(s, at)) == 1
    assert status_of(host, pending.subscription_id) is SubscriptionStatus.EXPIRED
    assert status_of(host, early.subscription_id) is SubscriptionStatus.PENDING
    assert write(host, lambda s: expire_pending(s, at)) == 0
    assert remind(at) == 0


def test_a_reminder_confirms(make_mailhost: MailhostFactory) -> None:
    host = make_mailhost(listen=False)
    start = host.now
    result = sign_up(host, "ana@example.net", start)
    later = start + timedelta(hours=49)
    write(host, lambda s: send_confirmation_reminders(s, host.runtime, later))
    token = link_token(mails(host)[-1])
    done = write(host, lambda s: confirm_token(s, host.runtime, token, later))
    assert done.outcome is ConfirmOutcome.SUBSCRIBED
    assert status_of(host, result.subscription_id) is SubscriptionStatus.ACTIVE
    # The first confirmation still works, but there is nothing left to do.
    first = link_token(mails(host)[0])
    again = write(host, lambda s: confirm_token(s, host.runtime, first, later))
    assert again.outcome is ConfirmOutcome.ALREADY_ACTIVE
    assert len(mails(host)) == 3  # confirm, reminder, welcome


def test_active_subscriptions_stream_by_mode_and_count(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(listen=False)
    now = host.now
    modes = ["each", "digest", "announcements"]
    for i in range(30):
        sign_up(
            host,
            f"p{i:02d}@example.net",
            now,
            mode=modes[i % 3],
            language=["en", "es", "fr"][i % 2],
            constituency="ngo" if i % 5 == 0 else "",
        )
    for msg in mails(host)[:20]:
        token = link_token(msg)
        write(host, partial(confirm_token, runtime=host.runtime, token=token, now=now))

    def stream(s: Any) -> list[Any]:
        discussion_id = host.query(
            lambda q: q.scalar(select(Subscription.discussion_id).limit(1))
        )
        return list(
            iter_active_subscriptions(
                s, discussion_id, [DeliveryMode.EACH, DeliveryMode.DIGEST], batch=4
            )
        )

    rows = host.query(stream)
    assert len(rows) == 14  # 20 active, of which 6 announcements only
    assert [r.subscription_id for r in rows] == sorted(r.subscription_id for r in rows)
    assert {r.mode for r in rows} == {DeliveryMode.EACH, DeliveryMode.DIGEST}
    assert rows[0].email == "p00@example.net" and rows[0].language == "en"

    # Fan-out writes while it streams, in the same transaction.
    def fan_out(s: Any) -> int:
        queued = 0
        for row in stream(s):
            queued += enqueue(
                s,
                [
                    OutgoingRow(
                        f"test:{row.subscription_id}",
                        "test",
                        row.email,
                        "",
                        "<m@x>",
                        b"",
                    )
                ],
                now,
            )
        return queued

    assert write(host, fan_out) == 14
    counts = host.query(
        lambda s: subscription_counts(s, s.scalar(select(Subscription.discussion_id)))
    )
    assert dict(counts.by_status) == {"active": 20, "pending": 10}
    assert counts.active == 20
    assert dict(counts.by_mode) == {"each": 7, "digest": 7, "announcements": 6}
    assert dict(counts.by_language) == {"en": 10, "es": 10}
    assert dict(counts.by_constituency) == {"ngo": 4, "": 16}


def incoming(
    host: Mailhost, raw: bytes, recipient: Recipient, envelope_from: str
) -> Incoming:
    settings = host.runtime.settings
    parsed = parse_message(
        raw, max_attachment_bytes=settings.inbound.max_attachment_bytes
    )
    return Incoming(1, parsed, recipient, envelope_from, raw)


def test_handlers_stay_silent_for_automatic_mail(
    make_mailhost: MailhostFactory,
) -> None:
    """The handlers' own guard, whatever the pipeline decided before them."""
    host = make_mailhost(listen=False)
    request = Recipient(AddressKind.REQUEST, SLUG)
    cases = [
        ({"Auto-Submitted": "auto-generated"}, "ana@example.net"),
        ({"Precedence": "junk"}, "ana@example.net"),
        ({"List-Id": "<other.example.org>"}, "ana@example.net"),
        ({}, ""),
        ({}, "<>"),
    ]
    for i, (headers, envelope) in enumerate(cases):
        raw = mail(
            to=address("-request"),
            message_id=f"<auto{i}@example.net>",
            body="subscribe",
            headers=headers,
        )
        message = incoming(host, raw, request, envelope)
        assert write(
            host, partial(handle_request_mail, host.runtime, incoming=message)
        ) == ("request-ignored")
    bounce = incoming(
        host,
        mail(to=address("-request"), message_id="<b@x.net>", body="subscribe"),
        request,
        "ana@example.net",
    )
    bounced = dataclasses.replace(
        bounce,
        parsed=dataclasses.replace(bounce.parsed, message_class=MessageClass.BOUNCE),
    )
    assert write(host, lambda s: handle_request_mail(host.runtime, s, bounced)) == (
        "request-ignored"
    )
    confirm = incoming(
        host,
        mail(to=address("-confirm+abc"), message_id="<c@x.net>", body="yes"),
        Recipient(AddressKind.CONFIRM, SLUG, "abc"),
        "",
    )
    assert write(
        host, lambda s: handle_confirm_mail(host.runtime, s, confirm, MAILING_CALLS)
    ) == ("confirm-ignored")
    assert host.query(lambda s: s.scalar(select(OutboxMessage))) is None


def test_answers_to_one_address_are_limited_per_day(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(listen=False)
    request = Recipient(AddressKind.REQUEST, SLUG)
    for i in range(12):
        raw = mail(
            to=address("-request"),
            message_id=f"<help{i}@example.net>",
            body="help",
            sender="victim@example.org",
        )
        message = dataclasses.replace(
            incoming(host, raw, request, "mallory@example.org"), inbound_id=i + 1
        )
        write(host, partial(handle_request_mail, host.runtime, incoming=message))
    answers = mails(host)
    assert len(answers) == ANSWERS_PER_DAY
    assert {str(m["To"]) for m in answers} == {"victim@example.org"}


def test_a_token_acts_only_for_its_own_subscription_and_discussion(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost(listen=False)
    now = host.now
    ana = sign_up(host, "ana@example.net", now)
    bo = sign_up(host, "bo@example.net", now)
    token = link_token(mails(host)[0])

    def point_at_bo(session: Any) -> None:
        # A token whose payload names someone else's subscription (a row
        # changed by hand, or a bug) must not confirm that subscription.
        row = session.scalar(select(Token).where(Token.token_hash == hash_token(token)))
        row.payload = json.dumps({"subscription": bo.subscription_id})

    write(host, point_at_bo)
    with pytest.raises(BadToken, match="subscription is gone"):
        write(host, lambda s: confirm_token(s, host.runtime, token, now))
    assert status_of(host, bo.subscription_id) is SubscriptionStatus.PENDING
    assert status_of(host, ana.subscription_id) is SubscriptionStatus.PENDING

    # A moderator's command token answers only at its own discussion's address.
    command = "mfrggzdfmztwq2lknnwg23tpob"

    def command_elsewhere(session: Any) -> None:
        other = Discussion(slug="other-talk", created_at=now)
        session.add(other)
        session.flush()
        session.add(
            Token(
                token_hash=hash_token(command),
                purpose="command",
                discussion_id=other.id,
                email="moderator@example.org",
                payload="{}",
                created_at=now,
                expires_at=now + timedelta(days=1),
            )
        )

    write(host, command_elsewhere)
    reply = incoming(
        host,
        mail(to=address(f"-confirm+{command}"), message_id="<m@x.net>", body="yes"),
        Recipient(AddressKind.CONFIRM, SLUG, command),
        "moderator@example.org",
    )
    outcome = write(
        host, lambda s: handle_confirm_mail(host.runtime, s, reply, MAILING_CALLS)
    )
    assert outcome == "confirm-unknown"
    used = host.query(
        lambda s: s.scalar(select(Token.used_at).where(Token.purpose == "command"))
    )
    assert used is None
