"""A new request typed where the bot waits for free text: started, the question kept.

Some questions take any text as their answer: the optional comment after a rating, the
reason for reopening, a comment or attachment note on a ticket, the description of a new
ticket. People do not always answer them: after rating a ticket they may go straight on to
"my outlook keeps crashing" / 「部印表機印唔到嘢」. Stored as the comment, that problem
would be lost. So before such a flow takes the text, `new_request` asks whether the text
clearly reads as a request of its own; if it does, the engine starts that request and keeps
the question aside with its "Back to my earlier question" button
(`bot/handlers/interrupted.py`).

The rule (decided here, README "Typed answers while the bot waits"): the text is a new
request when the engine's reading of it (`bot.engine.understood`: the intent model, with
outage words and asks for a person) is

- sure: confidence ≥ 0.8 and the two best intents not close (a question is never
  answered by a guess), and
- not an intent that answers this question (`_ANSWERS`): a thanks or a greeting answers
  every one; a problem told again (a knowledge question, an ask for a person, "it broke
  again") answers a reopen reason and a ticket comment; so do a product, a group or a
  thing wanted (a comment answering "which version?" says "excel 365"). A ticket action
  answers the reopen reason or comment of that ticket unless it names another. What is
  left to start from a reopen reason or a comment: an unlock, a password, an outage,
  another ticket. A new ticket's description is started from only by a ticket action
  ("HD-1002 any news?", 「我張單點呀」): whoever asked for a person and then describes an
  account problem or an outage still gets the ticket they asked for (at P1 for an outage);
- an outage only by its words (`bot.tickets.outage`), not by the model alone, and
- after a rating, read as a knowledge question or an ask for a person, it does not speak
  of how the ticket was handled (`speaks_of_the_handling`: "took too long but fixed", "the
  engineer was quick and polite", 「師傅好有耐性」), and
- read as a knowledge question (the model's reading of any problem described), it names an
  IT thing (`names_a_thing`: a product, a device, an app or a service, Chinese through the
  glossary). "still slow though" is a comment; "my outlook keeps crashing" is a request.

Why: a missed comment costs one line of feedback, a problem stored as a comment costs a
person their help (nobody reads rating comments in a hurry), so the bar leans towards the
request, but only where the words leave no doubt; everything else is still taken as the
answer, as before. A description being edited ("Change the text") and an engineer's note
(`command.*`: notes describe problems by nature) always take the text.
"""

from __future__ import annotations

from typing import Final

from bot.handlers.base import Turn
from bot.handlers.outage import URGENT_INTENT
from bot.handlers.things import names_a_thing, speaks_of_the_handling
from bot.intents import INTENTS, find_entities
from bot.store.conversations import PendingFlow
from bot.tickets.outage import outage_words

_SURE: Final = 0.8
_AS_ANSWER: Final = frozenset({"thanks_bye", "greeting"})
_PROBLEM_TOLD: Final = _AS_ANSWER | {"kb_question", "human", "ticket_reopen"}
_ABOUT_IT: Final = _PROBLEM_TOLD | {"licence_check", "group_check", "request"}
"""A ticket's comment or reopen reason may name a product, a group or a thing wanted
("excel 365" answers "which version?")."""
_TICKET_ACTIONS: Final = frozenset(
    {"ticket_status", "ticket_cancel", "ticket_reopen", "ticket_chase"}
)
_ANSWERS: Final[dict[str, frozenset[str]]] = {
    "ticket_status.csat_comment": _AS_ANSWER,
    "ticket_status.reopen": _ABOUT_IT,
    "ticket_status.comment": _ABOUT_IT,
    "ticket_status.attach": _ABOUT_IT,
    "human.describe": frozenset(INTENTS) - _TICKET_ACTIONS,
}
"""The flows that take free text, and the intents that answer each."""
_ABOUT_A_TICKET: Final = frozenset(
    {"ticket_status.reopen", "ticket_status.comment", "ticket_status.attach"}
)
_AFTER_RATING: Final = "ticket_status.csat_comment"
_LIKE_A_COMMENT: Final = frozenset({"kb_question", "human"})
"""What a comment on the service reads as to the model ("the engineer was quick": `human`)."""


def awaits_free_text(pending: PendingFlow) -> bool:
    """Whether `pending` takes any text as its answer (and so `new_request` applies)."""
    return pending.flow in _ANSWERS and not (pending.flow == "human.describe" and pending.state)


def new_request(turn: Turn, pending: PendingFlow, intent: str, confidence: float) -> bool:
    """Whether the message, read as `intent` (`confidence`, already not close), is a new
    request rather than the free-text answer `pending` waits for (the rule: module doc)."""
    if not awaits_free_text(pending):
        return False
    if intent in _ANSWERS[pending.flow] or confidence < _SURE:
        return False
    text = turn.msg.text
    if intent == URGENT_INTENT and not outage_words(text):
        return False  # the model alone reads "I'm on floor 12" as an outage
    if pending.flow in _ABOUT_A_TICKET and intent in _TICKET_ACTIONS:
        refs = {ref.number for ref in find_entities(text).tickets}
        return bool(refs - {int(pending.state.get("ticket", 0))})
    after_rating = pending.flow == _AFTER_RATING and intent in _LIKE_A_COMMENT
    if after_rating and speaks_of_the_handling(text):
        return False
    if intent == "kb_question":
        return names_a_thing(text, turn.services.settings.incidents.services)
    return True
