"""Sign-up, confirmation and unsubscribe over HTTP, on SQLite and PostgreSQL.

The subscriber logic is the real one; the confirmation link is read from the
mail the sign-up queued in the outbox, as a subscriber would read it.
"""

from __future__ import annotations

import email
import re
from email import policy

from sqlalchemy import select
from starlette.testclient import TestClient

from mailer.core.tokens import SignedFor, sign_token
from mailer.links import unsubscribe_url
from mailer.web import build_app
from mailer.web.security import BAD_TOKENS_PER_HOUR
from store.models import (
    DeliveryMode,
    OutboxMessage,
    RateCount,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from tests.fixtures.web import SLUG, Archive, ArchiveFactory

PAGE = f"/d/{SLUG}"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


def sign_up(client: TestClient, email_address: str, **fields: str) -> str:
    """Load the page (for the cookie and token) and send the form; returns the body."""
    token = csrf_of(client.get(PAGE).text)
    data = {"csrf": token, "email": email_address, **fields}
    r = client.post(f"{PAGE}/signup", data=data)
    return f"{r.status_code} {r.text}"


def subscription(archive: Archive, address: str) -> Subscription | None:
    with archive.runtime.sessions() as session:
        return session.scalar(
            select(Subscription).join(Subscriber).where(Subscriber.email == address)
        )


def mails_to(archive: Archive, address: str) -> list[email.message.EmailMessage]:
    with archive.runtime.sessions() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == address)
            .order_by(OutboxMessage.id)
        ).all()
    return [email.message_from_bytes(r.raw, policy=policy.default) for r in rows]


