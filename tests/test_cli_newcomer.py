"""What a newcomer met on the command line (FINDINGS-newcomer items 9–12, 14, 21–26, 29, 30,
33, 34): every error is one sentence, never a traceback; every `--since` refuses nonsense;
`config check` fails on a KB the bot would not fully use; demo users show their roles; the demo
directory's stories move to today."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.integrations.demo import DemoDirectory
from tests.harness import BotHarness, text_of

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo-directory.json"
APP_ID = "00000000-0000-4000-8000-000000000001"
ARTICLE = """---
id: {id}
title: {title}
lang: {lang}
translation_of: null
summary: A short summary.
tags: [password]
category: account-access
audience: employees
owner: it-service-desk
updated: "2026-11-01"
---
{body}
"""


def run(args: list[str], data: Path, toml: str = "") -> Result:
    env: dict[str, str | None] = {"HELPDESK_DATA_DIR": str(data), "HELPDESK_CONFIG": None}
    if toml:
        config = data / "helpdesk.toml"
        data.mkdir(parents=True, exist_ok=True)
        config.write_text(toml, "utf-8")
        env["HELPDESK_CONFIG"] = str(config)
    return CliRunner().invoke(main, args, env=env)


def one_sentence(result: Result) -> str:
    """The error a command printed: exactly one line, no traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_a_manifest_into_a_missing_folder_is_one_sentence(tmp_path: Path) -> None:
    """Finding 9: `teams manifest -o /nonexistent/dir/t.zip` printed a traceback."""
    target = tmp_path / "nonexistent" / "dir" / "t.zip"
    toml = f'[teams]\napp_id = "{APP_ID}"\n'
    args = ["teams", "manifest", "--url", "https://x.example.com", "-o", str(target)]
    done = run(args, tmp_path / "data", toml)
    assert done.exit_code == 1
    said = one_sentence(done)
    assert said == f"helpdesk: cannot use {target}: there is no folder {target.parent}"


def test_a_kb_file_that_is_not_utf8_is_named_by_every_kb_tool(tmp_path: Path) -> None:
    """Finding 10: `kb check` tracebacked on a UTF-16 file; `kb search` logged no file name."""
    kb = tmp_path / "kb"
    (kb / "x").mkdir(parents=True)
    good = ARTICLE.format(
        id="pw", title="Change my password", lang="en", body="Press Ctrl+Alt+Del."
    )
    (kb / "x" / "a.md").write_text(good, "utf-8")
    bad = kb / "x" / "d.md"
    bad.write_bytes(b"\xff\xfe" + good.encode("utf-16-le"))
    checked = run(["kb", "check", str(kb)], tmp_path / "data")
    assert checked.exit_code == 1
    assert checked.stdout.splitlines() == [f"{bad}:1: not UTF-8 text (save it as UTF-8)"]
    assert checked.stderr.strip() == "1 problem in 2 articles"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env["HELPDESK_DATA_DIR"] = str(tmp_path / "data")
    searched = subprocess.run(
        [sys.executable, "-m", "bot", "kb", "search", "--kb", str(kb), "password"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert searched.returncode == 0, searched.stderr
    assert f"{bad}:1: not UTF-8 text" in searched.stderr and "Traceback" not in searched.stderr


SINCE_COMMANDS = (
    ["tickets", "list"],
    ["tickets", "export", "--csv"],
    ["kb", "gaps"],
    ["kb", "stats"],
    ["audit", "export"],
)


@pytest.mark.parametrize("command", SINCE_COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    "since", ["yesterday", "2026-13-45", "2026-02-30", "2026-02-31", "garbage"]
)
def test_every_since_option_refuses_nonsense_and_impossible_dates(
    tmp_path: Path, command: list[str], since: str
) -> None:
    """Finding 11: `--since yesterday` gave "0 tickets", `--since 2026-02-30` all of them."""
    done = run([*command, "--since", since], tmp_path)
    assert done.exit_code == 2
    assert f"Invalid value for --since: {since!r} is not a date (2026-11-01)" in done.stderr
    assert "Traceback" not in done.output


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["report", "weekly", "--week", "2026-02-30"], "--week"),
        (["report", "handoff", "--shift", "2026-02-30 Day"], "--shift"),
        (["report", "handoff", "--shift", "yesterday Day"], "--shift"),
    ],
)
def test_options_naming_a_day_refuse_impossible_dates_in_the_same_words(
    tmp_path: Path, args: list[str], option: str
) -> None:
    done = run(args, tmp_path)
    assert done.exit_code == 2
    day = args[-1].split()[0]
    assert f"Invalid value for {option}: {day!r} is not a date (2026-11-01)" in done.stderr


