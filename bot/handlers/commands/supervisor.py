"""The supervisors' subcommands: the weekly team report on demand."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.handlers.commands.registry import Call, command
from bot.handlers.roles import Role
from bot.messages import Reply
from bot.reports.weekly import to_markdown, weekly


@command("weekly", "weekly [<date in the week>] [team]", Role.SUPERVISOR)
async def weekly_report(call: Call) -> list[Reply]:
    """The week's team report (last week by default) in the rotation's first team's zone,
    as `reports.weekly_day` posts it; a team named after the date filters it."""
    turn, args = call.turn, list(call.args)
    services = turn.services
    rotation = services.settings.rotation
    zone = ZoneInfo(rotation.team(rotation.teams[0]).timezone)
    day = services.clock().astimezone(zone).date() - timedelta(days=7)
    if args:
        try:
            day = date.fromisoformat(args[0])
            args = args[1:]
        except ValueError:
            pass
    team = " ".join(args).strip() or None
    if team is not None:
        known = {x.lower(): x for x in services.tickets.teams}
        if team.lower() not in known:
            teams = ", ".join(services.tickets.teams)
            return [Reply(turn.t("ticket.unknown_team", team=team, teams=teams), private=True)]
        team = known[team.lower()]
    monday = day - timedelta(days=day.weekday())
    start = datetime.combine(monday, time(), zone)
    report = weekly(services.db.conn, start, start + timedelta(days=7), team=team)
    text = to_markdown(report, "zh-Hant" if turn.t.lang == "zh-Hant" else "en")
    return [Reply(text, private=True)]
