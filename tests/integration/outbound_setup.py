"""Shared set-up of the outgoing-mail tests: a runtime, subscribers, queued mail."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mailer.config.settings import RelaySettings
from mailer.outbound.mailing import Outgoing, queue_mail
from mailer.runtime import Runtime, open_runtime
from store.models import (
    DeliveryMode,
    Discussion,
    OutboxMessage,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from tests.fixtures.settings import SettingsFactory

START = datetime(2027, 3, 28, 17, 0, tzinfo=UTC)
TEST_TEMPLATES = Path(__file__).resolve().parents[1] / "data" / "templates"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


def make_runtime(
    make_settings: SettingsFactory,
    db_url: str,
    *,
    relay: RelaySettings | None = None,
    clock: Clock | None = None,
    overrides: dict[str, Any] | None = None,
) -> Runtime:
    """A runtime on *db_url*, sending through *relay* (None: the Maildir)."""
    settings = make_settings(db_url, overrides)
    settings = dataclasses.replace(settings, relay=relay)
    return open_runtime(settings, clock=clock or Clock())


def discussion_id(runtime: Runtime) -> int:
    with runtime.sessions() as s:
        return s.scalars(select(Discussion.id)).one()


def add_subscriber(
    runtime: Runtime,
    email: str,
    *,
    language: str = "en",
    name: str = "",
    mode: DeliveryMode = DeliveryMode.EACH,
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
) -> int:
    """A confirmed subscription to the first discussion; returns its id."""
    now = runtime.clock()
    with runtime.sessions.begin() as s:
        d = s.scalars(select(Discussion)).one()
        person = Subscriber(email=email, name=name, created_at=now)
        s.add(person)
        s.flush()
        sub = Subscription(
            discussion_id=d.id,
            subscriber_id=person.id,
            language=language,
            mode=mode,
            status=status,
            created_at=now,
            confirmed_at=now,
        )
        s.add(sub)
        s.flush()
        return sub.id


def queue_hello(
    runtime: Runtime,
    to: str,
    key: str,
    subscription_id: int | None = None,
    as_list_mail: bool = True,
) -> None:
    """Queue the small test template to *to* (one row)."""
    disc = dataclasses.replace(
        runtime.settings.discussions[0], templates_dir=TEST_TEMPLATES
    )
    out = Outgoing(
        template="hello",
        language="en",
        to_address=to,
        dedupe_key=key,
        kind="hello",
        context={"who": to.split("@")[0]},
        subscription_id=subscription_id,
        as_list_mail=as_list_mail,
        list_post=None,
    )
    with runtime.sessions.begin() as s:
        assert queue_mail(
            s, runtime.settings, runtime.key, disc, None, out, runtime.clock()
        )


def rows(runtime: Runtime) -> list[OutboxMessage]:
    with runtime.sessions() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def subscription(runtime: Runtime, sub_id: int) -> Subscription:
    with runtime.sessions() as s:
        found = s.get(Subscription, sub_id)
        assert found is not None
        return found
