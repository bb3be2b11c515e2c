"""The Teams transport and token check against the stand-in (real HTTP and TLS, real
SQLite): private replies and secrets only in the 1:1 chat and deleted after their time,
notices through stored conversation references, keys fetched again after a rotation,
and the development flag refused where it does not belong."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from bot.adapters.teams.auth import Refused, TokenCheck
from bot.adapters.teams.config import TeamsConfig
from bot.adapters.teams.connector import Connector
from bot.adapters.teams.transport import TeamsTransport
from bot.config import parse_settings
from bot.errors import ConfigError
from bot.inbox import HeldSecrets
from bot.messages import Choice, Reply
from bot.notify import REPLY, Outbound
from bot.store.addresses import Addresses
from bot.store.database import open_store
from bot.store.deletions import Deletions
from tests.harness import FakeClock
from tests.teams_standin import APP_ID, APP_SECRET, TENANT_ID, Member, TeamsStandIn, _b64

CHAN = Member("29:chan", "aad-chan-0001", "chan.taiman@corp.example.com", "Chan Tai Man")
CHANNEL = "19:general@thread.tacv2;messageid=1700000000001"


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamsStandIn]:
    standin = TeamsStandIn(tmp_path_factory.mktemp("teams"), {"chan": CHAN}).start()
    yield standin
    standin.stop()


def _config(teams: TeamsStandIn, **changes: Any) -> TeamsConfig:
    config = TeamsConfig(
        APP_ID,
        TENANT_ID,
        APP_SECRET,
        teams.metadata_url,
        teams.token_url,
        (teams.service_url,),
        str(teams.ca_file),
        60.0,
        False,
    )
    return dataclasses.replace(config, **changes)


def _route(teams: TeamsStandIn, conversation: str, personal: bool) -> dict[str, Any]:
    return {
        "platform": "teams",
        "service_url": teams.service_url,
        "conversation": conversation,
        "member": CHAN.id,
        "tenant": TENANT_ID,
        "personal": personal,
        "lang": "en",
        "card": "",
        "label": "",
    }


async def _with_transport(teams: TeamsStandIn, tmp: Path, work: Any) -> Any:
    db = open_store(tmp / "helpdesk.db")
    clock = FakeClock()
    held = HeldSecrets()
    async with aiohttp.ClientSession() as session:
        connector = Connector(_config(teams), session)
        addresses = Addresses(db, clock)
        transport = TeamsTransport(connector, addresses, Deletions(db), held, clock)
        try:
            return await work(transport, held, clock, addresses, db)
        finally:
            db.conn.close()


def test_a_secret_asked_for_in_a_channel_goes_to_the_chat_and_is_deleted_later(
    teams: TeamsStandIn, tmp_path: Path
) -> None:
    async def work(transport: TeamsTransport, held: HeldSecrets, clock: FakeClock, *_: Any) -> None:
        secret = Reply("Your temporary password: Blue-Lamp-42", private=True, delete_after_s=300)
        held.hold("reply:teams:a1:0", secret)
        route = _route(teams, CHANNEL, personal=False)
        message = Outbound("reply:teams:a1:0", REPLY, "x", {"route": route, "secret": True})
        ref = await transport.deliver(message)
        assert held.get("reply:teams:a1:0") is None  # out of memory once posted
        created = teams.called("create")[-1]
        assert created.body["members"] == [{"id": CHAN.id}]
        sent = [c for c in teams.called("send") if "Blue-Lamp-42" in str(c.body)]
        assert [c.conversation for c in sent] == ["a:1:" + CHAN.id]
        note = teams.called("send")[-1]
        assert note.conversation == CHANNEL and "one-to-one chat" in str(note.body)
        assert await transport.delete_due() == 0  # not yet
        clock.advance(seconds=301)
        assert await transport.delete_due() == 1
        deleted = teams.called("delete")[-1]
        assert f"{deleted.conversation}|{deleted.activity_id}" == ref
        assert await transport.delete_due() == 0

    asyncio.run(_with_transport(teams, tmp_path, work))


def test_a_private_reply_in_a_channel_goes_to_the_chat_with_a_note(
    teams: TeamsStandIn, tmp_path: Path
) -> None:
    async def work(transport: TeamsTransport, *_: Any) -> None:
        reply = Reply("Your account is locked since 09:12.", private=True)
        route = _route(teams, CHANNEL, personal=False)
        payload = {"route": route, "reply": asdict(reply)}
        await transport.deliver(Outbound("reply:teams:a2:0", REPLY, "x", payload))
        sends = teams.called("send")[-2:]
        assert sends[0].conversation == "a:1:" + CHAN.id and "locked" in str(sends[0].body)
        assert sends[1].conversation == CHANNEL and "locked" not in str(sends[1].body)

    asyncio.run(_with_transport(teams, tmp_path, work))


def test_a_notice_to_an_address_reaches_the_persons_stored_chat(
    teams: TeamsStandIn, tmp_path: Path
) -> None:
    async def work(
        transport: TeamsTransport, _h: Any, _c: Any, addresses: Addresses, _d: Any
    ) -> None:
        notice = Outbound(
            "notice:7:1",
            "notice",
            "email:Chan.TaiMan@corp.example.com",
            {"ticket": 7, "text": "HD-1007 was resolved", "choices": [["5", "csat:7:5"]]},
        )
        assert not transport.reaches(notice)  # no Teams reference yet: Slack's to deliver
        reference = {
            "service_url": teams.service_url,
            "member": CHAN.id,
            "tenant": TENANT_ID,
            "conversation": "a:1:" + CHAN.id,
        }
        addresses.remember("teams", "user", CHAN.aad, reference, CHAN.upn)
        assert transport.reaches(notice)
        await transport.deliver(notice)
        sent = teams.called("send")[-1]
        assert sent.conversation == "a:1:" + CHAN.id
        actions = sent.body["attachments"][0]["content"]["actions"]
        assert actions[0]["data"] == {"hd": "choice", "value": "csat:7:5", "label": "5"}
        by_id = Outbound("notice:7:2", "notice", f"user:teams:{CHAN.aad}", {"text": "hi"})
        assert transport.reaches(by_id)
        await transport.deliver(by_id)
        assert teams.called("send")[-1].body["text"] == "hi"

    asyncio.run(_with_transport(teams, tmp_path, work))


def test_echoed_markdown_links_are_broken_in_cards() -> None:
    from bot.adapters.teams.cards import message

    shown = message(Reply("You said: [SSO](https://evil.example)", choices=(Choice("Ok", "ok"),)))
    text = shown["attachments"][0]["content"]["body"][0]["text"]
    assert "](" not in text and "https://evil.example" in text


def test_keys_are_fetched_again_after_a_rotation_and_hs256_with_the_public_key_is_refused(
    teams: TeamsStandIn,
) -> None:
    async def work() -> None:
        async with aiohttp.ClientSession() as session:
            check = TokenCheck(_config(teams), session)
            await check.verify("Bearer " + teams.mint(), teams.service_url)
            kid = teams.rotate_key()
            token = teams.mint()
            assert jwt.get_unverified_header(token)["kid"] == kid
            await check.verify("Bearer " + token, teams.service_url)  # refreshed on the new kid
            public = (
                teams._keys[kid]
                .public_key()
                .public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
            claims = jwt.decode(token, options={"verify_signature": False})
            # the classic confusion: HS256 keyed with the published public key (PyJWT
            # itself refuses to make one, so it is made by hand)
            header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
            signed = f"{header}.{_b64(json.dumps(claims).encode())}"
            mac = hmac.new(public, signed.encode(), hashlib.sha256).digest()
            confused = f"{signed}.{_b64(mac)}"
            with pytest.raises(Refused, match="algorithm"):
                await check.verify("Bearer " + confused, teams.service_url)
            with pytest.raises(Refused, match="unknown signing key"):
                await check.verify(
                    "Bearer " + jwt.encode(claims, teams._keys[kid], "RS256", {"kid": "nope"}),
                    teams.service_url,
                )

    asyncio.run(work())


def test_the_development_flag_is_refused_outside_demo_on_loopback() -> None:
    guid = "00000000-0000-4000-8000-00000000b07a"
    base = f'[teams]\napp_id = "{guid}"\ntenant_id = "{guid}"\nanonymous = true\n'
    demo = parse_settings(base, "t", {})
    config = TeamsConfig.from_settings(demo, {})
    assert config is not None and config.anonymous
    with pytest.raises(ConfigError, match=r"teams\.anonymous"):
        TeamsConfig.from_settings(demo, {"HELPDESK_HTTP_HOST": "0.0.0.0"})
    real = parse_settings(base + '[directory]\nbackend = "ldap"\n', "t", {})
    with pytest.raises(ConfigError, match=r"teams\.anonymous"):
        TeamsConfig.from_settings(real, {})
    without_secret = parse_settings(base.replace("anonymous = true", ""), "t", {})
    with pytest.raises(ConfigError, match="TEAMS_APP_PASSWORD"):
        TeamsConfig.from_settings(without_secret, {})
    with pytest.raises(ConfigError, match=r"teams\.app_id"):
        parse_settings('[teams]\napp_id = "not-a-guid"\n', "t", {})
    with pytest.raises(ConfigError, match="allowed_service_urls"):
        parse_settings('[teams]\nallowed_service_urls = ["http://x/"]\n', "t", {})


def test_requests_arriving_before_the_keys_are_fetched_wait_for_one_fetch(
    teams: TeamsStandIn,
) -> None:
    async def work() -> None:
        async with aiohttp.ClientSession() as session:
            check = TokenCheck(_config(teams), session)
            token = "Bearer " + teams.mint()
            await asyncio.gather(*(check.verify(token, teams.service_url) for _ in range(8)))

    asyncio.run(work())  # a cold start under load once refused all but the first (401)


def test_a_key_not_endorsed_for_teams_is_not_used(teams: TeamsStandIn) -> None:
    async def work() -> None:
        async with aiohttp.ClientSession() as session:
            check = TokenCheck(_config(teams), session)
            teams.rotate_key(endorsements=("skype",))
            with pytest.raises(Refused, match="unknown signing key"):
                await check.verify("Bearer " + teams.mint(), teams.service_url)
            teams.rotate_key()
            await check.verify("Bearer " + teams.mint(), teams.service_url)

    asyncio.run(work())
