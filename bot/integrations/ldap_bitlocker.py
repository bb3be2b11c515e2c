"""BitLocker recovery keys in Active Directory: `msFVE-RecoveryInformation` objects under
each computer object, read through the bot's LDAP connection (a mixin of `LdapDirectory`).

- A key is found by its id (`msFVE-RecoveryGuid`, the "Recovery key ID" on the screen):
  among the keys under the computers the person owns (a computer whose
  `ldap.device_owner_attributes`, by default `managedBy`, holds the person's DN), and
  anywhere in the domain by the object's name, which Windows writes as
  `<time>{<key id>}`, so that someone else's key is told apart from no key at all.
- A computer is a server when its `operatingSystem` names one or it lies under
  `ldap.server_ous`.
- The secret (`msFVE-RecoveryPassword`, a confidential attribute) is read in a separate
  search, only for the one key about to be shown, after ownership is checked again.
- The bind account needs, on the OUs holding workstations only, read on
  `msFVE-RecoveryInformation` objects with the control access right a confidential
  attribute asks for (README, "Least privilege per feature"); nothing on server OUs.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

with warnings.catch_warnings():  # ldap3 2.9.1 imports names newer pyasn1 deprecates
    warnings.filterwarnings("ignore", r"(tagMap|typeMap) is deprecated", DeprecationWarning)
    from ldap3 import BASE, LEVEL, SUBTREE, Connection
    from ldap3.utils.conv import escape_filter_chars

from bot.config import LdapSettings
from bot.integrations.bitlocker import MIN_KEY_ID, RecoveryKey, key_id_text, starts_with
from bot.integrations.directory import Account, NotFound, ProtectedAccount, exactly_one

T = TypeVar("T")

_KEY_CLASS = "msFVE-RecoveryInformation"
_COMPUTER_ATTRS = ["cn", "operatingSystem", "objectGUID"]


def _norm(dn: str) -> str:
    return ",".join(part.strip().lower() for part in dn.split(","))


def _values(attrs: Mapping[str, list[bytes]], name: str) -> list[str]:
    for key, values in attrs.items():
        if key.lower() == name.lower():
            return [v.decode("utf-8", "replace") for v in values]
    return []


def _parent(dn: str) -> str:
    return dn.split(",", 1)[1] if "," in dn else ""


class AdRecoveryKeys:
    """Mixed into `LdapDirectory`, which provides `_call`, `_entries`, `_under_base`,
    `_guid_filter`, the settings and the base DN."""

    _settings: LdapSettings

    async def _call(self, work: Callable[[Connection], T], *, retry: bool = True) -> T:
        raise NotImplementedError

    @staticmethod
    def _entries(conn: Connection) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _under_base(self, dn: str) -> str:
        raise NotImplementedError

    def _base_dn(self) -> str:
        raise NotImplementedError

    @staticmethod
    def _guid_filter(directory_id: str) -> str:
        raise NotImplementedError

    def _user_dn(self, conn: Connection, account: Account) -> str:
        by_id = self._guid_filter(account.directory_id)
        conn.search(
            self._base_dn(),
            f"(&(objectCategory=person)(objectClass=user){by_id})",
            SUBTREE,
            attributes=["cn"],
            size_limit=2,
        )
        return str(exactly_one(self._entries(conn), "account for that id")["dn"])

    def _computer(
        self, conn: Connection, dn: str, owner_dn: str
    ) -> tuple[str, str, bool, bool] | None:
        """(name, objectGUID, owned by `owner_dn`, a server) of the computer at `dn`."""
        owner_attrs = list(self._settings.device_owner_attributes)
        conn.search(dn, "(objectClass=computer)", BASE, attributes=_COMPUTER_ATTRS + owner_attrs)
        found = self._entries(conn)
        if not found:
            return None
        attrs = found[0]["raw_attributes"]
        owners = {_norm(v) for a in owner_attrs for v in _values(attrs, a)}
        system = " ".join(_values(attrs, "operatingSystem"))
        norm_dn = _norm(dn)
        server = "server" in system.lower() or any(
            norm_dn.endswith("," + self._under_base(ou)) for ou in self._settings.server_ous
        )
        guid = (attrs.get("objectGUID") or [b""])[0]
        device_id = str(uuid.UUID(bytes_le=guid)) if len(guid) == 16 else dn
        name = (_values(attrs, "cn") or [dn])[0]
        return name, device_id, _norm(owner_dn) in owners, server

    def _keys_at(
        self, conn: Connection, dn: str, scope: Any, search: str, typed: str
    ) -> dict[str, str]:
        """DN -> key id of the recovery objects under `dn` whose id starts with `typed`."""
        conn.search(
            dn, f"(&(objectClass={_KEY_CLASS}){search})", scope, attributes=["msFVE-RecoveryGuid"]
        )
        found = {}
        for entry in self._entries(conn):
            raw = (entry["raw_attributes"].get("msFVE-RecoveryGuid") or [b""])[0]
            if len(raw) == 16 and starts_with(key_id_text(raw), typed):
                found[str(entry["dn"])] = key_id_text(raw)
        return found

    def _find(self, conn: Connection, account: Account, typed: str) -> tuple[RecoveryKey, ...]:
        user_dn = self._user_dn(conn, account)
        escaped = escape_filter_chars(user_dn)
        owned = "".join(f"({a}={escaped})" for a in self._settings.device_owner_attributes)
        conn.search(
            self._base_dn(),
            f"(&(objectClass=computer)(|{owned}))",
            SUBTREE,
            attributes=["cn"],
        )
        keys: dict[str, str] = {}
        for owned_dn in [str(e["dn"]) for e in self._entries(conn)]:
            keys.update(self._keys_at(conn, owned_dn, LEVEL, "", typed))
        named = escape_filter_chars("{" + typed[:MIN_KEY_ID])
        keys.update(self._keys_at(conn, self._base_dn(), SUBTREE, f"(cn=*{named}*)", typed))
        found = []
        for dn, key_id in sorted(keys.items()):
            computer = self._computer(conn, _parent(dn), user_dn)
            if computer is None:
                continue
            name, device_id, is_owner, server = computer
            found.append(RecoveryKey(key_id, device_id, name, is_owner, server, "ad", dn))
        return tuple(found)

    async def recovery_keys(self, account: Account, key_id: str) -> tuple[RecoveryKey, ...]:
        return await self._call(lambda conn: self._find(conn, account, key_id))

    async def recovery_password(self, account: Account, key: RecoveryKey) -> str:
        def work(conn: Connection) -> str:
            user_dn = self._user_dn(conn, account)
            computer = self._computer(conn, _parent(key.ref), user_dn)
            if computer is None:
                raise NotFound("the computer is gone")
            _, _, is_owner, server = computer
            if not is_owner or server:
                raise ProtectedAccount("not the account's device, or a server")
            conn.search(
                key.ref,
                f"(objectClass={_KEY_CLASS})",
                BASE,
                attributes=["msFVE-RecoveryGuid", "msFVE-RecoveryPassword"],
            )
            entry = exactly_one(self._entries(conn), "recovery key")
            attrs = entry["raw_attributes"]
            raw = (attrs.get("msFVE-RecoveryGuid") or [b""])[0]
            secret = _values(attrs, "msFVE-RecoveryPassword")
            if len(raw) != 16 or key_id_text(raw) != key.key_id:
                raise NotFound("the recovery key changed")
            if not secret:
                raise ProtectedAccount("the recovery password is not readable by the bot")
            return secret[0]

        return await self._call(work)
