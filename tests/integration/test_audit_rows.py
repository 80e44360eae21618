"""Audit rows fit their columns whatever the caller hands in, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from store.audit import record_audit
from store.db import make_engine, make_sessionmaker
from store.models import AuditEntry

NOW = datetime(2027, 3, 27, 9, 0, tzinfo=UTC)


def test_long_values_are_cut_to_the_column_widths(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        sessions = make_sessionmaker(engine)
        long_address = "a" * 400 + "@example.net"
        with sessions.begin() as session:
            record_audit(
                session,
                discussion_id=None,
                actor=long_address,
                action="released-" * 10,
                target="q" * 500,
                detail="why " * 1000,
                auth="confirmed-by-reply-" * 5,
                now=NOW,
            )
        with sessions() as session:
            entry = session.scalars(select(AuditEntry)).one()
        assert entry.actor == long_address[:320]
        assert entry.action == ("released-" * 10)[:40]
        assert entry.target == "q" * 400
        assert entry.detail == ("why " * 1000)[:2000]
        assert len(entry.auth) == 40
    finally:
        engine.dispose()
