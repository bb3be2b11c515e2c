"""An approver's typed answer: "approve" / 「批准」 or "deny" / 「拒絕」 instead of a click.

The approver's request came as a message with Approve / Deny buttons; people often type
the answer instead. The typed word answers the one request waiting for this person,
found by their verified directory account (DESIGN rule 1) and checked again by
`ApprovalAnswer.decide` (still theirs, still pending, not expired), then audited as a
click would be. The buttons carry a one-time nonce because their value could be forged;
a typed word has no value to forge, so it is safe without one. With two or more
requests waiting, a word cannot say which: the approver is asked to use the buttons.
"""

from __future__ import annotations

from typing import ClassVar

from bot.handlers.account import ApprovalAnswer
from bot.handlers.base import Turn
from bot.handlers.outcomes import said
from bot.integrations.directory import Account
from bot.intents import approval_answer
from bot.messages import Reply
from bot.selfservice.recovery import own_account
from bot.store.conversations import PendingFlow

TYPED_APPROVAL = "approval_typed"


class TypedApproval:
    """Approve or deny the request waiting for you by typing it: `approve`, `批准`, `拒絕`."""

    intent: ClassVar[str] = TYPED_APPROVAL

    def __init__(self, answer: ApprovalAnswer) -> None:
        self._answer = answer

    async def handle(self, turn: Turn) -> list[Reply]:
        t = turn.t
        approve = approval_answer(turn.msg.text)
        me = await own_account(turn, "approval")
        if not isinstance(me, Account):
            return said(turn, me)
        waiting = turn.services.approvals.waiting_for(me.directory_id)
        if approve is None or not waiting:
            return [Reply(t("approval.none_waiting"))]
        if len(waiting) > 1:
            return [Reply(t("approval.use_buttons", count=len(waiting)))]
        return await self._answer.decide(turn, waiting[0], "approve" if approve else "deny")

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        return None