def test_since_still_filters_and_accepts_an_offset(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path)
    bot.say("talk to a human", user="chan.taiman@corp.example.com")
    bot.say("my monitor flickers", user="chan.taiman@corp.example.com")
    bot.click("Open ticket", user="chan.taiman@corp.example.com")
    opened = bot.clock()  # 2026-11-21T02:00Z, 10:00 in Hong Kong
    before = (opened - timedelta(minutes=1)).astimezone().strftime("%Y-%m-%dT%H:%M%z")
    assert "1 ticket\n" in run(["tickets", "list", "--since", before], tmp_path).stderr
    after = "2026-11-21T10:01:00+08:00"
    assert "0 tickets\n" in run(["tickets", "list", "--since", after], tmp_path).stderr
    assert "1 ticket\n" in run(["tickets", "list", "--since", "2026-11-21"], tmp_path).stderr


def test_ticket_filters_fold_case_and_refuse_unknown_teams_and_categories(tmp_path: Path) -> None:
    """Finding 26: an upper-case address found nothing; `--team Nope` read as 0 tickets."""
    bot = BotHarness(tmp_path)
    bot.say("talk to a human", user="lee.kachun@corp.example.com")
    bot.say("printer on 25F not working", user="lee.kachun@corp.example.com")
    bot.click("Open ticket", user="lee.kachun@corp.example.com")
    found = run(["tickets", "list", "--requester", "LEE.KACHUN@corp.example.com"], tmp_path)
    assert found.exit_code == 0 and found.stdout.startswith("HD-1001\t")
    team = run(["tickets", "list", "--team", "Nope"], tmp_path)
    assert team.exit_code == 2 and "no team 'Nope' (known: " in team.stderr
    category = run(["tickets", "list", "--category", "nope"], tmp_path)
    assert category.exit_code == 2 and "no category 'nope' (known: " in category.stderr
    any_case = run(["tickets", "list", "--category", "PRINTING"], tmp_path)
    assert any_case.exit_code == 0 and "HD-1001" in any_case.stdout
    weekly = run(["report", "weekly", "--team", "Nope"], tmp_path)
    assert weekly.exit_code == 2 and "no team 'Nope'" in weekly.stderr


def test_a_handoff_for_a_shift_that_has_not_started_is_refused(tmp_path: Path) -> None:
    """Finding 25: `report handoff --shift '2027-01-01 Day'` printed a report of the future."""
    future = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
    done = run(["report", "handoff", "--shift", f"{future} Day"], tmp_path)
    assert done.exit_code == 2
    assert f"the Day shift on {future} has not started yet" in done.stderr
    assert run(["report", "handoff", "--shift", "current"], tmp_path).exit_code == 0
    bot = BotHarness(tmp_path / "chat")
    said = text_of(bot.command(f"/helpdesk handoff {future} Day", user="ho.kawai@corp.example.com"))
    assert said == (
        f"The Day shift on {future} has not started yet: a handoff covers a shift that has begun."
    )


