"""Rewrite the README's `/helpdesk` table from the command registry (the test
`tests/test_command_registry.py` fails until this is run after a registry change)."""

from __future__ import annotations

import re
from pathlib import Path

from bot.handlers.commands import COMMANDS
from bot.handlers.commands.registry import markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"(<!-- commands:start -->\n).*?(\n<!-- commands:end -->)", re.DOTALL)


def main() -> None:
    text = README.read_text("utf-8")
    README.write_text(BLOCK.sub(lambda m: m[1] + markdown_table(COMMANDS) + m[2], text), "utf-8")


if __name__ == "__main__":
    main()
