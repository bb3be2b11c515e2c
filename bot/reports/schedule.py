"""The handoff scheduler inside `helpdesk serve`: at every shift boundary, the summary of the
shift that ended goes to the supervisors' channel — exactly once.

Each run (every 30 s) asks the rotation for the shifts that started since the last summary
queued for that team (or, on a store with none yet, since the bot started), and queues the
summary of the shift before each of them. A shift's key (`team|date|name`) is the primary
key of `handoff_posts` and the outbox dedupe key, so overlapping runs, a restart or a crash
between the two writes never posts one twice; a boundary passed while the bot was down is
found on the next run and its summary is marked late (`reports.late_after_minutes`). The
text is rendered when queued; the chart is drawn when the message is delivered (without
matplotlib, the `charts` extra, the summary carries the chart as text instead).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.clock import iso
from bot.messages import Recipient
from bot.reports.chart import charts_installed, text_chart
from bot.reports.handoff import label, render_text
from bot.reports.shift_handoff import build_handoff
from bot.services import Services


def queue_due_handoffs(services: Services, started_at: datetime) -> int:
    """Queue every handoff summary that is due; return how many were queued."""
    settings = services.settings
    rotation = settings.rotation
    now = services.clock()
    late_after = timedelta(minutes=settings.reports.late_after_minutes)
    charts = charts_installed()
    queued = 0
    for team in rotation.teams:
        since = services.handoffs.last_posted_end(team) or started_at
        for began in rotation.shifts_between(team, since, now):
            ended = rotation.previous_shift(began)
            late = now - ended.end > late_after
            summary = build_handoff(services, ended)
            text = render_text(summary, settings.reports.language)
            if late:
                text = label(settings.reports.language, "late") + text
            kind = "handoff"  # the transport draws its chart when delivering it
            if not charts:  # no matplotlib: the chart as text, and nothing to draw
                text += "\n\n" + text_chart(summary, settings.reports.language)
                kind = "notice"
            services.outbox.put(
                f"handoff:{ended.key}",
                kind,
                Recipient.channel(settings.reports.supervisors_channel),
                {
                    "text": text,
                    "choices": [],
                    "team": team,
                    "start": iso(ended.start),
                    "late": late,
                },
            )
            if services.handoffs.claim(ended.key, team, ended.end, late):
                queued += 1
    return queued


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def queue_weekly_report(services: Services, started_at: datetime) -> bool:
    """Queue last week's team report once it is due (`reports.weekly_day`/`weekly_time`, in
    the first rotation team's zone); once per week whatever restarts happen (outbox key).
    A report that fell due before this process started is posted (late) only if an earlier
    one was posted, i.e. the bot was running then: a first start does not post old weeks."""
    from bot.reports.weekly import to_markdown, weekly

    settings = services.settings
    rotation = settings.rotation
    zone = ZoneInfo(rotation.team(rotation.teams[0]).timezone)
    now = services.clock().astimezone(zone)
    monday = now.date() - timedelta(days=now.weekday())
    hour, minute = (int(x) for x in settings.reports.weekly_time.split(":"))
    due = datetime.combine(
        monday + timedelta(days=_DAYS.index(settings.reports.weekly_day)),
        time(hour, minute),
        zone,
    )
    if due > now:
        due -= timedelta(days=7)
    week_end = datetime.combine(due.date() - timedelta(days=due.weekday()), time(), zone)
    week_start = week_end - timedelta(days=7)
    key = f"weekly:{week_start.date().isoformat()}"
    if services.outbox.exists(key):
        return False
    if due < started_at and not services.outbox.exists_like("weekly:%"):
        return False
    report = weekly(services.db.conn, week_start, week_end)
    text = to_markdown(report, "zh-Hant" if settings.reports.language == "zh-Hant" else "en")
    return services.outbox.put(
        key,
        "notice",
        Recipient.channel(settings.reports.supervisors_channel),
        {"text": text, "choices": []},
    )
