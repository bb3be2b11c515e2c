"""A stand-in for Microsoft Entra ID's token endpoint and Microsoft Graph, on loopback HTTPS.

One aiohttp server in a background thread serves both, on 127.0.0.1 and a random port,
with a certificate from a CA it makes itself (`make_ca` / `make_server_cert` from
tests/samba_dc.py), so real clients validate TLS against `ca_file`:

    with GraphStandIn(tmp_path) as graph:
        seed_corp(graph)
        session = requests.Session(); session.trust_env = False; session.verify = str(graph.ca_file)
        app = msal.ConfidentialClientApplication(
            graph.client_id, client_credential=graph.client_secret,
            authority=f"{graph.authority_url}/{graph.tenant_id}",
            instance_discovery=False, http_client=session)
        token = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])["access_token"]

The token authority answers msal's OIDC discovery (`GET /{tenant}/v2.0/.well-known/
openid-configuration`) and client-credentials grants at `POST /{tenant}/oauth2/v2.0/token`
with the client secret or a certificate-signed client assertion (RS256 with `x5t`, or
PS256 with `x5t#S256`; the signature is verified). Graph lives under `/v1.0` and wants an
issued bearer token on every call. Errors use the real shapes: AAD's
`{"error", "error_description", "error_codes"}` and Graph's `{"error": {"code", "message"}}`.

Like real Graph (and unlike a naive fake): a user without `$select` has only Graph's
default properties (no accountEnabled, onPremisesSyncEnabled, lastPasswordChangeDateTime);
an unknown `$select` or `$filter` property is a 400; password resets are refused for
synced and federated users and, like TAP creation, for privileged users (403); the TAP
lifetime must fit the default TAP policy (60-480 minutes). Anything the stand-in does
not know (routes, filter functions, `$expand`/`$orderby`/`$search`/`$count`) answers 501
with the route in the message, so a gap fails a test loudly.

`fail_next` injects 429/5xx with Retry-After, optionally after applying the request
(the "may have applied" case). `calls` lists every request.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import string
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from aiohttp import web
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from tests.samba_dc import make_ca, make_server_cert

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
TENANT_ID = "4f1c2a9e-7b3d-4c58-9e21-6a0d8b5f3c17"
CLIENT_ID = "9d3b6e2a-1c4f-4a7e-b8d5-2f6c0e9a1b34"
CLIENT_SECRET = "Qx8~standin.graph-secret_5kLm2Np7"  # the shape of an Entra secret value
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_NS = uuid.UUID("0b3f6c1e-55aa-4d2b-9c77-1e0f2a3b4c5d")  # makes object ids stable per name

# Real SKU ids and service-plan ids (Microsoft's licensing service plan reference).
SKUS = {
    "SPE_E3": "05e9a617-0261-4cee-bb44-138d3ef5d965",
    "SPE_E5": "06ebc4ee-1bb5-47dd-8120-11324bc54e06",
    "ENTERPRISEPACK": "6fd2c87f-b296-42f0-b197-1e91e994b900",
    "POWER_BI_PRO": "f8a1db68-be16-40ed-86d5-cb42ce701560",
    "VISIOCLIENT": "c5928f49-12ba-48f7-ada3-0d743a3601d5",
    "MCOEV": "e43b5b99-8dfb-405f-9987-dc307f34bcbd",
}
PLANS = {  # name -> (servicePlanId, appliesTo)
    "EXCHANGE_S_ENTERPRISE": ("efb87545-963c-4e0d-99df-69c6916d9eb0", "User"),
    "EXCHANGE_S_FOUNDATION": ("113feb6c-3fe4-4440-bddc-54d774bf0318", "Company"),
    "TEAMS1": ("57ff2da0-773e-42df-b2af-ffb7a2317929", "User"),
    "MCOSTANDARD": ("0feaeb32-d00e-4d66-bd5a-43b5b83db82c", "User"),
    "MCOEV": ("4828c8ec-dc2e-4779-b502-87ac9ce28ab7", "User"),
    "MCOMEETADV": ("3e26ee1f-8a5f-4d52-aee2-b81ce45c8f40", "User"),
    "SHAREPOINTENTERPRISE": ("5dbe027f-2339-4123-9542-606e4d348a72", "User"),
    "OFFICESUBSCRIPTION": ("43de0ff5-c92c-492b-9116-175376d08c38", "User"),
    "INTUNE_A": ("c1ec4a95-1f05-45b3-a911-aa3fa01094f5", "User"),
    "AAD_PREMIUM": ("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "User"),
    "AAD_PREMIUM_P2": ("eec0eb4f-6444-4f95-aba0-50c24d67f998", "User"),
    "BI_AZURE_P2": ("70d33638-9c74-4d01-bfd3-562de28bd4ba", "User"),
    "VISIOONLINE": ("2bdbaf8f-738f-4ac7-9234-3c3ee2ce7d0f", "User"),
}
ROLE_TEMPLATES = {
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "Privileged Role Administrator": "e8611ab8-c189-46e8-94e1-60213ab1f814",
    "Privileged Authentication Administrator": "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "Helpdesk Administrator": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    "Authentication Administrator": "c4e39bd9-1100-46d3-8c65-fb160da0071f",
    "Security Administrator": "194ae4cb-b126-40b2-bd5b-6091b380977d",
    "Exchange Administrator": "29232cdf-9323-42fd-ade2-1d097af3e4de",
    "Global Reader": "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
}

USER_DEFAULT = (
    "businessPhones displayName givenName jobTitle mail mobilePhone officeLocation "
    "preferredLanguage surname userPrincipalName id"
).split()
USER_PROPS = (
    USER_DEFAULT
    + (
        "accountEnabled onPremisesSyncEnabled onPremisesImmutableId onPremisesSamAccountName "
        "lastPasswordChangeDateTime userType department usageLocation createdDateTime employeeId "
        "companyName proxyAddresses"
    ).split()
)
GROUP_PROPS = (
    "id displayName description mail mailEnabled mailNickname securityEnabled "
    "isAssignableToRole onPremisesSyncEnabled groupTypes createdDateTime visibility"
).split()
ROLE_PROPS = "id displayName description roleTemplateId".split()
USER_TYPE, GROUP_TYPE, ROLE_TYPE = (
    "#microsoft.graph.user",
    "#microsoft.graph.group",
    "#microsoft.graph.directoryRole",
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- records -------------------------------------------------------------------------------


@dataclass
class Call:
    method: str
    path: str  # as sent, e.g. /v1.0/users/x or /{tenant}/oauth2/v2.0/token
    query: dict[str, str]
    json: Any  # parsed JSON body, or None
    at: float  # time.monotonic()
    form: dict[str, str] = field(default_factory=dict)  # form body (the token endpoint)
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 0  # what the stand-in answered


@dataclass
class _Failure:
    method: str
    path: re.Pattern[str]
    status: int
    retry_after: int
    after_apply: bool
    left: int


@dataclass
class _User:
    id: str
    upn: str
    display_name: str
    mail: str | None
    enabled: bool
    synced: bool
    manager: str | None  # upn, resolved when asked
    licences: list[tuple[str, str, list[tuple[str, str]]]]
    password_changed: datetime
    created: datetime
    properties: dict[str, Any] = field(default_factory=dict)
    password: str | None = None
    force_change: bool | None = None
    taps: list[dict[str, Any]] = field(default_factory=list)
    methods: list[dict[str, Any]] = field(default_factory=list)
    revocations: int = 0


@dataclass
class _Group:
    id: str
    name: str
    owners: list[str]  # user ids
    members: list[str]  # user or group ids
    role_assignable: bool
    security: bool
    synced: bool
    created: datetime


@dataclass
class _Role:
    id: str
    name: str
    template_id: str
    members: list[str]  # user or group ids


class ClientCert(NamedTuple):
    """A client certificate for msal: `{"private_key": key_pem, "thumbprint": thumbprint}`."""

    key_pem: str
    cert_pem: str
    thumbprint: str  # SHA-1, hex (what the Entra portal shows)


def make_client_cert(name: str = "helpdesk-bot") -> ClientCert:
    """A self-signed RSA certificate for a certificate credential (register it with
    `GraphStandIn.add_client_certificate(cert.cert_pem)`)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return ClientCert(key_pem, cert_pem, cert.fingerprint(hashes.SHA1()).hex().upper())


