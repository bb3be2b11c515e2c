"""A throwaway Samba AD domain controller on loopback, for tests of the LDAP backend.

`provision(root)` makes a new domain in the private directory `root`, starts `samba` on
127.0.0.1 (LDAP only: ports 389 and 636), fills in the test directory described below
and returns a `DomainController` handle. Nothing is read from or written to
/etc/samba: every samba-tool call gets `-s root/etc/smb.conf` or `-H root/private/sam.ldb`.

TLS: the fixture makes its own CA and a server certificate for DNS:localhost and
IP:127.0.0.1 (with the openssl command), so `ldaps://localhost:636` validates with
`Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=dc.ca_file)` and hostname checking.

The directory (a contract: tests are written against these names):

    DC=corp,DC=example,DC=com
      OU=Staff            chan.taiman (manager ho.kawai, department Equities), ho.kawai,
                          lee.siuming, wong.admin (in IT Ops Admins, itself in Domain
                          Admins), cheung.disabled (disabled), svc.reports (has an SPN),
                          eng.lam (in IT Helpdesk Engineers), burst01..burst12,
                          dup.one and dup.two (both mail shared@corp.example.com),
                          nul.target (what a verified email of nul.target@… followed by
                          a NUL reaches if the value is cut at the NUL)
        OU=Service Accounts   svc.batch
      OU=Contractors      outside.user
      OU=Service Accounts svc-helpdesk, the bot's bind account, delegated on OU=Staff
                          only: Reset Password, read/write lockoutTime and pwdLastSet
      OU=Groups           IT Ops Admins, IT Helpdesk Engineers
      OU=Workstations     computers with BitLocker recovery information (msFVE-Recovery-
                          Information objects under each, `COMPUTERS`): LT-CHAN-01 and
                          LT-CHAN-02 (managedBy chan.taiman), LT-LEE-01 (managedBy
                          lee.siuming; one of its keys shares its first 8 characters with
                          LT-CHAN-02's), SRV-FILE-01 (a Windows Server, managedBy
                          chan.taiman). svc-helpdesk may read the recovery objects here
                          (read, list and control access, for the confidential
                          msFVE-RecoveryPassword) and nowhere else.

Password policy: complexity on, minimum length 10, no history, minimum age 0, maximum
age 90 days, lockout after 3 bad passwords for 30 minutes (window 30 minutes).

A developer can run one by hand: `python -m tests.samba_dc DIR` (as root).
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

with warnings.catch_warnings():
    # pyasn1 >= 0.6 deprecates tagMap/typeMap, which ldap3 2.9 imports; harmless, but an
    # error under our pytest settings. (Import this module before ldap3 in tests.)
    warnings.filterwarnings("ignore", r"(tagMap|typeMap) is deprecated", DeprecationWarning)
    import ldap3
    from ldap3.core.exceptions import LDAPException

REALM = "CORP.EXAMPLE.COM"
DOMAIN = "CORP"
DNS_DOMAIN = "corp.example.com"
BASE_DN = "DC=corp,DC=example,DC=com"
HOST = "localhost"
PORT = 636
URL = f"ldaps://{HOST}:{PORT}"
PASSWORD = "Start-Pass-2026!x"  # every ordinary user's starting password
ADMIN_PASSWORD = "Admin-Pass-2026!x"
SERVICE_PASSWORD = "Bot-Bind-2026!svc"
ADMIN_DN = f"CN=Administrator,CN=Users,{BASE_DN}"
SERVICE_SAM = "svc-helpdesk"

INSTALL_HINT = (
    "apt-get install samba samba-ad-dc samba-dsdb-modules samba-vfs-modules winbind "
    "krb5-user ldb-tools samba-ad-provision openssl"
)

STAFF = f"OU=Staff,{BASE_DN}"
STAFF_SERVICE = f"OU=Service Accounts,{STAFF}"
CONTRACTORS = f"OU=Contractors,{BASE_DN}"
SERVICE_ACCOUNTS = f"OU=Service Accounts,{BASE_DN}"
GROUPS = f"OU=Groups,{BASE_DN}"
WORKSTATIONS = f"OU=Workstations,{BASE_DN}"
OUS = (STAFF, STAFF_SERVICE, CONTRACTORS, SERVICE_ACCOUNTS, GROUPS, WORKSTATIONS)

OPS_ADMINS = f"CN=IT Ops Admins,{GROUPS}"
ENGINEERS = f"CN=IT Helpdesk Engineers,{GROUPS}"
DOMAIN_ADMINS = f"CN=Domain Admins,CN=Users,{BASE_DN}"

# userAccountControl flags
NORMAL_ACCOUNT = 0x200
ACCOUNTDISABLE = 0x2
DONT_EXPIRE_PASSWORD = 0x10000
GLOBAL_SECURITY_GROUP = -2147483646  # 0x80000002

# Schema GUIDs for the delegation on OU=Staff.
RESET_PASSWORD = "00299570-246d-11d0-a768-00aa006e0529"
LOCKOUT_TIME = "28630ebf-41d5-11d1-a9c1-0000f80367c1"
PWD_LAST_SET = "bf967a0a-0de6-11d0-a285-00aa003049e2"
USER_CLASS = "bf967aba-0de6-11d0-a285-00aa003049e2"
RECOVERY_INFORMATION_CLASS = "ea715d30-8f53-40d0-bd1e-6109186d782c"  # msFVE-RecoveryInformation
WORKSTATION_TRUST_ACCOUNT = 0x1000

_100NS_PER_SECOND = 10_000_000

# Samba's LDAP ports are fixed, so only one test DC can run on a machine at a time: a
# session holds this lock from its DC's first start until close() or its exit, and a
# second session (another developer's, or a parallel run) waits for it.
LOCK_FILE = Path(tempfile.gettempdir()) / "helpdesk-samba-dc.lock"
LOCK_WAIT = 900.0
_port_lock: IO[str] | None = None


@dataclass(frozen=True)
class _User:
    sam: str
    display: str
    ou: str
    extra: dict[str, Any] = field(default_factory=dict)
    uac: int = NORMAL_ACCOUNT
    password: str = PASSWORD

    @property
    def dn(self) -> str:
        return f"CN={self.display},{self.ou}"


def _users() -> list[_User]:
    """The directory's users, in creation order (ho.kawai before the DN that names him)."""
    ho = _User("ho.kawai", "Ho Ka Wai", STAFF)
    users = [
        ho,
        _User("chan.taiman", "Chan Tai Man", STAFF, {"manager": ho.dn, "department": "Equities"}),
        _User("lee.siuming", "Lee Siu Ming", STAFF),
        _User("wong.admin", "Wong Admin", STAFF),
        _User("cheung.disabled", "Cheung Disabled", STAFF, uac=NORMAL_ACCOUNT | ACCOUNTDISABLE),
        _User(
            "svc.reports",
            "Reports Service",
            STAFF,
            {"servicePrincipalName": f"HTTP/reports.{DNS_DOMAIN}"},
        ),
        _User("eng.lam", "Lam Engineer", STAFF),
        *(_User(f"burst{i:02d}", f"Burst User {i:02d}", STAFF) for i in range(1, 13)),
        _User("dup.one", "Dup One", STAFF, {"mail": f"shared@{DNS_DOMAIN}"}),
        _User("dup.two", "Dup Two", STAFF, {"mail": f"shared@{DNS_DOMAIN}"}),
        _User("nul.target", "Nul Target", STAFF),
        _User("svc.batch", "Batch Service", STAFF_SERVICE),
        _User("outside.user", "Outside User", CONTRACTORS),
        _User(
            SERVICE_SAM,
            "Helpdesk Bot",
            SERVICE_ACCOUNTS,
            {"description": "Helpdesk bot bind account"},
            uac=NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD,
            password=SERVICE_PASSWORD,
        ),
    ]
    return users


