"""Replies carrying a secret, held in memory only until they are delivered.

Rule 5: a secret never reaches the database. Its outbox row (`bot.inbox.store`) stores
where it goes and that it is a secret, never its text; the text waits here. After a
restart it is gone: the transport then tells the user privately that it could not be
shown and that a person will redo it (an unshown temporary password is useless anyway).
"""

from __future__ import annotations

from bot.messages import Reply


class HeldSecrets:
    def __init__(self) -> None:
        self._held: dict[str, Reply] = {}

    def hold(self, key: str, reply: Reply) -> None:
        self._held[key] = reply

    def get(self, key: str) -> Reply | None:
        return self._held.get(key)

    def drop(self, key: str) -> None:
        self._held.pop(key, None)
