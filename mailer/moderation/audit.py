"""The audit log: who did what, when, to what, and how they were authenticated."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import AuditEntry, Discussion


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
            actor=actor[:320],
            action=action[:40],
            target=target[:400],
            detail=detail[:2000],
            auth=auth[:40],
        )
    )


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
