"""More than one `helpdesk serve` on one store: who this replica is, and the scheduler that
runs the periodic jobs on one replica only.

Every replica takes messages (its inbox rows are its own, `bot.inbox.lease`) and delivers
the outbox (rows claimed with a lease, `bot.outbox.claim`). The periodic jobs -- the SLA
scan, the shift handoff and weekly reports, the deletion of expired secrets -- run on the
*leader* only: the replica holding the `scheduler` lease (`bot.store.leases`). The leader
renews it on every tick (`tick_s`, a third of the lease); a leader that dies stops
renewing and, once its lease has run out (`HELPDESK_LEASE_S`), the next replica to tick
takes over. A clean stop releases the lease at once.

Each job's due times are fixed points (every `every` since the epoch), and the leader
claims a due time in `scheduled_runs` before it runs the job: a due time runs once, even
when the leadership moves between two ticks, or two replicas briefly both believe they
lead. Decision: at most once per due time, not at least once. A leader killed while a job
runs leaves that due time claimed and not finished; each job looks at everything due when
it runs (the SLA clocks, the shifts ended since the last handoff posted, the deletions
whose time is up), so the next due time does that work, one interval later -- whereas
running a due time twice could alert twice.

Each replica also holds a lease on its own name (`replica:<id>`, renewed with the same
tick), which says it is alive: a reply carrying a secret waits in the memory of the
replica that made it (`bot.inbox.held`), and only that replica delivers it while it lives.

Settings (environment, read by `helpdesk serve`):

- `HELPDESK_REPLICA_ID`: this replica's name, unique among the replicas on one store and
  stable across its restarts (a restarted replica at once takes back the messages its
  previous run left, instead of waiting for their leases to run out). Default: the host
  name and the configured HTTP port (`box1:3000`), which differs between two replicas on
  one machine unless both ask for port 0: then set it.
- `HELPDESK_LEASE_S` (default 30): how long a claim on a message, an outbox row or the
  scheduler lasts without renewal, so how long a dead replica's work waits before another
  takes it over.
- `HELPDESK_SCHEDULE_EVERY_S` (default 30): the interval of the SLA scan and the reports
  (the deletion of secrets runs every 5 s, or this if shorter).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.clock import Clock, iso
from bot.errors import ConfigError
from bot.store.leases import Leases
from bot.store.scheduled_runs import ScheduledRuns

log = logging.getLogger(__name__)

LEADER = "scheduler"
"""The lease whose holder runs the periodic jobs."""

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def alive_lease(replica: str) -> str:
    """The lease that says `replica` is alive."""
    return f"replica:{replica}"


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not a number of seconds") from None
    if not 0.1 <= value <= 86400:
        raise ConfigError(name, "must be between 0.1 and 86400 seconds")
    return value


@dataclass(frozen=True)
class Replica:
    """This replica: its name, the lease length and the jobs' interval."""

    id: str
    lease: timedelta = timedelta(seconds=30)
    schedule_every: timedelta = timedelta(seconds=30)

    @property
    def tick_s(self) -> float:
        """How often the leases are renewed and the leader looks for due jobs."""
        return min(self.lease.total_seconds() / 3, self.schedule_every.total_seconds() / 2, 5.0)

    @classmethod
    def from_env(cls, env: Mapping[str, str], port: int) -> Replica:
        name = env.get("HELPDESK_REPLICA_ID", "").strip()
        if not name:
            name = f"{socket.gethostname()}:{port}"
        if len(name) > 200 or not name.isprintable():
            raise ConfigError("HELPDESK_REPLICA_ID", "must be printable, at most 200 characters")
        lease = _seconds(env, "HELPDESK_LEASE_S", 30.0)
        every = _seconds(env, "HELPDESK_SCHEDULE_EVERY_S", 30.0)
        return cls(name, timedelta(seconds=lease), timedelta(seconds=every))


@dataclass(frozen=True)
class Job:
    """A periodic job: its name (in `scheduled_runs` and the log), interval and work."""

    name: str
    every: timedelta
    run: Callable[[], Awaitable[object]]


def due_time(now: datetime, every: timedelta) -> datetime:
    """The latest due time of a job run `every` at or before `now`."""
    periods = (now - EPOCH) // every
    return EPOCH + periods * every


class Scheduler:
    """One tick: take or renew the lead; on the leader, run each job whose due time no
    replica has claimed yet."""

    def __init__(
        self,
        leases: Leases,
        runs: ScheduledRuns,
        replica: Replica,
        jobs: Sequence[Job],
        clock: Clock,
    ) -> None:
        self._leases = leases
        self._runs = runs
        self._replica = replica
        self._jobs = tuple(jobs)
        self._clock = clock
        self.leading = False

    async def tick(self) -> list[str]:
        """Take or renew the lead, then run what is due if leading; return the names of
        the jobs run. (The replica's own `alive_lease` is the heartbeat's, `bot.server`.)"""
        me = self._replica.id
        now = self._clock()
        leading = self._leases.acquire(LEADER, me, now, self._replica.lease)
        if leading != self.leading:
            log.info(
                "replica %s %s the scheduler", me, "now leads" if leading else "no longer leads"
            )
            self.leading = leading
        if not leading:
            return []
        ran: list[str] = []
        for job in self._jobs:
            due = due_time(now, job.every)
            if not self._runs.claim(job.name, due, me, now):
                continue
            log.info("scheduled job %s due %s runs on replica %s", job.name, iso(due), me)
            ran.append(job.name)
            try:
                await job.run()
            except Exception:
                log.exception("scheduled job %s failed", job.name)
        return ran

    def release(self) -> None:
        """At a clean stop: the scheduler and this replica's name, free at once."""
        me = self._replica.id
        self._leases.release(LEADER, me)
        self._leases.release(alive_lease(me), me)
        self.leading = False
