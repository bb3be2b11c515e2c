"""Which tickets solved a knowledge-base gap: those opened from one of the gap's
unanswered questions (the knowledge handler's "open a ticket" after no article helped,
whose description is `kb.ticket_description` with the question, in either language)
and since resolved or closed. They are where an article's words are: `/helpdesk kb
draft HD-n` turns one into a draft.

The question is matched as the gap normalises it (lower case, runs of whitespace as one
space). Tickets opened before `since` are not read.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import LANGUAGES, Translator
from bot.store.connection import Connection
from bot.store.kb_log import Gap
from bot.tickets.model import CLOSED, RESOLVED

_HOLE = "\x00"


def _templates() -> list[tuple[str, str]]:
    """(prefix, suffix) around the question in `kb.ticket_description`, per language."""
    out = []
    for lang in LANGUAGES:
        text = Translator(lang)("kb.ticket_description", query=_HOLE)
        prefix, _, suffix = text.partition(_HOLE)
        out.append((prefix, suffix))
    return out


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def solved_by(conn: Connection, gaps: Sequence[Gap], since: str = "") -> list[list[str]]:
    """For each gap, the refs of the resolved tickets opened from its questions."""
    templates = _templates()
    by_question: dict[str, list[int]] = {}
    rows = conn.execute(
        "SELECT id, description FROM tickets WHERE created_at >= ? AND state IN (?, ?) ORDER BY id",
        (since, RESOLVED, CLOSED),
    )
    for number, description in rows:
        text = str(description)
        for prefix, suffix in templates:
            if text.startswith(prefix) and text.endswith(suffix):
                question = text[len(prefix) : len(text) - len(suffix)]
                by_question.setdefault(_normal(question), []).append(int(number))
                break
    out = []
    for gap in gaps:
        numbers = sorted({n for q in gap.queries for n in by_question.get(_normal(q), [])})
        out.append([f"HD-{n}" for n in numbers])
    return out
