"""`helpdesk doctor`'s Teams line (`bot.doctor.check_teams`) against the Teams stand-in:
the bot's token issued and the signing keys published; a refused secret, the authority
down, and Teams not configured each said as such, never with the secret."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.config import parse_settings
from bot.doctor import FAIL, OK, PLATFORM_CHECKS, check_teams
from tests.teams_standin import APP_SECRET, TENANT_ID, Member, TeamsStandIn

APP_ID = "00000000-0000-4000-8000-00000000b07a"
CHAN = Member("29:chan", "aad-chan-0001", "chan.taiman@corp.example.com", "Chan Tai Man")


def test_the_doctor_gets_the_teams_token_and_says_what_is_wrong(tmp_path: Path) -> None:
    assert PLATFORM_CHECKS["teams"] is check_teams
    teams = TeamsStandIn(tmp_path / "teams", {"chan": CHAN}).start()
    try:
        settings = parse_settings(
            "[teams]\n"
            f'app_id = "{APP_ID}"\n'
            f'tenant_id = "{TENANT_ID}"\n'
            f'openid_metadata_url = "{teams.metadata_url}"\n'
            f'token_url = "{teams.token_url}"\n'
            f'allowed_service_urls = ["{teams.service_url}"]\n'
            f'ca_file = "{teams.ca_file.as_posix()}"\n',
            "t",
            {},
        )
        up = asyncio.run(check_teams(settings, {"TEAMS_APP_PASSWORD": APP_SECRET}))
        assert up is not None and up.state == OK, up
        assert teams.called("token"), "the doctor asked the authority for nothing"

        wrong = asyncio.run(check_teams(settings, {"TEAMS_APP_PASSWORD": "not-the-secret"}))
        assert wrong is not None and wrong.state == FAIL, wrong
        assert "TEAMS_APP_PASSWORD" in wrong.line() and "not-the-secret" not in wrong.line()

        unset = asyncio.run(check_teams(settings, {}))
        assert unset is not None and unset.state == FAIL and "TEAMS_APP_PASSWORD" in unset.line()
    finally:
        teams.stop()

    down = asyncio.run(check_teams(settings, {"TEAMS_APP_PASSWORD": APP_SECRET}))
    assert down is not None and down.state == FAIL, down
    assert "teams.token_url" in down.line() and APP_SECRET not in down.line()

    assert asyncio.run(check_teams(parse_settings("", "t", {}), {})) is None  # not configured
