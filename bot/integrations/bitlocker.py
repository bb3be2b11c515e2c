"""BitLocker recovery keys as the directory port sees them: which key a recovery screen
asks for, on which device, whose device it is; never the key itself until asked for it.

A recovery screen shows a "Recovery key ID" (the key protector's GUID, e.g.
`1A2B3C4D-...`); the first 8 hex characters are enough for a person to type. AD keeps each
key as an `msFVE-RecoveryInformation` object under the computer (`msFVE-RecoveryGuid`,
`msFVE-RecoveryPassword`; `bot.integrations.ldap_bitlocker`); Entra keeps them at
`/informationProtection/bitlocker/recoveryKeys` (`bot.integrations.graph_bitlocker`).

A backend's `recovery_keys(account, key_id)` returns every key whose id starts with what
was typed, on any device it can see, each saying whether the device is the account's
(by the directory's record) and whether it is a server, so the self-service layer can tell
"not yours" and "a server" from "no such key"; `recovery_password(account, key)` reads the
secret of one key afresh, refusing (`ProtectedAccount`) a device that is not the account's.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Literal

KeyStore = Literal["ad", "entra", "demo"]

_HEX = re.compile(r"[0-9A-F]")
_TYPED = re.compile(
    r"(?<![0-9A-Za-z])[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{1,4}){0,3}(?:-[0-9A-Fa-f]{1,12})?"
)

MIN_KEY_ID = 8
"""Characters of the key id a person must type: the first 8 are what the screen stresses."""


@dataclass(frozen=True)
class RecoveryKey:
    """One BitLocker recovery key, without its secret.

    `key_id` is the GUID the recovery screen shows, upper case with dashes; `device_id` the
    device's immutable id (AD objectGUID, Entra deviceId); `owned` whether the account that
    asked is the device's owner by the directory's record (AD `managedBy` or the configured
    owner attribute; Entra registered owner or Intune primary user); `server` whether the
    device is a server (its operating system, or a configured server OU)."""

    key_id: str
    device_id: str
    device_name: str
    owned: bool
    server: bool
    store: KeyStore
    ref: str = ""
    """Where the backend reads the secret again (the AD object's DN, the Entra key id)."""

    @property
    def short_id(self) -> str:
        return self.key_id[:MIN_KEY_ID]


def typed_key_id(text: str) -> str | None:
    """The key id (or its start, at least 8 hex characters) in what a person typed,
    normalised to upper-case hex without dashes; None when there is none."""
    match = _TYPED.search(text)
    if match is None:
        return None
    return "".join(_HEX.findall(match.group(0).upper()))


def key_id_text(raw: bytes) -> str:
    """A GUID as AD stores it (`msFVE-RecoveryGuid`, little-endian fields) in the form the
    recovery screen shows."""
    return str(uuid.UUID(bytes_le=raw)).upper()


def starts_with(key_id: str, typed: str) -> bool:
    """Whether `key_id` (with dashes) begins with `typed` (hex only, as `typed_key_id`)."""
    return key_id.replace("-", "").upper().startswith(typed.upper())
