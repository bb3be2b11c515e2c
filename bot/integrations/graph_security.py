"""What Entra tells and does for self-service beyond accounts, licences and groups: failed
sign-ins (why am I locked), Intune devices (my device), sign-in methods and one-time passes
(new phone), revoking sessions and forcing a password change (phishing).

A mixin of `GraphDirectory` (`bot.integrations.graph`), kept apart so neither module grows
past one screenful of concepts; the permissions each call needs are in the README
("Least privilege per feature")."""

from __future__ import annotations

from bot.clock import parse_iso
from bot.config import GraphSettings
from bot.integrations.directory import (
    Account,
    FailedSignIn,
    ManagedDevice,
    PolicyViolation,
    ProtectedAccount,
    SignInMethod,
    SignInTrouble,
    Unavailable,
)
from bot.integrations.graph_gateway import GraphGateway, MaybeApplied, _quote

_METHOD_KINDS = {
    "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod": "authenticator",
    "#microsoft.graph.phoneAuthenticationMethod": "phone",
    "#microsoft.graph.fido2AuthenticationMethod": "fido2",
    "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod": "windows_hello",
    "#microsoft.graph.softwareOathAuthenticationMethod": "software_oath",
    "#microsoft.graph.emailAuthenticationMethod": "email",
    "#microsoft.graph.passwordAuthenticationMethod": "password",
    "#microsoft.graph.temporaryAccessPassAuthenticationMethod": "temporary_access_pass",
}


