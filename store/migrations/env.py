"""Alembic environment: runs on a connection handed in by store.db, or a URL."""

from alembic import context
from sqlalchemy import create_engine

from store.models import Base
from store.search import is_search_object

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # The search index is the database's own (FTS5, tsvector), not a model.
        include_name=lambda name, kind, parent: not is_search_object(name),
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)
