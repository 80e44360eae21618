"""Post fan-outs: where queueing a post's copies has got to (see :class:`PostFanout`).

Publishing a post records one row here in the transaction that approves it;
the copies are then queued a chunk at a time, each chunk in a transaction of
its own that also moves the row's ``after`` on. :func:`advance` moves it only
from where the chunk started, so two workers that queued the same chunk
commit it once; the copies' dedupe keys make the other's rows no-ops anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from store.models import DeliveryMode, PostFanout, Subscription, SubscriptionStatus


@dataclass(frozen=True)
class Fanout:
    """A fan-out still to finish: its post and the subscriptions left, (after, upto]."""

    post_id: int
    after: int
    upto: int


def start_fanout(
    session: Session,
    post_id: int,
    discussion_id: int,
    modes: Sequence[DeliveryMode],
    now: datetime,
) -> bool:
    """Record that *post_id* goes to every active subscription in *modes* from now on.

    Runs in the caller's transaction; False when the post was published before.
    """
    upto = session.scalar(
        select(func.max(Subscription.id)).where(
            Subscription.discussion_id == discussion_id,
            Subscription.status == SubscriptionStatus.ACTIVE,
            Subscription.mode.in_(list(modes)),
        )
    )
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(PostFanout)
        .values(post_id=post_id, upto=upto or 0, after=0, started_at=now)
        .on_conflict_do_nothing(index_elements=["post_id"])
        .returning(PostFanout.post_id)
    )
    return session.execute(stmt).first() is not None


def unfinished(session: Session, limit: int = 100) -> list[Fanout]:
    """The fan-outs not finished yet, oldest post first."""
    stmt = (
        select(PostFanout.post_id, PostFanout.after, PostFanout.upto)
        .where(PostFanout.finished_at.is_(None))
        .order_by(PostFanout.post_id)
        .limit(limit)
    )
    return [Fanout(*row) for row in session.execute(stmt).all()]


def advance(
    session: Session, fanout: Fanout, to: int, *, finished: bool, now: datetime
) -> bool:
    """Move *fanout* on to subscription *to* (and finish it); False when another
    worker moved it first (the caller rolls back its chunk)."""
    stmt = (
        update(PostFanout)
        .where(
            PostFanout.post_id == fanout.post_id,
            PostFanout.after == fanout.after,
            PostFanout.finished_at.is_(None),
        )
        .values(after=to, finished_at=now if finished else None)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(session.execute(stmt), "rowcount", 0))
