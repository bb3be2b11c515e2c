"""The inbox's writer (`bot.inbox.writer.InboxWriter`) on a real SQLite store: while another
connection (the engine's process) holds the write lock it waits without stopping the
event loop, commits durably as soon as the lock is free, and gives up after its patience;
and the inbox it serves refuses what arrives after it closed."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.inbox import HeldSecrets, Inbox
from bot.inbox import writer as writer_module
from bot.inbox.store import InboxClosed
from bot.inbox.writer import InboxWriter
from bot.messages import Actor, Incoming
from bot.store import open_store
from bot.store.connection import Connection, SqliteConnection
from bot.store.database import connect
from tests.harness import BotHarness


def _store(tmp_path: Path) -> Path:
    path = tmp_path / "helpdesk.db"
    open_store(path).close()
    with connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS probe (n INTEGER)")
    return path


def test_the_writer_waits_for_the_lock_without_stopping_the_loop(tmp_path: Path) -> None:
    path = _store(tmp_path)
    engine = connect(path)
    writer = InboxWriter(SqliteConnection.open(str(path)))

    async def scenario() -> tuple[int, list[int]]:
        engine.execute("BEGIN IMMEDIATE")  # the engine's process is writing
        engine.execute("INSERT INTO probe VALUES (1)")
        commit = asyncio.create_task(
            writer.run(lambda c: c.execute("INSERT INTO probe VALUES (2)").rowcount)
        )
        ticks = 0
        for _ in range(20):  # the loop keeps running other work meanwhile
            await asyncio.sleep(0.005)
            ticks += 1
        assert not commit.done()
        engine.execute("COMMIT")
        assert await asyncio.wait_for(commit, 1.0) == 1
        return ticks, [r[0] for r in engine.execute("SELECT n FROM probe ORDER BY n")]

    ticks, rows = asyncio.run(scenario())
    assert ticks == 20
    assert rows == [1, 2]
    writer.close()
    engine.close()


def test_a_failing_transaction_is_rolled_back_and_raised(tmp_path: Path) -> None:
    path = _store(tmp_path)
    writer = InboxWriter(SqliteConnection.open(str(path)))

    def fails(conn: Connection) -> None:
        conn.execute("INSERT INTO probe VALUES (3)")
        raise ValueError("the batch could not be stored")

    with pytest.raises(ValueError, match="could not be stored"):
        asyncio.run(writer.run(fails))
    with connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM probe").fetchone()[0] == 0
    writer.close()


def test_the_writer_gives_up_when_the_lock_stays_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _store(tmp_path)
    monkeypatch.setattr(writer_module, "BUSY_TIMEOUT_MS", 50)
    engine = connect(path)
    engine.execute("BEGIN IMMEDIATE")
    writer = InboxWriter(SqliteConnection.open(str(path)))
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        asyncio.run(writer.run(lambda c: c.execute("INSERT INTO probe VALUES (4)")))
    engine.execute("ROLLBACK")
    writer.close()
    engine.close()


def test_a_message_translated_after_the_inbox_closed_is_refused_not_left_waiting(
    tmp_path: Path,
) -> None:
    """At shutdown a handler still translating (a Teams member lookup) reaches the inbox
    after its writer stopped: it hears `InboxClosed` at once (its adapter answers 503), and
    what was accepted before is stored, through the writer's own connection."""
    bot = BotHarness(tmp_path)
    services = bot.services
    actor = Actor("teams", "29:user", "chan.taiman@corp.example.com")

    async def run() -> bool:
        inbox = Inbox(
            services.db,
            services.conversations,
            services.tickets,
            HeldSecrets(),
            lambda _: None,
            services.clock,
        )
        path = services.db.path
        assert path is not None
        inbox.start(InboxWriter(SqliteConnection.open(str(path))))
        stored = await inbox.accept(Incoming(actor, "a:1", "vpn drops", event_id="e-1"), {})
        await inbox.close()
        with pytest.raises(InboxClosed):
            await asyncio.wait_for(
                inbox.accept(Incoming(actor, "a:1", "late", event_id="e-2"), {}), 1.0
            )
        return stored

    assert asyncio.run(run())
    rows = services.db.conn.execute("SELECT event_id FROM inbox").fetchall()
    assert rows == [("e-1",)]
