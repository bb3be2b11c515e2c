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
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from bot.adapters.teams.auth import Refused, TokenCheck
from bot.adapters.teams.config import TeamsConfig
from bot.adapters.teams.transport import Route, ServiceUrl, TeamsTransport
from bot.config import parse_settings
from bot.errors import ConfigError
from bot.messages import Choice, MessageRef, Recipient, Reply
from bot.outbox.transport import REPLY, Delivery, DeliveryFailed, Outbound
from bot.server import delete_secrets
from bot.store import open_store
from bot.store.addresses import Addresses, remember_in
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
    return asdict(
        Route(
            service_url=teams.service_url,
            conversation=conversation,
            member=CHAN.id,
            tenant=TENANT_ID,
            personal=personal,
        )
    )


def _reply(key: str, reply: Reply, route: dict[str, Any]) -> Delivery:
    """A reply as the outbox's renderer hands it over (a secret's text from memory)."""
    recipient = Recipient.conversation("teams", CHANNEL, CHAN.aad)
    message = Outbound(key, REPLY, recipient, {"route": route})
    return Delivery(message, reply, recipient, route=route)


async def _with_transport(teams: TeamsStandIn, work: Any) -> Any:
    async with aiohttp.ClientSession() as session:
        config = _config(teams)
        transport = TeamsTransport(config, session, ServiceUrl(teams.service_url))
        return await work(transport)


def test_a_secret_asked_for_in_a_channel_goes_to_the_chat_and_is_deleted_later(
    teams: TeamsStandIn, tmp_path: Path
) -> None:
    db = open_store(tmp_path / "helpdesk.db")
    deletions, clock = Deletions(db.conn), FakeClock()

    async def work(transport: TeamsTransport) -> None:
        secret = Reply("Your temporary password: Blue-Lamp-42", private=True, delete_after_s=300)
        route = _route(teams, CHANNEL, personal=False)
        ref = await transport.deliver(_reply("reply:teams:a1:0", secret, route))
        created = teams.called("create")[-1]
        assert created.body["members"] == [{"id": CHAN.id}]
        sent = [c for c in teams.called("send") if "Blue-Lamp-42" in str(c.body)]
        assert [c.conversation for c in sent] == ["a:1:" + CHAN.id]
        note = teams.called("send")[-1]
        assert note.conversation == CHANNEL and "one-to-one chat" in str(note.body)
        # the outbox worker schedules the deletion (bot.outbox.worker), the server's job
        # deletes what is due
        deletions.schedule("teams", MessageRef.parse(ref), clock() + timedelta(seconds=300))
        assert await delete_secrets(transport, deletions, clock) == 0  # not yet
        clock.advance(seconds=301)
        assert await delete_secrets(transport, deletions, clock) == 1
        deleted = teams.called("delete")[-1]
        assert str(MessageRef(deleted.conversation, deleted.activity_id)) == ref
        assert await delete_secrets(transport, deletions, clock) == 0

    try:
        asyncio.run(_with_transport(teams, work))
    finally:
        db.conn.close()


def test_a_private_reply_in_a_channel_goes_to_the_chat_with_a_note(teams: TeamsStandIn) -> None:
    async def work(transport: TeamsTransport) -> None:
        reply = Reply("Your account is locked since 09:12.", private=True)
        route = _route(teams, CHANNEL, personal=False)
        await transport.deliver(_reply("reply:teams:a2:0", reply, route))
        sends = teams.called("send")[-2:]
        assert sends[0].conversation == "a:1:" + CHAN.id and "locked" in str(sends[0].body)
        assert sends[1].conversation == CHANNEL and "locked" not in str(sends[1].body)

    asyncio.run(_with_transport(teams, work))


def test_a_notice_to_an_address_reaches_the_persons_stored_chat(
    teams: TeamsStandIn, tmp_path: Path
) -> None:
    """A notice to an email finds the person's Teams reference, stored by the inbox from
    an earlier message (main's addresses store), and goes to their 1:1 chat; one to the
    person by their object id too; one with no reference is refused for good."""
    db = open_store(tmp_path / "helpdesk.db")
    addresses = Addresses(db.conn)
    reference = {
        "service_url": teams.service_url,
        "member": CHAN.id,
        "tenant": TENANT_ID,
        "conversation": "",
    }
    with db.conn:
        remember_in(db.conn, "teams", CHAN.aad, CHAN.upn.lower(), reference, "2026-01-05T01:00:00Z")
    found = addresses.of_email("teams", "Chan.TaiMan@corp.example.com")
    assert found is not None and found[0] == CHAN.aad
    by_email = Recipient.by_email("chan.taiman@corp.example.com")

    def notice(key: str, reply: Reply, recipient: Recipient, address: Any) -> Delivery:
        return Delivery(Outbound(key, "notice", recipient, {}), reply, recipient, address=address)

    async def work(transport: TeamsTransport) -> None:
        csat = Reply("HD-1007 was resolved", choices=(Choice("5", "csat:7:5"),))
        await transport.deliver(notice("notice:7:1", csat, by_email, found[1]))
        sent = teams.called("send")[-1]
        assert sent.conversation == "a:1:" + CHAN.id  # opened through the connector
        actions = sent.body["attachments"][0]["content"]["actions"]
        assert actions[0]["data"] == {"hd": "choice", "value": "csat:7:5", "label": "5"}
        person = Recipient.person("teams", CHAN.aad)
        stored = addresses.of_user("teams", CHAN.aad)
        await transport.deliver(notice("notice:7:2", Reply("hi"), person, stored))
        assert teams.called("send")[-1].body["text"] == "hi"
        with pytest.raises(DeliveryFailed) as failed:
            await transport.deliver(notice("notice:7:3", Reply("hi"), by_email, None))
        assert failed.value.permanent

    try:
        asyncio.run(_with_transport(teams, work))
    finally:
        db.conn.close()


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
    config = TeamsConfig.from_settings(demo.teams, demo.directory.backend, {})
    assert config is not None and config.anonymous
    with pytest.raises(ConfigError, match=r"teams\.anonymous"):
        TeamsConfig.from_settings(
            demo.teams, demo.directory.backend, {"HELPDESK_HTTP_HOST": "0.0.0.0"}
        )
    real = parse_settings(base + '[directory]\nbackend = "ldap"\n', "t", {})
    with pytest.raises(ConfigError, match=r"teams\.anonymous"):
        TeamsConfig.from_settings(real.teams, real.directory.backend, {})
    without_secret = parse_settings(base.replace("anonymous = true", ""), "t", {})
    with pytest.raises(ConfigError, match="TEAMS_APP_PASSWORD"):
        TeamsConfig.from_settings(without_secret.teams, without_secret.directory.backend, {})
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
