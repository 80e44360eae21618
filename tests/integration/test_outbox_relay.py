"""The outbox worker against a real capturing relay on loopback, on both databases."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

import pytest

from mailer.core.tokens import SignedFor, verify_token
from mailer.outbound.worker import LEASE, RELEASE_EVERY, OutboxSender
from store.models import OutboxState, SubscriptionStatus
from store.outbox import OutgoingRow, claim_due, enqueue
from tests.fixtures.relay import CapturingRelay
from tests.fixtures.settings import SettingsFactory
from tests.integration.outbound_setup import (
    Clock,
    add_subscriber,
    make_runtime,
    queue_hello,
    rows,
    subscription,
)


def test_sends_each_row_once_with_verp_return_path(
    db_url: str, make_settings: SettingsFactory, either_relay: CapturingRelay
) -> None:
    relay = either_relay  # with and without PIPELINING
    rt = make_runtime(make_settings, db_url, relay=relay.settings())
    try:
        subs = [add_subscriber(rt, f"p{i}@example.net") for i in range(3)]
        for i, sub in enumerate(subs):
            queue_hello(rt, f"p{i}@example.net", f"hello:{i}", sub)
        sender = OutboxSender(rt)
        report = sender.drain()
        assert (report.sent, report.deferred, report.failed) == (3, 0, 0)
        assert sender.drain().claimed == 0  # nothing left: never twice
        sender.close()
        assert sorted(r.rcpt_tos[0] for r in relay.received) == [
            "p0@example.net",
            "p1@example.net",
            "p2@example.net",
        ]
        # Several connections: the relay gets them in any order.
        by_rcpt = sorted(relay.received, key=lambda r: r.rcpt_tos[0])
        for received, sub in zip(by_rcpt, subs, strict=True):
            local = received.mail_from.split("@")[0]
            assert local.startswith("skills-covid19-bounces+")
            assert (
                verify_token(rt.key, SignedFor.BOUNCE, local.split("+", 1)[1])
                == f"s{sub}"
            )
            msg = message_from_bytes(received.data, policy=policy.default)
            assert msg["To"].addresses[0].addr_spec == received.rcpt_tos[0]
        assert {r.state for r in rows(rt)} == {OutboxState.SENT}
    finally:
        rt.close()


def test_4xx_defers_with_backoff_then_sends_once(
    db_url: str, make_settings: SettingsFactory, either_relay: CapturingRelay
) -> None:
    relay = either_relay  # with and without PIPELINING
    clock = Clock()
    rt = make_runtime(make_settings, db_url, relay=relay.settings(), clock=clock)
    try:
        sub = add_subscriber(rt, "ana@example.net")
        queue_hello(rt, "ana@example.net", "hello:ana", sub)
        relay.answer_rcpt("ana@example.net", "451 4.3.0 try again later")
        relay.answer_data("ana@example.net", "452 4.2.2 mailbox full")
        sender = OutboxSender(rt)
        assert sender.run_once().deferred == 1
        (row,) = rows(rt)
        assert row.state is OutboxState.QUEUED and row.attempts == 1
        assert row.next_attempt_at == clock.now + timedelta(seconds=60)
        assert "451 4.3.0" in (row.last_error or "")
        assert sender.run_once().claimed == 0  # not due yet
        clock.advance(seconds=61)
        assert sender.run_once().deferred == 1
        (row,) = rows(rt)
        assert row.next_attempt_at == clock.now + timedelta(seconds=120)  # doubled
        clock.advance(seconds=121)
        assert sender.run_once().sent == 1
        sender.close()
        assert len(relay.received) == 1
        (row,) = rows(rt)
        assert row.state is OutboxState.SENT and row.attempts == 3
        assert subscription(rt, sub).bounce_score == 0  # temporary: no bounce
    finally:
        rt.close()


def test_5xx_fails_counts_a_bounce_and_success_decays_it(
    db_url: str, make_settings: SettingsFactory, either_relay: CapturingRelay
) -> None:
    relay = either_relay  # with and without PIPELINING
    rt = make_runtime(make_settings, db_url, relay=relay.settings())
    try:
        sub = add_subscriber(rt, "gone@example.net")
        queue_hello(rt, "gone@example.net", "hello:1", sub)
        relay.answer_data("gone@example.net", "550 5.1.1 no such user")
        sender = OutboxSender(rt)
        assert sender.run_once().failed == 1
        (row,) = rows(rt)
        assert row.state is OutboxState.FAILED
        assert row.last_error == "550 5.1.1 no such user"
        assert subscription(rt, sub).bounce_score == 2
        queue_hello(rt, "gone@example.net", "hello:2", sub)
        assert sender.run_once().sent == 1
        sender.close()
        assert subscription(rt, sub).bounce_score == 1  # halved by a delivery
        assert relay.message_ids() == [rows(rt)[1].message_id]
    finally:
        rt.close()


def test_bounces_past_threshold_disable_and_tell_moderators(
    db_url: str, make_settings: SettingsFactory, relay: CapturingRelay
) -> None:
    rt = make_runtime(
        make_settings,
        db_url,
        relay=relay.settings(),
        overrides={"outbox": {"bounce_threshold": 2}},
    )
    try:
        sub = add_subscriber(rt, "gone@example.net")
        for i in range(2):
            queue_hello(rt, "gone@example.net", f"hello:{i}", sub)
        relay.answer_rcpt("gone@example.net", "550 5.1.1 unknown", "550 5.1.1 unknown")
        sender = OutboxSender(rt)
        report = sender.run_once()
        assert report.failed == 2
        assert subscription(rt, sub).status is SubscriptionStatus.DISABLED
        notices = [r for r in rows(rt) if r.kind == "bounce-notice"]
        assert sorted(r.recipient for r in notices) == [
            "aggarwal@ilo.example.org",
            "comyn@ilo.example.org",
            "moreno@ilo.example.org",
        ]
        sender.drain()
        sender.close()
        texts = {
            r.rcpt_tos[0]: message_from_bytes(r.data, policy=policy.default)
            for r in relay.received
        }
        es = texts["moreno@ilo.example.org"]
        assert es["Auto-Submitted"] == "auto-generated"
        assert "desactivada" in str(es["Subject"])
        assert "gone@example.net" in es.get_body().get_content()  # type: ignore[union-attr]
    finally:
        rt.close()


def test_per_recipient_answers_in_one_connection(
    db_url: str, make_settings: SettingsFactory, either_relay: CapturingRelay
) -> None:
    relay = either_relay  # with and without PIPELINING
    rt = make_runtime(make_settings, db_url, relay=relay.settings())
    try:
        who = ["ok@example.net", "later@example.net", "never@example.net"]
        for i, addr in enumerate(who):
            queue_hello(rt, addr, f"hello:{i}", add_subscriber(rt, addr))
        relay.answer_rcpt("later@example.net", "450 4.2.1 greylisted")
        relay.answer_rcpt("never@example.net", "550 5.7.1 refused")
        sender = OutboxSender(rt)
        report = sender.run_once()
        sender.close()
        assert (report.sent, report.deferred, report.failed) == (1, 1, 1)
        states = {r.recipient: r.state for r in rows(rt)}
        assert states == {
            "ok@example.net": OutboxState.SENT,
            "later@example.net": OutboxState.QUEUED,
            "never@example.net": OutboxState.FAILED,
        }
        assert [r.rcpt_tos[0] for r in relay.received] == ["ok@example.net"]
    finally:
        rt.close()


def test_dropped_connection_defers_and_the_rest_goes_on(
    db_url: str, make_settings: SettingsFactory, either_relay: CapturingRelay
) -> None:
    relay = either_relay  # with and without PIPELINING
    clock = Clock()
    rt = make_runtime(make_settings, db_url, relay=relay.settings(), clock=clock)
    try:
        for i in range(3):
            queue_hello(rt, f"p{i}@example.net", f"hello:{i}")
        relay.drop_connections(1)
        sender = OutboxSender(rt)
        report = sender.run_once()
        assert (report.sent, report.deferred) == (2, 1)
        clock.advance(minutes=2)
        assert sender.run_once().sent == 1
        sender.close()
        ids = relay.message_ids()
        assert sorted(ids) == sorted(r.message_id for r in rows(rt))
        assert len(set(ids)) == 3  # each once
    finally:
        rt.close()


def test_relay_down_then_up_sends_once_without_bounces(
    db_url: str, make_settings: SettingsFactory, relay: CapturingRelay
) -> None:
    clock = Clock()
    rt = make_runtime(make_settings, db_url, relay=relay.settings(), clock=clock)
    try:
        subs = [add_subscriber(rt, f"p{i}@example.net") for i in range(4)]
        for i, sub in enumerate(subs):
            queue_hello(rt, f"p{i}@example.net", f"hello:{i}", sub)
        relay.stop()
        sender = OutboxSender(rt)
        report = sender.run_once()
        assert report.deferred == 4 and report.sent == 0
        assert all("cannot connect" in (r.last_error or "") for r in rows(rt))
        relay.release.clear()
        relay.start()
        assert sender.run_once().claimed == 0  # backoff still running
        clock.advance(minutes=1, seconds=1)
        assert sender.run_once().sent == 4
        sender.close()
        assert len(relay.received) == 4 and len(set(relay.message_ids())) == 4
        assert all(subscription(rt, s).bounce_score == 0 for s in subs)
    finally:
        rt.close()


def test_gives_up_after_max_age(
    db_url: str, make_settings: SettingsFactory, relay: CapturingRelay
) -> None:
    clock = Clock()
    rt = make_runtime(
        make_settings,
        db_url,
        relay=relay.settings(),
        clock=clock,
        overrides={"outbox": {"max_age_hours": 1, "first_retry_seconds": 600}},
    )
    try:
        sub = add_subscriber(rt, "slow@example.net")
        queue_hello(rt, "slow@example.net", "hello:1", sub)
        relay.answer_rcpt("slow@example.net", *["451 4.4.1 later"] * 20)
        sender = OutboxSender(rt)
        attempts = 0
        while rows(rt)[0].state is OutboxState.QUEUED and attempts < 20:
            clock.now = max(clock.now, rows(rt)[0].next_attempt_at)
            sender.run_once()
            attempts += 1
        sender.close()
        (row,) = rows(rt)
        assert row.state is OutboxState.FAILED
        assert row.last_error and row.last_error.startswith("gave up after")
        assert attempts == 4  # 0, +10 min, +20 min, +40 min capped at the hour
        assert (
            subscription(rt, sub).bounce_score == 1
        )  # a temporary failure, counted lightly
        assert relay.received == []
    finally:
        rt.close()


def test_rows_left_sending_by_a_dead_worker_are_released(
    db_url: str, make_settings: SettingsFactory, relay: CapturingRelay
) -> None:
    clock = Clock()
    rt = make_runtime(make_settings, db_url, relay=relay.settings(), clock=clock)
    try:
        for i in range(2):
            queue_hello(rt, f"p{i}@example.net", f"hello:{i}")
        with rt.sessions.begin() as s:
            assert len(claim_due(s, claimant="dead", now=clock(), limit=10)) == 2
        sender = OutboxSender(rt)
        assert sender.run_once().claimed == 0  # the lease still holds
        clock.advance(seconds=LEASE.total_seconds() + 1)
        assert sender.run_once().sent == 2
        sender.close()
        assert len(relay.received) == 2
    finally:
        rt.close()


def test_a_worker_looks_for_stale_rows_once_every_while(
    db_url: str, make_settings: SettingsFactory, relay: CapturingRelay
) -> None:
    """Not at every pass: the look reads every row left sending, dead or alive."""
    clock = Clock()
    rt = make_runtime(make_settings, db_url, relay=relay.settings(), clock=clock)
    try:
        queue_hello(rt, "p0@example.net", "hello:0")
        with rt.sessions.begin() as s:
            assert len(claim_due(s, claimant="dead", now=clock(), limit=10)) == 1
        every = RELEASE_EVERY.total_seconds()
        clock.advance(seconds=LEASE.total_seconds() - every / 4)
        sender = OutboxSender(rt)
        assert sender.run_once().claimed == 0  # it looked: the lease still holds
        clock.advance(seconds=every / 2)
        # The row is stale now, but this worker looked less than a while ago.
        assert sender.run_once().claimed == 0
        clock.advance(seconds=RELEASE_EVERY.total_seconds())
        assert sender.run_once().sent == 1
        sender.close()
        assert len(relay.received) == 1
    finally:
        rt.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_without_relay_mail_goes_to_the_maildir(
    db_url: str, make_settings: SettingsFactory
) -> None:
    rt = make_runtime(make_settings, db_url, relay=None)
    try:
        queue_hello(rt, "ana@example.net", "hello:1")
        sender = OutboxSender(rt)
        assert sender.drain().sent == 1
        sender.close()
        box = rt.settings.service.state_dir / "outbox"
        assert sorted(p.name for p in box.iterdir()) == ["cur", "new", "tmp"]
        assert list((box / "tmp").iterdir()) == []
        (path,) = list((box / "new").iterdir())
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert msg["Delivered-To"] == "ana@example.net"
        assert msg["Return-Path"].startswith("<skills-covid19-bounces+")
        assert msg["Message-ID"] == rows(rt)[0].message_id
        assert rows(rt)[0].state is OutboxState.SENT
    finally:
        rt.close()


def test_lines_starting_with_a_dot_arrive_unchanged(
    db_url: str, make_settings: SettingsFactory, either_relay: CapturingRelay
) -> None:
    relay = either_relay
    rt = make_runtime(make_settings, db_url, relay=relay.settings())
    try:
        raw = (
            b"From: skills-covid19@discuss.example.org\r\nTo: p@example.net\r\n"
            b"Subject: dots\r\nMessage-ID: <dots@discuss.example.org>\r\n\r\n"
            b".a line that starts with a dot\r\n.\r\n..two\r\nend"
        )
        row = OutgoingRow(
            dedupe_key="dots",
            kind="hello",
            recipient="p@example.net",
            envelope_from="skills-covid19-bounces@discuss.example.org",
            message_id="<dots@discuss.example.org>",
            raw=raw,
        )
        with rt.sessions.begin() as s:
            enqueue(s, [row], rt.clock())
        sender = OutboxSender(rt)
        assert sender.drain().sent == 1
        sender.close()
        (received,) = relay.received
        assert received.data == raw + b"\r\n"  # DATA ends with a line break
    finally:
        rt.close()
