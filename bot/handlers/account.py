"""Account self-service: "my account is locked", "why can't I log in?", "reset my password".

The safety rules (DESIGN.md "Self-service safety rules"; each has a test):

- The account acted on is the one behind the actor's verified email, looked up again by
  its immutable id just before any change; never a name typed in chat.
- Privileged (adminCount, nested protected groups), service, disabled and out-of-scope
  accounts are refused, audited, and security is alerted (not for disabled ones).
- Unlocks and resets are limited per day and spaced by cooldowns; denied approvals
  (`max_failed_verifications` in 24 h) lock the user's self-service for the day.
- Verification is set per action (`self_service.unlock_verification`,
  `reset_verification`): "none" (unlock only) or "approval" by the user's manager (AD
  `manager`) or else `oncall_approver`, with a one-time nonce that expires
  (`bot.store.approvals`). Anyone else's click is refused and audited.
- A reset's temporary password exists only in the reply that shows it: private, deleted
  after `secret_minutes` where the platform can, never in the outbox, a ticket, a log,
  the database or the audit log. That is why an approved reset runs when the requester
  presses "Reset now" in their own conversation, not in the approver's turn.
- If many accounts lock out within `burst_window_minutes`, self-service unlocks pause
  and security is alerted once per window (a password-spray sign).
- When the directory is down or fails, the user is told plainly and a ticket is opened
  with the context; a reset is one LDAP modify, so nothing is half-applied.
- Engineers may unlock or reset someone else's account (`/helpdesk unlock <user> <ID>`)
  when their role is verified against a directory group, for an open ticket raised by
  that account (by directory id), audited with that ticket: `bot.handlers.on_behalf`.
- Every refusal writes one audit record (`tests/test_refusals.py` drives each one).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import ClassVar, Protocol

from bot.chat_numbers import whole_number
from bot.clock import parse_iso
from bot.handlers.approval_ask import APPROVE, ask_approver
from bot.handlers.base import Turn, human_choice, intent_choice
from bot.handlers.tickets import propose_ticket
from bot.i18n import Translator
from bot.integrations.directory import (
    Account,
    DirectoryError,
    Group,
    PolicyViolation,
    ProtectedAccount,
    Unavailable,
)
from bot.messages import Choice, Recipient, Reply
from bot.passwords import temporary_password
from bot.redact import SecretContext
from bot.store.approvals import Approval
from bot.store.conversations import PendingFlow

_GUIDE = "password:guide"
_TICKET = "password:ticket"
_RESET_NOW = "password:reset"
_UNLOCK_YES = "unlock:yes"
_UNLOCK_NO = "unlock:no"
RUN_RESET = "@password_reset:run:"
"""The requester's button after an approval: `@password_reset:run:<approval id>`."""
"""The approver's buttons: `@approval:approve:<id>:<nonce>`, `@approval:deny:<id>:<nonce>`."""
_RESET_ATTEMPTS = 3


# -- guardrails ------------------------------------------------------------------------------


def protected_reason(account: Account) -> str | None:
    if account.privileged:
        return "privileged"
    if account.service_account:
        return "service_account"
    if not account.enabled:
        return "disabled"
    if not account.in_scope:
        return "out_of_scope"
    return None


def refusal(
    turn: Turn, account: Account, action: str, actor: Account | None = None
) -> list[Reply] | None:
    """The refusal to answer with when `account` is protected from self-service, else None."""
    reason = protected_reason(account)
    return refuse_protected(turn, account, action, reason, actor) if reason else None


def refuse_protected(
    turn: Turn, account: Account, action: str, reason: str, actor: Account | None = None
) -> list[Reply]:
    """Refuse a self-service action on a protected account: audit, alert security, explain."""
    t = turn.t
    turn.audit(
        action=action, outcome="refused", target=account, actor=actor or account, reason=reason
    )
    if reason != "disabled":
        who = turn.msg.actor.email or turn.msg.actor.user_id
        turn.alert_security(
            turn.request_id,
            f"Refused self-service {action} on a protected account ({reason}):"
            f" target {account.directory_id}, asked by {who} on {turn.msg.platform}"
            f" (request {turn.request_id}).",
            {"action": action, "target": account.directory_id, "reason": reason},
        )
    key = "account.disabled" if reason == "disabled" else "account.protected"
    return [
        Reply(t(key, phone=turn.services.settings.bot.support_phone), choices=(human_choice(t),))
    ]


