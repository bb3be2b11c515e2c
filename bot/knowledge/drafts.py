"""Resolutions into articles: drafts from a resolved ticket, reviewed, then published.

`/helpdesk kb draft HD-n` (engineers) writes two Markdown drafts with full front matter
into `kb.drafts_path`: `<id>.md` (English) and `<id>.zh-Hant.md` (Chinese, its
`translation_of` the English id, as in `kb/`). The body is the ticket's resolution and
the engineers' public replies (what the requester was told; internal notes never, they
may be about the person), each passed through the secret redaction (`bot.redact`).

**Translation, honestly.** No machine translation is installed, so the draft in the
requester's language holds the resolution as written, and the other one has only its
title translated — word by word through the IT glossary (`bot/knowledge/glossary.toml`,
either direction) — and the original text below a `TODO-REVIEW` line asking a reviewer
to translate it. Nothing pretends to be a translation that is not one.

**Review.** Every draft starts with a `TODO-REVIEW` comment (check the steps are general,
safe to follow and name nobody; translate the other language). `helpdesk kb check` reports
a file holding that marker as a problem, so a draft passes only once a person has
reviewed it and deleted the line. `helpdesk kb publish DRAFT` then moves the draft and its
translations into `kb/<category>/`, refusing (and moving nothing) while any of them has a
problem or an id already in `kb/`.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from bot.knowledge.articles import (
    ArticleError,
    article_files,
    check_articles,
    load_articles,
    parse_article,
    read_article,
)
from bot.knowledge.glossary import glossary
from bot.knowledge.text import STOPWORDS
from bot.language import has_han

REVIEW_MARKER = "TODO-REVIEW"
KB_CATEGORY = {
    "account & access": "account-access",
    "email": "email",
    "Teams": "teams",
    "network/VPN": "network-vpn",
    "hardware": "hardware",
    "printing": "printing",
    "software": "software",
    "mobile": "mobile",
    "security": "security",
}
"""Ticket categories → KB categories; `other` has none, so the reviewer must choose."""
_ASCII_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class DraftSource:
    """What a draft is made from: a resolved ticket's words, already redacted."""

    ticket: str
    title: str
    lang: str
    category: str
    notes: tuple[str, ...]
    day: date


@cache
def _english_to_chinese() -> dict[str, str]:
    """The glossary read backwards: an English phrase → the first Chinese term for it."""
    out: dict[str, str] = {}
    for term, english in glossary().items():
        out.setdefault(english.lower(), term)
    return out


def glossary_title(title: str, to_lang: str) -> str:
    """`title` with every glossary term replaced by its other-language term (longest
    first); words the glossary does not know stay as they are."""
    table = _english_to_chinese() if to_lang == "zh-Hant" else glossary()
    terms = sorted(table, key=len, reverse=True)
    if to_lang == "zh-Hant":
        pattern = re.compile(r"\b(" + "|".join(re.escape(t) for t in terms) + r")\b", re.I)
    else:
        pattern = re.compile("|".join(re.escape(t) for t in terms))
    swapped = pattern.sub(lambda m: f" {table[m.group(0).lower()]} ", title)
    return re.sub(r"\s+", " ", swapped).strip()


def article_id(source: DraftSource) -> str:
    english = glossary_title(source.title, "en") if has_han(source.title) else source.title
    words = _ASCII_WORD.findall(english.lower())[:6]
    number = source.ticket.lower().replace("-", "")
    return "-".join([*words, number]) if words else f"resolution-{number}"


def _front(
    source: DraftSource, ident: str, lang: str, title: str, summary: str, original: str | None
) -> str:
    category = KB_CATEGORY.get(source.category, "")
    words = _ASCII_WORD.findall(title.lower())
    tags = sorted({w for w in words if len(w) > 2 and w not in STOPWORDS})[:6]
    return "\n".join(
        [
            "---",
            f"id: {ident}",
            f"title: {_quoted(title)}",
            f"lang: {lang}",
            f"translation_of: {original or 'null'}",
            f"summary: {_quoted(summary)}",
            f"tags: [{', '.join(tags)}]",
            f"category: {category or 'null'}",
            "audience: employees",
            "owner: it-service-desk",
            f'updated: "{source.day.isoformat()}"',
            "---",
            "",
        ]
    )


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _body(title: str, notes: Sequence[str], after: str) -> str:
    steps = [line.strip() for note in notes for line in note.splitlines() if line.strip()]
    listed = "\n".join(f"{n}. {step}" for n, step in enumerate(steps, start=1))
    return f"# {title}\n\n{listed}\n\n{after}\n"


