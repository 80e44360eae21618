"""moderator notices: who was told of which held post, and when each moderator was last mailed

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "moderator_notices",
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("moderator", sa.String(length=320), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("last_at", store.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["discussions.id"],
            name=op.f("fk_moderator_notices_discussion_id_discussions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "discussion_id", "moderator", name=op.f("pk_moderator_notices")
        ),
    )
    op.create_table(
        "held_notices",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("moderator", sa.String(length=320), nullable=False),
        sa.Column("notified_at", store.models.UTCDateTime(), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_held_notices_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("post_id", "moderator", name=op.f("pk_held_notices")),
    )


def downgrade() -> None:
    op.drop_table("held_notices")
    op.drop_table("moderator_notices")
