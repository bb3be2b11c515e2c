"""Replicas on one store, piece by piece, on each backend (a real SQLite file, a database of
the throwaway PostgreSQL cluster) opened twice (one connection per replica, as two processes
have): leases, the leader-only scheduler and its due runs, outbox and inbox claims (and, on
PostgreSQL, claims racing from two threads), forms any replica can open."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.inbox import lease as inbox_lease
from bot.messages import Choice, Form, FormField, Recipient
from bot.outbox import claim
from bot.replicas import LEADER, Job, Replica, Scheduler, alive_lease, due_time
from bot.store import open_store
from bot.store.database import Database, transaction
from bot.store.leases import Leases
from bot.store.outbox import Outbox
from bot.store.scheduled_runs import ScheduledRuns
from bot.store.shelf import StoreShelf
from tests.harness import FakeClock

LEASE = timedelta(seconds=10)


@pytest.fixture
def two(store_target: Path | str) -> Iterator[tuple[Database, Database]]:
    """Two connections to one store, on each backend (`store_target`, tests/conftest.py)."""
    a, b = open_store(store_target), open_store(store_target)
    yield a, b
    a.close()
    b.close()


def test_a_lease_has_one_holder_until_it_runs_out_then_anyone_takes_it(
    two: tuple[Database, Database],
) -> None:
    clock = FakeClock()
    a, b = Leases(two[0].conn), Leases(two[1].conn)
    assert a.acquire("x", "a", clock(), LEASE)
    assert not b.acquire("x", "b", clock(), LEASE)
    clock.advance(seconds=9)
    assert a.acquire("x", "a", clock(), LEASE)  # renewed: now until 19 s
    clock.advance(seconds=9)
    assert not b.acquire("x", "b", clock(), LEASE)
    held = b.current("x", clock())
    assert held is not None and held.holder == "a"
    clock.advance(seconds=2)  # a stopped renewing: its lease ran out
    assert b.current("x", clock()) is None
    assert b.acquire("x", "b", clock(), LEASE)
    assert not a.acquire("x", "a", clock(), LEASE)
    assert not a.release("x", "a")  # not a's to give up
    assert b.release("x", "b")
    assert a.acquire("x", "a", clock(), LEASE)  # free at once after a release


def _scheduler(db: Database, name: str, clock: FakeClock, ran: list[tuple[str, str]]) -> Scheduler:
    async def sla() -> None:
        ran.append((name, clock().isoformat()))

    replica = Replica(name, LEASE, timedelta(seconds=30))
    jobs = [Job("sla_scan", timedelta(seconds=30), sla)]
    return Scheduler(Leases(db.conn), ScheduledRuns(db.conn), replica, jobs, clock)


def test_jobs_run_on_the_leader_once_per_due_time_and_move_when_it_dies(
    two: tuple[Database, Database],
) -> None:
    clock = FakeClock()
    ran: list[tuple[str, str]] = []
    a = _scheduler(two[0], "a", clock, ran)
    b = _scheduler(two[1], "b", clock, ran)

    async def both(seconds: int, *, a_alive: bool = True) -> None:
        for _ in range(seconds // 3):
            if a_alive:
                await a.tick()
            await b.tick()
            clock.advance(seconds=3)

    asyncio.run(both(63))  # ticks at 0, 3, ... 60 s
    assert a.leading and not b.leading
    assert [who for who, _ in ran] == ["a", "a", "a"]  # due at 0, 30 and 60 s
    asyncio.run(both(60, a_alive=False))  # a died after its tick at 60 s
    assert b.leading
    # b leads once a's lease ran out (70 s), still in the due time a ran: not again.
    assert [who for who, _ in ran] == ["a", "a", "a", "b", "b"]  # then 90 and 120 s
    due = ScheduledRuns(two[0].conn).runs("sla_scan")
    assert [who for _, who in due] == ["a", "a", "a", "b", "b"]
    assert len({d for d, _ in due}) == 5
    a.leading = False
    asyncio.run(both(3))  # a is back: b keeps the lead it holds
    assert b.leading and not a.leading
    b.release()
    assert Leases(two[0].conn).current(LEADER, clock()) is None


def test_due_times_are_fixed_points_whoever_asks() -> None:
    clock = FakeClock()
    every = timedelta(seconds=30)
    first = due_time(clock(), every)
    clock.advance(seconds=29)
    assert due_time(clock(), every) in (first, first + every)
    assert due_time(first, every) == first


def test_replica_settings_are_read_and_checked() -> None:
    replica = Replica.from_env({"HELPDESK_REPLICA_ID": "box1", "HELPDESK_LEASE_S": "12"}, 0)
    assert replica.id == "box1" and replica.lease == timedelta(seconds=12)
    assert replica.tick_s == 4.0
    assert Replica.from_env({}, 3000).id.endswith(":3000")
    with pytest.raises(ConfigError, match="HELPDESK_LEASE_S"):
        Replica.from_env({"HELPDESK_LEASE_S": "soon"}, 0)
    with pytest.raises(ConfigError, match="HELPDESK_SCHEDULE_EVERY_S"):
        Replica.from_env({"HELPDESK_SCHEDULE_EVERY_S": "0"}, 0)


def _queue(db: Database, key: str, conversation: str | None, held_by: str | None = None) -> None:
    outbox = Outbox(db, FakeClock())  # queued at the clocks' start
    outbox.put(key, "notice", Recipient.channel("x"), {"text": key}, conversation, held_by)


def test_two_replicas_claim_disjoint_outbox_rows_and_a_dead_ones_after_its_lease(
    two: tuple[Database, Database],
) -> None:
    clock = FakeClock()
    a, b = two
    for n in range(4):
        _queue(a, f"r{n}", f"conv{n}")
    got_a = claim.claim_due(a.conn, "a", clock(), LEASE, limit=2)
    got_b = claim.claim_due(b.conn, "b", clock(), LEASE)
    assert [r[1] for r in got_a] == ["r0", "r1"] and [r[1] for r in got_b] == ["r2", "r3"]
    assert claim.claim_due(b.conn, "b", clock(), LEASE) == got_b  # b's own: b's again
    clock.advance(seconds=8)
    assert claim.renew(a.conn, "a", clock(), LEASE) == 2
    clock.advance(seconds=8)  # b did not renew: its rows are anyone's, a's are a's
    assert [r[1] for r in claim.claim_due(b.conn, "c", clock(), LEASE)] == ["r2", "r3"]
    clock.advance(seconds=3)  # a stopped renewing too
    taken = claim.claim_due(b.conn, "c", clock(), LEASE)
    assert [r[1] for r in taken] == ["r0", "r1", "r2", "r3"]
    claim.release(b.conn, "c", [r[0] for r in taken])
    assert len(claim.claim_due(a.conn, "a", clock(), LEASE)) == 4


def test_later_rows_wait_while_an_earlier_one_is_held_by_another_replica(
    two: tuple[Database, Database],
) -> None:
    clock = FakeClock()
    a, b = two
    _queue(a, "c1-first", "c1")
    _queue(a, "n1", None)
    _queue(a, "c1-second", "c1")
    _queue(a, "n2", None)
    _queue(a, "c2", "c2")
    first = claim.claim_due(a.conn, "a", clock(), LEASE, limit=2)
    assert [r[1] for r in first] == ["c1-first", "n1"]
    # b may not send c1's second reply nor the next notice before a's are out: only c2.
    assert [r[1] for r in claim.claim_due(b.conn, "b", clock(), LEASE)] == ["c2"]
    with transaction(a.conn):
        a.conn.execute("UPDATE outbox SET delivered_at = 'x' WHERE id = ?", (first[0][0],))
    assert [r[1] for r in claim.claim_due(b.conn, "b", clock(), LEASE)] == ["c1-second", "c2"]


def test_a_secret_reply_goes_from_the_replica_holding_it_while_that_one_lives(
    two: tuple[Database, Database],
) -> None:
    clock = FakeClock()
    a, b = two
    Leases(a.conn).acquire(alive_lease("a"), "a", clock(), LEASE)
    _queue(a, "secret", "c1", held_by=alive_lease("a"))
    assert claim.claim_due(b.conn, "b", clock(), LEASE) == []
    clock.advance(seconds=11)  # a died: its memory is gone, b says it could not be shown
    assert [r[1] for r in claim.claim_due(b.conn, "b", clock(), LEASE)] == ["secret"]


def test_claims_racing_from_two_replicas_never_hold_one_conversation_at_once(
    two: tuple[Database, Database],
) -> None:
    """Two replicas claiming and sending one row at a time, at the same instants (on
    PostgreSQL each claim's SKIP LOCKED misses the other's uncommitted claim): a replica
    never holds a row while an earlier one of its conversation (or, for rows without one,
    an earlier such row) is held by the other (`claim.CLAIM_LOCK`)."""
    clock = FakeClock()
    conversations = ("c1", "c2", "c3", None)
    for n in range(48):
        _queue(two[0], f"k{n}", conversations[n % len(conversations)])
    start = threading.Barrier(2)
    sent: list[tuple[str, int]] = []
    overtaken: list[tuple[str, int, int]] = []

    def replica(db: Database, me: str) -> None:
        start.wait()
        idle = 0
        while idle < 50:
            rows = claim.claim_due(db.conn, me, clock(), LEASE, limit=1)
            if not rows:
                idle += 1
                time.sleep(0.002)
                continue
            idle = 0
            row_id, conversation = rows[0][0], rows[0][7]
            earlier = db.execute(
                "SELECT id FROM outbox WHERE id < ? AND delivered_at IS NULL"
                " AND claimed_by IS NOT NULL AND claimed_by <> ?"
                " AND (conversation = ? OR (conversation IS NULL AND CAST(? AS TEXT) IS NULL))",
                (row_id, me, conversation, conversation),
            ).fetchall()
            overtaken.extend((me, row_id, e[0]) for e in earlier)
            time.sleep(0.002)  # sending
            with transaction(db.conn):
                db.execute("UPDATE outbox SET delivered_at = 'x' WHERE id = ?", (row_id,))
            claim.release(db.conn, me, [row_id])
            sent.append((me, row_id))

    threads = [
        threading.Thread(target=replica, args=(db, me)) for db, me in zip(two, "ab", strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(row_id for _, row_id in sent) == sorted(
        r[0] for r in two[0].execute("SELECT id FROM outbox").fetchall()
    )  # every row sent, once
    assert {me for me, _ in sent} == {"a", "b"}  # both replicas took part
    assert overtaken == []


def test_a_claim_waits_for_a_claim_in_flight_before_taking_the_same_conversation(
    two: tuple[Database, Database],
) -> None:
    """Replica a's claim of c1's first reply is still uncommitted when b claims: b must not
    take c1's second reply (on PostgreSQL SKIP LOCKED alone would skip the locked row and
    see the second as free; `claim.CLAIM_LOCK` makes b wait for a's commit)."""
    clock = FakeClock()
    a, b = two
    _queue(a, "c1-first", "c1")
    _queue(a, "c1-second", "c1")
    _queue(a, "c2", "c2")
    got: list[str] = []
    with transaction(a.conn):  # the claim below joins it: committed when this block ends
        first = claim.claim_due(a.conn, "a", clock(), LEASE, limit=1)
        other = threading.Thread(
            target=lambda: got.extend(r[1] for r in claim.claim_due(b.conn, "b", clock(), LEASE))
        )
        other.start()
        time.sleep(0.5)
    other.join(30)
    assert [r[1] for r in first] == ["c1-first"]
    assert got == ["c2"]


