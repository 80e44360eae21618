"""The audit log: who did what, when, to what, and how they were authenticated."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.audit import record_audit
from store.models import AuditEntry, Discussion

__all__ = ["recent_audit", "record_audit"]


def recent_audit(
    session: Session, slug: str | None = None, limit: int = 20
) -> list[tuple[AuditEntry, str]]:
    """The newest entries, newest first, with their discussion's slug ('' for none)."""
    stmt = (
        select(AuditEntry, Discussion.slug)
        .outerjoin(Discussion, Discussion.id == AuditEntry.discussion_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    if slug is not None:
        stmt = stmt.where(Discussion.slug == slug)
    return [(entry, s or "") for entry, s in session.execute(stmt).all()]
