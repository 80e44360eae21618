"""Two discussions on one service: no token of the one acts on the other.

Every capability the service hands out names one discussion's things: an
unsubscribe or manage link names a subscription, a moderator's command
confirmation and a subscription confirmation are stored with their
discussion, a reply token names a post. Here the same person is subscribed
to both discussions and the same moderators run both, so only the token can
tell them apart; each is tried at the other discussion's door.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from mailer.core.addresses import AddressBook
from mailer.links import manage_url, reply_address, unsubscribe_url
from mailer.runtime import Runtime, open_runtime
from mailer.web import build_app
from store.models import (
    DeliveryMode,
    Discussion,
    Post,
    Question,
    Subscription,
    SubscriptionStatus,
    Token,
)
from store.subscribers import ensure_subscriber, ensure_subscription
from tests.fixtures.moderation import (
    DOMAIN,
    TRUSTED_MTA,
    Listener,
    SettableClock,
    StubDns,
    command_mail,
    outbox,
    read,
)
from tests.fixtures.settings import SettingsFactory, shipped_raw
from tests.fixtures.web import Archive
from tests.integration.moderation_setup import COMYN, process, release_directly

A = "skills-covid19"
B = "other-topic"
ANA = "ana@example.net"


@pytest.fixture
def two(
    db_url: str,
    make_settings: SettingsFactory,
    stub_dns: StubDns,
    clock: SettableClock,
) -> Iterator[tuple[Runtime, Listener]]:
    """One service with discussions A and B (same moderators), and its SMTP listener."""
    first = shipped_raw()["discussions"][0]
    other = copy.deepcopy(first)
    other["slug"] = B
    settings = make_settings(
        db_url,
        {
            "inbound": {
                "dkim_resolver": f"127.0.0.1:{stub_dns.port}",
                "trusted_authserv_id": TRUSTED_MTA,
            },
            "discussions": [first, other],
        },
    )
    runtime = open_runtime(settings, clock=clock, migrate=False)
    release_directly(runtime, [1, 2, 3], clock.now)
    listener = Listener(runtime)
    listener.start()
    try:
        yield runtime, listener
    finally:
        listener.stop()
        runtime.close()


def _subscribe_both(runtime: Runtime) -> dict[str, int]:
    """Ana, active in A and in B: subscription id per slug."""
    now = runtime.clock()
    ids = {}
    with runtime.sessions.begin() as s:
        person = ensure_subscriber(s, ANA, now)
        for slug in (A, B):
            disc = s.scalars(select(Discussion).where(Discussion.slug == slug)).one()
            sub, _ = ensure_subscription(
                s,
                disc.id,
                person.id,
                now,
                language="en",
                mode=DeliveryMode.EACH,
                source="cli",
                status=SubscriptionStatus.ACTIVE,
            )
            ids[slug] = sub.id
    return ids


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _sub(runtime: Runtime, sub_id: int) -> Subscription:
    with runtime.sessions() as s:
        found = s.get(Subscription, sub_id)
        assert found is not None
        return found


def _question(runtime: Runtime, slug: str, number: int) -> Question:
    with runtime.sessions() as s:
        return s.scalars(
            select(Question)
            .join(Discussion, Question.discussion_id == Discussion.id)
            .where(Discussion.slug == slug, Question.number == number)
        ).one()


def test_unsubscribe_and_manage_links_of_a_act_on_a_only(
    two: tuple[Runtime, Listener],
) -> None:
    runtime, _ = two
    ids = _subscribe_both(runtime)
    now = runtime.clock()
    gen = _sub(runtime, ids[A]).link_generation
    manage = manage_url("", runtime.key, ids[A], gen, now)
    unsubscribe = unsubscribe_url("", runtime.key, ids[A], gen, now)
    # The signature covers the subscription: A's token pointed at B's is nothing.
    value, mac = unsubscribe.rsplit("/", 1)[1].split(".")
    forged = "-".join([_base36(ids[B]), *value.split("-")[1:]]) + "." + mac
    with TestClient(build_app(runtime), base_url="http://127.0.0.1:8080") as client:
        assert client.get(f"/unsubscribe/{forged}").status_code == 404
        assert client.get(f"/manage/{forged}").status_code == 404
        page = client.get(manage)
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        form = {"csrf": csrf, "mode": "digest", "language": "fr"}
        assert client.post(manage, data=form).status_code == 200
        one_click = {"List-Unsubscribe": "One-Click"}
        assert client.post(unsubscribe, data=one_click).status_code == 200
    a, b = _sub(runtime, ids[A]), _sub(runtime, ids[B])
    assert (a.status, a.mode, a.language) == (
        SubscriptionStatus.UNSUBSCRIBED,
        DeliveryMode.DIGEST,
        "fr",
    )
    assert (b.status, b.mode, b.language) == (
        SubscriptionStatus.ACTIVE,
        DeliveryMode.EACH,
        "en",
    )


def test_a_moderators_confirmation_for_a_does_nothing_at_bs_address(
    two: tuple[Runtime, Listener], clock: SettableClock
) -> None:
    runtime, listener = two
    to_a = AddressBook(A, DOMAIN).moderators()
    listener.send(command_mail(COMYN, to_a, "release 7"), to_a, "other@evil.example")
    process(runtime)
    [ask] = outbox(runtime, "mod-confirm")
    confirm_a = read(ask)["Reply-To"].addresses[0].addr_spec
    token = confirm_a.split("+", 1)[1].split("@")[0]
    confirm_b = AddressBook(B, DOMAIN).confirm(token)

    clock.advance(minutes=5)
    listener.send(command_mail(COMYN, confirm_b, "Yes.\n\n> release 7\n"), confirm_b)
    process(runtime)
    assert _question(runtime, A, 7).released_at is None
    assert _question(runtime, B, 7).released_at is None
    with runtime.sessions() as s:
        [row] = s.scalars(select(Token)).all()
        assert row.used_at is None  # not spent either: A may still use it

    listener.send(command_mail(COMYN, confirm_a, "Yes.\n\n> release 7\n"), confirm_a)
    process(runtime)
    assert _question(runtime, A, 7).released_at == clock.now
    assert _question(runtime, B, 7).released_at is None


def test_a_subscription_confirmation_for_a_does_nothing_at_bs_address(
    two: tuple[Runtime, Listener],
) -> None:
    runtime, listener = two
    request_a = AddressBook(A, DOMAIN).request()
    listener.send(command_mail(ANA, request_a, "subscribe"), request_a)
    process(runtime)
    [ask] = outbox(runtime, "confirm")
    confirm_a = read(ask)["Reply-To"].addresses[0].addr_spec
    token = confirm_a.split("+", 1)[1].split("@")[0]
    confirm_b = AddressBook(B, DOMAIN).confirm(token)
    listener.send(command_mail(ANA, confirm_b, "yes"), confirm_b)
    process(runtime)
    with runtime.sessions() as s:
        subs = {
            slug: status
            for slug, status in s.execute(
                select(Discussion.slug, Subscription.status).join(
                    Discussion, Subscription.discussion_id == Discussion.id
                )
            )
        }
    assert subs == {A: SubscriptionStatus.PENDING}
    listener.send(command_mail(ANA, confirm_a, "yes"), confirm_a)
    process(runtime)
    with runtime.sessions() as s:
        [status] = s.scalars(select(Subscription.status)).all()
    assert status is SubscriptionStatus.ACTIVE


def test_a_reply_token_of_a_post_in_a_threads_nothing_in_b(
    two: tuple[Runtime, Listener], clock: SettableClock
) -> None:
    runtime, listener = two
    _subscribe_both(runtime)
    archive = Archive(runtime, TestClient(build_app(runtime)))
    parent = archive.add_post(
        1, body="A post in A.", received_at=clock.now - timedelta(hours=1)
    )
    in_a = reply_address(AddressBook(A, DOMAIN), runtime.key, parent)
    in_b = in_a.replace(f"{A}+r-", f"{B}+r-")
    assert in_b != in_a
    listener.send(command_mail(ANA, in_b, "A reply that went astray."), in_b)
    process(runtime)
    with runtime.sessions() as s:
        posts = s.scalars(select(Post).where(Post.id != parent)).all()
        b_id = s.scalars(select(Discussion.id).where(Discussion.slug == B)).one()
    # Whatever became of it, it is not a reply to A's post, nor a post of A.
    assert all(p.parent_id != parent for p in posts)
    assert all(p.discussion_id == b_id for p in posts)
    archive.client.close()
