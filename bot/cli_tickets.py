"""`helpdesk tickets …`: list, show and export tickets (for reporting and audits)."""

from __future__ import annotations

import csv
import dataclasses
import json
import sys

import click

from bot.cli_common import config_errors, count, load, since_option
from bot.config import Settings
from bot.tickets.model import PRIORITIES, STATES, Ticket
from bot.tickets.service import TicketService

_EXPORT_FIELDS = [f.name for f in dataclasses.fields(Ticket)]


def _service(settings: Settings | None = None) -> TicketService:
    from bot.services import build_services

    return build_services(settings or load()).tickets


def _one_of(value: str | None, known: tuple[str, ...], option: str) -> str | None:
    """`value` as configured (any case), or a usage error listing what is configured: a
    misspelt team or category must not read as "0 tickets"."""
    if value is None:
        return None
    for name in known:
        if name.lower() == value.strip().lower():
            return name
    raise click.BadParameter(
        f"no {option[2:]} {value!r} (known: {', '.join(known)})", param_hint=option
    )


@click.group()
def tickets() -> None:
    """Tickets: list them with filters, show one with its log, export for reporting."""


@tickets.command("list")
@click.option("--state", type=click.Choice(STATES), help="Only this state.")
@click.option("--priority", type=click.Choice(PRIORITIES), help="Only this priority.")
@click.option("--assignee", help="Only tickets assigned to this email.")
@click.option("--team", help="Only this resolver team.")
@click.option("--requester", help="Only this requester's email.")
@click.option("--category", help="Only this category.")
@click.option(
    "--since",
    callback=since_option,
    metavar="DATE",
    help="Opened at or after this date or ISO time (2026-11-01; UTC unless an offset is given).",
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@config_errors
def tickets_list(**filters: str | int | None) -> None:
    """Tickets matching every filter given, newest first, one per line."""
    limit = int(filters.pop("limit") or 50)
    settings = load()
    for person in ("assignee", "requester"):  # addresses are stored in lower case
        if isinstance(filters[person], str):
            filters[person] = str(filters[person]).strip().lower()
    team, category = filters["team"], filters["category"]
    filters["team"] = _one_of(None if team is None else str(team), settings.tickets.teams, "--team")
    filters["category"] = _one_of(
        None if category is None else str(category), settings.tickets.categories, "--category"
    )
    found = list(_service(settings).search(limit=limit, **filters))  # type: ignore[arg-type]
    for t in found:
        click.echo(
            f"{t.ref}\t{t.priority}\t{t.state}\t{t.created_at[:16]}Z\t{t.assignee or '-'}"
            f"\t{t.team}\t{t.requester_email}\t{t.summary}"
        )
    click.echo(count(len(found), "ticket"), err=True)


@tickets.command("show")
@click.argument("ticket_id")
@config_errors
def tickets_show(ticket_id: str) -> None:
    """One ticket (HD-1042 or 1042): every field and its whole event log."""
    from bot.tickets.model import parse_ticket_ref

    service = _service()
    number = parse_ticket_ref(ticket_id)
    ticket = service.get(number) if number else None
    if ticket is None:
        click.echo(f"helpdesk: no ticket {ticket_id}", err=True)
        sys.exit(1)
    for name, value in dataclasses.asdict(ticket).items():
        click.echo(f"{name}: {value}")
    click.echo("events:")
    for event in service.events(ticket.number):
        visibility = "public" if event.public else "internal"
        data = f" {json.dumps(event.data, ensure_ascii=False)}" if event.data else ""
        click.echo(f"  {event.at} {event.kind} ({visibility}) {event.actor}: {event.body}{data}")


@tickets.command("export")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--since",
    callback=since_option,
    metavar="DATE",
    help="Opened at or after this date or ISO time (2026-11-01; UTC unless an offset is given).",
)
@config_errors
def tickets_export(as_csv: bool, as_json: bool, since: str | None) -> None:
    """Every ticket (or those opened since a date) to stdout, streamed: --csv or --json."""
    if as_csv == as_json:
        click.echo("helpdesk: choose one of --csv or --json", err=True)
        sys.exit(2)
    rows = _service().search(since=since, limit=None)
    if as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=_EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for ticket in rows:
            writer.writerow(dataclasses.asdict(ticket))
    else:
        for ticket in rows:
            click.echo(json.dumps(dataclasses.asdict(ticket), ensure_ascii=False))
