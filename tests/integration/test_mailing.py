"""queue_mail renders in the recipient's language, composes and enqueues once."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

from sqlalchemy import select

from mailer.core.tokens import SignedFor, verify_token
from mailer.outbound.mailing import Outgoing, queue_mail
from store.db import make_engine, make_sessionmaker
from store.models import (
    Discussion,
    OutboxMessage,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from tests.fixtures.settings import SettingsFactory

NOW = datetime(2027, 3, 28, 17, 0, tzinfo=UTC)
TEMPLATES = Path(__file__).resolve().parents[1] / "data" / "templates"


def test_queue_mail_in_language_with_list_headers(
    db_url: str, make_settings: SettingsFactory
) -> None:
    settings = make_settings(db_url)
    disc = settings.discussions[0]
    disc = dataclasses.replace(disc, templates_dir=TEMPLATES)
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    key = b"k" * 32
    with sessions.begin() as s:
        d = Discussion(slug="skills-covid19", created_at=NOW)
        person = Subscriber(email="ana@example.net", created_at=NOW)
        s.add_all([d, person])
        s.flush()
        sub = Subscription(
            discussion_id=d.id,
            subscriber_id=person.id,
            language="es",
            status=SubscriptionStatus.ACTIVE,
            created_at=NOW,
        )
        s.add(sub)
        s.flush()
        sub_id = sub.id
    out = Outgoing(
        template="hello",
        language="es",
        to_address="ana@example.net",
        to_name="Ana <Ruiz>\r\nBcc: x@y",
        dedupe_key="hello:ana",
        kind="hello",
        context={"who": "Ana"},
        subscription_id=sub_id,
        as_list_mail=True,
        list_post="skills-covid19+q1@discuss.example.org",
    )
    try:
        with sessions.begin() as s:
            assert queue_mail(s, settings, key, disc, None, out, NOW) is True
            assert queue_mail(s, settings, key, disc, None, out, NOW) is False
        with sessions() as s:
            row = s.scalars(select(OutboxMessage)).one()
        msg = message_from_bytes(row.raw, policy=policy.default)
        assert msg["Subject"] == "[skills-covid19] Hola Ana"
        assert msg["Content-Language"] == "es"
        assert (
            msg["From"].addresses[0].addr_spec == "skills-covid19@discuss.example.org"
        )
        assert msg["From"].addresses[0].display_name == "E-debate sobre competencias"
        assert (
            msg["Bcc"] is None and msg["To"].addresses[0].addr_spec == "ana@example.net"
        )
        assert "/unsubscribe/" in msg["List-Unsubscribe"]
        assert row.message_id == msg["Message-ID"]
        local = row.envelope_from.split("@")[0]
        assert local.startswith("skills-covid19-bounces+")
        assert (
            verify_token(key, SignedFor.BOUNCE, local.split("+", 1)[1]) == f"s{sub_id}"
        )
        # no HTML in Spanish: text only
        assert msg.get_content_type() == "text/plain"
    finally:
        engine.dispose()
