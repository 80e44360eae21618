"""Shared bodies on both databases: stored once, sent byte for byte, pruned when done."""

from __future__ import annotations

import types
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from alembic import command
from sqlalchemy import event, func, insert, select, text

from mailer.config.settings import DiscussionSettings, Settings
from mailer.core.digest import DigestPlan
from mailer.mailings.digests import digest_context
from mailer.outbound.bulk import SharedMail, personal_values
from mailer.outbound.dates import LocalDates
from mailer.outbound.mailing import build_row
from mailer.outbound.worker import OutboxSender
from mailer.runtime import Runtime
from store.assembly import SharedBody
from store.bodies import prune_bodies
from store.db import alembic_config, make_engine, make_sessionmaker, upgrade
from store.models import OutboxBody, OutboxMessage, OutboxState
from store.outbox import (
    OutboxRecipient,
    OutgoingRow,
    claim_due,
    enqueue,
    mark_failed,
    mark_sent,
)
from tests.digest_plans import awkward_plan, digest_outgoing
from tests.fixtures.relay import CapturingRelay
from tests.fixtures.settings import SettingsFactory
from tests.integration.outbound_setup import (
    START,
    add_subscriber,
    discussion_id,
    make_runtime,
    queue_hello,
    rows,
)

READERS = [
    ("ana@example.net", "Ana Ruiz", "en"),
    ("bo@example.org", 'Bö Chen, "the" <trainer>', "en"),
    ("carla@example.es", "Carla Gómez", "es"),
    ("didier@example.fr", "Didier Lefèvre", "fr"),
    ("eve@example.net", "", "fr"),
]


@pytest.fixture
def fixed_boundary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Compose's one random value, the MIME boundary, made the same for every message."""
    monkeypatch.setattr(
        "mailer.outbound.compose.secrets",
        types.SimpleNamespace(token_hex=lambda n: "b0" * n),
    )


def _plan(discussion: DiscussionSettings, language: str) -> DigestPlan:
    return awkward_plan(discussion, language, START, posts=39)


def _digest_rows(rt: Runtime) -> list[tuple[OutgoingRow, bytes]]:
    """Each reader's digest the shared way, beside the whole message rendered for them alone."""
    settings: Settings = rt.settings
    disc = settings.discussions[0]
    did = discussion_id(rt)
    shared: dict[str, SharedMail] = {}
    out = []
    for email, name, language in READERS:
        sub_id = add_subscriber(rt, email, language=language, name=name)
        plan = _plan(disc, language)
        context = digest_context(plan, LocalDates(language, disc.time_zone))
        if language not in shared:
            shared[language] = SharedMail(settings, disc, "digest", language, context)
        reader = (sub_id, email, name)
        links = personal_values(
            settings, rt.key, OutboxRecipient(*reader, language), START
        )
        mail = digest_outgoing(settings, language, context, reader, links)
        whole = build_row(settings, rt.key, disc, did, mail, START).raw
        row = shared[language].row(settings, rt.key, disc, did, mail, links, START)
        out.append((row, whole))
    return out


@pytest.mark.usefixtures("fixed_boundary")
def test_shared_bodies_reach_the_relay_byte_for_byte(
    db_url: str, make_settings: SettingsFactory, relay: CapturingRelay
) -> None:
    rt = make_runtime(make_settings, db_url, relay=relay.settings())
    try:
        made = _digest_rows(rt)
        expected = {row.recipient: whole for row, whole in made}
        with rt.sessions.begin() as s:
            assert enqueue(s, [row for row, _ in made], START) == len(made)
        queue_hello(rt, "solo@example.net", "hello:solo")  # a single mail, whole
        with rt.sessions() as s:
            assert s.scalar(select(func.count()).select_from(OutboxBody)) == 3
            stored = {r.recipient: r for r in s.scalars(select(OutboxMessage))}
        for recipient, whole in expected.items():
            row = stored[recipient]
            assert row.body_hash is not None and len(row.raw) * 4 < len(whole)
            assert row.whole() == whole
        assert stored["solo@example.net"].body_hash is None

        sender = OutboxSender(rt)
        report = sender.drain()
        sender.close()
        assert report.sent == len(expected) + 1
        got = {r.rcpt_tos[0]: r.data for r in relay.received}
        for recipient, whole in expected.items():
            assert got[recipient] == whole, recipient
        assert got["solo@example.net"] == stored["solo@example.net"].raw
    finally:
        rt.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.usefixtures("fixed_boundary")
