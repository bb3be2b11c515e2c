"""The engine: one `Incoming` in, a list of `Reply`s out.

For each message it (1) drops a redelivered platform event, (2) cleans the text
(control characters, length, secrets — read with the waiting flow's `SecretContext`, and
in a submitted form's fields too; a clicked button's label is not typed text), (3) picks
the reply's language (`bot.language`: the one written, asked for, or remembered for the
person), (4) hands the message to the flow that is waiting for an answer, if any — a
thanks or a goodbye ends it politely instead; a new request typed where free text is
awaited (a rating comment, a reopen reason) is started and the question kept
(`bot/handlers/free_text.py`); a message that does not answer it is
understood afresh and the question is kept, with a button back to it; a number or yes
that fits none of its choices is told so, and the question still waits
(`bot/handlers/interrupted.py`) — else (5) reads a typed rating of a ticket or an
approver's typed answer (`bot/handlers/typed_approval.py`), or classifies
the intent and calls that intent's handler (an outage report is answered
as one whatever it was classified as, `bot/handlers/outage.py`; a problem described is
remembered for what comes next, `bot/handlers/context.py`); when the two best intents are
close it asks which one with two buttons (`bot/handlers/clarify.py`) and runs the one
picked on the original message. A bare number or no with no question waiting is no
request (the bot says it asked nothing); a bare "ok" / 「好」 is ended politely. Around
(4) and (5) sits the error boundary: an integration that is down (`Unavailable`) in any
handler gives a plain answer, a ticket and an audit record (rule 7, `Engine._run`); another
`UserFacingError` becomes its catalogue message;
anything else is logged with a short reference id and the user sees a polite message with that
id, never the exception. Before (4), a `/helpdesk` command (`Incoming.command`, set by the
adapter), and an engineer's subcommand typed without the prefix (`claim HD-1003`,
`bot/handlers/command_words.py`), go to the command handler.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import overload

from bot.errors import UserFacingError
from bot.handlers.account_facts import about_the_account, fact_before_question
from bot.handlers.base import (
    INTENT_CHOICE_PREFIX,
    Handler,
    IntentPicked,
    Turn,
    human_choice,
    menu,
)
from bot.handlers.clarify import CLARIFY_FLOW, ask, chosen
from bot.handlers.command_words import engineer_only_words, engineer_words
from bot.handlers.commands import BY_NAME, ENGINEER_SIDE
from bot.handlers.context import remember
from bot.handlers.free_text import awaits_free_text, new_request
from bot.handlers.home import home
from bot.handlers.interrupted import BACK, back, offer_back, park, worth_keeping
from bot.handlers.outage import URGENT_INTENT, urgent_intent
from bot.handlers.outcomes import said
from bot.handlers.roles import is_engineer
from bot.handlers.ticket_requests import RATE_INTENT
from bot.handlers.tickets import asks_for_a_person
from bot.handlers.typed_approval import TYPED_APPROVAL
from bot.i18n import Translator
from bot.integrations.directory import Account, Unavailable
from bot.intents import (
    INTENTS,
    IntentResult,
    approval_answer,
    bare_answer,
    rating,
    thanks_or_bye,
    yes_or_no,
)
from bot.language import asked_language, reply_language, written_in
from bot.messages import Command, Incoming, Lang, Reply
from bot.redact import SecretContext, redact_incoming
from bot.selfservice.recovery import integration_down
from bot.services import Services
from bot.store.conversations import PendingFlow, conversation_key
from bot.tickets.outage import outage_words

log = logging.getLogger(__name__)

_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\ufffe\uffff\ud800-\udfff]"
)
"""Removed from every text: control and direction characters, and lone surrogates (a JSON
`"\\ud800"` decodes to one; SQLite cannot store it)."""
ACTION_CHOICE_PREFIX = "@"
"""A choice value `@intent:...` (a button on a ticket or a notice) goes to that intent's
handler whatever flow is waiting, so buttons keep working long after they were shown."""
_CANCEL_WORDS = frozenset(
    {"cancel", "stop", "never mind", "nevermind", "取消", "唔使喇", "算啦", "唔要喇", "唔使喇唔該"}
)


def understood(
    classify: Callable[[str], IntentResult], text: str
) -> tuple[str, IntentResult | None]:
    """The intent a fresh message is answered with, and the model's reading of it (None for
    a typed rating or an approver's answer, which are read before any model): the model's
    intent, unless the words report an outage (`urgent_intent`) or open with, or end in, an
    ask for a person with the problem beside it (`asks_for_a_person`). When the model's two
    best are close and neither rule changed or confirmed its answer, the engine asks which one
    (`result.close`). The conversation suite measures this intent, not the model's alone."""
    if rating(text) is not None:
        return RATE_INTENT, None
    if approval_answer(text) is not None:
        return TYPED_APPROVAL, None
    result = classify(text)
    intent = urgent_intent(result.intent, text)
    if intent == "human" and result.close and asks_for_a_person(classify, text):
        # The words ask for a person with the problem beside them: the rule answers, as it
        # does when the model reads the problem first, so there is nothing to ask.
        return intent, replace(result, close=False)
    if intent != "human" and asks_for_a_person(classify, text):
        intent = "human"
    return intent, result


