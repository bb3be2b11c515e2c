"""Reading articles: `kb/**/*.md`, YAML front matter between `---` lines, Markdown body.

A malformed article is skipped with a warning naming the file and the problem;
it never stops the bot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

REQUIRED = ("id", "title", "lang")
LANGS = ("en", "zh-Hant")


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

    @property
    def group_id(self) -> str:
        """The id shared by an article and its translations (the original's id)."""
        return self.translation_of or self.article_id


class ArticleError(ValueError):
    """An article that cannot be read; the message names the line."""

    def __init__(self, path: Path, line: int, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}")


def parse_article(path: Path, text: str) -> Article:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise ArticleError(path, 1, "no front matter (the file must start with ---)")
    try:
        end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---")
    except StopIteration:
        raise ArticleError(path, 1, "front matter is not closed with ---") from None
    try:
        meta = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        raise ArticleError(path, line, f"front matter is not valid YAML ({exc})") from None
    if not isinstance(meta, dict):
        raise ArticleError(path, 2, "front matter must be a mapping of keys to values")
    for key in REQUIRED:
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            raise ArticleError(path, 2, f"front matter needs a non-empty {key!r}")
    if meta["lang"] not in LANGS:
        raise ArticleError(path, 2, f"lang must be one of {', '.join(LANGS)}")
    body = "\n".join(lines[end + 1 :]).strip()
    if not body:
        raise ArticleError(path, end + 1, "the article has no body")
    tags = meta.get("tags") or []
    if not isinstance(tags, list):
        raise ArticleError(path, 2, "tags must be a list")
    return Article(
        article_id=meta["id"].strip(),
        title=meta["title"].strip(),
        lang=meta["lang"],
        body=body,
        path=path,
        summary=str(meta.get("summary") or "").strip(),
        tags=tuple(str(t) for t in tags),
        category=str(meta.get("category") or ""),
        translation_of=meta.get("translation_of") or None,
    )


def load_articles(folder: Path) -> list[Article]:
    """Every readable article under `folder`, recursively; problems are logged and skipped."""
    articles: list[Article] = []
    seen: set[str] = set()
    for path in sorted(folder.rglob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        try:
            article = parse_article(path, path.read_text("utf-8"))
        except (ArticleError, OSError, UnicodeDecodeError) as exc:
            log.warning("skipping article: %s", exc)
            continue
        if article.article_id in seen:
            log.warning("skipping article: %s:2: duplicate id %r", path, article.article_id)
            continue
        seen.add(article.article_id)
        articles.append(article)
    return articles
