"""Rate limits every node shares: request counts per client and period, in the database.

A sliding window estimated from two fixed periods (the current one and the one
before, weighted by how much of it the window still covers): one UPSERT and
one indexed read per request, exact enough to stop a flood, and the same
answer on every node. Periods older than the one before are deleted as it goes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from store.models import RateCount
from store.writes import changed_rows, conflict_insert


def count_request(session: Session, key: str, now: datetime, seconds: int) -> float:
    """Count one request for *key*; the requests of the last *seconds* (this one included).

    The caller commits. Two nodes counting at once both count: the UPSERT is
    atomic on SQLite and PostgreSQL.
    """
    moment = now.timestamp()
    period = int(moment // seconds)
    table = RateCount.__table__
    stmt = (
        conflict_insert(session, RateCount)
        .values(key=key, period=period, count=1)
        .on_conflict_do_update(
            index_elements=["key", "period"], set_={"count": table.c.count + 1}
        )
        .returning(RateCount.count)
    )
    current = int(session.execute(stmt).scalar_one())
    before = session.scalar(
        select(RateCount.count).where(
            RateCount.key == key, RateCount.period == period - 1
        )
    )
    covered = 1.0 - (moment - period * seconds) / seconds
    return current + (before or 0) * covered


def forget_old_counts(session: Session, now: datetime, seconds: int) -> int:
    """Delete the counts of periods no window of *seconds* reaches any more; how many."""
    period = int(now.timestamp() // seconds)
    result = session.execute(delete(RateCount).where(RateCount.period < period - 1))
    return changed_rows(result)