USERS: dict[str, _User] = {u.sam: u for u in _users()}


@dataclass(frozen=True)
class Computer:
    """A computer in OU=Workstations, the person it is managed by, and its BitLocker keys
    as (key id, recovery password); the passwords are made up."""

    name: str
    managed_by: str
    os: str
    keys: tuple[tuple[str, str], ...]

    @property
    def dn(self) -> str:
        return f"CN={self.name},{WORKSTATIONS}"


COMPUTERS: dict[str, Computer] = {
    c.name: c
    for c in (
        Computer(
            "LT-CHAN-01",
            "chan.taiman",
            "Windows 11 Enterprise",
            (
                (
                    "1A2B3C4D-5E6F-4A0B-9C1D-2E3F4A5B6C7D",
                    "111111-222222-333333-444444-555555-666666-777777-888888",
                ),
            ),
        ),
        Computer(
            "LT-CHAN-02",
            "chan.taiman",
            "Windows 11 Enterprise",
            (
                (
                    "3F00AA11-1111-4A0B-9C1D-2E3F4A5B6C7D",
                    "123456-234567-345678-456789-567890-678901-789012-890123",
                ),
            ),
        ),
        Computer(
            "LT-LEE-01",
            "lee.siuming",
            "Windows 11 Enterprise",
            (
                (
                    "7E8F9A0B-1C2D-4E3F-A405-162738495A6B",
                    "101010-202020-303030-404040-505050-606060-707070-808080",
                ),
                (
                    "3F00AA11-9999-4A0B-9C1D-2E3F4A5B6C7D",
                    "010101-020202-030303-040404-050505-060606-070707-080808",
                ),
            ),
        ),
        Computer(
            "SRV-FILE-01",
            "chan.taiman",
            "Windows Server 2022 Standard",
            (
                (
                    "5C6D7E8F-0A1B-4C2D-8E3F-405162738495",
                    "999999-888888-777777-666666-555555-444444-333333-222222",
                ),
            ),
        ),
    )
}
GROUP_MEMBERS: dict[str, list[str]] = {
    OPS_ADMINS: [USERS["wong.admin"].dn],
    ENGINEERS: [USERS["eng.lam"].dn],
}


