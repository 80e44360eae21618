"""What every command and worker shares: settings, the store, the signing key and the clock.

Nothing here runs: :mod:`mailer.serve` starts the listeners and workers around one
:class:`Runtime`, and each of them is handed the parts it needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from mailer.clock import Clock, system_clock
from mailer.config import Settings
from mailer.core.errors import EdiscussError
from mailer.keys import load_signing_key
from mailer.wakes import Wakes
from store.db import (
    head_revision,
    make_engine,
    make_sessionmaker,
    stored_revision,
    upgrade_unless_current,
)
from store.discussions import DiscussionSpec, QuestionSpec, sync_discussions


class SchemaOutOfDate(EdiscussError, RuntimeError):
    """The database is behind the code's migrations; ``ediscuss db upgrade`` fixes it."""


@dataclass
class Runtime:
    """What every command and worker shares: settings, the store, the key, the clock and the wake-ups."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    key: bytes
    clock: Clock = field(default=system_clock)
    wakes: Wakes = field(default_factory=Wakes)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()


def open_runtime(
    settings: Settings, *, clock: Clock = system_clock, migrate: bool | None = None
) -> Runtime:
    """Connect to the store, migrate or check the schema, and sync the configured discussions.

    *migrate* None means: migrate SQLite automatically (the embedded default),
    and insist that PostgreSQL was upgraded with ``ediscuss db upgrade``.
    """
    settings.service.state_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database.url)
    is_sqlite = make_url(settings.database.url).get_backend_name() == "sqlite"
    if migrate or (migrate is None and is_sqlite):
        upgrade_unless_current(engine)
    elif stored_revision(engine) != head_revision():
        engine.dispose()
        raise SchemaOutOfDate(
            "the database schema is not up to date: run `ediscuss db upgrade`"
        )
    sessions = make_sessionmaker(engine)
    specs = [
        DiscussionSpec(
            d.slug, [QuestionSpec(q.number, q.week, q.release_at) for q in d.questions]
        )
        for d in settings.discussions
    ]
    with sessions.begin() as session:
        sync_discussions(session, specs, clock())
    return Runtime(
        settings, engine, sessions, load_signing_key(settings.service), clock
    )


# A background worker: runs until *stop* is set.
Worker = Callable[[Runtime, asyncio.Event], Coroutine[Any, Any, None]]
