"""Running it like a service: `/metrics` and `/readyz` scraped from the real `helpdesk serve`
process after real Slack events, its JSON log lines parsed, the metrics token and the
readiness rules checked over real sockets."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics
from bot.ops_http import PLATFORM_GRACE_S, ops_routes, platform_states
from bot.store import open_store
from tests.slack_standin import Call
from tests.test_slack import DM, Served


@pytest.fixture
def served(tmp_path: Path, store_target: Path | str) -> Iterator[Served]:
    """The real `helpdesk serve`, on each store backend (`/readyz` queries it)."""
    env = {"HELPDESK_LOG_FORMAT": "json", "HELPDESK_LOG_LEVEL": "INFO"}
    if isinstance(store_target, str):
        env["HELPDESK_STORE_URL"] = store_target
    bot = Served(tmp_path, extra_env=env)
    try:
        yield bot
    finally:
        bot.stop()


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample, parsed by prometheus_client's own parser (so the format is checked)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def _value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _replies_in(served: Served, channel: str, count: int) -> list[Call]:
    return served.slack.wait_for(
        "chat.postMessage",
        count=count,
        timeout=30,
        where=lambda c: c.params.get("channel") == channel,
    )


def test_metrics_readiness_and_json_logs_of_the_running_bot(served: Served) -> None:
    base = served.url.removesuffix("/slack/events")

    def dm(text: str, n: int) -> int:
        event = {
            "type": "message",
            "channel": DM,
            "channel_type": "im",
            "user": "UCHAN",
            "text": text,
            "ts": f"1790001000.{n:06d}",
        }
        return served.event(event, event_id=f"Ev{n:06d}")[0]

    assert dm("outlook keeps asking for my password", 1) == 200
    assert dm("hello", 2) == 200
    assert dm("hello", 2) == 200  # Slack delivering the second message again
    _replies_in(served, DM, 2)

    def scrape() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        status, text = _get(base + "/metrics")
        assert status == 200, text
        return _samples(text)

    deadline = time.monotonic() + 20
    samples = scrape()
    while time.monotonic() < deadline and (
        _value(samples, "helpdesk_deliveries_total", platform="slack", kind="reply") < 2
        or _value(samples, "helpdesk_outbox_depth") > 0
    ):
        time.sleep(0.2)
        samples = scrape()
    assert _value(samples, "helpdesk_events_received_total", platform="slack") == 3
    assert _value(samples, "helpdesk_events_acked_total", platform="slack", outcome="new") == 2
    assert (
        _value(samples, "helpdesk_events_acked_total", platform="slack", outcome="duplicate") == 1
    )
    assert _value(samples, "helpdesk_events_processed_total", platform="slack", outcome="ok") == 2
    assert _value(samples, "helpdesk_reply_latency_seconds_count", platform="slack") == 2
    assert (
        _value(samples, "helpdesk_reply_latency_seconds_bucket", platform="slack", le="+Inf") == 2
    )
    assert _value(samples, "helpdesk_kb_questions_total", outcome="answered") == 1
    assert _value(samples, "helpdesk_deliveries_total", platform="slack", kind="reply") >= 2
    assert _value(samples, "helpdesk_inbox_depth") == 0
    assert _value(samples, "helpdesk_outbox_depth") == 0
    assert _value(samples, "helpdesk_outbox_oldest_age_seconds") == 0
    assert (
        _value(samples, "helpdesk_platform_last_contact_seconds", platform="slack", outcome="ok")
        > 0
    )

    status, text = _get(base + "/readyz")
    ready = json.loads(text)
    assert status == 200 and ready["ready"] is True, text
    assert ready["store"]["ok"] is True and ready["store"]["inbox"] == 0
    assert ready["platforms"]["slack"]["ok"] is True
    assert _get(base + "/healthz")[0] == 200

    served.proc.terminate()  # SIGTERM: the log is complete once it has exited
    served.proc.wait(10)
    served._drainer.join(10)
    lines = [line for line in served.log if line.strip()]
    records = [json.loads(line) for line in lines if "listening on http" not in line]
    assert records, "the bot wrote no log line at INFO"
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys()
    # Every line of one message's work carries its request id: handled, then delivered.
    handled = [r for r in records if "handled:" in r["message"]]
    assert {r.get("request_id") for r in handled} == {"slack:Ev000001", "slack:Ev000002"}
    delivered = [r for r in records if r["message"].endswith("(reply) delivered")]
    assert {r.get("request_id") for r in delivered} >= {"slack:Ev000001", "slack:Ev000002"}
    assert all("Traceback" not in json.dumps(r) for r in records)
    # The redelivery was dropped at the door, before any message's work began.
    redelivery = [r for r in records if "dropping redelivered" in r["message"]]
    assert all("request_id" not in r for r in redelivery)


async def _ops_server(tmp_path: Path, env: dict[str, str]) -> tuple[web.AppRunner, str, Any]:
    db = open_store(tmp_path / "helpdesk.db")
    app = web.Application()
    app.add_routes(ops_routes(db, env))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}", db


def test_metrics_want_the_token_when_one_is_set_and_readyz_fails_with_the_store(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        runner, base, db = await _ops_server(tmp_path, {"HELPDESK_METRICS_TOKEN": "s3cret-scrape"})
        try:
            loop = asyncio.get_running_loop()

            def get(path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
                return _get(base + path, headers)

            status, text = await loop.run_in_executor(None, get, "/metrics")
            assert status == 401 and "helpdesk_" not in text
            wrong = {"Authorization": "Bearer nope"}
            assert (await loop.run_in_executor(None, get, "/metrics", wrong))[0] == 401
            right = {"Authorization": "Bearer s3cret-scrape"}
            status, text = await loop.run_in_executor(None, get, "/metrics", right)
            assert status == 200 and "helpdesk_inbox_depth 0" in text
            assert (await loop.run_in_executor(None, get, "/readyz"))[0] == 200
            db.conn.close()  # the store is gone: not ready, and the scrape still answers
            status, text = await loop.run_in_executor(None, get, "/readyz")
            assert status == 503 and "store" in json.loads(text)["problems"][0]
            status, text = await loop.run_in_executor(None, get, "/metrics", right)
            assert status == 200 and "helpdesk_scrape_errors_total" in text
        finally:
            await runner.cleanup()

    asyncio.run(scenario())


def test_a_platform_is_not_ready_only_after_failing_for_the_grace_time() -> None:
    metrics.platform_contact("teststand", ok=True)
    answered = metrics.PLATFORM_CONTACT.value("teststand", "ok")
    assert answered is not None
    metrics.PLATFORM_CONTACT.set(answered + 1, "teststand", "failed")
    soon = platform_states(answered + 10)["teststand"]
    assert soon["ok"] is True and soon["last_failed"] == answered + 1
    later = platform_states(answered + PLATFORM_GRACE_S + 5)["teststand"]
    assert later["ok"] is False
    metrics.PLATFORM_CONTACT.set(answered + 2, "teststand", "ok")
    assert platform_states(answered + PLATFORM_GRACE_S + 5)["teststand"]["ok"] is True


def test_the_exposition_escapes_labels_and_counts_histograms_cumulatively() -> None:
    registry_text = metrics.REGISTRY.render()
    families = {f.name: f for f in text_string_to_metric_families(registry_text)}
    assert "helpdesk_events_received" in families
    metrics.DIRECTORY_ERRORS.inc("ldap", 'odd "error"\nname\\')
    metrics.DIRECTORY_SECONDS.observe(0.003, "escape-test")
    metrics.DIRECTORY_SECONDS.observe(0.2, "escape-test")
    samples = _samples(metrics.REGISTRY.render())
    assert (
        _value(
            samples, "helpdesk_directory_errors_total", backend="ldap", error='odd "error"\nname\\'
        )
        == 1
    )
    assert (
        _value(samples, "helpdesk_directory_seconds_bucket", backend="escape-test", le="0.005") == 1
    )
    assert (
        _value(samples, "helpdesk_directory_seconds_bucket", backend="escape-test", le="0.25") == 2
    )
    assert _value(samples, "helpdesk_directory_seconds_count", backend="escape-test") == 2
