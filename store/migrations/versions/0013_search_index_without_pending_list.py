"""post search: PostgreSQL's GIN index updated at once, without a pending list

GIN's "fast update" keeps new entries in an unsorted pending list until a
vacuum (or 4 MB of them) merges it, and every search reads that whole list:
after 100,000 posts it held 7,728 entries and took three quarters of a
three-word search's index scan (34 ms; 9 ms once merged). Posts are approved one at a
time, so indexing each in place costs nothing a reader would notice. The
pending list left by earlier versions is merged now. Nothing changes on SQLite.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 17:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER INDEX ix_post_search_document SET (fastupdate = off)")
    op.execute("SELECT gin_clean_pending_list('ix_post_search_document'::regclass)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER INDEX ix_post_search_document RESET (fastupdate)")
