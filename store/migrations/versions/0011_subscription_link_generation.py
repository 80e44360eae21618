"""subscription link generation: unsubscribe and manage links die with the subscription run

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 14:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite allows NOT NULL with a default): a batch copy
    # of the table would have to reflect its expression index.
    op.add_column(
        "subscriptions",
        sa.Column("link_generation", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("subscriptions", "link_generation")  # SQLite 3.35 and later