def text_of(msg: email.message.EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def other_client(archive: Archive, host: str = "192.0.2.7") -> TestClient:
    """A second browser (or mail client): no cookies, another address."""
    return TestClient(
        build_app(archive.runtime), base_url="http://127.0.0.1:8080", client=(host, 1)
    )


def test_sign_up_confirm_and_one_click_unsubscribe(archive: Archive) -> None:
    body = sign_up(
        archive.client,
        "Reader@Example.org",
        name="Rosa Díaz",
        organisation="Sindicato",
        constituency="workers",
        language="es",
        mode="digest",
    )
    assert body.startswith("200 ") and "Check your mailbox" in body
    sub = subscription(archive, "reader@example.org")
    assert sub is not None and sub.status is SubscriptionStatus.PENDING
    assert (sub.language, sub.mode, sub.source) == ("es", DeliveryMode.DIGEST, "web")
    [mail] = mails_to(archive, "reader@example.org")
    link = re.search(r"http://127\.0\.0\.1:\d+(/confirm/[a-z0-9]+)", text_of(mail))
    assert link is not None
    confirm = link.group(1)

    # A mail scanner fetching the link changes nothing; the page has a button.
    scanner = other_client(archive, "198.51.100.9")
    shown = scanner.get(confirm)
    assert shown.status_code == 200
    assert '<html lang="es">' in shown.text and "Confirme su suscripción" in shown.text
    assert '<button type="submit">Confirmar</button>' in shown.text
    assert shown.headers["cache-control"] == "private, no-store"
    assert scanner.post(confirm, data={}).status_code == 403  # no CSRF token
    status = subscription(archive, "reader@example.org")
    assert status is not None and status.status is SubscriptionStatus.PENDING

    page = archive.client.get(confirm)
    done = archive.client.post(confirm, data={"csrf": csrf_of(page.text)})
    assert done.status_code == 200 and "Suscripción confirmada" in done.text
    status = subscription(archive, "reader@example.org")
    assert status is not None and status.status is SubscriptionStatus.ACTIVE
    again = archive.client.post(confirm, data={"csrf": csrf_of(page.text)})
    assert again.status_code == 410
    assert archive.client.get(confirm).status_code == 410

    # Unsubscribe: GET shows one button and changes nothing ...
    url = unsubscribe_url(
        "",
        archive.runtime.key,
        status.id,
        status.link_generation,
        archive.runtime.clock(),
    )
    page = archive.client.get(url)
    assert page.status_code == 200 and "Darme de baja" in page.text
    assert "Este enlace es para la dirección r…@example.org." in page.text
    # Reading a digest already: the one other choice is announcements only.
    assert page.text.count("<button") == 2 and 'name="csrf"' not in page.text
    assert 'value="announcements"' in page.text and 'value="digest"' not in page.text
    status = subscription(archive, "reader@example.org")
    assert status is not None and status.status is SubscriptionStatus.ACTIVE
    # ... and a mail client's RFC 8058 POST, with no cookie or CSRF token, acts.
    mail_client = other_client(archive)
    r = mail_client.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and "Se ha dado de baja" in r.text
    status = subscription(archive, "reader@example.org")
    assert status is not None and status.status is SubscriptionStatus.UNSUBSCRIBED
    assert "Se ha dado de baja" in archive.client.get(url).text  # already done
    assert mail_client.post(url).status_code == 200  # idempotent


def test_sign_up_answers_alike_and_refills_a_bad_form(archive: Archive) -> None:
    first = sign_up(archive.client, "same@example.org")
    second = sign_up(archive.client, "same@example.org")
    assert first == second  # never reveals who is subscribed
    bad = sign_up(
        archive.client,
        'not-an-address"><script>x</script>@',
        name="<b>Eve</b>",
        constituency="nonsense",
    )
    assert bad.startswith("400 ")
    assert "Please enter a valid email address." in bad
    assert "&lt;b&gt;Eve&lt;/b&gt;" in bad and "<b>Eve" not in bad
    assert "&#34;&gt;&lt;script&gt;x&lt;/script&gt;@" in bad
    noat = sign_up(archive.client, "plainly-wrong")
    assert noat.startswith("400 ")
    hostile = sign_up(
        archive.client,
        "crlf@example.org",
        name="Eve\r\nBcc: victim@example.com",
        organisation="Org\nX-Evil: 1",
    )
    assert hostile.startswith("200 ")
    [mail] = mails_to(archive, "crlf@example.org")
    assert mail["Bcc"] is None and mail["X-Evil"] is None
    assert len(mail.get_all("To") or []) == 1


def test_answers_to_the_form_land_on_it_and_switch_language_to_real_pages(
    archive: Archive,
) -> None:
    page = archive.client.get(PAGE).text
    assert f'action="{PAGE}/signup#signup"' in page
    assert 'id="signup"' in page
    for answer in (
        sign_up(archive.client, "plainly-wrong"),
        sign_up(archive.client, "x@example.org"),
    ):
        links = re.findall(r'href="([^"]+)" hreflang="(es|fr)"', answer)
        assert links == [(f"{PAGE}?lang=es", "es"), (f"{PAGE}?lang=fr", "fr")], links
        for href, _ in links:
            assert archive.client.get(href).status_code == 200
    question = archive.client.get(f"{PAGE}/q/1").text
    assert f'href="{PAGE}/q/1?lang=es" hreflang="es"' in question


def test_forms_need_their_csrf_token(archive: Archive) -> None:
    data = {"email": "x@example.org"}
    fresh = other_client(archive)
    assert fresh.post(f"{PAGE}/signup", data=data).status_code == 403
    token = csrf_of(archive.client.get(PAGE).text)  # made for another cookie
    r = fresh.post(f"{PAGE}/signup", data={**data, "csrf": token})
    assert r.status_code == 403 and "The form had expired" in r.text
    fresh.get(PAGE)  # now it has a cookie, but not the token for it
    r = fresh.post(f"{PAGE}/signup", data={**data, "csrf": token})
    assert r.status_code == 403
    bad = token.rsplit(".", 1)[0] + ".0123456789abcdef0123456789abcdef"
    assert (
        archive.client.post(f"{PAGE}/signup", data={**data, "csrf": bad}).status_code
        == 403
    )
    assert subscription(archive, "x@example.org") is None
    huge = {"csrf": token, "email": "y@example.org", "name": "n" * 20_000}
    assert archive.client.post(f"{PAGE}/signup", data=huge).status_code == 413


def test_sign_up_is_rate_limited_per_client(make_archive: ArchiveFactory) -> None:
    archive = make_archive({"web": {"signup_per_hour": 2}})
    assert sign_up(archive.client, "one@example.org").startswith("200 ")
    assert sign_up(archive.client, "two@example.org").startswith("200 ")
    token = csrf_of(archive.client.get(PAGE).text)
    r = archive.client.post(
        f"{PAGE}/signup", data={"csrf": token, "email": "three@example.org"}
    )
    assert r.status_code == 429 and r.headers["retry-after"] == "3600"
    assert "Too many sign-ups" in r.text
    assert subscription(archive, "three@example.org") is None
    elsewhere = other_client(archive, "2001:db8::1")
    assert sign_up(elsewhere, "three@example.org").startswith("200 ")


def test_bad_links_are_not_found(archive: Archive) -> None:
    key = archive.runtime.key
    forged = [
        "/unsubscribe/garbage",
        "/unsubscribe/1.aaaaaaaaaaaaaaaa",
        "/unsubscribe/" + sign_token(b"another key", SignedFor.UNSUBSCRIBE, "1"),
        "/unsubscribe/"
        + sign_token(key, SignedFor.REPLY, "1"),  # a token of another kind
        "/unsubscribe/"
        + sign_token(key, SignedFor.UNSUBSCRIBE, "424242"),  # no such row
        "/confirm/garbage",
        "/confirm/" + "a" * 26,
    ]
    for path in forged:
        assert archive.client.get(path).status_code == 404, path
        r = archive.client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert r.status_code in (403, 404), path
    r = archive.client.get("/confirm/garbage?lang=fr")
    assert "Ce lien de confirmation n&#39;est plus valable" in r.text


def test_the_sign_up_limit_is_shared_by_every_node(
    make_archive: ArchiveFactory,
) -> None:
    # Two archives on one database: two nodes behind one name.
    first = make_archive({"web": {"signup_per_hour": 2}})
    second = make_archive({"web": {"signup_per_hour": 2}})
    assert sign_up(first.client, "one@example.org").startswith("200 ")
    assert sign_up(second.client, "two@example.org").startswith("200 ")
    token = csrf_of(first.client.get(PAGE).text)
    r = first.client.post(
        f"{PAGE}/signup", data={"csrf": token, "email": "three@example.org"}
    )
    assert r.status_code == 429
    with first.runtime.sessions() as session:
        counts = session.scalars(select(RateCount.key)).all()
    assert counts == ["signup:testclient"]


def test_links_that_name_nothing_are_limited_per_client(archive: Archive) -> None:
    for n in range(BAD_TOKENS_PER_HOUR):
        assert archive.client.get(f"/confirm/{'a' * 25}{n % 10}").status_code == 404
    r = archive.client.get(f"/unsubscribe/garbage{n}")
    assert r.status_code == 429 and "lead nowhere" in r.text
    assert other_client(archive).get("/confirm/garbage").status_code == 404


def test_the_unsubscribe_page_offers_less_instead_of_leaving(archive: Archive) -> None:
    sign_up(archive.client, "ana.ruiz@example.org", language="fr")
    [mail] = mails_to(archive, "ana.ruiz@example.org")
    link = re.search(r"http://127\.0\.0\.1:\d+(/confirm/[a-z0-9]+)", text_of(mail))
    assert link is not None
    page = archive.client.get(link.group(1))
    archive.client.post(link.group(1), data={"csrf": csrf_of(page.text)})
    sub = subscription(archive, "ana.ruiz@example.org")
    assert sub is not None and sub.status is SubscriptionStatus.ACTIVE
    assert sub.mode is DeliveryMode.EACH
    url = unsubscribe_url(
        "", archive.runtime.key, sub.id, sub.link_generation, archive.runtime.clock()
    )
    shown = archive.client.get(url).text
    assert "Ce lien est celui de l'adresse a…@example.org." in shown.replace(
        "&#39;", "'"
    )
    assert "ana.ruiz@" not in shown
    assert 'value="digest"' in shown and 'value="announcements"' in shown
    assert "Un résumé quotidien" in shown

    done = other_client(archive).post(url, data={"mode": "digest"})
    assert done.status_code == 200 and "Votre mode de réception a changé" in done.text
    assert "a…@example.org reçoit désormais" in done.text
    sub = subscription(archive, "ana.ruiz@example.org")
    assert sub is not None and sub.status is SubscriptionStatus.ACTIVE
    assert sub.mode is DeliveryMode.DIGEST
    # A mail client's one-click POST leaves, whatever else the form says.
    r = other_client(archive).post(
        url, data={"List-Unsubscribe": "One-Click", "mode": "announcements"}
    )
    assert r.status_code == 200
    sub = subscription(archive, "ana.ruiz@example.org")
    assert sub is not None and sub.status is SubscriptionStatus.UNSUBSCRIBED
    # Gone: no mode can be chosen any more, and the page says so.
    assert other_client(archive).post(url, data={"mode": "digest"}).status_code == 410
    assert 'value="digest"' not in archive.client.get(url).text
