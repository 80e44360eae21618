"""post fan-outs: a post's copies are queued in chunks, each its own transaction

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 12:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "post_fanouts",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("upto", sa.Integer(), nullable=False),
        sa.Column("after", sa.Integer(), nullable=False),
        sa.Column("started_at", store.models.UTCDateTime(), nullable=False),
        sa.Column("finished_at", store.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_post_fanouts_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_post_fanouts")),
    )
    op.create_index(
        op.f("ix_post_fanouts_finished_at"),
        "post_fanouts",
        ["finished_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_post_fanouts_finished_at"), table_name="post_fanouts")
    op.drop_table("post_fanouts")
