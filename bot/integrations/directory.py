"""The directory port: who a user is, the state of their account, their licences and groups.

Backends (the demo file here; Active Directory through ldap3 and Entra ID through
Graph in their own modules) implement `Directory` and raise only the errors below,
so handlers never learn which backend answered.

    DirectoryError (UserFacingError)
    ├── NotFound           no account for that verified email
    ├── Ambiguous          more than one account matched (two accounts share a mail):
    │                      we act on exactly one
    ├── MalformedIdentity  an email, platform id or typed name with a control, format or
    │                      whitespace character: refused before any directory call
    ├── InexactMatch       the account found does not have exactly that mail or UPN
    ├── ProtectedAccount   privileged, service or disabled: self-service refused
    ├── PolicyViolation    the directory refused the change by policy
    ├── Throttled          too many requests; try again later
    └── Unavailable        the directory cannot be reached or failed
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, TypeVar

from bot.errors import UserFacingError

Source = Literal["onprem", "cloud"]
T = TypeVar("T")


class DirectoryError(UserFacingError):
    """Base of the directory's domain errors; each carries a catalogue key for the user."""

    default_key = "directory.unavailable"

    def __init__(self, detail: str = "", key: str | None = None, **params: object) -> None:
        super().__init__(key or self.default_key, **params)
        self.detail = detail

    def __str__(self) -> str:
        return f"{type(self).__name__}: {self.detail}" if self.detail else type(self).__name__


class NotFound(DirectoryError):
    default_key = "directory.not_found"


class Ambiguous(DirectoryError):
    default_key = "directory.ambiguous"


class MalformedIdentity(DirectoryError):
    default_key = "identity.malformed"


class InexactMatch(DirectoryError):
    """Not a `NotFound`: the directory did answer with an account, and no backend may then
    go on to look elsewhere (the hybrid directory falls through to Entra on NotFound)."""

    default_key = "identity.inexact"


class ProtectedAccount(DirectoryError):
    default_key = "directory.protected"


class PolicyViolation(DirectoryError):
    default_key = "directory.policy"


class Throttled(DirectoryError):
    default_key = "directory.throttled"


class Unavailable(DirectoryError):
    default_key = "directory.unavailable"


def exactly_one(found: Sequence[T], what: str) -> T:
    """The one item a lookup found: none is NotFound, several are Ambiguous (the bot acts on
    exactly one object, never on the first of several)."""
    if not found:
        raise NotFound(f"no {what}")
    if len(found) > 1:
        raise Ambiguous(f"more than one {what}")
    return found[0]


@dataclass(frozen=True)
class Licence:
    """A licence assigned to the user, in product names people know."""

    sku: str
    name: str
    disabled_plans: tuple[str, ...] = ()
    plans: tuple[str, ...] = ()
    """Service plan names (servicePlanName) that are enabled, where the backend knows them."""


@dataclass(frozen=True)
class Group:
    """A group someone may ask to join, with the people who own it (they approve)."""

    group_id: str
    name: str
    owners: tuple[str, ...] = ()
    role_assignable: bool = False


@dataclass(frozen=True)
class Account:
    """One directory account, as the bot needs to see it.

    `directory_id` is immutable (objectGUID in AD, the object id in Entra): every
    action targets it, never a name. `privileged` covers adminCount=1, transitive
    membership of protected groups and privileged directory roles.
    """

    directory_id: str
    email: str
    display_name: str
    enabled: bool
    locked: bool
    locked_at: datetime | None
    password_last_set: datetime | None
    password_expires: datetime | None
    must_change_password: bool
    source: Source
    privileged: bool
    privileged_reason: str | None = None
    service_account: bool = False
    department: str = ""
    manager_email: str | None = None
    in_scope: bool = True
    """False when the account lies outside the OUs the bot may act on (`ldap.scope_ous`)."""
    locked_until: datetime | None = None
    """When a lockout ends by itself (None: until someone unlocks it, or not locked)."""
    federated: bool = False
    """The sign-in is owned by another identity provider (a federated domain)."""
    addresses: tuple[str, ...] = ()
    """Every address the directory knows the account by (mail and UPN, as stored); `email`
    is the one to write to. Identity is matched against these exactly (`bot.integrations.
    identity`)."""


@dataclass(frozen=True)
class FailedSignIn:
    """One failed sign-in from the identity provider's log (Entra `auditLogs/signIns`)."""

    at: datetime
    app: str
    """The application signed in to (`Office 365 Exchange Online`, `Microsoft Teams`)."""
    client: str
    """How (`Mobile Apps and Desktop clients`, `Browser`, `Exchange ActiveSync`, `IMAP4`)."""
    location: str
    """City and country as the log has them, or "" when unknown."""
    reason: str = ""
    """The failure as the log states it (`Invalid username or password...`, error 50126)."""


