"""The two INSERTs every received message makes, run straight on SQLite's cursor.

A received message is inserted twice: its raw bytes, while the sender waits
for the listener's 250, and its post, while the processing worker holds
SQLite's one write lock (which that 250 waits for too). For each execution
SQLAlchemy builds a cache key, the parameters and a result object: 30 to 80
µs, about as much as SQLite's own work on these rows. :class:`PreparedInsert`
has SQLAlchemy compile its statement once per dialect, keeps the bind
processors of the column types (enums, UTC datetimes: the values stored are
the ones ``Connection.execute`` would store, which a test compares), and on
SQLite runs the SQL on the DBAPI cursor of the connection, inside its
transaction. :meth:`PreparedInsert.rows` inserts many rows with one statement
(the listener stores each group of waiting deliveries so). A driver error is
raised as SQLAlchemy's (``OperationalError`` for a locked or full database...),
as the callers expect. PostgreSQL goes through ``Connection.execute``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import Insert

Processor = Callable[[Any], Any]
_SQLITE_VARIABLES = 999  # the fewest "?" a statement may hold (SQLite before 3.32)


@dataclass(frozen=True)
class _Plan:
    """One statement compiled for SQLite: its SQL and how to fill each ``?``."""

    sql: str
    order: tuple[str, ...]  # the bind name of each placeholder, in order
    constants: Mapping[str, Any]  # binds the statement carries (a default '')
    processors: Mapping[str, Processor]
    group: str | None  # the one "(?, ?, ...)" of VALUES, when the SQL has it once

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for name in self.order:
            value = values[name] if name in values else self.constants[name]
            processor = self.processors.get(name)
            out.append(value if processor is None else processor(value))
        return tuple(out)


class PreparedInsert:
    """An INSERT ... RETURNING with a fixed set of value keys, run for one row
    (:meth:`scalar`) or many in one statement (:meth:`rows`)."""

    def __init__(self, statement: Insert, keys: Sequence[str]) -> None:
        self.statement = statement
        self.keys = tuple(keys)
        self._plans: weakref.WeakKeyDictionary[Dialect, _Plan] = (
            weakref.WeakKeyDictionary()
        )

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect)
        if plan is None:
            compiled = self.statement.compile(
                dialect=dialect, column_keys=list(self.keys)
            )
            order = tuple(compiled.positiontup or ())
            binds = compiled.binds
            processors = {}
            for name in set(order):
                kind = dialect.type_descriptor(binds[name].type)
                processor = kind.bind_processor(dialect)
                if processor is not None:
                    processors[name] = processor
            constants = {
                name: binds[name].effective_value
                for name in order
                if name not in self.keys
            }
            group = "(" + ", ".join("?" * len(order)) + ")"
            once = compiled.string.count(group) == 1  # every INSERT here: yes
            plan = self._plans[dialect] = _Plan(
                compiled.string, order, constants, processors, group if once else None
            )
        return plan

    def rows(
        self, connection: Connection, many: Sequence[Mapping[str, Any]]
    ) -> list[tuple[Any, ...]]:
        """Run the INSERT for every mapping of *many* in one statement (a
        ``VALUES`` group each); the RETURNING rows (in no promised order).

        On SQLite the one statement is built from the single-row SQL, its
        ``VALUES`` group repeated; elsewhere SQLAlchemy's "insertmanyvalues"
        does the same.
        """
        dialect = connection.dialect
        if not many:
            return []
        plan = self._plan(dialect) if dialect.name == "sqlite" else None
        if plan is None or dialect.paramstyle != "qmark" or plan.group is None:
            return [tuple(r) for r in connection.execute(self.statement, list(many))]
        out: list[tuple[Any, ...]] = []
        per_statement = max(_SQLITE_VARIABLES // len(plan.order), 1)
        for start in range(0, len(many), per_statement):
            part = many[start : start + per_statement]
            parameters = tuple(p for values in part for p in plan.parameters(values))
            sql = plan.sql.replace(plan.group, ", ".join([plan.group] * len(part)), 1)
            out.extend(_run(connection, sql, parameters, fetch_all=True))
        return out

    def scalar(self, connection: Connection, values: Mapping[str, Any]) -> Any:
        """Run the INSERT with *values* (exactly :attr:`keys`); the RETURNING value or None."""
        dialect = connection.dialect
        if dialect.name != "sqlite" or dialect.paramstyle != "qmark":
            return connection.execute(self.statement, dict(values)).scalar()
        plan = self._plan(dialect)
        rows = _run(connection, plan.sql, plan.parameters(values), fetch_all=False)
        return rows[0][0] if rows else None


def _run(
    connection: Connection, sql: str, parameters: tuple[Any, ...], *, fetch_all: bool
) -> list[tuple[Any, ...]]:
    """Run *sql* on the DBAPI cursor of *connection*; its rows (or its first)."""
    dialect = connection.dialect
    dbapi = connection.connection.driver_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        cursor.execute(sql, parameters)
        if fetch_all:
            return [tuple(r) for r in cursor.fetchall()]
        row = cursor.fetchone()
        return [] if row is None else [tuple(row)]
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(
            sql, parameters, exc, dialect.loaded_dbapi.Error, dialect=dialect
        ) from exc
    finally:
        cursor.close()
