"""When two intents are about as likely: ask one short question with both as buttons.

"Unlock your account, or reset your password?" / 「解鎖戶口，定係重設密碼？」. The message
waits in the `clarify` flow; a click (or the number, or the label typed) runs the chosen
intent on the original message, so a ticket ref or a product named in it still counts.
Anything else is understood afresh.
"""

from __future__ import annotations

from bot.handlers.base import Turn
from bot.i18n import Translator
from bot.intents import IntentResult
from bot.messages import Choice, Reply
from bot.store.conversations import PendingFlow

CLARIFY_FLOW = "clarify"
"""The pending flow of an asked question; the engine answers it (it is no handler's)."""
_VALUE = "clarify:"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _choices(t: Translator, intents: list[str]) -> tuple[Choice, ...]:
    return tuple(Choice(_capitalised(t(f"clarify.{i}")), _VALUE + i) for i in intents)


def ask(turn: Turn, result: IntentResult) -> list[Reply]:
    """Ask which of the two best intents the message meant."""
    t = turn.t
    intents = [result.intent, result.runner_up]
    turn.expect(CLARIFY_FLOW, {"text": turn.msg.text, "intents": intents})
    question = t(
        "clarify.question", first=t(f"clarify.{intents[0]}"), second=t(f"clarify.{intents[1]}")
    )
    return [Reply(_capitalised(question), choices=_choices(t, intents))]


def chosen(turn: Turn, pending: PendingFlow) -> tuple[str, str] | None:
    """The intent picked and the original message, or None when this is not an answer."""
    intents = [str(i) for i in pending.state.get("intents", [])]
    picked = turn.picked(_choices(turn.t, intents))
    if picked is None:
        return None
    return picked.removeprefix(_VALUE), str(pending.state.get("text", ""))
