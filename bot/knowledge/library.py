"""The knowledge base as the bot uses it: the search index over `kb/`, rebuilt on request.

`helpdesk kb reload` bumps the `kb` signal in the store; every running bot checks
the signal before each message (one indexed SELECT) and, when it moved, reads the
folder again and swaps in the new index. A reload that finds no readable article
keeps the old index and logs why, so a half-copied folder never empties the KB.

The sentence encoder is loaded once per process; the articles' vectors are cached by
content in the KB folder's `.vectors.npz` (see `vector_cache.py`), so a start or a
reload encodes only new or edited articles. Without a usable encoder (`encoder_problem`
says why) the search runs on its lexical lists and static embeddings, as before.

The rebuild runs in the caller's thread (the engine's, on the event loop): a reload is
rare and encodes only what changed (~40 ms an article).
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.knowledge.articles import Article, load_articles
from bot.knowledge.encoder import EncoderUnavailable, SentenceEncoder, default_encoder
from bot.knowledge.search import KnowledgeBase, SearchResult
from bot.knowledge.vector_cache import FILE_NAME as VECTOR_CACHE
from bot.store.kb_log import Signals

log = logging.getLogger(__name__)
SIGNAL = "kb"


class Library:
    def __init__(
        self,
        folder: Path,
        min_score: float,
        signals: Signals,
        encoder_model: Path | None = None,
    ) -> None:
        """`encoder_model`: an ONNX file instead of the shipped encoder's."""
        self.folder = folder
        self.min_score = min_score
        self.vector_cache = folder / VECTOR_CACHE
        self._encoder: SentenceEncoder | EncoderUnavailable = default_encoder(encoder_model)
        self._signals = signals
        self._generation = signals.generation(SIGNAL)
        self._index = self._build(load_articles(folder))

    def _build(self, articles: list[Article]) -> KnowledgeBase:
        return KnowledgeBase(
            articles, self.min_score, encoder=self._encoder, vector_cache=self.vector_cache
        )

    @property
    def encoder(self) -> SentenceEncoder | None:
        """The sentence encoder the search uses (for the intent model too), if any."""
        return self._index.encoder

    @property
    def encoder_problem(self) -> str | None:
        """Why the search runs without the sentence encoder; None when it has it."""
        return self._index.encoder_problem

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
        self._index = self._build(articles)
        log.info("kb reload: %d articles", len(articles))
        return True

    def search(self, query: str, lang: str = "en", limit: int = 3) -> SearchResult:
        return self._index.search(query, lang, limit)

    def get(self, article_id: str) -> Article | None:
        return self._index.get(article_id)

    def in_language(self, article: Article, lang: str) -> Article:
        return self._index.in_language(article, lang)
