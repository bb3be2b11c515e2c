"""The Graph connection: settings from the environment, msal for the token, one httpx client,
bounded retries for reads and `MaybeApplied` for writes that may have happened
(`bot.integrations.graph` explains the decisions)."""

from __future__ import annotations

import asyncio
import ssl
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot import metrics
from bot.config import GraphSettings, check_ca_file
from bot.errors import ConfigError
from bot.integrations.directory import (
    DirectoryError,
    NotFound,
    PolicyViolation,
    ProtectedAccount,
    Throttled,
    Unavailable,
)

SCOPE = "https://graph.microsoft.com/.default"
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
        with metrics.directory_call("graph"):
            token = await self.token()
            try:
                response = await self._http().request(
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
        if response.status_code >= 400:
            metrics.DIRECTORY_ERRORS.inc("graph", f"http_{response.status_code}")
        return response

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


def _quote(value: str) -> str:
    """An OData string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"
