"""Every adapter's `CHECKLIST.md` names each thing an adapter must do and the tests that
show it does; this reads each checklist and checks both (ARCHITECTURE.md, adapters)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ITEMS = (
    "Request verified",
    "App and workspace pinned",
    "Dedupe id",
    "Escaping",
    "Private replies",
    "Secret deletion",
    "Proactive send",
    "Forms",
    "Shutdown",
    "Tested against a stand-in",
)
_ITEM = re.compile(r"^- \*\*([^*]+)\*\*:(.*?)(?=^- \*\*|\Z)", re.S | re.M)
_TEST = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


OWN_MODULES = {"teams": {"connector.py"}}
"""What an adapter has beyond Slack's files, and why: Teams' Bot Connector calls and token
(`bot/adapters/teams/connector.py`), which Slack's adapter gets from slack-sdk."""


def test_every_platform_adapter_mirrors_slacks_files_one_for_one() -> None:
    adapters = ROOT / "bot" / "adapters"

    def files(package: Path) -> set[str]:
        return {p.name for p in package.iterdir() if p.suffix in (".py", ".md")}

    slack = files(adapters / "slack")
    others = [p.parent for p in adapters.glob("*/__init__.py") if p.parent.name != "slack"]
    assert others, "another platform adapter is found"
    for package in others:
        own = OWN_MODULES.get(package.name, set())
        assert files(package) - own == slack, package.name
        assert own <= files(package), package.name


def _checklists() -> list[Path]:
    return sorted((ROOT / "bot" / "adapters").glob("*/CHECKLIST.md"))


def test_every_platform_adapter_has_a_checklist() -> None:
    packages = [p.parent for p in (ROOT / "bot" / "adapters").glob("*/__init__.py")]
    assert packages, "the adapter packages are found"
    assert sorted(p / "CHECKLIST.md" for p in packages) == _checklists()


def test_each_checklist_item_is_there_and_covered_by_tests_that_exist() -> None:
    for checklist in _checklists():
        items = {name: body for name, body in _ITEM.findall(checklist.read_text("utf-8"))}
        assert sorted(items) == sorted(ITEMS), checklist
        for name, body in items.items():
            named = _TEST.findall(body)
            assert named, f"{checklist}: {name} names no test"
            for path, test in named:
                assert test in _tests_in(ROOT / path), f"{checklist}: {name}: {path}::{test}"
