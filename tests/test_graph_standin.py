"""The Graph stand-in keeps its contract with the real client libraries (msal, httpx)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msal
import pytest
import requests

from tests.graph_standin import GRAPH_SCOPE, GraphStandIn, make_client_cert, seed_corp

WONG = "wong.siuling@corp.example.com"
CHAN = "chan.taiman@corp.example.com"
PRIV = "priv.member@corp.example.com"
ADMIN = "admin.cloud@corp.example.com"


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStandIn]:
    with GraphStandIn(tmp_path_factory.mktemp("graph")) as standin:
        seed_corp(standin)
        yield standin


def _session(graph: GraphStandIn) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies, no REQUESTS_CA_BUNDLE overriding verify
    session.verify = str(graph.ca_file)
    return session


def _app(
    graph: GraphStandIn, session: requests.Session, credential: Any = None
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        graph.client_id,
        client_credential=graph.client_secret if credential is None else credential,
        authority=f"{graph.authority_url}/{graph.tenant_id}",
        instance_discovery=False,
        http_client=session,
    )


@pytest.fixture(scope="module")
def token(graph: GraphStandIn) -> str:
    with _session(graph) as session:
        result = _app(graph, session).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    return str(result["access_token"])


def _run(graph: GraphStandIn, token: str | None, *steps: tuple[str, str, Any]) -> list[Any]:
    """Send (method, url-or-path, json) requests with httpx; return the responses."""

    async def go() -> list[httpx.Response]:
        context = ssl.create_default_context(cafile=str(graph.ca_file))
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(
            verify=context, trust_env=False, headers=headers, timeout=10
        ) as client:
            out = []
            for method, url, body in steps:
                full = url if url.startswith("https://") else graph.graph_url + url
                out.append(await client.request(method, full, json=body))
            return out

    return asyncio.run(go())


def test_msal_secret_discovery_token_and_cache(graph: GraphStandIn) -> None:
    before = graph.token_requests
    with _session(graph) as session:
        app = _app(graph, session)
        first = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
        second = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert first["token_type"] == "Bearer" and first["expires_in"] > 3500
    assert second["access_token"] == first["access_token"]
    assert second["token_source"] == "cache"
    assert graph.token_requests == before + 1
    tenant = graph.tenant_id
    assert graph.called("GET", f"^/{tenant}/v2.0/.well-known/openid-configuration$")
    (post,) = graph.called("POST", f"^/{tenant}/oauth2/v2.0/token$")[-1:]
    assert post.form["grant_type"] == "client_credentials"
    assert post.form["scope"] == GRAPH_SCOPE and post.status == 200


def test_msal_wrong_secret_and_authority_down(graph: GraphStandIn) -> None:
    with _session(graph) as session:
        bad = _app(graph, session, credential="not-the-secret")
        result = bad.acquire_token_for_client(scopes=[GRAPH_SCOPE])
        assert result["error"] == "invalid_client"
        assert 7000215 in result["error_codes"]
        built = _app(graph, session, credential=graph.client_secret)
        graph.authority_down = True
        try:  # msal raises on a 5xx from the token endpoint and from discovery
            with pytest.raises(msal.exceptions.MsalServiceError, match="503"):
                built.acquire_token_for_client(scopes=[GRAPH_SCOPE])
            with pytest.raises(msal.exceptions.MsalServiceError, match="503"):
                _app(graph, session)  # OIDC discovery runs when the app is built
        finally:
            graph.authority_down = False


def test_msal_certificate_credential(graph: GraphStandIn) -> None:
    cert = make_client_cert()
    other = make_client_cert("unregistered")
    assert graph.add_client_certificate(cert.cert_pem) == cert.thumbprint
    with _session(graph) as session:
        sha1 = {"private_key": cert.key_pem, "thumbprint": cert.thumbprint}  # RS256, x5t
        assert "access_token" in _app(graph, session, sha1).acquire_token_for_client(
            scopes=[GRAPH_SCOPE]
        )
        sha256 = {"private_key": cert.key_pem, "public_certificate": cert.cert_pem}  # PS256
        assert "access_token" in _app(graph, session, sha256).acquire_token_for_client(
            scopes=[GRAPH_SCOPE]
        )
        forged = {"private_key": other.key_pem, "thumbprint": cert.thumbprint}  # wrong key
        result = _app(graph, session, forged).acquire_token_for_client(scopes=[GRAPH_SCOPE])
        assert result["error"] == "invalid_client"
        assert "signature" in result["error_description"]
    post = graph.called("POST", "/oauth2/v2.0/token$")[-1]
    assert "client_secret" not in post.form and post.form["client_assertion"].count(".") == 2


def test_users_select_filter_manager_and_auth(graph: GraphStandIn, token: str) -> None:
    graph.add_user("o'brien.pat@corp.example.com", "Pat O'Brien")
    select = "?$select=id,displayName,accountEnabled,onPremisesSyncEnabled"
    either = (
        "(mail eq 'nobody@corp.example.com' or userPrincipalName eq 'CHAN.TAIMAN@corp.example.com')"
    )
    wong, plain, chan, by_mail, quoted, unescaped, bad_select, manager, anonymous = _run(
        graph,
        token,
        ("GET", f"/users/{WONG}{select}", None),
        ("GET", f"/users/{WONG}", None),
        ("GET", f"/users?$filter={either}&$select=id,onPremisesSyncEnabled", None),
        ("GET", f"/users?$filter=mail eq '{WONG}'", None),
        ("GET", "/users?$filter=userPrincipalName eq 'o''brien.pat@corp.example.com'", None),
        ("GET", "/users?$filter=userPrincipalName eq 'o'brien.pat@corp.example.com'", None),
        ("GET", f"/users/{WONG}?$select=id,nosuchthing", None),
        ("GET", f"/users/{graph.user_id(WONG)}/manager?$select=userPrincipalName", None),
        ("GET", "/users", None),
    )
    assert wong.status_code == 200
    assert set(wong.json()) == {"id", "displayName", "accountEnabled", "onPremisesSyncEnabled"}
    assert wong.json()["onPremisesSyncEnabled"] is None and wong.json()["accountEnabled"] is True
    assert "accountEnabled" not in plain.json()  # not in Graph's default property set
    assert chan.json()["value"] == [{"id": graph.user_id(CHAN), "onPremisesSyncEnabled": True}]
    assert [u["id"] for u in by_mail.json()["value"]] == [graph.user_id(WONG)]
    assert quoted.json()["value"][0]["displayName"] == "Pat O'Brien"
    assert unescaped.status_code == 400 and bad_select.status_code == 400
    assert manager.json()["userPrincipalName"] == "ho.kawai@corp.example.com"
    (anon,) = _run(graph, None, ("GET", f"/users/{WONG}", None))
    assert anon.status_code == 401
    assert anon.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert anonymous.status_code == 200  # the list itself works with a token


def test_transitive_member_of_pages_groups_and_roles(graph: GraphStandIn, token: str) -> None:
    url = f"/users/{PRIV}/transitiveMemberOf?$top=1&$select=id,displayName,isAssignableToRole"
    seen: list[dict[str, Any]] = []
    pages = 0
    while url:
        (page,) = _run(graph, token, ("GET", url, None))
        assert page.status_code == 200
        seen += page.json()["value"]
        url = page.json().get("@odata.nextLink", "")
        assert not url or url.startswith(graph.graph_url)
        pages += 1
    assert pages == 2
    assert [(o["@odata.type"], o["displayName"]) for o in seen] == [
        ("#microsoft.graph.group", "Tier0 Operators"),
        ("#microsoft.graph.directoryRole", "Privileged Authentication Administrator"),
    ]
    assert seen[0]["isAssignableToRole"] is True
    (chan,) = _run(graph, token, ("GET", f"/users/{CHAN}/transitiveMemberOf", None))
    assert {o["displayName"] for o in chan.json()["value"]} == {"VPN Users", "All Staff"}
    (admin,) = _run(graph, token, ("GET", f"/users/{ADMIN}/transitiveMemberOf", None))
    role = admin.json()["value"][0]
    assert role["roleTemplateId"] == "62e90394-69f5-4237-9190-012177145e10"


def test_licences_groups_domains_and_unknown_route(graph: GraphStandIn, token: str) -> None:
    vpn = graph.group_id("VPN Users")
    ref = {"@odata.id": f"{graph.graph_url}/directoryObjects/{graph.user_id(WONG)}"}
    licences, found, owners, added, again, fed, unknown = _run(
        graph,
        token,
        ("GET", f"/users/{WONG}/licenseDetails", None),
        ("GET", "/groups?$filter=displayName eq 'VPN Users'", None),
        ("GET", f"/groups/{vpn}/owners", None),
        ("POST", f"/groups/{vpn}/members/$ref", ref),
        ("POST", f"/groups/{vpn}/members/$ref", ref),
        ("GET", "/domains/fed.example.com", None),
        ("GET", "/me/drive", None),
    )
    skus = {d["skuPartNumber"]: d for d in licences.json()["value"]}
    assert set(skus) == {"SPE_E3", "POWER_BI_PRO"}
    plans = {p["servicePlanName"]: p["provisioningStatus"] for p in skus["SPE_E3"]["servicePlans"]}
    assert plans["TEAMS1"] == "Success" and "VISIOONLINE" not in plans
    bi = {
        p["servicePlanName"]: p["provisioningStatus"] for p in skus["POWER_BI_PRO"]["servicePlans"]
    }
    assert bi["BI_AZURE_P2"] == "Disabled"
    assert found.json()["value"][0]["id"] == vpn
    assert owners.json()["value"][0]["userPrincipalName"] == "ho.kawai@corp.example.com"
    assert added.status_code == 204 and WONG in graph.members_of("VPN Users")
    assert again.status_code == 400
    assert "already exist" in again.json()["error"]["message"]
    assert fed.json()["authenticationType"] == "Federated"
    assert unknown.status_code == 501 and "/v1.0/me/drive" in unknown.json()["error"]["message"]


def test_fail_next_429_carries_retry_after(graph: GraphStandIn, token: str) -> None:
    graph.fail_next("GET", r"/users/[^/]+$", status=429, retry_after=3)
    throttled, fine = _run(
        graph, token, ("GET", f"/users/{CHAN}", None), ("GET", f"/users/{CHAN}", None)
    )
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert fine.status_code == 200


def test_password_reset_may_have_applied_on_503(graph: GraphStandIn, token: str) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    graph.fail_next("PATCH", "/users/", status=503, after_apply=True)
    profile = {
        "passwordProfile": {"password": "Tmp-Pass-4821!", "forceChangePasswordNextSignIn": True}
    }
    failed, check, synced, privileged, other_field = _run(
        graph,
        token,
        ("PATCH", f"/users/{graph.user_id(WONG)}", profile),
        ("GET", f"/users/{WONG}?$select=lastPasswordChangeDateTime", None),
        ("PATCH", f"/users/{CHAN}", profile),
        ("PATCH", f"/users/{ADMIN}", profile),
        ("PATCH", f"/users/{WONG}", {"displayName": "x"}),
    )
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "1"
    assert graph.password_of(WONG) == "Tmp-Pass-4821!"  # applied before the 503
    changed = datetime.fromisoformat(check.json()["lastPasswordChangeDateTime"])
    assert changed >= before.replace(microsecond=0)
    assert synced.status_code == 400  # on-prem synced: reset through AD
    assert privileged.status_code == 403
    assert other_field.status_code == 400


def test_tap_issue_then_list_hides_secret(graph: GraphStandIn, token: str) -> None:
    path = f"/users/{graph.user_id(CHAN)}/authentication/temporaryAccessPassMethods"
    body = {"lifetimeInMinutes": 60, "isUsableOnce": True}
    issued, listed, second, too_short = _run(
        graph,
        token,
        ("POST", path, body),
        ("GET", path, None),
        ("POST", path, body),
        (
            "POST",
            f"/users/{WONG}/authentication/temporaryAccessPassMethods",
            {"lifetimeInMinutes": 5},
        ),
    )
    assert issued.status_code == 201
    tap = issued.json()
    assert tap["isUsableOnce"] is True and tap["methodUsabilityReason"] == "EnabledByPolicy"
    assert len(tap["temporaryAccessPass"]) == 8
    assert graph.taps_of(CHAN)[0]["temporaryAccessPass"] == tap["temporaryAccessPass"]
    (entry,) = listed.json()["value"]
    assert entry["id"] == tap["id"] and not entry["temporaryAccessPass"]
    assert tap["temporaryAccessPass"] not in listed.text
    assert second.status_code == 400 and second.json()["error"]["code"] == "badRequest"
    assert too_short.status_code == 400  # outside the TAP policy's 60-480 minutes


def test_start_stop_leaves_nothing_behind(tmp_path: Path) -> None:
    standin = GraphStandIn(tmp_path).start()
    try:
        assert standin.port and standin.ca_file.exists()
        assert standin.started_in < 10
    finally:
        standin.stop()
    with pytest.raises(httpx.ConnectError):
        context = ssl.create_default_context(cafile=str(standin.ca_file))
        httpx.get(f"{standin.graph_url}/users", verify=context, trust_env=False)
