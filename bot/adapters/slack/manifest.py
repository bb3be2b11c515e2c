"""The Slack app manifest for `helpdesk slack manifest`: exactly what the adapter uses.

`METHOD_SCOPES` names the bot scope each Web API method we call needs, and
`EVENT_SCOPES` the scope each subscribed event needs; the manifest's scopes are their
union (a test checks every method the adapter calls is listed, so a new call cannot
ship without its scope).
"""

from __future__ import annotations

from typing import Any

import yaml

from bot.adapters.slack.inbound import COMMAND, SHORTCUT

METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "chat.getPermalink": (),
    "views.open": (),
    "views.publish": (),
    "conversations.open": ("im:write",),
    "conversations.history": ("channels:history", "groups:history", "im:history"),
    "conversations.replies": ("channels:history", "groups:history", "im:history"),
    "users.info": ("users:read", "users:read.email"),
    "users.lookupByEmail": ("users:read", "users:read.email"),
    "apps.connections.open": (),  # app-level token with connections:write
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
}
EVENT_SCOPES: dict[str, tuple[str, ...]] = {
    "app_home_opened": (),
    "app_mention": ("app_mentions:read",),
    "message.im": ("im:history",),
    "message.channels": ("channels:history",),
    "message.groups": ("groups:history",),
}
COMMAND_SCOPES = ("commands",)


def manifest(
    name: str = "IT Helpdesk", url: str | None = None, usage_hint: str = ""
) -> dict[str, Any]:
    """The manifest: Socket Mode by default; with `url` (https://host), HTTP request URLs.
    `usage_hint` is the slash command's hint, which the CLI takes from the one command
    registry (`bot.handlers.commands`; an adapter does not import handlers)."""
    scopes = sorted(
        {s for group in (*METHOD_SCOPES.values(), *EVENT_SCOPES.values()) for s in group}
        | set(COMMAND_SCOPES)
    )
    endpoint = f"{url.rstrip('/')}/slack/events" if url else None
    command: dict[str, Any] = {
        "command": COMMAND,
        "description": "IT helpdesk: tickets, help articles, account self-service",
        "usage_hint": usage_hint,
        "should_escape": True,
    }
    if endpoint:
        command["url"] = endpoint
    events: dict[str, Any] = {"bot_events": sorted(EVENT_SCOPES)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if endpoint:
        events["request_url"] = endpoint
        interactivity["request_url"] = endpoint
    return {
        "display_information": {
            "name": name,
            "description": "Answers IT questions, unlocks accounts safely and opens tickets.",
            "background_color": "#1d3557",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": name, "always_online": True},
            "shortcuts": [
                {
                    "name": "Send to helpdesk",
                    "type": "message",
                    "callback_id": SHORTCUT,
                    "description": "Open an IT ticket from this message",
                }
            ],
            "slash_commands": [command],
        },
        "oauth_config": {"scopes": {"bot": scopes}},
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": endpoint is None,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(name: str = "IT Helpdesk", url: str | None = None, usage_hint: str = "") -> str:
    return yaml.safe_dump(manifest(name, url, usage_hint), sort_keys=False, allow_unicode=True)
