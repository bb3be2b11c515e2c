"""Hybrid search over the articles, with a confidence that knows when it doesn't know.

Index (built in memory at start and on reload):
- SQLite FTS5 over pre-stemmed terms in five columns (title, slug from the id, tags,
  summary, body), ranked by BM25 with the title weighted most;
- the raw vocabulary with document frequencies, for typo correction by symmetric
  deletes (edit distance 1, or 2 for long words; the most frequent candidate wins);
- per article, the stemmed terms of its "head" (title, slug, tags, summary).

A question is folded and expanded (chat shorthand, British spellings), misspelt
words are corrected against the vocabulary, Chinese text adds English words from
the glossary and its own character bigrams (for Chinese articles). Candidates come
from BM25 over all columns; they are re-ranked by reciprocal-rank fusion of three
lists: BM25, the IDF-weighted share of the question's terms in the article's head,
and rapidfuzz similarity of the question to the title. The confidence is that
head coverage of the best article, where a question word found nowhere in the
knowledge base counts as uncovered; below `kb.min_score` the search abstains.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass
from itertools import combinations

from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein

from bot.knowledge.articles import Article
from bot.knowledge.glossary import translate_terms
from bot.knowledge.text import HAN, STOPWORDS, fold, han_bigrams, porter_stem, stem, words

MAX_QUERY_CHARS = 500
HEAD_ROWS = 1500  # BM25 budget per question: matching article heads
BODY_ROWS = 600  # and matching article bodies
CANDIDATES = 60
_RRF_K = 10
_WEIGHTS = (1.0, 1.0, 1.0, 0.6)  # head bm25, body bm25, head coverage, title fuzz
_HEAD_BM25 = (10.0, 8.0, 5.0, 3.0)  # title, slug, tags, summary
BODY_CHARS = 4000  # symptoms, cause and first steps; the rest adds noise and time
# Two-word spellings in article bodies, joined as the question side joins them.
_BODY_PAIRS = re.compile(
    r"\b(?:wi[ -]fi|e-mail|one drive|(?:sign|log)[ -]?(?:in|on)|(?:sign|log)[ -]out|free/busy)\b"
)
_BODY_VARIANTS = {"signin": "signin OR login OR logon", "signout": "signout OR logout"}


def _join(match: re.Match[str]) -> str:
    text = match.group(0).replace(" ", "").replace("-", "").replace("/", "")
    return {"login": "signin", "logon": "signin", "logout": "signout"}.get(text, text)


_SLUG_SPLIT = re.compile(r"[-_/]+")


@dataclass(frozen=True)
class SearchHit:
    article: Article
    score: float


@dataclass(frozen=True)
class SearchResult:
    """Best first. `answered` is False when the confidence is below the threshold."""

    query: str
    answered: bool
    hits: tuple[SearchHit, ...]
    confidence: float = 0.0


@dataclass(frozen=True)
class _Doc:
    article: Article
    head: frozenset[str]
    title: str


_PREFIX = 7  # symmetric deletes are taken over the first letters only (as SymSpell does)


def _deletes(word: str, distance: int) -> set[str]:
    word = word[:_PREFIX]
    out = {word}
    for d in range(1, distance + 1):
        for positions in combinations(range(len(word)), d):
            out.add("".join(ch for i, ch in enumerate(word) if i not in positions))
    return out


def _max_edits(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


class KnowledgeBase:
    def __init__(self, articles: list[Article], min_score: float = 0.55) -> None:
        self.min_score = min_score
        self.articles = articles
        self._by_id = {a.article_id: a for a in articles}
        self._translations: dict[tuple[str, str], Article] = {
            (a.group_id, a.lang): a for a in articles
        }
        self._conn = sqlite3.connect(":memory:", check_same_thread=False)
        # Head: our own terms (stems, Chinese bigrams). Body: raw text, stemmed by FTS5.
        self._conn.execute(
            "CREATE VIRTUAL TABLE head USING fts5(title, slug, tags, summary,"
            " content='', tokenize='unicode61 remove_diacritics 0')"
        )
        self._conn.execute(
            "CREATE VIRTUAL TABLE body USING fts5(text, content='',"
            " tokenize='porter unicode61 remove_diacritics 0')"
        )
        self._docs: list[_Doc] = []
        df: Counter[str] = Counter()
        raw_df: Counter[str] = Counter()
        heads = []
        bodies = []
        for rowid, article in enumerate(articles):
            fields = (
                article.title,
                " ".join(_SLUG_SPLIT.split(article.article_id)),
                " ".join(article.tags),
                article.summary,
            )
            columns: list[str] = []
            head: set[str] = set()
            raw: set[str] = set()
            for text in fields:
                folded = fold(text)
                plain = words(folded)
                raw.update(plain)
                terms = [stem(w) for w in plain]
                for run in HAN.findall(folded):
                    terms.extend(han_bigrams(run))
                head.update(terms)
                columns.append(" ".join(terms))
            df.update(head)
            raw_df.update(raw)
            self._docs.append(_Doc(article, frozenset(head), fold(article.title)))
            heads.append((rowid, *columns))
            body = _BODY_PAIRS.sub(_join, fold(article.body[:BODY_CHARS]))
            if HAN.search(body):
                body = HAN.sub(lambda m: " " + " ".join(han_bigrams(m.group(0))) + " ", body)
            bodies.append((rowid, body))
        self._conn.executemany(
            "INSERT INTO head (rowid, title, slug, tags, summary) VALUES (?, ?, ?, ?, ?)", heads
        )
        self._conn.executemany("INSERT INTO body (rowid, text) VALUES (?, ?)", bodies)
        self._conn.execute("CREATE VIRTUAL TABLE body_vocab USING fts5vocab(body, 'row')")
        self._body_df: dict[str, int] = dict(
            self._conn.execute("SELECT term, doc FROM body_vocab").fetchall()
        )
        n = max(len(articles), 1)
        self._idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self._head_df: dict[str, int] = dict(df)
        self._max_idf = math.log(1 + (n + 0.5) / 0.5)
        self._raw_df = raw_df
        self._deletes: dict[str, list[str]] = {}
        for word, count in raw_df.items():
            if count < 2 or not word.isalpha():
                continue
            for variant in _deletes(word, _max_edits(word)):
                self._deletes.setdefault(variant, []).append(word)

    # -- lookups ---------------------------------------------------------------------------

    def get(self, article_id: str) -> Article | None:
        return self._by_id.get(article_id)

    def in_language(self, article: Article, lang: str) -> Article:
        """The article's version in `lang` if there is one, else the article itself."""
        return self._translations.get((article.group_id, lang), article)

    # -- query processing ------------------------------------------------------------------

    def correct(self, word: str) -> str | None:
        """The vocabulary word closest to `word` (None when nothing is close enough)."""
        if word in self._raw_df or word.isdigit():
            return word
        edits = _max_edits(word)
        if edits == 0:
            return None
        candidates: set[str] = set()
        for variant in _deletes(word, edits):
            candidates.update(self._deletes.get(variant, ()))
        best: tuple[int, int, str] | None = None
        for candidate in candidates:
            distance = DamerauLevenshtein.distance(word, candidate, score_cutoff=edits)
            if distance > edits:
                continue
            key = (-distance, self._raw_df[candidate], candidate)
            if best is None or key > best:
                best = key
        return None if best is None else best[2]

    def query_terms(self, query: str) -> tuple[list[str], list[str], str]:
        """(stems to search, stems found nowhere, the cleaned question for fuzzy matching)."""
        folded = fold(query[:MAX_QUERY_CHARS])
        terms: list[str] = []
        unknown: list[str] = []
        clean: list[str] = []
        english = [w for w in words(folded) if w not in STOPWORDS]
        for run in HAN.findall(folded):
            english.extend(w for w in words(" ".join(translate_terms(run))) if w not in STOPWORDS)
        for word in english:
            fixed = self.correct(word)
            if fixed is None:
                unknown.append(word)
                continue
            clean.append(fixed)
            term = stem(fixed)
            if term not in terms and term in self._idf:
                terms.append(term)
            elif term not in self._idf:
                unknown.append(word)
        for run in HAN.findall(folded):
            for gram in han_bigrams(run):
                if gram in self._idf and gram not in terms:
                    terms.append(gram)
        return terms, unknown, " ".join(clean)

    # -- search ----------------------------------------------------------------------------

    @staticmethod
    def _within_budget(items: list[str], df: dict[str, int], budget: int) -> list[str]:
        """The rarest items whose document counts add up to at most `budget` (at least one).

        BM25 costs time for every matching article, so candidates are looked up by the
        rare words of a question; every word still counts when the candidates are ranked.
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

    def _ranked(self, table: str, match: str, weights: str) -> list[int]:
        rows = self._conn.execute(
            f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY bm25({table}{weights})"
            " LIMIT ?",
            (match, CANDIDATES),
        ).fetchall()
        return [r[0] for r in rows]

    def search(self, query: str, lang: str = "en", limit: int = 3) -> SearchResult:
        terms, unknown, clean = self.query_terms(query)
        if not terms:
            return SearchResult(query, False, (), 0.0)
        idf = self._idf
        head_terms = self._within_budget(terms, self._head_df, HEAD_ROWS)
        head_rank = self._ranked(
            "head",
            " OR ".join(f'"{t}"' for t in head_terms),
            ", " + ", ".join(map(str, _HEAD_BM25)),
        )
        porter = {w: porter_stem(w) for w in dict.fromkeys(clean.split())}
        body_df = {w: self._body_df.get(p, 0) for w, p in porter.items()}
        body_words = self._within_budget(list(porter), body_df, BODY_ROWS)
        body_terms = [_BODY_VARIANTS.get(w, f'"{w}"') for w in body_words]
        body_terms += [f'"{t}"' for t in terms if HAN.match(t)]
        body_rank = self._ranked("body", " OR ".join(body_terms), "") if body_terms else []
        candidates = list(dict.fromkeys(head_rank + body_rank))
        if not candidates:
            return SearchResult(query, False, (), 0.0)
        total = sum(idf[t] for t in terms) + self._max_idf * len(set(unknown))
        docs = [self._docs[i] for i in candidates]
        coverage = {
            i: sum(idf[t] for t in terms if t in d.head) / total
            for i, d in zip(candidates, docs, strict=True)
        }
        fuzzy = {
            i: (fuzz.token_set_ratio(clean, d.title) if clean else 0.0)
            for i, d in zip(candidates, docs, strict=True)
        }
        lists = (
            (_WEIGHTS[0], head_rank),
            (_WEIGHTS[1], body_rank),
            (_WEIGHTS[2], sorted(candidates, key=lambda i: -coverage[i])),
            (_WEIGHTS[3], sorted(candidates, key=lambda i: -fuzzy[i])),
        )
        fused: dict[int, float] = dict.fromkeys(candidates, 0.0)
        for weight, order in lists:
            for rank, i in enumerate(order):
                fused[i] += weight / (_RRF_K + rank)
        ranked = sorted(candidates, key=lambda i: -fused[i])
        seen: set[str] = set()
        hits: list[SearchHit] = []
        top = fused[ranked[0]]
        for i in ranked:
            article = self._docs[i].article
            if article.group_id in seen:
                continue
            seen.add(article.group_id)
            hits.append(SearchHit(self.in_language(article, lang), round(fused[i] / top, 4)))
            if len(hits) == limit:
                break
        confidence = round(coverage[ranked[0]], 4)
        return SearchResult(query, confidence >= self.min_score, tuple(hits), confidence)
