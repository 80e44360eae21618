"""thread waits: a reply stored before its parent moves under it when it arrives

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "thread_waits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["discussions.id"],
            name=op.f("fk_thread_waits_discussion_id_discussions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_thread_waits_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thread_waits")),
    )
    with op.batch_alter_table("thread_waits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_thread_waits_discussion_id_message_id"),
            ["discussion_id", "message_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_thread_waits_post_id"), ["post_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("thread_waits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_thread_waits_post_id"))
        batch_op.drop_index(batch_op.f("ix_thread_waits_discussion_id_message_id"))
    op.drop_table("thread_waits")