def refuse_federated(turn: Turn, account: Account) -> list[Reply]:
    """The password belongs to another identity provider: say where to go, audit it."""
    turn.audit(
        action="password_reset",
        outcome="refused",
        target=account,
        actor=account,
        reason="federated",
    )
    t = turn.t
    phone = turn.services.settings.bot.support_phone
    return [Reply(t("account.federated", phone=phone), choices=(human_choice(t),))]


def limited(turn: Turn, account: Account, action: str) -> str | None:
    """Why `action` on `account` is not allowed now (a catalogue key suffix), or None."""
    settings = turn.services.settings.self_service
    now = turn.services.clock()
    audit = turn.services.audit
    day = now - timedelta(days=1)
    if audit.count(account.directory_id, action, "denied", day) >= (
        settings.max_failed_verifications
    ):
        return "verification_locked"
    per_day, cooldown = (
        (settings.unlocks_per_day, settings.unlock_cooldown_minutes)
        if action == "unlock"
        else (settings.resets_per_day, settings.reset_cooldown_minutes)
    )
    if audit.count(account.directory_id, action, "done", day) >= per_day:
        return "daily_limit"
    last = audit.last_time(account.directory_id, action, "done")
    if last is not None and parse_iso(last) > now - timedelta(minutes=cooldown):
        return "cooldown"
    return None


def refuse_limited(
    turn: Turn, account: Account, action: str, why: str, actor: Account | None = None
) -> list[Reply]:
    t = turn.t
    turn.audit(action=action, outcome="refused", target=account, actor=actor or account, reason=why)
    settings = turn.services.settings.self_service
    limit = settings.unlocks_per_day if action == "unlock" else settings.resets_per_day
    return [Reply(t(f"limits.{why}", limit=limit), choices=(human_choice(t),))]


def open_failure_ticket(
    turn: Turn,
    account: Account | None,
    action: str,
    detail: str,
    requester: Account | None = None,
) -> str:
    """Rule 7: the directory failed; open a ticket with the context, return its reference.
    `requester` is the actor's account when known (the ticket is the actor's)."""
    email = turn.msg.actor.email or "unknown"
    ticket, _ = turn.open_ticket(
        summary=f"Self-service {action} failed",
        description=(
            f"The bot could not complete a self-service {action} for {email}"
            f" (account {account.directory_id if account else 'unknown'}): {detail}."
            f" Request {turn.request_id}."
        ),
        category="account & access",
        priority="P2",
        key=f"failure:{turn.request_id}",
        requester=requester,
    )
    return ticket.ref


def directory_down(turn: Turn, action: str, exc: DirectoryError) -> list[Reply]:
    """The directory could not be read: say so, open a ticket, audit the failure."""
    ref = open_failure_ticket(turn, None, action, f"{type(exc).__name__} ({exc.detail})")
    turn.audit(
        action=action,
        outcome="failed",
        target=None,
        actor=None,
        reason=type(exc).__name__,
        ticket=ref,
    )
    phone = turn.services.settings.bot.support_phone
    return [Reply(turn.t("account.unavailable", ticket=ref, phone=phone))]


async def own_account(turn: Turn, action: str) -> Account | list[Reply]:
    """The actor's account, or the replies to send when the directory is down. Identity
    refusals (a malformed or shared address...) are audited under `action` and raised."""
    try:
        return await turn.account(action)
    except Unavailable as exc:
        return directory_down(turn, action, exc)


