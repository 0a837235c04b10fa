"""Opening an SQLite file someone else may have made, with every query bounded.

A catalogue is a file like any other: a crafted one may name a view over an endless
recursive query where a table should be, compute a 400 MB blob in a column, or be damaged.
:func:`open_bounded` opens it

* read-only through its ``file:`` URI as :meth:`pathlib.Path.as_uri` escapes it (a folder
  named ``h#x`` or ``q?x`` is a path, never a URI query), or read-write by its path;
* with every string or blob capped at ``max_value_bytes`` (SQLite's ``SQLITE_LIMIT_LENGTH``:
  a larger value, stored or computed, is an error), temporary storage in memory and
  SQLite's memory for the whole process capped at :data:`HEAP_LIMIT_BYTES`;
* with a progress handler that interrupts any statement running past ``seconds`` (Ctrl-C
  interrupts it too, and is raised again as :class:`KeyboardInterrupt` by :func:`run`);

and :func:`check_schema` refuses a file whose tables are not the ones expected (a view, a
missing or extra column, another declared type, a generated column).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

PROGRESS_STEPS = 10_000  # SQLite virtual machine steps between two looks at the clock
HEAP_LIMIT_BYTES = 512 << 20  # all SQLite allocations of the process (page cache, sorting, values)


class QueryBudget:
    """The progress handler of one connection: it stops a statement after ``seconds``, or at
    Ctrl-C, and remembers which of the two it was."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.deadline = float("inf")
        self.timed_out = self.interrupted = False

    def start(self) -> None:
        self.deadline = time.monotonic() + self.seconds
        self.timed_out = self.interrupted = False

    def __call__(self) -> int:
        try:
            if time.monotonic() > self.deadline:
                self.timed_out = True
                return 1
            return 0
        except KeyboardInterrupt:  # Ctrl-C while SQLite runs arrives here: stop the statement
            self.interrupted = True
            return 1


class BoundedConnection:
    """An :class:`sqlite3.Connection` whose statements all run under one :class:`QueryBudget`."""

    def __init__(self, db: sqlite3.Connection, budget: QueryBudget):
        self.db, self.budget = db, budget

    def run(self, sql: str, args: tuple = (), many: bool = False) -> list:
        """Execute ``sql`` and fetch every row within the budget. A statement stopped by the
        budget raises :class:`sqlite3.OperationalError` ("interrupted" ... "took longer"),
        one stopped by Ctrl-C :class:`KeyboardInterrupt`."""
        self.budget.start()
        try:
            cursor = self.db.executemany(sql, args) if many else self.db.execute(sql, args)
            return cursor.fetchall()
        except sqlite3.OperationalError as exc:
            if self.budget.timed_out:
                raise sqlite3.OperationalError(f"a query took longer than {self.budget.seconds:g} s") from None
            if self.budget.interrupted or str(exc) == "interrupted":
                # Ctrl-C, caught in the handler or raised as it was entered (which aborts the statement)
                raise KeyboardInterrupt from None
            raise exc
        except MemoryError:  # SQLite past its heap limit (SQLITE_NOMEM) arrives as a MemoryError
            raise sqlite3.OperationalError("out of memory: a query needed more memory than SQLite may use "
                                           "here") from None
        finally:
            self.budget.deadline = float("inf")

    def close(self) -> None:
        self.db.close()


def open_bounded(path: Path, readonly: bool, seconds: float, max_value_bytes: int) -> BoundedConnection:
    """``path`` opened as described in the module's docstring; sqlite3.Error when it cannot be."""
    path = Path(path)
    if readonly:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    else:
        db = sqlite3.connect(path, isolation_level=None)
    db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, max_value_bytes)
    db.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, 1 << 20)
    budget = QueryBudget(seconds)
    db.set_progress_handler(budget, PROGRESS_STEPS)
    connection = BoundedConnection(db, budget)
    try:
        connection.run("PRAGMA temp_store = MEMORY")
        if connection.run("PRAGMA hard_heap_limit")[0][0] == 0:  # SQLite's own memory, in this process
            connection.run(f"PRAGMA hard_heap_limit = {HEAP_LIMIT_BYTES}")
        connection.run("PRAGMA trusted_schema = OFF")  # functions in a view or a default run only when harmless
    except sqlite3.Error:
        db.close()
        raise
    return connection


def check_schema(connection: BoundedConnection, tables: dict[str, dict[str, str]]) -> str | None:
    """None when each of ``tables`` (name -> {column: declared type}) is a table with exactly
    those columns and types (and no hidden or generated ones); else what differs, in a few words."""
    kinds = dict(connection.run("SELECT name, type FROM sqlite_master WHERE name IN (%s)"
                                % ",".join("?" * len(tables)), tuple(tables)))
    for name, columns in tables.items():
        if name not in kinds:
            return f"it has no table {name}"
        if kinds[name] != "table":
            return f"its {name} is a {kinds[name]}, not a table"
        found = {row[1]: (str(row[2]).upper(), row[6]) for row in connection.run(f"PRAGMA table_xinfo({name})")}
        want = {column: (kind.upper(), 0) for column, kind in columns.items()}
        if found != want:
            odd = sorted(set(found.items()) ^ set(want.items()))
            return f"its table {name} does not have the expected columns (column {odd[0][0]} differs)"
    return None
