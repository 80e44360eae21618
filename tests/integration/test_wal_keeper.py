"""The write-ahead log of serve's SQLite file is checkpointed by a keeper thread,
never inside a commit (where the writers queued behind it would wait).

Real SQLite files in a temporary folder; the log's size on disk tells whether a
commit checkpointed: SQLite writes the log again from its start once a
checkpoint has copied all of it, so with checkpoints inside commits the file
never grows past what two commits wrote.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from mailer.inbound.runner import processing_engine
from store.db import make_engine
from store.wal import WalKeeper, leave_checkpoints_to_keeper, log_path
from tests.fixtures.settings import SettingsFactory

PAGE = 4096
ROWS_PER_COMMIT = 600  # about 600 pages of log each: SQLite checkpoints past 1,000


def _fill(engine: Engine, commits: int) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS filler (body BLOB)"))
    for _ in range(commits):
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO filler (body) VALUES (:body)"),
                [{"body": os.urandom(PAGE - 200)} for _ in range(ROWS_PER_COMMIT)],
            )


def _log_pages(engine: Engine) -> float:
    path = log_path(engine)
    assert path is not None
    return os.path.getsize(path) / PAGE


def _autocheckpoint(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def test_sqlite_checkpoints_inside_commits_by_default(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/plain.db")
    try:
        _fill(engine, 3)
        assert _autocheckpoint(engine) == 1000
        assert (
            _log_pages(engine) < 2.2 * ROWS_PER_COMMIT
        )  # restarted after a checkpoint
    finally:
        engine.dispose()


def test_left_to_the_keeper_no_commit_checkpoints_and_the_keeper_does(
    tmp_path: Path,
) -> None:
    database = tmp_path / "kept.db"
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:  # a connection opened before, pooled
            connection.exec_driver_sql("SELECT 1")
        assert leave_checkpoints_to_keeper(engine)
        assert _autocheckpoint(engine) == 0
        _fill(engine, 3)
        assert (
            _log_pages(engine) > 2.8 * ROWS_PER_COMMIT
        )  # every frame still in the log
        copied_before = database.stat().st_size
        keeper = WalKeeper(engine)
        assert keeper.check()  # the log changed: a checkpoint
        assert database.stat().st_size > copied_before + 2 * ROWS_PER_COMMIT * PAGE
        assert not keeper.check()  # nothing written since: nothing to do
        _fill(engine, 1)
        # All of the log was copied: the commit wrote it again from its start.
        assert _log_pages(engine) < 3.2 * ROWS_PER_COMMIT
        assert keeper.check()
    finally:
        engine.dispose()


def test_the_keeper_thread_checkpoints_while_writers_write(tmp_path: Path) -> None:
    database = tmp_path / "busy.db"
    engine = make_engine(f"sqlite:///{database}")
    keeper = WalKeeper.start_for(engine)
    assert keeper is not None
    try:
        for n in range(1, 5):
            _fill(engine, 1)
            deadline = time.monotonic() + 10
            # The thread copies each commit's pages into the file within a look or two.
            while database.stat().st_size < n * ROWS_PER_COMMIT * PAGE:
                assert time.monotonic() < deadline, "the keeper did not checkpoint"
                time.sleep(0.05)
        assert _log_pages(engine) < 2.2 * ROWS_PER_COMMIT
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    finally:
        keeper.stop()
        engine.dispose()


def test_only_a_sqlite_file_has_a_keeper(tmp_path: Path) -> None:
    memory = make_engine("sqlite://")
    try:
        assert WalKeeper.start_for(memory) is None
        assert not leave_checkpoints_to_keeper(memory)
        with pytest.raises(ValueError):
            WalKeeper(memory)
    finally:
        memory.dispose()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_processing_children_leave_checkpoints_to_serve(
    make_settings: SettingsFactory, db_url: str
) -> None:
    engine = processing_engine(make_settings(db_url))
    try:
        assert _autocheckpoint(engine) == 0
    finally:
        engine.dispose()


def test_a_failing_checkpoint_is_told_once_and_its_end_too(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "away.db"
    engine = make_engine(f"sqlite:///{database}")
    keeper = WalKeeper(engine, every=0.02)
    try:
        _fill(engine, 1)  # a log to copy
        leave_checkpoints_to_keeper(engine)
        broken = OSError("disk away")

        def fails() -> bool:
            raise broken

        keeper.check = fails  # type: ignore[method-assign]
        with caplog.at_level(logging.INFO, logger="ediscuss.store"):
            keeper.start()
            time.sleep(0.3)  # some fifteen looks
            assert [r.levelname for r in caplog.records] == ["ERROR"]
            del keeper.check  # the class's own again
            deadline = time.monotonic() + 5
            while len(caplog.records) < 2:
                assert time.monotonic() < deadline
                time.sleep(0.02)
        assert "work again" in caplog.records[1].getMessage()
    finally:
        keeper.stop()
        engine.dispose()
