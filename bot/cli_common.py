"""Helpers shared by the `helpdesk` command modules."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

import click

from bot import log_redaction, logs
from bot.config import Settings, load_settings
from bot.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


def load() -> Settings:
    """The settings, with logging set up at their level (stderr)."""
    settings = load_settings()
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
