"""A BitLocker recovery key for a device the person owns: "my laptop asks for a BitLocker
recovery key", 「部電腦問我BitLocker recovery key」.

- The key is named by the key id the recovery screen shows (the first 8 characters are
  enough); it is looked up on every device the directory can see
  (`Directory.recovery_keys`), so each refusal says what it is: no such key id
  (`unknown`), more than one key starting that way (`ambiguous`: type more of it), a
  server (`server`), a device that is not the person's by the directory's record
  (`not_owner`). A server or someone else's device also alerts security: asking for it is
  what a thief holding a laptop and a chat session would do.
- Manager approval (or the on-call approver) before the key is shown. Decision: a recovery
  key unlocks a whole disk, and the only other check is the chat session; a stolen laptop
  plus a signed-in phone would otherwise be enough to read the disk. A brokerage's
  reviewer would ask for a second person, as for a new phone's pass; the cost is a few
  minutes while the person waits at the recovery screen (and a person on the phone can
  still read it out at the service desk).
- The key is shown once, privately, when the requester presses the button their approval
  sends them, and deleted after `self_service.secret_minutes`; a separate notice says a
  key was released. Ownership is checked again just before the key is read.
- Each release counts against the resets' limits (`self_service.resets_per_day`,
  `reset_cooldown_minutes`); every step writes one audit record naming the device; a
  directory failure opens a ticket. The key never reaches a log, a ticket, the outbox,
  the database or the audit log: only the returned `Outcome`.
"""

from __future__ import annotations

from bot.integrations.bitlocker import MIN_KEY_ID, RecoveryKey
from bot.integrations.directory import Account, DirectoryError, ProtectedAccount
from bot.messages import Recipient
from bot.selfservice.actions import reset_notice
from bot.selfservice.approval_answers import approved_run
from bot.selfservice.approvals import request_approval
from bot.selfservice.context import ActionContext, Outcome, refused
from bot.selfservice.guardrails import limited, refusal, refuse_limited
from bot.selfservice.recovery import integration_down, open_failure_ticket

BITLOCKER_KEY = "bitlocker_key"


def _device(key: RecoveryKey) -> str:
    return f"device {key.device_name} ({key.device_id}), key id {key.short_id}, {key.store}"


def _refuse_device(ctx: ActionContext, account: Account, key: RecoveryKey, why: str) -> Outcome:
    """A server or someone else's device: audited with the device, security alerted."""
    ctx.audit(
        action=BITLOCKER_KEY,
        outcome="refused",
        target=account,
        actor=account,
        reason=f"{why}: {_device(key)}",
    )
    who = ctx.msg.actor.email or ctx.msg.actor.user_id
    ctx.alert_security(
        ctx.request_id,
        f"Refused a BitLocker recovery key ({why}): {who} asked for the key of"
        f" {key.device_name} (key id {key.short_id}) on {ctx.msg.platform}"
        f" (request {ctx.request_id}).",
        {"action": BITLOCKER_KEY, "device": key.device_id, "reason": why},
    )
    return refused(f"bitlocker.{why}", device=key.device_name)


async def find_key(ctx: ActionContext, account: Account, typed: str) -> RecoveryKey | Outcome:
    """The one key of the person's own, non-server device that `typed` (upper-case hex,
    at least 8 characters) names, or the audited refusal."""
    if len(typed) < MIN_KEY_ID:
        return Outcome("bitlocker.ask_id")
    try:
        found = await ctx.services.directory.recovery_keys(account, typed)
    except DirectoryError as exc:
        return integration_down(ctx, BITLOCKER_KEY, exc, account)
    if not found:
        ctx.audit(
            action=BITLOCKER_KEY,
            outcome="refused",
            target=account,
            actor=account,
            reason=f"unknown key id {typed[:MIN_KEY_ID]}",
        )
        return refused("bitlocker.unknown", key_id=typed[:MIN_KEY_ID])
    if len({k.key_id for k in found}) > 1:
        ctx.audit(
            action=BITLOCKER_KEY,
            outcome="refused",
            target=account,
            actor=account,
            reason=f"ambiguous key id {typed}: {len(found)} keys",
        )
        return Outcome("bitlocker.ambiguous", {"key_id": typed})
    # The same key may be kept twice (AD and Entra, for a hybrid-joined laptop).
    key = sorted(found, key=lambda k: (not k.owned, k.server))[0]
    if key.server:
        return _refuse_device(ctx, account, key, "server")
    if not key.owned:
        return _refuse_device(ctx, account, key, "not_owner")
    return key


async def ask_for_key(ctx: ActionContext, account: Account, typed: str) -> Outcome:
    """Check the key id against the person's devices, then ask their approver."""
    if refused_now := refusal(ctx, account, BITLOCKER_KEY):
        return refused_now
    if why := limited(ctx, account, BITLOCKER_KEY):
        return refuse_limited(ctx, account, BITLOCKER_KEY, why)
    key = await find_key(ctx, account, typed)
    if isinstance(key, Outcome):
        return key
    return await request_approval(
        ctx,
        account,
        BITLOCKER_KEY,
        subject=(key.key_id, key.device_name),
        reason=_device(key),
    )


async def run_approved_key(ctx: ActionContext, raw_id: str) -> Outcome:
    """The requester pressed "Show my recovery key" after their approver said yes: check
    the device again, read the key, show it once."""
    ready = await approved_run(ctx, raw_id, BITLOCKER_KEY)
    if isinstance(ready, Outcome):
        return ready
    approval, account = ready
    key = await find_key(ctx, account, approval.subject.replace("-", ""))
    if isinstance(key, Outcome):
        return key
    how = f"approval {approval.id} by {approval.approver_kind} {approval.approver_id}"
    try:
        secret = await ctx.services.directory.recovery_password(account, key)
    except ProtectedAccount as exc:
        ctx.audit(
            action=BITLOCKER_KEY,
            outcome="refused",
            target=account,
            actor=account,
            reason=f"directory_refused ({exc.detail}): {_device(key)}",
            verification="approval",
        )
        return refused("bitlocker.not_owner", device=key.device_name)
    except DirectoryError as exc:
        ref = open_failure_ticket(
            ctx, account, "BitLocker recovery key", f"{type(exc).__name__}; {_device(key)}", account
        )
        ctx.audit(
            action=BITLOCKER_KEY,
            outcome="failed",
            target=account,
            actor=account,
            reason=f"{type(exc).__name__}: {_device(key)}",
            verification="approval",
            ticket=ref,
        )
        return refused("bitlocker.failed", ticket=ref)
    ctx.audit(
        action=BITLOCKER_KEY,
        outcome="done",
        target=account,
        actor=account,
        reason=f"{_device(key)}; {how}",
        verification="approval",
    )
    msg = ctx.msg
    reset_notice(
        ctx,
        Recipient.person(msg.platform, msg.actor.user_id),
        ctx.t("reset.by_you"),
        "bitlocker.notice",
    )
    minutes = ctx.services.settings.self_service.secret_minutes
    return Outcome(
        "bitlocker.key",
        {
            "password": secret,
            "device": key.device_name,
            "key_id": key.short_id,
            "minutes": minutes,
        },
        done=True,
        private=True,
        delete_after_s=minutes * 60,
    )
