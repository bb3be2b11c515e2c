"""Entra ID and Microsoft 365 through Microsoft Graph: msal for the token, httpx for the calls.

Connection (environment; the secret never goes in the config file):

- `HELPDESK_GRAPH_TENANT_ID`, `HELPDESK_GRAPH_CLIENT_ID`
- `HELPDESK_GRAPH_CLIENT_SECRET`, or `HELPDESK_GRAPH_CLIENT_CERT` (a PEM file holding the
  private key and the certificate registered on the app)
- `HELPDESK_GRAPH_AUTHORITY_URL` (default `https://login.microsoftonline.com`)
- `HELPDESK_GRAPH_URL` (default `https://graph.microsoft.com/v1.0`)
- `HELPDESK_GRAPH_CA_FILE` (optional): a CA to trust in addition to the system's (a TLS
  inspecting proxy, or the tests' stand-in)

Decisions (shared/DESIGN.md explains msal + httpx rather than msgraph-sdk):
- **Reads are retried, writes are not blindly.** A read answered 429/503/504 is retried
  after its `Retry-After` (at most `[graph] max_retries` times); a `Retry-After` longer than
  `[graph] max_wait_seconds` is not waited for in chat: the request is parked as `Throttled`
  and the user is told when to try again. A write answered 503/504 (or cut off) may have been
  applied: the caller checks (`lastPasswordChangeDateTime` for a reset) before anything else.
- **`$select` on every read** so Graph sends only what the bot uses.
- **Errors map to the port's domain errors**: 404 → NotFound, 403 → ProtectedAccount, a
  refused password → PolicyViolation, 429 beyond the wait → Throttled, anything else
  (5xx, token endpoint down, TLS, timeouts) → Unavailable.
- **The msal app is built on first use** (it fetches the authority's metadata), in a worker
  thread, so a token endpoint that is down is a clear `Unavailable`, not a failed start.
"""

from __future__ import annotations

import asyncio
import ssl
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.clock import parse_iso
from bot.config import GraphSettings, check_ca_file
from bot.errors import ConfigError
from bot.integrations.directory import (
    Account,
    DirectoryError,
    FailedSignIn,
    Group,
    InexactMatch,
    Licence,
    ManagedDevice,
    NotFound,
    PasswordPolicy,
    PolicyViolation,
    ProtectedAccount,
    SignInMethod,
    SignInTrouble,
    Throttled,
    Unavailable,
    exactly_one,
)
from bot.integrations.identity import checked, exact_account, has_address
from bot.integrations.skus import plan_name, sku_name

SCOPE = "https://graph.microsoft.com/.default"
_USER_FIELDS = (
    "id,displayName,mail,userPrincipalName,accountEnabled,onPremisesSyncEnabled,"
    "lastPasswordChangeDateTime,department"
)
_RETRY_STATUS = (429, 503, 504)


@dataclass(frozen=True)
class GraphConfig:
    """Where the tenant is and how the bot authenticates (see the module docstring)."""

    tenant_id: str
    client_id: str
    client_secret: str | None = field(repr=False)
    client_cert: str | None
    authority_url: str
    graph_url: str
    ca_file: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GraphConfig:
        def get(name: str) -> str:
            return env.get(name, "").strip()

        for name in ("HELPDESK_GRAPH_TENANT_ID", "HELPDESK_GRAPH_CLIENT_ID"):
            if not get(name):
                raise ConfigError(name, "is not set (needed for a graph directory)")
        secret, cert = get("HELPDESK_GRAPH_CLIENT_SECRET"), get("HELPDESK_GRAPH_CLIENT_CERT")
        if bool(secret) == bool(cert):
            raise ConfigError(
                "HELPDESK_GRAPH_CLIENT_SECRET",
                "set it or HELPDESK_GRAPH_CLIENT_CERT (exactly one of the two)",
            )
        if cert and not Path(cert).is_file():
            raise ConfigError("HELPDESK_GRAPH_CLIENT_CERT", f"file {cert} does not exist")
        urls = {}
        for name, default in (
            ("HELPDESK_GRAPH_AUTHORITY_URL", "https://login.microsoftonline.com"),
            ("HELPDESK_GRAPH_URL", "https://graph.microsoft.com/v1.0"),
        ):
            url = (get(name) or default).rstrip("/")
            if urlsplit(url).scheme != "https" or not urlsplit(url).hostname:
                raise ConfigError(name, f"must be an https:// URL, not {url!r}")
            urls[name] = url
        ca_file = get("HELPDESK_GRAPH_CA_FILE") or None
        if ca_file:
            check_ca_file("HELPDESK_GRAPH_CA_FILE", ca_file)
        return cls(
            tenant_id=get("HELPDESK_GRAPH_TENANT_ID"),
            client_id=get("HELPDESK_GRAPH_CLIENT_ID"),
            client_secret=secret or None,
            client_cert=cert or None,
            authority_url=urls["HELPDESK_GRAPH_AUTHORITY_URL"],
            graph_url=urls["HELPDESK_GRAPH_URL"],
            ca_file=ca_file,
        )


