"""The `helpdesk` command: chat in the terminal, inspect intents, check configuration and the store.

Every command and subcommand has help text (`--help`); a test checks it.
Configuration errors print one line naming the setting and exit with status 2.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from bot import __version__
from bot.cli_common import config_errors, input_lines, load
from bot.cli_kb import kb
from bot.cli_reports import report
from bot.cli_store import store
from bot.cli_tickets import tickets
from bot.errors import ConfigError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="helpdesk")
def main() -> None:
    """IT helpdesk bot: knowledge answers, safe self-service and tickets, in chat.

    Settings come from HELPDESK_CONFIG (default helpdesk.toml; embedded defaults
    when it does not exist) and HELPDESK_DATA_DIR (default data/).
    """


main.add_command(kb)
main.add_command(report)
main.add_command(store)
main.add_command(tickets)


@main.command()
@click.option(
    "--as",
    "as_email",
    metavar="EMAIL",
    help="Chat as this demo user (default: console.default_user).",
)
@config_errors
def chat(as_email: str | None) -> None:
    """Chat with the bot in this terminal (the demo directory, the shipped KB, the SQLite store).

    Interactive on a terminal; with piped input, one message per line. Answer a
    numbered choice with its number. Type quit to leave.
    """
    from bot.adapters.console import ConsoleChat, ConsoleTransport, run_console
    from bot.engine import Engine
    from bot.handlers import default_handlers
    from bot.integrations.directory import DirectoryError
    from bot.messages import Actor
    from bot.outbox.render import Renderer
    from bot.outbox.worker import OutboxWorker
    from bot.services import build_services

    settings = load()
    if settings.directory.backend != "demo":
        raise ConfigError(
            "directory.backend",
            "helpdesk chat trusts --as as the user's identity,"
            " so it only runs on the demo directory",
        )
    services = build_services(settings)
    email = (as_email or settings.console.default_user).strip().lower()
    engine = Engine(services, default_handlers())

    async def session() -> None:
        display = ""
        try:
            display = (await services.directory.find_by_email(email)).display_name
        except DirectoryError:
            click.echo(
                f"helpdesk: warning: no demo user {email};"
                " questions work, account actions will not."
                " List users with: helpdesk demo users",
                err=True,
            )
        actor = Actor(platform="console", user_id=email, email=email, display_name=display)
        banner = (
            f"{settings.bot.name} — console chat as {display or email}."
            " Type your question; answer a numbered choice with its number; 'quit' leaves."
        )
        transport = ConsoleTransport(sys.stdout)
        renderer = Renderer(services, platforms=(transport.platform,))
        outbox = OutboxWorker(services.db, transport, renderer, services.clock)

        async def background() -> None:
            services.tickets.scan()
            await outbox.run_once()

        chat = ConsoleChat(engine.handle, actor, background)
        await run_console(chat, sys.stdin, sys.stdout, banner)

    asyncio.run(session())


@main.command()
@config_errors
def serve() -> None:
    """Run the bot in Slack: Socket Mode (with SLACK_APP_TOKEN) and the HTTP endpoint.

    Needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET; SLACK_APP_TOKEN turns on Socket
    Mode; SLACK_API_URL points at another Web API (default https://slack.com/api/).
    Listens on HELPDESK_HTTP_HOST:HELPDESK_HTTP_PORT (default 127.0.0.1:3000) for
    POST /slack/events and GET /healthz. Stop with Ctrl-C or SIGTERM.
    """
    import os

    from bot.serve import run

    run(load(), os.environ)


@main.group()
def slack() -> None:
    """Set up the Slack app."""


@slack.command("manifest")
@click.option("--name", default="IT Helpdesk", show_default=True, help="The app's name in Slack.")
@click.option(
    "--url",
    metavar="https://HOST",
    help="Use HTTP request URLs at HOST/slack/events instead of Socket Mode.",
)
def slack_manifest(name: str, url: str | None) -> None:
    """Print the Slack app manifest (YAML) with exactly the scopes, events, slash command,
    shortcut and App Home the bot uses. Paste it at api.slack.com/apps → Create New App."""
    from bot.adapters.slack.manifest import manifest_yaml
    from bot.handlers.commands import COMMANDS
    from bot.handlers.commands.registry import usage_hint

    if url is not None and not url.startswith("https://"):
        raise click.BadParameter("Slack only calls https:// request URLs", param_hint="--url")
    click.echo(manifest_yaml(name, url, usage_hint(COMMANDS)), nl=False)


@main.group()
def teams() -> None:
    """Set up the Teams app."""


@teams.command("manifest")
@click.option("--name", default="IT Helpdesk", show_default=True, help="The app's name in Teams.")
@click.option(
    "--url",
    required=True,
    metavar="https://HOST",
    help="The public base URL; Teams posts to HOST/api/messages (the messaging endpoint).",
)
@click.option(
    "--output",
    "-o",
    default="helpdesk-teams.zip",
    show_default=True,
    help="Where to write the app package (a zip to upload in Teams).",
)
@config_errors
def teams_manifest(name: str, url: str, output: str) -> None:
    """Write the Teams app package (manifest.json with the bot, its command menus and valid
    domains, plus the two icons) for `teams.app_id`, ready to upload to the org catalogue."""
    from pathlib import Path
    from urllib.parse import urlsplit

    from bot.adapters.teams.manifest import package

    settings = load()
    if not settings.teams.app_id:
        raise click.UsageError("set teams.app_id (the Azure Bot's Microsoft App ID) first")
    where = urlsplit(url)
    if where.scheme != "https" or not where.hostname:
        raise click.BadParameter("Teams only calls https:// endpoints", param_hint="--url")
    Path(output).write_bytes(package(settings.teams.app_id, where.netloc, name))
    click.echo(
        f"wrote {output}: upload it in Teams; messaging endpoint {url.rstrip('/')}/api/messages"
    )


@main.group()
def intents() -> None:
    """See how the bot understands messages."""


@intents.command("classify")
@click.argument("text", nargs=-1)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per line: text, intent, confidence, lang, top (the two best), ask.",
)
@config_errors
def intents_classify(text: tuple[str, ...], as_json: bool) -> None:
    """Classify TEXT, or with '-' one utterance per line from stdin.

    Prints the intent, the confidence (0-1) and the detected language; below the
    threshold (intents.threshold) a message is a knowledge question. With --json also the
    two best intents with their probabilities, and whether the bot would ask which one.
    """
    from bot.intents import IntentClassifier

    settings = load()
    classifier = IntentClassifier(settings.intents.threshold)
    lines = input_lines(text, "TEXT")
    for line in lines:
        result = classifier.classify(line)
        if as_json:
            record = {
                "text": line,
                "intent": result.intent,
                "confidence": result.confidence,
                "lang": result.lang,
                "top": [
                    {"intent": result.intent, "confidence": result.confidence},
                    {"intent": result.runner_up, "confidence": result.runner_up_confidence},
                ],
                "ask": result.close,
            }
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            click.echo(f"{result.intent}\t{result.confidence:.2f}\t{result.lang}\t{line}")


@intents.command("list")
def intents_list() -> None:
    """List the intents, the handler serving each and its help text."""
    from bot.handlers import default_handlers

    for handler in default_handlers():
        doc = (handler.__doc__ or "").strip().splitlines()[0]
        click.echo(f"{handler.intent:<15} {type(handler).__name__:<14} {doc}")


@main.group()
def config() -> None:
    """Check and show the configuration."""


@config.command("check")
@config_errors
def config_check() -> None:
    """Check every setting, the KB folder, the directory (an LDAP directory is contacted once:
    TLS, bind, password policy; Graph is not called) and the store; exit 2 on a problem.
    `helpdesk doctor` contacts every part."""
    import asyncio

    from bot.integrations.directory import DirectoryError
    from bot.services import build_services

    settings = load()
    services = build_services(settings)
    backend = settings.directory.backend
    directory = f"directory: {backend}"
    if "ldap" in backend:
        try:
            policy = asyncio.run(services.directory.password_policy())
        except DirectoryError as exc:
            click.echo(f"helpdesk: {directory}: cannot use it ({exc})", err=True)
            sys.exit(2)
        directory += (
            f" (AD connected; minimum password length {policy.min_length},"
            f" lockout after {policy.lockout_threshold} bad passwords"
        )
        directory += "; Graph configured, not contacted)" if "graph" in backend else ")"
    elif backend == "graph":
        directory += " (configured, not contacted: `helpdesk doctor` calls it)"
    click.echo(f"configuration OK ({settings.source})")
    click.echo(f"store: {settings.db_path}")
    click.echo(f"knowledge base: {len(services.kb.articles)} articles in {settings.kb.path}")
    encoder = services.kb.encoder
    if encoder is None:
        click.echo(
            f"warning: knowledge search has no sentence encoder ({services.kb.encoder_problem});"
            " it searches with its word lists and static embeddings only",
            err=True,
        )
    else:
        click.echo(f"knowledge search: sentence encoder {encoder.model_id}")
    click.echo(directory)


@main.command()
@config_errors
def doctor() -> None:
    """Contact every configured part for real, one line each with what to fix; exit 1 if any
    failed.

    The store (a write read back), the knowledge base (a probe question), the sentence
    encoder, the directory (LDAP: TLS, bind and a search; Graph: a token and one read),
    and each chat platform with a token set (Slack: auth.test, and apps.connections.open
    with SLACK_APP_TOKEN).
    """
    from bot.doctor import run

    lines, healthy = run(load())
    for line in lines:
        click.echo(line)
    if not healthy:
        sys.exit(1)


@config.command("show")
@config_errors
def config_show() -> None:
    """Print the settings in force, as TOML (secrets are never part of it)."""
    import dataclasses

    from bot.config import SECTIONS

    settings = load()
    click.echo(f"# from {settings.source}; HELPDESK_DATA_DIR={settings.data_dir}")
    for name in SECTIONS:
        click.echo(f"\n[{name}]")
        section = getattr(settings, name)
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            shown = value.as_posix() if hasattr(value, "as_posix") else value
            click.echo(f"{f.name} = {json.dumps(shown, ensure_ascii=False)}")
    for item in settings.catalogue:
        click.echo(f"\n[catalogue.{json.dumps(item.name, ensure_ascii=False)}]")
        for f in dataclasses.fields(item)[1:]:
            value = getattr(item, f.name)
            click.echo(f"{f.name} = {json.dumps(value, ensure_ascii=False)}")


@main.group()
def audit() -> None:
    """The self-service audit trail: verify it, export it, anchor its head."""


@audit.command("verify")
@config_errors
def audit_verify() -> None:
    """Check the audit trail; exit 1 naming the first problem if any.

    Walks the hash chain (an edited, deleted or reordered record) and compares it
    with the anchor file beside the store, helpdesk.db.audit-head (records cut off
    the end, a chain rewritten before the anchor, an anchor deleted or unreadable).
    An anchor behind the table (a crash after a write) is fine.
    """
    from bot.store import open_store
    from bot.store.audit import AnchorError, AuditLog

    settings = load()
    log = AuditLog(open_store(settings.db_path))
    checked, problem = log.verify()
    if problem:
        click.echo(f"audit trail BROKEN after {checked} good records: {problem}", err=True)
        sys.exit(1)
    try:
        anchor = log.anchor()
    except AnchorError:  # changed since verify read it; the next verify will say
        anchor = None
    where = ""
    if anchor is not None and anchor.seq < checked:
        where = f"; anchored at record {anchor.seq} (behind: a crash or an append under way)"
    elif anchor is not None:
        where = f"; anchored at record {anchor.seq}"
    click.echo(f"audit trail OK: {checked} records{where}")


@audit.command("export")
@click.option(
    "--since",
    metavar="ISO-TIME-OR-DATE",
    help="Only records at or after this time: 2026-11-01 or 2026-11-01T09:30:00+08:00"
    " (UTC when no offset is given).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="jsonl: one JSON object per line; csv: a header row, then one row per record.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    metavar="FILE",
    help="Write to FILE (replaced if it exists) instead of stdout.",
)
@config_errors
def audit_export(since: str | None, fmt: str, output: str | None) -> None:
    """Every audit record in seq order, every field (seq, prev_hash and hash included), streamed.

    Export does not check the chain: run `helpdesk audit verify` for that. The hashes
    let anyone re-check an export (see bot.store.audit.record_hash).
    """
    import contextlib
    import csv
    from datetime import UTC, datetime

    from bot.store import open_store
    from bot.store.audit import EXPORT_FIELDS, AuditLog

    start = None
    if since is not None:
        try:
            start = datetime.fromisoformat(since.strip().replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter(
                f"{since!r} is not a date (2026-11-01) or an ISO time (2026-11-01T09:30:00Z)",
                param_hint="--since",
            ) from None
        start = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    settings = load()
    log = AuditLog(open_store(settings.db_path))
    count = 0
    with contextlib.ExitStack() as stack:
        out = sys.stdout
        if output is not None:
            out = stack.enter_context(Path(output).open("w", encoding="utf-8", newline=""))
        if fmt == "csv":
            writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
            writer.writeheader()
            for row in log.export(start):
                writer.writerow(row)
                count += 1
        else:
            for row in log.export(start):
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
    click.echo(f"{count} audit records", err=True)


@audit.command("anchor")
@config_errors
def audit_anchor() -> None:
    """Admin: verify the chain, then write its head to the anchor file beside the store.

    For a store from before anchors, or whose anchor was lost: `helpdesk audit verify`
    fails on a missing anchor until this is run. Appends keep the anchor up to date
    afterwards. Refuses (exit 1) if the chain is broken or the anchor says records are
    missing or differ: a truncation is never papered over. To accept a known loss (a
    store restored from a backup), move the old anchor aside, keep it, and run this.
    """
    from bot.store import open_store
    from bot.store.audit import AnchorError, AuditLog, AuditProblem

    settings = load()
    log = AuditLog(open_store(settings.db_path))
    try:
        was = "there was none" if log.anchor() is None else ""
    except AnchorError as exc:
        was = f"replaced an unreadable one: {exc}"
    try:
        before, after = log.reanchor()
    except AuditProblem as exc:
        click.echo(f"helpdesk: not anchoring, the audit trail is BROKEN: {exc}", err=True)
        sys.exit(1)
    was = was or ("there was none" if before is None else f"was record {before.seq}")
    click.echo(f"anchored at record {after.seq} in {log.anchor_path} ({was})")


@main.group()
def demo() -> None:
    """The demo directory."""


@demo.command("users")
@config_errors
def demo_users() -> None:
    """List the demo users (for `helpdesk chat --as EMAIL`) and what makes each interesting."""
    from bot.integrations.demo import DemoDirectory

    settings = load()
    for account in DemoDirectory(settings.directory.demo_file).accounts:
        flags = [
            word
            for word, on in (
                ("locked", account.locked),
                ("disabled", not account.enabled),
                ("privileged", account.privileged),
                ("service", account.service_account),
                ("must-change", account.must_change_password),
            )
            if on
        ]
        click.echo(f"{account.email:<36} {account.source:<7} {' '.join(flags)}")
