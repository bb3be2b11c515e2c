"""`/helpdesk lookup <user>`: one screen on an account for an engineer, audited.

Shows what an L2 engineer asks first on a call: enabled, locked (since, until), what is
locking it (AD's wrong-password count on the DC read, Entra's failed sign-ins), the Intune
devices (compliance and why not, encryption, last check-in), password
last set and expiry (or must change), source of authority (AD-synced, cloud-only,
federated), privileged or service account, licences (with disabled plans), the key
groups (requestable and role groups, then a count of the rest), manager, and the
person's recent tickets. The engineer's role is checked by the caller (`Commands`); every
lookup writes an audit record, found or not.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from bot.handlers.base import Turn
from bot.integrations.directory import (
    DirectoryError,
    ManagedDevice,
    PolicyViolation,
    SignInTrouble,
)
from bot.messages import Reply
from bot.selfservice.lock_cause import cause as explained

_KEY_GROUPS_SHOWN = 12
_FAILURE_WINDOW = timedelta(hours=24)


def _device(turn: Turn, d: ManagedDevice) -> str:
    """`LAPTOP-CHAN01 Windows 10.0.19045 noncompliant (BitLockerEnabled), encrypted NO, seen …`"""
    failing = f" ({', '.join(d.failing)})" if d.failing else ""
    encrypted = "?" if d.encrypted is None else "yes" if d.encrypted else "NO"
    seen = turn.local_time(d.last_check_in) if d.last_check_in else "—"
    state = f"{d.compliance}{failing}, encrypted {encrypted}, seen {seen}"
    return f"{d.name} {d.os} {d.os_version} {state}"


def _sign_ins(turn: Turn, trouble: SignInTrouble) -> str:
    """`badPwdCount 3 on dc1 (last 21 Nov 09:05) · Entra: 14 failed in 24 h, mostly Exchange
    ActiveSync / Office 365 Exchange Online / Hong Kong, HK (… (50126)) since 09:05`."""
    parts = []
    if trouble.bad_password_count is not None:
        last = turn.local_time(trouble.last_bad_password) if trouble.last_bad_password else "—"
        parts.append(f"badPwdCount {trouble.bad_password_count} on {trouble.where} (last {last})")
    recent = [f for f in trouble.failures if f.at >= turn.services.clock() - _FAILURE_WINDOW]
    if recent:
        (app, client), count = Counter((f.app, f.client) for f in recent).most_common(1)[0]
        top = next(f for f in recent if (f.app, f.client) == (app, client))
        since = turn.local_time(min(f.at for f in recent))
        parts.append(
            f"Entra: {len(recent)} failed in 24 h since {since}, {count} from {client} / {app}"
            f" / {top.location or 'location unknown'} ({top.reason})"
        )
    elif "entra" in trouble.where:
        parts.append("Entra: no failed sign-ins in 24 h")
    cause = explained(turn, trouble)
    return (
        "sign-in failures: "
        + (" · ".join(parts) or "none known")
        + (f"\n→ {turn.t(cause.key, **cause.params)}" if cause else "")
    )


async def lookup(turn: Turn, who: str, email: str) -> list[Reply]:
    t = turn.t
    services = turn.services
    directory = services.directory
    try:
        actor = await turn.account("lookup")
    except DirectoryError:
        actor = None
    try:
        account = await directory.find_by_email(email)
    except DirectoryError as exc:
        turn.audit(action="lookup", outcome="failed", target=None, actor=actor, reason=str(exc))
        return [Reply(t("lookup.not_found", user=who, why=type(exc).__name__), private=True)]
    lines = [f"**{account.display_name}** <{account.email}> · id {account.directory_id}"]
    if account.federated:
        source = "federated (another identity provider)"
    else:
        source = "AD, synced to Entra" if account.source == "onprem" else "cloud-only (Entra)"
    flags = [
        "ENABLED" if account.enabled else "DISABLED",
        "LOCKED" if account.locked else "not locked",
        source,
    ]
    if account.privileged:
        flags.append(f"PRIVILEGED ({account.privileged_reason})")
    if account.service_account:
        flags.append("service account")
    if not account.in_scope:
        flags.append("outside the bot's OUs")
    lines.append(" · ".join(flags))
    if account.locked:
        since = turn.local_time(account.locked_at) if account.locked_at else "?"
        until = turn.local_time(account.locked_until) if account.locked_until else "until unlocked"
        lines.append(f"locked since {since}, {until}")
    pwd = [
        "password last set "
        + (turn.local_time(account.password_last_set) if account.password_last_set else "never")
    ]
    if account.must_change_password:
        pwd.append("must change at next sign-in")
    elif account.password_expires:
        pwd.append("expires " + turn.local_time(account.password_expires))
    lines.append(" · ".join(pwd))
    lines.append(
        f"manager: {account.manager_email or '—'} · department: {account.department or '—'}"
    )
    try:
        lines.append(_sign_ins(turn, await directory.sign_in_trouble(account)))
    except DirectoryError as exc:
        lines.append(f"sign-in failures: unavailable ({type(exc).__name__})")
    try:
        licences = await directory.licences(account)
        text = ", ".join(
            lic.name
            + (f" (disabled: {', '.join(lic.disabled_plans)})" if lic.disabled_plans else "")
            for lic in licences
        )
        lines.append("licences: " + (text or "none"))
    except DirectoryError as exc:
        lines.append(f"licences: unavailable ({type(exc).__name__})")
    try:
        groups = await directory.groups(account)
        settings = services.settings
        key = set(settings.graph.requestable_groups) | set(settings.ldap.protected_groups)
        key |= set(settings.roles.engineer_groups) | set(settings.roles.supervisor_groups)
        shown = [g for g in groups if g in key] or list(groups[:_KEY_GROUPS_SHOWN])
        rest = len(groups) - len(shown)
        lines.append(
            "groups: " + (", ".join(shown) or "none") + (f" (+{rest} more)" if rest > 0 else "")
        )
    except DirectoryError as exc:
        lines.append(f"groups: unavailable ({type(exc).__name__})")
    try:
        devices = await directory.managed_devices(account)
        listed = "; ".join(_device(turn, d) for d in devices)
        lines.append("devices: " + (listed or "none managed"))
    except PolicyViolation:
        lines.append("devices: no Intune")
    except DirectoryError as exc:
        lines.append(f"devices: unavailable ({type(exc).__name__})")
    tickets = services.tickets.for_requester(account.email, limit=5)
    lines.append(
        "recent tickets: "
        + ("; ".join(f"{x.ref} {x.state} {x.priority} {x.summary[:40]}" for x in tickets) or "none")
    )
    turn.audit(action="lookup", outcome="done", target=account, actor=actor)
    return [Reply("\n".join(lines), private=True)]