class SambaMissing(RuntimeError):
    """samba / samba-tool are not installed (or we are not root)."""


class SambaError(RuntimeError):
    """Samba failed to provision, start or answer."""


def samba_available() -> str | None:
    """None when a DC can be provisioned here, else the reason it cannot."""
    if _which("samba-tool") is None or _which("samba") is None:
        return f"Samba AD DC not installed: {INSTALL_HINT}"
    if os.geteuid() != 0:
        return "Samba AD DC needs root to run"
    return None


def _which(name: str) -> str | None:
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/usr/bin:/sbin"
    return shutil.which(name, path=path)


def unicode_pwd(password: str) -> bytes:
    """The value AD wants in unicodePwd: the quoted password in UTF-16LE."""
    return f'"{password}"'.encode("utf-16-le")


@contextlib.contextmanager
def quiet_ldap3() -> Iterator[None]:
    """ldap3 2.9 checks the hostname with ssl.match_hostname, deprecated since Python 3.7.

    Its DeprecationWarning would be an error under our pytest settings.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"ssl\.match_hostname", DeprecationWarning)
        yield


@dataclass
class DomainController:
    url: str
    ca_file: Path
    base_dn: str
    admin_dn: str
    admin_password: str
    service_dn: str
    service_password: str
    root: Path
    timings: dict[str, float] = field(default_factory=dict)
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log: IO[bytes] | None = field(default=None, repr=False)

    # -- names -----------------------------------------------------------------

    def dn(self, sam: str) -> str:
        """Full DN of a user by sAMAccountName."""
        user = USERS.get(sam)
        if user is not None:
            return user.dn
        with self._admin() as conn:
            conn.search(self.base_dn, f"(sAMAccountName={_escape(sam)})", attributes=[])
            if len(conn.entries) != 1:
                raise KeyError(sam)
            return str(conn.entries[0].entry_dn)

    def email(self, sam: str) -> str:
        """The user's own address; note dup.one/dup.two's `mail` is shared@ instead."""
        return f"{sam}@{DNS_DOMAIN}"

    # -- LDAP helpers ----------------------------------------------------------

    def tls(self, ca_file: Path | None = None) -> ldap3.Tls:
        return ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(ca_file or self.ca_file))

    def server(self, ca_file: Path | None = None) -> ldap3.Server:
        # get_info=NONE: no schema read, so no client-side value checks either.
        # IPv4 only: with every address of "localhost" as a candidate, ldap3 leaves the socket
        # of a candidate that failed after its TLS handshake open (seen while samba starts),
        # and its ResourceWarning surfaces, when collected, in whichever test runs then.
        return ldap3.Server(
            self.url,
            use_ssl=True,
            tls=self.tls(ca_file),
            get_info=ldap3.NONE,
            connect_timeout=5,
            mode=ldap3.IP_V4_ONLY,
        )

    def connect(self, bind_dn: str, password: str, ca_file: Path | None = None) -> ldap3.Connection:
        """A bound connection over LDAPS (raises LDAPException on failure)."""
        conn = ldap3.Connection(
            self.server(ca_file),
            user=bind_dn,
            password=password,
            raise_exceptions=True,
            receive_timeout=10,
        )
        try:
            with quiet_ldap3():
                conn.bind()
        except BaseException:
            _close_socket(conn)
            raise
        return conn

    @contextlib.contextmanager
    def _admin(self) -> Iterator[ldap3.Connection]:
        conn = self.connect(self.admin_dn, self.admin_password)
        try:
            yield conn
        finally:
            with contextlib.suppress(LDAPException, OSError):
                conn.unbind()
            _close_socket(conn)  # an unbind over a dead connection leaves it open

    def bind(self, sam: str, password: str) -> str:
        """Simple bind as the user: "ok", or AD's sub-error code from the diagnostic
        message ("52e" bad password, "775" locked, "773" must change, "533" disabled,
        "532" expired), or the LDAP result description if there is none."""
        conn = ldap3.Connection(
            self.server(), user=self.dn(sam), password=password, receive_timeout=10
        )
        try:
            with quiet_ldap3():
                if conn.bind():
                    return "ok"
            result = conn.result
        finally:
            conn.unbind()
            _close_socket(conn)  # ldap3 leaves it open when the server is down
        match = re.search(r"data ([0-9a-f]+)", str(result.get("message", "")))
        return match.group(1) if match else str(result.get("description"))

    def read(self, sam: str, *attrs: str) -> dict[str, list[bytes]]:
        """Raw attribute values of a user, read as Administrator (missing: absent key)."""
        with self._admin() as conn:
            conn.search(
                self.dn(sam),
                "(objectClass=*)",
                search_scope=ldap3.BASE,
                attributes=list(attrs) or [ldap3.ALL_ATTRIBUTES],
            )
            response = conn.response or []
            if len(response) != 1:
                raise KeyError(sam)
            raw: dict[str, list[bytes]] = dict(response[0]["raw_attributes"])
        return {k: list(v) for k, v in raw.items() if v}

    def set_password(self, sam: str, password: str, must_change: bool = False) -> None:
        """Admin reset, to put a user back in a known state between tests."""
        with self._admin() as conn:
            conn.modify(
                self.dn(sam),
                {
                    "unicodePwd": [(ldap3.MODIFY_REPLACE, [unicode_pwd(password)])],
                    "pwdLastSet": [(ldap3.MODIFY_REPLACE, ["0" if must_change else "-1"])],
                },
            )

    def unlock(self, sam: str) -> None:
        with self._admin() as conn:
            conn.modify(self.dn(sam), {"lockoutTime": [(ldap3.MODIFY_REPLACE, ["0"])]})

    def set_domain_policy(self, **values: int) -> None:
        """Change attributes of the domain's password policy (e.g. minPwdLength=20)."""
        with self._admin() as conn:
            conn.modify(
                self.base_dn,
                {k: [(ldap3.MODIFY_REPLACE, [str(v)])] for k, v in values.items()},
            )

    def lock(self, sam: str) -> None:
        """Lock the account the honest way: three bad simple binds."""
        for _ in range(3):
            self.bind(sam, "Not-The-Password-1!")
        lockout = self.read(sam, "lockoutTime").get("lockoutTime", [b"0"])[0]
        if int(lockout) == 0:
            raise SambaError(f"{sam} is not locked after 3 bad binds")

    # -- process ---------------------------------------------------------------

    @property
    def conf(self) -> Path:
        return self.root / "etc" / "smb.conf"

    @property
    def sam_ldb(self) -> Path:
        return self.root / "private" / "sam.ldb"

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, max_runtime: int | None = None, timeout: float = 60.0) -> None:
        """Start samba and wait until 127.0.0.1:636 completes a validated TLS handshake.

        samba runs interactive (-i) with its stdin a pipe from us: when this process
        dies, however it dies, samba reads EOF and exits.
        """
        if self.running():
            return
        _take_port_lock()
        started = time.monotonic()
        _check_port_free()
        log_dir = self.root / "log"
        log_dir.mkdir(exist_ok=True)
        self._log = (log_dir / "samba.out").open("ab")
        cmd = [_need("samba"), "-s", str(self.conf), "-i", "--debuglevel=1"]
        if max_runtime:
            cmd.append(f"--maximum-runtime={max_runtime}")
        self._process = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = started + timeout
        while not _tls_ready(self.ca_file):
            if self._process.poll() is not None:
                code = self._process.returncode
                self._cleanup()
                raise SambaError(f"samba exited with {code}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise SambaError(f"samba did not answer on {PORT} in {timeout}s")
            time.sleep(0.05)
        # TLS answers before the directory does: wait for a real bind as well, so a test
        # that restarts the DC never meets a DC that is up but not yet serving.
        while not self._bind_ready():
            if time.monotonic() > deadline:
                self.stop()
                raise SambaError(f"samba accepted TLS but no bind in {timeout}s")
            time.sleep(0.1)
        self.timings["start"] = time.monotonic() - started

    def _bind_ready(self) -> bool:
        # A failed attempt may leave ldap3's socket for the collector: not a test's leak.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                with self._admin():
                    return True
            except (LDAPException, OSError):
                return False
            finally:
                gc.collect()

    def stop(self) -> None:
        """SIGTERM to samba's process group (our own child's), SIGKILL if it lingers."""
        proc = self._process
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        # Its prefork children share the group; make sure none outlives the master.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        self._cleanup()

    def close(self) -> None:
        """stop(), and let another session's DC have the ports."""
        self.stop()
        _release_port_lock()

    def _cleanup(self) -> None:
        if self._process is not None and self._process.stdin is not None:
            self._process.stdin.close()
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def pids(self) -> list[int]:
        """The samba processes of this DC (the master and its process group)."""
        if not self.running() or self._process is None:
            return []
        pgid = self._process.pid
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.getpgid(int(entry.name)) == pgid:
                        found.append(int(entry.name))
        return sorted(found)

    def rss_kib(self) -> int:
        """Total resident memory of the samba processes, KiB."""
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total

    def log_tail(self, lines: int = 40) -> str:
        text = ""
        for name in ("samba.out", "samba.log"):
            path = self.root / "log" / name
            if path.exists():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return text

    def settings(self) -> dict[str, str]:
        """The bot's environment for this DC."""
        return {
            "HELPDESK_LDAP_URL": self.url,
            "HELPDESK_LDAP_BIND_DN": self.service_dn,
            "HELPDESK_LDAP_BIND_PASSWORD": self.service_password,
            "HELPDESK_LDAP_BASE_DN": self.base_dn,
            "HELPDESK_LDAP_CA_FILE": str(self.ca_file),
        }


def _close_socket(conn: ldap3.Connection) -> None:
    sock = getattr(conn, "socket", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()


def _escape(value: str) -> str:
    from ldap3.utils.conv import escape_filter_chars

    return str(escape_filter_chars(value))


def _need(tool: str) -> str:
    path = _which(tool)
    if path is None:
        raise SambaMissing(f"{tool} not found. Samba AD DC not installed: {INSTALL_HINT}")
    return path


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300)
    if done.returncode != 0:
        raise SambaError(f"{what} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _take_port_lock(wait: float = LOCK_WAIT) -> None:
    global _port_lock
    if _port_lock is not None:
        return
    lock = LOCK_FILE.open("a+")
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                lock.seek(0)
                holder = lock.read().strip()
                lock.close()
                raise SambaError(
                    f"another test DC (pid {holder}, lock {LOCK_FILE}) kept ports 389/636 "
                    f"for more than {wait:.0f}s"
                ) from None
            time.sleep(0.2)
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    _port_lock = lock


def _release_port_lock() -> None:
    global _port_lock
    if _port_lock is not None:
        _port_lock.close()  # closing the file releases the flock
        _port_lock = None


def _check_port_free() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        if sock.connect_ex(("127.0.0.1", PORT)) == 0:
            raise SambaError(
                f"127.0.0.1:{PORT} is already taken (a system samba? "
                "`systemctl stop samba-ad-dc` or end the other test DC)"
            )


def _tls_ready(ca_file: Path) -> bool:
    """True once a TLS handshake with certificate and hostname checks succeeds."""
    context = ssl.create_default_context(cafile=str(ca_file))
    try:
        with (
            socket.create_connection(("127.0.0.1", PORT), timeout=2) as raw,
            context.wrap_socket(raw, server_hostname=HOST),
        ):
            return True
    except OSError:  # refused while starting; ssl.SSLError is an OSError too
        return False


# -- certificates ---------------------------------------------------------------


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    """A new self-signed CA: (certificate, key) in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    _run(
        [
            _need("openssl"),
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "30",
            "-subj",
            f"/CN={name}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-addext",
            "subjectKeyIdentifier=hash",
        ],
        "openssl (CA)",
    )
    key.chmod(0o600)
    return cert, key


def make_server_cert(directory: Path, ca: tuple[Path, Path]) -> tuple[Path, Path]:
    """A server certificate for DNS:localhost and IP:127.0.0.1 signed by `ca`."""
    cert, key, csr = directory / "server.pem", directory / "server.key", directory / "server.csr"
    ext = directory / "server.ext"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n"
    )
    openssl = _need("openssl")
    _run(
        [
            *(openssl, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost"),
            *("-keyout", str(key), "-out", str(csr)),
        ],
        "openssl (server key)",
    )
    _run(
        [
            *(openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1])),
            *("-CAcreateserial", "-days", "30", "-extfile", str(ext), "-out", str(cert)),
        ],
        "openssl (server cert)",
    )
    key.chmod(0o600)  # samba refuses a key others can read
    return cert, key


# -- provisioning ---------------------------------------------------------------


def provision(root: Path, max_runtime: int | None = None) -> DomainController:
    """Provision a new domain in `root` (created; should be empty), start it, fill it.

    `max_runtime` (seconds) makes samba end itself after that long, as a last guard.
    Raises SambaMissing if samba-tool/samba/openssl are not installed.
    """
    samba_tool = _need("samba-tool")
    _need("samba")
    _need("openssl")
    began = time.monotonic()
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    for sub in ("run", "log", "ncalrpc", "ntp", "winbindd", "certs"):
        (root / sub).mkdir(exist_ok=True)
    certs = root / "certs"
    ca = make_ca(certs, "test-ca")
    server_cert, server_key = make_server_cert(certs, ca)
    empty = root / "empty.conf"
    empty.write_text("")
    options = {
        "interfaces": "lo",
        "bind interfaces only": "yes",
        "server services": "ldap",
        "prefork children": "1",
        "pid directory": str(root / "run"),
        "ncalrpc dir": str(root / "ncalrpc"),
        "ntp signd socket directory": str(root / "ntp"),
        "winbindd socket directory": str(root / "winbindd"),
        "log file": str(root / "log" / "samba.log"),
        "old password allowed period": "0",
        "tls enabled": "yes",
        "tls keyfile": str(server_key),
        "tls certfile": str(server_cert),
        "tls cafile": str(ca[0]),
    }
    timings: dict[str, float] = {"certs": time.monotonic() - began}
    t0 = time.monotonic()
    _run(
        [
            samba_tool,
            "domain",
            "provision",
            "-s",
            str(empty),
            f"--targetdir={root}",
            f"--realm={REALM}",
            f"--domain={DOMAIN}",
            "--server-role=dc",
            "--dns-backend=NONE",
            "--use-rfc2307",
            "--host-name=dc1",
            "--host-ip=127.0.0.1",
            f"--adminpass={ADMIN_PASSWORD}",
            *(f"--option={k}={v}" for k, v in options.items()),
        ],
        "samba-tool domain provision",
    )
    timings["provision"] = time.monotonic() - t0
    dc = DomainController(
        url=URL,
        ca_file=ca[0],
        base_dn=BASE_DN,
        admin_dn=ADMIN_DN,
        admin_password=ADMIN_PASSWORD,
        service_dn=USERS[SERVICE_SAM].dn,
        service_password=SERVICE_PASSWORD,
        root=root,
        timings=timings,
    )
    try:
        dc.start(max_runtime=max_runtime)
        t0 = time.monotonic()
        _populate(dc)
        timings["populate"] = time.monotonic() - t0
        t0 = time.monotonic()
        _delegate(dc, samba_tool)
        timings["delegate"] = time.monotonic() - t0
    except BaseException:
        dc.close()
        raise
    timings["total"] = time.monotonic() - began
    return dc


def _populate(dc: DomainController) -> None:
    with dc._admin() as conn:
        # Password policy (what `samba-tool domain passwordsettings set` writes).
        minutes_30 = str(-30 * 60 * _100NS_PER_SECOND)
        policy = {
            "pwdProperties": "1",  # DOMAIN_PASSWORD_COMPLEX
            "minPwdLength": "10",
            "pwdHistoryLength": "0",
            "minPwdAge": "0",
            "maxPwdAge": str(-90 * 86400 * _100NS_PER_SECOND),
            "lockoutThreshold": "3",
            "lockoutDuration": minutes_30,
            "lockOutObservationWindow": minutes_30,
        }
        conn.modify(dc.base_dn, {k: [(ldap3.MODIFY_REPLACE, [v])] for k, v in policy.items()})
        for ou in OUS:
            conn.add(ou, "organizationalUnit")
        for user in USERS.values():
            attrs: dict[str, Any] = {
                "sAMAccountName": user.sam,
                "userPrincipalName": f"{user.sam}@{DNS_DOMAIN}",
                "mail": f"{user.sam}@{DNS_DOMAIN}",
                "displayName": user.display,
                "unicodePwd": unicode_pwd(user.password),
                "userAccountControl": str(user.uac),
            }
            attrs.update(user.extra)
            conn.add(user.dn, "user", attrs)
        for group, members in GROUP_MEMBERS.items():
            name = group.split(",", 1)[0].removeprefix("CN=")
            conn.add(
                group,
                "group",
                {
                    "sAMAccountName": name,
                    "groupType": str(GLOBAL_SECURITY_GROUP),
                    "member": members,
                },
            )
        conn.modify(DOMAIN_ADMINS, {"member": [(ldap3.MODIFY_ADD, [OPS_ADMINS])]})
        for computer in COMPUTERS.values():
            _add(
                conn,
                computer.dn,
                "computer",
                {
                    "sAMAccountName": f"{computer.name}$",
                    "userAccountControl": str(WORKSTATION_TRUST_ACCOUNT),
                    "operatingSystem": computer.os,
                    "managedBy": USERS[computer.managed_by].dn,
                },
            )
            for key_id, password in computer.keys:
                # Windows names each object "<backup time>{<key id>}".
                _add(
                    conn,
                    f"CN=2026-11-01T09:00:00-00:00{{{key_id}}},{computer.dn}",
                    "msFVE-RecoveryInformation",
                    {
                        "msFVE-RecoveryGuid": uuid.UUID(key_id).bytes_le,
                        "msFVE-RecoveryPassword": password,
                        "msFVE-VolumeGuid": uuid.uuid5(uuid.NAMESPACE_URL, key_id).bytes_le,
                    },
                )


def _add(conn: ldap3.Connection, dn: str, object_class: str, attrs: dict[str, Any]) -> None:
    if not conn.add(dn, object_class, attrs):
        raise SambaError(f"cannot add {dn}: {conn.result}")


def _delegate(dc: DomainController, samba_tool: str) -> None:
    """svc-helpdesk on OU=Staff, inherited to user objects only: Reset Password, and
    read/write lockoutTime and pwdLastSet."""
    sid = dc.read(SERVICE_SAM, "objectSid")["objectSid"][0]
    sid_text = _sid_to_str(sid)
    sddl = (
        f"(OA;CIIO;CR;{RESET_PASSWORD};{USER_CLASS};{sid_text})"
        f"(OA;CIIO;RPWP;{LOCKOUT_TIME};{USER_CLASS};{sid_text})"
        f"(OA;CIIO;RPWP;{PWD_LAST_SET};{USER_CLASS};{sid_text})"
    )
    _run(
        [
            samba_tool,
            "dsacl",
            "set",
            "-s",
            str(dc.conf),
            "-H",
            str(dc.sam_ldb),
            f"--objectdn={STAFF}",
            f"--sddl={sddl}",
        ],
        "samba-tool dsacl set",
    )
    # BitLocker recovery objects in OU=Workstations: read, list and control access (the
    # confidential msFVE-RecoveryPassword needs it), inherited to those objects only.
    _run(
        [
            samba_tool,
            "dsacl",
            "set",
            "-s",
            str(dc.conf),
            "-H",
            str(dc.sam_ldb),
            f"--objectdn={WORKSTATIONS}",
            f"--sddl=(OA;CIIO;RPLCLORCCR;;{RECOVERY_INFORMATION_CLASS};{sid_text})",
        ],
        "samba-tool dsacl set (BitLocker)",
    )


def _sid_to_str(raw: bytes) -> str:
    revision, count = raw[0], raw[1]
    authority = int.from_bytes(raw[2:8], "big")
    subs = [int.from_bytes(raw[8 + 4 * i : 12 + 4 * i], "little") for i in range(count)]
    return f"S-{revision}-{authority}" + "".join(f"-{s}" for s in subs)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.samba_dc DIR   (DIR: a new, empty directory)")
        return 2
    reason = samba_available()
    if reason:
        print(reason, file=sys.stderr)
        return 1

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    dc = provision(Path(argv[0]))
    try:
        for key, value in dc.settings().items():
            print(f"{key}={value}")
        print(f"# admin: {dc.admin_dn} / {dc.admin_password}; users' password: {PASSWORD}")
        print("# running; Ctrl-C to stop", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while dc.running():
                time.sleep(1)
    finally:
        dc.close()
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main(sys.argv[1:]))
    except LDAPException as exc:  # pragma: no cover - developer aid
        raise SystemExit(f"LDAP error: {exc}") from exc