def _outage_said(intent: str, turn: Turn) -> bool:
    """An outage its words report ("I can't trade"): answered as one, never asked about,
    however close the model's runner-up."""
    return intent == URGENT_INTENT and bool(outage_words(turn.msg.text))


@dataclass
class Engine:
    """Routes messages to handlers. Build with `Engine(services, handlers)`."""

    services: Services
    handlers: Sequence[Handler]
    _by_intent: dict[str, Handler] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        for handler in self.handlers:
            if not (handler.__doc__ or "").strip():
                raise TypeError(
                    f"handler {type(handler).__name__} has no docstring (its help text)"
                )
            if handler.intent in self._by_intent:
                raise TypeError(f"two handlers for intent {handler.intent!r}")
            self._by_intent[handler.intent] = handler
        missing = set(INTENTS) - set(self._by_intent)
        if missing:
            raise TypeError(f"no handler for intents: {', '.join(sorted(missing))}")

    def handler_for(self, intent: str) -> Handler:
        return self._by_intent[intent]

    async def handle(self, msg: Incoming, *, claimed: bool = False) -> list[Reply]:
        """Answer one message. Never raises for anything a user can send. `claimed`: its
        event id was claimed already (by the inbox, together with storing it)."""
        services = self.services
        if not claimed and msg.event_id and not services.events.claim(msg.platform, msg.event_id):
            log.info("dropping redelivered event %s", msg.event_id)
            return []
        if not msg.addressed and not self._in_a_ticket_thread(msg):
            return []  # chatter in a channel's thread that is no ticket's: not for the bot
        services.kb.refresh()
        key = conversation_key(msg)
        notes: list[str] = []
        text = _CONTROL.sub("", msg.text).strip()
        limit = services.settings.bot.max_message_chars
        if len(text) > limit:
            text = text[:limit]
            notes.append("engine.too_long")
        pending = services.conversations.get(key)
        context = pending.context if pending else SecretContext.NONE
        cleaned, found = redact_incoming(replace(msg, text=text), context)
        if found or msg.redacted:
            notes.append("engine.secret_redacted")
        lang = self._language(cleaned, pending)
        if msg.choice and pending and not cleaned.text:
            lang = pending.lang
        msg = replace(cleaned, lang=lang, locale=msg.locale or msg.lang)
        t = Translator(lang)
        request_id = msg.event_id or uuid.uuid4().hex
        turn = Turn(msg=msg, t=t, services=services, key=key, request_id=request_id)
        replies = await self._answer(turn, pending)
        prefix = [Reply(t(note, limit=f"{limit:,}"), private=True) for note in notes]
        said = msg.text or (f"[{msg.choice}]" if msg.choice else "")
        services.transcripts.record(
            key,
            [("user", said)] + [("bot", r.text) for r in replies if not r.private],
        )
        return prefix + replies

    def _in_a_ticket_thread(self, msg: Incoming) -> bool:
        tickets = self.services.tickets
        thread = msg.thread_id
        return thread is not None and (
            tickets.for_thread(thread) is not None
            or tickets.for_requester_thread(thread) is not None
        )

    def _language(self, msg: Incoming, pending: PendingFlow | None) -> Lang:
        """The reply's language (`bot.language.reply_language`); remembers the one written
        in, or asked for, per person. A clicked label or a form says nothing about it."""
        memory = self.services.languages
        asked = asked_language(msg.text)
        if asked is not None:
            memory.remember(msg.actor, asked, chosen=True)
            return asked
        remembered = memory.get(msg.actor)
        fallback = pending.lang if pending else msg.lang
        if msg.choice is not None or not msg.text:
            # a click: the language asked for, else the waiting question's, else the one
            # the person last wrote in (a button on a notice), else the platform's
            if remembered and (remembered.chosen or pending is None):
                return remembered.lang
            return fallback
        written = written_in(msg.text)
        if written is not None and not self._carries_a_note(msg):
            memory.remember(msg.actor, written)
        if remembered is None:
            return written or fallback
        return reply_language(msg.text, remembered.lang, remembered.chosen, fallback)

    def _carries_a_note(self, msg: Incoming) -> bool:
        """Whether the message's words are a note for someone else, not the person's own
        language: a subcommand (`/helpdesk comment HD-1003 已經幫你重設`, `note HD-1003 …`
        typed without the prefix) or a reply in a ticket's thread. An English-speaking
        engineer typing a Chinese note for a Chinese requester keeps their English."""
        typed = msg.command is not None or Command.typed(msg.text) is not None
        if typed or engineer_words(msg.text, BY_NAME, ENGINEER_SIDE):
            return True
        thread, tickets = msg.thread_id, self.services.tickets
        if not thread:
            return False
        return tickets.for_thread(thread) is not None or (
            tickets.for_requester_thread(thread) is not None
        )

    async def home(self, msg: Incoming) -> Reply:
        """The actor's home screen (open tickets, quick actions, an engineer's queue)."""
        services = self.services
        t = Translator(msg.lang)
        turn = Turn(
            msg=msg, t=t, services=services, key=conversation_key(msg), request_id=uuid.uuid4().hex
        )
        try:
            return await home(turn)
        except Exception:
            ref = secrets.token_hex(2)
            log.exception("error %s while building the home screen", ref)
            return Reply(t("engine.error", ref=ref))

    async def _engineer_typed_command(self, turn: Turn) -> bool:
        """`claim HD-1003` typed without `/helpdesk` by someone the directory says is an
        engineer, or by anyone when only engineers have that subcommand (it is then refused
        and audited, `bot/handlers/command_words.py`); otherwise the words are a message."""
        msg = turn.msg
        if msg.choice is not None or "command" not in self._by_intent:
            return False
        if not engineer_words(msg.text, BY_NAME, ENGINEER_SIDE):
            return False
        return engineer_only_words(msg.text, BY_NAME, ENGINEER_SIDE) or await is_engineer(turn)

    @staticmethod
    def _starts_a_new_request(turn: Turn, pending: PendingFlow) -> bool:
        """Whether a text typed where free text is awaited (a rating comment, a reopen
        reason) clearly reads as a new request instead (`bot/handlers/free_text.py`)."""
        if not turn.msg.text or turn.msg.choice is not None or not awaits_free_text(pending):
            return False
        intent, result = understood(turn.services.classifier.classify, turn.msg.text)
        if result is None or (
            result.close and intent == result.intent and not _outage_said(intent, turn)
        ):
            return False
        # a rule's reading (outage words, an ask for a person) is sure by its nature
        sure = result.confidence if intent == result.intent else 1.0
        return new_request(turn, pending, intent, sure)

    async def _understand(self, turn: Turn) -> list[Reply]:
        """Answer a message afresh: a rating of a ticket, an approver's "approve" / 「批准」,
        else the intent it is classified as."""
        intent, result = understood(turn.services.classifier.classify, turn.msg.text)
        if result is not None:
            log.debug("intent %s (%.2f)", result.intent, result.confidence)
            if result.close and intent == result.intent and not _outage_said(intent, turn):
                question = ask(turn, result)
                if about_the_account(turn.msg.text):  # rule: the account's fact comes first
                    offered = (result.intent, result.runner_up)
                    fact = await fact_before_question(turn, offered)
                    return [fact, *question] if fact else question
                return question
            remember(turn, intent)
        return await self._run(intent, turn)

    @overload
    async def _run(self, intent: str, turn: Turn) -> list[Reply]: ...

    @overload
    async def _run(self, intent: str, turn: Turn, pending: PendingFlow) -> list[Reply] | None: ...

    async def _run(
        self, intent: str, turn: Turn, pending: PendingFlow | None = None
    ) -> list[Reply] | None:
        """Call `intent`'s handler (`resume` when `pending` waits for it) inside rule 7's
        boundary: an integration that is down (`Unavailable`) gives the user a plain answer, a
        ticket with the context and one audit record under the intent's name, whatever the
        handler (`bot.selfservice.recovery.integration_down`)."""
        handler = self._by_intent[intent]
        try:
            if pending is not None:
                return await handler.resume(turn, pending)
            return await handler.handle(turn)
        except Unavailable as exc:
            return _integration_down(turn, intent, exc)

    async def _answer(self, turn: Turn, pending: PendingFlow | None) -> list[Reply]:
        msg, t = turn.msg, turn.t
        try:
            if not msg.text and not msg.choice and not msg.form:
                return [Reply(t("engine.empty"), choices=menu(t))]
            if msg.text.lower() in _CANCEL_WORDS:
                turn.services.conversations.clear(turn.key)
                return [Reply(t("engine.cancelled"), choices=menu(t))]
            if asked_language(msg.text) is not None:
                return [Reply(t("language.switched"))]
            if msg.choice == BACK:
                return back(turn)
            thread_ticket = (
                turn.services.tickets.for_thread(msg.thread_id) if msg.thread_id else None
            )
            own_ticket = (
                turn.services.tickets.for_requester_thread(msg.thread_id)
                if msg.thread_id and thread_ticket is None
                else None
            )
            if (thread_ticket or own_ticket) and msg.text and "command" in self._by_intent:
                # In a ticket's triage thread: an engineer's reply to the requester. In the
                # thread of a notice the requester got: the requester's comment.
                verb = "reply" if thread_ticket else "comment"
                words = (str(thread_ticket or own_ticket), *msg.text.split())
                inner = replace(turn, msg=replace(msg, command=Command(verb, words)))
                return await self._run("command", inner)
            if msg.command is not None and "command" in self._by_intent:
                turn.services.conversations.clear(turn.key)
                return await self._run("command", turn)
            if await self._engineer_typed_command(turn):
                turn.services.conversations.clear(turn.key)
                typed = replace(turn, msg=replace(msg, command=Command.parse(msg.text)))
                return await self._run("command", typed)
            if msg.choice and msg.choice.startswith(ACTION_CHOICE_PREFIX):
                intent = msg.choice[1:].split(":", 1)[0]
                if intent in self._by_intent:
                    return await self._run(intent, turn)
            if msg.choice and msg.choice.startswith(INTENT_CHOICE_PREFIX):
                intent = msg.choice.removeprefix(INTENT_CHOICE_PREFIX)
                if intent in self._by_intent:
                    turn.services.conversations.clear(turn.key)
                    return await self._run(intent, turn)
            if pending is not None and pending.flow == CLARIFY_FLOW:
                picked = chosen(turn, pending)
                if picked is None and bare_answer(msg.text):
                    return [Reply(t("engine.not_a_choice"))]  # "yes" to "A or B?": still asks
                turn.services.conversations.clear(turn.key)
                if picked is not None:
                    intent, text = picked
                    original = replace(turn, msg=replace(msg, text=text, choice=None))
                    return await self._run(intent, original)
                pending = None
            if pending is not None and thanks_or_bye(msg.text):
                return await self._run("thanks_bye", turn)
            if pending is not None and self._starts_a_new_request(turn, pending):
                turn.services.conversations.clear(turn.key)
                park(turn, pending)  # a new problem typed instead of a comment: both kept
                return offer_back(turn, await self._understand(turn))
            if pending is not None:
                flow_intent = pending.flow.split(".", 1)[0]
                if flow_intent in self._by_intent:
                    try:
                        answer = await self._run(flow_intent, turn, pending)
                    except IntentPicked as picked:  # "talk to a person" typed: its button
                        turn.services.conversations.clear(turn.key)
                        return await self._run(picked.intent, turn)
                    if answer is not None:
                        return answer
                if bare_answer(msg.text) and worth_keeping(pending):
                    return [Reply(t("engine.not_a_choice"))]  # "7" to a yes / no: still waiting
                turn.services.conversations.clear(turn.key)
                if msg.text and worth_keeping(pending):
                    park(turn, pending)
                    return offer_back(turn, await self._understand(turn))
            if not msg.text:
                return [Reply(t("engine.choice_expired"), choices=menu(t))]
            if bare_answer(msg.text):
                # "ok" / 「好」 with nothing asked is an acknowledgement; "2" or "no" answers
                # a question that has ended
                if yes_or_no(msg.text):
                    return await self._run("thanks_bye", turn)
                return [Reply(t("engine.nothing_asked"), choices=menu(t))]
            return await self._understand(turn)
        except Unavailable as exc:  # outside any handler (an engineer's role check)
            return _integration_down(turn, "message", exc)
        except UserFacingError as exc:
            turn.services.conversations.clear(turn.key)
            return [Reply(t(exc.key, **exc.params), choices=menu(t))]
        except Exception:
            ref = secrets.token_hex(2)
            log.exception("error %s while answering request %s", ref, turn.request_id)
            turn.services.conversations.clear(turn.key)
            return [Reply(t("engine.error", ref=ref), choices=(human_choice(t),))]


def _integration_down(turn: Turn, action: str, exc: Unavailable) -> list[Reply]:
    """Rule 7 for whatever was being answered: clear the waiting question, open a ticket,
    audit, and say so plainly."""
    turn.services.conversations.clear(turn.key)
    known = turn.known.get("account")
    actor = known if isinstance(known, Account) else None
    log.warning("integration down during %s (request %s): %s", action, turn.request_id, exc)
    return said(turn, integration_down(turn, action, exc, actor))
