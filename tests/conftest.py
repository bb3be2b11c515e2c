from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import BotHarness


@pytest.fixture
def bot(tmp_path: Path) -> BotHarness:
    return BotHarness(tmp_path)
