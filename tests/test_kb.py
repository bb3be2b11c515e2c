"""The knowledge base: article checks, hybrid search, abstention, reload and analytics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.knowledge import KnowledgeBase, load_articles
from bot.knowledge.articles import CATEGORIES, check_articles
from bot.knowledge.frontmatter import parse_front_matter
from bot.store.kb_log import asks_something
from tests.harness import BotHarness, text_of

ROOT = Path(__file__).resolve().parent.parent
KB = ROOT / "kb"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase(load_articles(KB))


GOOD = """---
id: {id}
title: {title}
lang: {lang}
translation_of: {tr}
summary: A short summary.
tags: [printer, offline]
category: printing
audience: employees
owner: it-service-desk
updated: "2026-11-01"
---
# Title

Step one.
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def test_shipped_kb_passes_the_check_and_has_40_bilingual_topics() -> None:
    assert check_articles(KB) == []
    articles = load_articles(KB)
    english = {a.article_id for a in articles if a.lang == "en"}
    chinese = {a.translation_of for a in articles if a.lang == "zh-Hant"}
    assert len(english) >= 40
    assert english == chinese, "every English article has a Traditional Chinese translation"
    assert {a.category for a in articles} <= set(CATEGORIES)


def test_kb_check_reports_each_problem_with_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "a.md", GOOD.format(id="a", title="Printer offline", lang="en", tr="null"))
    write(tmp_path, "b/dup.md", GOOD.format(id="a", title="Dup", lang="en", tr="null"))
    write(tmp_path, "c.md", GOOD.format(id="c", title="T", lang="zh-Hant", tr="nowhere"))
    write(
        tmp_path,
        "d.md",
        GOOD.format(id="d", title="T", lang="en", tr="null").replace("printing", "plumbing"),
    )
    write(
        tmp_path, "e.md", GOOD.format(id="e", title="T", lang="en", tr="null").split("# Title")[0]
    )
    write(tmp_path, "f.md", "no front matter here\n")
    write(
        tmp_path,
        "g.md",
        GOOD.format(id="g", title="T", lang="fr", tr="null").replace(
            "owner: it-service-desk\n", ""
        ),
    )
    problems = check_articles(tmp_path)
    text = "\n".join(problems)
    assert "b/dup.md:2: duplicate id 'a'" in text
    assert "c.md:5: translation_of 'nowhere' is no article" in text
    assert "d.md:8: unknown category 'plumbing'" in text
    assert "e.md:12: the article has no body" in text
    assert "f.md:1: no front matter" in text
    assert "g.md:4: lang must be one of" in text and "g.md:2: missing 'owner'" in text
    done = CliRunner().invoke(main, ["kb", "check", str(tmp_path)])
    assert done.exit_code == 1
    assert done.output.count("\n") >= len(problems)


def test_a_malformed_article_is_skipped_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path, "ok.md", GOOD.format(id="ok", title="Printer offline", lang="en", tr="null"))
    write(tmp_path, "bad.md", "---\nid: [unclosed\n---\nbody\n")
    articles = load_articles(tmp_path)
    assert [a.article_id for a in articles] == ["ok"]
    assert any("bad.md" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "line",
    [
        'id: "quoted-id"',
        "title: Outlook keeps asking",
        'tags: ["a", "b"]',
        "translation_of: null",
        'updated: "2026-11-01"',
        "summary: plain text, with a comma",
        "tags: [outlook, 密碼, sign in]",
        "tags: []",
    ],
)
def test_front_matter_fast_path_agrees_with_yaml(line: str) -> None:
    import yaml

    assert parse_front_matter(line) == yaml.safe_load(line)


@pytest.mark.parametrize(
    ("query", "lang", "expected"),
    [
        ("outlok keeps asking pasword", "en", "outlook-password-prompt"),
        ("vpn wont connect from home", "en", "vpn-cannot-connect"),
        ("my mailbox is full cant send", "en", "mailbox-full"),
        ("teams no sound in meetings", "en", "teams-audio-video"),
        ("bitlocker recovery key screen", "en", "bitlocker-recovery-screen"),
        ("部打印機 offline", "zh-Hant", "add-network-printer"),
        ("郵箱爆咗", "zh-Hant", "mailbox-full"),
        ("點樣set out of office", "zh-Hant", "out-of-office"),
    ],
)
def test_search_finds_the_article_in_the_askers_language(
    kb: KnowledgeBase, query: str, lang: str, expected: str
) -> None:
    result = kb.search(query, lang)
    assert result.answered
    top = result.hits[0].article
    assert top.group_id == expected
    assert top.lang == lang


def test_chinese_question_finds_an_english_only_article_through_the_glossary(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        "a.md",
        GOOD.format(id="printer-offline", title="Printer shows offline", lang="en", tr="null"),
    )
    write(
        tmp_path,
        "b.md",
        GOOD.format(id="vpn", title="VPN will not connect", lang="en", tr="null").replace(
            "printer, offline", "vpn"
        ),
    )
    result = KnowledgeBase(load_articles(tmp_path)).search("打印機唔work", "zh-Hant")
    assert result.hits[0].article.article_id == "printer-offline"


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "!!!???",
        "🙂🙂",
        '"unclosed',
        "NEAR(a b)",
        "a OR b",
        "* - ^",
        "x" * 10_000,
        "DROP TABLE head; --",
        "混合 mixed 文字 text",
        "\x00\x01",
    ],
)
def test_odd_queries_give_a_valid_answer_never_an_exception(kb: KnowledgeBase, query: str) -> None:
    result = kb.search(query)
    assert isinstance(result.answered, bool)
    assert 0.0 <= result.confidence <= 1.0


