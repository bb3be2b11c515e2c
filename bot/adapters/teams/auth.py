"""Verifying the bearer token on every inbound activity, ourselves (PyJWT).

Measured with Microsoft 365 Agents SDK 1.9.0 (issue 19): its check fetches keys from a
host it hard-codes, and let through a token for another tenant, a `serviceurl` claim that
did not match, one expired 4 minutes ago, and a wrong issuer. So this module does it all:

- the key: the authority's OpenID metadata (`teams.openid_metadata_url`) names the issuer
  and the JWKS; keys are cached for a day, and fetched again for an unknown `kid` (at most
  once per `REFRESH_EVERY_S`, so forged kids cannot make us hammer the authority);
- a key whose `endorsements` list leaves out `msteams` is not used (Bot Framework's rule);
- the algorithm: RS256 only (`alg: none`, HS256 with the public key as secret: refused);
- issuer = the metadata's, audience = our app id, `exp` and `nbf` with `SKEW_S` leeway;
- the token's `serviceurl` claim must equal the activity's `serviceUrl`, and that must be
  one of `teams.allowed_service_urls`: the bot never sends a reply (with its own token)
  to a URL a request named.

Bot Framework tokens carry no tenant claim: the tenant is pinned from the activity
(`bot.adapters.teams.inbound`), which this token vouches for. Every refusal is a
`Refused` with a short reason for the log, never the token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
import jwt

from bot.adapters.teams.config import TeamsConfig

log = logging.getLogger(__name__)

SKEW_S = 60
CHANNEL = "msteams"
REFRESH_EVERY_S = 30.0
METADATA_TTL_S = 24 * 3600.0
KEYS_TTL_S = 24 * 3600.0
"""Keys are fetched again at least daily, so a key the authority withdrew stops working."""


class Refused(Exception):
    """The request is not from Teams for us: answered 401, nothing runs."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokenCheck:
    def __init__(self, config: TeamsConfig, session: aiohttp.ClientSession) -> None:
        self._config = config
        self._session = session
        self._tls = config.tls()
        self._issuer = ""
        self._jwks_uri = ""
        self._keys: dict[str, Any] = {}
        self._unknown_at = -REFRESH_EVERY_S
        self._tried_at = -1.0
        self._loaded_at = -KEYS_TTL_S
        self._metadata_at = -METADATA_TTL_S
        self._lock = asyncio.Lock()

    async def _get(self, url: str) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=10)
        async with self._session.get(url, ssl=self._tls, timeout=timeout) as response:
            response.raise_for_status()
            return dict(await response.json(content_type=None))

    async def _load(self, now: float) -> None:
        """Metadata (daily) and the JWKS; a failure keeps what was cached."""
        try:
            if now - self._metadata_at > METADATA_TTL_S or not self._jwks_uri:
                metadata = await self._get(self._config.openid_metadata_url)
                self._issuer = str(metadata["issuer"])
                self._jwks_uri = str(metadata["jwks_uri"])
                self._metadata_at = now
            keys = {}
            for jwk in (await self._get(self._jwks_uri))["keys"]:
                endorsed = jwk.get("endorsements")
                if isinstance(endorsed, list) and CHANNEL not in endorsed:
                    continue  # a key the authority endorses for other channels only
                if jwk.get("kty") == "RSA" and jwk.get("kid"):
                    keys[str(jwk["kid"])] = jwt.PyJWK(jwk, algorithm="RS256").key
            self._keys = keys
            self._loaded_at = now
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as exc:
            log.warning("Teams signing keys not fetched: %s", type(exc).__name__)

    async def _key(self, kid: str) -> Any:
        """The key `kid` names: the cache, fetched again when a day old, or (at most every
        `REFRESH_EVERY_S`) for a kid it does not hold - a key just rotated in. Requests
        arriving while a fetch runs wait for it (one fetch, not one each)."""
        if kid not in self._keys or time.monotonic() - self._loaded_at > KEYS_TTL_S:
            async with self._lock:
                now = time.monotonic()
                stale = now - self._loaded_at > KEYS_TTL_S
                if not self._keys:
                    if now - self._tried_at >= 1.0:  # a down authority: once a second
                        self._tried_at = now
                        await self._load(now)
                elif kid not in self._keys:
                    if now - self._unknown_at >= REFRESH_EVERY_S:
                        self._unknown_at = now
                        await self._load(now)
                elif stale:
                    await self._load(now)
        if kid not in self._keys:
            raise Refused("unknown signing key")
        return self._keys[kid]

    async def verify(self, authorization: str, service_url: str) -> None:
        """Return if the token is good for an activity naming `service_url`; else `Refused`."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refused("no bearer token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Refused("malformed token") from None
        if header.get("alg") != "RS256":
            raise Refused(f"algorithm {str(header.get('alg'))[:10]!r} refused")
        key = await self._key(str(header.get("kid") or ""))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self._config.app_id,
                issuer=self._issuer,
                leeway=SKEW_S,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Refused("expired") from None
        except jwt.InvalidAudienceError:
            raise Refused("wrong audience") from None
        except jwt.InvalidIssuerError:
            raise Refused("wrong issuer") from None
        except jwt.InvalidTokenError as exc:
            raise Refused(type(exc).__name__) from None
        claimed = str(claims.get("serviceurl") or "")
        if claimed.rstrip("/") != service_url.rstrip("/"):
            raise Refused("serviceurl claim does not match the activity")
        self.check_service_url(service_url)

    def check_service_url(self, service_url: str) -> None:
        if not self._config.service_allowed(service_url):
            raise Refused("service URL not allowed")
