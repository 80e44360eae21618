"""What moderators were told of held posts, and when they were last mailed.

Read by the moderation queue to plan notices and summaries
(:mod:`mailer.core.modnotices`); written in the same transaction as the mail
it records, so a notice is recorded exactly when it is queued.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from store.models import HeldNotice, ModeratorNotice, Post, PostStatus
from store.writes import changed_rows, conflict_insert


def held_post_ids(session: Session, discussion_id: int) -> list[int]:
    """Every post of the discussion waiting for a moderator, oldest first."""
    return list(
        session.scalars(
            select(Post.id)
            .where(Post.discussion_id == discussion_id, Post.status == PostStatus.HELD)
            .order_by(Post.id)
        )
    )


def notice_states(
    session: Session, discussion_id: int, moderators: Sequence[str], held: Sequence[int]
) -> dict[str, tuple[int, datetime | None, frozenset[int]]]:
    """Per moderator: notices sent, the last one's time, and which of *held* they were told of."""
    states: dict[str, tuple[int, datetime | None, frozenset[int]]] = {
        m: (0, None, frozenset()) for m in moderators
    }
    for row in session.scalars(
        select(ModeratorNotice).where(
            ModeratorNotice.discussion_id == discussion_id,
            ModeratorNotice.moderator.in_(moderators),
        )
    ):
        states[row.moderator] = (row.sent, row.last_at, frozenset())
    told: dict[str, set[int]] = {m: set() for m in moderators}
    if held:
        for post_id, moderator in session.execute(
            select(HeldNotice.post_id, HeldNotice.moderator).where(
                HeldNotice.post_id.in_(held), HeldNotice.moderator.in_(moderators)
            )
        ):
            told[moderator].add(post_id)
    return {m: (s, at, frozenset(told[m])) for m, (s, at, _) in states.items()}


def claim_notice(
    session: Session, discussion_id: int, moderator: str, seen: int, now: datetime
) -> bool:
    """Count one more notice to *moderator* if nobody did since *seen*; True if this did.

    Two nodes (or two workers) planning the same notice both try; the row
    lock lets one UPDATE match, and the other finds ``sent`` moved on.
    """
    session.execute(
        conflict_insert(session, ModeratorNotice)
        .values(discussion_id=discussion_id, moderator=moderator, sent=0, last_at=None)
        .on_conflict_do_nothing(index_elements=["discussion_id", "moderator"])
    )
    result = session.execute(
        update(ModeratorNotice)
        .where(
            ModeratorNotice.discussion_id == discussion_id,
            ModeratorNotice.moderator == moderator,
            ModeratorNotice.sent == seen,
        )
        .values(sent=seen + 1, last_at=now)
        .execution_options(synchronize_session=False)
    )
    return changed_rows(result) == 1


def record_told(
    session: Session,
    moderator: str,
    post_ids: Iterable[int],
    message_id: str,
    now: datetime,
) -> None:
    """Record that *moderator* was told of *post_ids* by the mail *message_id*."""
    rows = [
        {
            "post_id": p,
            "moderator": moderator,
            "notified_at": now,
            "message_id": message_id,
        }
        for p in post_ids
    ]
    if rows:
        session.execute(insert(HeldNotice), rows)


def told_by(session: Session, post_id: int) -> dict[str, str]:
    """Who was told of *post_id*, and by which mail (its Message-ID)."""
    return {
        m: mid
        for m, mid in session.execute(
            select(HeldNotice.moderator, HeldNotice.message_id).where(
                HeldNotice.post_id == post_id
            )
        )
    }