def test_config_check_fails_on_an_empty_kb_and_on_articles_the_bot_would_skip(
    tmp_path: Path,
) -> None:
    """Finding 24: `configuration OK … 0 articles` on an empty KB, `1 articles` with 4 broken."""
    kb = tmp_path / "kb"
    kb.mkdir()
    toml = f'[kb]\npath = "{kb.as_posix()}"\n'
    empty = run(["config", "check"], tmp_path / "data", toml)
    assert empty.exit_code == 1
    assert one_sentence(empty) == f"helpdesk: knowledge base: no article in {kb} (kb.path)"
    good = ARTICLE.format(
        id="pw", title="Change my password", lang="en", body="Press Ctrl+Alt+Del."
    )
    (kb / "a.md").write_text(good, "utf-8")
    (kb / "b.md").write_text("no front matter here\n", "utf-8")
    broken = run(["config", "check"], tmp_path / "data", toml)
    assert broken.exit_code == 1 and "configuration OK" not in broken.stdout
    lines = broken.stderr.strip().splitlines()
    assert lines[0].startswith(f"{kb / 'b.md'}:1: ")
    assert lines[-1].startswith(f"helpdesk: knowledge base: 1 problem in 2 articles in {kb}")
    (kb / "b.md").unlink()
    fine = run(["config", "check"], tmp_path / "data", toml)
    assert fine.exit_code == 0, fine.output
    assert f"knowledge base: 1 article in {kb}" in fine.stdout


def test_kb_check_flags_a_chinese_article_without_chinese(tmp_path: Path) -> None:
    """Finding 14: a `zh-Hant` draft with English steps passed `kb check` and was published."""
    english = ARTICLE.format(
        id="v", title="Visio", lang="en", body="Install it from Company Portal."
    )
    (tmp_path / "v.md").write_text(english, "utf-8")
    chinese = english.replace("id: v\n", "id: v-zh\n").replace("lang: en", "lang: zh-Hant")
    chinese = chinese.replace("translation_of: null", "translation_of: v")
    (tmp_path / "v.zh-Hant.md").write_text(chinese, "utf-8")
    done = run(["kb", "check", str(tmp_path)], tmp_path / "data")
    assert done.exit_code == 1
    assert done.stdout.splitlines() == [
        f"{tmp_path / 'v.zh-Hant.md'}:13: lang is zh-Hant but most of the body is not Chinese"
    ]
    (tmp_path / "v.zh-Hant.md").write_text(chinese.replace("Install it", "喺 Company Portal 安裝"))
    assert run(["kb", "check", str(tmp_path)], tmp_path / "data").exit_code == 0


def test_kb_check_on_the_drafts_folder_before_any_draft(tmp_path: Path) -> None:
    """Finding 29: the README's `kb check kb-drafts` said "not a folder" on a fresh clone."""
    drafts = tmp_path / "kb-drafts"
    toml = f'[kb]\ndrafts_path = "{drafts.as_posix()}"\n'
    done = run(["kb", "check", str(drafts)], tmp_path / "data", toml)
    assert done.exit_code == 0
    assert (
        done.stdout.strip() == f"{drafts}: no drafts yet (/helpdesk kb draft HD-n writes them here)"
    )
    elsewhere = run(["kb", "check", str(tmp_path / "nowhere")], tmp_path / "data", toml)
    assert elsewhere.exit_code == 1 and "not a folder" in elsewhere.stderr


def test_kb_search_says_its_scores_are_relative(tmp_path: Path) -> None:
    """Finding 29: `confidence 0.00` next to a hit scored `(1.00)` read as a contradiction."""
    done = run(["kb", "search", "asdkjh qwe"], tmp_path)
    assert done.exit_code == 0
    lines = done.stdout.splitlines()
    assert "no good answer (abstains), confidence" in lines[0]
    assert lines[1] == "  nearest, not offered (score relative to the best match):"


def test_demo_users_show_who_is_an_engineer_or_a_supervisor(tmp_path: Path) -> None:
    """Finding 21."""
    done = run(["demo", "users"], tmp_path)
    roles = {line.split()[0]: line.split()[2] for line in done.stdout.splitlines()}
    assert roles["ho.kawai@corp.example.com"] == "engineer"
    assert roles["tsang.hoiyan@corp.example.com"] == "engineer"
    assert roles["lam.chiming@corp.example.com"] == "supervisor"
    assert roles["chan.taiman@corp.example.com"] == "requester"
    readme = (ROOT / "README.md").read_text("utf-8")
    for email, role in roles.items():
        if role != "requester":
            assert f"`{email.split('@')[0]}` ({role})" in readme