class _Answer(Exception):  # carries an HTTP answer
    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, dict(headers or {})


def _graph_error(status: int, code: str, message: str) -> _Answer:
    return _Answer(status, {"error": {"code": code, "message": message}})


def _aad_error(status: int, error: str, code: int, description: str) -> _Answer:
    return _Answer(
        status,
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description}",
            "error_codes": [code],
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
            "error_uri": "https://login.microsoftonline.com/error?code=" + str(code),
        },
    )


def _not_found(key: str) -> _Answer:
    return _graph_error(
        404,
        "Request_ResourceNotFound",
        f"Resource '{key}' does not exist or one of its queried reference-property "
        "objects are not present.",
    )


def _unsupported(what: str) -> _Answer:
    return _graph_error(501, "NotImplemented", f"graph stand-in does not implement {what}")


# -- OData $filter: `prop eq 'v'` joined by and/or, with parentheses -----------------------

_TOKEN = re.compile(r"\s*(?:(\()|(\))|'((?:[^']|'')*)'|([A-Za-z_][\w/.]*)|(\S))")


def _parse_filter(text: str) -> Any:
    """-> ("or"|"and", [nodes]) or ("eq", prop, value). _Answer(400/501) on what it can't."""
    unquoted = re.sub(r"'(?:[^']|'')*'?", "''", text)
    for function in re.findall(r"([A-Za-z_][\w/]*)\s*\(", unquoted):
        if function.lower() not in ("and", "or"):
            raise _unsupported(f"the $filter function {function}()")
    tokens: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.group(5) is not None:
            raise _graph_error(400, "BadRequest", f"Invalid filter clause: {text}")
        pos = match.end()
        if match.group(1):
            tokens.append(("(", None))
        elif match.group(2):
            tokens.append((")", None))
        elif match.group(3) is not None:
            tokens.append(("str", match.group(3).replace("''", "'")))
        else:
            tokens.append(("word", match.group(4)))
    index = 0

    def peek() -> tuple[str, Any]:
        return tokens[index] if index < len(tokens) else ("end", None)

    def take() -> tuple[str, Any]:
        nonlocal index
        token = peek()
        index += 1
        return token

    def bad() -> _Answer:
        return _graph_error(400, "BadRequest", f"Invalid filter clause: {text}")

    def expr(op: str) -> Any:
        nodes = [expr("and") if op == "or" else atom()]
        while peek() == ("word", op):
            take()
            nodes.append(expr("and") if op == "or" else atom())
        return nodes[0] if len(nodes) == 1 else (op, nodes)

    def atom() -> Any:
        kind, value = take()
        if kind == "(":
            node = expr("or")
            if take()[0] != ")":
                raise bad()
            return node
        if kind != "word":
            raise bad()
        if peek()[0] == "(":
            raise _unsupported(f"the $filter function {value}()")
        op_kind, op = take()
        if op_kind != "word":
            raise bad()
        if op.lower() != "eq":
            if op.lower() in ("ne", "gt", "ge", "lt", "le", "in", "has", "not"):
                raise _unsupported(f"the $filter operator {op}")
            raise bad()
        literal_kind, literal = take()
        if literal_kind == "str":
            return ("eq", value, literal)
        if literal_kind == "word" and literal in ("true", "false", "null"):
            return ("eq", value, {"true": True, "false": False, "null": None}[literal])
        raise bad()

    node = expr("or")
    if index != len(tokens):
        raise bad()
    return node


def _matches(node: Any, item: Mapping[str, Any], props: Mapping[str, str]) -> bool:
    if node[0] in ("or", "and"):
        results = (_matches(child, item, props) for child in node[1])
        return any(results) if node[0] == "or" else all(results)
    _, prop, value = node
    canonical = props.get(prop.lower())
    if canonical is None:
        raise _graph_error(
            400,
            "Request_BadRequest",
            f"Property '{prop}' does not exist as a declared property or extension property.",
        )
    actual = item.get(canonical)
    if isinstance(actual, str) and isinstance(value, str):
        return actual.lower() == value.lower()
    return bool(actual == value)


# -- the stand-in --------------------------------------------------------------------------


