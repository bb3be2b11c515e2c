"""The `helpdesk` command: help everywhere, and the real chat process driven through stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bot.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


ALL_COMMANDS = _commands(main)


def test_the_command_tree_is_what_the_readme_documents() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    for path in ALL_COMMANDS:
        if path:
            assert f"helpdesk {' '.join(path)}" in readme, f"README does not mention {path}"


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "helpdesk")
def test_every_command_has_help_text(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    assert (command.help or "").strip(), f"{path} has no help text"


def chat(stdin: bytes, *args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env["HELPDESK_DATA_DIR"] = str(data_dir)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    )


def test_piped_chat_greets_handles_a_locked_account_and_answers_in_chinese(tmp_path: Path) -> None:
    done = chat(
        "hi\nmy account is locked\n點樣改密碼\n".encode(),
        "--as",
        "chan.taiman@corp.example.com",
        data_dir=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    bot_lines = [block for block in done.stdout.split("bot> ")[1:]]
    assert len(bot_lines) == 3
    assert "Hi Chan Tai Man" in bot_lines[0]
    assert "Your account is locked" in bot_lines[1] and "1) Yes, unlock it" in bot_lines[1]
    assert "密碼" in bot_lines[2] and "過期" in bot_lines[2]
    assert "Traceback" not in done.stderr


def test_piped_chat_unlocks_by_choice_number_and_audits(tmp_path: Path) -> None:
    done = chat(b"acc locked\n1\n", data_dir=tmp_path)
    assert "I've unlocked your account" in done.stdout
    import sqlite3

    rows = (
        sqlite3.connect(tmp_path / "helpdesk.db")
        .execute("SELECT action, outcome FROM audit_log")
        .fetchall()
    )
    assert rows == [("unlock", "done")]


def test_bad_input_gets_clear_replies_and_the_process_keeps_running(tmp_path: Path) -> None:
    junk = bytes(range(0, 256)).replace(b"\n", b"")
    stdin = b"\n" + b"printer " * 13_000 + b"\n" + junk + b"\n" + b"hi\n"
    done = chat(stdin, data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    replies = done.stdout.split("bot> ")[1:]
    assert "looked empty" in replies[0]
    assert "first 4,000 characters" in replies[1]
    assert "Hi" in replies[-1] and "IT helpdesk bot" in replies[-1]
    assert "Traceback" not in done.stderr and "went wrong" not in done.stdout


def test_unknown_demo_user_is_warned_and_can_still_ask_questions(tmp_path: Path) -> None:
    done = chat(
        b"how do i add a printer\nmy account is locked\n",
        "--as",
        "nobody@example.com",
        data_dir=tmp_path,
    )
    assert done.returncode == 0
    assert "no demo user nobody@example.com" in done.stderr
    assert "Add a network printer" in done.stdout
    assert "couldn't find your account (nobody@example.com)" in done.stdout


def test_demo_users_lists_interesting_accounts() -> None:
    result = CliRunner().invoke(main, ["demo", "users"])
    assert result.exit_code == 0
    assert len(result.output.splitlines()) == 20
    assert "yip.kinfai@corp.example.com" in result.output and "privileged" in result.output


def test_audit_verify_cli(tmp_path: Path) -> None:
    chat(b"acc locked\n1\n", data_dir=tmp_path)
    result = CliRunner().invoke(main, ["audit", "verify"], env={"HELPDESK_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0 and "audit trail OK: 1 records" in result.output


def test_store_migrate_cli(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["store", "migrate"], env={"HELPDESK_DATA_DIR": str(tmp_path / "new")}
    )
    assert result.exit_code == 0 and "schema version" in result.output
    assert (tmp_path / "new" / "helpdesk.db").exists()


def test_make_chat_runs_the_console_as_the_default_demo_user(tmp_path: Path) -> None:
    """The README's first command, with its venv already made (make skips the install)."""
    venv = ROOT / ".venv" / "bin" / "helpdesk"
    if not venv.exists():
        assert not os.environ.get("CI"), "make test creates .venv; in CI it must exist"
        pytest.skip("make chat needs the .venv that make test creates")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env["HELPDESK_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        ["make", "-s", "chat"],
        input=b"my account is locked\n",
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert b"Your account is locked" in done.stdout
    assert b"warning" not in done.stderr


def test_console_renders_every_part_of_a_reply() -> None:
    from bot.adapters.console import render
    from bot.messages import ArticleCard, Choice, Form, FormField, Reply

    reply = Reply(
        "Pick one",
        cards=(ArticleCard("a1", "VPN guide", "How to connect"),),
        choices=(Choice("Yes", "y"), Choice("No", "n")),
        form=Form("f1", "New ticket", (FormField("summary", "Summary"),), "Open"),
        fields=(("State", "new"),),
    )
    text = render(reply)
    for part in (
        "Pick one",
        "State: new",
        "[New ticket]",
        "- Summary *",
        "• VPN guide",
        "How to connect",
        "1) Yes",
        "2) No",
    ):
        assert part in text


def _helpdesk_run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env["HELPDESK_DATA_DIR"] = str(data_dir)
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, cwd=ROOT, env=env, timeout=120
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    )


def test_tickets_from_the_console_to_list_show_and_export(tmp_path: Path) -> None:
    import csv
    import io
    import json

    done = chat(b"talk to a human\nprinter on 3/F jams <!here>\n1\n", data_dir=tmp_path)
    assert "opened ticket HD-1001" in done.stdout
    assert "[to #helpdesk-triage] (posted) HD-1001" in done.stdout  # the outbox delivered it
    engineer = chat(
        b"/helpdesk claim HD-1001\n/helpdesk note HD-1001 paper tray 2\n",
        "--as",
        "ho.kawai@corp.example.com",
        data_dir=tmp_path,
    )
    assert "HD-1001: claim done." in engineer.stdout
    listed = _helpdesk_run(["tickets", "list", "--state", "in_progress"], tmp_path)
    assert listed.stdout.startswith("HD-1001\tP3\tin_progress") and "1 ticket\n" in listed.stderr
    assert _helpdesk_run(["tickets", "list", "--state", "closed"], tmp_path).stdout == ""
    shown = _helpdesk_run(["tickets", "show", "HD-1001"], tmp_path).stdout
    assert "note (internal) ho.kawai@corp.example.com: paper tray 2" in shown
    assert "summary: printer on 3/F jams <!here>" in shown
    exported = _helpdesk_run(["tickets", "export", "--csv"], tmp_path).stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [(r["number"], r["assignee"], r["category"]) for r in rows] == [
        ("1001", "ho.kawai@corp.example.com", "printing")
    ]
    lines = _helpdesk_run(["tickets", "export", "--json", "--since", "2099-01-01"], tmp_path)
    assert lines.stdout == "" and lines.returncode == 0
    one = json.loads(_helpdesk_run(["tickets", "export", "--json"], tmp_path).stdout)
    assert one["state"] == "in_progress"
    missing = _helpdesk_run(["tickets", "show", "HD-9"], tmp_path)
    assert missing.returncode == 1 and "no ticket HD-9" in missing.stderr
    both = _helpdesk_run(["tickets", "export"], tmp_path)
    assert both.returncode == 2 and "--csv or --json" in both.stderr
