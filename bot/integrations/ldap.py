"""On-prem Active Directory through ldap3: the `Directory` port over LDAPS or StartTLS.

Connection (environment, so the bind password stays out of the config file):

- `HELPDESK_LDAP_URL`            `ldaps://dc1.corp.example.com` (port 636) or
                                 `ldap://dc1.corp.example.com` (port 389, upgraded with
                                 StartTLS before binding; plain LDAP is never used)
- `HELPDESK_LDAP_BIND_DN`        the bot's delegated service account
- `HELPDESK_LDAP_BIND_PASSWORD`  its password
- `HELPDESK_LDAP_BASE_DN`        where users are searched, e.g. `DC=corp,DC=example,DC=com`
- `HELPDESK_LDAP_CA_FILE`        PEM file of the CA that signed the DC's certificate; the
                                 certificate and its host name are always checked

Decisions:
- **One restartable connection, one lock.** ldap3's SYNC strategy is not thread-safe; every
  call runs in a worker thread (`asyncio.to_thread`) under a lock, so there is at most one
  operation in flight. A self-service action is a handful of small reads and one write,
  so one connection is plenty; a broken connection is dropped and reopened once per call.
- **Bounded.** `[ldap] timeout_seconds` bounds the TCP connect and each response; a DC that
  does not answer in time is `Unavailable`, and the handler opens a ticket.
- **Exactly one match, then by objectGUID.** An address with a control or whitespace
  character is refused before the search (Samba ends a value at an escaped NUL); every value
  is escaped with `escape_filter_chars`; a search that matches more than one account is
  `Ambiguous`; the account found must have exactly that mail or UPN
  (`bot.integrations.identity`); every write addresses the object as `<GUID=…>`, never by a
  name or a DN read earlier.
- **Privilege from tokenGroups.** `adminCount=1` is set late (AdminSDHolder runs hourly), so
  the account's `tokenGroups` (every group SID it holds, nested and primary group included)
  is compared with the SIDs of `[ldap] protected_groups`.
- **One modify per reset.** The new `unicodePwd`, `pwdLastSet=0` (must change at next logon)
  and, if locked, `lockoutTime=0` go in a single LDAP modify, which the DC applies entirely
  or not at all: a reset is never half-applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

with warnings.catch_warnings():  # ldap3 2.9.1 imports names newer pyasn1 deprecates
    warnings.filterwarnings("ignore", r"(tagMap|typeMap) is deprecated", DeprecationWarning)
    from ldap3 import (
        BASE,
        IP_V4_PREFERRED,
        MODIFY_ADD,
        MODIFY_REPLACE,
        NONE,
        SIMPLE,
        SUBTREE,
        Connection,
        Server,
        Tls,
    )
    from ldap3.core import exceptions as ldap_errors
    from ldap3.utils.conv import escape_filter_chars

from bot import metrics
from bot.config import LdapSettings, check_ca_file
from bot.errors import ConfigError
from bot.integrations.directory import (
    Account,
    Ambiguous,
    Group,
    Licence,
    ManagedDevice,
    NotFound,
    PasswordPolicy,
    PolicyViolation,
    ProtectedAccount,
    SignInMethod,
    SignInTrouble,
    Unavailable,
    exactly_one,
)
from bot.integrations.identity import checked, exact_account

T = TypeVar("T")

ENV = (
    "HELPDESK_LDAP_URL",
    "HELPDESK_LDAP_BIND_DN",
    "HELPDESK_LDAP_BIND_PASSWORD",
    "HELPDESK_LDAP_BASE_DN",
    "HELPDESK_LDAP_CA_FILE",
)
_NEVER = 0x7FFFFFFFFFFFFFFF
_EPOCH_1601 = datetime(1601, 1, 1, tzinfo=UTC)
_UAC_DISABLED = 0x2
_UAC_DONT_EXPIRE = 0x10000
_UAC_COMPUTED_LOCKOUT = 0x10
_USER_ATTRIBUTES = (
    "objectGUID",
    "mail",
    "userPrincipalName",
    "displayName",
    "department",
    "manager",
    "userAccountControl",
    "msDS-User-Account-Control-Computed",
    "lockoutTime",
    "pwdLastSet",
    "msDS-UserPasswordExpiryTimeComputed",
    "adminCount",
    "objectSid",
)
DOMAIN_RIDS = {
    512: "Domain Admins",
    516: "Domain Controllers",
    520: "Group Policy Creator Owners",
    521: "Read-only Domain Controllers",
    526: "Key Admins",
}
FOREST_RIDS = {
    498: "Enterprise Read-only Domain Controllers",
    518: "Schema Admins",
    519: "Enterprise Admins",
    527: "Enterprise Key Admins",
}
BUILTIN_SIDS = {
    "S-1-5-32-544": "Administrators",
    "S-1-5-32-548": "Account Operators",
    "S-1-5-32-549": "Server Operators",
    "S-1-5-32-550": "Print Operators",
    "S-1-5-32-551": "Backup Operators",
    "S-1-5-32-552": "Replicator",
}
"""Privileged groups by well-known SID; always protected, whatever the configuration says."""
_POLICY_ATTRIBUTES = ("minPwdLength", "pwdProperties", "lockoutThreshold", "lockoutDuration")
_POLICY_TTL_S = 600.0
_RECONNECT = (
    ldap_errors.LDAPSocketOpenError,
    ldap_errors.LDAPSocketReceiveError,
    ldap_errors.LDAPSocketSendError,
    ldap_errors.LDAPSessionTerminatedByServerError,
    ldap_errors.LDAPSocketCloseError,
)


@dataclass(frozen=True)
class LdapConfig:
    """Where the DC is and how the bot binds (from the environment; see the module doc)."""

    host: str
    port: int
    starttls: bool
    bind_dn: str
    bind_password: str
    base_dn: str
    ca_file: str

    def __repr__(self) -> str:  # the password must never reach a log
        return f"LdapConfig(host={self.host!r}, port={self.port}, bind_dn={self.bind_dn!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LdapConfig:
        """Read and check the HELPDESK_LDAP_* variables; `ConfigError` names the first bad one."""
        for name in ENV:
            if not env.get(name, "").strip():
                raise ConfigError(name, "is not set (needed for directory.backend = 'ldap')")
        url = urlsplit(env["HELPDESK_LDAP_URL"].strip())
        if url.scheme not in ("ldaps", "ldap") or not url.hostname:
            raise ConfigError(
                "HELPDESK_LDAP_URL", "must look like ldaps://dc1.corp.example.com[:636]"
            )
        try:
            port = url.port or (636 if url.scheme == "ldaps" else 389)
        except ValueError:
            raise ConfigError("HELPDESK_LDAP_URL", "has a bad port") from None
        ca_file = env["HELPDESK_LDAP_CA_FILE"].strip()
        check_ca_file("HELPDESK_LDAP_CA_FILE", ca_file)
        return cls(
            host=url.hostname,
            port=port,
            starttls=url.scheme == "ldap",
            bind_dn=env["HELPDESK_LDAP_BIND_DN"].strip(),
            bind_password=env["HELPDESK_LDAP_BIND_PASSWORD"],
            base_dn=env["HELPDESK_LDAP_BASE_DN"].strip(),
            ca_file=ca_file,
        )


def _norm_dn(dn: str) -> str:
    return ",".join(part.strip().lower() for part in dn.split(","))


def _first(attrs: Mapping[str, list[bytes]], name: str) -> bytes | None:
    values = attrs.get(name) or []
    return values[0] if values else None


def _text(attrs: Mapping[str, list[bytes]], name: str) -> str:
    raw = _first(attrs, name)
    return raw.decode("utf-8", "replace") if raw is not None else ""


def _int(attrs: Mapping[str, list[bytes]], name: str) -> int | None:
    raw = _first(attrs, name)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def filetime(value: int | None) -> datetime | None:
    """An AD FILETIME (100 ns ticks since 1601) as a UTC time; 0 and "never" are None."""
    if not value or value >= _NEVER or value < 0:
        return None
    return _EPOCH_1601 + timedelta(microseconds=value // 10)


def to_filetime(moment: datetime) -> int:
    return int((moment - _EPOCH_1601) / timedelta(microseconds=1)) * 10


def guid_filter(directory_id: str) -> str:
    """`(objectGUID=\\xx…)` for a GUID string: every byte escaped, so nothing can widen it."""
    raw = uuid.UUID(directory_id).bytes_le
    return "(objectGUID=" + "".join(f"\\{b:02x}" for b in raw) + ")"


def sid_text(raw: bytes) -> str:
    """A binary SID as S-1-5-21-…."""
    if len(raw) < 8:
        return ""
    count = raw[1]
    authority = int.from_bytes(raw[2:8], "big")
    subs = [int.from_bytes(raw[8 + 4 * i : 12 + 4 * i], "little") for i in range(count)]
    return "S-" + "-".join(str(x) for x in (raw[0], authority, *subs))


def _close(conn: Connection) -> None:
    """Unbind, and close the socket ourselves: ldap3 leaves it open when the connect, the
    TLS handshake or the unbind of a dead connection fails."""
    with contextlib.suppress(ldap_errors.LDAPException, OSError):
        conn.unbind()
    sock = getattr(conn, "socket", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()


class LdapDirectory:
    """A `Directory` over Active Directory (see the module docstring for the decisions)."""

    name = "ldap"

    def __init__(self, config: LdapConfig, settings: LdapSettings) -> None:
        if not settings.scope_ous:
            raise ConfigError(
                "ldap.scope_ous",
                'name the OUs whose accounts the bot may act on, e.g. ["OU=Staff"]',
            )
        self._config = config
        self._settings = settings
        self._base = _norm_dn(config.base_dn)
        self._scope = tuple(self._under_base(ou) for ou in settings.scope_ous)
        self._service_ous = tuple(self._under_base(ou) for ou in settings.service_ous)
        tls = Tls(
            validate=ssl.CERT_REQUIRED,
            ca_certs_file=config.ca_file,
            version=ssl.PROTOCOL_TLS_CLIENT,
        )
        self._tls = tls
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        self._protected_sids: dict[str, str] | None = None
        self._policy: tuple[float, PasswordPolicy, int] | None = None

    def _under_base(self, dn: str) -> str:
        norm = _norm_dn(dn)
        return norm if "dc=" in norm else f"{norm},{self._base}"

    # -- the connection ------------------------------------------------------------------

    def _connect(self) -> Connection:
        # A new Server each time: ldap3 marks an address that failed as unavailable for a
        # while, which would keep a DC that came back looking down.
        server = Server(
            self._config.host,
            port=self._config.port,
            use_ssl=not self._config.starttls,
            tls=self._tls,
            get_info=NONE,
            connect_timeout=self._settings.timeout_seconds,
            # try every address of the name, IPv4 first, instead of only the first one the
            # resolver returns (which may be an IPv6 address the DC is not listening on yet)
            mode=IP_V4_PREFERRED,
        )
        conn = Connection(
            server,
            user=self._config.bind_dn,
            password=self._config.bind_password,
            authentication=SIMPLE,
            receive_timeout=self._settings.timeout_seconds,
            raise_exceptions=True,
            auto_referrals=False,
        )
        try:
            conn.open()
            if self._config.starttls:
                conn.start_tls()
            conn.bind()
        except BaseException:
            _close(conn)
            raise
        return conn

    def _drop(self) -> None:
        if self._conn is not None:
            _close(self._conn)
            self._conn = None

    def _run(self, work: Callable[[Connection], T], *, retry: bool) -> T:
        """Run `work` on the connection, reconnecting once if the connection was lost.

        With `retry=False` (a write that must not run twice) the connection is probed
        first, so a connection the DC dropped while idle is replaced before the write.
        """
        with self._lock:
            if not retry and self._conn is not None:
                try:
                    self._conn.extend.standard.who_am_i()
                except ldap_errors.LDAPException:
                    self._drop()
            for attempt in (1, 2):
                try:
                    if self._conn is not None and self._conn.closed:
                        self._drop()  # ldap3 marks a failed connection closed, socket open
                    if self._conn is None:
                        self._conn = self._connect()
                    return work(self._conn)
                except _RECONNECT as exc:
                    self._drop()
                    if attempt == 2 or not retry:
                        raise Unavailable(
                            f"domain controller unreachable: {type(exc).__name__}"
                        ) from None
                except ldap_errors.LDAPInvalidCredentialsResult:
                    self._drop()
                    raise Unavailable("the bot's bind account was refused") from None
                except ldap_errors.LDAPOperationResult:
                    raise
                except (ldap_errors.LDAPException, ssl.SSLError, OSError) as exc:
                    self._drop()
                    raise Unavailable(f"LDAP connection failed: {type(exc).__name__}") from None
            raise AssertionError("unreachable")  # pragma: no cover

    async def _call(self, work: Callable[[Connection], T], *, retry: bool = True) -> T:
        with metrics.directory_call("ldap"):
            try:
                return await asyncio.to_thread(self._run, work, retry=retry)
            except (NotFound, Ambiguous, ProtectedAccount, PolicyViolation, Unavailable):
                raise
            except ldap_errors.LDAPOperationResult as exc:
                raise Unavailable(f"LDAP {exc.result}: {exc.description}") from None
            except ldap_errors.LDAPException as exc:  # pragma: no cover - _run maps the rest
                raise Unavailable(f"LDAP error: {type(exc).__name__}") from None

    def close(self) -> None:
        with self._lock:
            self._drop()

    # -- reads ---------------------------------------------------------------------------

    @staticmethod
    def _entries(conn: Connection) -> list[dict[str, Any]]:
        return [e for e in conn.response or [] if e.get("type") == "searchResEntry"]

    def _policy_now(self, conn: Connection) -> tuple[PasswordPolicy, int]:
        """The domain policy and its lockout duration (FILETIME ticks, positive), cached."""
        cached = self._policy
        if cached is not None and time.monotonic() - cached[0] < _POLICY_TTL_S:
            return cached[1], cached[2]
        conn.search(
            self._config.base_dn, "(objectClass=domain)", BASE, attributes=_POLICY_ATTRIBUTES
        )
        found = self._entries(conn)
        attrs = found[0]["raw_attributes"] if found else {}
        policy = PasswordPolicy(
            min_length=_int(attrs, "minPwdLength") or 0,
            complexity=bool((_int(attrs, "pwdProperties") or 0) & 1),
            lockout_threshold=_int(attrs, "lockoutThreshold") or 0,
        )
        duration = abs(_int(attrs, "lockoutDuration") or 0)
        self._policy = (time.monotonic(), policy, duration)
        return policy, duration

    def _sid_of(self, conn: Connection, dn: str) -> str | None:
        conn.search(dn, "(objectClass=*)", BASE, attributes=["objectSid"])
        found = self._entries(conn)
        raw = _first(found[0]["raw_attributes"], "objectSid") if found else None
        return sid_text(raw) if raw else None

    def _protected(self, conn: Connection) -> dict[str, str]:
        """SID → name of every protected group, read once, failing closed.

        The well-known privileged groups are found by SID (domain SID + RID, the forest
        root's for Schema/Enterprise Admins, and the BUILTIN aliases), so a renamed or
        localised group, a base DN below the domain root or a multi-domain forest cannot
        make one disappear. Extra names in `ldap.protected_groups` are looked up from the
        domain root; one that cannot be found stops every change (`Unavailable`) rather
        than silently protecting nobody.
        """
        if self._protected_sids is not None:
            return self._protected_sids
        conn.search(
            "",
            "(objectClass=*)",
            BASE,
            attributes=["defaultNamingContext", "rootDomainNamingContext"],
        )
        root = self._entries(conn)
        attrs = root[0]["raw_attributes"] if root else {}
        domain_dn = _text(attrs, "defaultNamingContext") or self._config.base_dn
        forest_dn = _text(attrs, "rootDomainNamingContext") or domain_dn
        domain_sid = self._sid_of(conn, domain_dn)
        if not domain_sid:
            raise Unavailable("cannot read the domain's SID: refusing every change")
        forest_sid = self._sid_of(conn, forest_dn) or domain_sid
        sids = {f"{domain_sid}-{rid}": name for rid, name in DOMAIN_RIDS.items()}
        sids |= {f"{forest_sid}-{rid}": name for rid, name in FOREST_RIDS.items()}
        sids |= BUILTIN_SIDS
        known = {name.lower() for name in sids.values()}
        extra = [n for n in self._settings.protected_groups if n.lower() not in known]
        if extra:
            names = "".join(f"(cn={escape_filter_chars(n)})" for n in extra)
            conn.search(
                domain_dn,
                f"(&(objectClass=group)(|{names}))",
                SUBTREE,
                attributes=["objectSid", "cn"],
            )
            found = {
                _text(e["raw_attributes"], "cn").lower(): sid_text(raw)
                for e in self._entries(conn)
                if (raw := _first(e["raw_attributes"], "objectSid"))
            }
            missing = [n for n in extra if n.lower() not in found]
            if missing:
                raise Unavailable(
                    f"protected group(s) {', '.join(missing)} not found: refusing every change"
                )
            sids |= {found[n.lower()]: n for n in extra}
        self._protected_sids = sids
        return sids

    def _privilege(self, conn: Connection, dn: str, attrs: Mapping[str, list[bytes]]) -> str | None:
        if _int(attrs, "adminCount") == 1:
            return "adminCount=1"
        own = _first(attrs, "objectSid")
        if own and sid_text(own).rsplit("-", 1)[-1] in ("500", "502"):
            return "built-in Administrator or krbtgt"
        conn.search(dn, "(objectClass=*)", BASE, attributes=["tokenGroups"])
        found = self._entries(conn)
        held = {sid_text(raw) for raw in (found[0]["raw_attributes"].get("tokenGroups", []))}
        protected = self._protected(conn)
        hit = sorted(protected[sid] for sid in held & protected.keys())
        return f"member of {', '.join(hit)}" if hit else None

    def _mail_of(self, conn: Connection, dn: str) -> str | None:
        conn.search(dn, "(objectClass=user)", BASE, attributes=["mail", "userPrincipalName"])
        found = self._entries(conn)
        if not found:
            return None
        attrs = found[0]["raw_attributes"]
        return (_text(attrs, "mail") or _text(attrs, "userPrincipalName")).lower() or None

    def _is_service(self, dn: str, attrs: Mapping[str, list[bytes]]) -> bool:
        if any(dn == ou or dn.endswith("," + ou) for ou in self._service_ous):
            return True
        return any(attrs.get(name) for name in self._settings.service_attributes)

    def _account(self, conn: Connection, entry: dict[str, Any]) -> Account:
        attrs: dict[str, list[bytes]] = entry["raw_attributes"]
        dn = _norm_dn(entry["dn"])
        raw_guid = _first(attrs, "objectGUID")
        if raw_guid is None or len(raw_guid) != 16:
            raise Unavailable("account without an objectGUID")
        uac = _int(attrs, "userAccountControl") or 0
        computed = _int(attrs, "msDS-User-Account-Control-Computed") or 0
        duration = self._policy_now(conn)[1]
        locked_at = filetime(_int(attrs, "lockoutTime"))
        locked = bool(computed & _UAC_COMPUTED_LOCKOUT)
        pwd_last_set = _int(attrs, "pwdLastSet")
        expires = filetime(_int(attrs, "msDS-UserPasswordExpiryTimeComputed"))
        privileged = self._privilege(conn, entry["dn"], attrs)
        manager_dn = _text(attrs, "manager")
        return Account(
            directory_id=str(uuid.UUID(bytes_le=raw_guid)),
            email=(_text(attrs, "mail") or _text(attrs, "userPrincipalName")).lower(),
            display_name=_text(attrs, "displayName") or _text(attrs, "userPrincipalName"),
            enabled=not uac & _UAC_DISABLED,
            locked=locked,
            locked_at=locked_at if locked else None,
            locked_until=(
                locked_at + timedelta(microseconds=duration // 10)
                if locked and locked_at and duration and duration < _NEVER
                else None
            ),
            password_last_set=filetime(pwd_last_set),
            password_expires=None if uac & _UAC_DONT_EXPIRE else expires,
            must_change_password=pwd_last_set == 0,
            source="onprem",
            privileged=privileged is not None,
            privileged_reason=privileged,
            service_account=self._is_service(dn, attrs),
            department=_text(attrs, "department"),
            manager_email=self._mail_of(conn, manager_dn) if manager_dn else None,
            in_scope=any(dn.endswith("," + ou) for ou in self._scope),
            addresses=tuple(
                a for a in (_text(attrs, "mail"), _text(attrs, "userPrincipalName")) if a
            ),
        )

    def _one(self, conn: Connection, search: str, what: str) -> Account:
        conn.search(
            self._config.base_dn,
            f"(&(objectCategory=person)(objectClass=user){search})",
            SUBTREE,
            attributes=[*_USER_ATTRIBUTES, *self._settings.service_attributes],
            size_limit=2,
        )
        return self._account(conn, exactly_one(self._entries(conn), f"account for {what}"))

    async def find_by_email(self, email: str) -> Account:
        value = escape_filter_chars(checked(email, "the email"))
        search = f"(|(mail={value})(userPrincipalName={value}))"
        return exact_account(
            await self._call(lambda conn: self._one(conn, search, "that email")), email
        )

    async def find_by_id(self, directory_id: str) -> Account:
        try:
            search = guid_filter(directory_id)
        except ValueError:
            raise NotFound("not a GUID") from None
        return await self._call(lambda conn: self._one(conn, search, "that id"))

    async def sign_in_trouble(self, account: Account) -> SignInTrouble:
        """`badPwdCount` and `badPasswordTime` as this DC keeps them (not replicated), and the
        replicated `lockoutTime`; AD has no log of sign-ins to add."""

        def work(conn: Connection) -> SignInTrouble:
            conn.search(
                self._config.base_dn,
                f"(&(objectCategory=person)(objectClass=user){guid_filter(account.directory_id)})",
                SUBTREE,
                attributes=["badPwdCount", "badPasswordTime", "lockoutTime"],
                size_limit=2,
            )
            entry = exactly_one(self._entries(conn), "account for that id")
            attrs = entry["raw_attributes"]
            return SignInTrouble(
                bad_password_count=_int(attrs, "badPwdCount"),
                last_bad_password=filetime(_int(attrs, "badPasswordTime")),
                locked_at=filetime(_int(attrs, "lockoutTime")),
                where=self._config.host,
            )

        return await self._call(work)

    async def licences(self, account: Account) -> tuple[Licence, ...]:
        """Licences live in Entra ID, not in AD: none here (the Graph backend answers)."""
        return ()

    async def groups(self, account: Account) -> tuple[str, ...]:
        def work(conn: Connection) -> tuple[str, ...]:
            conn.search(
                self._config.base_dn,
                f"(&(objectClass=user){guid_filter(account.directory_id)})",
                SUBTREE,
                attributes=["distinguishedName"],
                size_limit=1,
            )
            found = self._entries(conn)
            if not found:
                raise NotFound("account vanished")
            dn = escape_filter_chars(found[0]["dn"])
            conn.search(
                self._config.base_dn,
                # security groups only: a distribution list must never carry a role
                f"(&(objectClass=group)(groupType:1.2.840.113556.1.4.803:=2147483648)"
                f"(member:1.2.840.113556.1.4.1941:={dn}))",
                SUBTREE,
                attributes=["cn"],
            )
            return tuple(sorted(_text(e["raw_attributes"], "cn") for e in self._entries(conn)))

        return await self._call(work)

    async def password_policy(self) -> PasswordPolicy:
        return await self._call(lambda conn: self._policy_now(conn)[0])

    async def lockouts_since(self, since: datetime) -> int:
        def work(conn: Connection) -> int:
            conn.search(
                self._config.base_dn,
                f"(&(objectCategory=person)(objectClass=user)(lockoutTime>={to_filetime(since)}))",
                SUBTREE,
                attributes=["1.1"],
                size_limit=10_000,
            )
            return len(self._entries(conn))

        return await self._call(work)

    async def issue_temporary_access_pass(self, account: Account, minutes: int) -> str:
        raise Unavailable("Temporary Access Passes are Entra ID's; AD has none")

    async def find_group(self, name: str) -> Group:
        """The group whose cn is `name`; its owner is `managedBy`."""

        def work(conn: Connection) -> Group:
            conn.search(
                self._config.base_dn,
                f"(&(objectClass=group)(cn={escape_filter_chars(name.strip())}))",
                SUBTREE,
                attributes=["objectGUID", "cn", "managedBy", "objectSid"],
                size_limit=2,
            )
            entry = exactly_one(self._entries(conn), f"group named {name!r}")
            attrs = entry["raw_attributes"]
            owner = _text(attrs, "managedBy")
            sid = sid_text(_first(attrs, "objectSid") or b"")
            return Group(
                group_id=entry["dn"],
                name=_text(attrs, "cn"),
                owners=tuple(m for m in [self._mail_of(conn, owner) if owner else None] if m),
                role_assignable=sid in self._protected(conn),
            )

        return await self._call(work)

    async def add_to_group(self, group: Group, account: Account) -> None:
        def work(conn: Connection) -> None:
            fresh = self._one(conn, guid_filter(account.directory_id), "that id")
            try:
                conn.modify(  # type: ignore[no-untyped-call]
                    group.group_id, {"member": [(MODIFY_ADD, [f"<GUID={fresh.directory_id}>"])]}
                )
            except ldap_errors.LDAPEntryAlreadyExistsResult:
                return
            except ldap_errors.LDAPInsufficientAccessRightsResult:
                raise ProtectedAccount("the bot's account may not change that group") from None

        await self._call(work, retry=False)

    # -- writes --------------------------------------------------------------------------

    def _check_target(self, account: Account) -> None:
        if account.privileged or account.service_account or not account.enabled:
            raise ProtectedAccount(f"refusing to change {account.directory_id}")
        if not account.in_scope:
            raise ProtectedAccount(f"{account.directory_id} is outside the configured OUs")

    def _modify(self, conn: Connection, account: Account, changes: dict[str, Any]) -> None:
        # Re-read by objectGUID in the same locked call: the guardrails hold for the object
        # that is about to change, not for a copy read minutes ago.
        fresh = self._one(conn, guid_filter(account.directory_id), "that id")
        self._check_target(fresh)
        try:
            conn.modify(f"<GUID={fresh.directory_id}>", changes)  # type: ignore[no-untyped-call]
        except ldap_errors.LDAPConstraintViolationResult:
            self._policy = None  # the policy may have changed: read it again for the next try
            raise PolicyViolation("the DC refused the value (constraintViolation)") from None
        except ldap_errors.LDAPInsufficientAccessRightsResult:
            raise ProtectedAccount("the bot's account is not delegated on that object") from None
        except ldap_errors.LDAPUnwillingToPerformResult:
            raise PolicyViolation("the DC is unwilling to perform the change") from None

    async def unlock(self, account: Account) -> None:
        changes = {"lockoutTime": [(MODIFY_REPLACE, [0])]}
        await self._call(lambda conn: self._modify(conn, account, changes))

    async def managed_devices(self, account: Account) -> tuple[ManagedDevice, ...]:
        """AD knows computers, not their compliance: Intune (through Graph) does."""
        raise PolicyViolation("device compliance is Intune's (directory.backend ldap+graph)")

    async def sign_in_methods(self, account: Account) -> tuple[SignInMethod, ...]:
        raise PolicyViolation("MFA registration is Entra's (directory.backend ldap+graph)")

    async def issue_mfa_pass(self, account: Account, minutes: int) -> str:
        raise PolicyViolation("Temporary Access Passes are Entra's")

    async def remove_sign_in_method(self, account: Account, method: SignInMethod) -> None:
        raise PolicyViolation("MFA registration is Entra's")

    async def revoke_sessions(self, account: Account) -> None:
        """AD keeps no sign-in sessions to revoke (Kerberos tickets run out by themselves,
        within `MaxTicketAge`); the hybrid directory revokes the Entra side."""
        raise PolicyViolation("Active Directory has no sign-in sessions to revoke")

    async def require_password_change(self, account: Account) -> None:
        """`pwdLastSet=0`: the current password works only to choose a new one."""
        changes = {"pwdLastSet": [(MODIFY_REPLACE, [0])]}
        await self._call(lambda conn: self._modify(conn, account, changes), retry=False)

    async def reset_password(self, account: Account, password: str) -> None:
        """Reset, require a change at next logon and end a lockout, in one modify.

        Not retried after a lost connection: the DC may have applied it, and a second
        attempt with the same password would hide that. The caller opens a ticket.
        """
        changes: dict[str, Any] = {
            "unicodePwd": [(MODIFY_REPLACE, [f'"{password}"'.encode("utf-16-le")])],
            "pwdLastSet": [(MODIFY_REPLACE, [0])],
        }
        if account.locked:
            changes["lockoutTime"] = [(MODIFY_REPLACE, [0])]
        await self._call(lambda conn: self._modify(conn, account, changes), retry=False)
