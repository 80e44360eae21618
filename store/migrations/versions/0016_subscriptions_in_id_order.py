"""subscriptions in id order: a fan-out's page of recipients reads only its rows

A post's copies are queued 50 subscriptions at a time, each page asked as
"active, mode each, id > the last one, by id". The index on (discussion_id,
status, mode) found every matching subscription and the page was sorted out
of them: 1,000 rows read for each 50 on a list of 1,000, so a post cost
rows read in proportion to the square of the list. With id as the index's
last column a page is a range of it, read in order.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 19:45:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_subscriptions_discussion_id_status_mode_id",
        "subscriptions",
        ["discussion_id", "status", "mode", "id"],
    )
    op.drop_index("ix_subscriptions_discussion_id_status_mode", "subscriptions")


def downgrade() -> None:
    op.create_index(
        "ix_subscriptions_discussion_id_status_mode",
        "subscriptions",
        ["discussion_id", "status", "mode"],
    )
    op.drop_index("ix_subscriptions_discussion_id_status_mode_id", "subscriptions")
