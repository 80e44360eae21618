"""Engine and session set-up for SQLite and PostgreSQL, and schema migrations.

SQLite runs with WAL, foreign keys on and ``synchronous=FULL`` (a 250 means the
bytes are on disk), and a busy timeout so two processes can share the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_CACHE_KIB = 512  # a SQLite connection's own page cache


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Each connection keeps its own page cache (2 MB by default), and serve
    # holds several: the listener's, the outbox's, the web's and the
    # scheduler's. The file's pages stay in the system's cache for them all.
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for *url*; creates the folder of a SQLite file when missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)  # a restarted PostgreSQL is reconnected to
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (we hand them to pure code)."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at this package's migrations and *url*."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to *revision* on *engine*'s database."""
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


_REVISION = re.compile(r'^revision(?:: str)? = "([^"]+)"$', re.MULTILINE)
_DOWN = re.compile(
    r'^down_revision(?:: str \| None)? = (?:"([^"]+)"|None)$', re.MULTILINE
)


def head_revision() -> str:
    """The newest migration, read from the version files' ``revision`` lines.

    Alembic and the Mako templates it brings take some 11 MB a process; a
    service that starts on a database already at the head (every start but
    the first after an upgrade) need not load them to learn so.
    """
    revisions: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text("utf-8")
        found, down = _REVISION.search(source), _DOWN.search(source)
        if found is None or down is None:
            raise RuntimeError(f"{path.name}: no revision or down_revision line")
        revisions[found.group(1)] = down.group(1)
    heads = set(revisions) - set(revisions.values())
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def stored_revision(engine: Engine) -> str | None:
    """The revision the database is at (Alembic's table, read with plain SQL), or None."""
    with engine.connect() as connection:
        try:
            rows = connection.execute(
                text("SELECT version_num FROM alembic_version")
            ).all()
        except DBAPIError:  # no such table: never migrated
            return None
    return str(rows[0][0]) if len(rows) == 1 else None


def upgrade_unless_current(engine: Engine) -> bool:
    """Upgrade *engine*'s database to the head unless it is there already; True if it ran."""
    if stored_revision(engine) == head_revision():
        return False
    upgrade(engine)
    return True
