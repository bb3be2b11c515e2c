"""The bot's exception hierarchy.

    HelpdeskError
    ├── ConfigError          a setting is missing or wrong; names the setting (exit 2 at start)
    └── UserFacingError      carries a catalogue key; the user sees that message
        └── DirectoryError   something the directory said (see bot.integrations.directory)

Anything else raised by a handler is a bug or an outage: the engine logs it with a
short reference id and the user sees "something went wrong (ref 3f9c)", never the
exception text.
"""

from __future__ import annotations


class HelpdeskError(Exception):
    """Base of every error the bot raises on purpose."""


class ConfigError(HelpdeskError):
    """A setting is missing or invalid. `setting` names it (`kb.path`, `HELPDESK_DATA_DIR`)."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


class UserFacingError(HelpdeskError):
    """An error whose message is meant for the user: a catalogue key and its parameters."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
