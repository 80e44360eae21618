"""Subscribing and leaving by mail, through the real SMTP listener and pipeline."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from sqlalchemy import select

from mailer.core.tokens import hash_token
from store.models import (
    InboundState,
    OutboxMessage,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Token,
)
from tests.fixtures.inbound import Mailhost, MailhostFactory, address, mail

REQUEST = address("-request")


def sent(host: Mailhost) -> list[EmailMessage]:
    """Every queued mail, parsed, oldest first."""
    rows: list[OutboxMessage] = host.outbox()
    found = []
    for row in rows:
        msg = message_from_bytes(row.raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        found.append(msg)
    return found


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def token_of(msg: EmailMessage) -> str:
    """The token in a confirmation's Reply-To (``slug-confirm+<token>@``)."""
    local = str(msg["Reply-To"]).split("@")[0]
    assert "-confirm+" in local, local
    return local.split("+", 1)[1]


def subscription(host: Mailhost, email: str = "ana@example.net") -> Subscription:
    found = host.query(
        lambda s: s.scalar(
            select(Subscription).join(Subscriber).where(Subscriber.email == email)
        )
    )
    assert isinstance(found, Subscription)
    return found


def deliver(
    host: Mailhost,
    body: str,
    *,
    to: str = REQUEST,
    subject: str = "",
    sender: str = "Ana Ruiz <ana@example.net>",
    mail_from: str = "ana@example.net",
    message_id: str,
    headers: dict[str, str] | None = None,
) -> str:
    """Send one message over SMTP, process it, and return what the pipeline decided."""
    raw = mail(
        to=to,
        message_id=message_id,
        body=body,
        sender=sender,
        subject=subject,
        headers=headers,
    )
    host.send(raw, [to], mail_from=mail_from)
    assert host.process() == 1
    row = next(r for r in host.inbound() if r.message_id == message_id)
    assert row.state is InboundState.PROCESSED, row.error
    return str(row.kind)


def test_sign_up_by_mail_then_confirm_by_reply(make_mailhost: MailhostFactory) -> None:
    host = make_mailhost()
    body = (
        "subscribe\nidioma es\nmodo resumen\nName: Ana Ruiz\n"
        "organisation Ministry of Labour\nconstituency government\n"
        "-- \nAna Ruiz\nMinistry of Labour\n"
    )
    assert deliver(host, body, message_id="<s1@example.net>") == "request-done"
    [confirm] = sent(host)
    assert confirm["To"].addresses[0].addr_spec == "ana@example.net"
    assert confirm["Content-Language"] == "es"
    assert confirm["Auto-Submitted"] == "auto-replied"
    assert confirm["In-Reply-To"] == "<s1@example.net>"
    assert confirm["Subject"] == "[E-debate sobre competencias] Confirme su suscripción"
    text = text_of(confirm)
    token = token_of(confirm)
    assert f"/confirm/{token}" in text and "un resumen diario" in text
    # Readable on a phone: only an address or a link may be longer than 72.
    assert all(
        len(line) <= 72 or line.startswith(("http", "skills-covid19-confirm+"))
        for line in text.splitlines()
    )
    sub = subscription(host)
    assert (sub.status, sub.language, sub.mode.value) == (
        SubscriptionStatus.PENDING,
        "es",
        "digest",
    )
    person = host.query(lambda s: s.get(Subscriber, sub.subscriber_id))
    assert (person.name, person.organisation, person.constituency) == (
        "Ana Ruiz",
        "Ministry of Labour",
        "government",
    )
    # The token is stored hashed, never in clear.
    rows = host.query(lambda s: list(s.scalars(select(Token))))
    assert [t.token_hash for t in rows] == [hash_token(token)]

    reply_to = str(confirm["Reply-To"])
    kind = deliver(
        host,
        "OK\n\n> Alguien, probablemente usted...",
        to=reply_to,
        subject="Re: Confirme su suscripción",
        message_id="<s2@example.net>",
    )
    assert kind == "confirm-subscribed"
    assert subscription(host).status is SubscriptionStatus.ACTIVE
    welcome = sent(host)[1]
    assert welcome["Subject"] == "[E-debate sobre competencias] Bienvenida"
    assert "/unsubscribe/" in welcome["List-Unsubscribe"]
    text = text_of(welcome)
    assert "PREGUNTAS ABIERTAS AHORA" in text
    for number in range(1, 7):
        assert address(f"+q{number}") in text
    assert address("+q7") not in text
    assert "NORMAS DE LA COMUNIDAD" in text

    # The same reply again: the token is used; the answer says so, politely.
    kind = deliver(
        host, "OK", to=reply_to, subject="Re: again", message_id="<s3@example.net>"
    )
    assert kind == "confirm-used"
    answer = sent(host)[2]
    assert answer["Subject"] == (
        "[E-debate sobre competencias] Esta confirmación ya se utilizó"
    )
    assert len(sent(host)) == 3


