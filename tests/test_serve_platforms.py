"""Which adapters `helpdesk serve` runs and where channel messages go, as the serving
process decides it and as the engine's own process rebuilds it (`bot.serve.transports`,
called there from the pickled `EngineRecipe`): Slack alone, Teams alone, both."""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path

import aiohttp
import pytest

from bot.config import parse_settings
from bot.inbox.engine_process import EngineRecipe
from bot.serve import Platforms, transports
from bot.store.shelf import StoreShelf

TEAMS = (
    "[teams]\n"
    'app_id = "00000000-0000-4000-8000-00000000b07a"\n'
    'tenant_id = "00000000-0000-4000-8000-0000000000aa"\n'
)
SLACK_ENV = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s" * 32}
TEAMS_ENV = {"TEAMS_APP_PASSWORD": "teams-secret"}


def _built(config: str, env: dict[str, str], tmp: Path) -> tuple[list[str], str | None]:
    """The platforms of the transports the engine's process builds, and the channels'."""
    settings = parse_settings(config, "test", env)
    recipe = pickle.loads(pickle.dumps(EngineRecipe(settings, env, transports)))

    async def build() -> list[str]:
        async with aiohttp.ClientSession() as session:
            shelf = StoreShelf(tmp / "helpdesk.db")  # the store's, as in the engine's process
            try:
                built = recipe.transports(recipe.settings, recipe.env, session, shelf)
            finally:
                shelf.close()
            return [t.platform for t in built]

    return asyncio.run(build()), Platforms.configured(settings, env).channels


@pytest.mark.parametrize(
    ("config", "env", "platforms", "channels"),
    [
        ("", SLACK_ENV, ["slack"], None),
        (TEAMS, TEAMS_ENV, ["teams"], "teams"),
        (TEAMS, SLACK_ENV | TEAMS_ENV, ["slack", "teams"], None),
        (
            TEAMS + 'triage_channel = "19:t@thread"\n',
            SLACK_ENV | TEAMS_ENV,
            ["slack", "teams"],
            "teams",
        ),
    ],
    ids=["slack-alone", "teams-alone", "both-channels-in-slack", "both-channels-in-teams"],
)
def test_the_engines_process_builds_every_configured_platforms_transport(
    config: str, env: dict[str, str], platforms: list[str], channels: str | None, tmp_path: Path
) -> None:
    assert _built(config, env, tmp_path) == (platforms, channels)
