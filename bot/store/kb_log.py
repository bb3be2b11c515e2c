"""Knowledge-base analytics: every search, what was shown and read, and the feedback.

No user identity is stored with a search: the support team needs to know which
questions go unanswered, not who asked them. Queries are stored after secret
redaction (the engine redacts every message first).

Feedback is counted honestly: an article is "solved" only when the user said so;
shown-and-silent is neither solved nor unsolved.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from bot.clock import Clock, iso, utcnow
from bot.knowledge.search import SearchResult
from bot.store.database import Database, bookkeeping

_RATING = re.compile(
    r"[0-9０-９一二三四五]\s*(?:stars?|粒星|星|/\s*5|分)?|(?:one|two|three|four|five)\s+stars?",
    re.IGNORECASE,
)
_SMALL_TALK = frozenset(
    "ok okay k kk thanks thank you thx ty tks cheers bye byebye got it great good cool nice"
    " yes no yep nope sure fine done 多謝 謝謝 唔該 唔該晒 多謝晒 得 得咗 得喇 好 好的 好嘅"
    " 冇嘢 冇嘢喇 拜拜 係 唔係 ok thx ok thanks ok la".split()
)
_WORD = re.compile(r"[^\W\d_]{3,}|[\u3400-\u9fff]{2,}")


def asks_something(text: str) -> bool:
    """Whether a logged query could be a question an article might answer: not a bare
    number or choice, not a rating ("5 stars", 「五粒星」), not thanks / ok / bye. Such
    texts reach the search log when typed while no choice was waiting; they are no gap."""
    bare = " ".join(re.sub(r"[^\w\s/]", " ", text.lower()).split())
    if not bare or _RATING.fullmatch(bare) or bare in _SMALL_TALK:
        return False
    words = bare.split()
    if all(w in _SMALL_TALK for w in words):
        return False
    return _WORD.search(bare) is not None


@dataclass(frozen=True)
class Gap:
    """A cluster of similar questions the knowledge base did not answer well."""

    count: int
    example: str
    unanswered: int
    not_quite: int
    others: tuple[str, ...]
    queries: tuple[str, ...] = ()
    """Every distinct wording in the cluster (`others` shows three)."""


@dataclass(frozen=True)
class ArticleStats:
    article_id: str
    shown: int
    read: int
    solved: int
    not_quite: int

    @property
    def solved_rate(self) -> float | None:
        """Solved / (solved + not quite); None until someone gave feedback."""
        rated = self.solved + self.not_quite
        return None if rated == 0 else self.solved / rated


class SearchLog:
    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self._conn = db.conn
        self._clock = clock

    def record(self, platform: str, lang: str, result: SearchResult, shown: list[str]) -> int:
        """Log one search and the articles shown for it; return the search id."""
        now = iso(self._clock())
        results = [{"id": h.article.article_id, "score": h.score} for h in result.hits]
        with bookkeeping(self._conn) as conn:
            cursor = conn.execute(
                "INSERT INTO kb_searches (at, platform, lang, query, answered, confidence,"
                " results_json) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    now,
                    platform,
                    lang,
                    result.query,
                    int(result.answered),
                    result.confidence,
                    json.dumps(results),
                ),
            )
            search_id = int(cursor.fetchone()[0])
            conn.executemany(
                "INSERT INTO kb_events (search_id, at, article_id, kind) VALUES (?, ?, ?, 'shown')",
                [(search_id, now, article_id) for article_id in shown],
            )
        return search_id

    def event(self, search_id: int | None, article_id: str, kind: str) -> None:
        """Record `read`, `solved` or `not_quite` for an article."""
        with bookkeeping(self._conn) as conn:
            conn.execute(
                "INSERT INTO kb_events (search_id, at, article_id, kind) VALUES (?, ?, ?, ?)",
                (search_id, iso(self._clock()), article_id, kind),
            )

    def feedback(self, search_id: int, feedback: str, article_ids: list[str]) -> None:
        """The user's verdict on a search: `solved` or `not_quite`, for the articles shown."""
        now = iso(self._clock())
        with bookkeeping(self._conn) as conn:
            conn.execute(
                "UPDATE kb_searches SET feedback = ?, feedback_at = ? WHERE id = ?",
                (feedback, now, search_id),
            )
            conn.executemany(
                "INSERT INTO kb_events (search_id, at, article_id, kind) VALUES (?, ?, ?, ?)",
                [(search_id, now, article_id, feedback) for article_id in article_ids],
            )

    def gaps(self, since: str = "", limit: int = 20, similarity: float = 80.0) -> list[Gap]:
        """The most frequent unanswered or "not quite" questions, similar ones clustered
        (choices, ratings and small talk left out: `asks_something`)."""
        rows = self._conn.execute(
            "SELECT query, answered, feedback FROM kb_searches WHERE at >= ?"
            " AND (answered = 0 OR feedback = 'not_quite') ORDER BY id",
            (since,),
        ).fetchall()
        clusters: list[dict[str, object]] = []
        for query, answered, feedback in rows:
            text = " ".join(str(query).lower().split())
            if not asks_something(text):
                continue
            home = next(
                (c for c in clusters if fuzz.token_set_ratio(text, str(c["key"])) >= similarity),
                None,
            )
            if home is None:
                home = {"key": text, "queries": [], "unanswered": 0, "not_quite": 0}
                clusters.append(home)
            queries = home["queries"]
            assert isinstance(queries, list)
            queries.append(str(query))
            home["unanswered"] = int(str(home["unanswered"])) + (not answered)
            home["not_quite"] = int(str(home["not_quite"])) + (feedback == "not_quite")
        out = []
        for c in clusters:
            queries = c["queries"]
            assert isinstance(queries, list)
            distinct = tuple(dict.fromkeys(queries))
            out.append(
                Gap(
                    len(queries),
                    distinct[0],
                    int(str(c["unanswered"])),
                    int(str(c["not_quite"])),
                    distinct[1:4],
                    distinct,
                )
            )
        out.sort(key=lambda g: (-g.count, g.example))
        return out[:limit]

    def stats(self, since: str = "") -> list[ArticleStats]:
        """Per article: shown, read, solved and not-quite counts, most shown first."""
        rows = self._conn.execute(
            "SELECT article_id,"
            " count(*) FILTER (WHERE kind = 'shown'), count(*) FILTER (WHERE kind = 'read'),"
            " count(*) FILTER (WHERE kind = 'solved'), count(*) FILTER (WHERE kind = 'not_quite')"
            " FROM kb_events WHERE at >= ?"
            " GROUP BY article_id ORDER BY count(*) FILTER (WHERE kind = 'shown') DESC, article_id",
            (since,),
        ).fetchall()
        return [ArticleStats(r[0], r[1], r[2], r[3], r[4]) for r in rows]


class Signals:
    """Named counters one process bumps and another notices (`helpdesk kb reload`)."""

    def __init__(self, db: Database, clock: Clock = utcnow) -> None:
        self._conn = db.conn
        self._clock = clock

    def bump(self, name: str) -> int:
        self._conn.execute(
            "INSERT INTO signals (name, generation, at) VALUES (?, 1, ?) ON CONFLICT (name)"
            " DO UPDATE SET generation = signals.generation + 1, at = excluded.at",
            (name, iso(self._clock())),
        )
        return self.generation(name)

    def generation(self, name: str) -> int:
        row = self._conn.execute(
            "SELECT generation FROM signals WHERE name = ?", (name,)
        ).fetchone()
        return 0 if row is None else int(row[0])
