"""shared outbox bodies; subscribers looked up by lower(email) through an index

A mail to many recipients stores its shared body once in outbox_bodies; its
outbox rows keep the personal bytes in raw and say where the body goes
(body_hash, body_at). Rows already queued keep their whole message in raw
with no body, which is how such a row is sent: nothing is rewritten.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 10:12:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_bodies",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("cuts", sa.Text(), nullable=False),
        sa.Column("created_at", store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_outbox_bodies")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("body_at", sa.Text(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_outbox_body_hash"), ["body_hash"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_body_hash_outbox_bodies"),
            "outbox_bodies",
            ["body_hash"],
            ["hash"],
        )
    # Not in a batch: on SQLite a batch rebuilds the table from what it
    # reflects, and an index on an expression is not reflected there.
    op.create_index(
        "ix_subscribers_lower_email",
        "subscribers",
        [sa.text("lower(email)")],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_subscribers_lower_email", table_name="subscribers")
    # Rows that share a body get their whole message back before it goes.
    connection = op.get_bind()
    bodies = sa.table(
        "outbox_bodies",
        sa.column("hash", sa.String),
        sa.column("content", sa.LargeBinary),
        sa.column("cuts", sa.Text),
    )
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer),
        sa.column("raw", sa.LargeBinary),
        sa.column("body_hash", sa.String),
        sa.column("body_at", sa.Text),
    )
    found = {
        key: _segments(content, cuts)
        for key, content, cuts in connection.execute(
            sa.select(bodies.c.hash, bodies.c.content, bodies.c.cuts)
        )
    }
    rows = connection.execute(
        sa.select(
            outbox.c.id, outbox.c.raw, outbox.c.body_hash, outbox.c.body_at
        ).where(outbox.c.body_at.is_not(None))
    ).all()
    for row_id, raw, key, at in rows:
        segments = found.get(key) if key is not None else None
        if segments is None:  # sent, body pruned: only the personal bytes are left
            continue
        connection.execute(
            sa.update(outbox)
            .where(outbox.c.id == row_id)
            .values(raw=_whole(raw, at, segments))
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_body_hash_outbox_bodies"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_outbox_body_hash"))
        batch_op.drop_column("body_at")
        batch_op.drop_column("body_hash")
    op.drop_table("outbox_bodies")


def _segments(content: bytes, cuts: str) -> list[bytes]:
    starts = [0, *(int(c) for c in cuts.split(",") if c)]
    ends = [*starts[1:], len(content)]
    return [content[a:b] for a, b in zip(starts, ends, strict=True)]


def _whole(raw: bytes, body_at: str, segments: list[bytes]) -> bytes:
    offsets = [int(n) for n in body_at.split(",") if n]
    parts, start = [], 0
    for at, segment in zip(offsets, segments, strict=True):
        parts += [raw[start:at], segment]
        start = at
    parts.append(raw[start:])
    return b"".join(parts)