def test_subscribing_an_active_address_answers_once(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost()
    deliver(host, "subscribe", message_id="<a1@example.net>")
    deliver(host, "yes", to=str(sent(host)[0]["Reply-To"]), message_id="<a2@x.net>")
    assert len(sent(host)) == 2  # confirmation, welcome
    deliver(host, "subscribe", message_id="<a3@example.net>")
    deliver(host, "", subject="subscribe", message_id="<a4@example.net>")
    mails = sent(host)
    assert len(mails) == 3
    assert "already subscribed" in text_of(mails[2])


def test_a_pending_address_is_not_sent_a_second_confirmation_the_same_day(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost()
    deliver(host, "subscribe", message_id="<p1@example.net>")
    deliver(host, "subscribe", message_id="<p2@example.net>")
    deliver(host, "subscribe", message_id="<p3@example.net>")
    mails = sent(host)
    assert [m["Subject"] for m in mails] == [
        "[Skills e-discussion] Please confirm your subscription",
        "[Skills e-discussion] Your request",
    ]
    assert "already sent you a message" in text_of(mails[1])


def test_a_stranger_cannot_unsubscribe_anyone(make_mailhost: MailhostFactory) -> None:
    host = make_mailhost()
    deliver(host, "subscribe", message_id="<u1@example.net>")
    deliver(host, "ok", to=str(sent(host)[0]["Reply-To"]), message_id="<u2@x.net>")
    assert subscription(host).status is SubscriptionStatus.ACTIVE
    # Mallory names Ana's address: refused, nothing happens to Ana.
    kind = deliver(
        host,
        "unsubscribe ana@example.net",
        sender="mallory@example.org",
        mail_from="mallory@example.org",
        message_id="<m1@example.org>",
    )
    assert kind == "request-help"
    help_mail = sent(host)[-1]
    assert help_mail["To"].addresses[0].addr_spec == "mallory@example.org"
    assert "only the address you write from" in text_of(help_mail)
    # Mallory forges Ana's From (and asks answers to go to herself).
    deliver(
        host,
        "unsubscribe",
        sender="Ana Ruiz <ana@example.net>",
        mail_from="mallory@example.org",
        headers={"Reply-To": "mallory@example.org"},
        message_id="<m2@example.org>",
    )
    assert subscription(host).status is SubscriptionStatus.ACTIVE
    ask = sent(host)[-1]
    assert ask["To"].addresses[0].addr_spec == "ana@example.net"
    assert ask["Subject"] == (
        "[Skills e-discussion] Please confirm that you want to leave"
    )
    assert all("mallory" not in str(m["To"]) for m in sent(host)[:-2])
    # Only Ana, who reads her mailbox, can confirm.
    kind = deliver(host, "yes", to=str(ask["Reply-To"]), message_id="<u3@x.net>")
    assert kind == "confirm-unsubscribed"
    assert subscription(host).status is SubscriptionStatus.UNSUBSCRIBED
    assert sent(host)[-1]["Subject"] == (
        "[Skills e-discussion] You have left the discussion"
    )


def test_language_and_mode_change_at_once_and_are_told(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost()
    deliver(host, "subscribe", message_id="<c1@example.net>")
    deliver(host, "ok", to=str(sent(host)[0]["Reply-To"]), message_id="<c2@x.net>")
    kind = deliver(host, "langue français\nmode résumé", message_id="<c3@x.net>")
    assert kind == "request-done"
    sub = subscription(host)
    assert (sub.language, sub.mode.value) == ("fr", "digest")
    result = sent(host)[-1]
    assert result["Content-Language"] == "fr"
    assert result["To"].addresses[0].addr_spec == "ana@example.net"
    text = text_of(result)
    assert "en français" in text and "un résumé quotidien" in text
    deliver(host, "", subject="mode digest", message_id="<c4@x.net>")
    assert "rien n'a changé" in text_of(sent(host)[-1])


def test_a_change_from_an_unknown_address_changes_nothing(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost()
    kind = deliver(host, "mode digest", message_id="<n1@example.net>")
    assert kind == "request-done"
    assert "is not subscribed" in text_of(sent(host)[0])


def test_unknown_commands_get_the_help_text(make_mailhost: MailhostFactory) -> None:
    host = make_mailhost()
    kind = deliver(
        host,
        "Hola, quisiera saber más sobre el debate.\n",
        subject="Pregunta",
        message_id="<h1@example.net>",
    )
    assert kind == "request-help"
    [answer] = sent(host)
    text = text_of(answer)
    assert "> Hola, quisiera saber más sobre el debate." in text
    assert "subscribe" in text and "unsubscribe" in text
    assert answer["Auto-Submitted"] == "auto-replied"


def test_no_answer_to_automatic_mail(make_mailhost: MailhostFactory) -> None:
    host = make_mailhost()
    deliver(
        host,
        "I am out of the office until Monday.",
        subject="Out of office: subscribe",
        headers={"Auto-Submitted": "auto-replied"},
        message_id="<o1@example.net>",
    )
    deliver(
        host,
        "subscribe",
        headers={"Precedence": "bulk"},
        message_id="<o2@example.net>",
    )
    deliver(host, "subscribe", mail_from="", message_id="<o3@example.net>")
    deliver(
        host,
        "help",
        sender="skills-covid19@discuss.example.org",
        mail_from="skills-covid19-bounces@discuss.example.org",
        message_id="<o4@example.net>",
    )
    assert sent(host) == []
    assert host.query(lambda s: s.scalar(select(Subscription))) is None


def test_a_vacation_reply_to_a_confirmation_confirms_nothing(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost()
    deliver(host, "subscribe", message_id="<v1@example.net>")
    kind = deliver(
        host,
        "I am away.",
        to=str(sent(host)[0]["Reply-To"]),
        headers={"Auto-Submitted": "auto-replied"},
        message_id="<v2@example.net>",
    )
    assert kind in ("dropped", "confirm-ignored")  # by the pipeline, or by us
    assert subscription(host).status is SubscriptionStatus.PENDING
    assert len(sent(host)) == 1


def test_an_unknown_confirmation_address_is_answered(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost()
    kind = deliver(
        host, "yes", to=address("-confirm+nosuchtoken"), message_id="<k1@x.net>"
    )
    assert kind == "confirm-unknown"
    [answer] = sent(host)
    assert "Unknown confirmation address" in answer["Subject"]
