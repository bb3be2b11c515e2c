"""Resolutions into articles: `/helpdesk kb draft HD-n` writes redacted drafts in both
languages, `kb check` holds them until reviewed, `kb publish` moves only a reviewed one,
and `kb gaps` names the tickets that solved each gap."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.knowledge.articles import check_articles
from bot.knowledge.drafts import REVIEW_MARKER, glossary_title
from tests.harness import ROOT, BotHarness, text_of

REQUESTER = "chan.taiman@corp.example.com"
ENGINEER = "ho.kawai@corp.example.com"
QUESTION = "how do I calibrate the frobnitz colour plotter"
SECRET = "Xk9#mP2$vLq7"


@pytest.fixture
def bot(tmp_path: Path) -> BotHarness:
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "kb" / "printing", kb / "printing")
    return BotHarness(tmp_path, kb_path=kb)


def ticket_from_unanswered_question(bot: BotHarness, question: str = QUESTION) -> int:
    assert "don't have an article" in text_of(bot.say(question, user=REQUESTER))
    bot.click("Open a ticket", user=REQUESTER)
    assert "I've opened ticket" in text_of(bot.click("Open ticket", user=REQUESTER))
    return int(bot.rows("SELECT max(id) FROM tickets")[0][0])  # type: ignore[arg-type]


def cli(bot: BotHarness, *args: str) -> tuple[int, str]:
    env = {"HELPDESK_DATA_DIR": str(bot.data_dir), "HELPDESK_CONFIG": str(bot.data_dir / "c.toml")}
    (bot.data_dir / "c.toml").write_text(
        f'[kb]\npath = "{bot.kb_path}"\ndrafts_path = "{bot.data_dir / "kb-drafts"}"\n', "utf-8"
    )
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def test_draft_is_redacted_bilingual_and_held_until_reviewed_then_published(
    bot: BotHarness,
) -> None:
    number = ticket_from_unanswered_question(bot)
    not_yet = text_of(bot.command(f"/helpdesk kb draft HD-{number}", user=ENGINEER))
    assert "not resolved yet" in not_yet
    bot.command(
        f"/helpdesk reply HD-{number} Open Plotter Setup and choose Calibrate.", user=ENGINEER
    )
    bot.command(
        f"/helpdesk resolve HD-{number} Run the colour test page; admin password: {SECRET}",
        user=ENGINEER,
    )
    refused = text_of(bot.command(f"/helpdesk kb draft HD-{number}", user=REQUESTER))
    assert "for the IT service desk" in refused
    said = text_of(bot.command(f"/helpdesk kb draft HD-{number}", user=ENGINEER))
    assert "Drafts from HD-" in said and "helpdesk kb publish" in said
    drafts = bot.data_dir / "kb-drafts"
    english = next(drafts.glob("*-hd*.md"))
    chinese = english.with_name(english.name.replace(".md", ".zh-Hant.md"))
    en_text, zh_text = english.read_text("utf-8"), chinese.read_text("utf-8")
    assert SECRET not in en_text and SECRET not in zh_text
    assert "1. Open Plotter Setup and choose Calibrate." in en_text
    assert "2. Run the colour test page" in en_text
    assert "translation_of: null" in en_text and "lang: zh-Hant" in zh_text
    assert f"translation_of: {english.stem}" in zh_text
    assert "no machine translation is installed" in zh_text  # honest about the translation
    assert 'title: "點樣' in zh_text  # "how" through the glossary
    # kb check holds both: review markers, no category chosen
    code, out = cli(bot, "kb", "check", str(drafts))
    assert code == 1 and f"awaits review ({REVIEW_MARKER} still there)" in out
    assert "'category' has the wrong type" in out
    code, out = cli(bot, "kb", "publish", str(english))
    assert code == 1 and english.exists() and not list((bot.kb_path or drafts).rglob("*hd*"))
    # the reviewer's work: category chosen, markers deleted ...
    for path, text in ((english, en_text), (chinese, zh_text)):
        lines = [line for line in text.splitlines() if REVIEW_MARKER not in line]
        reviewed = "\n".join(lines).replace("category: null", "category: printing")
        path.write_text(reviewed + "\n", "utf-8")
    code, out = cli(bot, "kb", "check", str(drafts))
    assert code == 1 and "lang is zh-Hant but most of the body is not Chinese" in out
    # ... and the Chinese steps translated
    translated = chinese.read_text("utf-8")
    translated = translated.replace(
        "Open Plotter Setup and choose Calibrate.", "打開 Plotter Setup，揀 Calibrate。"
    ).replace("Run the colour test page", "印一張彩色測試頁")
    chinese.write_text(translated, "utf-8")
    code, out = cli(bot, "kb", "check", str(drafts))
    assert code == 0, out
    code, out = cli(bot, "kb", "publish", str(english))
    assert code == 0, out
    assert bot.kb_path is not None
    published = sorted(p.name for p in (bot.kb_path / "printing").glob("*-hd*"))
    assert published == [english.name, chinese.name]
    assert check_articles(bot.kb_path) == []
    assert not english.exists() and not chinese.exists()


def test_kb_gaps_names_the_tickets_that_solved_each_gap(bot: BotHarness) -> None:
    solved = ticket_from_unanswered_question(bot)
    still_open = ticket_from_unanswered_question(
        bot, "how do I calibrate the frobnitz colour plotter?"
    )
    bot.command(f"/helpdesk resolve HD-{solved} calibrated it from Plotter Setup", user=ENGINEER)
    code, out = cli(bot, "kb", "gaps")
    assert code == 0, out
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if QUESTION in line)
    assert f"solved in HD-{solved}: /helpdesk kb draft HD-{solved}" in lines[head + 1]
    assert f"HD-{still_open}" not in out  # opened from it, but not solved yet


def test_glossary_title_goes_both_ways() -> None:
    assert "密碼" in glossary_title("Reset password on the laptop", "zh-Hant")
    assert "password" in glossary_title("改咗密碼之後 Outlook 彈窗", "en")


def test_the_resolutions_language_makes_the_original_not_the_requesters(
    bot: BotHarness,
) -> None:
    """Newcomer finding 14: a Cantonese requester's ticket resolved in English gave an
    `lang: en` draft titled in Chinese saying "the text below is the Chinese original", and a
    `zh-Hant` draft of English steps that `kb check` passed once the markers were gone."""
    assert "我冇相關嘅文章" in text_of(bot.say("部 frobnitz 彩色繪圖機點樣校色", user=REQUESTER))
    bot.click("開單", user=REQUESTER)
    assert "HD-" in text_of(bot.click("開單", user=REQUESTER))
    number = int(bot.rows("SELECT max(id) FROM tickets")[0][0])  # type: ignore[arg-type]
    assert bot.rows("SELECT requester_lang FROM tickets") == [("zh-Hant",)]
    bot.command(
        f"/helpdesk resolve HD-{number} Open Plotter Setup, choose Calibrate, print a test page",
        user=ENGINEER,
    )
    bot.command(f"/helpdesk kb draft HD-{number}", user=ENGINEER)
    drafts = bot.data_dir / "kb-drafts"
    [english] = [p for p in drafts.glob("*.md") if not p.name.endswith(".zh-Hant.md")]
    chinese = english.with_name(english.name.replace(".md", ".zh-Hant.md"))
    en_text, zh_text = english.read_text("utf-8"), chinese.read_text("utf-8")
    assert "lang: en" in en_text and "no machine translation" not in en_text
    assert "id: frobnitz-" in en_text and "the title is the requester's words" in en_text
    assert "lang: zh-Hant" in zh_text and "彩色繪圖機" in zh_text.split("title: ")[1]
    assert "the text below is the English original" in zh_text
    for path in (english, chinese):
        lines = [line for line in path.read_text("utf-8").splitlines() if REVIEW_MARKER not in line]
        path.write_text("\n".join(lines).replace("category: null", "category: printing"), "utf-8")
    code, out = cli(bot, "kb", "check", str(drafts))
    assert code == 1 and out.splitlines() == [
        f"{chinese}:{line}: lang is zh-Hant but most of the body is not Chinese"
        for line in [
            1
            + chinese.read_text("utf-8")
            .splitlines()
            .index("1. Open Plotter Setup, choose Calibrate, print a test page")
        ]
    ] + ["1 problem in 2 articles"]
