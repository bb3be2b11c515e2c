"""The Teams app package for `helpdesk teams manifest`: manifest.json and its two icons.

Upload the zip in Teams (Apps → Manage your apps → Upload an app, or the admin centre's
org catalogue). The bot id is `teams.app_id`; `validDomains` is the messaging endpoint's
host; the command menus list the `/helpdesk` subcommands a person can type to the bot (at
most 10 per scope, Teams' limit), described from the catalogue. The icons are drawn here
(a 192x192 colour square and a 32x32 white outline on transparency, as Teams requires)
so the package needs no image files.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from typing import Any

from bot.i18n import Translator

SCHEMA = "https://developer.microsoft.com/en-us/json-schemas/teams/v1.17/MicrosoftTeams.schema.json"
PERSONAL = (
    "help",
    "tickets",
    "new",
    "kb",
    "unlock",
    "reset",
    "licences",
    "oncall",
    "queue",
    "handoff",
)
IN_CHANNELS = ("help", "kb", "queue", "show", "oncall")
ACCENT = (0x1F, 0x4E, 0x79)


def _png(size: int, pixel: Any) -> bytes:
    """A minimal RGBA PNG; `pixel(x, y)` gives each pixel's 4 bytes."""
    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(size)) for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def color_icon() -> bytes:
    return _png(192, lambda x, y: (*ACCENT, 255))


def outline_icon() -> bytes:
    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        edge = x in (2, 3, 28, 29) or y in (2, 3, 28, 29)
        inside = 2 <= x <= 29 and 2 <= y <= 29
        return (255, 255, 255, 255) if edge and inside else (0, 0, 0, 0)

    return _png(32, pixel)


def manifest(app_id: str, host: str, name: str = "IT Helpdesk") -> dict[str, Any]:
    t = Translator("en")

    def commands(names: tuple[str, ...]) -> list[dict[str, str]]:
        return [{"title": n, "description": t(f"commands.help.{n}")[:128]} for n in names]

    return {
        "$schema": SCHEMA,
        "manifestVersion": "1.17",
        "version": "1.0.0",
        "id": app_id,
        "developer": {
            "name": "IT Service Desk",
            "websiteUrl": f"https://{host}/",
            "privacyUrl": f"https://{host}/privacy",
            "termsOfUseUrl": f"https://{host}/terms",
        },
        "name": {"short": name[:30], "full": name},
        "description": {"short": t("teams.app_short")[:80], "full": t("teams.app_full")},
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [
            {
                "botId": app_id,
                "scopes": ["personal", "team", "groupChat"],
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [
                    {"scopes": ["personal"], "commands": commands(PERSONAL)},
                    {"scopes": ["team", "groupChat"], "commands": commands(IN_CHANNELS)},
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [host],
    }


def package(app_id: str, host: str, name: str = "IT Helpdesk") -> bytes:
    """The zip to upload: manifest.json, color.png, outline.png at its root."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest(app_id, host, name), indent=2))
        archive.writestr("color.png", color_icon())
        archive.writestr("outline.png", outline_icon())
    return buffer.getvalue()
