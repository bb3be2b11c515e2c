"""`helpdesk store`: create, back up, restore and prune the store (backup and restore: the
SQLite file; on PostgreSQL the database's own tools)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli_common import config_errors, load
from bot.config import Settings


@click.group()
def store() -> None:
    """The store: migrate, back up, restore (SQLite), prune."""


@store.command("migrate")
@config_errors
def store_migrate() -> None:
    """Create the store or bring it to the current schema version."""
    from bot.store import SCHEMA_VERSION, open_store

    settings = load()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    open_store(settings.store)
    click.echo(f"{settings.store_shown}: schema version {SCHEMA_VERSION}")


@store.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@config_errors
def store_backup(file: Path) -> None:
    """Copy the store to FILE while the bot runs (consistent), with its audit anchor as
    FILE.audit-head; the copy is checked (integrity, audit chain) before it is kept."""
    from bot.store import open_store
    from bot.store.backup import BackupError, backup

    settings = load()
    _refuse_on_postgres(settings, "backup")
    try:
        done = backup(open_store(settings.store), file)
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
    _refuse_on_postgres(settings, "restore")
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


def _refuse_on_postgres(settings: Settings, what: str) -> None:
    """Backup and restore are for the SQLite file. On PostgreSQL they are the database's
    own tools -- decided so because pg_dump (consistent while the bot runs, one
    transaction's snapshot) and point-in-time recovery (a base backup plus archived WAL)
    already do it better than the bot could, and shipping pg_dump inside the bot would
    tie it to the server's major version. README, "Operations"."""
    if settings.store_url is None:
        return
    click.echo(
        f"helpdesk: store {what} is for the SQLite store; on PostgreSQL"
        f" ({settings.store_shown}) use pg_dump --format=custom / pg_restore, or the"
        " server's point-in-time recovery, and keep the audit anchor"
        " (`helpdesk audit anchor`) with it: see README, Operations",
        err=True,
    )
    sys.exit(1)


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
    counts = prune(open_store(settings.store), settings.retention, utcnow(), dry_run)
    verb = "would delete" if dry_run else "deleted"
    for table, count in counts.items():
        click.echo(f"{table}: {verb} {count}")