@dataclass(frozen=True)
class SignInTrouble:
    """What the directory can tell about wrong passwords and failed sign-ins of one account.

    `bad_password_count` and `last_bad_password` are AD's `badPwdCount` / `badPasswordTime`,
    kept by each DC and not replicated: they are the DC the bot reads (`where`); a DC passes
    every wrong password on to the PDC emulator, so pointing `HELPDESK_LDAP_URL` at the PDC
    emulator gives the domain's count. `failures` are Entra's failed sign-ins, newest first.
    """

    bad_password_count: int | None = None
    last_bad_password: datetime | None = None
    locked_at: datetime | None = None
    failures: tuple[FailedSignIn, ...] = ()
    where: str = ""


@dataclass(frozen=True)
class ManagedDevice:
    """A device the account is the primary user of, as Intune reports it."""

    device_id: str
    name: str
    os: str
    os_version: str
    compliance: str
    """Intune's `complianceState`: compliant, noncompliant, inGracePeriod, unknown..."""
    last_check_in: datetime | None
    encrypted: bool | None
    failing: tuple[str, ...] = ()
    """The compliance settings it fails (`BitLockerEnabled`, `osMinimumVersion`...)."""
    company_owned: bool = True


@dataclass(frozen=True)
class SignInMethod:
    """A way the account signs in or approves sign-ins: its kind and name, never a secret
    (a phone number is kept only with all but its last 3 digits hidden)."""

    method_id: str
    kind: str
    """authenticator, phone, fido2, windows_hello, software_oath, email, password,
    temporary_access_pass, other."""
    name: str
    created: datetime | None = None


@dataclass(frozen=True)
class PasswordPolicy:
    """The rules a new password must meet, as the directory states them."""

    min_length: int = 8
    complexity: bool = True
    lockout_threshold: int = 0


class Directory(Protocol):
    """What every directory backend offers. All methods may raise `DirectoryError`s."""

    name: str

    async def find_by_email(self, email: str) -> Account:
        """The one account whose mail or UPN is exactly `email`, after case folding only
        (MalformedIdentity before any call, NotFound, Ambiguous, InexactMatch)."""
        ...

    async def licences(self, account: Account) -> tuple[Licence, ...]:
        """Licences assigned to the account."""
        ...

    async def groups(self, account: Account) -> tuple[str, ...]:
        """Display names of the groups the account is in, transitively."""
        ...

    async def find_by_id(self, directory_id: str) -> Account:
        """The account with this immutable id, read afresh (NotFound)."""
        ...

    async def unlock(self, account: Account) -> None:
        """Clear the account's lockout. Refuses protected accounts (ProtectedAccount)."""
        ...

    async def reset_password(self, account: Account, password: str) -> None:
        """Set a temporary password that must be changed at next sign-in, in one change.

        PolicyViolation when the directory refuses the password (the caller generates
        another); ProtectedAccount when the account may not be reset by the bot.
        """
        ...

    async def password_policy(self) -> PasswordPolicy:
        """The domain's password rules, for generating a password that meets them."""
        ...

    async def lockouts_since(self, since: datetime) -> int:
        """How many accounts were locked out at or after `since` (a password-spray sign)."""
        ...

    async def issue_temporary_access_pass(self, account: Account, minutes: int) -> str:
        """A one-time Temporary Access Pass for a cloud account (Entra); returns its secret."""
        ...

    async def find_group(self, name: str) -> Group:
        """The one group with this exact name, with its owners (NotFound, Ambiguous)."""
        ...

    async def add_to_group(self, group: Group, account: Account) -> None:
        """Add the account to the group (already a member counts as done)."""
        ...

    async def sign_in_trouble(self, account: Account) -> SignInTrouble:
        """Wrong passwords (AD) and recent failed sign-ins (Entra) of the account, read only."""
        ...

    async def managed_devices(self, account: Account) -> tuple[ManagedDevice, ...]:
        """The account's Intune-managed devices, with why a device is not compliant.
        PolicyViolation where there is no Intune to ask (AD alone)."""
        ...

    async def sign_in_methods(self, account: Account) -> tuple[SignInMethod, ...]:
        """The account's registered sign-in methods (MFA), names and kinds only.
        PolicyViolation where there is no MFA registration to read (AD alone)."""
        ...

    async def issue_mfa_pass(self, account: Account, minutes: int) -> str:
        """A one-time Temporary Access Pass to register a new phone, for cloud and synced
        accounts alike (it is a sign-in method, not a password); returns its secret."""
        ...

    async def remove_sign_in_method(self, account: Account, method: SignInMethod) -> None:
        """Delete an Authenticator app registration (the old phone's)."""
        ...

    async def revoke_sessions(self, account: Account) -> None:
        """Sign the account out everywhere (Entra: every refresh token and browser session).
        PolicyViolation where the directory keeps no sessions to revoke (AD alone)."""
        ...

    async def require_password_change(self, account: Account) -> None:
        """Make the account choose a new password at its next sign-in, keeping the current one
        until then (AD `pwdLastSet=0`; Entra `forceChangePasswordNextSignIn`)."""
        ...
