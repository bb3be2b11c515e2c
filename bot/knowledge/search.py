"""Finding articles for a question, in the asker's language where a translation exists.

The foundation's search: rapidfuzz over each article's title, tags and summary,
with a confidence threshold below which the bot says it has no article rather
than guess. The knowledge-base issue replaces the scoring with a hybrid (FTS5,
typo correction, a bilingual glossary); this interface stays.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz

from bot.knowledge.articles import Article

_PUNCT = re.compile(r"[^\w\s]+")


@dataclass(frozen=True)
class SearchHit:
    article: Article
    score: float


@dataclass(frozen=True)
class SearchResult:
    """Best first. `answered` is False when even the best hit is below the threshold."""

    query: str
    answered: bool
    hits: tuple[SearchHit, ...]


def _norm(text: str) -> str:
    return _PUNCT.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


class KnowledgeBase:
    def __init__(self, articles: list[Article], min_score: float = 0.55) -> None:
        self.min_score = min_score
        self.articles = articles
        self._by_id = {a.article_id: a for a in articles}
        self._docs = [
            (a, _norm(a.title), _norm(" ".join(a.tags)), _norm(a.summary)) for a in articles
        ]

    def get(self, article_id: str) -> Article | None:
        return self._by_id.get(article_id)

    def in_language(self, article: Article, lang: str) -> Article:
        """The article's version in `lang` if there is one, else the article itself."""
        if article.lang == lang:
            return article
        for other in self.articles:
            if other.group_id == article.group_id and other.lang == lang:
                return other
        return article

    def search(self, query: str, lang: str = "en", limit: int = 3) -> SearchResult:
        q = _norm(query)
        if not q:
            return SearchResult(query, False, ())
        best: dict[str, SearchHit] = {}
        for article, title, tags, summary in self._docs:
            score = (
                max(
                    fuzz.token_set_ratio(q, title),
                    0.9 * fuzz.token_set_ratio(q, f"{title} {tags}"),
                    0.8 * fuzz.partial_ratio(q, summary) if len(q) >= 4 else 0.0,
                )
                / 100.0
            )
            group = article.group_id
            if group not in best or score > best[group].score:
                best[group] = SearchHit(article, round(score, 3))
        ranked = sorted(best.values(), key=lambda h: h.score, reverse=True)[:limit]
        hits = tuple(SearchHit(self.in_language(h.article, lang), h.score) for h in ranked)
        answered = bool(hits) and hits[0].score >= self.min_score
        return SearchResult(query, answered, hits)
