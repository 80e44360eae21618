"""inbound: no message is parked any more; one left parked is taken like any new one

Earlier versions could park a NEW message whose address had no handler in
that version: ``error`` set, its attempt given back, skipped until the next
start released it. Every address has a handler now and the claim no longer
looks at ``error`` for NEW messages, so a parked row is made what it would
have become at the next start: NEW, never tried, no error, no kind.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 14:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_inbound = sa.table(
    "inbound_messages",
    sa.column("state", sa.String),
    sa.column("error", sa.Text),
    sa.column("kind", sa.String),
)


def upgrade() -> None:
    op.execute(
        _inbound.update()
        .where(_inbound.c.state == "new", _inbound.c.error.is_not(None))
        .values(error=None, kind=None)
    )


def downgrade() -> None:
    pass  # an unparked message is an ordinary NEW one: nothing to undo