def write_drafts(folder: Path, source: DraftSource) -> list[Path]:
    """Write the two drafts (requester's language first); return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    ident = article_id(source)
    other = "zh-Hant" if source.lang == "en" else "en"
    summary = next((n.strip().splitlines()[0] for n in source.notes if n.strip()), source.title)
    review = (
        f"<!-- {REVIEW_MARKER}: drafted from {source.ticket} by /helpdesk kb draft. Check the"
        " steps are general, safe for staff to follow and name nobody; set the category and"
        " tags; then delete this line. -->"
    )
    translate = (
        f"<!-- {REVIEW_MARKER}: no machine translation is installed. Only the title was"
        " translated, word by word through the IT glossary; the text below is the"
        f" {'English' if source.lang == 'en' else 'Chinese'} original. Translate the title,"
        " summary and steps, then delete this line. -->"
    )
    retitle = (
        f"<!-- {REVIEW_MARKER}: the title is the requester's words, translated word by word"
        " through the IT glossary: write it in this article's language, then delete this"
        " line. -->"
    )
    after = {
        "en": "## If it still doesn't work\nAsk me to open a ticket.",
        "zh-Hant": "## 如果仲係唔得\n叫我幫你開單。",
    }
    # the title (the ticket's summary, the requester's words) may be in the other language
    # than the notes: each file gets it as written or through the glossary, by its language
    said = "zh-Hant" if has_han(source.title) else "en"
    heard = "en" if said == "zh-Hant" else "zh-Hant"
    titles = {said: source.title, heard: glossary_title(source.title, heard)}
    paths = []
    for lang in (source.lang, other):
        ident_lang = ident if lang == "en" else f"{ident}-zh-hant"
        original = None if lang == "en" else ident
        marker = review if lang == source.lang else review + "\n" + translate
        if lang == source.lang and lang != said:
            marker += "\n" + retitle
        text = _front(source, ident_lang, lang, titles[lang], summary, original)
        text += marker + "\n\n" + _body(titles[lang], source.notes, after[lang])
        path = folder / (f"{ident}.md" if lang == "en" else f"{ident}.zh-Hant.md")
        path.write_text(text, "utf-8")
        paths.append(path)
    return paths


def review_problems(folder: Path) -> list[str]:
    """Drafts still holding a `TODO-REVIEW` line, as `file:line: message`."""
    problems = []
    for path in article_files(folder):
        try:
            text = read_article(path)
        except ArticleError:
            continue  # check_articles reports it
        for number, line in enumerate(text.splitlines(), start=1):
            if REVIEW_MARKER in line:
                problems.append(f"{path}:{number}: awaits review ({REVIEW_MARKER} still there)")
                break
    return problems


def publish(draft: Path, kb: Path) -> tuple[list[Path], list[str]]:
    """Move `draft` and its translations (the drafts sharing its group id) into
    `kb/<category>/`; (moved files, problems) — with any problem nothing is moved."""
    folder = draft.parent
    try:
        group = parse_article(draft, draft.read_text("utf-8")).group_id
    except (OSError, ValueError) as exc:
        return [], [f"{draft}:1: cannot read ({exc})"]
    members = []
    for path in article_files(folder):
        try:
            article = parse_article(path, path.read_text("utf-8"))
        except ValueError:
            continue
        if article.group_id == group:
            members.append((path, article))
    names = {str(path) for path, _ in members}
    problems = [
        p
        for p in [*check_articles(folder), *review_problems(folder)]
        if p.split(":", 1)[0] in names
    ]
    published = {a.article_id for a in load_articles(kb)}
    for path, article in members:
        if article.article_id in published:
            problems.append(f"{path}:2: id {article.article_id!r} is already in {kb}")
        if not article.category:
            problems.append(f"{path}:2: no category: choose one before publishing")
    if problems:
        return [], problems
    moved = []
    for path, article in members:
        target = kb / article.category / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        moved.append(target)
    return moved, []
