"""The `helpdesk` command: chat in the terminal, inspect intents, check configuration and the store.

Every command and subcommand has help text (`--help`); a test checks it.
Configuration errors print one line naming the setting and exit with status 2.
"""

from __future__ import annotations

import asyncio
import json
import sys

import click

from bot import __version__
from bot.cli_common import config_errors, input_lines, load
from bot.cli_kb import kb
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
    from bot.adapters.console import ConsoleChat, run_console
    from bot.engine import Engine
    from bot.handlers import default_handlers
    from bot.integrations.directory import DirectoryError
    from bot.messages import Actor
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
        await run_console(ConsoleChat(engine, actor, sys.stdout), sys.stdin, sys.stdout, banner)

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
    from bot.adapters.slack_manifest import manifest_yaml

    if url is not None and not url.startswith("https://"):
        raise click.BadParameter("Slack only calls https:// request URLs", param_hint="--url")
    click.echo(manifest_yaml(name, url), nl=False)


@main.group()
def intents() -> None:
    """See how the bot understands messages."""


@intents.command("classify")
@click.argument("text", nargs=-1)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per line: text, intent, confidence, lang.",
)
@config_errors
def intents_classify(text: tuple[str, ...], as_json: bool) -> None:
    """Classify TEXT, or with '-' one utterance per line from stdin.

    Prints the intent, the confidence (0-1) and the detected language; below the
    threshold (intents.threshold) a message is a knowledge question.
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
    """Check every setting, the KB folder, the demo directory and the store; exit 2 on a problem."""
    from bot.services import build_services

    settings = load()
    services = build_services(settings)
    click.echo(f"configuration OK ({settings.source})")
    click.echo(f"store: {settings.db_path}")
    click.echo(f"knowledge base: {len(services.kb.articles)} articles in {settings.kb.path}")
    click.echo(f"directory: {settings.directory.backend}")


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


@main.group()
def store() -> None:
    """The SQLite store."""


@store.command("migrate")
@config_errors
def store_migrate() -> None:
    """Create the store or bring it to the current schema version."""
    from bot.store import SCHEMA_VERSION, open_store

    settings = load()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    open_store(settings.db_path)
    click.echo(f"{settings.db_path}: schema version {SCHEMA_VERSION}")


@main.group()
def audit() -> None:
    """The self-service audit trail."""


@audit.command("verify")
@config_errors
def audit_verify() -> None:
    """Check the audit trail's hash chain; exit 1 and name the first broken record if any."""
    from bot.store import open_store
    from bot.store.audit import AuditLog

    settings = load()
    checked, problem = AuditLog(open_store(settings.db_path)).verify()
    if problem:
        click.echo(f"audit trail BROKEN after {checked} good records: {problem}", err=True)
        sys.exit(1)
    click.echo(f"audit trail OK: {checked} records")


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
