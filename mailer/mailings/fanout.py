"""A post's copies, queued a chunk at a time so that no writer waits long.

Publishing a post to a thousand readers renders and inserts a thousand rows;
in one transaction that holds SQLite's single write lock for as long, and the
SMTP listener, which answers 250 only after its own commit, waits behind it.
So inbound processing only records the fan-out (:func:`start_publishing`, in
the transaction that makes the post) and :func:`publish_pending` queues the
copies afterwards in chunks of :data:`CHUNK` (50): each chunk is rendered outside
any write, then inserted in a short transaction of its own that also moves the
fan-out's mark on (:mod:`store.fanouts`). A crash resumes at the last
committed chunk; a chunk queued twice is sent once (the copies' dedupe keys,
``post:<post>:<subscription>``, as for :func:`~mailer.mailings.publish.publish_post`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mailer.mailings.listmail import list_rows, shared_per_language
from mailer.mailings.publish import PostMail, post_mail
from mailer.outbound.bulk import SharedMail
from store.fanouts import Fanout, advance, start_fanout, unfinished
from store.models import DeliveryMode
from store.outbox import OutgoingRow, enqueue, iter_recipients

if TYPE_CHECKING:
    from mailer.runtime import Runtime

# Copies per write transaction. Measured in the writer lock (CPU time of the
# holding thread, 1,000 readers, 100 posts, two rounds each): 200 copies held
# it 9.8-10.1 ms on average and up to 85-92 ms; 50 copies 4.8-5.3 ms and up
# to 13.2-13.5 ms. On a loaded machine the wall-clock hold is several times
# the CPU (the holder is descheduled), and the listener waits that long.
CHUNK = 50


def start_publishing(
    session: Session, post_id: int, discussion_id: int, now: datetime
) -> bool:
    """Record that approved post *post_id* goes to every ``each`` reader, in the
    caller's transaction; :func:`publish_pending` queues the copies."""
    return start_fanout(session, post_id, discussion_id, [DeliveryMode.EACH], now)


def publish_pending(
    runtime: Runtime,
    lock: AbstractContextManager[object],
    after_chunk: Callable[[], None] | None = None,
) -> int:
    """Queue every unfinished fan-out's copies, a chunk per transaction; how many.

    *lock* is taken around each write (the SQLite writers' queue); *after_chunk*
    runs after each chunk that queued copies (tell the outbox worker).
    """
    made: dict[int, tuple[PostMail | None, Callable[[str], SharedMail] | None]] = {}
    queued = 0
    while True:
        now = runtime.clock()
        with runtime.sessions() as session:
            pending = unfinished(session, 1)
            if not pending:
                return queued
            fanout = pending[0]
            if fanout.post_id not in made:
                mail = post_mail(session, runtime, fanout.post_id)
                shared = (
                    shared_per_language(
                        runtime.settings,
                        mail.discussion,
                        mail.mail.template,
                        mail.context_for,
                    )
                    if mail is not None
                    else None
                )
                made[fanout.post_id] = (mail, shared)
            rows, to, finished = _chunk(
                session, runtime, fanout, *made[fanout.post_id], now
            )
        with lock, runtime.sessions.begin() as session:
            if advance(session, fanout, to, finished=finished, now=now):
                queued += (new := enqueue(session, rows, now))
            else:  # another worker took this chunk first
                new = 0
        if new:
            runtime.wakes.outbox.ring()
            if after_chunk is not None:
                after_chunk()


def _chunk(
    session: Session,
    runtime: Runtime,
    fanout: Fanout,
    mail: PostMail | None,
    shared: Callable[[str], SharedMail] | None,
    now: datetime,
) -> tuple[list[OutgoingRow], int, bool]:
    """The next chunk's rows, the subscription it ends at, and whether it is the last."""
    if mail is None or shared is None:  # no longer approved, or gone: nothing to send
        return [], fanout.upto, True
    people = list(
        islice(
            iter_recipients(
                session,
                mail.discussion_id,
                [DeliveryMode.EACH],
                page=CHUNK,
                after=fanout.after,
                upto=fanout.upto,
            ),
            CHUNK,
        )
    )
    rows = list_rows(
        runtime, mail.discussion, mail.discussion_id, people, mail.mail, shared, now
    )
    to = people[-1].subscription_id if people else fanout.upto
    return rows, to, len(people) < CHUNK
