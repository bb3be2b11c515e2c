"""A question left waiting when the person asks something else: kept, and offered back.

"Unlock it now?" — "how do I set up VPN on my phone?": the VPN question is answered
and the unlock question is kept (one per conversation, until the usual flow timeout),
with a "Back to my earlier question" button on the answer. Clicking it asks the earlier
question again, and the next message answers it as if nothing had come between. Only
the question's text is asked again, not its buttons (they are not stored): its choices
can still be typed (labels, yes / no).

Only questions the person started something with are kept: an offer made after an answer
("Did this help?", "Shall I open a request for it?", "Anything to add to your rating?")
is simply dropped when they go on to something else, as before.
"""

from __future__ import annotations

from dataclasses import replace

from bot.handlers.base import Turn
from bot.messages import Choice, Reply
from bot.store.conversations import PendingFlow

BACK = "back:earlier"
"""The value of the "Back to my earlier question" button; the engine answers it."""
_QUESTION = "_question"
_OFFERS = (
    "kb_question.",
    "licence_check.request",
    "group_check.request",
    "ticket_status.csat_comment",
)


def _parked_key(turn: Turn) -> str:
    return f"{turn.key}|interrupted"


def worth_keeping(pending: PendingFlow) -> bool:
    """Whether `pending` is a question to come back to, not an offer after an answer."""
    return not pending.flow.startswith(_OFFERS)


def park(turn: Turn, pending: PendingFlow) -> None:
    """Keep `pending` aside, with the question the bot last asked in this conversation."""
    said = [
        text for speaker, text in turn.services.transcripts.recent(turn.key) if speaker == "bot"
    ]
    state = {**pending.state, _QUESTION: said[-1] if said else ""}
    turn.services.conversations.put(_parked_key(turn), replace(pending, state=state))


def back_choice(turn: Turn) -> Choice:
    return Choice(turn.t("interrupted.back"), BACK)


def offer_back(turn: Turn, replies: list[Reply]) -> list[Reply]:
    """`replies` with the "Back to my earlier question" button on the last public one, or
    on the last one when all are private (an account answer is shown to its owner only)."""
    if not replies:
        return replies
    public = [i for i, reply in enumerate(replies) if not reply.private]
    i = public[-1] if public else len(replies) - 1
    last = replies[i]
    return [
        *replies[:i],
        replace(last, choices=(*last.choices, back_choice(turn))),
        *replies[i + 1 :],
    ]


def parked(turn: Turn) -> PendingFlow | None:
    """The question kept aside in this conversation, if any."""
    return turn.services.conversations.get(_parked_key(turn))


def back(turn: Turn) -> list[Reply]:
    """Ask the kept question again and wait for its answer; say so when nothing is kept."""
    t, store = turn.t, turn.services.conversations
    parked = store.get(_parked_key(turn))
    store.clear(_parked_key(turn))
    if parked is None:
        return [Reply(t("interrupted.gone"))]
    state = dict(parked.state)
    question = str(state.pop(_QUESTION, ""))
    store.put(turn.key, replace(parked, state=state))
    return [Reply(t("interrupted.again", question=question))]
