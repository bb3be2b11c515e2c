"""The knowledge base as the bot uses it: the search index over `kb/`, rebuilt on request.

`helpdesk kb reload` bumps the `kb` signal in the store; every running bot checks
the signal before each message (one indexed SELECT) and, when it moved, reads the
folder again and swaps in the new index. A reload that finds no readable article
keeps the old index and logs why, so a half-copied folder never empties the KB.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.knowledge.articles import Article, load_articles
from bot.knowledge.search import KnowledgeBase, SearchResult
from bot.store.kb_log import Signals

log = logging.getLogger(__name__)
SIGNAL = "kb"


class Library:
    def __init__(self, folder: Path, min_score: float, signals: Signals) -> None:
        self.folder = folder
        self.min_score = min_score
        self._signals = signals
        self._generation = signals.generation(SIGNAL)
        self._index = KnowledgeBase(load_articles(folder), min_score)

    @property
    def articles(self) -> list[Article]:
        return self._index.articles

    def refresh(self) -> bool:
        """Rebuild the index if a reload was requested since the last look; True if rebuilt."""
        generation = self._signals.generation(SIGNAL)
        if generation == self._generation:
            return False
        self._generation = generation
        articles = load_articles(self.folder)
        if not articles:
            log.warning(
                "kb reload: no readable article in %s; keeping the current index", self.folder
            )
            return False
        self._index = KnowledgeBase(articles, self.min_score)
        log.info("kb reload: %d articles", len(articles))
        return True

    def search(self, query: str, lang: str = "en", limit: int = 3) -> SearchResult:
        return self._index.search(query, lang, limit)

    def get(self, article_id: str) -> Article | None:
        return self._index.get(article_id)

    def in_language(self, article: Article, lang: str) -> Article:
        return self._index.in_language(article, lang)
