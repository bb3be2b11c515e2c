"""The words' index of the knowledge search: two SQLite FTS5 tables in memory.

- `head`: our own terms (Snowball stems, Chinese bigrams) of the title, the slug (the id's
  words), the tags and the summary; BM25 with the title weighted most;
- `body`: the body text with FTS5's Porter stemmer (a Chinese body as character bigrams).

Rows are the articles' positions in the search's list. A question looks candidates up by
its rarest words within a row budget (`within_budget`), so a common word cannot make it
slow; every word still counts when the candidates are ranked.
"""

from __future__ import annotations

import sqlite3

CANDIDATES = 60  # rows a BM25 list returns
HEAD_BM25 = ", " + ", ".join(map(str, (10.0, 8.0, 5.0, 3.0)))  # title, slug, tags, summary


class LexicalIndex:
    """Head and body FTS5 tables; filled once (`fill`), then only read."""

    def __init__(self) -> None:
        self._conn = sqlite3.connect(":memory:", check_same_thread=False)
        self._conn.execute(
            "CREATE VIRTUAL TABLE head USING fts5(title, slug, tags, summary,"
            " content='', tokenize='unicode61 remove_diacritics 0')"
        )
        self._conn.execute(
            "CREATE VIRTUAL TABLE body USING fts5(text, content='',"
            " tokenize='porter unicode61 remove_diacritics 0')"
        )
        self.body_df: dict[str, int] = {}  # Porter term -> articles whose body has it

    def fill(
        self, head_rows: list[tuple[object, ...]], body_rows: list[tuple[object, ...]]
    ) -> None:
        """Index (rowid, title, slug, tags, summary) heads and (rowid, text) bodies. SQLite
        releases the GIL while it works, so this may run in a thread beside other work."""
        self._conn.executemany(
            "INSERT INTO head (rowid, title, slug, tags, summary) VALUES (?, ?, ?, ?, ?)",
            head_rows,
        )
        self._conn.executemany("INSERT INTO body (rowid, text) VALUES (?, ?)", body_rows)
        self._conn.execute("CREATE VIRTUAL TABLE body_vocab USING fts5vocab(body, 'row')")
        self.body_df = dict(self._conn.execute("SELECT term, doc FROM body_vocab").fetchall())

    def heads(self, terms: list[str]) -> list[int]:
        """Rows whose head holds any of `terms`, best BM25 first."""
        return self._ranked("head", terms, HEAD_BM25)

    def bodies(self, words: list[str]) -> list[int]:
        """Rows whose body holds any of `words` (phrases allowed), best BM25 first."""
        return self._ranked("body", words)

    def _ranked(self, table: str, terms: list[str], weights: str = "") -> list[int]:
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        rows = self._conn.execute(
            f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY bm25({table}{weights})"
            " LIMIT ?",
            (match, CANDIDATES),
        ).fetchall()
        return [r[0] for r in rows]

    def in_body(self, rowid: int, body_words: tuple[str, ...]) -> bool:
        """Whether the body of `rowid` holds any of `body_words`."""
        if not body_words:
            return False
        match = " OR ".join(f'"{w}"' for w in body_words)
        row = self._conn.execute(
            "SELECT 1 FROM body WHERE body MATCH ? AND rowid = ?", (match, rowid)
        ).fetchone()
        return row is not None


def within_budget(items: list[str], df: dict[str, int], budget: int) -> list[str]:
    """The rarest items whose document counts add up to at most `budget` (at least one).

    BM25 costs time for every matching article, so candidates are looked up by the rare
    words of a question; every word still counts when the candidates are ranked.
    """
    chosen: list[str] = []
    spent = 0
    for item in sorted(items, key=lambda i: df.get(i, 0)):
        cost = df.get(item, 0)
        if chosen and spent + cost > budget:
            break
        chosen.append(item)
        spent += cost
    return chosen
