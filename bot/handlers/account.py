"""Account self-service: "my account is locked" and "I need to reset my password".

Safety rules enforced here (see the README's "Self-service safety"):
- the account is the one behind the actor's verified email, never a name typed in chat;
- privileged, service and disabled accounts are refused, audited, and security alerted;
- unlocks are limited per day and spaced by a cooldown (`[self_service]`);
- every action, refusal and failure writes one audit record;
- when the directory fails, the user is told and a ticket is opened with the context.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from bot.clock import parse_iso
from bot.handlers.base import Turn, human_choice, intent_choice
from bot.handlers.tickets import propose_ticket
from bot.i18n import Translator
from bot.integrations.directory import Account, DirectoryError, ProtectedAccount
from bot.messages import Choice, Reply
from bot.store.conversations import PendingFlow

_GUIDE = "password:guide"
_TICKET = "password:ticket"
_UNLOCK_YES = "unlock:yes"
_UNLOCK_NO = "unlock:no"


def _protected_reason(account: Account) -> str | None:
    if account.privileged:
        return "privileged"
    if account.service_account:
        return "service_account"
    if not account.enabled:
        return "disabled"
    return None


def refusal(turn: Turn, account: Account, action: str) -> list[Reply] | None:
    """The refusal to answer with when `account` is protected from self-service, else None."""
    reason = _protected_reason(account)
    return refuse_protected(turn, account, action, reason) if reason else None


def refuse_protected(turn: Turn, account: Account, action: str, reason: str) -> list[Reply]:
    """Refuse a self-service action on a protected account: audit, alert security, explain."""
    t = turn.t
    turn.audit(action=action, outcome="refused", target=account, actor=account, reason=reason)
    if reason != "disabled":
        turn.services.outbox.put(
            f"security:{turn.request_id}",
            "security_alert",
            "security",
            {
                "action": action,
                "target": account.directory_id,
                "reason": reason,
                "platform": turn.msg.platform,
                "actor": turn.msg.actor.user_id,
                "request_id": turn.request_id,
            },
        )
    key = "account.disabled" if reason == "disabled" else "account.protected"
    return [
        Reply(t(key, phone=turn.services.settings.bot.support_phone), choices=(human_choice(t),))
    ]


def open_failure_ticket(turn: Turn, account: Account | None, action: str, detail: str) -> str:
    """Rule 7: the directory failed; open a ticket with the context, return its reference."""
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
    )
    return ticket.ref


class Unlock:
    """Unlock your own account after too many wrong passwords: `my account is locked`."""

    intent: ClassVar[str] = "unlock"

    async def handle(self, turn: Turn) -> list[Reply]:
        t = turn.t
        account = await turn.account()
        if refused := refusal(turn, account, "unlock"):
            return refused
        if not account.locked:
            return [
                Reply(
                    t("unlock.not_locked") + "\n" + password_status(turn, account),
                    choices=(intent_choice(t, "password_reset"), human_choice(t)),
                )
            ]
        since = (
            t("unlock.since", when=turn.local_time(account.locked_at)) if account.locked_at else ""
        )
        turn.expect("unlock.confirm", {"target": account.directory_id})
        return [
            Reply(
                t("unlock.locked", since=since),
                choices=(
                    Choice(t("unlock.yes"), _UNLOCK_YES, "primary"),
                    Choice(t("unlock.no"), _UNLOCK_NO),
                ),
                private=True,
            )
        ]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        t = turn.t
        picked = turn.picked(
            (Choice(t("unlock.yes"), _UNLOCK_YES), Choice(t("unlock.no"), _UNLOCK_NO))
        )
        if picked is None:
            answer = turn.yes_no()
            picked = None if answer is None else (_UNLOCK_YES if answer else _UNLOCK_NO)
        if picked is None:
            return None
        turn.done()
        if picked == _UNLOCK_NO:
            return [Reply(t("unlock.declined"))]
        # Look the account up again: it must still be the actor's, and its state may have changed.
        account = await turn.account()
        if account.directory_id != pending.state.get("target"):
            turn.audit(
                action="unlock",
                outcome="refused",
                target=account,
                actor=account,
                reason="target_changed",
            )
            return [Reply(t("unlock.changed"), choices=(human_choice(t),))]
        if refused := refusal(turn, account, "unlock"):
            return refused
        if not account.locked:
            return [Reply(t("unlock.already"))]
        limited = self._rate_limited(turn, account)
        if limited:
            turn.audit(
                action="unlock", outcome="refused", target=account, actor=account, reason=limited
            )
            return [
                Reply(
                    t(
                        f"unlock.{limited}",
                        limit=turn.services.settings.self_service.unlocks_per_day,
                    ),
                    choices=(human_choice(t),),
                )
            ]
        try:
            await turn.services.directory.unlock(account)
        except ProtectedAccount:
            return refuse_protected(turn, account, "unlock", "directory_refused")
        except DirectoryError as exc:
            ref = open_failure_ticket(turn, account, "unlock", type(exc).__name__)
            turn.audit(
                action="unlock",
                outcome="failed",
                target=account,
                actor=account,
                reason=type(exc).__name__,
                ticket=ref,
            )
            return [Reply(t("unlock.failed", ticket=ref))]
        turn.audit(action="unlock", outcome="done", target=account, actor=account)
        return [Reply(t("unlock.done"))]

    @staticmethod
    def _rate_limited(turn: Turn, account: Account) -> str | None:
        settings = turn.services.settings.self_service
        now = turn.services.clock()
        audit = turn.services.audit
        if audit.count(account.directory_id, "unlock", "done", now - timedelta(days=1)) >= (
            settings.unlocks_per_day
        ):
            return "daily_limit"
        last = audit.last_time(account.directory_id, "unlock", "done")
        cooldown = timedelta(minutes=settings.unlock_cooldown_minutes)
        if last is not None and parse_iso(last) > now - cooldown:
            return "cooldown"
        return None


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


class PasswordReset:
    """Help with a forgotten, expired or to-be-changed password: `reset my password`."""

    intent: ClassVar[str] = "password_reset"

    async def handle(self, turn: Turn) -> list[Reply]:
        t = turn.t
        account = await turn.account()
        if refused := refusal(turn, account, "password_reset"):
            return refused
        lines = [password_status(turn, account)]
        if account.locked:
            lines.append(t("password.also_locked"))
        if account.source == "cloud":
            lines.append(t("password.how_cloud"))
        else:
            lines.append(t("password.how_onprem"))
        lines.append(t("password.forgot"))
        turn.audit(action="password_status", outcome="done", target=account, actor=account)
        turn.expect("password_reset.next", {"locked": account.locked})
        return [Reply("\n".join(lines), choices=self._choices(t, account.locked), private=True)]

    @staticmethod
    def _choices(t: Translator, locked: bool) -> tuple[Choice, ...]:
        unlock = (intent_choice(t, "unlock"),) if locked else ()
        return (
            *unlock,
            Choice(t("password.guide"), _GUIDE, "primary"),
            Choice(t("password.ticket"), _TICKET),
            human_choice(t),
        )

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        t = turn.t
        picked = turn.picked(self._choices(t, bool(pending.state.get("locked"))))
        if picked == _GUIDE:
            turn.done()
            kb = turn.services.kb
            article = kb.get(turn.services.settings.kb.password_article)
            if article is None:
                return [Reply(t("kb.gone"), choices=(human_choice(t),))]
            article = kb.in_language(article, t.lang)
            return [Reply(f"*{article.title}*\n\n{article.body}", choices=(human_choice(t),))]
        if picked == _TICKET:
            return propose_ticket(
                turn,
                summary="Forgotten password: identity check and reset needed",
                description=t("password.ticket_description"),
                category="account & access",
            )
        return None
