"""Audit rows: who did what, when, to what, and how they were authenticated."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Session

from store.models import AuditEntry

# Each text cut to its column's width, so that a long address or reason
# never fails the action it records (PostgreSQL refuses what SQLite keeps);
# an unbounded column (the detail) keeps a line's worth, not a whole mail.
_WIDTHS = {
    column.name: column.type.length or 2000
    for column in AuditEntry.__table__.columns
    if isinstance(column.type, String)
}


def _fit(column: str, value: str) -> str:
    return value[: _WIDTHS[column]]


def record_audit(
    session: Session,
    *,
    discussion_id: int | None,
    actor: str,
    action: str,
    target: str = "",
    detail: str = "",
    auth: str,
    now: datetime,
) -> None:
    """Add one entry in the caller's transaction (so it exists iff the action does)."""
    session.add(
        AuditEntry(
            discussion_id=discussion_id,
            at=now,
            actor=_fit("actor", actor),
            action=_fit("action", action),
            target=_fit("target", target),
            detail=_fit("detail", detail),
            auth=_fit("auth", auth),
        )
    )