async def lockout_burst(turn: Turn) -> bool:
    """Whether many accounts locked out recently (then alert security, once per window)."""
    settings = turn.services.settings.self_service
    now = turn.services.clock()
    window = timedelta(minutes=settings.burst_window_minutes)
    count = await turn.services.directory.lockouts_since(now - window)
    # An unlock (or a reset, which clears a lockout) zeroes lockoutTime on the DC, so the
    # DC's count alone would shrink as victims unlock themselves: add the bot's own.
    audit = turn.services.audit
    count += audit.count_all("unlock", "done", now - window)
    count += audit.count_all("password_reset", "done", now - window)
    if count < settings.burst_threshold:
        return False
    bucket = int(now.timestamp() // window.total_seconds())
    turn.alert_security(
        f"burst:{bucket}",
        f"Lockout burst: {count} accounts locked out or unlocked in the last"
        f" {settings.burst_window_minutes} minutes (possible password spray)."
        " Self-service unlocks are paused until the count drops.",
        {"action": "unlock", "count": count},
    )
    return True


def refuse_burst(
    turn: Turn, target: Account, actor: Account, action: str, verification: str
) -> list[Reply]:
    """Self-service paused by the lockout-burst check: audit, open a ticket, say so."""
    turn.audit(
        action=action,
        outcome="refused",
        target=target,
        actor=actor,
        reason="lockout_burst",
        verification=verification,
    )
    what = action.replace("_", " ")
    ref = open_failure_ticket(turn, target, what, "paused by the lockout-burst check", actor)
    return [Reply(turn.t("unlock.burst", ticket=ref))]


# -- unlock ----------------------------------------------------------------------------------


async def perform_unlock(
    turn: Turn,
    target: Account,
    actor: Account,
    *,
    verification: str,
    ticket: str | None = None,
    requester_turn: bool = True,
) -> tuple[bool, list[Reply]]:
    """Unlock `target` after every check; return (done, replies for the actor)."""
    t = turn.t
    if refused := refusal(turn, target, "unlock", actor):
        return False, refused
    if not target.locked:
        return False, [Reply(t("unlock.already"))]
    if why := limited(turn, target, "unlock"):
        return False, refuse_limited(turn, target, "unlock", why, actor)
    try:
        if verification != "engineer_role" and await lockout_burst(turn):
            return False, refuse_burst(turn, target, actor, "unlock", verification)
        await turn.services.directory.unlock(target)
    except ProtectedAccount:
        return False, refuse_protected(turn, target, "unlock", "directory_refused", actor)
    except DirectoryError as exc:
        ref = open_failure_ticket(turn, target, "unlock", type(exc).__name__, actor)
        turn.audit(
            action="unlock",
            outcome="failed",
            target=target,
            actor=actor,
            reason=type(exc).__name__,
            verification=verification,
            ticket=ref,
        )
        return False, [Reply(t("unlock.failed", ticket=ref))]
    turn.audit(
        action="unlock",
        outcome="done",
        target=target,
        actor=actor,
        verification=verification,
        ticket=ticket,
    )
    return True, [
        Reply(t("unlock.done" if requester_turn else "unlock.done_for", name=target.display_name))
    ]


class Unlock:
    """Unlock your own account, or find out why you can't sign in: `my account is locked`."""

    intent: ClassVar[str] = "unlock"

    async def handle(self, turn: Turn) -> list[Reply]:
        t = turn.t
        account = await own_account(turn, "unlock")
        if not isinstance(account, Account):
            return account
        if refused := refusal(turn, account, "unlock"):
            return refused
        if not account.locked:
            turn.audit(action="account_status", outcome="done", target=account, actor=account)
            last_set = (
                "\n" + t("password.last_set", when=turn.local_time(account.password_last_set))
                if account.password_last_set and not account.must_change_password
                else ""
            )
            return [
                Reply(
                    t("unlock.not_locked") + "\n" + password_status(turn, account) + last_set,
                    choices=(intent_choice(t, "password_reset"), human_choice(t)),
                    private=True,
                )
            ]
        since = (
            t("unlock.since", when=turn.local_time(account.locked_at)) if account.locked_at else ""
        )
        until = (
            " " + t("unlock.until", when=turn.local_time(account.locked_until))
            if account.locked_until
            else ""
        )
        turn.expect(
            "unlock.confirm",
            {"target": account.directory_id},
            context=SecretContext.ASKED_PASSWORD,
        )
        yes = (
            "unlock.yes_approval"
            if turn.services.settings.self_service.unlock_verification == "approval"
            else "unlock.yes"
        )
        return [
            Reply(
                t("unlock.locked", since=since) + until,
                choices=(
                    Choice(t(yes), _UNLOCK_YES, "primary"),
                    Choice(t("unlock.no"), _UNLOCK_NO),
                ),
                private=True,
            )
        ]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        t = turn.t
        picked = turn.picked(
            (Choice(t("unlock.yes"), _UNLOCK_YES), Choice(t("unlock.no"), _UNLOCK_NO)),
            yes=_UNLOCK_YES,
            no=_UNLOCK_NO,
        )
        if picked is None:
            return None
        turn.done()
        if picked == _UNLOCK_NO:
            return [Reply(t("unlock.declined"))]
        # Look the account up again: it must still be the actor's, and its state may have changed.
        account = await own_account(turn, "unlock")
        if not isinstance(account, Account):
            return account
        if account.directory_id != pending.state.get("target"):
            turn.audit(
                action="unlock",
                outcome="refused",
                target=account,
                actor=account,
                reason="target_changed",
            )
            return [Reply(t("unlock.changed"), choices=(human_choice(t),))]
        if turn.services.settings.self_service.unlock_verification == "approval":
            if refused := refusal(turn, account, "unlock"):
                return refused
            if not account.locked:
                return [Reply(t("unlock.already"))]
            return await request_approval(turn, account, "unlock")
        return (await perform_unlock(turn, account, account, verification="none"))[1]


# -- password status and reset ----------------------------------------------------------------


def password_status(turn: Turn, account: Account) -> str:
    """One or two sentences on the account's password: expired, must change, or when it expires."""
    t = turn.t
    now = turn.services.clock()
    if account.must_change_password:
        return t("password.must_change")
    if account.password_expires is not None and account.password_expires <= now:
        return t("password.expired", when=turn.local_time(account.password_expires))
    if account.password_expires is not None:
        days = (account.password_expires - now).days
        return t("password.expires", when=turn.local_time(account.password_expires), days=days)
    return t("password.never_expires")


def _name_parts(account: Account) -> tuple[str, ...]:
    return (account.email.split("@", 1)[0], account.display_name)


def reset_notice(turn: Turn, target: Account, recipient: Recipient, by: str) -> None:
    """Tell the account's owner, separately from the secret, that a reset happened."""
    t = turn.t
    text = t(
        "reset.notice",
        when=turn.local_time(turn.services.clock()),
        by=by,
        phone=turn.services.settings.bot.support_phone,
    )
    turn.services.outbox.put(
        f"reset-notice:{turn.request_id}", "notice", recipient, {"text": text, "choices": []}
    )


async def perform_reset(
    turn: Turn,
    target: Account,
    actor: Account,
    *,
    verification: str,
    ticket: str | None = None,
    reason: str = "",
) -> list[Reply]:
    """Reset `target`'s password to a new temporary one; the replies show it to the actor."""
    t = turn.t
    settings = turn.services.settings.self_service
    directory = turn.services.directory
    graph = turn.services.settings.graph
    tap = target.source == "cloud" and graph.cloud_recovery == "tap"
    try:
        if target.locked and verification != "engineer_role" and await lockout_burst(turn):
            return refuse_burst(turn, target, actor, "password_reset", verification)
        if tap:
            password = await directory.issue_temporary_access_pass(target, graph.tap_minutes)
        else:
            for _ in range(_RESET_ATTEMPTS):
                # Read each time: after a refusal the directory reads its policy afresh.
                policy = await directory.password_policy()
                password = temporary_password(policy, settings.password_length, _name_parts(target))
                try:
                    await directory.reset_password(target, password)
                    break
                except PolicyViolation:
                    continue
            else:
                raise PolicyViolation(f"{_RESET_ATTEMPTS} generated passwords were refused")
    except ProtectedAccount:
        return refuse_protected(turn, target, "password_reset", "directory_refused", actor)
    except DirectoryError as exc:
        detail = type(exc).__name__
        if isinstance(exc, Unavailable):
            detail += (
                " (a Temporary Access Pass may have been created: delete it)"
                if tap
                else " (the reset may or may not have been applied; check pwdLastSet)"
            )
        ref = open_failure_ticket(turn, target, "password reset", detail, actor)
        turn.audit(
            action="password_reset",
            outcome="failed",
            target=target,
            actor=actor,
            reason=type(exc).__name__,
            verification=verification,
            ticket=ref,
        )
        return [Reply(t("reset.failed", ticket=ref), choices=(human_choice(t),))]
    turn.audit(
        action="password_reset",
        outcome="done",
        target=target,
        actor=actor,
        verification=verification,
        ticket=ticket,
        reason=(reason + "; " if reason else "") + ("temporary access pass" if tap else "password"),
    )
    msg = turn.msg
    if target.directory_id == actor.directory_id:
        reset_notice(
            turn, target, Recipient.person(msg.platform, msg.actor.user_id), t("reset.by_you")
        )
        key = "reset.tap" if tap else "reset.secret"
    else:
        reset_notice(
            turn, target, Recipient.by_email(target.email), t("reset.by_desk", ticket=ticket)
        )
        key = "reset.tap_for" if tap else "reset.secret_for"
    minutes = settings.secret_minutes
    return [
        Reply(
            t(
                key,
                password=password,
                minutes=minutes,
                name=target.display_name,
                lifetime=graph.tap_minutes,
            ),
            private=True,
            delete_after_s=minutes * 60,
        )
    ]


class PasswordReset:
    """Reset a forgotten password (your manager approves), or learn how to change it:
    `reset my password`."""

    intent: ClassVar[str] = "password_reset"

    async def handle(self, turn: Turn) -> list[Reply]:
        t = turn.t
        if turn.msg.choice and turn.msg.choice.startswith(RUN_RESET):
            return await self._run(turn, turn.msg.choice.removeprefix(RUN_RESET))
        account = await own_account(turn, "password_reset")
        if not isinstance(account, Account):
            return account
        if refused := refusal(turn, account, "password_reset"):
            return refused
        if account.federated:
            return refuse_federated(turn, account)
        lines = [password_status(turn, account)]
        if account.locked:
            lines.append(t("password.also_locked"))
        if account.source == "cloud":
            lines.append(t("password.how_cloud"))
        else:
            lines.append(t("password.how_onprem"))
        tap = account.source == "cloud" and turn.services.settings.graph.cloud_recovery == "tap"
        lines.append(t("password.forgot_tap" if tap else "password.forgot_reset"))
        turn.audit(action="password_status", outcome="done", target=account, actor=account)
        state = {"resettable": True, "tap": tap, "locked": account.locked}
        turn.expect("password_reset.next", state, context=SecretContext.ASKED_PASSWORD)
        return [Reply("\n".join(lines), choices=self._choices(t, state), private=True)]

    @staticmethod
    def _choices(t: Translator, state: Mapping[str, object]) -> tuple[Choice, ...]:
        unlock = (intent_choice(t, "unlock"),) if state.get("locked") else ()
        label = t("password.tap_now") if state.get("tap") else t("password.reset_now")
        reset = (Choice(label, _RESET_NOW, "primary"),) if state.get("resettable") else ()
        return (
            *unlock,
            *reset,
            Choice(t("password.guide"), _GUIDE),
            Choice(t("password.ticket"), _TICKET),
            human_choice(t),
        )

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        t = turn.t
        picked = turn.picked(self._choices(t, pending.state))
        if picked == _RESET_NOW:
            turn.done()
            account = await own_account(turn, "password_reset")
            if not isinstance(account, Account):
                return account
            if refused := refusal(turn, account, "password_reset"):
                return refused
            if account.federated:
                return refuse_federated(turn, account)
            if why := limited(turn, account, "password_reset"):
                return refuse_limited(turn, account, "password_reset", why)
            return await request_approval(turn, account, "password_reset")
        if picked == _GUIDE:
            turn.done()
            kb = turn.services.kb
            article = kb.get(turn.services.settings.kb.password_article)
            if article is None:
                return [Reply(t("kb.gone"), choices=(human_choice(t),))]
            article = kb.in_language(article, t.lang)
            return [Reply(f"**{article.title}**\n\n{article.body}", choices=(human_choice(t),))]
        if picked == _TICKET:
            return await propose_ticket(
                turn,
                summary="Forgotten password: identity check and reset needed",
                description=t("password.ticket_description"),
                category="account & access",
            )
        return None

    async def _run(self, turn: Turn, raw_id: str) -> list[Reply]:
        """The requester pressed "Reset now" after their approver said yes."""
        t = turn.t
        approvals = turn.services.approvals
        approval_id = whole_number(raw_id)
        approval = approvals.get(approval_id) if approval_id is not None else None
        msg = turn.msg
        if (
            approval is None
            or approval.action != "password_reset"
            or (approval.requester_platform, approval.requester_user_id)
            != (msg.platform, msg.actor.user_id)
        ):
            turn.audit(
                action="password_reset",
                outcome="refused",
                target=None,
                actor=None,
                reason="not_the_requester",
                verification="approval",
            )
            return [Reply(t("approval.not_yours"))]
        if approval.state != "approved" or approvals.expired(approval):
            return _run_expired(turn, approval)
        account = await own_account(turn, "password_reset")
        if not isinstance(account, Account):
            return account
        if account.directory_id != approval.target:
            turn.audit(
                action="password_reset",
                outcome="refused",
                target=account,
                actor=account,
                reason="target_changed",
                verification="approval",
            )
            return [Reply(t("unlock.changed"), choices=(human_choice(t),))]
        if refused := refusal(turn, account, "password_reset"):
            return refused
        if why := limited(turn, account, "password_reset"):
            return refuse_limited(turn, account, "password_reset", why)
        if not approvals.use(approval.id):
            return _run_expired(turn, approval)
        return await perform_reset(
            turn,
            account,
            account,
            verification="approval",
            reason=f"approval {approval.id} by {approval.approver_kind} {approval.approver_id}",
        )


def _run_expired(turn: Turn, approval: Approval) -> list[Reply]:
    """The approved reset can no longer run (expired, used, or never approved): audited."""
    turn.audit(
        action="password_reset",
        outcome="refused",
        target=approval.target,
        actor=None,
        reason=f"approval {approval.id} is {approval.state}, expired or used",
        verification="approval",
    )
    t = turn.t
    return [Reply(t("approval.run_expired"), choices=(intent_choice(t, "password_reset"),))]


# -- approval --------------------------------------------------------------------------------


async def approver_for(turn: Turn, account: Account) -> tuple[Account, str] | None:
    """The manager from the directory, else the configured on-call approver; never oneself."""
    oncall = turn.services.settings.self_service.oncall_approver or None
    return await _first_approver(
        turn, account, [(account.manager_email, "manager"), (oncall, "oncall")]
    )


async def _owner(turn: Turn, account: Account, group: Group) -> tuple[Account, str] | None:
    """The first of the group's owners who is enabled and is not the requester."""
    return await _first_approver(turn, account, [(e, "owner") for e in sorted(group.owners)])


async def _first_approver(
    turn: Turn, account: Account, candidates: list[tuple[str | None, str]]
) -> tuple[Account, str] | None:
    """The first (email, kind) candidate found in the directory, enabled, and not `account`."""
    for email, kind in candidates:
        if not email:
            continue
        try:
            found = await turn.services.directory.find_by_email(email)
        except Unavailable:
            raise
        except DirectoryError:
            continue
        if found.enabled and found.directory_id != account.directory_id:
            return found, kind
    return None


async def request_approval(
    turn: Turn,
    account: Account,
    action: str,
    *,
    group: Group | None = None,
) -> list[Reply]:
    """Ask the approver privately; the action runs only once they approve. For a group the
    approver is one of its owners; otherwise the user's manager or the on-call approver."""
    t = turn.t
    services = turn.services
    settings = services.settings.self_service
    if group is None and (why := limited(turn, account, action)):
        return refuse_limited(turn, account, action, why)
    subject = group.group_id if group else ""
    waiting = services.approvals.open_for(account.directory_id, action, subject)
    if waiting is not None and waiting.state == "pending":
        return [Reply(t("approval.already", approver=waiting.approver_email))]
    try:
        found = await _owner(turn, account, group) if group else await approver_for(turn, account)
    except Unavailable as exc:
        return directory_down(turn, action, exc)
    if found is None:
        turn.audit(
            action=action,
            outcome="refused",
            target=account,
            actor=account,
            reason="no_approver",
            verification="approval",
        )
        return [Reply(t("approval.nobody"), choices=(human_choice(t),))]
    approver, kind = found
    what = t(f"approval.action.{action}", group=group.name if group else "")
    ask_approver(
        turn,
        account,
        approver,
        kind,
        action=action,
        lifetime=timedelta(minutes=settings.approval_minutes),
        text=t(
            "approval.ask",
            name=account.display_name,
            email=account.email,
            what=what,
            minutes=settings.approval_minutes,
            role=t(f"approval.role.{kind}"),
        ),
        subject=subject,
        subject_name=group.name if group else "",
    )
    return [
        Reply(
            t(
                "approval.sent",
                approver=approver.display_name,
                what=t(f"approval.you.{action}", group=group.name if group else ""),
                minutes=settings.approval_minutes,
            )
        )
    ]


async def request_group_access(turn: Turn, name: str) -> list[Reply]:
    """ "I need access to X": a requestable group, never a privileged one; its owner approves."""
    t = turn.t
    settings = turn.services.settings
    account = await own_account(turn, "group_add")
    if not isinstance(account, Account):
        return account
    try:
        if name not in settings.graph.requestable_groups:
            raise PolicyViolation(f"{name} is not in graph.requestable_groups")
        group = await turn.services.directory.find_group(name)
    except Unavailable as exc:
        return directory_down(turn, "group_add", exc)
    except DirectoryError as exc:
        turn.audit(
            action="group_add",
            outcome="refused",
            target=account,
            actor=account,
            reason=f"not requestable: {exc}",
        )
        return [Reply(t("group.not_requestable", group=name), choices=(human_choice(t),))]
    protected = {g.lower() for g in settings.ldap.protected_groups}
    if group.role_assignable or group.name.lower() in protected:
        turn.audit(
            action="group_add",
            outcome="refused",
            target=account,
            actor=account,
            reason=f"privileged group {group.name}",
        )
        turn.alert_security(
            turn.request_id,
            f"{account.email} asked to join the privileged group {group.name}; refused.",
            {"action": "group_add", "group": group.group_id},
        )
        return [Reply(t("group.privileged", group=group.name), choices=(human_choice(t),))]
    return await request_approval(turn, account, "group_add", group=group)


def tell_requester(turn: Turn, approval: Approval, text: str, choices: list[list[str]]) -> None:
    turn.services.outbox.put(
        f"approval-result:{approval.id}",
        "notice",
        Recipient.person(approval.requester_platform, approval.requester_user_id),
        {"text": text, "choices": choices},
    )


class Decider(Protocol):
    """Finishes an approved or denied request of another kind (a catalogue request): given
    to `ApprovalAnswer` by the handler registry, so this module imports none of the
    handlers built on it."""

    def __call__(
        self, turn: Turn, approval: Approval, approver: Account, *, approve: bool
    ) -> list[Reply]: ...


class ApprovalAnswer:
    """Approve or deny a colleague's self-service request (the buttons you were sent)."""

    intent: ClassVar[str] = "approval"

    def __init__(self, deciders: Mapping[str, Decider] | None = None) -> None:
        self._deciders = dict(deciders or {})

    async def handle(self, turn: Turn) -> list[Reply]:
        t = turn.t
        services = turn.services
        parts = (turn.msg.choice or "").removeprefix(APPROVE).split(":")
        well_formed = len(parts) == 3 and parts[0] in ("approve", "deny")
        approval_id = whole_number(parts[1]) if well_formed else None
        verb, raw_id, nonce = parts if approval_id is not None else ("", "?", "")
        approval = services.approvals.get(approval_id) if approval_id is not None else None
        if approval is None or not services.approvals.nonce_matches(approval.id, nonce):
            turn.audit(
                action="approval",
                outcome="refused",
                target=None,
                actor=None,
                reason=f"bad nonce for approval {raw_id}",
                verification="approval",
            )
            return [Reply(t("approval.invalid"))]
        return await self.decide(turn, approval, verb)

    async def decide(self, turn: Turn, approval: Approval, verb: str) -> list[Reply]:
        """The actor approves (`verb` "approve") or denies `approval`, if it is theirs to answer."""
        t = turn.t
        services = turn.services
        clicker = await own_account(turn, "approval")
        if not isinstance(clicker, Account):
            return clicker
        if clicker.directory_id != approval.approver_id:
            turn.audit(
                action=approval.action,
                outcome="refused",
                target=approval.target,
                actor=clicker,
                reason=f"wrong_approver for approval {approval.id}",
                verification="approval",
            )
            return [Reply(t("approval.not_yours"))]
        lifetime = timedelta(minutes=services.settings.self_service.approval_minutes)
        if (
            approval.state != "pending"
            or services.approvals.expired(approval)
            or not services.approvals.decide(approval.id, verb == "approve", lifetime)
        ):
            turn.audit(
                action=approval.action,
                outcome="refused",
                target=approval.target,
                actor=clicker,
                reason=f"approval {approval.id} already {approval.state} or expired",
                verification="approval",
            )
            return [Reply(t("approval.closed"))]
        decider = self._deciders.get(approval.action)
        if decider is not None:
            return decider(turn, approval, clicker, approve=verb == "approve")
        requester_t = Translator("zh-Hant" if approval.requester_lang == "zh-Hant" else "en")
        what = requester_t(f"approval.you.{approval.action}", group=approval.subject_name)
        if verb == "deny":
            turn.audit(
                action=approval.action,
                outcome="denied",
                target=approval.target,
                actor=clicker,
                reason=f"approval {approval.id} denied by {approval.approver_kind}",
                verification="approval",
            )
            tell_requester(
                turn,
                approval,
                requester_t("approval.denied", approver=clicker.display_name, what=what),
                [],
            )
            return [Reply(t("approval.denied_ok", email=approval.requester_email))]
        turn.audit(
            action=approval.action,
            outcome="approved",
            target=approval.target,
            actor=clicker,
            reason=f"approval {approval.id} by {approval.approver_kind}",
            verification="approval",
        )
        if approval.action == "password_reset":
            tell_requester(
                turn,
                approval,
                requester_t(
                    "approval.approved_reset",
                    approver=clicker.display_name,
                    minutes=services.settings.self_service.approval_minutes,
                ),
                [[requester_t("approval.run"), f"{RUN_RESET}{approval.id}"]],
            )
            return [Reply(t("approval.approved_ok", email=approval.requester_email))]
        if approval.action == "group_add":
            return await self._add_member(turn, approval, clicker, requester_t)
        # An unlock needs no secret: it runs now, in the approver's turn.
        try:
            target = await services.directory.find_by_id(approval.target)
        except DirectoryError as exc:
            return directory_down(turn, "unlock", exc)
        services.approvals.use(approval.id)
        done, replies = await perform_unlock(
            turn, target, clicker, verification="approval", requester_turn=False
        )
        key = "approval.unlocked" if done else "approval.unlock_failed"
        tell_requester(turn, approval, requester_t(key, approver=clicker.display_name), [])
        return replies

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        return None

    @staticmethod
    async def _add_member(
        turn: Turn, approval: Approval, owner: Account, requester_t: Translator
    ) -> list[Reply]:
        """The owner approved: check again (still an owner, still not privileged), add."""
        t = turn.t
        directory = turn.services.directory
        turn.services.approvals.use(approval.id)
        try:
            group = await directory.find_group(approval.subject_name)
            target = await directory.find_by_id(approval.target)
            if group.group_id != approval.subject or owner.email not in group.owners:
                raise ProtectedAccount("the group or its owners changed")
            if group.role_assignable:
                raise ProtectedAccount("the group became role-assignable")
            await directory.add_to_group(group, target)
        except DirectoryError as exc:
            ref = open_failure_ticket(
                turn, None, f"access to {approval.subject_name}", str(exc), owner
            )
            turn.audit(
                action="group_add",
                outcome="failed",
                target=approval.target,
                actor=owner,
                reason=type(exc).__name__,
                verification="approval",
                ticket=ref,
            )
            tell_requester(
                turn,
                approval,
                requester_t("group.add_failed", group=approval.subject_name, ticket=ref),
                [],
            )
            return [Reply(t("group.add_failed", group=approval.subject_name, ticket=ref))]
        turn.audit(
            action="group_add",
            outcome="done",
            target=target,
            actor=owner,
            reason=f"{group.name} ({group.group_id}); approval {approval.id}",
            verification="approval",
        )
        tell_requester(
            turn,
            approval,
            requester_t("group.added", group=group.name, approver=owner.display_name),
            [],
        )
        return [Reply(t("group.added_ok", group=group.name, email=approval.requester_email))]
