"""BitLocker recovery keys in Entra ID through Microsoft Graph, app-only (a mixin of
`GraphDirectory`).

Permissions (application, README "Least privilege per feature"): listing keys and reading
a key's secret (`GET informationProtection/bitlocker/recoveryKeys`, `.../{id}?$select=key`)
need `BitlockerKey.Read.All` (`BitlockerKey.ReadBasic.All` lists keys without the secret
only); the device's registered owners need `Device.Read.All`; the Intune primary user
`DeviceManagementManagedDevices.Read.All` (already granted for "my device"). Microsoft's
pages have disagreed on whether the key endpoints allow application permissions (the
list page and the beta and translated get pages list them; one English v1.0 get page
said "Not supported"); the tenant's consent screen is the authority. Where a tenant
cannot grant them app-only, the call answers 403, which the bot treats as a refusal it
cannot get past: a ticket for the service desk (`bot.selfservice.bitlocker`). Every read
of a key's secret is recorded by Entra in its audit log (category KeyManagement).

Which devices are the person's: the devices whose Intune primary user they are (their
keys are listed by `$filter=deviceId eq '...'`), and, for a key found elsewhere, the
device's registered owners. A key id typed in part is matched against the tenant's key
list only when none of the person's own devices has it (to tell "not yours" from "no such
key"); that list carries no secret.
"""

from __future__ import annotations

from typing import Any

from bot.integrations.bitlocker import RecoveryKey, starts_with
from bot.integrations.directory import Account, NotFound, PolicyViolation, ProtectedAccount
from bot.integrations.graph_gateway import GraphGateway, _quote

_KEYS = "informationProtection/bitlocker/recoveryKeys"


def _server(system: str) -> bool:
    return "server" in system.lower()


_NOT_GRANTED = (
    "Graph refused the BitLocker key endpoints: BitlockerKey.Read.All (application) is not"
    " granted, or not available app-only in this tenant"
)


class EntraRecoveryKeys:
    """Mixed into `GraphDirectory`, which provides `gateway`."""

    gateway: GraphGateway

    async def _key_list(self, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Keys' metadata; a 403 here is a permission the tenant did not give the app, not a
        protected account (the person gets a ticket, `bot.selfservice.bitlocker`)."""
        try:
            return await self.gateway.get_all(_KEYS, params)
        except ProtectedAccount as exc:
            raise PolicyViolation(f"{_NOT_GRANTED} ({exc.detail})") from None

    async def _own_devices(self, account: Account) -> dict[str, tuple[str, str]]:
        """deviceId -> (name, operating system) of the devices whose Intune primary user
        the account is."""
        found = await self.gateway.get_all(
            f"users/{account.directory_id}/managedDevices",
            {"$select": "id,deviceName,operatingSystem,azureADDeviceId"},
        )
        return {
            str(d["azureADDeviceId"]): (
                str(d.get("deviceName") or "?"),
                str(d.get("operatingSystem") or ""),
            )
            for d in found
            if d.get("azureADDeviceId")
        }

    async def _device(self, device_id: str) -> dict[str, Any] | None:
        found = await self.gateway.get(
            "devices",
            {
                "$filter": f"deviceId eq {_quote(device_id)}",
                "$select": "id,deviceId,displayName,operatingSystem",
            },
        )
        items = found.get("value") or []
        return items[0] if len(items) == 1 and isinstance(items[0], dict) else None

    async def _other_key(self, account: Account, item: dict[str, Any]) -> RecoveryKey:
        """A key on a device that is not one of the account's Intune devices: a registered
        owner may still own it."""
        device_id = str(item.get("deviceId") or "")
        device = await self._device(device_id) if device_id else None
        if device is None:
            return RecoveryKey(
                str(item["id"]).upper(), device_id, "?", False, False, "entra", str(item["id"])
            )
        owners = await self.gateway.get_all(
            f"devices/{device['id']}/registeredOwners", {"$select": "id"}
        )
        owned = any(o.get("id") == account.directory_id for o in owners)
        return RecoveryKey(
            str(item["id"]).upper(),
            device_id,
            str(device.get("displayName") or "?"),
            owned,
            _server(str(device.get("operatingSystem") or "")),
            "entra",
            str(item["id"]),
        )

    async def recovery_keys(self, account: Account, key_id: str) -> tuple[RecoveryKey, ...]:
        own = await self._own_devices(account)
        found = []
        for device_id, (name, system) in sorted(own.items()):
            keys = await self._key_list({"$filter": f"deviceId eq {_quote(device_id)}"})
            found += [
                RecoveryKey(
                    str(k["id"]).upper(),
                    device_id,
                    name,
                    True,
                    _server(system),
                    "entra",
                    str(k["id"]),
                )
                for k in keys
                if starts_with(str(k.get("id", "")), key_id)
            ]
        if found:
            return tuple(found)
        others = [k for k in await self._key_list() if starts_with(str(k.get("id", "")), key_id)]
        return tuple([await self._other_key(account, k) for k in others])

    async def recovery_password(self, account: Account, key: RecoveryKey) -> str:
        """The key's secret (`$select=key`, audited by Entra), after the device is checked
        again to be the account's and not a server."""
        again = await self.recovery_keys(account, key.key_id.replace("-", ""))
        same = [k for k in again if k.key_id == key.key_id]
        if not same:
            raise NotFound("the recovery key is gone")
        if not same[0].owned or same[0].server:
            raise ProtectedAccount("not the account's device, or a server")
        try:
            found = await self.gateway.get(f"{_KEYS}/{key.ref}", {"$select": "key"})
        except ProtectedAccount as exc:
            raise PolicyViolation(f"{_NOT_GRANTED} ({exc.detail})") from None
        secret = found.get("key")
        if not isinstance(secret, str) or not secret:
            raise ProtectedAccount("Graph returned no key (BitlockerKey.Read.All not granted?)")
        return secret
