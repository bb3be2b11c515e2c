"""Secrets never reach a log: a filter that masks them in every record the handlers write.

The engine masks chat text before anything else sees it, so a log line should never carry
a secret; this filter is the second line (rule 5), for a message or an exception text that
quotes something it should not. It masks the same shapes as chat (`bot.redact`) in the
record's message, its arguments and its formatted exception, and it sits on the root
logger's handlers (`install`, called where logging is configured), so records from every
logger, ours and the libraries', pass through it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.redact import redact


class SecretFilter(logging.Filter):
    """Masks secrets in a log record; never drops one."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg).text
        if isinstance(record.args, Mapping):
            record.args = {key: _masked(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(_masked(value) for value in record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text).text
        if record.stack_info:
            record.stack_info = redact(record.stack_info).text
        return True


def _masked(value: object) -> object:
    """A string argument masked; any other argument kept as it is unless its text carries a
    secret, then replaced by that text masked (a `%d` of it would fail loudly, not leak)."""
    if isinstance(value, str):
        return redact(value).text
    if isinstance(value, int | float | bool) or value is None:
        return value
    cleaned = redact(str(value))
    return cleaned.text if cleaned.found else value


def install(logger: logging.Logger | None = None) -> None:
    """Put one `SecretFilter` on each handler of `logger` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, SecretFilter) for f in handler.filters):
            handler.addFilter(SecretFilter())
