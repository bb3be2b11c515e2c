"""The store on PostgreSQL (psycopg 3 and its pool): for more than one replica.

Chosen by `HELPDESK_STORE_URL=postgresql://...` (README, "Operations"); needs the `postgres`
extra. Each `Database` holds one connection from a process-wide pool per URL (a thread
uses its own `Database`, as with SQLite), in autocommit mode: a write that must be atomic
runs inside `transaction()` (`BEGIN` ... `COMMIT`, read committed), so the store modules'
SQL runs unchanged. Parameters are written `?` in the bot's SQL and become `%s` here; a
Python `bool` is sent as 0/1 (the schema's flags are INTEGER, as on SQLite); `numeric`
results (`avg`, `sum` of a numeric) come back as `float`.

Schema version: the table `schema_version` (one row). Replicas starting together migrate
one at a time under an advisory lock; each migration commits with its version bump.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from bot.errors import ConfigError
from bot.store.connection import Params
from bot.store.dialect import POSTGRES, Dialect, to_format_placeholders
from bot.store.migrations import MIGRATIONS, for_postgres

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

SETTING = "HELPDESK_STORE_URL"
#: Connections per process: the serving thread, the event loop's, the CLI's, a few spare.
POOL_SIZE = 8
#: The advisory lock key replicas take while migrating ('helpdesk' in ASCII).
MIGRATION_LOCK = 0x68656C7064657368

_pools: dict[str, ConnectionPool[Any]] = {}
_pools_lock = threading.Lock()


@lru_cache(maxsize=2048)
def _sql(sql: str) -> str:
    return to_format_placeholders(sql)


def _params(params: Params) -> tuple[object, ...] | dict[str, object]:
    if isinstance(params, Mapping):
        return {k: int(v) if isinstance(v, bool) else v for k, v in params.items()}
    return tuple(int(p) if isinstance(p, bool) else p for p in params)


def _configure(conn: psycopg.Connection[Any]) -> None:
    from psycopg.types.numeric import FloatLoader

    conn.adapters.register_loader("numeric", FloatLoader)


def pool_for(url: str) -> ConnectionPool[Any]:
    """The process's pool for `url`, opened on first use (a `ConfigError` if the database
    cannot be reached or the `postgres` extra is not installed)."""
    with _pools_lock:
        pool = _pools.get(url)
        if pool is not None:
            return pool
        try:
            import psycopg
            from psycopg_pool import ConnectionPool, PoolTimeout
        except ImportError:
            raise ConfigError(
                SETTING,
                "PostgreSQL needs the postgres extra: pip install 'helpdesk-bot[postgres]'",
            ) from None
        try:  # once directly first: a wrong URL fails at once, with the server's reason
            psycopg.connect(url, connect_timeout=10).close()
        except psycopg.Error as exc:
            raise ConfigError(SETTING, f"cannot reach the PostgreSQL store ({exc})") from None
        pool = ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_SIZE,
            kwargs={"autocommit": True},
            configure=_configure,
            check=ConnectionPool.check_connection,
            open=False,
            name="helpdesk-store",
        )
        try:
            pool.open(wait=True, timeout=10)
        except (PoolTimeout, psycopg.Error) as exc:
            pool.close()
            raise ConfigError(SETTING, f"cannot reach the PostgreSQL store ({exc})") from None
        _pools[url] = pool
        return pool


@atexit.register
def close_pools() -> None:
    """Close every pool (at exit, and in tests between clusters)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


def close_pool(url: str) -> None:
    """Close the pool for `url`, if open (its database is about to go)."""
    with _pools_lock:
        pool = _pools.pop(url, None)
    if pool is not None:
        pool.close()


class PostgresConnection:
    """One pooled psycopg connection behind the store's `Connection` interface.

    A connection found broken between transactions (the server restarted, an idle session
    was cut) is swapped for a fresh one from the pool, and a `BEGIN` or a `SELECT` outside a
    transaction that fails on a broken connection is tried once more on the fresh one; a
    write outside a transaction is not (it may have been applied), nor anything inside one.
    """

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self._pool = pool
        self._closed = False
        self.raw: psycopg.Connection[Any] = pool.getconn()

    @property
    def dialect(self) -> Dialect:
        return POSTGRES

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        if self._closed or self.raw.closed:
            return False
        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def _ready(self) -> psycopg.Connection[Any]:
        """The connection, replaced by a fresh one from the pool if the old one broke
        between transactions; inside a transaction the error stands."""
        import psycopg

        if self._closed:
            raise psycopg.OperationalError("the store connection is closed")
        if self.raw.broken and not self.in_transaction:
            self._pool.putconn(self.raw)
            self.raw = self._pool.getconn()
        return self.raw

    def _run(
        self, sql: str, params: tuple[object, ...] | dict[str, object] | None, retry: bool
    ) -> psycopg.Cursor[Any]:
        import psycopg

        raw = self._ready()
        try:
            return raw.execute(sql, params)
        except psycopg.OperationalError:
            if not (retry and raw.broken):
                raise
            return self._ready().execute(sql, params)

    def execute(self, sql: str, params: Params = ()) -> psycopg.Cursor[Any]:
        retry = not self.in_transaction and sql.lstrip()[:6].upper() == "SELECT"
        if not params:  # sent as written: no placeholders, no % to escape
            return self._run(sql, None, retry)
        return self._run(_sql(sql), _params(params), retry)

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        with self._ready().cursor() as cursor:
            cursor.executemany(_sql(sql), [_params(r) for r in rows])

    def begin(self, durable: bool) -> None:
        self._run("BEGIN", None, retry=True)
        if not durable:
            self.raw.execute("SET LOCAL synchronous_commit = off")

    def commit(self) -> None:
        self._ready().execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction and not self.raw.broken:
            self.raw.execute("ROLLBACK")

    def lock(self, name: str) -> None:
        self._ready().execute(_sql(POSTGRES.statement("lock")), (name,))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self.raw.closed and not self.raw.broken:
            self.rollback_quietly()
        self._pool.putconn(self.raw)

    def rollback_quietly(self) -> None:
        """Leave no transaction open on a connection going back to the pool."""
        import psycopg
        from psycopg.pq import TransactionStatus

        with contextlib.suppress(psycopg.Error):
            if self.raw.info.transaction_status != TransactionStatus.IDLE:
                self.raw.execute("ROLLBACK")


def migrate(conn: psycopg.Connection[Any]) -> int:
    """Apply every migration newer than the database's version; return the new version."""
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        if row is None:
            conn.execute("INSERT INTO schema_version (version) VALUES (0)")
        version = 0 if row is None else int(row[0])
        if version > len(MIGRATIONS):
            raise ConfigError(
                SETTING,
                f"the store is at schema version {version}, newer than this bot"
                f" ({len(MIGRATIONS)}); upgrade the bot",
            )
        for number in range(version + 1, len(MIGRATIONS) + 1):
            with conn.transaction():
                conn.execute(for_postgres(MIGRATIONS[number - 1]))
                conn.execute("UPDATE schema_version SET version = %s", (number,))
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return len(MIGRATIONS)


def open_postgres(url: str) -> PostgresConnection:
    """A migrated connection to the PostgreSQL store at `url`."""
    import psycopg

    pool = pool_for(url)
    conn = PostgresConnection(pool)
    try:
        migrate(conn.raw)
    except psycopg.Error as exc:
        conn.close()
        raise ConfigError(SETTING, f"cannot use the PostgreSQL store ({exc})") from None
    return conn
