"""`helpdesk kb …`: check, search, reload and report on the knowledge base."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bot.cli_common import config_errors, count, input_lines, load, since_option


@click.group()
def kb() -> None:
    """The knowledge base: check articles, search, reload, find gaps, see article stats."""


@kb.command("check")
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@config_errors
def kb_check(folder: Path | None) -> None:
    """Validate every article in FOLDER (default kb.path); one `file:line: problem` each.

    Checks the front matter schema, duplicate ids, translations that point nowhere,
    empty bodies, unknown categories and drafts still awaiting review (a TODO-REVIEW
    line). Run it on kb.drafts_path to check drafts. Exits 1 when there is any problem.
    """
    from bot.knowledge.articles import article_files, check_articles
    from bot.knowledge.drafts import review_problems

    settings = load()
    folder = folder or settings.kb.path
    if not folder.is_dir():
        if folder.resolve() == settings.kb.drafts_path.resolve() and not folder.exists():
            click.echo(f"{folder}: no drafts yet (/helpdesk kb draft HD-n writes them here)")
            return
        click.echo(f"{folder}: not a folder", err=True)
        sys.exit(1)
    problems = check_articles(folder) + review_problems(folder)
    for problem in problems:
        click.echo(problem)
    articles = count(len(article_files(folder)), "article")
    if problems:
        click.echo(f"{count(len(problems), 'problem')} in {articles}", err=True)
        sys.exit(1)
    click.echo(f"{articles} OK")


@kb.command("search")
@click.argument("query", nargs=-1)
@click.option(
    "--kb",
    "folder",
    type=click.Path(path_type=Path),
    help="Index this folder instead of kb.path (recursively).",
)
@click.option(
    "--top", default=3, show_default=True, type=click.IntRange(1, 50), help="Results per query."
)
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object per query: query, answered, results."
)
@click.option(
    "--lang",
    default="en",
    type=click.Choice(["en", "zh-Hant"]),
    help="Prefer articles in this language.",
)
@config_errors
def kb_search(
    query: tuple[str, ...], folder: Path | None, top: int, as_json: bool, lang: str
) -> None:
    """Search for QUERY, or with '-' for one query per line from stdin.

    With --json every query gives one line
    {"query", "answered", "confidence", "results": [{"id", "title", "score"}, …]},
    results best first and present even when the search abstains.
    """
    from bot.knowledge import load_articles
    from bot.knowledge.library import index_for

    settings = load()
    folder = folder or settings.kb.path
    if not folder.is_dir():
        raise click.BadParameter(f"{folder} is not a folder", param_hint="--kb")
    index = index_for(
        folder, load_articles(folder), settings.kb.min_score, settings.kb.encoder_model
    )
    lines = input_lines(query, "QUERY")
    for line in lines:
        result = index.search(line, lang, limit=top)
        if as_json:
            record = {
                "query": line,
                "answered": result.answered,
                "confidence": result.confidence,
                "results": [
                    {"id": h.article.article_id, "title": h.article.title, "score": h.score}
                    for h in result.hits
                ],
            }
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        verdict = "answered" if result.answered else "no good answer (abstains)"
        click.echo(f"{line!r}: {verdict}, confidence {result.confidence:.2f}")
        if result.hits:  # a hit's score is relative to the best hit, which is always 1.00
            shown = "nearest, not offered" if not result.answered else "offered"
            click.echo(f"  {shown} (score relative to the best match):")
        for rank, hit in enumerate(result.hits, start=1):
            click.echo(
                f"  {rank}. {hit.article.article_id}  {hit.article.title}  ({hit.score:.2f})"
            )


@kb.command("reload")
@config_errors
def kb_reload() -> None:
    """Ask running bots to re-read the knowledge base (they do so before their next message)."""
    from bot.knowledge.articles import check_articles
    from bot.knowledge.library import SIGNAL
    from bot.store import open_store
    from bot.store.kb_log import Signals

    settings = load()
    problems = check_articles(settings.kb.path)
    for problem in problems:
        click.echo(f"warning: {problem} (this article will be skipped)", err=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    generation = Signals(open_store(settings.store)).bump(SIGNAL)
    click.echo(
        f"reload requested (generation {generation}); bots pick it up before their next message"
    )


@kb.command("gaps")
@click.option(
    "--since",
    callback=since_option,
    metavar="DATE",
    help="Only searches on or after this date (2026-11-01, UTC) or ISO time.",
)
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(1, 500), help="Clusters to show."
)
@config_errors
def kb_gaps(since: str | None, limit: int) -> None:
    """The most frequent questions with no answer or a "not quite", similar ones grouped.

    What to write next: each line is a cluster with its size, how many went
    unanswered and how many got "not quite", and example wordings; below it, the
    resolved tickets opened from those questions (their resolutions are the article's
    words: /helpdesk kb draft HD-n).
    """
    from bot.knowledge.gap_tickets import solved_by
    from bot.store import open_store
    from bot.store.kb_log import SearchLog

    settings = load()
    db = open_store(settings.store)
    gaps = SearchLog(db).gaps(since or "", limit)
    if not gaps:
        click.echo("no unanswered or 'not quite' questions" + (f" since {since}" if since else ""))
        return
    click.echo(f"{'searches':>8}  {'unanswered':>10}  {'not quite':>9}  question")
    for gap, tickets in zip(gaps, solved_by(db.conn, gaps, since or ""), strict=True):
        others = f"  (also: {'; '.join(gap.others)})" if gap.others else ""
        click.echo(
            f"{gap.count:>8}  {gap.unanswered:>10}  {gap.not_quite:>9}  {gap.example}{others}"
        )
        if tickets:
            click.echo(f"      solved in {', '.join(tickets)}: /helpdesk kb draft {tickets[0]}")


@kb.command("stats")
@click.option(
    "--since",
    callback=since_option,
    metavar="DATE",
    help="Only events on or after this date (2026-11-01, UTC) or ISO time.",
)
@config_errors
def kb_stats(since: str | None) -> None:
    """Per article: times shown, read, solved, not quite, and the solved rate.

    The solved rate counts only answers people gave: solved / (solved + not quite).
    A "This solved it" under a card of several articles counts for each of them.
    """
    from bot.store import open_store
    from bot.store.kb_log import SearchLog

    settings = load()
    rows = SearchLog(open_store(settings.store)).stats(since or "")
    if not rows:
        click.echo("no article has been shown yet")
        return
    header = ("article", "shown", "read", "solved", "not quite", "solved rate")
    click.echo("{:<44} {:>6} {:>5} {:>6} {:>9} {:>11}".format(*header))
    for row in rows:
        rate = "-" if row.solved_rate is None else f"{row.solved_rate:.0%}"
        click.echo(
            f"{row.article_id:<44} {row.shown:>6} {row.read:>5} {row.solved:>6}"
            f" {row.not_quite:>9} {rate:>11}"
        )


@kb.command("publish")
@click.argument("draft", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--kb", "folder", type=click.Path(path_type=Path), help="Publish into this folder.")
@config_errors
def kb_publish(draft: Path, folder: Path | None) -> None:
    """Move a reviewed DRAFT and its translations into kb.path/<category>/.

    Refuses, moving nothing and exiting 1, while any of them has a problem `kb check`
    reports (a TODO-REVIEW line still there, a missing category, bad front matter) or an
    id already in the knowledge base. Then run `helpdesk kb reload`.
    """
    from bot.knowledge.drafts import publish

    folder = folder or load().kb.path
    moved, problems = publish(draft, folder)
    for problem in problems:
        click.echo(problem)
    if problems:
        click.echo(f"not published: {count(len(problems), 'problem')}", err=True)
        sys.exit(1)
    for path in moved:
        click.echo(f"published {path}")
    click.echo("run `helpdesk kb reload` to have running bots read them")