def _stored(db: Database, n: int, conversation: str, holder: str, until: str) -> None:
    db.execute(
        "INSERT INTO inbox (platform, event_id, conversation, incoming_json, route_json,"
        " received_at, claimed_by, lease_until) VALUES ('slack', ?, ?, '{}', '{}', 'x', ?, ?)",
        (f"Ev{n}", conversation, holder, until),
    )


def test_inbox_rows_of_a_dead_replica_are_taken_over_and_order_is_kept(
    two: tuple[Database, Database],
) -> None:
    clock = FakeClock()
    a, b = two
    until = (clock() + LEASE).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    _stored(a, 1, "c1", "a", until)
    _stored(a, 2, "c1", "b", until)
    _stored(a, 3, "c2", "a", until)
    assert inbox_lease.held_elsewhere(b.conn, "c1", 2, "b", clock())  # a has c1's first
    assert not inbox_lease.held_elsewhere(a.conn, "c1", 1, "a", clock())
    assert inbox_lease.take_over(b.conn, "b", clock(), LEASE) == []  # a is alive
    assert [r[0] for r in inbox_lease.take_over(a.conn, "a", clock(), LEASE, own_too=True)] == [
        1,
        3,
    ]  # at a's start: its previous run's rows, at once
    clock.advance(seconds=11)
    assert inbox_lease.renew(b.conn, "b", clock(), LEASE) == 1
    taken = inbox_lease.take_over(b.conn, "b", clock(), LEASE)
    assert [r[0] for r in taken] == [1, 3]
    assert not inbox_lease.held_elsewhere(b.conn, "c1", 2, "b", clock())


