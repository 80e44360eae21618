"""Promise 8: exactly-once effects.

One post per message whatever the paths (parallel SMTP sessions, SMTP and
IMAP, retries); one digest and one announcement per subscriber with two
``serve`` processes on one PostgreSQL, and after a SIGKILL half-way through a
digest fan-out; a message the relay deferred is re-sent with its Message-ID.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser

import pytest
from sqlalchemy import insert, select, update

from mailer.runtime import Runtime
from store.models import (
    DeliveryMode,
    Discussion,
    DiscussionState,
    OutboxState,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from tests.fixtures.dovecot import DovecotServer
from tests.fixtures.relay import CapturingRelay
from tests.fixtures.schedule import add_post, discussion_id
from tests.fixtures.service import (
    DOMAIN,
    SLUG,
    ServiceFactory,
    address,
    finish,
    message,
    wait_until,
)

pytestmark = [pytest.mark.hardening, pytest.mark.xdist_group("hardening-once")]


@pytest.fixture
def relay() -> Iterator[CapturingRelay]:
    """A capturing relay on loopback."""
    r = CapturingRelay().start()
    yield r
    r.stop()


def _relay_env(relay: CapturingRelay) -> dict[str, str]:
    return {
        "EDISCUSS_RELAY_HOST": "127.0.0.1",
        "EDISCUSS_RELAY_PORT": str(relay.port),
        "EDISCUSS_RELAY_SECURITY": "none",
        "EDISCUSS_OUTBOX_BATCH_SIZE": "200",
    }


def test_parallel_sessions_and_retries_make_one_post(
    make_service: ServiceFactory,
) -> None:
    service = make_service()
    mid = "<parallel@example.net>"
    raw = message(message_id=mid)
    answers: list[int] = []
    barrier = threading.Barrier(8)

    def deliver() -> None:
        with service.smtp() as client:
            client.mail("ana@example.net")
            client.rcpt(address("+q1"))
            barrier.wait(10)
            answers.append(client.data(raw)[0])

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for _ in range(3):  # an MTA retrying after a lost answer
        service.accepted(raw)
    assert answers == [250] * 8
    service.processed(mid)
    assert len(service.inbound(mid)) == 1
    assert len(service.posts(mid)) == 1


@pytest.mark.imap
def test_smtp_and_imap_make_one_post(
    make_service: ServiceFactory, dovecot: DovecotServer
) -> None:
    folder = dovecot.new_folder()
    service = make_service(
        env={
            "EDISCUSS_IMAP_HOST": dovecot.host,
            "EDISCUSS_IMAP_PORT": str(dovecot.port),
            "EDISCUSS_IMAP_SECURITY": "none",
            "EDISCUSS_IMAP_USERNAME": dovecot.username,
            "EDISCUSS_IMAP_PASSWORD": dovecot.password,
            "EDISCUSS_IMAP_FOLDER": folder,
            "EDISCUSS_IMAP_POLL_SECONDS": "1",
        }
    )
    mids = [f"<both-{i}@example.net>" for i in range(3)]
    for mid in mids:
        raw = message(message_id=mid)
        dovecot.append(folder, raw)
        service.accepted(raw)
    wait_until(lambda: dovecot.count(folder, "UNSEEN") == 0, 60)
    for mid in mids:
        service.processed(mid)
        assert len(service.inbound(mid)) == 1
        assert len(service.posts(mid)) == 1


def _subscribe_many(rt: Runtime, prefix: str, count: int, mode: DeliveryMode) -> None:
    if count == 0:
        return
    now = datetime.now(UTC) - timedelta(days=5)
    did = discussion_id(rt)
    with rt.sessions.begin() as s:
        s.execute(
            insert(Subscriber),
            [
                {"email": f"{prefix}{i}@example.net", "name": "", "created_at": now}
                for i in range(count)
            ],
        )
        ids = s.scalars(
            select(Subscriber.id).where(Subscriber.email.like(f"{prefix}%"))
        ).all()
        s.execute(
            insert(Subscription),
            [
                {
                    "discussion_id": did,
                    "subscriber_id": sid,
                    "language": ("en", "es", "fr")[sid % 3],
                    "mode": mode,
                    "status": SubscriptionStatus.ACTIVE,
                    "created_at": now,
                    "confirmed_at": now,
                }
                for sid in ids
            ],
        )


def _due_setup(rt: Runtime, digest: int, announcements: int) -> None:
    """An open discussion with posts approved yesterday and week two due now."""
    now = datetime.now(UTC)
    with rt.sessions.begin() as s:
        s.execute(
            update(Discussion)
            .where(Discussion.slug == SLUG)
            .values(state=DiscussionState.OPEN, opened_at=now - timedelta(days=3))
        )
    for i, author in enumerate(("Ana Ruiz", "Kofi Mensah", "Lea Martin")):
        add_post(
            rt,
            i + 1,
            now - timedelta(days=1, hours=i),
            author=author,
            body=f"Contribution {i}.",
        )
    _subscribe_many(rt, "digest", digest, DeliveryMode.DIGEST)
    _subscribe_many(rt, "ann", announcements, DeliveryMode.ANNOUNCEMENTS)


def _week_two_now() -> dict[str, str]:
    past = (datetime.now(UTC) - timedelta(minutes=1)).strftime(
        "%Y-%m-%dT%H:%M:%S+00:00"
    )
    return {"release_at = 2027-04-03T09:00:00+02:00": f"release_at = {past}"}


def _per_recipient(relay: CapturingRelay) -> Counter[tuple[str, str]]:
    """(recipient, kind of mail) -> how many times the relay accepted it."""
    out: Counter[tuple[str, str]] = Counter()
    for r in list(relay.received):
        mid = str(BytesHeaderParser().parsebytes(r.data).get("Message-ID", ""))
        out[(r.rcpt_tos[0], mid.strip("<").split(".", 1)[0])] += 1
    return out


@pytest.mark.postgres
def test_two_nodes_on_one_postgresql_send_one_digest_and_one_announcement(
    make_service: ServiceFactory, relay: CapturingRelay, pg_server_url: str
) -> None:
    from tests.fixtures.database import _admin, _fresh_pg

    name, url = _fresh_pg(pg_server_url, None)
    a = make_service(
        start=False, db_url=url, env=_relay_env(relay), replace=_week_two_now()
    )
    b = make_service(
        start=False, db_url=url, env=_relay_env(relay), replace=_week_two_now()
    )
    try:
        _due_setup(a.runtime(), digest=300, announcements=300)
        a.start(wait=False)
        b.start(wait=False)
        a.wait_ready()
        b.wait_ready()

        def settled() -> bool:
            rows = a.outbox()
            return len(rows) >= 900 and all(r.state is OutboxState.SENT for r in rows)

        wait_until(settled, 120)
        time.sleep(1)  # a late duplicate would show now
        rows = a.outbox()
        keys = Counter(r.dedupe_key for r in rows)
        assert max(keys.values()) == 1
        kinds = Counter(r.kind for r in rows)
        assert kinds["digest"] == 300, kinds
        per = _per_recipient(relay)
        assert max(per.values()) == 1, [k for k, n in per.items() if n > 1][:5]
        digests = {rcpt for rcpt, kind in per if kind == "digest"}
        assert digests == {f"digest{i}@example.net" for i in range(300)}
        announced = {rcpt for rcpt, kind in per if kind not in ("digest",)}
        assert {f"ann{i}@example.net" for i in range(300)} <= announced
        assert a.log().count("digest") and b.log()
    finally:
        finish([a, b])
        _admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_sigkill_half_way_through_a_digest_fan_out(
    db_url: str, make_service: ServiceFactory, relay: CapturingRelay
) -> None:
    service = make_service(
        start=False, db_url=db_url, env=_relay_env(relay), replace=_week_two_now()
    )
    total = 500
    _due_setup(service.runtime(), digest=total, announcements=0)
    relay.slow_down(0.002)
    service.start()
    kills = 0
    deadline = time.monotonic() + 120
    while kills < 2 and time.monotonic() < deadline:
        sent = len(relay.received)
        queued = len(service.outbox("digest"))
        if (kills == 0 and 0 < queued) or (kills == 1 and sent > 50):
            service.kill()
            kills += 1
            service.start()
        time.sleep(0.05)
    assert kills == 2

    def done() -> bool:
        rows = service.outbox("digest")
        return len(rows) == total and all(r.state is OutboxState.SENT for r in rows)

    wait_until(done, 180)
    per = _per_recipient(relay)
    digests = Counter({k: n for k, n in per.items() if k[1] == "digest"})
    assert {rcpt for rcpt, _ in digests} == {
        f"digest{i}@example.net" for i in range(total)
    }
    # A kill may cut the one message on the wire: re-sent at most once per kill.
    assert sum(n - 1 for n in digests.values()) <= kills


def test_a_deferred_mail_is_re_sent_with_its_message_id(
    make_service: ServiceFactory, relay: CapturingRelay
) -> None:
    service = make_service(env=_relay_env(relay))
    _subscribe_many(service.runtime(), "slow-reader", 1, DeliveryMode.EACH)
    reader = "slow-reader0@example.net"
    relay.answer_rcpt(reader, "451 4.3.0 try again", "451 4.3.0 again")
    mid = "<resent@example.net>"
    service.accepted(message(message_id=mid))
    service.processed(mid)

    def sent() -> bool:
        rows = [r for r in service.outbox("post") if r.recipient == reader]
        return bool(rows) and rows[0].state is OutboxState.SENT

    wait_until(sent, 60)
    (row,) = [r for r in service.outbox("post") if r.recipient == reader]
    assert row.attempts >= 3
    (copy,) = [r for r in relay.received if r.rcpt_tos == (reader,)]
    got = str(BytesHeaderParser().parsebytes(copy.data)["Message-ID"])
    # Fixed when the mail was queued: every attempt carries the same one.
    assert got == row.message_id
    assert row.message_id.endswith(f"@{DOMAIN}>") or row.message_id == mid
