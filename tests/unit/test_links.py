"""Unsubscribe and manage links: one subscription, one run of it, one day, one purpose."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailer.core.errors import BadToken
from mailer.core.tokens import SignedFor
from mailer.links import (
    SubscriptionLink,
    link_day,
    manage_url,
    read_subscription_token,
    subscription_from_unsubscribe_token,
    subscription_token,
    unsubscribe_url,
)

KEY = b"k" * 32
NOW = datetime(2027, 3, 28, 23, 59, tzinfo=UTC)


def test_a_link_names_its_subscription_run_and_day() -> None:
    token = subscription_token(KEY, SignedFor.MANAGE, 123456, 3, NOW)
    assert token.startswith("2n9c-3-g4p.")  # base 36: short enough for a header
    link = read_subscription_token(KEY, SignedFor.MANAGE, token)
    assert link == SubscriptionLink(123456, 3, link_day(NOW))
    assert link_day(NOW) == (NOW.date() - datetime(1970, 1, 1).date()).days
    url = manage_url("https://d.example.org", KEY, 123456, 3, NOW)
    assert url == f"https://d.example.org/manage/{token}"


def test_each_purpose_is_signed_apart() -> None:
    unsub = unsubscribe_url("", KEY, 7, 1, NOW).rsplit("/", 1)[1]
    manage = manage_url("", KEY, 7, 1, NOW).rsplit("/", 1)[1]
    assert unsub != manage
    assert subscription_from_unsubscribe_token(KEY, unsub) == 7
    with pytest.raises(BadToken):
        read_subscription_token(KEY, SignedFor.MANAGE, unsub)
    with pytest.raises(BadToken):
        read_subscription_token(KEY, SignedFor.UNSUBSCRIBE, manage)
    with pytest.raises(BadToken):
        read_subscription_token(b"x" * 32, SignedFor.MANAGE, manage)


def test_a_signed_value_that_is_no_link_is_refused() -> None:
    from mailer.core.tokens import sign_token

    for value in ("7", "7-1", "7-1-2-3", "7--1"):
        with pytest.raises(BadToken):
            read_subscription_token(
                KEY, SignedFor.MANAGE, sign_token(KEY, SignedFor.MANAGE, value)
            )


@pytest.mark.parametrize(
    ("made", "generation", "alive"),
    [
        (NOW, 2, True),
        (NOW - timedelta(days=90), 2, True),
        (NOW - timedelta(days=91), 2, False),  # too old
        (NOW, 1, False),  # made for an earlier run of the subscription
        (NOW, 3, False),
        (NOW + timedelta(days=1), 2, True),  # a clock a little ahead
        (NOW + timedelta(days=3), 2, False),
    ],
)
def test_a_link_is_alive_for_its_run_and_its_lifetime(
    made: datetime, generation: int, alive: bool
) -> None:
    token = subscription_token(KEY, SignedFor.UNSUBSCRIBE, 7, generation, made)
    link = read_subscription_token(KEY, SignedFor.UNSUBSCRIBE, token)
    assert link.alive(2, NOW, ttl_days=90) is alive
