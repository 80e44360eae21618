"""database.processing_commits: what the processing children's and the outbox marks' connections say.

FAST (the default) lets those commits skip the flush (SQLite
``synchronous=NORMAL``, PostgreSQL ``synchronous_commit=off``); DURABLE keeps
the flush every other connection has (``synchronous=FULL``, ``on``). The
connections are asked, on both databases.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Engine

from mailer.inbound.runner import processing_engine
from mailer.outbound.worker import OutboxSender
from mailer.runtime import open_runtime
from store.db import SQLITE_CACHE_KIB
from tests.fixtures.settings import SettingsFactory

# What each database reports: (fast, durable); SQLite's NORMAL is 1, FULL is 2.
EXPECTED = {"sqlite": ("1", "2"), "postgresql": ("off", "on")}


def _sync_level(connection: Connection) -> str:
    if connection.dialect.name == "sqlite":
        return str(connection.exec_driver_sql("PRAGMA synchronous").scalar())
    return str(connection.exec_driver_sql("SHOW synchronous_commit").scalar())


def _level(engine: Engine) -> str:
    with engine.connect() as connection:
        return _sync_level(connection)


@pytest.mark.parametrize("mode", ["fast", "durable"])
def test_processing_and_outbox_marks_follow_the_setting(
    make_settings: SettingsFactory, db_url: str, mode: str
) -> None:
    settings = make_settings(db_url, {"database": {"processing_commits": mode}})
    fast, durable = EXPECTED[db_url.split(":")[0].split("+")[0]]
    want = fast if mode == "fast" else durable
    runtime = open_runtime(settings)
    engine = processing_engine(settings)
    sender = OutboxSender(runtime)
    try:
        assert _level(engine) == want
        with sender.marks() as session:
            assert _sync_level(session.connection()) == want
        # The listener's and the claims' connections always wait for the disk.
        assert _level(runtime.engine) == durable
    finally:
        sender.close()
        engine.dispose()
        runtime.engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_sqlite_connection_keeps_a_small_page_cache(
    make_settings: SettingsFactory, db_url: str
) -> None:
    settings = make_settings(db_url)
    runtime = open_runtime(settings)
    engine = processing_engine(settings)
    try:
        for each in (runtime.engine, engine):
            with each.connect() as connection:
                size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            assert size == -SQLITE_CACHE_KIB  # KiB, not the default 2 MB
    finally:
        engine.dispose()
        runtime.engine.dispose()
