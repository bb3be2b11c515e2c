"""`helpdesk store`: create, back up, restore and prune the SQLite store."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli_common import config_errors, load


@click.group()
def store() -> None:
    """The SQLite store: migrate, back up, restore, prune."""


@store.command("migrate")
@config_errors
def store_migrate() -> None:
    """Create the store or bring it to the current schema version."""
    from bot.store import SCHEMA_VERSION, open_store

    settings = load()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    open_store(settings.db_path)
    click.echo(f"{settings.db_path}: schema version {SCHEMA_VERSION}")


@store.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@config_errors
def store_backup(file: Path) -> None:
    """Copy the store to FILE while the bot runs (consistent), with its audit anchor as
    FILE.audit-head; the copy is checked (integrity, audit chain) before it is kept."""
    from bot.store import open_store
    from bot.store.backup import BackupError, backup

    settings = load()
    try:
        done = backup(open_store(settings.db_path), file)
    except BackupError as exc:
        click.echo(f"helpdesk: backup failed: {exc}", err=True)
        sys.exit(1)
    anchor = f" and {done.anchor}" if done.anchor else " (the store had no audit anchor)"
    click.echo(
        f"backed up {settings.db_path} to {done.database}{anchor}:"
        f" {done.size_bytes} bytes, {done.audit_records} audit records verified"
    )


@store.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@config_errors
def store_restore(file: Path, yes: bool) -> None:
    """Replace the store with the backup FILE (stop the bot first). The current store's
    files are kept beside it as *.replaced-<time>; run `helpdesk audit verify` after."""
    from bot.store.backup import BackupError, restore

    settings = load()
    if not yes:
        click.confirm(
            f"Replace {settings.db_path} with {file}? Stop every running bot first", abort=True
        )
    try:
        done = restore(file, settings.db_path)
    except BackupError as exc:
        click.echo(f"helpdesk: restore refused: {exc}", err=True)
        sys.exit(1)
    for path in done.replaced:
        click.echo(f"kept the replaced {path}")
    click.echo(f"restored {done.database} from {file}: {done.audit_records} audit records verified")


@store.command("prune")
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
@config_errors
def store_prune(dry_run: bool) -> None:
    """Delete rows past their retention ([retention] in the settings): processed event ids,
    transcripts, knowledge searches, delivered outbox rows, expired conversations.
    Tickets and the audit trail are never pruned. Safe while the bot runs."""
    from bot.clock import utcnow
    from bot.store import open_store
    from bot.store.prune import prune

    settings = load()
    counts = prune(open_store(settings.db_path), settings.retention, utcnow(), dry_run)
    verb = "would delete" if dry_run else "deleted"
    for table, count in counts.items():
        click.echo(f"{table}: {verb} {count}")
