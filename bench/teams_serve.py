"""Benchmark: the Teams path beside the Slack path, in one `helpdesk serve` process.

One process serves Slack (`POST /slack/events`, signed events) and Teams (`POST
/api/messages`, activities with tokens the Teams stand-in's authority signed; TLS to the
stand-in with its own CA). N events at concurrency C go down each path in turn, the
same questions; printed per path: events/s, ack p50/p99 (HTTP response: 200 for Slack,
202 for Teams, both after the inbox's durable commit) and end-to-end p50/p99 (sent → the
reply recorded by the stand-in).

    python bench/teams_serve.py                 # N=1000, C=20
    python bench/teams_serve.py --smoke         # a few events, to check it runs
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.slack_serve import QUESTIONS, USERS, pct, start  # noqa: E402
from tests.slack_standin import SlackStandIn, event_body, signed_headers  # noqa: E402
from tests.teams_standin import APP_ID, APP_SECRET, TENANT_ID, Member, TeamsStandIn  # noqa: E402

SECRET = "bench-signing-secret"
MEMBERS = {
    f"m{i}": Member(f"29:bench{i}", f"aad-bench-{i:04d}", f"chan.taiman+{i}@corp.example.com")
    for i in range(50)
}


async def load(
    path: str, url: str, slack: SlackStandIn, teams: TeamsStandIn, n: int, c: int, tag: str
) -> dict[str, float]:
    sent: dict[str, float] = {}
    acks: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    token = teams.mint(expires_in=3600)
    start_at = time.monotonic()

    def request(i: int) -> tuple[str, bytes, dict[str, str]]:
        question = QUESTIONS[i % len(QUESTIONS)]
        if path == "slack":
            marker = f"D{tag.upper()}{i}"
            event = {
                "type": "message",
                "channel": marker,
                "channel_type": "im",
                "user": f"UB{i % 50:04d}",
                "text": question,
                "ts": f"1790100000.{i:06d}",
            }
            body = event_body(event, f"Ev{tag}{i}")
            return (
                marker,
                body.encode(),
                {"Content-Type": "application/json", **signed_headers(body, SECRET)},
            )
        activity = teams.message(MEMBERS[f"m{i % 50}"], question)
        marker = f"a:1:{tag}{i}"  # one conversation per event: its reply is found by it
        activity["conversation"]["id"] = marker
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        return marker, json.dumps(activity).encode(), headers

    async def worker(session: aiohttp.ClientSession) -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            marker, body, headers = request(i)
            t0 = time.monotonic()
            sent[marker] = t0
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status not in (200, 202):
                    raise SystemExit(f"{path}: HTTP {response.status}")
            acks.append(time.monotonic() - t0)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c)) as session:
        await asyncio.gather(*(worker(session) for _ in range(c)))
    deadline = time.monotonic() + 120
    done: dict[str, float] = {}
    while time.monotonic() < deadline and len(done) < n:
        if path == "slack":
            for call in slack.called("chat.postMessage"):
                channel = str(call.params.get("channel"))
                if channel in sent and channel not in done:
                    done[channel] = call.at
        else:
            for tcall in teams.called("send"):
                if tcall.conversation in sent and tcall.conversation not in done:
                    done[tcall.conversation] = tcall.at
        await asyncio.sleep(0.05)
    elapsed = max(done.values()) - start_at if done else float("nan")
    e2e = [done[m] - sent[m] for m in done]
    return {
        "events": float(n),
        "answered": float(len(done)),
        "events_per_s": len(done) / elapsed if elapsed else float("nan"),
        "ack_p50_ms": pct(acks, 0.5) * 1000,
        "ack_p99_ms": pct(acks, 0.99) * 1000,
        "e2e_p50_ms": pct(e2e, 0.5) * 1000,
        "e2e_p99_ms": pct(e2e, 0.99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="events per path")
    parser.add_argument("-c", type=int, default=20, help="concurrent senders")
    parser.add_argument("--smoke", action="store_true", help="a few events, to check it runs")
    args = parser.parse_args()
    n, c = (20, 4) if args.smoke else (args.n, args.c)
    slack = SlackStandIn(users=dict(USERS)).start()
    with tempfile.TemporaryDirectory() as tmp:
        teams = TeamsStandIn(Path(tmp) / "teams", dict(MEMBERS)).start()
        config = Path(tmp) / "helpdesk.toml"
        config.write_text(
            f'[teams]\napp_id = "{APP_ID}"\ntenant_id = "{TENANT_ID}"\n'
            f'openid_metadata_url = "{teams.metadata_url}"\ntoken_url = "{teams.token_url}"\n'
            f'allowed_service_urls = ["{teams.service_url}"]\n'
            f'ca_file = "{teams.ca_file.as_posix()}"\n',
            "utf-8",
        )
        env = {
            **os.environ,
            "HELPDESK_CONFIG": str(config),
            "HELPDESK_DATA_DIR": tmp,
            "HELPDESK_HTTP_PORT": "0",
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            "TEAMS_APP_PASSWORD": APP_SECRET,
        }
        proc, port = start([sys.executable, "-m", "bot", "serve"], env)
        figures: dict[str, dict[str, float]] = {}
        try:
            for path, route in (("slack", "/slack/events"), ("teams", "/api/messages")):
                url = f"http://127.0.0.1:{port}{route}"
                asyncio.run(load(path, url, slack, teams, min(20, n), min(5, c), f"w{path}"))
                figures[path] = asyncio.run(load(path, url, slack, teams, n, c, f"x{path}"))
        finally:
            proc.terminate()
            proc.wait(10)
            teams.stop()
    slack.stop()
    print(f"{n} messages per path, concurrency {c}, loopback, one helpdesk serve process")
    print("| path | events/s | ack p50 ms | ack p99 ms | e2e p50 ms | e2e p99 ms |")
    print("|---|---|---|---|---|---|")
    for path, f in figures.items():
        print(
            f"| {path} | {f['events_per_s']:.0f} | {f['ack_p50_ms']:.1f} | {f['ack_p99_ms']:.1f}"
            f" | {f['e2e_p50_ms']:.1f} | {f['e2e_p99_ms']:.1f} |"
        )
    missing = sum(f["events"] - f["answered"] for f in figures.values())
    if missing:
        raise SystemExit(f"{missing:.0f} events got no reply")


if __name__ == "__main__":
    main()
