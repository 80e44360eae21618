"""The manage page and the life of unsubscribe and manage links, on SQLite and PostgreSQL.

Links are read from the mails the service queued, as a subscriber reads them;
the archive's clock stands still at ``WEB_NOW``, so a link made earlier is
made with an earlier clock, as a mail sent earlier would carry it.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from starlette.testclient import TestClient

from mailer.core.tokens import SignedFor
from mailer.links import manage_url, subscription_token, unsubscribe_url
from mailer.web import build_app
from store.models import (
    DeliveryMode,
    OutboxMessage,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from tests.fixtures.web import SLUG, WEB_NOW, Archive, ArchiveFactory
from tests.integration.test_web_subscribe import mails_to, text_of

PAGE = f"/d/{SLUG}"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
MANAGE = re.compile(r"http://127\.0\.0\.1:8080(/manage/[a-z0-9.-]+)")
UNSUBSCRIBE = re.compile(r"http://127\.0\.0\.1:8080(/unsubscribe/[a-z0-9.-]+)")
CONFIRM = re.compile(r"http://127\.0\.0\.1:\d+(/confirm/[a-z0-9]+)")


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


def subscription(archive: Archive, address: str) -> Subscription:
    with archive.runtime.sessions() as session:
        found = session.scalar(
            select(Subscription).join(Subscriber).where(Subscriber.email == address)
        )
    assert found is not None
    return found


def join(archive: Archive, address: str, language: str = "es") -> str:
    """Sign up and confirm on the web; the plain text of the welcome mail."""
    client = archive.client
    token = csrf_of(client.get(PAGE).text)
    data = {"csrf": token, "email": address, "language": language, "mode": "each"}
    assert client.post(f"{PAGE}/signup", data=data).status_code == 200
    link = CONFIRM.search(text_of(mails_to(archive, address)[-1]))
    assert link is not None
    page = client.get(link.group(1))
    done = client.post(link.group(1), data={"csrf": csrf_of(page.text)})
    assert done.status_code == 200
    welcome = mails_to(archive, address)[-1]
    assert welcome["Subject"] and "/manage/" in text_of(welcome)
    return text_of(welcome)


def link_in(text: str, pattern: re.Pattern[str]) -> str:
    found = pattern.search(text)
    assert found is not None, text
    return found.group(1)


def fresh_client(archive: Archive) -> TestClient:
    return TestClient(
        build_app(archive.runtime),
        base_url="http://127.0.0.1:8080",
        client=("192.0.2.8", 1),
    )


def test_the_manage_link_of_the_welcome_changes_mode_and_language(
    archive: Archive,
) -> None:
    welcome = join(archive, "reader@example.org", language="es")
    url = link_in(welcome, MANAGE)
    client = fresh_client(archive)  # the mail opened in another browser

    shown = client.get(url)
    assert shown.status_code == 200
    assert '<html lang="es">' in shown.text and "Su suscripción" in shown.text
    assert "r…@example.org" in shown.text and "reader@" not in shown.text
    assert 'value="each" checked' in shown.text
    assert 'value="es" lang="es" selected' in shown.text
    assert shown.headers["cache-control"] == "private, no-store"
    # GET never changes anything; a POST without the form's token neither.
    assert client.post(url, data={"mode": "digest"}).status_code == 403
    sub = subscription(archive, "reader@example.org")
    assert (sub.mode, sub.language) == (DeliveryMode.EACH, "es")

    form = {"csrf": csrf_of(shown.text), "mode": "announcements", "language": "fr"}
    done = client.post(url, data=form)
    assert done.status_code == 200
    # Said in the language just chosen, with what changed.
    assert (
        '<html lang="fr">' in done.text and "Votre abonnement est à jour" in done.text
    )
    assert (
        "Désormais, vous recevez : Uniquement les annonces (nouvelles questions)."
        in done.text
    )
    assert "Nos messages vous parviennent désormais en français." in done.text
    sub = subscription(archive, "reader@example.org")
    assert (sub.mode, sub.language) == (DeliveryMode.ANNOUNCEMENTS, "fr")

    again = client.post(url, data=form)
    assert "Rien n'a changé" in again.text.replace("&#39;", "'")
    # Values that are not offered change nothing.
    odd = {"csrf": form["csrf"], "mode": "weekly", "language": "de"}
    assert client.post(url, data=odd).status_code == 200
    sub = subscription(archive, "reader@example.org")
    assert (sub.mode, sub.language) == (DeliveryMode.ANNOUNCEMENTS, "fr")


def test_leaving_from_the_manage_page_ends_the_subscription_and_its_links(
    archive: Archive,
) -> None:
    welcome = join(archive, "reader@example.org", language="en")
    url = link_in(welcome, MANAGE)
    unsubscribe = link_in(welcome, UNSUBSCRIBE)
    shown = archive.client.get(url)
    left = archive.client.post(url, data={"csrf": csrf_of(shown.text), "leave": "1"})
    assert left.status_code == 200 and "You are unsubscribed" in left.text
    assert subscription(archive, "reader@example.org").status is (
        SubscriptionStatus.UNSUBSCRIBED
    )
    with archive.runtime.sessions() as session:
        kinds = session.scalars(
            select(OutboxMessage.kind).where(
                OutboxMessage.recipient == "reader@example.org"
            )
        ).all()
    assert "goodbye" in kinds  # a person clicked: they are told how to come back
    gone = archive.client.get(url)
    assert gone.status_code == 410 and "This link has expired" in gone.text
    # The unsubscribe link of the same mail says it is done, and does nothing.
    assert "You are unsubscribed" in archive.client.get(unsubscribe).text


def test_links_work_for_their_lifetime_and_not_a_day_more(archive: Archive) -> None:
    join(archive, "reader@example.org", language="en")
    sub = subscription(archive, "reader@example.org")
    key, ttl = archive.runtime.key, archive.runtime.settings.subscribers.link_ttl_days
    assert ttl == 90
    old, older = WEB_NOW - timedelta(days=ttl), WEB_NOW - timedelta(days=ttl + 1)
    args = (sub.id, sub.link_generation)

    assert archive.client.get(manage_url("", key, *args, old)).status_code == 200
    assert archive.client.get(unsubscribe_url("", key, *args, old)).status_code == 200
    expired = archive.client.get(manage_url("", key, *args, older))
    assert expired.status_code == 410
    assert "This link has expired" in expired.text
    # ... and a way to a fresh one: "manage" to the discussion's request address.
    assert f'href="mailto:{SLUG}-request@discuss.example.org?subject=manage"' in (
        expired.text
    )
    stale = unsubscribe_url("", key, *args, older)
    assert archive.client.get(stale).status_code == 410
    # A mail client's one-click POST with the stale link unsubscribes nobody.
    one_click = {"List-Unsubscribe": "One-Click"}
    assert fresh_client(archive).post(stale, data=one_click).status_code == 410
    assert subscription(archive, "reader@example.org").status is (
        SubscriptionStatus.ACTIVE
    )


def test_the_lifetime_is_a_setting(make_archive: ArchiveFactory) -> None:
    archive = make_archive({"subscribers": {"link_ttl_days": 7}})
    join(archive, "reader@example.org", language="en")
    sub = subscription(archive, "reader@example.org")
    key = archive.runtime.key
    week = manage_url("", key, sub.id, sub.link_generation, WEB_NOW - timedelta(7))
    longer = manage_url("", key, sub.id, sub.link_generation, WEB_NOW - timedelta(8))
    assert archive.client.get(week).status_code == 200
    assert archive.client.get(longer).status_code == 410


def test_subscribing_again_does_not_revive_the_links_of_before(
    archive: Archive,
) -> None:
    first = join(archive, "reader@example.org", language="en")
    old_manage, old_unsubscribe = link_in(first, MANAGE), link_in(first, UNSUBSCRIBE)
    # Leave with the one-click link, then come back.
    one_click = {"List-Unsubscribe": "One-Click"}
    assert (
        fresh_client(archive).post(old_unsubscribe, data=one_click).status_code == 200
    )
    assert subscription(archive, "reader@example.org").status is (
        SubscriptionStatus.UNSUBSCRIBED
    )
    second = join(archive, "reader@example.org", language="en")
    assert subscription(archive, "reader@example.org").status is (
        SubscriptionStatus.ACTIVE
    )
    new_manage, new_unsubscribe = link_in(second, MANAGE), link_in(second, UNSUBSCRIBE)
    assert (new_manage, new_unsubscribe) != (old_manage, old_unsubscribe)

    # The old links are spent: shown as such, and acting on nothing.
    assert archive.client.get(old_manage).status_code == 410
    assert archive.client.get(old_unsubscribe).status_code == 410
    assert (
        fresh_client(archive).post(old_unsubscribe, data=one_click).status_code == 410
    )
    shown = archive.client.get(new_manage)
    form = {"csrf": csrf_of(shown.text), "mode": "digest", "language": "en"}
    assert archive.client.post(old_manage, data=form).status_code == 410
    sub = subscription(archive, "reader@example.org")
    assert (sub.status, sub.mode) == (SubscriptionStatus.ACTIVE, DeliveryMode.EACH)
    # The new ones work.
    assert archive.client.post(new_manage, data=form).status_code == 200
    assert subscription(archive, "reader@example.org").mode is DeliveryMode.DIGEST
    assert archive.client.get(new_unsubscribe).status_code == 200


def test_a_link_that_names_nothing_gets_a_clear_page(archive: Archive) -> None:
    join(archive, "reader@example.org", language="en")
    sub = subscription(archive, "reader@example.org")
    key = archive.runtime.key
    for url in (
        "/manage/nothing",
        "/manage/1-1-g4p.aaaaaaaaaaaaaaaa",  # a signature that does not match
        # An unsubscribe token is no manage token, and the other way round.
        "/manage/"
        + subscription_token(
            key, SignedFor.UNSUBSCRIBE, sub.id, sub.link_generation, WEB_NOW
        ),
    ):
        page = archive.client.get(url)
        assert page.status_code == 404, url
        assert "This link to manage a subscription is not valid" in page.text
        assert "manage" in page.text
    swapped = subscription_token(
        key, SignedFor.MANAGE, sub.id, sub.link_generation, WEB_NOW
    )
    assert archive.client.get(f"/unsubscribe/{swapped}").status_code == 404
    assert archive.client.post(f"/unsubscribe/{swapped}").status_code == 404
    assert subscription(archive, "reader@example.org").status is (
        SubscriptionStatus.ACTIVE
    )


def test_the_manage_page_names_its_parts_once(archive: Archive) -> None:
    welcome = join(archive, "heading@example.org", language="en")
    shown = fresh_client(archive).get(link_in(welcome, MANAGE)).text
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", shown)
    legends = re.findall(r"<legend>(.*?)</legend>", shown)
    assert headings == ["Delivery and language", "Leave the discussion"]
    assert legends == ["What you receive"]
    assert not set(headings) & set(legends)  # a heading is not its own legend again
