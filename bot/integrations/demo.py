"""The demo directory: fictional users from a JSON file, for the console and for tests.

Changes (an unlock) live in memory only: every start begins from the file, so
the demo always has a locked account to try. The file is checked at load; a
malformed entry stops the start with one line naming the user and the key.

Like AD and Entra, two users may share an email (a shared mailbox set as both users'
`mail`); each may also have a `upn`. A lookup by address is exact (case folded only) and
finds a shared address `Ambiguous`, as the real backends do (`bot.integrations.identity`).
Ids must be unique.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.clock import parse_iso
from bot.errors import ConfigError
from bot.integrations.directory import (
    Account,
    FailedSignIn,
    Group,
    Licence,
    ManagedDevice,
    NotFound,
    PasswordPolicy,
    ProtectedAccount,
    SignInMethod,
    SignInTrouble,
    exactly_one,
)
from bot.integrations.identity import answers_to, checked

SETTING = "directory.demo_file"
_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "email": str,
    "display_name": str,
    "enabled": bool,
    "locked": bool,
    "source": str,
    "privileged": bool,
    "licences": list,
    "groups": list,
}


def _when(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(SETTING, f"{where}: expected an ISO-8601 time, not {value!r}")
    try:
        return parse_iso(value)
    except ValueError:
        raise ConfigError(SETTING, f"{where}: {value!r} is not an ISO-8601 time") from None


def _user(raw: Any, index: int) -> tuple[Account, tuple[Licence, ...], tuple[str, ...]]:
    where = f"user {index + 1}"
    if not isinstance(raw, dict):
        raise ConfigError(SETTING, f"{where}: expected an object")
    for key, kind in _REQUIRED.items():
        if key not in raw:
            raise ConfigError(SETTING, f"{where}: missing key {key!r}")
        if not isinstance(raw[key], kind):
            raise ConfigError(SETTING, f"{where}: {key!r} has the wrong type")
    if raw["source"] not in ("onprem", "cloud"):
        raise ConfigError(SETTING, f"{where}: source must be 'onprem' or 'cloud'")
    if not isinstance(raw.get("upn", ""), str):
        raise ConfigError(SETTING, f"{where}: 'upn' has the wrong type")
    licences = []
    for item in raw["licences"]:
        if not isinstance(item, dict) or not {"sku", "name"} <= item.keys():
            raise ConfigError(SETTING, f"{where}: each licence needs 'sku' and 'name'")
        plans = tuple(str(p) for p in item.get("disabled_plans", []))
        licences.append(Licence(str(item["sku"]), str(item["name"]), plans))
    account = Account(
        directory_id=raw["id"],
        email=raw["email"].strip().lower(),
        display_name=raw["display_name"],
        enabled=raw["enabled"],
        locked=raw["locked"],
        locked_at=_when(raw.get("locked_at"), f"{where}.locked_at"),
        password_last_set=_when(raw.get("password_last_set"), f"{where}.password_last_set"),
        password_expires=_when(raw.get("password_expires"), f"{where}.password_expires"),
        must_change_password=bool(raw.get("must_change_password", False)),
        source=raw["source"],
        privileged=raw["privileged"],
        privileged_reason=raw.get("privileged_reason"),
        service_account=bool(raw.get("service_account", False)),
        department=str(raw.get("department", "")),
        manager_email=raw.get("manager"),
        addresses=tuple(a for a in (raw["email"], raw.get("upn", "")) if a),
    )
    return account, tuple(licences), tuple(str(g) for g in raw["groups"])


def _trouble(raw: Any, index: int, locked_at: datetime | None) -> SignInTrouble:
    """Optional `bad_password_count`, `last_bad_password` and `failed_sign_ins` (a list of
    {at, app, client, location, reason}) of a demo user."""
    where = f"user {index + 1}"
    failures = []
    for item in raw.get("failed_sign_ins", []):
        if not isinstance(item, dict) or not {"at", "app", "client"} <= item.keys():
            raise ConfigError(SETTING, f"{where}: each failed sign-in needs at, app and client")
        at = _when(item["at"], f"{where}.failed_sign_ins.at")
        if at is None:
            raise ConfigError(SETTING, f"{where}: a failed sign-in needs a time")
        failures.append(
            FailedSignIn(
                at=at,
                app=str(item["app"]),
                client=str(item["client"]),
                location=str(item.get("location", "")),
                reason=str(item.get("reason", "")),
            )
        )
    count = raw.get("bad_password_count")
    return SignInTrouble(
        bad_password_count=count if isinstance(count, int) else None,
        last_bad_password=_when(raw.get("last_bad_password"), f"{where}.last_bad_password"),
        locked_at=locked_at,
        failures=tuple(sorted(failures, key=lambda f: f.at, reverse=True)),
        where="demo",
    )


def _devices(raw: Any, index: int) -> tuple[ManagedDevice, ...]:
    """Optional `devices` of a demo user: {id, name, os, os_version, compliance,
    last_check_in, encrypted, failing}."""
    where = f"user {index + 1}"
    found = []
    for item in raw.get("devices", []):
        if not isinstance(item, dict) or not {"id", "name", "os", "compliance"} <= item.keys():
            raise ConfigError(SETTING, f"{where}: each device needs id, name, os and compliance")
        found.append(
            ManagedDevice(
                device_id=str(item["id"]),
                name=str(item["name"]),
                os=str(item["os"]),
                os_version=str(item.get("os_version", "")),
                compliance=str(item["compliance"]),
                last_check_in=_when(item.get("last_check_in"), f"{where}.devices.last_check_in"),
                encrypted=item.get("encrypted")
                if isinstance(item.get("encrypted"), bool)
                else None,
                failing=tuple(str(f) for f in item.get("failing", [])),
            )
        )
    return tuple(found)


def _methods(raw: Any, index: int) -> tuple[SignInMethod, ...]:
    """Optional `sign_in_methods` of a demo user: {id, kind, name, created}."""
    where = f"user {index + 1}"
    found = []
    for item in raw.get("sign_in_methods", []):
        if not isinstance(item, dict) or not {"id", "kind", "name"} <= item.keys():
            raise ConfigError(SETTING, f"{where}: each sign-in method needs id, kind and name")
        created = _when(item.get("created"), f"{where}.sign_in_methods.created")
        found.append(SignInMethod(str(item["id"]), str(item["kind"]), str(item["name"]), created))
    return tuple(found)


class DemoDirectory:
    """A `Directory` over the demo file."""

    name = "demo"

    def __init__(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text("utf-8"))
        except OSError as exc:
            raise ConfigError(SETTING, f"cannot read {path} ({exc.strerror})") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(SETTING, f"{path} is not valid JSON ({exc})") from None
        users = data.get("users") if isinstance(data, dict) else None
        if not isinstance(users, list) or not users:
            raise ConfigError(
                SETTING, f'{path} must hold {{"users": [...]}} with at least one user'
            )
        owners = data.get("group_owners", {}) if isinstance(data, dict) else {}
        if not isinstance(owners, dict):
            raise ConfigError(SETTING, f'{path}: "group_owners" must map group → [emails]')
        self._owners = {str(k): tuple(str(e).lower() for e in v) for k, v in owners.items()}
        self.revoked: list[str] = []
        """Directory ids whose sign-in sessions were revoked (the demo has no sessions)."""
        self._accounts: dict[str, Account] = {}
        self._licences: dict[str, tuple[Licence, ...]] = {}
        self._groups: dict[str, tuple[str, ...]] = {}
        self._trouble: dict[str, SignInTrouble] = {}
        self._devices: dict[str, tuple[ManagedDevice, ...]] = {}
        self._methods: dict[str, tuple[SignInMethod, ...]] = {}
        for index, raw in enumerate(users):
            account, licences, groups = _user(raw, index)
            if account.directory_id in self._accounts:
                raise ConfigError(SETTING, f"user {index + 1}: duplicate id {account.directory_id}")
            self._accounts[account.directory_id] = account
            self._licences[account.directory_id] = licences
            self._groups[account.directory_id] = groups
            self._trouble[account.directory_id] = _trouble(raw, index, account.locked_at)
            self._devices[account.directory_id] = _devices(raw, index)
            self._methods[account.directory_id] = _methods(raw, index)

    @property
    def accounts(self) -> tuple[Account, ...]:
        return tuple(self._accounts.values())

    async def find_by_email(self, email: str) -> Account:
        checked(email, "the email")
        found = [a for a in self._accounts.values() if answers_to(a, email)]
        if not found:
            raise NotFound(f"no demo user {email!r}")
        return exactly_one(found, "demo user with that email")

    async def licences(self, account: Account) -> tuple[Licence, ...]:
        return self._licences.get(account.directory_id, ())

    async def groups(self, account: Account) -> tuple[str, ...]:
        return self._groups.get(account.directory_id, ())

    async def find_by_id(self, directory_id: str) -> Account:
        account = self._accounts.get(directory_id)
        if account is None:
            raise NotFound(f"no demo user with id {directory_id!r}")
        return account

    def _changeable(self, account: Account, action: str) -> Account:
        current = self._accounts[account.directory_id]
        if current.privileged or current.service_account or not current.enabled:
            raise ProtectedAccount(f"demo refuses to {action} {account.directory_id}")
        return current

    async def unlock(self, account: Account) -> None:
        current = self._changeable(account, "unlock")
        self._accounts[account.directory_id] = dataclasses.replace(
            current, locked=False, locked_at=None, locked_until=None
        )

    async def reset_password(self, account: Account, password: str) -> None:
        """The demo keeps no password: it records only that one must be chosen at sign-in."""
        current = self._changeable(account, "reset")
        self._accounts[account.directory_id] = dataclasses.replace(
            current,
            must_change_password=True,
            password_last_set=datetime.now(UTC),
            locked=False,
            locked_at=None,
            locked_until=None,
        )

    async def password_policy(self) -> PasswordPolicy:
        return PasswordPolicy(min_length=12, complexity=True, lockout_threshold=5)

    async def issue_temporary_access_pass(self, account: Account, minutes: int) -> str:
        """The demo issues a pass that works nowhere (there is no tenant behind it)."""
        self._changeable(account, "issue a pass for")
        import secrets

        return "demo-" + secrets.token_urlsafe(9)

    async def find_group(self, name: str) -> Group:
        for groups in self._groups.values():
            for group in groups:
                if group.lower() == name.strip().lower():
                    return Group(group_id=group, name=group, owners=self._owners.get(group, ()))
        raise NotFound(f"no demo group {name!r}")

    async def add_to_group(self, group: Group, account: Account) -> None:
        current = self._groups.get(account.directory_id, ())
        if group.name not in current:
            self._groups[account.directory_id] = (*current, group.name)

    async def sign_in_trouble(self, account: Account) -> SignInTrouble:
        return self._trouble.get(account.directory_id, SignInTrouble(where="demo"))

    async def managed_devices(self, account: Account) -> tuple[ManagedDevice, ...]:
        return self._devices.get(account.directory_id, ())

    async def sign_in_methods(self, account: Account) -> tuple[SignInMethod, ...]:
        return self._methods.get(account.directory_id, ())

    async def issue_mfa_pass(self, account: Account, minutes: int) -> str:
        """A pass that works nowhere (no tenant behind the demo), recorded as a method."""
        self._changeable(account, "issue a pass for")
        import secrets

        self._methods[account.directory_id] = (
            *self._methods.get(account.directory_id, ()),
            SignInMethod("tap-" + secrets.token_hex(4), "temporary_access_pass", "one-time pass"),
        )
        return "demo-" + secrets.token_urlsafe(9)

    async def remove_sign_in_method(self, account: Account, method: SignInMethod) -> None:
        self._changeable(account, "remove a sign-in method of")
        kept = tuple(
            m
            for m in self._methods.get(account.directory_id, ())
            if m.method_id != method.method_id
        )
        if len(kept) == len(self._methods.get(account.directory_id, ())):
            raise NotFound(f"no method {method.method_id}")
        self._methods[account.directory_id] = kept

    async def revoke_sessions(self, account: Account) -> None:
        """The demo has no sessions: it records the revocation (`revoked`)."""
        self._changeable(account, "revoke the sessions of")
        self.revoked.append(account.directory_id)

    async def require_password_change(self, account: Account) -> None:
        current = self._changeable(account, "require a password change of")
        self._accounts[account.directory_id] = dataclasses.replace(
            current, must_change_password=True
        )

    async def lockouts_since(self, since: datetime) -> int:
        return sum(
            1
            for a in self._accounts.values()
            if a.locked and a.locked_at is not None and a.locked_at >= since
        )
