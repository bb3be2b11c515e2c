"""Who the Teams stand-in knows: the app, its tenant (and another), and the members."""

from __future__ import annotations

from dataclasses import dataclass

APP_ID = "00000000-0000-4000-8000-00000000b07a"
APP_SECRET = "teams-test-secret"
TENANT_ID = "11111111-1111-4111-8111-111111111111"
OTHER_TENANT = "22222222-2222-4222-8222-222222222222"
BOT_ID = f"28:{APP_ID}"


@dataclass
class Member:
    """A Teams user as the connector knows them."""

    id: str  # "29:…"
    aad: str  # aadObjectId
    upn: str
    name: str = ""
    locale: str = "en-US"