def test_search_abstains_when_it_has_no_article(kb: KnowledgeBase) -> None:
    for query in (
        "what is on the canteen menu",
        "book a meeting room for friday",
        "workday payslip",
    ):
        assert not kb.search(query).answered, query


def test_chinese_the_glossary_cannot_read_counts_against_the_confidence(
    kb: KnowledgeBase,
) -> None:
    # "where can I download my payslip": the glossary knows only 下載 (download)
    payslip = kb.parse("邊度可以下載返我啲糧單")
    assert payslip.clean == "download"
    assert payslip.untranslated == 2, "糧 and 單; 邊度, 可以, 返, 我 and 啲 say no topic"
    assert kb.parse("下載").untranslated == 0
    assert kb.search("邊度可以下載返我啲糧單").confidence < kb.search("下載").confidence
    assert not kb.search("邊度可以下載返我啲糧單").answered


def test_typo_correction_uses_the_index_vocabulary(kb: KnowledgeBase) -> None:
    assert kb.correct("pasword") == "password"
    assert kb.correct("mailbox") == "mailbox"
    assert kb.correct("zzzzqqq") is None


def test_feedback_is_logged_per_search_and_article(bot: BotHarness) -> None:
    bot.say("outlook keeps asking for my password")
    bot.click("Not quite")
    bot.click("This solved it")
    searches = bot.rows("SELECT query, answered, feedback FROM kb_searches ORDER BY id")
    assert searches[0] == ("outlook keeps asking for my password", 1, "not_quite")
    assert searches[-1][2] == "solved"
    kinds = {k for (k,) in bot.rows("SELECT kind FROM kb_events")}
    assert {"shown", "not_quite", "solved"} <= kinds


def test_a_chinese_reader_is_counted_on_the_chinese_article(bot: BotHarness) -> None:
    bot.say("Teams 開會冇聲，對方聽唔到我")
    bot.click(1)  # read the first card
    bot.click("解決咗")
    events = bot.rows("SELECT kind, article_id FROM kb_events ORDER BY id")
    assert ("shown", "teams-audio-video-zh-hant") in events
    assert ("read", "teams-audio-video-zh-hant") in events
    assert ("solved", "teams-audio-video-zh-hant") in events
    assert not [e for e in events if e[1] == "teams-audio-video"]


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("1", False),
        ("5 stars", False),
        ("5 stars!!", False),
        ("五粒星", False),
        ("4/5", False),
        ("thanks", False),
        ("ok thx", False),
        ("多謝晒！", False),
        ("唔該", False),
        ("👍", False),
        ("bye", False),
        ("canteen menu today", True),
        ("VPN 連唔到", True),
        ("點樣申請泊車位", True),
        ("5 monitors for the new joiners", True),
    ],
)
def test_gaps_leave_out_choices_ratings_and_small_talk(text: str, asks: bool) -> None:
    assert asks_something(text) is asks


def test_gaps_and_stats_cli(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path)
    for q in (
        "1",
        "5 stars",
        "thanks!",
        "canteen opening hours",
        "canteen opening hours today",
        "canteen hours pls",
        "parking permit",
    ):
        bot.say(q)
    bot.say("outlook keeps asking for my password")
    bot.click("This solved it")
    env = {"HELPDESK_DATA_DIR": str(tmp_path)}
    gaps = CliRunner().invoke(main, ["kb", "gaps"], env=env)
    assert gaps.exit_code == 0
    header, first = gaps.output.splitlines()[:2]
    assert header.split()[:3] == ["searches", "unanswered", "not"]
    assert first.split()[0] == "3" and "canteen" in first
    stats = CliRunner().invoke(main, ["kb", "stats"], env=env)
    assert "outlook-password-prompt" in stats.output and "100%" in stats.output


def test_reload_picks_up_a_new_article_without_restarting(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    write(
        folder,
        "a.md",
        GOOD.format(id="printer", title="Printer shows offline", lang="en", tr="null"),
    )
    data = tmp_path / "data"
    bot = BotHarness(data, kb_path=folder)
    assert "I don't have an article" in text_of(bot.say("how do i get a parking permit"))
    write(
        folder,
        "b.md",
        GOOD.format(id="parking", title="Apply for a parking permit", lang="en", tr="null").replace(
            "printer, offline", "parking, permit, car park"
        ),
    )
    env = {
        "HELPDESK_DATA_DIR": str(data),
        "HELPDESK_CONFIG": str(write(tmp_path, "h.toml", f'[kb]\npath = "{folder.as_posix()}"\n')),
    }
    done = CliRunner().invoke(main, ["kb", "reload"], env=env)
    assert done.exit_code == 0, done.output
    replies = bot.say("how do i get a parking permit")
    assert replies[0].cards and replies[0].cards[0].article_id == "parking"


def test_batch_search_cli_reads_stdin_and_writes_json_lines() -> None:
    queries = "outlook keeps asking for my password\ncanteen menu\n\n"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "kb", "search", "--kb", str(KB), "--json", "--top", "2", "-"],
        input=queries.encode(),
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=True,
        env={**os.environ, "HELPDESK_DATA_DIR": "/nonexistent-not-needed"},
    )
    records = [json.loads(x) for x in done.stdout.decode().splitlines()]
    assert len(records) == 3
    assert set(records[0]) == {"query", "answered", "confidence", "results"}
    assert records[0]["answered"] is True
    assert records[0]["results"][0]["id"] == "outlook-password-prompt"
    assert set(records[0]["results"][0]) == {"id", "title", "score"}
    assert records[1]["answered"] is False
    assert records[2]["results"] == [] and records[2]["answered"] is False
