"""The one command registry: every `/helpdesk` subcommand declared once, with help in
both languages; help, suggestions, the dispatcher, the Slack manifest and the README all
built from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import main
from bot.handlers.commands import BY_NAME, COMMANDS, Role
from bot.handlers.commands.registry import command, markdown_table, usage_hint
from bot.i18n import LANGUAGES, catalogue
from tests.harness import BotHarness, text_of

ROOT = Path(__file__).resolve().parent.parent
ENGINEER = "ho.kawai@corp.example.com"
SUPERVISOR = "lam.chiming@corp.example.com"


@pytest.fixture
def bot(tmp_path: Path) -> BotHarness:
    return BotHarness(tmp_path)


def test_every_subcommand_has_help_in_both_languages_and_a_usage_starting_with_its_name() -> None:
    for lang in LANGUAGES:
        missing = [c.name for c in COMMANDS if not catalogue(lang).get(c.help_key, "").strip()]
        assert missing == [], lang
    assert all(c.usage.startswith(c.name) for c in COMMANDS)
    assert len(BY_NAME) == len(COMMANDS)  # no name twice


def test_declaring_a_name_twice_fails_at_import() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        command("claim", "claim <ID>")


def test_readme_table_and_slack_manifest_come_from_the_registry() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    block = re.search(r"<!-- commands:start -->\n(.*?)\n<!-- commands:end -->", readme, re.S)
    assert block is not None
    assert block[1] == markdown_table(COMMANDS), "run: .venv/bin/python tools/commands_table.py"
    for c in COMMANDS:
        assert f"`/helpdesk {c.usage.replace('|', chr(92) + '|')}`" in block[1]
    printed = CliRunner().invoke(main, ["slack", "manifest"])
    assert printed.exit_code == 0, printed.output
    hint = yaml.safe_load(printed.output)["features"]["slash_commands"][0]["usage_hint"]
    assert hint == usage_hint(COMMANDS)
    assert hint.startswith("help | tickets | new") and len(hint) <= 100


def test_help_shows_only_what_the_askers_role_may_run(bot: BotHarness) -> None:
    requester = text_of(bot.command("/helpdesk help"))
    engineer = text_of(bot.command("/helpdesk help", user=ENGINEER))
    supervisor = text_of(bot.command("/helpdesk help", user=SUPERVISOR))
    for c in COMMANDS:
        shown = f"/helpdesk {c.name}"
        assert (shown in requester) is (c.role == Role.REQUESTER), c.name
        assert (shown in engineer) is (c.role <= Role.ENGINEER), c.name
        assert shown in supervisor, c.name


def test_unknown_subcommand_suggests_the_closest_the_asker_may_run(bot: BotHarness) -> None:
    engineer = text_of(bot.command("/helpdesk clam HD-1003", user=ENGINEER))
    assert "Did you mean" in engineer and "/helpdesk claim" in engineer
    requester = text_of(bot.command("/helpdesk clam HD-1003"))
    assert "/helpdesk claim" not in requester
    nothing_close = text_of(bot.command("/helpdesk frobnicate"))
    assert "don't know the command" in nothing_close and "/helpdesk tickets" in nothing_close
    assert "Usage: /helpdesk note" in text_of(bot.command("/helpdesk note", user=ENGINEER))


def test_supervisor_subcommand_refuses_an_engineer_and_audits(bot: BotHarness) -> None:
    refused = text_of(bot.command("/helpdesk weekly", user=ENGINEER))
    assert "for supervisors only" in refused  # an engineer is the service desk already
    assert bot.rows("SELECT action, outcome FROM audit_log")[-1] == ("command.weekly", "refused")
    report = text_of(bot.command("/helpdesk weekly", user=SUPERVISOR))
    assert "Asia/Hong_Kong" in report or "UTC" in report
    unknown_team = text_of(bot.command("/helpdesk weekly Plumbing", user=SUPERVISOR))
    assert "no team called" in unknown_team


def test_the_dispatcher_knows_every_registered_subcommand(bot: BotHarness) -> None:
    """Each declared subcommand reaches its own code: none answers "I don't know the
    command", and one a role may not run is refused, not unknown."""
    for c in COMMANDS:
        if c.name in ("unlock", "reset"):  # self-service flows; their dispatch is tested there
            continue
        said = text_of(bot.command(f"/helpdesk {c.name}", user=SUPERVISOR))
        assert "don't know the command" not in said, c.name
        if c.role > Role.REQUESTER:
            refused = text_of(bot.command(f"/helpdesk {c.name}"))
            assert "for the IT service desk" in refused, c.name