class MaybeApplied(Unavailable):
    """A write was cut off or answered 503/504: the change may or may not have happened."""


def _graph_error(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
        error = body.get("error") or {}
        return str(error.get("code", "")), str(error.get("message", ""))[:200]
    except ValueError:
        return "", response.text[:200]


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


class GraphGateway:
    """A small typed client: a cached app token from msal, one shared `httpx.AsyncClient`."""

    def __init__(
        self,
        config: GraphConfig,
        settings: GraphSettings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._config = config
        self._settings = settings
        self._sleep = sleep
        self._app: Any = None
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._session: Any = None
        self._bundle: str | None = None

    @property
    def graph_url(self) -> str:
        return self._config.graph_url

    # -- TLS and token ---------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self._config.ca_file:
            context.load_verify_locations(self._config.ca_file)
        return context

    def _requests_bundle(self) -> str | bool:
        """requests wants a file: the system's CAs plus the extra one, written once."""
        if not self._config.ca_file:
            return True
        if self._bundle is None:
            import certifi

            bundle = Path(certifi.where()).read_text("utf-8")
            bundle += "\n" + Path(self._config.ca_file).read_text("utf-8")
            with tempfile.NamedTemporaryFile(
                "w", suffix=".pem", prefix="helpdesk-graph-ca-", delete=False
            ) as handle:
                handle.write(bundle)
            self._bundle = handle.name
        return self._bundle

    def _build_app(self) -> Any:
        import msal
        import requests

        if self._session is not None:
            self._session.close()
        session = requests.Session()
        session.trust_env = False  # proxies and REQUESTS_CA_BUNDLE must not change the CA
        session.verify = self._requests_bundle()
        self._session = session
        credential: Any = self._config.client_secret
        if self._config.client_cert:
            credential = _certificate_credential(Path(self._config.client_cert))
        return msal.ConfidentialClientApplication(
            self._config.client_id,
            client_credential=credential,
            authority=f"{self._config.authority_url}/{self._config.tenant_id}",
            instance_discovery=False,
            http_client=session,
            timeout=self._settings.timeout_seconds,
        )

    def _acquire(self) -> str:
        import requests
        from msal.exceptions import MsalError

        try:
            if self._app is None:
                self._app = self._build_app()
            result = self._app.acquire_token_for_client(scopes=[SCOPE])
        except (requests.RequestException, ValueError, OSError, MsalError) as exc:
            self._app = None  # rebuilt on the next call (msal replays a failure for a while)
            raise Unavailable(f"token authority unreachable: {type(exc).__name__}") from None
        if "access_token" not in result:
            raise Unavailable(f"token refused: {result.get('error', 'unknown error')}")
        return str(result["access_token"])

    async def token(self) -> str:
        return await asyncio.to_thread(self._acquire)

    def _http(self) -> httpx.AsyncClient:
        # One client per event loop: `helpdesk serve` has one loop for its whole life; a
        # caller that runs each message in its own loop gets a fresh client each time.
        loop = asyncio.get_running_loop()
        if self._client is not None and self._client_loop is not loop:
            self._client = None
        if self._client is None:
            self._client_loop = loop
            self._client = httpx.AsyncClient(
                base_url=self._config.graph_url + "/",
                verify=self._ssl_context(),
                timeout=self._settings.timeout_seconds,
                trust_env=False,
            )
        return self._client

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()
        client, self._client = self._client, None
        if client is not None and self._client_loop is asyncio.get_running_loop():
            await client.aclose()

    # -- requests --------------------------------------------------------------------------

    async def _send(
        self, method: str, url: str, *, params: dict[str, str] | None, json: Any
    ) -> httpx.Response:
        token = await self.token()
        try:
            return await self._http().request(
                method,
                url,  # relative to HELPDESK_GRAPH_URL, or an absolute @odata.nextLink
                params=params,
                json=json,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            if method != "GET":
                raise MaybeApplied(f"{method} cut off: {type(exc).__name__}") from None
            raise Unavailable(f"Graph unreachable: {type(exc).__name__}") from None

    def _fail(self, response: httpx.Response, *, write: bool = False) -> DirectoryError:
        code, message = _graph_error(response)
        detail = f"Graph {response.status_code} {code}: {message}"
        if response.status_code == 404:
            return NotFound(detail)
        if response.status_code == 403:
            return ProtectedAccount(detail)
        if write and response.status_code == 400 and "password" in message.lower():
            return PolicyViolation(detail)
        if response.status_code == 429:
            return Throttled(detail)
        return Unavailable(detail)

    async def get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        """GET with bounded retries on 429/503/504 after Retry-After."""
        for attempt in range(self._settings.max_retries + 1):
            response = await self._send("GET", path, params=params, json=None)
            if response.status_code not in _RETRY_STATUS:
                break
            wait = _retry_after(response)
            if wait > self._settings.max_wait_seconds:
                raise Throttled(
                    f"Graph asked to wait {wait:.0f} s", minutes=max(1, round(wait / 60))
                )
            if attempt < self._settings.max_retries:
                await self._sleep(wait)
        if response.status_code >= 400:
            raise self._fail(response)
        data = response.json()
        return data if isinstance(data, dict) else {}

    async def get_all(
        self, path: str, params: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Every item of a collection, following `@odata.nextLink`."""
        items: list[dict[str, Any]] = []
        page = await self.get(path, params)
        while True:
            items.extend(x for x in page.get("value", []) if isinstance(x, dict))
            link = page.get("@odata.nextLink")
            if not link:
                return items
            page = await self.get(str(link))

    async def write(self, method: str, path: str, body: Any) -> dict[str, Any]:
        """POST/PATCH once. 429 (refused, so not applied) is waited for once if short;
        503/504 or a cut connection raise `MaybeApplied` for the caller to check."""
        response = await self._send(method, path, params=None, json=body)
        if response.status_code == 429 and _retry_after(response) <= (
            self._settings.max_wait_seconds
        ):
            await self._sleep(_retry_after(response))
            response = await self._send(method, path, params=None, json=body)
        if response.status_code in (503, 504):
            raise MaybeApplied(f"Graph {response.status_code} on {method} {path}")
        if response.status_code >= 400:
            raise self._fail(response, write=True)
        if response.status_code == 204 or not response.content:
            return {}
        data = response.json()
        return data if isinstance(data, dict) else {}


def _certificate_credential(path: Path) -> dict[str, str]:
    """msal's certificate credential from one PEM holding the key and the certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    pem = path.read_text("utf-8")
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise ConfigError(
            "HELPDESK_GRAPH_CLIENT_CERT", f"{path} holds no PEM certificate"
        ) from None
    return {"private_key": pem, "thumbprint": cert.fingerprint(hashes.SHA1()).hex()}  # noqa: S303 - Entra's thumbprint is SHA-1


_METHOD_KINDS = {
    "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod": "authenticator",
    "#microsoft.graph.phoneAuthenticationMethod": "phone",
    "#microsoft.graph.fido2AuthenticationMethod": "fido2",
    "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod": "windows_hello",
    "#microsoft.graph.softwareOathAuthenticationMethod": "software_oath",
    "#microsoft.graph.emailAuthenticationMethod": "email",
    "#microsoft.graph.passwordAuthenticationMethod": "password",
    "#microsoft.graph.temporaryAccessPassAuthenticationMethod": "temporary_access_pass",
}


def _quote(value: str) -> str:
    """An OData string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


class GraphDirectory:
    """A `Directory` over Entra ID: cloud accounts, licences, groups, TAPs, cloud resets."""

    name = "graph"

    def __init__(self, gateway: GraphGateway, settings: GraphSettings) -> None:
        self.gateway = gateway
        self._settings = settings
        self._federated: dict[str, bool] = {}
        self._ids: dict[str, tuple[float, str]] = {}

    async def _federated_domain(self, upn: str) -> bool:
        domain = upn.rsplit("@", 1)[-1].lower()
        if domain not in self._federated:
            try:
                found = await self.gateway.get(
                    f"domains/{domain}", {"$select": "id,authenticationType"}
                )
                self._federated[domain] = found.get("authenticationType") == "Federated"
            except NotFound:
                self._federated[domain] = False
        return self._federated[domain]

    async def _privilege(self, user_id: str) -> str | None:
        held = await self.gateway.get_all(
            f"users/{user_id}/transitiveMemberOf",
            {"$select": "id,displayName,isAssignableToRole"},
        )
        for item in held:
            kind = str(item.get("@odata.type", ""))
            if kind.endswith("directoryRole"):
                return f"directory role {item.get('displayName')}"
            if item.get("isAssignableToRole"):
                return f"role-assignable group {item.get('displayName')}"
        return None

    async def _manager(self, user_id: str) -> str | None:
        try:
            found = await self.gateway.get(
                f"users/{user_id}/manager", {"$select": "mail,userPrincipalName"}
            )
        except NotFound:
            return None
        return str(found.get("mail") or found.get("userPrincipalName") or "").lower() or None

    async def _account(self, user: dict[str, Any]) -> Account:
        user_id = str(user["id"])
        upn = str(user.get("userPrincipalName") or "")
        privileged = await self._privilege(user_id)
        changed = user.get("lastPasswordChangeDateTime")
        return Account(
            directory_id=user_id,
            email=str(user.get("mail") or upn).lower(),
            display_name=str(user.get("displayName") or upn),
            enabled=bool(user.get("accountEnabled", False)),
            locked=False,  # Entra smart lockout is not visible through Graph
            locked_at=None,
            password_last_set=parse_iso(str(changed)) if changed else None,
            password_expires=None,
            must_change_password=False,
            source="onprem" if user.get("onPremisesSyncEnabled") else "cloud",
            privileged=privileged is not None,
            privileged_reason=privileged,
            department=str(user.get("department") or ""),
            manager_email=await self._manager(user_id),
            federated=await self._federated_domain(upn),
            addresses=tuple(str(a) for a in (user.get("mail"), upn) if a),
        )

    async def find_by_email(self, email: str) -> Account:
        value = _quote(checked(email, "the email"))
        found = await self.gateway.get(
            "users",
            {
                "$filter": f"mail eq {value} or userPrincipalName eq {value}",
                "$select": _USER_FIELDS,
                "$top": "2",
            },
        )
        account = await self._account(
            exactly_one(found.get("value", []), "Entra user for that email")
        )
        return exact_account(account, email)

    async def find_by_id(self, directory_id: str) -> Account:
        user = await self.gateway.get(f"users/{directory_id}", {"$select": _USER_FIELDS})
        return await self._account(user)

    async def user_id(self, email: str) -> str:
        """The Entra object id of an account found elsewhere (AD), by the same verified email:
        one `$select=id` read, cached for 10 minutes (no roles, manager or domain lookups)."""
        cached = self._ids.get(email)
        if cached and time.monotonic() - cached[0] < 600:
            return cached[1]
        value = _quote(checked(email, "the email"))
        found = await self.gateway.get(
            "users",
            {
                "$filter": f"mail eq {value} or userPrincipalName eq {value}",
                "$select": "id,mail,userPrincipalName",
                "$top": "2",
            },
        )
        user = exactly_one(found.get("value", []), "Entra user for that email")
        if not has_address((str(user.get(k) or "") for k in ("mail", "userPrincipalName")), email):
            raise InexactMatch("the Entra user found has no mail or UPN equal to that email")
        user_id = str(user["id"])
        self._ids[email] = (time.monotonic(), user_id)
        return user_id

    async def licences(self, account: Account) -> tuple[Licence, ...]:
        details = await self.gateway.get_all(
            f"users/{account.directory_id}/licenseDetails",
            {"$select": "skuPartNumber,servicePlans"},
        )
        licences = []
        for detail in details:
            plans = [p for p in detail.get("servicePlans", []) if isinstance(p, dict)]
            disabled = tuple(
                plan_name(str(p.get("servicePlanName")))
                for p in plans
                if p.get("provisioningStatus") == "Disabled"
            )
            enabled = tuple(
                str(p.get("servicePlanName"))
                for p in plans
                if p.get("provisioningStatus") != "Disabled"
            )
            part = str(detail.get("skuPartNumber", ""))
            licences.append(Licence(part, sku_name(part), disabled, enabled))
        return tuple(licences)

    async def groups(self, account: Account) -> tuple[str, ...]:
        held = await self.gateway.get_all(
            f"users/{account.directory_id}/transitiveMemberOf", {"$select": "id,displayName"}
        )
        return tuple(
            sorted(
                str(g.get("displayName"))
                for g in held
                if str(g.get("@odata.type", "")).endswith(".group")
            )
        )

    async def unlock(self, account: Account) -> None:
        raise Unavailable("no Graph endpoint clears Entra smart lockout")

    def _check_cloud(self, account: Account) -> None:
        if account.privileged or not account.enabled or account.service_account:
            raise ProtectedAccount(f"refusing to change {account.directory_id}")
        if account.source != "cloud":
            raise ProtectedAccount("synced from AD: change it in AD")
        if account.federated:
            raise ProtectedAccount("federated: the identity provider owns the password")

    async def reset_password(self, account: Account, password: str) -> None:
        """PATCH passwordProfile (must change at next sign-in). If Graph answers 503/504 or
        the connection drops, read `lastPasswordChangeDateTime`: changed after we started
        means it applied (the password is the one we sent); else try once more."""
        fresh = await self.find_by_id(account.directory_id)
        self._check_cloud(fresh)
        body = {"passwordProfile": {"password": password, "forceChangePasswordNextSignIn": True}}
        for _attempt in (1, 2):
            started = datetime.now(UTC).replace(microsecond=0)
            try:
                await self.gateway.write("PATCH", f"users/{account.directory_id}", body)
                return
            except MaybeApplied:
                after = await self.find_by_id(account.directory_id)
                if after.password_last_set is not None and after.password_last_set >= started:
                    return
        raise Unavailable("Graph did not apply the reset twice")

    async def issue_temporary_access_pass(self, account: Account, minutes: int) -> str:
        fresh = await self.find_by_id(account.directory_id)
        self._check_cloud(fresh)
        created = await self.gateway.write(
            "POST",
            f"users/{account.directory_id}/authentication/temporaryAccessPassMethods",
            {"lifetimeInMinutes": minutes, "isUsableOnce": True},
        )
        secret = created.get("temporaryAccessPass")
        if not secret:
            raise Unavailable("Graph returned no Temporary Access Pass")
        return str(secret)

    async def sign_in_trouble(self, account: Account) -> SignInTrouble:
        """The account's recent failed sign-ins from `auditLogs/signIns` (AuditLog.Read.All
        and an Entra ID P1 licence in the tenant), newest first; one page of
        `graph.sign_in_log_size`. Entra's smart lockout itself is not visible."""
        found = await self.gateway.get(
            "auditLogs/signIns",
            {
                "$filter": f"userId eq {_quote(account.directory_id)}",
                "$top": str(self._settings.sign_in_log_size),
            },
        )
        failures = []
        for entry in found.get("value", []):
            status = entry.get("status") or {}
            if not status.get("errorCode"):
                continue
            where = entry.get("location") or {}
            place = ", ".join(
                str(p) for p in (where.get("city"), where.get("countryOrRegion")) if p
            )
            failures.append(
                FailedSignIn(
                    at=parse_iso(str(entry.get("createdDateTime"))),
                    app=str(entry.get("appDisplayName") or "an app"),
                    client=str(entry.get("clientAppUsed") or ""),
                    location=place,
                    reason=f"{status.get('failureReason') or ''} ({status.get('errorCode')})",
                )
            )
        failures.sort(key=lambda f: f.at, reverse=True)
        return SignInTrouble(failures=tuple(failures), where="entra")

    async def managed_devices(self, account: Account) -> tuple[ManagedDevice, ...]:
        """`users/{id}/managedDevices` (DeviceManagementManagedDevices.Read.All), and for a
        device that is not compliant the settings it fails, from its compliance policy states
        (DeviceManagementConfiguration.Read.All)."""
        found = await self.gateway.get_all(
            f"users/{account.directory_id}/managedDevices",
            {
                "$select": "id,deviceName,operatingSystem,osVersion,complianceState,"
                "lastSyncDateTime,isEncrypted,managedDeviceOwnerType"
            },
        )
        devices = []
        for item in found:
            failing: list[str] = []
            state = str(item.get("complianceState") or "unknown")
            if state in ("noncompliant", "inGracePeriod"):
                policies = await self.gateway.get_all(
                    f"deviceManagement/managedDevices/{item['id']}/deviceCompliancePolicyStates"
                )
                for policy in policies:
                    for setting in policy.get("settingStates") or []:
                        name = str(setting.get("setting") or setting.get("settingName") or "")
                        if setting.get("state") in ("nonCompliant", "error") and name:
                            failing.append(name.rsplit(".", 1)[-1])
            synced = item.get("lastSyncDateTime")
            devices.append(
                ManagedDevice(
                    device_id=str(item["id"]),
                    name=str(item.get("deviceName") or "?"),
                    os=str(item.get("operatingSystem") or ""),
                    os_version=str(item.get("osVersion") or ""),
                    compliance=state,
                    last_check_in=parse_iso(str(synced)) if synced else None,
                    encrypted=item.get("isEncrypted")
                    if isinstance(item.get("isEncrypted"), bool)
                    else None,
                    failing=tuple(dict.fromkeys(failing)),
                    company_owned=item.get("managedDeviceOwnerType") != "personal",
                )
            )
        return tuple(devices)

    async def sign_in_methods(self, account: Account) -> tuple[SignInMethod, ...]:
        """`authentication/methods` (UserAuthenticationMethod.Read.All): kinds and names only;
        a phone number keeps its last 3 digits."""
        found = await self.gateway.get_all(f"users/{account.directory_id}/authentication/methods")
        methods = []
        for item in found:
            kind = _METHOD_KINDS.get(str(item.get("@odata.type", "")), "other")
            if kind == "phone":
                number = str(item.get("phoneNumber") or "")
                name = (
                    f"{item.get('phoneType') or 'phone'} ••••{number[-3:]}" if number else "phone"
                )
            else:
                name = str(item.get("displayName") or item.get("model") or kind.replace("_", " "))
            created = item.get("createdDateTime")
            methods.append(
                SignInMethod(
                    method_id=str(item.get("id")),
                    kind=kind,
                    name=name,
                    created=parse_iso(str(created)) if created else None,
                )
            )
        return tuple(methods)

    async def issue_mfa_pass(self, account: Account, minutes: int) -> str:
        """POST temporaryAccessPassMethods for a cloud or synced account (a TAP is a sign-in
        method: Entra issues it to synced users too). Not retried: a 503 may have created it."""
        fresh = await self.find_by_id(account.directory_id)
        if fresh.privileged or not fresh.enabled or fresh.service_account:
            raise ProtectedAccount(f"refusing a pass for {account.directory_id}")
        created = await self.gateway.write(
            "POST",
            f"users/{account.directory_id}/authentication/temporaryAccessPassMethods",
            {"lifetimeInMinutes": minutes, "isUsableOnce": True},
        )
        secret = created.get("temporaryAccessPass")
        if not secret:
            raise Unavailable("Graph returned no Temporary Access Pass")
        return str(secret)

    async def remove_sign_in_method(self, account: Account, method: SignInMethod) -> None:
        """DELETE an Authenticator registration; gone already (404 after a 503) counts as done."""
        if method.kind != "authenticator":
            raise PolicyViolation(
                f"only Authenticator registrations are removed, not {method.kind}"
            )
        path = (
            f"users/{account.directory_id}/authentication/microsoftAuthenticatorMethods/"
            f"{method.method_id}"
        )
        try:
            await self.gateway.write("DELETE", path, None)
        except MaybeApplied:
            remaining = await self.sign_in_methods(account)
            if any(m.method_id == method.method_id for m in remaining):
                raise

    async def revoke_sessions(self, account: Account) -> None:
        """POST revokeSignInSessions (User.RevokeSessions.All): every refresh token and browser
        session ends. Idempotent, so a 503 after it applied is retried once."""
        fresh = await self.find_by_id(account.directory_id)
        if fresh.privileged or not fresh.enabled or fresh.service_account:
            raise ProtectedAccount(f"refusing to revoke the sessions of {account.directory_id}")
        path = f"users/{account.directory_id}/revokeSignInSessions"
        try:
            await self.gateway.write("POST", path, {})
        except MaybeApplied:
            await self.gateway.write("POST", path, {})

    async def require_password_change(self, account: Account) -> None:
        """PATCH passwordProfile.forceChangePasswordNextSignIn (cloud-only accounts; a synced
        one is changed in AD). Idempotent, so a 503 after it applied is retried once."""
        fresh = await self.find_by_id(account.directory_id)
        self._check_cloud(fresh)
        body = {"passwordProfile": {"forceChangePasswordNextSignIn": True}}
        try:
            await self.gateway.write("PATCH", f"users/{account.directory_id}", body)
        except MaybeApplied:
            await self.gateway.write("PATCH", f"users/{account.directory_id}", body)

    async def password_policy(self) -> PasswordPolicy:
        """Entra's cloud password rules (fixed by Microsoft): 8+ characters, 3 of 4 classes."""
        return PasswordPolicy(min_length=8, complexity=True, lockout_threshold=10)

    async def lockouts_since(self, since: datetime) -> int:
        return 0  # smart lockout is not exposed through Graph

    async def find_group(self, name: str) -> Group:
        found = await self.gateway.get(
            "groups",
            {
                "$filter": f"displayName eq {_quote(name)}",
                "$select": "id,displayName,isAssignableToRole,securityEnabled",
                "$top": "2",
            },
        )
        group = exactly_one(found.get("value", []), f"group named {name!r}")
        owners = await self.gateway.get_all(
            f"groups/{group['id']}/owners", {"$select": "id,mail,userPrincipalName"}
        )
        return Group(
            group_id=str(group["id"]),
            name=str(group.get("displayName")),
            owners=tuple(
                str(o.get("mail") or o.get("userPrincipalName") or "").lower()
                for o in owners
                if o.get("mail") or o.get("userPrincipalName")
            ),
            role_assignable=bool(group.get("isAssignableToRole")),
        )

    async def add_to_group(self, group: Group, account: Account) -> None:
        """Add the member; "already a member" counts as done (the request is idempotent)."""
        ref = {"@odata.id": f"{self.gateway.graph_url}/directoryObjects/{account.directory_id}"}
        try:
            await self.gateway.write("POST", f"groups/{group.group_id}/members/$ref", ref)
        except MaybeApplied:
            if account.directory_id not in await self._member_ids(group):
                raise
        except Unavailable as exc:
            if "already exist" not in exc.detail:
                raise

    async def _member_ids(self, group: Group) -> set[str]:
        members = await self.gateway.get_all(f"groups/{group.group_id}/members", {"$select": "id"})
        return {str(m.get("id")) for m in members}
