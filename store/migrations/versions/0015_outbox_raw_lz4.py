"""outbox raw lz4: PostgreSQL compresses a row's personal bytes with lz4, not pglz

A queued copy's personal bytes (headers, unsubscribe lines, MIME
boundaries: about 1.9 KB) push its row past the 2 KB at which PostgreSQL
compresses it, and pglz did so at every INSERT: 36 us a row where lz4
takes 18 us, for the same size (20,000 copies' rows, 52 MB either way).
Only values stored from now on are affected. A server built without lz4
keeps pglz; SQLite does not compress.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 18:25:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_lz4() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    values = bind.exec_driver_sql(
        "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"
    ).scalar()
    return values is not None and "lz4" in values


def upgrade() -> None:
    if _has_lz4():
        op.execute("ALTER TABLE outbox ALTER COLUMN raw SET COMPRESSION lz4")


def downgrade() -> None:
    if _has_lz4():
        op.execute("ALTER TABLE outbox ALTER COLUMN raw SET COMPRESSION pglz")
