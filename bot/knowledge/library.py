"""The knowledge base as the bot uses it: the search index over `kb/`, rebuilt on request.

`helpdesk kb reload` bumps the `kb` signal in the store; every running bot checks
the signal before each message (one indexed SELECT) and, when it moved, reads the
folder again and swaps in the new index. A reload that finds no readable article
keeps the old index and logs why, so a half-copied folder never empties the KB.

The sentence encoder is loaded once per process; the articles' vectors are cached by
content in the KB folder's `.vectors.npz` (see `vector_cache.py`), so a start or a
reload encodes only new or edited articles. Without a usable encoder (`encoder_problem`
says why) the search runs on its lexical lists and static embeddings, as before.

`answer` searches in the library's one worker thread, off the event loop: the sentence
encoder takes ~6 ms of CPU a question (it releases the GIL), and with one thread a burst
of questions keeps one of two cores for the loop, so acks stay fast while answers queue.

The rebuild runs in the caller's thread (the engine's, on the event loop): a reload is
rare and encodes only what changed (~40 ms an article).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot import metrics
from bot.knowledge.articles import Article, load_articles
from bot.knowledge.encoder import SentenceEncoder, default_encoder
from bot.knowledge.search import KnowledgeBase, SearchResult
from bot.knowledge.vector_cache import FILE_NAME as VECTOR_CACHE
from bot.store.kb_log import Signals

log = logging.getLogger(__name__)
SIGNAL = "kb"


def index_for(
    folder: Path, articles: list[Article], min_score: float, encoder_model: str = ""
) -> KnowledgeBase:
    """The search index over `folder`'s articles: the configured sentence encoder (loaded
    once per process), its article vectors cached in the folder's `.vectors.npz`."""
    model = Path(encoder_model) if encoder_model else None
    return KnowledgeBase(
        articles, min_score, encoder=default_encoder(model), vector_cache=folder / VECTOR_CACHE
    )


class Library:
    def __init__(
        self, folder: Path, min_score: float, signals: Signals, encoder_model: str = ""
    ) -> None:
        """`encoder_model`: an ONNX file instead of the shipped encoder's (`kb.encoder_model`)."""
        self.folder = folder
        self.min_score = min_score
        self.encoder_model = encoder_model
        self._signals = signals
        self._generation = signals.generation(SIGNAL)
        self._index = index_for(folder, load_articles(folder), min_score, encoder_model)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-search")

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
        self._index = index_for(self.folder, articles, self.min_score, self.encoder_model)
        log.info("kb reload: %d articles", len(articles))
        return True

    def search(self, query: str, lang: str = "en", limit: int = 3) -> SearchResult:
        return self._index.search(query, lang, limit)

    async def answer(self, query: str, lang: str = "en", limit: int = 3) -> SearchResult:
        """`search` in the library's worker thread, so the event loop keeps serving."""
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(self._worker, self._index.search, query, lang, limit)
        metrics.KB_QUESTIONS.inc("answered" if found.answered else "abstained")
        return found

    def get(self, article_id: str) -> Article | None:
        return self._index.get(article_id)

    def in_language(self, article: Article, lang: str) -> Article:
        return self._index.in_language(article, lang)
