"""The request whose effects are being written: what makes a message processed twice safe.

The inbox (`bot.inbox`) runs a message again when the process died before the message was
marked done, so whatever the first run committed must not be committed twice. The worker
sets `current_request` to the message's platform event id while the engine handles it; the
ticket service stamps each change it makes with it (`ticket_events.request_id`, unique per
ticket and kind) and skips a change that request already made. Outside the inbox (the
console, the CLI, tests that call the engine directly) it is None and nothing is skipped.
"""

from __future__ import annotations

from contextvars import ContextVar

current_request: ContextVar[str | None] = ContextVar("current_request", default=None)
