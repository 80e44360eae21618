"""The hot-path INSERTs store exactly what SQLAlchemy's own execution stores.

Each statement is run twice with the same values but for its unique keys:
once through :class:`store.prepared.PreparedInsert`, once through
``Connection.execute``; the two rows, read back raw, must be equal column for
column (enums, UTC datetimes, NULLs, the organisation a subscriber gave).
Driver errors must come out as SQLAlchemy's, which the listener turns into
451 and 452 answers. The received message's many-row INSERT is checked the
same way in ``test_inbound_groups.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.db import make_engine
from store.models import (
    Discussion,
    DiscussionState,
    PostStatus,
    Question,
    Subscriber,
)
from store.posts import _INSERT_POST
from store.prepared import PreparedInsert

WHEN = datetime(2027, 3, 28, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))


def _row(connection: Connection, table: str, row_id: int) -> dict[str, Any]:
    row = connection.execute(
        text(f"SELECT * FROM {table} WHERE id = :id"), {"id": row_id}
    ).one()
    return dict(row._mapping)


def _both(
    connection: Connection,
    prepared: PreparedInsert,
    values: dict[str, Any],
    **unique: Any,
) -> tuple[int, int]:
    fast = prepared.scalar(connection, values)
    slow = connection.execute(prepared.statement, {**values, **unique}).scalar()
    assert fast is not None and slow is not None
    return int(fast), int(slow)


def _seed(connection: Connection) -> tuple[int, int]:
    """A discussion with one question, and a subscriber who gave an organisation."""
    with Session(bind=connection) as session:
        session.add(
            Subscriber(
                email="ana@example.org",
                name="Ana",
                organisation="Ministerio de Trabajo",
                constituency="government",
                created_at=WHEN,
            )
        )
        discussion = Discussion(
            slug="skills", state=DiscussionState.OPEN, created_at=WHEN
        )
        question = Question(discussion=discussion, number=1, week=1, release_at=WHEN)
        session.add_all([discussion, question])
        session.flush()
        return discussion.id, question.id


def test_a_post_row_is_the_same_either_way(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            discussion, question = _seed(connection)
            for approved, author in ((True, "ana@example.org"), (False, "bo@x.net")):
                values = {
                    "discussion_id": discussion,
                    "question_id": question,
                    "parent_id": None,
                    "inbound_id": None,
                    "message_id": f"<a-{approved}@x>",
                    "author_email": author,
                    "author_key": author,
                    "author_name": "Ana Ruiz, Ministerio",
                    "language": "es",
                    "subject": "Re: Pregunta 1 — ¿qué?",
                    "body": "Texto nuevo\nsegunda línea",
                    "full_text": "Texto nuevo\n\n> cita",
                    "status": PostStatus.APPROVED if approved else PostStatus.HELD,
                    "hold_reason": None if approved else "first post",
                    "received_at": WHEN,
                    "approved_at": WHEN if approved else None,
                }
                fast, slow = _both(
                    connection, _INSERT_POST, values, message_id=f"<b-{approved}@x>"
                )
                got, want = (
                    _row(connection, "posts", fast),
                    _row(connection, "posts", slow),
                )
                for row in (got, want):
                    del row["id"], row["message_id"]
                assert got == want
                if approved:  # what the author gave when signing up came along
                    assert got["organisation"] == "Ministerio de Trabajo"
    finally:
        engine.dispose()


def test_driver_errors_come_out_as_sqlalchemys(db_url: str) -> None:
    """IntegrityError here; OperationalError for a locked database: test_inbound_groups."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            discussion, question = _seed(connection)
            values = {
                "discussion_id": discussion,
                "question_id": question + 1000,  # no such question
                "parent_id": None,
                "inbound_id": None,
                "message_id": "<c@x>",
                "author_email": "c@x",
                "author_key": "c@x",
                "author_name": "C",
                "language": "en",
                "subject": "s",
                "body": "b",
                "full_text": "b",
                "status": PostStatus.APPROVED,
                "hold_reason": None,
                "received_at": WHEN,
                "approved_at": WHEN,
            }
            with pytest.raises(IntegrityError):
                _INSERT_POST.scalar(connection, values)
    finally:
        engine.dispose()
