"""posts by sender: the sender lookups of inbound processing use an index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 22:49:10.764960
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_posts_discussion_id_author_email"),
            ["discussion_id", "author_email"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_posts_discussion_id_author_email"))
