"""Slack's credentials, from the environment (never the config file), and how Slack's
errors are named in our logs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from bot.errors import ConfigError

DEFAULT_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class SlackConfig:
    """The bot token, signing secret, optional app token (Socket Mode) and API URL."""

    bot_token: str
    signing_secret: str
    app_token: str | None = None
    api_url: str = DEFAULT_API_URL
    user_cache_s: float = 3600.0
    app_id: str = ""
    """`slack.app_id` from the settings ("" = as `auth.test` says)."""

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], user_cache_minutes: int = 60, app_id: str = ""
    ) -> SlackConfig:
        """Read SLACK_*; raise `ConfigError` naming the bad one."""
        token = env.get("SLACK_BOT_TOKEN", "").strip()
        if not token:
            raise ConfigError(
                "SLACK_BOT_TOKEN", "is not set: copy the Bot User OAuth Token (xoxb-…) of your app"
            )
        if not token.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN", "must be a bot token starting with xoxb-")
        secret = env.get("SLACK_SIGNING_SECRET", "").strip()
        if not secret:
            raise ConfigError(
                "SLACK_SIGNING_SECRET", "is not set: copy the Signing Secret from Basic Information"
            )
        app_token = env.get("SLACK_APP_TOKEN", "").strip() or None
        if app_token is not None and not app_token.startswith("xapp-"):
            raise ConfigError(
                "SLACK_APP_TOKEN", "must be an app-level token starting with xapp- (or unset)"
            )
        api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_API_URL
        if not re.match(r"https?://[^/]+", api_url):
            raise ConfigError("SLACK_API_URL", f"{api_url!r} is not an http(s) URL")
        api_url = api_url if api_url.endswith("/") else api_url + "/"
        return cls(token, secret, app_token, api_url, user_cache_minutes * 60.0, app_id)


def slack_error(exc: SlackApiError) -> str:
    """The error code of a failed call (`ratelimited`, `invalid_auth`), never its text."""
    data = exc.response.data
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"HTTP {exc.response.status_code}"
