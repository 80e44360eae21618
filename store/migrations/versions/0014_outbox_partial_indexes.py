"""outbox partial indexes: claims and releases read only the rows of their state

The index on (state, next_attempt_at) held an entry for every version of every
row: queued, then sending, then sent, for each copy ever sent, until a VACUUM
removed those of dead versions. Releasing the rows a stopped worker left
sending read every 'sending' entry of that history, and then each one's row
from the table (a bitmap scan, which never learns that they are dead): after
300,000 copies, 255,000 entries and 45,000 table pages, about a second, at
every pass of every worker. A claim walked the dead 'queued' entries the same
way. It is replaced by two partial indexes, one on the due rows in the order
a claim takes them, one on the rows being sent: a row has one entry in each,
not three in one, and a sent row none at all.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 18:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DUE = "state = 'queued'"
_SENDING = "state = 'sending'"


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_state_next_attempt_at"))
        batch_op.create_index(
            batch_op.f("ix_outbox_next_attempt_at_id"),
            ["next_attempt_at", "id"],
            unique=False,
            postgresql_where=sa.text(_DUE),
            sqlite_where=sa.text(_DUE),
        )
        batch_op.create_index(
            batch_op.f("ix_outbox_claimed_at"),
            ["claimed_at"],
            unique=False,
            postgresql_where=sa.text(_SENDING),
            sqlite_where=sa.text(_SENDING),
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_claimed_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_next_attempt_at_id"))
        batch_op.create_index(
            batch_op.f("ix_outbox_state_next_attempt_at"),
            ["state", "next_attempt_at"],
            unique=False,
        )
