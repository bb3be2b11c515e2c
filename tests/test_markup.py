"""One text markup (a CommonMark subset) for every reply, converted per platform: KB
articles and the weekly report read properly in Slack and in the terminal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.adapters.console import render
from bot.adapters.slack.blocks import reply_blocks
from bot.knowledge.articles import load_articles
from bot.markup import to_mrkdwn, to_plain
from bot.messages import Reply
from bot.reports.weekly import to_markdown, weekly
from tests.harness import BotHarness

ROOT = Path(__file__).resolve().parent.parent


def test_bold_headings_lists_and_code_become_slack_mrkdwn() -> None:
    text = (
        "# Reset the VPN\n**Before you start**, check *Wi-Fi*.\n- Open `GlobalProtect`\n1. Sign in"
    )
    assert to_mrkdwn(text) == (
        "*Reset the VPN*\n*Before you start*, check _Wi-Fi_.\n• Open `GlobalProtect`\n1. Sign in"
    )
    assert to_plain(text) == (
        "Reset the VPN\nBefore you start, check Wi-Fi.\n• Open GlobalProtect\n1. Sign in"
    )


def test_a_link_shows_its_address_and_typed_slack_markup_stays_text() -> None:
    typed = "see [your payslip](https://evil.example/x) <!channel> <@U1> & <https://ok.example>"
    slack = to_mrkdwn(typed)
    assert "<https://evil.example" not in slack and "|" not in slack
    assert "your payslip (https://evil.example/x)" in slack
    assert "&lt;!channel&gt; &lt;@U1&gt; &amp; https://ok.example" in slack


def test_words_with_underscores_and_stars_in_sums_are_left_alone() -> None:
    text = "user chan_tai_man ran 2*3*4 in snake_case"
    assert to_mrkdwn(text) == text and to_plain(text) == text


def test_a_table_is_aligned_in_a_code_block_in_slack_and_plain_in_the_terminal() -> None:
    text = "| Engineer | Resolved |\n|---|---:|\n| **Total** | 12 |\n| ho.kawai | 3 |"
    assert to_mrkdwn(text).split("\n") == [
        "```",
        "Engineer  Resolved",
        "Total     12",
        "ho.kawai  3",
        "```",
    ]
    assert to_plain(text).split("\n") == ["Engineer  Resolved", "Total     12", "ho.kawai  3"]


def test_every_kb_article_reaches_slack_without_commonmark_left_in_it() -> None:
    articles = load_articles(ROOT / "kb")
    assert articles
    for article in articles:
        text, blocks = reply_blocks(Reply(f"**{article.title}**\n\n{article.body}"))
        shown = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
        assert "**" not in shown, article.article_id
        assert not any(line.lstrip().startswith("#") for line in shown.split("\n"))
        assert shown.startswith(f"*{article.title.replace('&', '&amp;')}*")
        assert "**" not in text  # the notification fallback is plain


def test_the_weekly_report_reads_in_slack_and_in_the_terminal(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path)
    start = datetime(2026, 11, 30, tzinfo=UTC)
    report = weekly(bot.services.db.conn, start, datetime(2026, 12, 7, tzinfo=UTC))
    text = to_markdown(report, "en")
    assert "#" in text or "**" in text  # it is written in the markup
    slack = to_mrkdwn(text)
    assert "**" not in slack and not any(line.startswith("#") for line in slack.split("\n"))
    terminal = render(Reply(text))
    assert "**" not in terminal and "|---" not in terminal
