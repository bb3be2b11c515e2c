"""The Teams stand-in itself: its authority signs what its JWKS verifies, its connector
wants the token its token endpoint issued, and it records what it was sent."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from tests.teams_standin import APP_ID, APP_SECRET, ISSUER, Member, TeamsStandIn

CHAN = Member("29:chan", "aad-chan", "chan.taiman@corp.example.com", "Chan Tai Man")


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamsStandIn]:
    standin = TeamsStandIn(tmp_path_factory.mktemp("teams"), {"chan": CHAN}).start()
    yield standin
    standin.stop()


def _call(
    teams: TeamsStandIn, url: str, data: bytes | None = None, token: str = "", method: str = ""
) -> tuple[int, dict[str, Any]]:
    context = ssl.create_default_context(cafile=str(teams.ca_file))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if data is not None and not url.endswith("/token"):
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data, headers=headers, method=method or None)
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read() or b"{}")


def test_tokens_verify_against_the_published_keys_and_forgeries_do_not(
    teams: TeamsStandIn,
) -> None:
    _, config = _call(teams, teams.metadata_url)
    _, keys = _call(teams, config["jwks_uri"])
    token = teams.mint()
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK(next(k for k in keys["keys"] if k["kid"] == kid)).key
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=APP_ID, issuer=ISSUER)
    assert claims["serviceurl"] == teams.service_url
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(teams.mint(forged="wrong_key"), key, algorithms=["RS256"], audience=APP_ID)
    assert jwt.get_unverified_header(teams.mint(forged="none"))["alg"] == "none"


def test_the_connector_wants_an_issued_token_and_records_sends(teams: TeamsStandIn) -> None:
    activities = teams.service_url + "v3/conversations/a:1:29:chan/activities"
    body = json.dumps({"type": "message", "text": "hi"}).encode()
    assert _call(teams, activities, body, token="made-up")[0] == 401
    form = {
        "grant_type": "client_credentials",
        "client_id": APP_ID,
        "client_secret": "wrong",
        "scope": "https://api.botframework.com/.default",
    }
    assert _call(teams, teams.token_url, urllib.parse.urlencode(form).encode())[0] == 401
    form["client_secret"] = APP_SECRET
    status, issued = _call(teams, teams.token_url, urllib.parse.urlencode(form).encode())
    assert status == 200
    token = issued["access_token"]
    status, sent = _call(teams, activities, body, token=token)
    assert status == 200
    assert teams.called("send")[-1].body["text"] == "hi"
    assert teams.called("send")[-1].activity_id == sent["id"]
    member_url = teams.service_url + "v3/conversations/a:1:29:chan/members/29:chan"
    status, member = _call(teams, member_url, token=token)
    assert (status, member["userPrincipalName"], member["aadObjectId"]) == (
        200,
        CHAN.upn,
        CHAN.aad,
    )
    teams.fail_next("send", 429, retry_after=2)
    assert _call(teams, activities, body, token=token)[0] == 429


def test_the_stand_in_needs_its_ca(teams: TeamsStandIn) -> None:
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(teams.metadata_url, timeout=5)
