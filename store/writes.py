"""Two pieces of write plumbing every store module needs, said once.

- :func:`conflict_insert`: an ``INSERT`` that can say ``ON CONFLICT ...``.
  Both databases the service runs on have the clause (PostgreSQL 9.5,
  SQLite 3.24), but SQLAlchemy builds it with each dialect's own construct.
- :func:`changed_rows`: how many rows an ``UPDATE`` or ``DELETE`` matched.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, CursorResult, Result, TableClause
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

ConflictInsert = postgresql.Insert | sqlite.Insert


def conflict_insert(
    bind: Session | Connection | str, table: type[Any] | TableClause
) -> ConflictInsert:
    """``INSERT INTO table`` in the dialect of *bind* (a session, connection or dialect name).

    Anything but PostgreSQL is taken for SQLite, the only other database the
    service runs on.
    """
    if isinstance(bind, Session):
        name = bind.get_bind().dialect.name
    elif isinstance(bind, Connection):
        name = bind.dialect.name
    else:
        name = bind
    if name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def changed_rows(result: Result[Any]) -> int:
    """How many rows the ``UPDATE`` or ``DELETE`` that gave *result* matched.

    ``Session.execute`` is typed to return a plain ``Result``; for a statement
    that changes rows it is a ``CursorResult``, which carries the count.
    """
    if not isinstance(result, CursorResult):
        raise TypeError(f"not the result of an UPDATE or DELETE: {type(result)!r}")
    return result.rowcount
