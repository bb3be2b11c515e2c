"""The operator's HTTP routes on the bot's listener: `GET /metrics` and `GET /readyz`.

`GET /healthz` (the adapter's) stays liveness: the process answers. `GET /readyz` is
readiness: it runs a real query on the store (the schema version, the inbox's depth) and
reads when each chat platform last answered (`bot.metrics.platform_contact`: every outbox
delivery, and `auth.test` at start). It answers 200 with what it found, or 503 naming what
is wrong: the store failing, or a platform unreachable for longer than `PLATFORM_GRACE_S`
(one failed send is not enough: a brief Slack outage should not take the only replica out
of its load balancer, since the inbox keeps what arrives and the outbox retries).

`GET /metrics` is the Prometheus text format (`bot.metrics`). The metrics carry counts,
never names or messages, but a brokerage does not publish its operations: with
`HELPDESK_METRICS_TOKEN` set, a scrape must send `Authorization: Bearer <token>` (401
otherwise); without it, only a client on the loopback address is answered (403 otherwise),
which suits a Prometheus agent on the same host or a sidecar. Decision: one listener, not a
second port: a second bind is one more thing to firewall, and the token does the job.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from aiohttp import web

from bot import metrics
from bot.clock import parse_iso
from bot.outbox.worker import MAX_ATTEMPTS
from bot.store.connection import Connection
from bot.store.database import SCHEMA_VERSION, Database, store_errors

PLATFORM_GRACE_S = 300.0
"""A platform unreachable (its latest contact failed) for longer than this makes the bot
not ready."""


def store_gauges(conn: Connection) -> metrics.Collector:
    """Inbox and outbox depth and age, read from the store at each scrape."""

    def collect() -> Iterable[metrics.Family]:
        now = datetime.now(UTC)

        def age(oldest: str | None) -> float:
            return max(0.0, (now - parse_iso(oldest)).total_seconds()) if oldest else 0.0

        inbox, inbox_oldest = conn.execute(
            "SELECT count(*), min(received_at) FROM inbox"
        ).fetchone()
        pending, pending_oldest = conn.execute(
            "SELECT count(*), min(created_at) FROM outbox"
            " WHERE delivered_at IS NULL AND attempts < ?",
            (MAX_ATTEMPTS,),
        ).fetchone()
        (given_up,) = conn.execute(
            "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND attempts >= ?",
            (MAX_ATTEMPTS,),
        ).fetchone()

        def gauge(name: str, text: str, value: float) -> metrics.Family:
            return metrics.Family(name, "gauge", text, [metrics.Sample(name, (), value)])

        return [
            gauge("helpdesk_inbox_depth", "Messages stored and not yet finished.", inbox),
            gauge(
                "helpdesk_inbox_oldest_age_seconds",
                "Age of the oldest unfinished message (0 when none).",
                age(inbox_oldest),
            ),
            gauge("helpdesk_outbox_depth", "Outbox messages waiting to be delivered.", pending),
            gauge(
                "helpdesk_outbox_oldest_age_seconds",
                "Age of the oldest outbox message waiting (0 when none).",
                age(pending_oldest),
            ),
            gauge(
                "helpdesk_outbox_given_up",
                "Outbox messages given up on after their retries (in the store).",
                given_up,
            ),
        ]

    return collect


def _loopback(request: web.Request) -> bool:
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def ops_routes(db: Database, env: Mapping[str, str] | None = None) -> list[web.RouteDef]:
    """`GET /metrics` and `GET /readyz` for the store `db` (token from `env`)."""
    env = os.environ if env is None else env
    token = env.get("HELPDESK_METRICS_TOKEN", "").strip()
    conn = db.conn
    metrics.REGISTRY.collect_with("store", store_gauges(conn))

    async def scrape(request: web.Request) -> web.Response:
        if token:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return web.Response(status=401, text="a bearer token is required\n")
        elif not _loopback(request):
            return web.Response(
                status=403, text="set HELPDESK_METRICS_TOKEN to scrape from elsewhere\n"
            )
        return web.Response(
            body=metrics.REGISTRY.render().encode(),
            headers={"Content-Type": metrics.CONTENT_TYPE},
        )

    async def readyz(_: web.Request) -> web.Response:
        problems: list[str] = []
        store: dict[str, object] = {"ok": False}
        try:
            version = db.schema_version()
            (depth,) = conn.execute("SELECT count(*) FROM inbox").fetchone()
            store = {"ok": version == SCHEMA_VERSION, "schema": version, "inbox": depth}
            if version != SCHEMA_VERSION:
                problems.append(f"store: schema {version}, this bot needs {SCHEMA_VERSION}")
        except store_errors() as exc:
            problems.append(f"store: {type(exc).__name__}")
        platforms = platform_states(time.time())
        for name, state in platforms.items():
            if not state["ok"]:
                problems.append(f"{name}: unreachable for {state['failing_s']:.0f} s")
        body = {"ready": not problems, "store": store, "platforms": platforms}
        if problems:
            body["problems"] = problems
        return web.json_response(body, status=503 if problems else 200)

    return [web.get("/metrics", scrape), web.get("/readyz", readyz)]


def platform_states(now: float) -> dict[str, dict[str, float | bool | None]]:
    """Per platform seen: when it last answered, when it last failed, and whether it counts
    as reachable (its latest contact answered, or it has failed for under the grace time)."""
    names = {labels[0] for labels in _contact_labels()}
    started = metrics.STARTED.value() or now
    states: dict[str, dict[str, float | bool | None]] = {}
    for name in sorted(names):
        ok = metrics.PLATFORM_CONTACT.value(name, "ok")
        failed = metrics.PLATFORM_CONTACT.value(name, "failed")
        failing = failed is not None and (ok is None or failed > ok)
        since = now - (ok if ok is not None else started) if failing else 0.0
        states[name] = {
            "ok": not failing or since <= PLATFORM_GRACE_S,
            "last_ok": ok,
            "last_failed": failed,
            "failing_s": since,
        }
    return states


def _contact_labels() -> list[tuple[str, ...]]:
    family = metrics.PLATFORM_CONTACT.family()
    return [tuple(v for _, v in sample.labels) for sample in family.samples]
