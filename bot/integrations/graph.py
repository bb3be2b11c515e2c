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

import time
from datetime import UTC, datetime
from typing import Any

from bot.clock import parse_iso
from bot.config import GraphSettings
from bot.integrations.directory import (
    Account,
    Group,
    InexactMatch,
    Licence,
    NotFound,
    PasswordPolicy,
    ProtectedAccount,
    Unavailable,
    exactly_one,
)
from bot.integrations.graph_gateway import (
    SCOPE,
    GraphConfig,
    GraphGateway,
    MaybeApplied,
    _quote,
)
from bot.integrations.graph_security import EntraSecurity
from bot.integrations.identity import checked, exact_account, has_address
from bot.integrations.skus import plan_name, sku_name

__all__ = ["SCOPE", "GraphConfig", "GraphDirectory", "GraphGateway", "MaybeApplied"]

_USER_FIELDS = (
    "id,displayName,mail,userPrincipalName,accountEnabled,onPremisesSyncEnabled,"
    "lastPasswordChangeDateTime,department"
)


class GraphDirectory(EntraSecurity):
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
