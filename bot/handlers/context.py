"""What the person said before, carried into what they ask next in the same conversation.

The engine remembers the last problem a person described (`remember`): a message whose
intent is a question, a self-service check or a request (`TOPIC_INTENTS`), kept with the
conversation for `conversation.timeout_minutes`, under the conversation's key plus
`|topic` in the conversations table (no pending question is disturbed). Then:

- "Talk to a person" after a failed answer (no article, "Not quite"), a refusal or a check
  proposes a ticket whose summary is that question, not "talk to a person"; the chat goes
  with the ticket as its transcript (`Turn.open_ticket`).
- "Reopen my ticket" right after "又壞咗，outlook 又 crash" reopens with that text as the
  reason instead of asking why (`last_said`); a reopen message that carries its own reason
  ("reopen HD-1042, the problem is back") uses itself (`gives_reason`).

A short follow-up that names nothing new ("still slow", 「仲係唔得」) keeps the topic it
follows (`follows_up`). A topic is forgotten once a ticket or a reopen has used it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from bot.handlers.base import Turn
from bot.handlers.things import names_a_thing
from bot.intents import find_entities
from bot.store.conversations import PendingFlow

TOPIC_INTENTS: Final = frozenset(
    {
        "kb_question",
        "unlock",
        "password_reset",
        "licence_check",
        "group_check",
        "request",
        "urgent_outage",
    }
)
_FAULT_INTENTS: Final = frozenset({"kb_question", "urgent_outage", "unlock", "password_reset"})
_SUFFIX: Final = "|topic"
_HAN_CHAR: Final = re.compile(r"[\u3400-\u9fff]")
_FOLLOW_UP_WORDS: Final = 4
_CATEGORIES: Final = {
    "unlock": "account & access",
    "password_reset": "account & access",
    "group_check": "account & access",
    "licence_check": "software",
}
"""The category a topic's intent points at, when the configured categories have it."""
_NOT_A_REASON: Final = re.compile(
    r"\b(?:re-?open(?:ed)?|open|again|please|pls|plz|can|could|would|you|my|the|this|that|"
    r"it|ticket|tix|case|hd|i|want|to|need|a|is|now|thanks|thx)\b"
    r"|重新開|重開|開返|再開|張單|單|我|嘅|唔該|幫我|可唔可以|可以|麻煩|請|返|吓|呀|啦|喇|吖|先|個|[\W_]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Topic:
    """The last problem the person described here, and how the bot understood it."""

    text: str
    intent: str

    @property
    def category(self) -> str:
        return _CATEGORIES.get(self.intent, "other")


def follows_up(turn: Turn) -> bool:
    """Whether the message only follows up the problem already told ("still slow", 「仲係
    唔得」): at most 4 words (a Chinese character counting half), naming no IT thing, with
    a topic kept. It leaves the topic as it was: a ticket's summary stays "excel is slow
    with the big pnl file", not "still slow"."""
    text = turn.msg.text
    words = len(_HAN_CHAR.sub(" ", text).split()) + len(_HAN_CHAR.findall(text)) / 2
    if words > _FOLLOW_UP_WORDS or topic(turn) is None:
        return False
    return not names_a_thing(text, turn.services.settings.incidents.services)


def remember(turn: Turn, intent: str) -> None:
    """Keep this message as the conversation's topic when it describes a problem (a short
    follow-up of the one kept leaves that one, `follows_up`)."""
    if intent in TOPIC_INTENTS and turn.msg.text and not follows_up(turn):
        state = {"text": turn.msg.text, "intent": intent}
        turn.services.conversations.put(
            turn.key + _SUFFIX, PendingFlow("topic", state, turn.t.lang)
        )


def topic(turn: Turn) -> Topic | None:
    """The topic still remembered in this conversation, if any."""
    kept = turn.services.conversations.get(turn.key + _SUFFIX)
    if kept is None:
        return None
    return Topic(str(kept.state.get("text", "")), str(kept.state.get("intent", "")))


def forget(turn: Turn) -> None:
    turn.services.conversations.clear(turn.key + _SUFFIX)


def last_said(turn: Turn) -> str:
    """The fault the person described just before this message ("" if none): a question or
    an outage, a lock or a password problem; a licence or group check or a request is not a
    reason to reopen a ticket."""
    found = topic(turn)
    return found.text if found and found.intent in _FAULT_INTENTS else ""


def gives_reason(text: str) -> bool:
    """Whether a ticket action's message says more than the action and the ticket: a reason
    ("reopen HD-1042, Outlook crashes again") rather than "reopen my ticket" / 「重開返張單」."""
    for ref in find_entities(text).tickets:
        text = text.replace(ref.text, " ")
    return len(_NOT_A_REASON.sub("", text)) >= 3
