"""The scripted conversation suite (`tests/data/conversations.jsonl`), one case per
conversation: every expectation of each one holds on the real engine with a fresh store.

The runner is `tests/conversation_suite.py`, shared with `bench/conversations.py` (which
prints the figures per language). A failure names each expectation that failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conversation_suite import run, scenarios

SCENARIOS = scenarios()


def test_the_suite_is_big_enough_and_half_cantonese() -> None:
    assert len(SCENARIOS) >= 80
    assert len({s["id"] for s in SCENARIOS}) == len(SCENARIOS)
    written_chinese = sum(s["lang"] in ("zh", "mixed") for s in SCENARIOS)
    assert written_chinese * 2 >= len(SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["id"] for s in SCENARIOS])
def test_conversation(scenario: dict[str, Any], tmp_path: Path) -> None:
    failures = run(scenario, tmp_path)
    assert failures == [], "; ".join(failures)
