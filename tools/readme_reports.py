"""Make the README's sample supervisor reports: one day shift at a Hong Kong desk played
through the real ticket and incident services into a fresh store, then the handoff
summary exactly as the scheduler posts it (`render_text`), its chart
(`docs/handoff-chart.png`) and the weekly report as posted (`to_markdown`).

Run: .venv/bin/python tools/readme_reports.py  (prints the Markdown to paste into the
README's supervisors section; deterministic: a fixed clock and seed).
"""

from __future__ import annotations

import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import parse_settings
from bot.handlers.supervisor import build_handoff
from bot.incidents.service import IncidentService
from bot.reports.chart import handoff_chart
from bot.reports.handoff import render_text
from bot.reports.weekly import to_markdown, weekly
from bot.services import build_services

ROOT = Path(__file__).resolve().parent.parent
SHIFT_START = datetime(2026, 11, 19, 23, 0, tzinfo=UTC)  # 07:00 HKT, Friday 20 Nov
ENGINEERS = ("ho.kawai@corp.example.com", "tsang.hoiyan@corp.example.com")
PEOPLE = [f"staff{i:02d}@corp.example.com" for i in range(40)]
EVERYDAY = (
    ("Outlook keeps asking for my password", "email", "P3"),
    ("second monitor not detected on the dock", "hardware", "P3"),
    ("printer on 5/F jams on every job", "printing", "P4"),
    ("need Visio installed", "software", "P4"),
    ("Teams calls drop after a minute", "Teams", "P3"),
    ("account locked after the holiday", "account & access", "P2"),
    ("phishing email asking for my login", "security", "P2"),
    ("order entry screen frozen on the desk", "software", "P1"),
)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def main() -> None:
    rng = random.Random(11)  # noqa: S311 - sample data, not security
    clock = Clock(SHIFT_START - timedelta(days=6))
    with tempfile.TemporaryDirectory() as folder:
        settings = parse_settings(
            f'[kb]\npath = "{(ROOT / "kb").as_posix()}"\n'
            f'[directory]\ndemo_file = "{(ROOT / "data" / "demo-directory.json").as_posix()}"\n',
            "readme",
            {"HELPDESK_DATA_DIR": folder},
        )
        services = build_services(settings, clock)
        tickets = services.tickets
        incidents = IncidentService(services.db, settings, tickets, clock)

        def open_one(summary: str, category: str, priority: str, who: str) -> int:
            ticket, _ = tickets.open(
                requester_email=who,
                requester_platform="slack",
                requester_user_id=f"U{who[:7]}",
                summary=summary,
                description=summary,
                category=category,
                priority=priority,
            )
            return ticket.number

        # the week before: an ordinary load, most of it resolved
        for day in range(6):
            for _ in range(rng.randint(5, 9)):
                clock.now = SHIFT_START - timedelta(days=6 - day, hours=-rng.random() * 8)
                summary, category, priority = rng.choice(EVERYDAY[:-1])
                number = open_one(summary, category, priority, rng.choice(PEOPLE))
                if rng.random() < 0.8:
                    engineer = rng.choice(ENGINEERS)
                    clock.now += timedelta(minutes=rng.randint(5, 50))
                    tickets.claim(number, engineer)
                    clock.now += timedelta(minutes=rng.randint(20, 300))
                    tickets.resolve(number, engineer, "fixed and confirmed with the user")
                    if rng.random() < 0.5:
                        tickets.csat(
                            number,
                            tickets.require(number).requester_email,
                            rng.choice((4, 5, 5, 3)),
                        )
        # the shift: everyday tickets, then six people report the VPN within ten minutes
        for minute in sorted(rng.sample(range(0, 470), 14)):
            clock.now = SHIFT_START + timedelta(minutes=minute)
            summary, category, priority = rng.choice(EVERYDAY)
            number = open_one(summary, category, priority, rng.choice(PEOPLE))
            if rng.random() < 0.6:
                clock.now += timedelta(minutes=rng.randint(3, 30))
                engineer = rng.choice(ENGINEERS)
                tickets.claim(number, engineer)
                if rng.random() < 0.7:
                    clock.now += timedelta(minutes=rng.randint(15, 120))
                    tickets.resolve(number, engineer, "fixed and confirmed with the user")
                    tickets.csat(
                        number, tickets.require(number).requester_email, rng.choice((3, 4, 5, 5))
                    )
                elif category in ("software", "Teams"):
                    tickets.escalate(number, engineer, "Messaging", "needs the vendor")
        for i, text in enumerate(
            (
                "VPN down",
                "VPN not connecting from home",
                "can't get on the VPN",
                "VPN 上唔到",
                "VPN keeps dropping",
                "VPN login fails",
            )
        ):
            clock.now = SHIFT_START + timedelta(hours=2, minutes=10 + i * 2)
            open_one(text, "network/VPN", "P2", PEOPLE[30 + i])
        clock.now = SHIFT_START + timedelta(hours=2, minutes=40)
        incidents.update(
            1, ENGINEERS[0], "gateway certificate expired; renewing", shown_as="Ho Ka Wai"
        )
        clock.now = SHIFT_START + timedelta(hours=3, minutes=5)
        incidents.resolve(1, ENGINEERS[0], "The VPN gateway's certificate was renewed; reconnect.")
        rotation = settings.rotation
        shift = rotation.shift_at(rotation.teams[0], SHIFT_START)
        services.handoffs.add_note(
            shift.team, shift.key, ENGINEERS[1], "5/F printer: vendor visit booked for Monday"
        )
        clock.now = SHIFT_START + timedelta(hours=8, minutes=1)
        summary = build_handoff(services, shift)
        text = render_text(summary, "en")
        handoff_chart(summary, ROOT / "docs" / "handoff-chart.png", "en")
        monday = datetime(2026, 11, 16, tzinfo=ZoneInfo("Asia/Hong_Kong"))
        report = weekly(services.db.conn, monday, monday + timedelta(days=7))
        week = to_markdown(report, "en")
        services.db.conn.close()
    print(
        "**Handoff, as posted to `reports.supervisors_channel`** (the chart goes in its thread):\n"
    )
    print("```text\n" + text.rstrip() + "\n```\n")
    print(
        "![Handoff chart: tickets per hour by priority, top categories](docs/handoff-chart.png)\n"
    )
    print("**Weekly team report, as posted** (Markdown):\n")
    print("```markdown\n" + week.rstrip() + "\n```")


if __name__ == "__main__":
    main()
