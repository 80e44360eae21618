"""The store's write plumbing on both databases: ON CONFLICT inserts and counts of changed rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from store.db import make_engine, make_sessionmaker
from store.models import Subscriber
from store.writes import changed_rows, conflict_insert

NOW = datetime(2027, 3, 27, 9, 0, tzinfo=UTC)


def test_conflict_insert_ignores_a_duplicate_and_counts_changes(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            stmt = (
                conflict_insert(session, Subscriber)
                .on_conflict_do_nothing(index_elements=["email"])
                .returning(Subscriber.id)
            )
            values = {"email": "ana@example.net", "created_at": NOW}
            first = session.scalar(stmt.values(**values))
            again = session.scalar(stmt.values(**values))
            assert first is not None and again is None
            result = session.execute(
                update(Subscriber)
                .where(Subscriber.email.in_(["ana@example.net", "nobody@example.net"]))
                .values(name="Ana")
            )
            assert changed_rows(result) == 1
            with pytest.raises(TypeError):
                changed_rows(session.execute(select(Subscriber)))
    finally:
        engine.dispose()


def test_conflict_insert_by_dialect_name() -> None:
    assert isinstance(conflict_insert("postgresql", Subscriber), postgresql.Insert)
    assert isinstance(conflict_insert("sqlite", Subscriber), sqlite.Insert)
