"""The language each person writes in, remembered across conversations and restarts.

Two kinds of memory: the language a person last wrote a real sentence in (Chinese
characters, or English words), and the one they asked for ("English please",
「講中文」). An asked-for language wins until they ask for the other one.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock, iso, utcnow
from bot.messages import Actor, Lang
from bot.store.database import Database, bookkeeping


@dataclass(frozen=True)
class Remembered:
    """A person's language; `chosen` when they asked for it explicitly."""

    lang: Lang
    chosen: bool


class LanguageMemory:
    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self._conn = db.conn
        self._clock = clock

    def get(self, actor: Actor) -> Remembered | None:
        row = self._conn.execute(
            "SELECT lang, chosen FROM person_languages WHERE platform = ? AND user_id = ?",
            (actor.platform, actor.user_id),
        ).fetchone()
        if row is None:
            return None
        return Remembered("zh-Hant" if row[0] == "zh-Hant" else "en", bool(row[1]))

    def remember(self, actor: Actor, lang: Lang, *, chosen: bool = False) -> None:
        """Store the language `actor` wrote in (`chosen=False`: an asked-for one is kept) or
        asked for (`chosen=True`: it replaces whatever was remembered)."""
        keep_chosen = "" if chosen else " WHERE person_languages.chosen = 0"
        with bookkeeping(self._conn) as conn:
            conn.execute(
                "INSERT INTO person_languages (platform, user_id, lang, chosen, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, user_id) DO UPDATE SET"
                " lang = excluded.lang, chosen = excluded.chosen,"
                " updated_at = excluded.updated_at" + keep_chosen,
                (actor.platform, actor.user_id, lang, int(chosen), iso(self._clock())),
            )