def test_the_maildir_gets_the_same_bytes(
    db_url: str, make_settings: SettingsFactory
) -> None:
    rt = make_runtime(make_settings, db_url)
    try:
        made = _digest_rows(rt)
        with rt.sessions.begin() as s:
            enqueue(s, [row for row, _ in made], START)
        sender = OutboxSender(rt)
        assert sender.drain().sent == len(made)
        sender.close()
        folder = rt.settings.service.state_dir / "outbox" / "new"
        files = {}
        for path in folder.iterdir():
            _, delivered, body = path.read_bytes().split(b"\n", 2)
            files[delivered.removeprefix(b"Delivered-To: ").decode()] = body
        for row, whole in made:
            assert files[row.recipient] == whole.replace(b"\r\n", b"\n")
    finally:
        rt.close()


def test_worker_reads_each_body_once(
    db_url: str, make_settings: SettingsFactory, relay: CapturingRelay
) -> None:
    rt = make_runtime(make_settings, db_url, relay=relay.settings())
    reads: list[str] = []

    def count(_c: object, _cur: object, statement: str, *_a: object) -> None:
        if statement.startswith("SELECT outbox_bodies.hash, outbox_bodies.content"):
            reads.append(statement)

    try:
        made = _digest_rows(rt)
        with rt.sessions.begin() as s:
            enqueue(s, [row for row, _ in made], START)
        event.listen(rt.engine, "after_cursor_execute", count)
        sender = OutboxSender(rt)
        for _ in range(len(made)):
            assert sender.run_once(limit=1).sent == 1
        sender.close()
        assert len(reads) == 3  # one per language, not one per message
    finally:
        event.remove(rt.engine, "after_cursor_execute", count)
        rt.close()


def test_bodies_are_stored_once_and_pruned_when_only_sent_mail_used_them(
    db_url: str, make_settings: SettingsFactory
) -> None:
    rt = make_runtime(make_settings, db_url)
    try:
        made = [row for row, _ in _digest_rows(rt)]
        english = [r for r in made if r.body is made[0].body]
        others = [r for r in made if r.body is not made[0].body]
        with rt.sessions.begin() as s:
            assert enqueue(s, english, START) == 2
        with rt.sessions.begin() as s:
            assert enqueue(s, made, START) == len(others)  # dedupe keys hold
        with rt.sessions() as s:
            assert s.scalar(select(func.count()).select_from(OutboxBody)) == 3
            ids = {r.recipient: r.id for r in s.scalars(select(OutboxMessage))}

        later = START + timedelta(hours=2)

        def prune(before: datetime) -> int:
            with rt.sessions.begin() as s:
                return prune_bodies(s, before=before)

        assert prune(later) == 0  # everything still queued
        with rt.sessions.begin() as s:
            for row in made:
                if row.recipient != "bo@example.org":
                    mark_sent(s, ids[row.recipient], now=later)
            mark_failed(s, ids["bo@example.org"], error="550 no")
        assert prune(later) == 2  # es and fr; en kept for its failed row
        with rt.sessions.begin() as s:
            mark_sent(s, ids["bo@example.org"], now=later)
        assert prune(START) == 0  # a body queued since *before* is left alone
        assert prune(later) == 1
        with rt.sessions() as s:
            assert s.scalar(select(func.count()).select_from(OutboxBody)) == 0
        left = {r.recipient: r for r in rows(rt)}
        assert all(r.body_hash is None and r.body_at for r in left.values())
        with pytest.raises(LookupError):
            left["ana@example.net"].whole()
        assert left["ana@example.net"].raw == made[0].raw  # the personal bytes stay

        # The same body queued again (new keys) is stored again and sendable.
        again = [
            OutgoingRow(**{**vars(r), "dedupe_key": r.dedupe_key + ":again"})
            for r in english
        ]
        with rt.sessions.begin() as s:
            assert enqueue(s, again, later) == 2
        fresh = [r for r in rows(rt) if r.dedupe_key.endswith(":again")]
        assert [r.whole() for r in fresh] == [r.whole() for r in english]
    finally:
        rt.close()