def test_the_demo_directorys_stories_move_to_today() -> None:
    """Finding 22: a fixed 2026-12-01 expiry read "expired" a week later; the README's
    transcript ("expires … in 9 days", "locked since … 09:12") must stay true any day."""
    as_of = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    import asyncio

    def chan(now: datetime | None) -> tuple[datetime | None, datetime | None]:
        account = asyncio.run(
            DemoDirectory(DEMO, now).find_by_email("chan.taiman@corp.example.com")
        )
        return account.locked_at, account.password_expires

    written = chan(None)
    assert written == (
        datetime(2026, 11, 21, 1, 12, tzinfo=UTC),
        datetime(2026, 12, 1, 1, 30, tzinfo=UTC),
    )
    assert chan(as_of) == written
    later = as_of + timedelta(days=15, hours=23)  # 15 whole days on, 01:00Z the next day
    locked, expires = chan(later)
    assert locked == written[0] + timedelta(days=15) and locked is not None and locked < later
    assert expires == written[1] + timedelta(days=15)  # still "in 9 days" from the lock's day


def test_a_missing_data_dir_is_created_by_every_command(tmp_path: Path) -> None:
    """Finding 23/33: `audit verify` refused a missing HELPDESK_DATA_DIR that `tickets list`
    created; the README says it is created if missing."""
    data = tmp_path / "new" / "data"
    done = run(["audit", "verify"], data)
    assert done.exit_code == 0 and done.stdout.startswith("audit trail OK: 0 records")
    assert data.is_dir()


BAD_ARGUMENTS = [
    ["chat", "--as"],
    ["intents", "classify"],
    ["kb", "check", "{missing}/folder"],
    ["kb", "search", "--kb", "{missing}/folder", "x"],
    ["kb", "gaps", "--limit", "0"],
    ["kb", "stats", "--since", "soon"],
    ["kb", "publish", "{missing}/draft.md"],
    ["tickets", "list", "--state", "sleeping"],
    ["tickets", "show", "HD-x"],
    ["tickets", "export", "--csv", "--json"],
    ["report", "handoff", "--shift", "tomorrow"],
    ["report", "handoff", "--shift", "2026-02-30 Day"],
    ["report", "handoff", "--team", "Nope"],
    ["report", "weekly", "--week", "2026-02-30"],
    ["audit", "export", "--format", "xml"],
    ["audit", "export", "--output", "{missing}/folder/a.jsonl"],
    ["store", "restore", "{missing}/backup.db"],
    ["slack", "manifest", "--url", "http://x"],
    ["teams", "manifest", "--url", "https://x.example.com"],
    ["config", "nope"],
]


@pytest.mark.parametrize("args", BAD_ARGUMENTS, ids=" ".join)
def test_a_bad_argument_gets_an_error_not_a_traceback(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "no" / "such"
    done = run([arg.format(missing=missing) for arg in args], tmp_path / "data")
    assert not missing.exists()
    assert done.exit_code in (1, 2), done.output
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    assert "Traceback" not in done.output
    assert done.stderr.strip(), "an error says what was wrong"


def test_the_weekly_kb_gaps_count_searches_not_people_asking(tmp_path: Path) -> None:
    """Finding 29: "Times asked 2" for a question asked once and marked "not quite" twice;
    the column counts searches that went unanswered or got "not quite", as `kb gaps` does."""
    bot = BotHarness(tmp_path)
    bot.say("how do I calibrate the frobnitz colour plotter", user="chan.taiman@corp.example.com")
    done = run(["report", "weekly", "--week", "2026-11-21"], tmp_path)
    assert done.exit_code == 0, done.output
    assert "Searches (unanswered or “not quite”)" in done.stdout
    assert "Times asked" not in done.stdout and "frobnitz" in done.stdout
