"""The sender lookup finds subscribers through the index on lower(email), on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event, insert

from store.db import make_engine, make_sessionmaker
from store.models import (
    DeliveryMode,
    Discussion,
    DiscussionState,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from store.posts import sender_records

NOW = datetime(2027, 3, 28, 17, 0, tzinfo=UTC)
PEOPLE = 3000


def test_subscribers_are_found_by_lower_email_through_its_index(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as c:
            discussions = [
                c.execute(
                    insert(Discussion)
                    .values(slug=f"d{k}", state=DiscussionState.OPEN, created_at=NOW)
                    .returning(Discussion.id)
                ).scalar_one()
                for k in range(3)
            ]
            c.execute(
                insert(Subscriber),
                [
                    {"id": i + 1, "email": f"Person{i}@Example.NET", "created_at": NOW}
                    for i in range(PEOPLE)
                ],
            )
            c.execute(
                insert(Subscription),
                [
                    {
                        "discussion_id": discussions[i % 3],
                        "subscriber_id": i + 1,
                        "status": SubscriptionStatus.ACTIVE,
                        "mode": DeliveryMode.EACH,
                        "language": "es" if i == 3 else "en",
                        "created_at": NOW,
                    }
                    for i in range(PEOPLE)
                ],
            )
        seen: list[tuple[str, object]] = []

        def grab(
            _c: object, _cur: object, statement: str, parameters: object, *_a: object
        ) -> None:
            if "lower(subscribers.email) IN" in statement:
                seen.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", grab)
        with make_sessionmaker(engine)() as s:
            found = sender_records(
                s, discussions[0], [" person3@example.net", "PERSON4@example.net"], NOW
            )
        event.remove(engine, "before_cursor_execute", grab)
        assert found["person3@example.net"].subscribed  # Person3@Example.NET
        assert found["person3@example.net"].language == "es"
        assert not found["person4@example.net"].subscribed  # another discussion's

        ((statement, parameters),) = seen
        explain = (
            "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        )
        with engine.connect() as c:
            plan = "\n".join(
                str(row[-1])
                for row in c.exec_driver_sql(explain + statement, parameters)  # type: ignore[arg-type]
            )
        assert "ix_subscribers_lower_email" in plan, plan
        # Then each subscription by its (discussion, subscriber) key, none scanned.
        assert "SCAN" not in plan and "Seq Scan" not in plan, plan
    finally:
        engine.dispose()