class GraphStandIn:
    """Entra's token endpoint plus Microsoft Graph v1.0. `start()` it (or use `with`)."""

    tenant_id = TENANT_ID
    client_id = CLIENT_ID
    client_secret = CLIENT_SECRET

    def __init__(self, tmp: Path) -> None:
        self.tmp = Path(tmp) / "graph-standin"
        self.port = 0
        self.ca_file = self.tmp / "graph-ca.pem"
        self.calls: list[Call] = []
        self.token_requests = 0
        self.authority_down = False
        self.protect_privileged = True  # 403 on resets/TAPs for role holders, as Graph does
        self.tap_policy = {"minimumLifetimeInMinutes": 60, "maximumLifetimeInMinutes": 480}
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.started_in = 0.0  # seconds start() took (certificates + server)
        self._users: dict[str, _User] = {}  # id -> user
        self._groups: dict[str, _Group] = {}
        self._roles: dict[str, _Role] = {}
        self._domains: dict[str, dict[str, Any]] = {}
        self._tokens: dict[str, float] = {}  # access token -> monotonic expiry
        self._client_certs: dict[str, Any] = {}  # "sha1:hex" / "sha256:hex" -> certificate
        self._skiptokens: dict[str, int] = {}
        self._failures: list[_Failure] = []
        self._sign_ins: list[dict[str, Any]] = []
        self._devices: dict[str, dict[str, Any]] = {}
        self._route_table: list[tuple[str, re.Pattern[str], Callable[..., _Answer]]] = []
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------------------

    @property
    def authority_url(self) -> str:
        return f"https://localhost:{self.port}"

    @property
    def graph_url(self) -> str:
        return f"https://localhost:{self.port}/v1.0"

    @property
    def token_endpoint(self) -> str:
        return f"{self.authority_url}/{self.tenant_id}/oauth2/v2.0/token"

    def start(self) -> GraphStandIn:
        import ssl

        began = time.monotonic()
        ca = make_ca(self.tmp, "graph-ca")
        server_cert, server_key = make_server_cert(self.tmp, ca)
        self.ca_file = ca[0]
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(server_cert, server_key)
        started = threading.Event()
        problem: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve(context))
            except BaseException as exc:  # noqa: BLE001 - reported to start()
                problem.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name="graph-standin")
        self._thread.start()
        if not started.wait(10) or problem:
            raise RuntimeError(f"the Graph stand-in did not start: {problem}")
        self.started_in = time.monotonic() - began
        return self

    def stop(self) -> None:
        loop, runner = self._loop, self._runner
        if loop is None or runner is None:
            return
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._runner = None

    def __enter__(self) -> GraphStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _serve(self, context: Any) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    # -- state: tests set the scene ------------------------------------------------------

    def add_user(
        self,
        upn: str,
        display_name: str,
        *,
        mail: str | None = None,
        enabled: bool = True,
        synced: bool = False,
        manager: str | None = None,
        licences: Sequence[tuple[str, str | None, Sequence[tuple[str, str]]]] = (),
        password_changed: datetime | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> str:
        """Add a user; returns its object id. `mail=None` means mail = upn; `""` no mailbox.

        `licences`: [(skuPartNumber, skuId or None for the known id, [(plan, status)])],
        status "Success", "Disabled", "PendingProvisioning"... `properties` adds or
        overrides Graph properties (department, jobTitle, employeeId...).
        """
        now = self.clock()
        user = _User(
            id=str(uuid.uuid5(_NS, "user:" + upn.lower())),
            upn=upn,
            display_name=display_name,
            mail=upn if mail is None else (mail or None),
            enabled=enabled,
            synced=synced,
            manager=manager,
            licences=[
                (sku, sku_id or SKUS.get(sku) or str(uuid.uuid5(_NS, "sku:" + sku)), list(plans))
                for sku, sku_id, plans in licences
            ],
            password_changed=password_changed or now - timedelta(days=30),
            created=now - timedelta(days=400),
            properties=dict(properties or {}),
        )
        with self._lock:
            if self._find_user(upn) is not None:
                raise ValueError(f"user {upn} already exists")
            self._users[user.id] = user
        return user.id

    def add_group(
        self,
        name: str,
        *,
        owners: Iterable[str] = (),
        members: Iterable[str] = (),
        role_assignable: bool = False,
        security: bool = True,
        synced: bool = False,
    ) -> str:
        """Add a group; `members` are upns (with @) or names of groups added before."""
        with self._lock:
            if self._group_by_name(name) is not None:
                raise ValueError(f"group {name} already exists")
            group = _Group(
                id=str(uuid.uuid5(_NS, "group:" + name)),
                name=name,
                owners=[self._user_ref(upn).id for upn in owners],
                members=[self._member_ref(m) for m in members],
                role_assignable=role_assignable,
                security=security,
                synced=synced,
                created=self.clock() - timedelta(days=300),
            )
            self._groups[group.id] = group
        return group.id

    def add_role(self, name: str, members: Iterable[str] = ()) -> str:
        """Activate a directory role (e.g. "Global Administrator") with these members
        (upns, or names of role-assignable groups); returns the role's object id."""
        with self._lock:
            ids = []
            for member in members:
                ref = self._member_ref(member)
                if ref in self._groups and not self._groups[ref].role_assignable:
                    raise ValueError(f"group {member} is not role-assignable")
                ids.append(ref)
            role = _Role(
                id=str(uuid.uuid5(_NS, "role:" + name)),
                name=name,
                template_id=ROLE_TEMPLATES.get(name) or str(uuid.uuid5(_NS, "template:" + name)),
                members=ids,
            )
            self._roles[role.id] = role
        return role.id

    def add_domain(self, name: str, federated: bool = False, *, verified: bool = True) -> None:
        with self._lock:
            self._domains[name.lower()] = {
                "id": name,
                "authenticationType": "Federated" if federated else "Managed",
                "isVerified": verified,
                "isDefault": not self._domains,
                "isInitial": name.lower().endswith(".onmicrosoft.com"),
                "isAdminManaged": True,
                "supportedServices": ["Email", "OfficeCommunicationsOnline"],
            }

    def add_client_certificate(self, cert_pem: str | bytes) -> str:
        """Register a certificate credential on the app; returns its SHA-1 thumbprint (hex)."""
        data = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
        cert = x509.load_pem_x509_certificate(data)
        sha1 = cert.fingerprint(hashes.SHA1()).hex()  # x5t is SHA-1 by spec
        with self._lock:
            self._client_certs["sha1:" + sha1] = cert
            self._client_certs["sha256:" + cert.fingerprint(hashes.SHA256()).hex()] = cert
        return sha1.upper()

    def user_id(self, upn: str) -> str:
        with self._lock:
            return self._user_ref(upn).id

    def group_id(self, name: str) -> str:
        with self._lock:
            group = self._group_by_name(name)
            if group is None:
                raise KeyError(f"no group {name!r} in the Graph stand-in")
            return group.id

    def members_of(self, group: str) -> set[str]:
        """The upns of the group's direct user members."""
        with self._lock:
            found = self._group_by_name(group)
            if found is None:
                raise KeyError(f"no group {group!r} in the Graph stand-in")
            return {self._users[m].upn for m in found.members if m in self._users}

    def password_of(self, upn: str) -> str | None:
        """The password last set through PATCH /users/{id} (None if never)."""
        with self._lock:
            return self._user_ref(upn).password

    def password_changed_at(self, upn: str) -> datetime:
        with self._lock:
            return self._user_ref(upn).password_changed

    def add_sign_in(
        self,
        upn: str,
        at: datetime,
        *,
        app: str = "Office 365 Exchange Online",
        client: str = "Exchange ActiveSync",
        city: str = "Hong Kong",
        country: str = "HK",
        error_code: int = 50126,
        reason: str = "Invalid username or password or Invalid on-premise username or password.",
    ) -> None:
        """Log one sign-in of the user (error_code 0: a success) for auditLogs/signIns."""
        with self._lock:
            user = self._user_ref(upn)
            self._sign_ins.append(
                {
                    "id": str(uuid.uuid4()),
                    "createdDateTime": _iso(at),
                    "userId": user.id,
                    "userPrincipalName": user.upn,
                    "appDisplayName": app,
                    "clientAppUsed": client,
                    "location": {"city": city, "state": "", "countryOrRegion": country},
                    "status": {
                        "errorCode": error_code,
                        "failureReason": reason if error_code else "Other.",
                    },
                }
            )

    def add_managed_device(
        self,
        upn: str,
        name: str,
        *,
        os: str = "Windows",
        version: str = "10.0.22631.4460",
        compliance: str = "compliant",
        last_sync: datetime | None = None,
        encrypted: bool = True,
        failing: Sequence[str] = (),
        owner_type: str = "company",
    ) -> str:
        """An Intune-managed device whose primary user is `upn`; `failing` names the
        compliance settings it fails (its policy states say nonCompliant for them)."""
        with self._lock:
            user = self._user_ref(upn)
            device_id = str(uuid.uuid4())
            self._devices[device_id] = {
                "id": device_id,
                "userId": user.id,
                "deviceName": name,
                "operatingSystem": os,
                "osVersion": version,
                "complianceState": compliance,
                "lastSyncDateTime": _iso(last_sync or self.clock()),
                "isEncrypted": encrypted,
                "managedDeviceOwnerType": owner_type,
                "failing": list(failing),
            }
            return device_id

    _METHOD_TYPES: ClassVar[dict[str, str]] = {
        "authenticator": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
        "phone": "#microsoft.graph.phoneAuthenticationMethod",
        "fido2": "#microsoft.graph.fido2AuthenticationMethod",
    }

    def add_auth_method(
        self, upn: str, kind: str, name: str, created: datetime | None = None
    ) -> str:
        """Register a sign-in method: "authenticator" (`name` the phone model), "phone"
        (`name` the number) or "fido2" (`name` the key model); returns its id."""
        with self._lock:
            user = self._user_ref(upn)
            method: dict[str, Any] = {
                "@odata.type": self._METHOD_TYPES[kind],
                "id": str(uuid.uuid4()),
                "createdDateTime": _iso(created or self.clock()),
            }
            if kind == "phone":
                method.update(phoneNumber=name, phoneType="mobile", smsSignInState="notEnabled")
            elif kind == "fido2":
                method.update(model=name, displayName=name)
            else:
                method.update(displayName=name, deviceTag="SoftwareTokenActivated")
            user.methods.append(method)
            return str(method["id"])

    def methods_of(self, upn: str) -> list[str]:
        """Display names (or numbers) of the user's registered methods, in order."""
        with self._lock:
            return [
                str(m.get("displayName") or m.get("phoneNumber"))
                for m in self._user_ref(upn).methods
            ]

    def sessions_of(self, upn: str) -> tuple[int, bool | None]:
        """(how many times the user's sessions were revoked, forceChangePasswordNextSignIn)."""
        with self._lock:
            user = self._user_ref(upn)
            return user.revocations, user.force_change

    def taps_of(self, upn: str) -> list[dict[str, Any]]:
        """Every Temporary Access Pass issued to the user, secrets included."""
        with self._lock:
            return [dict(tap) for tap in self._user_ref(upn).taps]

    def expire_tokens(self) -> None:
        """Make every issued access token expired (Graph then answers 401)."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    # -- what the client did -------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        after_apply: bool = False,
    ) -> None:
        """The next `times` requests matching (method, re.search(path_regex, path)) get
        `status` with Retry-After; with `after_apply` they are applied first."""
        with self._lock:
            self._failures.append(
                _Failure(
                    method.upper(), re.compile(path_regex), status, retry_after, after_apply, times
                )
            )

    def called(self, method: str, path_regex: str) -> list[Call]:
        pattern = re.compile(path_regex)
        with self._lock:
            return [c for c in self.calls if c.method == method.upper() and pattern.search(c.path)]

    def wait_for(
        self,
        method: str,
        path_regex: str,
        count: int = 1,
        timeout: float = 10.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until a matching request was answered `count` times; return those calls."""
        deadline = time.monotonic() + timeout
        while True:
            found = [
                c
                for c in self.called(method, path_regex)
                if c.status and (where is None or where(c))
            ]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                seen = sorted({f"{c.method} {c.path}" for c in self.calls})
                raise AssertionError(
                    f"{method} {path_regex} called {len(found)}x, wanted {count} (saw {seen})"
                )
            time.sleep(0.02)

    # -- dispatch ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body: Any = None
        form: dict[str, str] = {}
        bad_json = False
        if raw and request.content_type == "application/x-www-form-urlencoded":
            parsed = urllib.parse.parse_qs(raw.decode(), keep_blank_values=True)
            form = {k: v[0] for k, v in parsed.items()}
        elif raw:
            try:
                body = json.loads(raw)
            except ValueError:
                bad_json = True
        call = Call(
            request.method,
            request.path,
            dict(request.query),
            body,
            time.monotonic(),
            form,
            dict(request.headers),
        )
        is_graph = request.path.startswith("/v1.0/") or request.path == "/v1.0"
        with self._lock:
            self.calls.append(call)
            failure = self._take_failure(call)
            try:
                if failure is not None and not failure.after_apply:
                    raise self._injected(failure, is_graph)
                if bad_json:
                    raise _graph_error(400, "BadRequest", "Unable to read JSON request payload.")
                answer = self._graph(request, call) if is_graph else self._authority(call)
                if failure is not None:
                    raise self._injected(failure, is_graph)
            except _Answer as exc:
                answer = exc
        headers = {"request-id": str(uuid.uuid4()), **answer.headers}
        client_request_id = request.headers.get("client-request-id")
        if client_request_id:
            headers["client-request-id"] = client_request_id
        call.status = answer.status
        if answer.body is None:
            return web.Response(status=answer.status, headers=headers)
        return web.json_response(answer.body, status=answer.status, headers=headers)

    def _take_failure(self, call: Call) -> _Failure | None:
        for failure in self._failures:
            if (
                failure.left > 0
                and failure.method == call.method
                and failure.path.search(call.path)
            ):
                failure.left -= 1
                return failure
        return None

    @staticmethod
    def _injected(failure: _Failure, is_graph: bool) -> _Answer:
        code = {
            429: "TooManyRequests",
            503: "ServiceUnavailable",
            504: "GatewayTimeout",
        }.get(failure.status, "UnknownError")
        message = "Too many requests." if failure.status == 429 else "Injected failure."
        headers = {"Retry-After": str(failure.retry_after)}
        if is_graph:
            return _Answer(failure.status, {"error": {"code": code, "message": message}}, headers)
        return _Answer(
            failure.status,
            {"error": "temporarily_unavailable", "error_description": message},
            headers,
        )

    # -- the token authority -------------------------------------------------------------

    def _authority(self, call: Call) -> _Answer:
        parts = call.path.strip("/").split("/")
        if call.method == "GET" and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            return self._discovery(parts[0])
        if call.method == "POST" and parts[1:] == ["oauth2", "v2.0", "token"]:
            self.token_requests += 1
            return self._token(parts[0], call.form)
        raise _unsupported(f"{call.method} {call.path}")

    def _known_tenant(self, tenant: str) -> bool:
        return tenant.lower() == self.tenant_id or tenant.lower() in self._domains

    def _discovery(self, tenant: str) -> _Answer:
        if self.authority_down:
            raise _Answer(503, {"error": "temporarily_unavailable"})
        if not self._known_tenant(tenant):
            raise _aad_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
        base = f"{self.authority_url}/{self.tenant_id}"
        return _Answer(
            200,
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/v2.0",
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": f"{self.graph_url}/oidc/userinfo",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "oid"],
                "tenant_region_scope": "AS",
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
            },
        )

    def _token(self, tenant: str, form: Mapping[str, str]) -> _Answer:
        if self.authority_down:
            raise _Answer(
                503,
                {
                    "error": "temporarily_unavailable",
                    "error_description": "AADSTS90033: A transient error has occurred.",
                },
            )
        if not self._known_tenant(tenant):
            raise _aad_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            raise _aad_error(
                400,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type "
                f"'{form.get('grant_type')}' (the stand-in knows client_credentials).",
            )
        if form.get("client_id") != self.client_id:
            raise _aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id')}' was not found in the "
                f"directory '{self.tenant_id}'.",
            )
        scopes = form.get("scope", "").split()
        if not scopes or any(not s.endswith("/.default") for s in scopes):
            raise _aad_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {form.get('scope', '')} is not valid. Client "
                "credential flows must have a scope value with /.default suffixed to the "
                "resource identifier (application ID URI).",
            )
        if "client_assertion" in form:
            self._check_assertion(form)
        elif "client_secret" in form:
            if not secrets.compare_digest(form["client_secret"], self.client_secret):
                raise _aad_error(
                    401,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the "
                    "request is the client secret value, not the client secret ID, for a "
                    f"secret added to app '{self.client_id}'.",
                )
        else:
            raise _aad_error(
                401,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the "
                "'client_credentials' grant type.",
            )
        token = secrets.token_urlsafe(48)
        self._tokens[token] = time.monotonic() + 3600
        return _Answer(
            200,
            {
                "token_type": "Bearer",
                "expires_in": 3600,
                "ext_expires_in": 3600,
                "access_token": token,
            },
        )

    def _check_assertion(self, form: Mapping[str, str]) -> None:
        def refuse(code: int, why: str) -> _Answer:
            return _aad_error(401, "invalid_client", code, why)

        if form.get("client_assertion_type") != JWT_BEARER:
            raise _aad_error(
                400, "invalid_request", 50027, "Invalid client_assertion_type, want jwt-bearer."
            )
        try:
            head64, claims64, sig64 = form["client_assertion"].split(".")
            header = json.loads(_b64url_decode(head64))
            claims = json.loads(_b64url_decode(claims64))
            signature = _b64url_decode(sig64)
        except ValueError:
            raise refuse(50027, "Invalid JWT token. The token is malformed.") from None
        if "x5t#S256" in header:
            key = "sha256:" + _b64url_decode(header["x5t#S256"]).hex()
        elif "x5t" in header:
            key = "sha1:" + _b64url_decode(header["x5t"]).hex()
        else:
            raise refuse(700027, "Client assertion contains no certificate thumbprint (x5t).")
        cert = self._client_certs.get(key)
        if cert is None:
            raise refuse(
                700027,
                "The certificate with identifier used to sign the client assertion is not "
                f"registered on application. [Reason - The key was not found., Thumbprint of "
                f"key used by client: '{key.split(':')[1].upper()}']",
            )
        signed = f"{head64}.{claims64}".encode()
        public_key = cert.public_key()
        try:
            if header.get("alg") == "RS256":
                public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
            elif header.get("alg") == "PS256":
                pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
                public_key.verify(signature, signed, pss, hashes.SHA256())
            else:
                raise refuse(700027, f"Unsupported client assertion algorithm {header.get('alg')}.")
        except InvalidSignature:
            raise refuse(700027, "Client assertion failed signature validation.") from None
        now = time.time()
        if not (claims.get("nbf", 0) - 300 <= now < claims.get("exp", 0) + 300):
            raise refuse(700024, "Client assertion is not within its valid time range.")
        if claims.get("aud") != self.token_endpoint:
            raise refuse(
                700021, f"Client assertion audience claim does not match: {claims.get('aud')}"
            )
        if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id:
            raise refuse(700023, "Client assertion issuer/subject is not the client id.")

    # -- Graph ---------------------------------------------------------------------------

    def _graph(self, request: web.Request, call: Call) -> _Answer:
        auth = request.headers.get("Authorization", "")
        www = {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'}
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            raise _Answer(
                401,
                {
                    "error": {
                        "code": "InvalidAuthenticationToken",
                        "message": "Access token is empty.",
                    }
                },
                www,
            )
        expiry = self._tokens.get(auth[7:].strip())
        if expiry is None:
            raise _Answer(
                401,
                {
                    "error": {
                        "code": "InvalidAuthenticationToken",
                        "message": "IDX14100: JWT is not well formed, there are no dots (.).",
                    }
                },
                www,
            )
        if expiry <= time.monotonic():
            raise _Answer(
                401,
                {
                    "error": {
                        "code": "InvalidAuthenticationToken",
                        "message": "Lifetime validation failed, the token is expired.",
                    }
                },
                www,
            )
        for param in call.query:
            if param.lower() in ("$expand", "$orderby", "$search", "$count", "$format"):
                raise _unsupported(f"{param} (on {call.method} {call.path})")
        route = call.path[len("/v1.0") :].rstrip("/")
        if not self._route_table:
            self._route_table = self._routes()
        for method, pattern, handler in self._route_table:
            match = pattern.fullmatch(route)
            if match and method == call.method:
                return handler(call, *match.groups())
        raise _unsupported(f"{call.method} {call.path}")

    def _routes(self) -> list[tuple[str, re.Pattern[str], Callable[..., _Answer]]]:
        seg = r"([^/]+)"
        table: list[tuple[str, str, Callable[..., _Answer]]] = [
            ("GET", "/users", self._list_users),
            ("GET", f"/users/{seg}", self._get_user),
            ("PATCH", f"/users/{seg}", self._patch_user),
            ("GET", f"/users/{seg}/manager", self._get_manager),
            ("GET", f"/users/{seg}/authentication/methods", self._list_methods),
            (
                "DELETE",
                f"/users/{seg}/authentication/microsoftAuthenticatorMethods/{seg}",
                self._delete_authenticator,
            ),
            ("POST", f"/users/{seg}/revokeSignInSessions", self._revoke_sessions),
            ("GET", f"/users/{seg}/licenseDetails", self._license_details),
            ("GET", f"/users/{seg}/transitiveMemberOf", self._transitive_member_of),
            ("GET", f"/users/{seg}/authentication/temporaryAccessPassMethods", self._list_taps),
            ("POST", f"/users/{seg}/authentication/temporaryAccessPassMethods", self._create_tap),
            (
                "GET",
                f"/users/{seg}/authentication/temporaryAccessPassMethods/{seg}",
                self._get_tap,
            ),
            (
                "DELETE",
                f"/users/{seg}/authentication/temporaryAccessPassMethods/{seg}",
                self._delete_tap,
            ),
            ("GET", "/groups", self._list_groups),
            ("GET", f"/groups/{seg}", self._get_group),
            ("GET", f"/groups/{seg}/owners", self._group_owners),
            ("GET", f"/groups/{seg}/members", self._group_members),
            ("POST", f"/groups/{seg}/members/\\$ref", self._add_member),
            ("GET", f"/domains/{seg}", self._get_domain),
            ("GET", "/auditLogs/signIns", self._list_sign_ins),
            ("GET", f"/users/{seg}/managedDevices", self._user_devices),
            (
                "GET",
                f"/deviceManagement/managedDevices/{seg}/deviceCompliancePolicyStates",
                self._device_policy_states,
            ),
        ]
        return [(m, re.compile(p), h) for m, p, h in table]

    # -- rendering -----------------------------------------------------------------------

    def _user_json(self, user: _User) -> dict[str, Any]:
        given, _, surname = user.display_name.partition(" ")
        data: dict[str, Any] = {
            "id": user.id,
            "businessPhones": [],
            "displayName": user.display_name,
            "givenName": given or None,
            "surname": surname or None,
            "jobTitle": None,
            "mail": user.mail,
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": None,
            "userPrincipalName": user.upn,
            "accountEnabled": user.enabled,
            "onPremisesSyncEnabled": True if user.synced else None,
            "onPremisesImmutableId": (
                base64.b64encode(uuid.UUID(user.id).bytes).decode() if user.synced else None
            ),
            "onPremisesSamAccountName": user.upn.split("@")[0] if user.synced else None,
            "lastPasswordChangeDateTime": _iso(user.password_changed),
            "userType": "Member",
            "department": None,
            "usageLocation": "HK" if user.licences else None,
            "createdDateTime": _iso(user.created),
            "employeeId": None,
            "companyName": None,
            "proxyAddresses": [f"SMTP:{user.mail}"] if user.mail else [],
        }
        data.update(user.properties)
        return data

    def _group_json(self, group: _Group) -> dict[str, Any]:
        return {
            "id": group.id,
            "displayName": group.name,
            "description": None,
            "mail": None,
            "mailEnabled": False,
            "mailNickname": re.sub(r"[^A-Za-z0-9]", "", group.name) or group.id[:8],
            "securityEnabled": group.security,
            "isAssignableToRole": group.role_assignable,
            "onPremisesSyncEnabled": True if group.synced else None,
            "groupTypes": [],
            "createdDateTime": _iso(group.created),
            "visibility": None,
        }

    def _role_json(self, role: _Role) -> dict[str, Any]:
        return {
            "id": role.id,
            "displayName": role.name,
            "description": f"{role.name} (a directory role in the Graph stand-in).",
            "roleTemplateId": role.template_id,
        }

    def _object_json(self, object_id: str) -> dict[str, Any]:
        if object_id in self._users:
            return {"@odata.type": USER_TYPE, **self._user_json(self._users[object_id])}
        if object_id in self._groups:
            return {"@odata.type": GROUP_TYPE, **self._group_json(self._groups[object_id])}
        return {"@odata.type": ROLE_TYPE, **self._role_json(self._roles[object_id])}

    @staticmethod
    def _select(
        call: Call, item: dict[str, Any], allowed: Sequence[str], default: Sequence[str] | None
    ) -> dict[str, Any]:
        """Apply $select (else the type's default set); `@odata.type` and `id` stay."""
        raw = next((v for k, v in call.query.items() if k.lower() == "$select"), None)
        canonical = {p.lower(): p for p in allowed}
        if raw is None:
            wanted = list(default) if default is not None else list(item)
        else:
            wanted = []
            for name in (n.strip() for n in raw.split(",") if n.strip()):
                if name.lower() not in canonical:
                    raise _graph_error(
                        400,
                        "Request_BadRequest",
                        f"Could not find a property named '{name}' on type "
                        "'microsoft.graph.directoryObject'.",
                    )
                wanted.append(canonical[name.lower()])
        keep = {"@odata.type", "id", *wanted}
        return {k: v for k, v in item.items() if k in keep}

    def _collection(
        self,
        call: Call,
        items: list[dict[str, Any]],
        allowed: Sequence[str],
        default: Sequence[str] | None = None,
    ) -> _Answer:
        query = {k.lower(): v for k, v in call.query.items()}
        top_text = query.get("$top", "100")
        try:
            top = int(top_text)
        except ValueError:
            top = 0
        if not 1 <= top <= 999:
            raise _graph_error(
                400,
                "Request_UnsupportedQuery",
                f"Invalid page size specified: '{top_text}'. Must be between 1 and 999 inclusive.",
            )
        offset = 0
        if "$skiptoken" in query:
            if query["$skiptoken"] not in self._skiptokens:
                raise _graph_error(400, "Request_BadRequest", "Invalid $skiptoken.")
            offset = self._skiptokens[query["$skiptoken"]]
        page = items[offset : offset + top]
        body: dict[str, Any] = {"value": [self._select(call, i, allowed, default) for i in page]}
        if offset + top < len(items):
            token = "RFNwdAIA" + secrets.token_hex(12)
            self._skiptokens[token] = offset + top
            params = {k: v for k, v in call.query.items() if k.lower() != "$skiptoken"}
            params["$skiptoken"] = token
            encoded = urllib.parse.urlencode(params, quote_via=urllib.parse.quote, safe="$,'()")
            body["@odata.nextLink"] = f"{self.authority_url}{call.path}?{encoded}"
        return _Answer(200, body)

    def _filtered(self, call: Call, items: list[dict[str, Any]], props: Sequence[str]) -> list:
        raw = next((v for k, v in call.query.items() if k.lower() == "$filter"), None)
        if raw is None:
            return items
        node = _parse_filter(raw)
        canonical = {p.lower(): p for p in props}
        return [item for item in items if _matches(node, item, canonical)]

    # -- lookups -------------------------------------------------------------------------

    def _find_user(self, key: str) -> _User | None:
        key = key.lower()
        if key in self._users:
            return self._users[key]
        return next((u for u in self._users.values() if u.upn.lower() == key), None)

    def _user_ref(self, key: str) -> _User:
        user = self._find_user(key)
        if user is None:
            raise KeyError(f"no user {key!r} in the Graph stand-in")
        return user

    def _group_by_name(self, name: str) -> _Group | None:
        return next((g for g in self._groups.values() if g.name.lower() == name.lower()), None)

    def _member_ref(self, ref: str) -> str:
        if "@" in ref:
            return self._user_ref(ref).id
        group = self._group_by_name(ref)
        if group is None:
            raise KeyError(f"no group {ref!r} in the Graph stand-in (add it first)")
        return group.id

    def _user_or_404(self, key: str) -> _User:
        user = self._find_user(key)
        if user is None:
            raise _not_found(key)
        return user

    def _group_or_404(self, key: str) -> _Group:
        group = self._groups.get(key.lower())
        if group is None:
            raise _not_found(key)
        return group

    def _containers(self, object_id: str) -> list[str]:
        """Groups and roles holding `object_id`, directly or through nested groups."""
        found: set[str] = set()
        frontier = [object_id]
        while frontier:
            current = frontier.pop()
            for holder in [*self._groups.values(), *self._roles.values()]:
                if current in holder.members and holder.id not in found:
                    found.add(holder.id)
                    frontier.append(holder.id)
        return [i for i in [*self._groups, *self._roles] if i in found]

    def _privileged(self, user: _User) -> bool:
        return any(
            c in self._roles or self._groups[c].role_assignable for c in self._containers(user.id)
        )

    # -- Graph handlers ------------------------------------------------------------------

    def _list_users(self, call: Call) -> _Answer:
        items = [self._user_json(u) for u in self._users.values()]
        items = self._filtered(call, items, USER_PROPS)
        return self._collection(call, items, USER_PROPS, USER_DEFAULT)

    def _get_user(self, call: Call, key: str) -> _Answer:
        user = self._user_or_404(key)
        return _Answer(200, self._select(call, self._user_json(user), USER_PROPS, USER_DEFAULT))

    def _get_manager(self, call: Call, key: str) -> _Answer:
        user = self._user_or_404(key)
        manager = self._find_user(user.manager) if user.manager else None
        if manager is None:
            raise _not_found("manager")
        item = {"@odata.type": USER_TYPE, **self._user_json(manager)}
        return _Answer(200, self._select(call, item, USER_PROPS, USER_DEFAULT))

    def _license_details(self, call: Call, key: str) -> _Answer:
        user = self._user_or_404(key)
        items = []
        for sku, sku_id, plans in user.licences:
            service_plans = []
            for plan, status in plans:
                plan_id, applies = PLANS.get(plan) or (str(uuid.uuid5(_NS, "plan:" + plan)), "User")
                service_plans.append(
                    {
                        "servicePlanId": plan_id,
                        "servicePlanName": plan,
                        "provisioningStatus": status,
                        "appliesTo": applies,
                    }
                )
            detail_id = base64.urlsafe_b64encode(
                uuid.UUID(user.id).bytes + uuid.UUID(sku_id).bytes
            ).decode()
            detail_id = detail_id.rstrip("=")
            items.append(
                {
                    "id": detail_id,
                    "skuId": sku_id,
                    "skuPartNumber": sku,
                    "servicePlans": service_plans,
                }
            )
        return self._collection(call, items, ["id", "skuId", "skuPartNumber", "servicePlans"])

    def _transitive_member_of(self, call: Call, key: str) -> _Answer:
        user = self._user_or_404(key)
        items = [self._object_json(i) for i in self._containers(user.id)]
        return self._collection(call, items, sorted({*GROUP_PROPS, *ROLE_PROPS}))

    def _list_groups(self, call: Call) -> _Answer:
        items = [self._group_json(g) for g in self._groups.values()]
        items = self._filtered(call, items, GROUP_PROPS)
        return self._collection(call, items, GROUP_PROPS)

    def _get_group(self, call: Call, key: str) -> _Answer:
        group = self._group_or_404(key)
        return _Answer(200, self._select(call, self._group_json(group), GROUP_PROPS, None))

    def _group_owners(self, call: Call, key: str) -> _Answer:
        group = self._group_or_404(key)
        items = [self._object_json(i) for i in group.owners]
        return self._collection(call, items, USER_PROPS, USER_DEFAULT)

    def _group_members(self, call: Call, key: str) -> _Answer:
        group = self._group_or_404(key)
        items = [self._object_json(i) for i in group.members]
        allowed = sorted({*USER_PROPS, *GROUP_PROPS})
        return self._collection(call, items, allowed)

    def _add_member(self, call: Call, key: str) -> _Answer:
        group = self._group_or_404(key)
        ref = (call.json or {}).get("@odata.id") if isinstance(call.json, dict) else None
        if not isinstance(ref, str) or "/" not in ref:
            raise _graph_error(
                400, "Request_BadRequest", "Invalid request body: @odata.id is required."
            )
        object_id = ref.rstrip("/").rsplit("/", 1)[1].lower()
        if object_id not in self._users and object_id not in self._groups:
            raise _not_found(object_id)
        if group.role_assignable:
            raise _graph_error(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            )
        if group.synced:
            raise _graph_error(
                400,
                "Request_BadRequest",
                "Unable to update the specified properties for on-premises mastered Directory "
                "Sync objects or objects currently undergoing migration.",
            )
        if object_id in group.members:
            raise _graph_error(
                400,
                "Request_BadRequest",
                "One or more added object references already exist for the following "
                "modified properties: 'members'.",
            )
        group.members.append(object_id)
        return _Answer(204, None)

    def _patch_user(self, call: Call, key: str) -> _Answer:
        user = self._user_or_404(key)
        body = call.json if isinstance(call.json, dict) else {}
        profile = body.get("passwordProfile")
        if set(body) != {"passwordProfile"} or not isinstance(profile, dict):
            raise _graph_error(
                400,
                "Request_BadRequest",
                "The graph stand-in accepts only passwordProfile in PATCH /users "
                f"(got {sorted(body)}).",
            )
        password = profile.get("password")
        if password is None and set(profile) == {"forceChangePasswordNextSignIn"}:
            # Graph lets an admin require a change without setting a password (the user
            # keeps signing in with the current one, to choose a new one)
            self._check_password_writable(user)
            user.force_change = bool(profile["forceChangePasswordNextSignIn"])
            return _Answer(204, None)
        extra = set(profile) - {
            "password",
            "forceChangePasswordNextSignIn",
            "forceChangePasswordNextSignInWithMfa",
        }
        if not isinstance(password, str) or extra:
            raise _graph_error(400, "Request_BadRequest", "Invalid passwordProfile.")
        self._check_password_writable(user)
        classes = [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
        if not 8 <= len(password) <= 256 or sum(classes) < 3:
            raise _graph_error(
                400,
                "Request_BadRequest",
                "The specified password does not comply with password complexity requirements. "
                "Please provide a different password.",
            )
        user.password = password
        user.force_change = bool(profile.get("forceChangePasswordNextSignIn", True))
        user.password_changed = self.clock()
        return _Answer(204, None)

    def _check_password_writable(self, user: _User) -> None:
        """What Entra says when the app may not change this user's password profile."""
        if self.protect_privileged and self._privileged(user):
            raise _graph_error(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            )
        if user.synced:
            raise _graph_error(
                400,
                "Request_BadRequest",
                "Unable to update the specified properties for on-premises mastered Directory "
                "Sync objects or objects currently undergoing migration.",
            )
        domain = self._domains.get(user.upn.split("@")[1].lower())
        if domain is not None and domain["authenticationType"] == "Federated":
            raise _graph_error(
                400,
                "Request_BadRequest",
                "The password of a user in a federated domain cannot be updated in Entra ID.",
            )

    def _list_sign_ins(self, call: Call) -> _Answer:
        """Newest first, as Graph returns them; `$filter` on userId (eq) only, and no
        `$select` (the sign-in log does not take one here)."""
        if any(k.lower() == "$select" for k in call.query):
            raise _unsupported("$select on auditLogs/signIns")
        items = sorted(self._sign_ins, key=lambda s: s["createdDateTime"], reverse=True)
        found = self._filtered(call, items, ["userId", "userPrincipalName", "appDisplayName"])
        return self._collection(call, found, [])

    _DEVICE_PROPS: ClassVar[tuple[str, ...]] = (
        "id",
        "deviceName",
        "operatingSystem",
        "osVersion",
        "complianceState",
        "lastSyncDateTime",
        "isEncrypted",
        "managedDeviceOwnerType",
        "userId",
    )

    def _user_devices(self, call: Call, key: str) -> _Answer:
        user = self._user_or_404(key)
        mine = [
            {k: v for k, v in d.items() if k in self._DEVICE_PROPS}
            for d in self._devices.values()
            if d["userId"] == user.id
        ]
        return self._collection(call, mine, self._DEVICE_PROPS)

    def _device_policy_states(self, call: Call, device_id: str) -> _Answer:
        device = self._devices.get(device_id)
        if device is None:
            raise _not_found(device_id)
        settings = [
            {
                "setting": f"Windows10CompliancePolicy.{name}",
                "settingName": name,
                "state": "nonCompliant",
            }
            for name in device["failing"]
        ]
        state = "nonCompliant" if settings else "compliant"
        policy = {
            "id": "policy-1",
            "displayName": "Windows 10 baseline",
            "state": state,
            "settingStates": settings,
        }
        return _Answer(200, {"value": [policy]})

    def _list_methods(self, call: Call, key: str) -> _Answer:
        """The password method, every registered method and the usable TAPs (no secrets)."""
        user = self._user_or_404(key)
        password = {
            "@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
            "id": "28c10230-6103-485e-b985-444c60001490",
            "password": None,
            "createdDateTime": _iso(user.created),
        }
        taps = [
            {
                "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
                **self._tap_json(t, secret=False),
            }
            for t in user.taps
        ]
        return _Answer(200, {"value": [password, *user.methods, *taps]})

    def _delete_authenticator(self, call: Call, key: str, method_id: str) -> _Answer:
        user = self._user_or_404(key)
        kept = [
            m
            for m in user.methods
            if not (
                m["id"] == method_id and m["@odata.type"] == self._METHOD_TYPES["authenticator"]
            )
        ]
        if len(kept) == len(user.methods):
            raise _not_found(method_id)
        user.methods = kept
        return _Answer(204, None)

    def _revoke_sessions(self, call: Call, key: str) -> _Answer:
        """POST revokeSignInSessions: every refresh token issued before now stops working;
        privileged users need a higher role than the app's (403, as Entra answers)."""
        user = self._user_or_404(key)
        if self.protect_privileged and self._privileged(user):
            raise _graph_error(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            )
        user.properties["signInSessionsValidFromDateTime"] = _iso(self.clock())
        user.revocations += 1
        return _Answer(200, {"value": True})

    def _tap_window(self, tap: Mapping[str, Any]) -> tuple[datetime, datetime]:
        start = datetime.fromisoformat(tap["startDateTime"].replace("Z", "+00:00"))
        return start, start + timedelta(minutes=tap["lifetimeInMinutes"])

    def _tap_json(self, tap: Mapping[str, Any], secret: bool) -> dict[str, Any]:
        data = dict(tap)
        start, end = self._tap_window(tap)
        now = self.clock()
        data["isUsable"] = start <= now < end
        data["methodUsabilityReason"] = (
            "EnabledByPolicy" if data["isUsable"] else "NotYetValid" if now < start else "Expired"
        )
        if not secret:
            data["temporaryAccessPass"] = None
        return data

    def _list_taps(self, call: Call, key: str) -> _Answer:
        user = self._user_or_404(key)
        return _Answer(200, {"value": [self._tap_json(t, secret=False) for t in user.taps]})

    def _get_tap(self, call: Call, key: str, tap_id: str) -> _Answer:
        user = self._user_or_404(key)
        tap = next((t for t in user.taps if t["id"] == tap_id), None)
        if tap is None:
            raise _not_found(tap_id)
        return _Answer(200, self._tap_json(tap, secret=False))

    def _delete_tap(self, call: Call, key: str, tap_id: str) -> _Answer:
        user = self._user_or_404(key)
        kept = [t for t in user.taps if t["id"] != tap_id]
        if len(kept) == len(user.taps):
            raise _not_found(tap_id)
        user.taps = kept
        return _Answer(204, None)

    def _create_tap(self, call: Call, key: str) -> _Answer:
        user = self._user_or_404(key)
        body = call.json if isinstance(call.json, dict) else {}
        unknown = set(body) - {"lifetimeInMinutes", "isUsableOnce", "startDateTime"}
        if unknown:
            raise _graph_error(400, "badRequest", f"Unknown properties: {sorted(unknown)}")
        lifetime = body.get("lifetimeInMinutes", 60)
        low, high = (
            self.tap_policy["minimumLifetimeInMinutes"],
            self.tap_policy["maximumLifetimeInMinutes"],
        )
        if not isinstance(lifetime, int) or not low <= lifetime <= high:
            raise _graph_error(
                400,
                "badRequest",
                f"lifetimeInMinutes must be between {low} and {high} "
                "(Temporary Access Pass policy).",
            )
        if self.protect_privileged and self._privileged(user):
            raise _graph_error(
                403, "accessDenied", "Request Authorization failed (privileged target user)."
            )
        now = self.clock()
        if any(now < self._tap_window(t)[1] for t in user.taps):
            raise _graph_error(
                400,
                "badRequest",
                "A Temporary Access Pass already exists for this user; only one is allowed.",
            )
        start = body.get("startDateTime")
        start_at = datetime.fromisoformat(start.replace("Z", "+00:00")) if start else now
        alphabet = string.ascii_letters + string.digits + "!@#%+=?"
        tap = {
            "id": str(uuid.uuid4()),
            "temporaryAccessPass": "".join(secrets.choice(alphabet) for _ in range(8)),
            "createdDateTime": _iso(now),
            "startDateTime": _iso(start_at),
            "lifetimeInMinutes": lifetime,
            "isUsableOnce": bool(body.get("isUsableOnce", False)),
        }
        user.taps.append(tap)
        return _Answer(201, self._tap_json(tap, secret=True))

    def _get_domain(self, call: Call, name: str) -> _Answer:
        domain = self._domains.get(name.lower())
        if domain is None:
            raise _not_found(name)
        return _Answer(200, self._select(call, dict(domain), list(domain), None))


# -- a small tenant ------------------------------------------------------------------------


def seed_corp(standin: GraphStandIn) -> dict[str, str]:
    """corp.example.com (managed) and fed.example.com (federated); returns name -> id."""
    ok, off = "Success", "Disabled"
    e3 = (
        "SPE_E3",
        None,
        [
            ("EXCHANGE_S_ENTERPRISE", ok),
            ("TEAMS1", ok),
            ("MCOSTANDARD", ok),
            ("SHAREPOINTENTERPRISE", ok),
            ("OFFICESUBSCRIPTION", ok),
            ("INTUNE_A", ok),
            ("AAD_PREMIUM", ok),
        ],
    )
    e5 = (
        "SPE_E5",
        None,
        [
            ("EXCHANGE_S_ENTERPRISE", ok),
            ("TEAMS1", ok),
            ("MCOSTANDARD", ok),
            ("MCOEV", ok),
            ("MCOMEETADV", ok),
            ("SHAREPOINTENTERPRISE", ok),
            ("OFFICESUBSCRIPTION", ok),
            ("BI_AZURE_P2", ok),
            ("INTUNE_A", ok),
            ("AAD_PREMIUM", ok),
            ("AAD_PREMIUM_P2", ok),
        ],
    )
    power_bi = ("POWER_BI_PRO", None, [("EXCHANGE_S_FOUNDATION", ok), ("BI_AZURE_P2", off)])
    standin.add_domain("corp.example.com")
    standin.add_domain("corpexample.onmicrosoft.com")
    standin.add_domain("fed.example.com", federated=True)
    now = datetime.now(UTC)
    ids = {}
    ids["ho.kawai@corp.example.com"] = standin.add_user(
        "ho.kawai@corp.example.com",
        "Ho Ka Wai",
        licences=[e3],
        properties={"jobTitle": "Head of Operations", "department": "Operations"},
    )
    ids["wong.siuling@corp.example.com"] = standin.add_user(
        "wong.siuling@corp.example.com",
        "Wong Siu Ling",
        manager="ho.kawai@corp.example.com",
        licences=[e3, power_bi],
        password_changed=now - timedelta(days=12),
        properties={"jobTitle": "Analyst", "department": "Finance"},
    )
    ids["chan.taiman@corp.example.com"] = standin.add_user(
        "chan.taiman@corp.example.com",
        "Chan Tai Man",
        synced=True,
        manager="ho.kawai@corp.example.com",
        licences=[e5],
        properties={"department": "Equities"},
    )
    ids["admin.cloud@corp.example.com"] = standin.add_user(
        "admin.cloud@corp.example.com", "Cloud Admin", mail=""
    )
    ids["priv.member@corp.example.com"] = standin.add_user(
        "priv.member@corp.example.com", "Priv Member", licences=[e3]
    )
    ids["off.user@corp.example.com"] = standin.add_user(
        "off.user@corp.example.com", "Off User", enabled=False
    )
    ids["fed.user@fed.example.com"] = standin.add_user(
        "fed.user@fed.example.com", "Fed User", licences=[e3]
    )
    ids["VPN Users"] = standin.add_group(
        "VPN Users", owners=["ho.kawai@corp.example.com"], members=["chan.taiman@corp.example.com"]
    )
    ids["Finance Share RW"] = standin.add_group(
        "Finance Share RW", owners=["ho.kawai@corp.example.com"]
    )
    ids["All Staff"] = standin.add_group(
        "All Staff", members=["VPN Users", "wong.siuling@corp.example.com"]
    )
    ids["Tier0 Operators"] = standin.add_group(
        "Tier0 Operators",
        owners=["admin.cloud@corp.example.com"],
        members=["priv.member@corp.example.com"],
        role_assignable=True,
    )
    ids["Global Administrator"] = standin.add_role(
        "Global Administrator", members=["admin.cloud@corp.example.com"]
    )
    ids["Privileged Authentication Administrator"] = standin.add_role(
        "Privileged Authentication Administrator", members=["Tier0 Operators"]
    )
    return ids
