"""BitLocker recovery key: "my laptop asks for a BitLocker recovery key",
「部電腦問我BitLocker recovery key」.

Asks for the key id the recovery screen shows (the first 8 characters are enough; one
typed in the first message is used at once), checks it names a key of the person's own
device that is not a server, asks their manager to approve, and shows the key once,
privately, when the person presses the button the approval sends them. The rules are in
`bot.selfservice.bitlocker`.
"""

from __future__ import annotations

from typing import ClassVar

from bot.handlers.base import Turn, human_choice
from bot.handlers.outcomes import said
from bot.integrations.bitlocker import typed_key_id
from bot.integrations.directory import Account
from bot.messages import Reply
from bot.selfservice.approval_answers import RUN_KEY
from bot.selfservice.bitlocker import BITLOCKER_KEY, ask_for_key, run_approved_key
from bot.selfservice.guardrails import refusal
from bot.selfservice.recovery import own_account
from bot.store.conversations import PendingFlow

_WAITING = "bitlocker_key.id"


class BitLockerKey:
    """Your laptop's BitLocker recovery key (your manager approves; shown once, only to
    you): `my laptop asks for a BitLocker recovery key`, `部電腦問我BitLocker recovery key`."""

    intent: ClassVar[str] = "bitlocker_key"

    async def handle(self, turn: Turn) -> list[Reply]:
        if turn.msg.choice and turn.msg.choice.startswith(RUN_KEY):
            return said(turn, await run_approved_key(turn, turn.msg.choice.removeprefix(RUN_KEY)))
        account = await own_account(turn, BITLOCKER_KEY)
        if not isinstance(account, Account):
            return said(turn, account)
        if refused_now := refusal(turn, account, BITLOCKER_KEY):
            return said(turn, refused_now)
        typed = typed_key_id(turn.msg.text)
        if typed is not None:
            return await self._key(turn, account, typed)
        turn.expect(_WAITING)
        return [Reply(turn.t("bitlocker.ask_id"), choices=(human_choice(turn.t),))]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        typed = typed_key_id(turn.msg.text)
        if pending.flow != _WAITING or typed is None:
            return None
        turn.done()
        account = await own_account(turn, BITLOCKER_KEY)
        if not isinstance(account, Account):
            return said(turn, account)
        return await self._key(turn, account, typed)

    @staticmethod
    async def _key(turn: Turn, account: Account, typed: str) -> list[Reply]:
        outcome = await ask_for_key(turn, account, typed)
        if outcome.key == "bitlocker.ambiguous":
            turn.expect(_WAITING)
        return said(turn, outcome)
