"""`helpdesk report …`: the shift handoff summary and the weekly team report, for supervisors
and for management, from the store (no chat platform needed)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from bot.cli_common import config_errors, load, parse_day


@click.group()
def report() -> None:
    """Reports for supervisors: the shift handoff and the weekly team report."""


@report.command("handoff")
@click.option("--team", default=None, help="Rotation team (default: the first in [rotation]).")
@click.option(
    "--shift",
    "which",
    default="previous",
    show_default=True,
    metavar="previous|current|DATE NAME",
    help='Which shift: "previous", "current", or a local date and a shift name, e.g.'
    ' "2026-11-21 Night".',
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--lang",
    type=click.Choice(["en", "zh-Hant"]),
    default=None,
    help="Language (default: reports.language).",
)
@click.option(
    "--chart",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Also write the chart (PNG) to this file.",
)
@config_errors
def report_handoff(
    team: str | None, which: str, fmt: str, lang: str | None, chart: Path | None
) -> None:
    """A shift's handoff summary: opened, resolved, open, P1/P2, SLA, escalations, trends,
    self-service and deflection, CSAT, unusual events, notes, on-call now and next."""
    from bot.handlers.supervisor import shift_asked
    from bot.reports.handoff import render_markdown, render_text, to_json
    from bot.reports.shift_handoff import build_handoff
    from bot.services import build_services

    settings = load()
    services = build_services(settings)
    rotation = settings.rotation
    name = team or rotation.teams[0]
    if name not in rotation.teams:
        raise click.BadParameter(f"no team {name!r} (teams: {', '.join(rotation.teams)})")
    words = which.split()
    if words and words[0].lower() not in ("previous", "current"):
        parse_day(words[0], "--shift")  # a misspelt or impossible date, said as such
    shift = shift_asked(rotation, name, services.clock(), words)
    if shift is None:
        raise click.BadParameter(
            f'{which!r}: use previous, current or "YYYY-MM-DD SHIFT"', param_hint="--shift"
        )
    if shift.start > services.clock():
        raise click.BadParameter(
            f"the {shift.name} shift on {shift.local_date} has not started yet",
            param_hint="--shift",
        )
    summary = build_handoff(services, shift)
    language = lang or settings.reports.language
    if fmt == "json":
        click.echo(json.dumps(to_json(summary), ensure_ascii=False, indent=2))
    elif fmt == "markdown":
        click.echo(render_markdown(summary, language))
    else:
        click.echo(render_text(summary, language))
    if chart is not None:
        from bot.reports.chart import charts_installed, handoff_chart, text_chart

        if not charts_installed():
            click.echo(text_chart(summary, language))
            raise click.UsageError(
                "--chart draws a PNG with matplotlib, which is not installed:"
                " pip install 'helpdesk-bot[charts]' (the chart is shown above as text)"
            )
        handoff_chart(summary, chart, language)
        click.echo(f"chart: {chart}", err=True)


@report.command("weekly")
@click.option(
    "--week",
    default=None,
    metavar="DATE",
    help="Any date in the week (Monday to Sunday, rotation time zone); default: last week.",
)
@click.option("--team", default=None, help="Only this resolver team's tickets.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "csv"]),
    default="markdown",
    show_default=True,
    help="Output format.",
)
@click.option("--lang", type=click.Choice(["en", "zh-Hant"]), default=None, help="Language.")
@config_errors
def report_weekly(week: str | None, team: str | None, fmt: str, lang: str | None) -> None:
    """The weekly team report: per engineer resolved, median first response and resolution,
    SLA attainment, CSAT; per category volume and trend; top KB gaps; reopen rate."""
    from bot.reports.weekly import to_csv, to_markdown, weekly
    from bot.store import open_store

    settings = load()
    if team is not None and team not in settings.tickets.teams:
        known = ", ".join(settings.tickets.teams)
        raise click.BadParameter(f"no team {team!r} (teams: {known})", param_hint="--team")
    zone = ZoneInfo(settings.rotation.team(settings.rotation.teams[0]).timezone)
    day = parse_day(week, "--week") if week else datetime.now(zone).date() - timedelta(days=7)
    monday = day - timedelta(days=day.weekday())
    start = datetime.combine(monday, time(), zone)
    end = datetime.combine(monday + timedelta(days=7), time(), zone)
    db = open_store(settings.store)
    result = weekly(db.conn, start, end, team=team)
    if fmt == "csv":
        sys.stdout.write(to_csv(result))
    else:
        click.echo(to_markdown(result, "zh-Hant" if lang == "zh-Hant" else "en"))
