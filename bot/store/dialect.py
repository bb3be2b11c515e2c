"""What differs between the two store backends, in one place.

The bot's SQL is written once, with `?` placeholders, in the subset both SQLite (3.35 or
newer) and PostgreSQL understand: `ON CONFLICT ... DO NOTHING / DO UPDATE`, `RETURNING`,
`count(*) FILTER (WHERE ...)`, timestamps as ISO text computed in Python, `coalesce`,
`CAST(? AS TEXT)` where a parameter's type would otherwise be unknown. What cannot be
written once lives here: a `Dialect` holds the pieces (the JSON field accessor, the row
address for batched deletes, the `FOR UPDATE SKIP LOCKED` suffix, the named lock) and
`STATEMENTS` the few whole statements that differ, each as one (SQLite, PostgreSQL) pair.
Migrations are portable text translated by `postgres_ddl` (types and identities), or a
pair where the DDL itself differs (triggers, sequences); see `bot.store.migrations`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

Backend = Literal["sqlite", "postgres"]


@dataclass(frozen=True, slots=True)
class Dialect:
    """The SQL pieces of one backend. Use them by name, never by testing `name`."""

    name: Backend
    #: Appended to a `SELECT` that claims rows for work: rows another replica holds are
    #: passed over, not waited for. Empty on SQLite, whose single writer needs no claim.
    skip_locked: str
    #: The hidden address of a row, for `DELETE ... WHERE <rowid> IN (SELECT <rowid> ...
    #: LIMIT n)` batches on tables without a single-column key.
    rowid: str
    #: `INDEXED BY <index>` where SQLite's planner needs telling; PostgreSQL has no hints.
    indexed_by_hint: bool

    def indexed_by(self, index: str) -> str:
        """SQL after a table's name in FROM that makes SQLite use `index` (empty elsewhere)."""
        return f" INDEXED BY {index}" if self.indexed_by_hint else ""

    @property
    def join_in_order(self) -> str:
        """A join that SQLite's planner must take in the order written (`CROSS JOIN`, which
        PostgreSQL refuses with an `ON`); PostgreSQL plans a plain `JOIN` itself."""
        return "CROSS JOIN" if self.indexed_by_hint else "JOIN"

    def unindexed(self, column: str) -> str:
        """`column` in a WHERE term that the planner must not drive by its index: SQLite's
        unary `+`; PostgreSQL's planner needs no such hint (and has no `+` for text)."""
        return f"+{column}" if self.indexed_by_hint else column

    def json_text(self, column: str, key: str) -> str:
        """SQL for the text of the top-level `key` of the JSON object in `column`."""
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", column) or not key.isidentifier():
            raise ValueError(f"not a column and a key: {column!r}, {key!r}")
        if self.name == "sqlite":
            return f"json_extract({column}, '$.{key}')"
        return f"(({column})::json ->> '{key}')"

    def statement(self, name: str) -> str:
        """The SQL of a statement that differs between the backends (`STATEMENTS`)."""
        sqlite, postgres = STATEMENTS[name]
        return sqlite if self.name == "sqlite" else postgres


SQLITE: Final = Dialect(name="sqlite", skip_locked="", rowid="rowid", indexed_by_hint=True)
POSTGRES: Final = Dialect(
    name="postgres", skip_locked=" FOR UPDATE SKIP LOCKED", rowid="ctid", indexed_by_hint=False
)

#: The statements that need a variant, by name: (SQLite, PostgreSQL).
STATEMENTS: Final[dict[str, tuple[str, str]]] = {
    # The next ticket number. SQLite: one writer at a time (`BEGIN IMMEDIATE`), so the
    # highest number plus one is safe. PostgreSQL: replicas open tickets at the same time,
    # so a sequence (migration 1's PostgreSQL part); a rolled-back open leaves a gap.
    "next_ticket_number": (
        "SELECT coalesce(max(id), 0) + 1 FROM tickets",
        "SELECT nextval('ticket_numbers')",
    ),
    # Serialise the writers of one thing (the audit chain's head, a ticket's idempotency
    # key) until the transaction ends. SQLite's write transactions are already serial:
    # nothing to run there.
    "lock": (
        "",
        "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))",
    ),
    # The tables of the store.
    "table_names": (
        "SELECT name FROM sqlite_master WHERE type = 'table'",
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
    ),
}

_INTEGER_KEY = re.compile(r"\bINTEGER PRIMARY KEY\b")
_REAL = re.compile(r"\bREAL\b")
_AUTOINCREMENT = re.compile(r"\s+AUTOINCREMENT\b")
_BLOB = re.compile(r"\bBLOB\b")


def postgres_ddl(portable: str) -> str:
    """A portable migration script as PostgreSQL DDL.

    `INTEGER PRIMARY KEY` (SQLite's row id, numbered by the database when not given)
    becomes an identity column (`AUTOINCREMENT`, SQLite's never-reuse promise, is what an
    identity does anyway); `REAL` (SQLite's 8-byte float) `DOUBLE PRECISION`; `BLOB` `BYTEA`.
    Everything else (TEXT, INTEGER, partial indexes, `ALTER TABLE ... ADD COLUMN`,
    `REFERENCES`, `UNIQUE`) means the same on both.
    """
    ddl = _INTEGER_KEY.sub("INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", portable)
    ddl = _AUTOINCREMENT.sub("", ddl)
    ddl = _BLOB.sub("BYTEA", ddl)
    return _REAL.sub("DOUBLE PRECISION", ddl)


def to_format_placeholders(sql: str) -> str:
    """`?` and `:name` placeholders as psycopg's `%s` and `%(name)s`, a literal `%` doubled;
    quoted text and `::type` casts left alone."""
    out: list[str] = []
    quote: str | None = None
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if quote is not None:
            if ch == quote:
                quote = None
            out.append("%%" if ch == "%" else ch)
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        elif ch == ":" and i + 1 < n and sql[i + 1] == ":":
            out.append("::")
            i += 1
        elif ch == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            out.append(f"%({sql[i + 1 : j]})s")
            i = j
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)
