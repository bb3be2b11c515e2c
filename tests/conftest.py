from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.harness import BotHarness

if TYPE_CHECKING:
    from tests.samba_dc import DomainController


@pytest.fixture
def bot(tmp_path: Path) -> BotHarness:
    return BotHarness(tmp_path)


@pytest.fixture(scope="session")
def dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DomainController]:
    """A throwaway Samba AD DC on ldaps://localhost:636, one per session (tests/samba_dc.py).

    Tests share it: whatever a test changes on it (passwords, lockouts), it puts back.
    """
    from tests import samba_dc

    reason = samba_dc.samba_available()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    # samba also ends itself when this process dies (EOF on its stdin) or after 3 hours.
    controller = samba_dc.provision(tmp_path_factory.mktemp("samba-dc"), max_runtime=3 * 3600)
    try:
        yield controller
    finally:
        controller.close()
