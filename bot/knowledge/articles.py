"""Reading articles: `**/*.md`, front matter between `---` lines, then a Markdown body.

`load_articles` is lenient (an article needs `id`, `title`, `lang` and a body; a bad
one is skipped with a warning naming file and line, never stopping the bot).
`check_articles` is strict, for `helpdesk kb check`: the whole schema, duplicate
ids, translations that point nowhere, empty bodies and unknown categories.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.knowledge.frontmatter import FrontMatterError, parse_front_matter

log = logging.getLogger(__name__)

LANGS = ("en", "zh-Hant")
CATEGORIES = (
    "account-access",
    "email",
    "teams",
    "network-vpn",
    "hardware",
    "printing",
    "software",
    "mobile",
    "security",
)
SCHEMA: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "title": str,
    "lang": str,
    "translation_of": (str, type(None)),
    "summary": str,
    "tags": list,
    "category": str,
    "audience": str,
    "owner": str,
    "updated": (str, dt.date),
}


@dataclass(frozen=True)
class Article:
    article_id: str
    title: str
    lang: str
    body: str
    path: Path
    summary: str = ""
    tags: tuple[str, ...] = ()
    category: str = ""
    translation_of: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def group_id(self) -> str:
        """The id shared by an article and its translations (the original's id)."""
        return self.translation_of or self.article_id


class ArticleError(ValueError):
    """An article that cannot be read; the message is `file:line: problem`."""

    def __init__(self, path: Path, line: int, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


def _split(path: Path, text: str) -> tuple[dict[str, Any], str, int]:
    if not text.startswith("---"):
        raise ArticleError(path, 1, "no front matter (the file must start with ---)")
    end = text.find("\n---", 3)
    if end < 0:
        raise ArticleError(path, 1, "front matter is not closed with ---")
    try:
        meta = parse_front_matter(text[text.index("\n") + 1 : end])
    except FrontMatterError as exc:
        raise ArticleError(path, exc.line + 1, f"front matter {exc}") from None
    body_start = text.find("\n", end + 4)
    body = text[body_start + 1 :].strip() if body_start >= 0 else ""
    body_line = text.count("\n", 0, end) + 2
    return meta, body, body_line


def parse_article(path: Path, text: str) -> Article:
    meta, body, body_line = _split(path, text)
    for key in ("id", "title", "lang"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            raise ArticleError(path, _line_of(text, key), f"front matter needs a non-empty {key!r}")
    if not body:
        raise ArticleError(path, body_line, "the article has no body")
    tags = meta.get("tags") or []
    return Article(
        article_id=meta["id"].strip(),
        title=meta["title"].strip(),
        lang=meta["lang"].strip(),
        body=body,
        path=path,
        summary=str(meta.get("summary") or "").strip(),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        category=str(meta.get("category") or ""),
        translation_of=meta.get("translation_of") or None,
        meta=meta,
    )


def _line_of(text: str, key: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(f"{key}:"):
            return number
    return 2


def read_article(path: Path) -> str:
    """The file's text; an `ArticleError` naming the file when it is not UTF-8 or unreadable
    (so every tool reports it as `file:1: problem`, never as a bare decoding error)."""
    try:
        return path.read_text("utf-8")
    except UnicodeDecodeError:
        raise ArticleError(path, 1, "not UTF-8 text (save it as UTF-8)") from None
    except OSError as exc:
        raise ArticleError(path, 1, f"cannot read ({exc.strerror or exc})") from None


_CHINESE = re.compile(r"[\u3400-\u9fff]")


def _untranslated(article: Article) -> str | None:
    """The first English line of a `zh-Hant` article at least half of whose prose lines are
    English (a draft whose steps were never translated); None when it reads as Chinese.
    Headings, comments and tables are left out; a line with Chinese in it counts as Chinese,
    so `㩒 Ctrl+Alt+Del` is fine."""
    prose = [
        line
        for line in article.body.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "<!--", "|", "```"))
    ]
    english = [
        line for line in prose if not _CHINESE.search(line) and len(_LATIN_WORD.findall(line)) >= 3
    ]
    return english[0] if english and len(english) * 2 >= len(prose) else None


_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def article_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.md") if p.name.lower() != "readme.md")


def load_articles(folder: Path) -> list[Article]:
    """Every readable article under `folder`, recursively; problems are logged and skipped."""
    articles: list[Article] = []
    seen: set[str] = set()
    for path in article_files(folder):
        try:
            article = parse_article(path, read_article(path))
        except ArticleError as exc:
            log.warning("skipping article: %s", exc)
            continue
        if article.article_id in seen:
            log.warning("skipping article: %s:2: duplicate id %r", path, article.article_id)
            continue
        seen.add(article.article_id)
        articles.append(article)
    return articles


def check_articles(folder: Path, categories: tuple[str, ...] = CATEGORIES) -> list[str]:
    """Every problem in `folder`, one `file:line: message` each; empty when all is well."""
    problems: list[str] = []
    by_id: dict[str, Path] = {}
    parsed: list[tuple[Article, str]] = []
    for path in article_files(folder):
        try:
            text = read_article(path)
            article = parse_article(path, text)
        except ArticleError as exc:
            problems.append(str(exc))
            continue
        for key, kind in SCHEMA.items():
            if key not in article.meta:
                problems.append(f"{path}:2: missing {key!r}")
            elif not isinstance(article.meta[key], kind):
                problems.append(f"{path}:{_line_of(text, key)}: {key!r} has the wrong type")
        for key in article.meta:
            if key not in SCHEMA:
                problems.append(f"{path}:{_line_of(text, key)}: unknown key {key!r}")
        if article.lang not in LANGS:
            problems.append(
                f"{path}:{_line_of(text, 'lang')}: lang must be one of {', '.join(LANGS)}"
            )
        untranslated = _untranslated(article) if article.lang == "zh-Hant" else None
        if untranslated is not None:
            line = text.count("\n", 0, text.find(untranslated)) + 1
            problems.append(f"{path}:{line}: lang is zh-Hant but most of the body is not Chinese")
        if article.category and article.category not in categories:
            problems.append(
                f"{path}:{_line_of(text, 'category')}: unknown category {article.category!r}"
            )
        if article.article_id in by_id:
            problems.append(
                f"{path}:{_line_of(text, 'id')}: duplicate id {article.article_id!r}"
                f" (also in {by_id[article.article_id]})"
            )
        else:
            by_id[article.article_id] = path
        parsed.append((article, text))
    for article, text in parsed:
        target = article.translation_of
        if target is None:
            continue
        line = _line_of(text, "translation_of")
        if target not in by_id:
            problems.append(f"{article.path}:{line}: translation_of {target!r} is no article")
        elif target == article.article_id:
            problems.append(f"{article.path}:{line}: translation_of points to itself")
    return problems
