"""Where log lines go and how they look: plain text, or one JSON object a line.

`HELPDESK_LOG_FORMAT=json` writes each record as one JSON object on stderr:
`{"time", "level", "logger", "message", "request_id"?, "exception"?}`. `request_id` is
set for all the work of one message: the inbox worker sets it (`working_on`) when it takes
a stored message (`slack:Ev0123`, the same id the ticket service stamps changes with), and
the outbox worker while it delivers that message's replies, so every line about one
message can be found with one filter (`jq 'select(.request_id == "slack:Ev0123")'`). A
line outside a message's work has no `request_id`.

The text format (the default) stays as it was, with ` [request_id]` after the level
when there is one. Both formats pass through the secret filter (`bot.log_redaction`):
the JSON is built from the record after the filter masked it.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


@contextmanager
def working_on(request: str | None) -> Iterator[None]:
    """Every log line inside carries `request` as its request id."""
    token = request_id.set(request)
    try:
        yield
    finally:
        request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the current request id on each record (`record.request_id`, "" for none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in a message are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", "") or request_id.get()
        if rid:
            line["request_id"] = rid
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", "")
        record.rid = f" [{rid}]" if rid else ""
        return super().format(record)


TEXT_FORMAT = "%(asctime)s %(levelname)s%(rid)s %(name)s: %(message)s"


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The stderr handler `configure` adds (told apart from a host's, such as pytest's)."""


def configure(level: str, fmt: str = "text") -> None:
    """Log to stderr at `level`, as text or JSON lines. Like `logging.basicConfig`, it leaves
    a root logger that already has another handler (a test runner's) alone; calling it
    again replaces its own handler, so no line is written twice."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)
    if root.handlers:
        return
    handler = _OurHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else _TextFormatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