def test_queued_whole_messages_survive_the_migration(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    sessions = make_sessionmaker(engine)
    raw = b"Subject: queued before\r\n\r\nstill here\r\n"
    try:
        upgrade(engine, "0004")
        with engine.begin() as c:  # only the columns the outbox had then
            c.execute(
                insert(OutboxMessage).values(
                    dedupe_key="old:1",
                    kind="hello",
                    recipient="ana@example.net",
                    envelope_from="b@x.org",
                    message_id="<1@x>",
                    raw=raw,
                    created_at=START,
                    next_attempt_at=START,
                )
            )
        upgrade(engine)
        with sessions.begin() as s:
            (claimed,) = claim_due(s, claimant="w", now=START, limit=5)
            assert claimed.body is None and claimed.whole() == raw

        # And back: a row sharing a body gets its whole message again.
        shared = b"the shared part\r\n"
        with engine.begin() as c:
            c.execute(
                insert(OutboxBody).values(
                    hash="h" * 64, content=shared, cuts="", created_at=START
                )
            )
            c.execute(
                insert(OutboxMessage).values(
                    dedupe_key="new:1",
                    kind="post",
                    recipient="bo@example.net",
                    envelope_from="b@x.org",
                    message_id="<2@x>",
                    raw=b"Subject: s\r\n\r\n",
                    body_hash="h" * 64,
                    body_at="14",
                    state=OutboxState.QUEUED,
                    attempts=0,
                    created_at=START,
                    next_attempt_at=START,
                )
            )
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as c:
            cfg.attributes["connection"] = c
            command.downgrade(cfg, "0004")
        with engine.connect() as c:
            found: dict[str, bytes] = dict(
                c.execute(text("SELECT dedupe_key, raw FROM outbox")).all()
            )
        assert found == {"old:1": raw, "new:1": b"Subject: s\r\n\r\n" + shared}
    finally:
        engine.dispose()


def test_prune_keeps_a_body_a_failed_row_may_still_send(
    db_url: str, make_settings: SettingsFactory
) -> None:
    rt = make_runtime(make_settings, db_url)
    try:
        row, _ = _digest_rows(rt)[0]
        with rt.sessions.begin() as s:
            enqueue(s, [row], START)
        (stored,) = rows(rt)
        with rt.sessions.begin() as s:
            mark_failed(s, stored.id, error="550 5.1.1 gone")
            assert prune_bodies(s, before=START + timedelta(days=30)) == 0
        assert rows(rt)[0].whole() == row.whole()
    finally:
        rt.close()


def test_a_mixed_batch_claims_whole_and_shared_rows_alike(db_url: str) -> None:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    body = SharedBody((b"one\r\n", b"two\r\n"))
    now = datetime(2027, 3, 28, 17, 0, tzinfo=UTC)
    row = partial(OutgoingRow, kind="t", envelope_from="b@x.org", message_id="<m@x>")
    try:
        with sessions.begin() as s:
            enqueue(
                s,
                [
                    row(
                        dedupe_key="a",
                        recipient="a@x.org",
                        raw=b"H: a\r\n\r\n--\r\n",
                        body=body,
                        body_at=(8, 12),
                    ),
                    row(dedupe_key="b", recipient="b@x.org", raw=b"whole\r\n"),
                ],
                now,
            )
        with sessions.begin() as s:
            a, b = claim_due(s, claimant="w", now=now, limit=5)
        assert a.whole() == b"H: a\r\n\r\none\r\n--\r\ntwo\r\n"
        assert b.whole() == b"whole\r\n"
    finally:
        engine.dispose()
