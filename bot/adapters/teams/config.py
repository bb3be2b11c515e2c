"""Teams settings for a run: `[teams]` from the settings, the secret from the environment."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.errors import ConfigError

SECRET_ENV = "TEAMS_APP_PASSWORD"  # noqa: S105 - the variable's name, not a secret
SCOPE = "https://api.botframework.com/.default"
GLOBAL_SERVICE_URL = "https://smba.trafficmanager.net/teams/"
"""Microsoft's connector URL for proactive messages in any region."""


class TeamsSettings(Protocol):
    """The `[teams]` settings as this adapter reads them (`bot.config.TeamsSettings`; the
    adapter does not import the settings module, tests/test_layers.py)."""

    @property
    def app_id(self) -> str: ...
    @property
    def tenant_id(self) -> str: ...
    @property
    def openid_metadata_url(self) -> str: ...
    @property
    def token_url(self) -> str: ...
    @property
    def allowed_service_urls(self) -> tuple[str, ...]: ...
    @property
    def ca_file(self) -> str: ...
    @property
    def user_cache_minutes(self) -> int: ...
    @property
    def triage_channel(self) -> str: ...
    @property
    def anonymous(self) -> bool: ...


@dataclass(frozen=True)
class TeamsConfig:
    app_id: str
    tenant_id: str
    secret: str
    openid_metadata_url: str
    token_url: str
    allowed_service_urls: tuple[str, ...]
    ca_file: str
    user_cache_s: float
    anonymous: bool
    triage_channel: str = ""

    @classmethod
    def from_settings(
        cls, teams: TeamsSettings, directory_backend: str, env: Mapping[str, str]
    ) -> TeamsConfig | None:
        """None when Teams is off (`teams.app_id` empty); else checked, or `ConfigError`.
        `directory_backend`: the development flag needs the demo directory."""
        if not teams.app_id:
            return None
        if not teams.tenant_id:
            raise ConfigError("teams.tenant_id", "is not set: the bot serves one tenant")
        secret = env.get(SECRET_ENV, "").strip()
        if not secret and not teams.anonymous:
            raise ConfigError(SECRET_ENV, "is not set: the Azure Bot's client secret")
        if teams.anonymous:
            host = env.get("HELPDESK_HTTP_HOST", "").strip() or "127.0.0.1"
            if directory_backend != "demo" or not _loopback(host):
                raise ConfigError(
                    "teams.anonymous",
                    "is for development only: it needs the demo directory and a loopback"
                    " HELPDESK_HTTP_HOST",
                )
        token_url = (
            teams.token_url
            or f"https://login.microsoftonline.com/{teams.tenant_id}/oauth2/v2.0/token"
        )
        return cls(
            teams.app_id,
            teams.tenant_id,
            secret,
            teams.openid_metadata_url,
            token_url,
            teams.allowed_service_urls,
            teams.ca_file,
            teams.user_cache_minutes * 60.0,
            teams.anonymous,
            teams.triage_channel,
        )

    def tls(self) -> ssl.SSLContext:
        """The TLS context for every outgoing call (the configured CA, else the system's)."""
        return ssl.create_default_context(cafile=self.ca_file or None)

    def service_allowed(self, url: str) -> bool:
        """Whether `url` is under one of `allowed_service_urls` (compared without case in
        the scheme and host)."""
        wanted = _normal(url)
        return any(wanted.startswith(_normal(allowed)) for allowed in self.allowed_service_urls)

    @property
    def default_service_url(self) -> str:
        """The connector URL for a proactive post before any activity named one (the first
        allowed: Microsoft's global `https://smba.trafficmanager.net/teams/` in production)."""
        first = self.allowed_service_urls[0] if self.allowed_service_urls else ""
        return GLOBAL_SERVICE_URL if first == "https://smba.trafficmanager.net/" else first


def _normal(url: str) -> str:
    scheme, _, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}/{path}" if slash else f"{url.lower()}/"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
