"""Replies stored before their parent: what they wait for, and moving them under it.

A post that names Message-IDs nearer than where it was placed keeps one row
per such ID in ``thread_waits``. When a post with one of those IDs is stored,
the waiting posts the caller accepts move under it (and to its question, with
their own replies), and their waits for anything farther go.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from store.models import Post, ThreadWait
from store.posts import MAX_ANCESTRY


@dataclass(frozen=True)
class Waiting:
    """A post waiting for a parent: its id, its own Message-ID, how near that parent is."""

    post_id: int
    message_id: str
    distance: int


def add_waits(
    session: Session, discussion_id: int, post_id: int, message_ids: Sequence[str]
) -> None:
    """Record that *post_id* names *message_ids* (nearest first) and none is stored yet."""
    if not message_ids:
        return
    session.execute(
        insert(ThreadWait),
        [
            {
                "discussion_id": discussion_id,
                "post_id": post_id,
                "message_id": mid,
                "distance": distance,
            }
            for distance, mid in enumerate(message_ids)
        ],
    )


_WAITING = (
    select(ThreadWait.post_id, Post.message_id, ThreadWait.distance)
    .join(Post, Post.id == ThreadWait.post_id)
    .where(
        ThreadWait.discussion_id == bindparam("discussion_id"),
        ThreadWait.message_id == bindparam("message_id"),
    )
    .order_by(ThreadWait.post_id)
)


def waiting_for(session: Session, discussion_id: int, message_id: str) -> list[Waiting]:
    """The posts of a discussion that wait for the post with *message_id*."""
    params = {"discussion_id": discussion_id, "message_id": message_id}
    return [
        Waiting(post_id, mid, distance)
        for post_id, mid, distance in session.connection().execute(_WAITING, params)
    ]


_AWAITED = select(ThreadWait.message_id).where(
    ThreadWait.discussion_id == bindparam("discussion_id"),
    ThreadWait.message_id.in_(bindparam("wanted", expanding=True)),
)


def awaited_among(
    session: Session, discussion_id: int, message_ids: Sequence[str]
) -> set[str]:
    """Those of *message_ids* that some post of the discussion waits for: one query
    for many posts about to be stored, instead of :func:`waiting_for` for each."""
    if not message_ids:
        return set()
    params = {"discussion_id": discussion_id, "wanted": sorted(set(message_ids))}
    return set(session.connection().execute(_AWAITED, params).scalars())


def move_under(
    session: Session,
    parent_id: int,
    question_id: int,
    moves: Sequence[Waiting],
) -> None:
    """Put each of *moves* under post *parent_id*, in question *question_id*.

    Their waits as near as this parent or farther are done with; their own
    replies follow them to the parent's question.
    """
    if not moves:
        return
    ids = [m.post_id for m in moves]
    session.execute(
        update(Post)
        .where(Post.id.in_(ids))
        .values(parent_id=parent_id, question_id=question_id)
    )
    for move in moves:
        session.execute(
            delete(ThreadWait).where(
                ThreadWait.post_id == move.post_id,
                ThreadWait.distance >= move.distance,
            )
        )
    frontier = ids
    for _ in range(MAX_ANCESTRY):
        children = list(
            session.scalars(
                select(Post.id).where(
                    Post.parent_id.in_(frontier), Post.question_id != question_id
                )
            )
        )
        if not children:
            break
        session.execute(
            update(Post).where(Post.id.in_(children)).values(question_id=question_id)
        )
        frontier = children