def test_a_form_stashed_by_one_replica_opens_on_another(store_target: Path | str) -> None:
    from bot.adapters.slack.outbound import Forms

    path = store_target
    open_store(path).close()
    clock = FakeClock()
    form = Form(
        "@human:form",
        "New ticket",
        (
            FormField("summary", "Summary", initial="VPN"),
            FormField("urgency", "Urgency", required=False, options=(Choice("High", "high"),)),
        ),
        "Open",
    )
    kept = [StoreShelf(path, clock), StoreShelf(path, clock)]
    one, other = (Forms(None, shelf) for shelf in kept)  # type: ignore[arg-type]  # no client: nothing opened
    token = one.stash(form)
    assert other.get(token) == form
    assert other.get("form:0000") is None
    clock.advance(days=8)  # forgotten after a week: its button says it expired
    assert other.get(token) is None
    kept[0].put("teams:card:1", "Which one?")  # and the old row is gone from the table
    assert kept[1].take("teams:card:1") == "Which one?"
    assert kept[1].take("teams:card:1") is None
    check = open_store(path)
    assert check.execute("SELECT key FROM shelf").fetchall() == []
    check.close()
    for shelf in kept:
        shelf.close()


def test_replicas_starting_at_once_migrate_a_new_store_once(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    for n in range(5):
        path = tmp_path / f"store{n}.db"
        with ThreadPoolExecutor(3) as pool:
            stores = list(pool.map(open_store, [path] * 3))
        versions = {s.schema_version() for s in stores}
        assert len(versions) == 1 and versions.pop() > 0
        for store in stores:
            store.close()
