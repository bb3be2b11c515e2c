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

A number typed that fits none of the choices last shown ("9" under three articles, "3"
under a check's one button) is told "That isn't one of the choices" and whatever waited
still waits, whether a question, an offer or only buttons on an answer: the engine notes
the choices its last answer showed (`note_shown`, `shown`). A number in range with no
question waiting clicks that choice. A notice with buttons sent to the person after that
answer (an approved reset's "Reset my password now", a resolved ticket's 1-5 rating) is
what was shown last: its number or its label typed presses its button
(`pressed_on_a_notice`), so the approval flow can be finished where buttons cannot be
pressed (`helpdesk chat`), and by typing anywhere.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from bot.clock import iso
from bot.handlers.base import IntentPicked, Turn
from bot.messages import Choice, Recipient, Reply
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


_SHOWN = "|shown"


def note_shown(turn: Turn, replies: Sequence[Reply]) -> None:
    """Note the choices the last answer showed (maybe none), and when: a notice's buttons
    count only when the notice came after it."""
    offered = [r.choices for r in replies if r.choices]
    shown = [[c.label, c.value, c.style] for c in offered[-1]] if offered else []
    at = iso(turn.services.clock())
    turn.services.conversations.put(
        turn.key + _SHOWN, PendingFlow("shown", {"choices": shown, "at": at}, turn.t.lang)
    )


def _notice_choices(turn: Turn, after: str) -> tuple[Choice, ...]:
    """The buttons of the newest notice sent to this person after `after` (within the
    conversation timeout): an approved reset's "Reset my password now", a resolved
    ticket's ratings. Where buttons cannot be pressed (the console), or when someone types
    instead, its number or its label presses it."""
    services = turn.services
    oldest = iso(
        services.clock() - timedelta(minutes=services.settings.conversation.timeout_minutes)
    )
    msg = turn.msg
    found = services.outbox.latest_choices(
        Recipient.person(msg.platform, msg.actor.user_id), oldest, after
    )
    if found is None:
        return ()
    return tuple(
        Choice(str(row[0]), str(row[1]))
        for row in found[1]
        if isinstance(row, list) and len(row) >= 2
    )


def shown(turn: Turn) -> tuple[Choice, ...]:
    """The choices last shown to this person here: those of the last answer, or of a notice
    with buttons sent after it (none: empty)."""
    kept = turn.services.conversations.get(turn.key + _SHOWN)
    rows = kept.state.get("choices", []) if kept else []
    at = str(kept.state.get("at", "")) if kept else ""
    notice = _notice_choices(turn, at)
    if notice:
        return notice
    return tuple(
        Choice(str(label), str(value), style)
        for label, value, style in rows
        if style in ("default", "primary", "danger")
    )


def pressed_on_a_notice(turn: Turn) -> str | None:
    """The value of a notice's button whose label the message types ("Reset my password
    now"), when a notice with buttons came after the last answer; else None."""
    kept = turn.services.conversations.get(turn.key + _SHOWN)
    notice = _notice_choices(turn, str(kept.state.get("at", "")) if kept else "")
    if not notice or not turn.msg.text:
        return None
    try:
        picked = turn.picked(notice)
    except IntentPicked:
        return None
    return picked


def not_a_choice(turn: Turn) -> list[Reply]:
    """ "That isn't one of the choices", with the choices last shown again."""
    return [Reply(turn.t("engine.not_a_choice"), choices=shown(turn))]


def typed_number(text: str) -> bool:
    """A bare number ("9", "#3", full-width "３"): it can only pick a choice."""
    return unicodedata.normalize("NFKC", text).strip(" .!。！#").isdecimal()


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