class EntraSecurity:
    """Mixed into `GraphDirectory`, which provides `gateway`, `_settings`, `find_by_id`
    and `_check_cloud`."""

    gateway: GraphGateway
    _settings: GraphSettings

    async def find_by_id(self, directory_id: str) -> Account:
        raise NotImplementedError

    def _check_cloud(self, account: Account) -> None:
        raise NotImplementedError

    async def sign_in_trouble(self, account: Account) -> SignInTrouble:
        """The account's recent failed sign-ins from `auditLogs/signIns` (AuditLog.Read.All
        and an Entra ID P1 licence in the tenant), newest first; one page of
        `graph.sign_in_log_size`. Entra's smart lockout itself is not visible."""
        found = await self.gateway.get(
            "auditLogs/signIns",
            {
                "$filter": f"userId eq {_quote(account.directory_id)}",
                "$top": str(self._settings.sign_in_log_size),
            },
        )
        failures = []
        for entry in found.get("value", []):
            status = entry.get("status") or {}
            if not status.get("errorCode"):
                continue
            where = entry.get("location") or {}
            place = ", ".join(
                str(p) for p in (where.get("city"), where.get("countryOrRegion")) if p
            )
            failures.append(
                FailedSignIn(
                    at=parse_iso(str(entry.get("createdDateTime"))),
                    app=str(entry.get("appDisplayName") or "an app"),
                    client=str(entry.get("clientAppUsed") or ""),
                    location=place,
                    reason=f"{status.get('failureReason') or ''} ({status.get('errorCode')})",
                )
            )
        failures.sort(key=lambda f: f.at, reverse=True)
        return SignInTrouble(failures=tuple(failures), where="entra")

    async def managed_devices(self, account: Account) -> tuple[ManagedDevice, ...]:
        """`users/{id}/managedDevices` (DeviceManagementManagedDevices.Read.All), and for a
        device that is not compliant the settings it fails, from its compliance policy states
        (DeviceManagementConfiguration.Read.All)."""
        found = await self.gateway.get_all(
            f"users/{account.directory_id}/managedDevices",
            {
                "$select": "id,deviceName,operatingSystem,osVersion,complianceState,"
                "lastSyncDateTime,isEncrypted,managedDeviceOwnerType"
            },
        )
        devices = []
        for item in found:
            failing: list[str] = []
            state = str(item.get("complianceState") or "unknown")
            if state in ("noncompliant", "inGracePeriod"):
                policies = await self.gateway.get_all(
                    f"deviceManagement/managedDevices/{item['id']}/deviceCompliancePolicyStates"
                )
                for policy in policies:
                    for setting in policy.get("settingStates") or []:
                        name = str(setting.get("setting") or setting.get("settingName") or "")
                        if setting.get("state") in ("nonCompliant", "error") and name:
                            failing.append(name.rsplit(".", 1)[-1])
            synced = item.get("lastSyncDateTime")
            devices.append(
                ManagedDevice(
                    device_id=str(item["id"]),
                    name=str(item.get("deviceName") or "?"),
                    os=str(item.get("operatingSystem") or ""),
                    os_version=str(item.get("osVersion") or ""),
                    compliance=state,
                    last_check_in=parse_iso(str(synced)) if synced else None,
                    encrypted=item.get("isEncrypted")
                    if isinstance(item.get("isEncrypted"), bool)
                    else None,
                    failing=tuple(dict.fromkeys(failing)),
                    company_owned=item.get("managedDeviceOwnerType") != "personal",
                )
            )
        return tuple(devices)

    async def sign_in_methods(self, account: Account) -> tuple[SignInMethod, ...]:
        """`authentication/methods` (UserAuthenticationMethod.Read.All): kinds and names only;
        a phone number keeps its last 3 digits."""
        found = await self.gateway.get_all(f"users/{account.directory_id}/authentication/methods")
        methods = []
        for item in found:
            kind = _METHOD_KINDS.get(str(item.get("@odata.type", "")), "other")
            if kind == "phone":
                number = str(item.get("phoneNumber") or "")
                name = (
                    f"{item.get('phoneType') or 'phone'} ••••{number[-3:]}" if number else "phone"
                )
            else:
                name = str(item.get("displayName") or item.get("model") or kind.replace("_", " "))
            created = item.get("createdDateTime")
            methods.append(
                SignInMethod(
                    method_id=str(item.get("id")),
                    kind=kind,
                    name=name,
                    created=parse_iso(str(created)) if created else None,
                )
            )
        return tuple(methods)

    async def issue_mfa_pass(self, account: Account, minutes: int) -> str:
        """POST temporaryAccessPassMethods for a cloud or synced account (a TAP is a sign-in
        method: Entra issues it to synced users too). Not retried: a 503 may have created it."""
        fresh = await self.find_by_id(account.directory_id)
        if fresh.privileged or not fresh.enabled or fresh.service_account:
            raise ProtectedAccount(f"refusing a pass for {account.directory_id}")
        created = await self.gateway.write(
            "POST",
            f"users/{account.directory_id}/authentication/temporaryAccessPassMethods",
            {"lifetimeInMinutes": minutes, "isUsableOnce": True},
        )
        secret = created.get("temporaryAccessPass")
        if not secret:
            raise Unavailable("Graph returned no Temporary Access Pass")
        return str(secret)

    async def remove_sign_in_method(self, account: Account, method: SignInMethod) -> None:
        """DELETE an Authenticator registration; gone already (404 after a 503) counts as done."""
        if method.kind != "authenticator":
            raise PolicyViolation(
                f"only Authenticator registrations are removed, not {method.kind}"
            )
        path = (
            f"users/{account.directory_id}/authentication/microsoftAuthenticatorMethods/"
            f"{method.method_id}"
        )
        try:
            await self.gateway.write("DELETE", path, None)
        except MaybeApplied:
            remaining = await self.sign_in_methods(account)
            if any(m.method_id == method.method_id for m in remaining):
                raise

    async def revoke_sessions(self, account: Account) -> None:
        """POST revokeSignInSessions (User.RevokeSessions.All): every refresh token and browser
        session ends. Idempotent, so a 503 after it applied is retried once."""
        fresh = await self.find_by_id(account.directory_id)
        if fresh.privileged or not fresh.enabled or fresh.service_account:
            raise ProtectedAccount(f"refusing to revoke the sessions of {account.directory_id}")
        path = f"users/{account.directory_id}/revokeSignInSessions"
        try:
            await self.gateway.write("POST", path, {})
        except MaybeApplied:
            await self.gateway.write("POST", path, {})

    async def require_password_change(self, account: Account) -> None:
        """PATCH passwordProfile.forceChangePasswordNextSignIn (cloud-only accounts; a synced
        one is changed in AD). Idempotent, so a 503 after it applied is retried once."""
        fresh = await self.find_by_id(account.directory_id)
        self._check_cloud(fresh)
        body = {"passwordProfile": {"forceChangePasswordNextSignIn": True}}
        try:
            await self.gateway.write("PATCH", f"users/{account.directory_id}", body)
        except MaybeApplied:
            await self.gateway.write("PATCH", f"users/{account.directory_id}", body)
