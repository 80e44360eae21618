"""``manage`` by mail to ``-request@``: the sender's own link and settings, or a neutral word.

Through the real SMTP listener and pipeline; the link in the answer is opened
on the web application, as the subscriber would open it.
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage

from starlette.testclient import TestClient

from mailer.web import build_app
from store.models import DeliveryMode, InboundState, SubscriptionStatus
from tests.fixtures.inbound import Mailhost, MailhostFactory, address, mail
from tests.integration.outbound_setup import add_subscriber

REQUEST = address("-request")
MANAGE = re.compile(r"https?://[^/\s]+(/manage/[a-z0-9.-]+)")


def ask(host: Mailhost, sender: str, words: str, message_id: str) -> EmailMessage:
    """Send *words* to the request address from *sender*; the one answer to it."""
    raw = mail(to=REQUEST, message_id=message_id, body=words, sender=sender)
    host.send(raw, [REQUEST], mail_from=sender)
    assert host.process() == 1
    row = next(r for r in host.inbound() if r.message_id == message_id)
    assert row.state is InboundState.PROCESSED, row.error
    answers = []
    for out in host.outbox():
        msg = message_from_bytes(out.raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        if msg["In-Reply-To"] == message_id:
            answers.append(msg)
    [answer] = answers
    assert answer["To"].addresses[0].addr_spec == sender
    assert answer["Auto-Submitted"] == "auto-replied"
    return answer


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_a_subscriber_gets_a_fresh_manage_link_in_their_language(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost()
    add_subscriber(
        host.runtime, "ana@example.net", language="es", mode=DeliveryMode.DIGEST
    )
    answer = ask(host, "ana@example.net", "gestionar", "<m1@example.net>")
    assert answer["Content-Language"] == "es"
    assert str(answer["Subject"]).endswith("] Su suscripción")
    text = text_of(answer)
    assert "Recibe un resumen diario, en español." in " ".join(text.split())
    link = MANAGE.search(text)
    assert link is not None
    assert all(len(line) <= 72 or line.startswith("http") for line in text.splitlines())
    with TestClient(build_app(host.runtime)) as client:
        page = client.get(link.group(1))
    assert page.status_code == 200 and '<html lang="es">' in page.text
    assert "a…@example.net" in page.text and "ana@example.net" not in page.text


def test_the_command_words_of_the_three_languages(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost()
    add_subscriber(host.runtime, "lea@example.fr", language="fr")
    for n, words in enumerate(
        ("Gérer mon abonnement", "manage my subscription", "Mode digest\nmanage")
    ):
        answer = ask(host, "lea@example.fr", words, f"<w{n}@example.fr>")
        assert MANAGE.search(text_of(answer)), words
        assert answer["Content-Language"] == "fr"
    # The mode line of the last one was applied, and the answer says so.
    assert "un résumé quotidien" in text_of(answer)


def test_an_address_without_a_subscription_gets_one_neutral_text(
    make_mailhost: MailhostFactory,
) -> None:
    host = make_mailhost()
    add_subscriber(
        host.runtime, "pending@example.org", status=SubscriptionStatus.PENDING
    )
    add_subscriber(
        host.runtime, "gone@example.org", status=SubscriptionStatus.UNSUBSCRIBED
    )
    texts = []
    for n, sender in enumerate(
        ("stranger@example.org", "pending@example.org", "gone@example.org")
    ):
        answer = ask(host, sender, "manage", f"<n{n}@example.org>")
        text = text_of(answer)
        assert "/manage/" not in text and "/unsubscribe/" not in text
        texts.append(text)
    # Never subscribed, waiting for a confirmation, gone: the same words.
    assert texts[0] == texts[1] == texts[2]
    assert "no active subscription" in texts[0]
