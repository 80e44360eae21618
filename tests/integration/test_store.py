"""The schema on both databases: migrations, model agreement, and exactly-once storage."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, inspect, select

from store.db import (
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    make_sessionmaker,
    stored_revision,
    upgrade,
    upgrade_unless_current,
)
from store.discussions import (
    DiscussionSpec,
    QuestionSpec,
    questions_of,
    sync_discussions,
)
from store.inbox import pending_inbound_ids, store_inbound
from store.models import (
    Base,
    DeliveryMode,
    Discussion,
    InboundMessage,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from store.outbox import iter_recipients
from store.search import is_search_object

NOW = datetime(2027, 3, 27, 8, 0, tzinfo=UTC)


def test_upgrade_from_empty_to_head(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        tables = set(inspect(engine).get_table_names())
        assert {t.name for t in Base.metadata.sorted_tables} <= tables
        upgrade(engine)  # a second upgrade is a no-op
    finally:
        engine.dispose()


def test_head_read_from_the_files_is_alembics_head() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revision() == scripts.get_current_head()


def test_upgrade_unless_current_reads_the_revision_without_alembic(
    empty_db_url: str,
) -> None:
    engine = make_engine(empty_db_url)
    try:
        assert stored_revision(engine) is None
        upgrade(engine, "0001")
        assert stored_revision(engine) == current_revision(engine) == "0001"
        assert upgrade_unless_current(engine) is True
        assert stored_revision(engine) == current_revision(engine) == head_revision()
        assert upgrade_unless_current(engine) is False
    finally:
        engine.dispose()


def test_models_and_migrations_agree(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn, warnings.catch_warnings():
            if conn.dialect.name == "sqlite":
                # SQLite cannot reflect an index on an expression: compared below.
                for text in EXPRESSION_INDEX_WARNINGS:
                    warnings.filterwarnings("ignore", message=text)
            ctx = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    # The search index (migration 0012) is no model: its own test.
                    "include_name": lambda name, kind, parent: (
                        not is_search_object(name)
                    ),
                },
            )
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == []
        if engine.dialect.name == "sqlite":  # indexes on an expression, by their SQL
            with engine.connect() as conn:
                found: dict[str, str] = dict(
                    conn.exec_driver_sql(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                        "AND sql LIKE '%(%(%'"
                    ).all()
                )
            assert found == {
                "ix_subscribers_lower_email": "CREATE INDEX ix_subscribers_lower_email "
                "ON subscribers (lower(email))"
            }
    finally:
        engine.dispose()


EXPRESSION_INDEX_WARNINGS = [
    "Skipped unsupported reflection of expression-based index ix_subscribers_lower_email",
    (
        "autogenerate skipping metadata-specified expression-based index "
        "'ix_subscribers_lower_email'"
    ),
]


def test_sync_discussions_is_idempotent_and_keeps_state(db_url: str) -> None:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    spec = DiscussionSpec("d1", [QuestionSpec(1, 1, NOW), QuestionSpec(2, 1, NOW)])
    try:
        with sessions.begin() as s:
            sync_discussions(s, [spec], NOW)
        with sessions.begin() as s:
            questions_of(s, "d1")[0].released_at = NOW
        later = NOW.replace(hour=9)
        with sessions.begin() as s:
            sync_discussions(
                s,
                [
                    DiscussionSpec(
                        "d1",
                        [
                            QuestionSpec(1, 1, later),
                            QuestionSpec(2, 1, NOW),
                            QuestionSpec(3, 2, NOW),
                        ],
                    )
                ],
                NOW,
            )
        with sessions() as s:
            qs = questions_of(s, "d1")
            assert [q.number for q in qs] == [1, 2, 3]
            assert qs[0].released_at == NOW and qs[0].release_at == later
            assert qs[0].release_at.tzinfo is not None
    finally:
        engine.dispose()


def test_inbound_message_is_stored_once(db_url: str) -> None:
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    kwargs = {
        "raw": b"Message-ID: <a@b>\r\n\r\nhi\r\n",
        "dedupe_key": "mid:<a@b>",
        "message_id": "<a@b>",
        "envelope_from": "ana@example.com",
        "envelope_to": ["x@y"],
        "received_via": "smtp",
        "peer": "127.0.0.1",
        "now": NOW,
    }
    try:
        with sessions.begin() as s:
            first = store_inbound(s, **kwargs)  # type: ignore[arg-type]
        with sessions.begin() as s:
            second = store_inbound(s, **{**kwargs, "received_via": "imap"})  # type: ignore[arg-type]
        assert not first.duplicate and second.duplicate
        assert first.inbound_id == second.inbound_id
        with sessions() as s:
            rows = list(s.scalars(select(InboundMessage)))
            assert (
                len(rows) == 1
                and rows[0].received_via == "smtp"
                and rows[0].raw.endswith(b"hi\r\n")
            )
            assert pending_inbound_ids(s) == [first.inbound_id]
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_page_of_recipients_is_a_range_of_an_index(db_url: str) -> None:
    """A fan-out's keyset page reads its rows in index order, sorting nothing.

    SQLite ends every index with the rowid; PostgreSQL's indexes hold only
    their columns, so without id in the index a page sorted every match.
    """
    engine = make_engine(db_url)
    asked: list[tuple[str, object]] = []

    def capture(
        conn: object, cursor: object, sql: str, params: object, *a: object
    ) -> None:
        if "FROM subscriptions" in sql:
            asked.append((sql, params))

    now = datetime.now(UTC)
    try:
        with make_sessionmaker(engine).begin() as session:
            disc = Discussion(slug="many-readers", created_at=now)
            session.add(disc)
            session.flush()
            for n in range(3000):
                person = Subscriber(email=f"r{n}@example.net", created_at=now)
                session.add(person)
                session.flush()
                session.add(
                    Subscription(
                        discussion_id=disc.id,
                        subscriber_id=person.id,
                        status=SubscriptionStatus.ACTIVE,
                        mode=DeliveryMode.DIGEST if n % 10 else DeliveryMode.EACH,
                        language="en",
                        created_at=now,
                    )
                )
            discussion_id = disc.id
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE subscriptions")
        event.listen(engine, "before_cursor_execute", capture)
        with make_sessionmaker(engine)() as session:
            found = list(
                iter_recipients(
                    session, discussion_id, [DeliveryMode.EACH], page=50, after=700
                )
            )
        event.remove(engine, "before_cursor_execute", capture)
        assert len(found) > 200 and found[0].subscription_id > 700
        sql, params = asked[0]
        with engine.connect() as conn:
            plan = "\n".join(
                str(row[0])
                for row in conn.exec_driver_sql(f"EXPLAIN {sql}", params)  # type: ignore[arg-type]
            )
        assert "ix_subscriptions_discussion_id_status_mode_id" in plan, plan
        assert "Sort" not in plan, plan  # no sort of all the matches
    finally:
        engine.dispose()
