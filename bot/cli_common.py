"""Helpers shared by the `helpdesk` command modules."""

from __future__ import annotations

import errno
import logging
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from functools import wraps
from typing import Any, TypeVar

import click

from bot import log_redaction, logs
from bot.clock import iso
from bot.config import Settings, load_settings
from bot.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


def load() -> Settings:
    """The settings, with logging set up at their level (stderr), and HELPDESK_DATA_DIR
    created if missing (as the README promises, for every command alike)."""
    settings = load_settings()
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            "HELPDESK_DATA_DIR", f"cannot create {settings.data_dir} ({exc.strerror})"
        ) from None
    logs.configure(settings.log_level, settings.log_format)
    quiet_libraries()
    log_redaction.install()
    return settings


CHATTY_LIBRARIES = (
    "slack_sdk",
    "slack_bolt",
    "aiohttp",
    "httpx",
    "httpcore",
    "msal",
    "urllib3",
    "requests",
    "ldap3",
)
"""Libraries that log request and response bodies at DEBUG (a temporary password, a Temporary
Access Pass, a token): they never log below INFO, whatever HELPDESK_LOG_LEVEL says."""


def quiet_libraries() -> None:
    for name in CHATTY_LIBRARIES:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)


def config_errors(func: F) -> F:
    """Turn a `ConfigError` into one clear line on stderr and exit status 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"helpdesk: configuration error: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def input_lines(words: tuple[str, ...], what: str) -> Iterable[str]:
    """The words as one line, or with '-' every line of stdin (undecodable bytes replaced)."""
    if words == ("-",):
        return (raw.decode("utf-8", errors="replace").rstrip("\r\n") for raw in sys.stdin.buffer)
    if words:
        return [" ".join(words)]
    raise click.UsageError(f"give {what}, or '-' to read one per line from stdin")


class GuardedGroup(click.Group):
    """The top `helpdesk` group: whatever a command meets (a folder that does not exist, a file
    that is not UTF-8, a disk that is full), the person sees one sentence and exit status 1,
    never a traceback. Click's own usage errors and `sys.exit` pass through untouched; the
    traceback of an unexpected error goes to the log at DEBUG (HELPDESK_LOG_LEVEL=DEBUG)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except OSError as exc:
            _fail(_os_problem(exc))
        except UnicodeDecodeError as exc:
            _fail(f"a file is not UTF-8 text ({exc.reason} at byte {exc.start})")
        except Exception as exc:  # the promise: one line, never a traceback
            from bot.redact import redact

            logging.getLogger("bot.cli").debug("command failed", exc_info=True)
            said = redact(str(exc)).text  # an error may quote a token or a password
            _fail(f"unexpected {type(exc).__name__}: {said} (HELPDESK_LOG_LEVEL=DEBUG shows where)")


def _fail(sentence: str) -> None:
    click.echo(f"helpdesk: {sentence}", err=True)
    sys.exit(1)


_OS_REASONS = {
    errno.ENOENT: "no such file or folder",
    errno.EACCES: "permission denied",
    errno.EISDIR: "it is a folder",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.ENOSPC: "the disk is full",
    errno.EROFS: "the file system is read-only",
}


def _os_problem(exc: OSError) -> str:
    reason = _OS_REASONS.get(exc.errno or 0, exc.strerror or str(exc))
    if exc.filename is None:
        return f"cannot do that: {reason}"
    path = str(exc.filename)
    if exc.errno == errno.ENOENT:
        from pathlib import Path

        parent = Path(path).parent
        if not parent.is_dir():
            return f"cannot use {path}: there is no folder {parent}"
    return f"cannot use {path}: {reason}"


def parse_time(text: str, option: str) -> datetime:
    """The one parser for every `--since`/`--until`-style option: a date (2026-11-01) or an ISO
    time (2026-11-01T09:30:00+08:00; UTC when no offset is given), as an aware UTC datetime.
    Anything else, and an impossible date (2026-02-30, 2026-13-01), is refused in one sentence
    instead of silently filtering everything or nothing."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date (2026-11-01) or an ISO time (2026-11-01T09:30:00Z)",
            param_hint=option,
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_day(text: str, option: str) -> date:
    """A calendar date (2026-11-01) for options that name a day (`--week`, the date of
    `--shift`), refused in the same words as `parse_time` when it is not one."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date (2026-11-01)", param_hint=option
        ) from None


def since_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Click callback: a `--since` value as the store's fixed-width UTC text (or None)."""
    if value is None or value == "":
        return None
    return iso(parse_time(value, f"--{param.name}"))


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`1 ticket`, `2 tickets`: the command-line outputs' one way to count things."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
