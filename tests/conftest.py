from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.harness import BotHarness

if TYPE_CHECKING:
    from tests.postgres_cluster import Cluster
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


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster on a unix socket, one per session
    (tests/postgres_cluster.py); each test that uses it gets a database of its own."""
    from tests import postgres_cluster

    reason = postgres_cluster.postgres_available()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    cluster = postgres_cluster.start_cluster()
    try:
        yield cluster
    finally:
        from bot.store.postgres import close_pools

        close_pools()
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """Where a store test's store lives, once per backend: an SQLite file, then a new
    PostgreSQL database (`open_store` takes either)."""
    if request.param == "sqlite":
        yield tmp_path / "helpdesk.db"
        return
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    url = cluster.new_database()
    try:
        yield url
    finally:
        from bot.store.postgres import close_pool

        close_pool(url)
        cluster.drop_database(url)


_LEFT_OPEN: list[str] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After each test (its fixtures gone), collect what it left for the garbage collector.

    ldap3 2.9 and urllib3 can leave a TLS socket to a stand-in unclosed when a connection
    fails (ldap3 is unmaintained); its ResourceWarning, an error under our settings, used
    to surface in whichever later test happened to trigger a collection (seen in CI in
    `test_stop_and_start`, never locally). Collected here, such a socket is named in the
    summary with the test that left it, instead of failing an unrelated test at random.
    """
    yield
    if not {"dc", "graph"} & set(getattr(item, "fixturenames", ())):
        return  # only tests that talk TLS to a stand-in; a collection costs ~70 ms
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    _LEFT_OPEN.extend(f"{item.nodeid}: {w.message}" for w in seen)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _LEFT_OPEN:
        terminalreporter.section("left open, collected after the test")
        for line in _LEFT_OPEN:
            terminalreporter.write_line(line)
