"""The engine: one `Incoming` in, a list of `Reply`s out.

For each message it (1) drops a redelivered platform event, (2) cleans the text
(control characters, length, secrets — read with the waiting flow's `SecretContext`, and
in a submitted form's fields too; a clicked button's label is not typed text), (3) detects
the language, (4) hands the message to the flow that is waiting for an answer, if any, else
(5) classifies the intent and calls that intent's handler (an outage report is answered
as one whatever it was classified as, `bot/handlers/outage.py`; a problem described is
remembered for what comes next, `bot/handlers/context.py`); when the two best intents are
close it asks which one with two buttons (`bot/handlers/clarify.py`) and runs the one
picked on the original message. Around (4) and (5) sits the error
boundary: a `UserFacingError` becomes its catalogue message; anything else is
logged with a short reference id and the user sees a polite message with that
id, never the exception.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from bot.errors import UserFacingError
from bot.handlers.base import INTENT_CHOICE_PREFIX, Handler, Turn, human_choice, menu
from bot.handlers.clarify import CLARIFY_FLOW, ask, chosen
from bot.handlers.context import remember
from bot.handlers.home import home
from bot.handlers.outage import urgent_intent
from bot.i18n import Translator
from bot.intents import INTENTS
from bot.language import detect_language
from bot.messages import Incoming, Lang, Reply
from bot.redact import Redaction, SecretContext, redact
from bot.services import Services
from bot.store.conversations import PendingFlow, conversation_key

log = logging.getLogger(__name__)

_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\ufffe\uffff\ud800-\udfff]"
)
"""Removed from every text: control and direction characters, and lone surrogates (a JSON
`"\\ud800"` decodes to one; SQLite cannot store it)."""
COMMAND_PREFIXES = ("/helpdesk", "/hd ")
"""Text starting with these is a command (`/helpdesk queue`), handled by the "command" handler."""
ACTION_CHOICE_PREFIX = "@"
"""A choice value `@intent:...` (a button on a ticket or a notice) goes to that intent's
handler whatever flow is waiting, so buttons keep working long after they were shown."""
_CANCEL_WORDS = frozenset(
    {"cancel", "stop", "never mind", "nevermind", "取消", "唔使喇", "算啦", "唔要喇", "唔使喇唔該"}
)


def _redacted_form(form: Mapping[str, str] | None) -> tuple[Mapping[str, str] | None, bool]:
    """A submitted form's fields with secrets masked (a modal's description is typed too),
    and whether any was found."""
    if form is None:
        return None, False
    fields = {name: redact(value) for name, value in form.items()}
    return {name: r.text for name, r in fields.items()}, any(r.found for r in fields.values())


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

    async def handle(self, msg: Incoming) -> list[Reply]:
        """Answer one message. Never raises for anything a user can send."""
        services = self.services
        if msg.event_id and not services.events.claim(msg.platform, msg.event_id):
            log.info("dropping redelivered event %s", msg.event_id)
            return []
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
        # A click's text is the label of the button the bot drew, not something typed:
        # it is never scanned, so "Reset my password now" never looks like a secret.
        clicked = msg.choice is not None and msg.form is None
        cleaned = Redaction(text, ()) if clicked else redact(text, context)
        form, form_had_secret = _redacted_form(msg.form)
        if cleaned.found or form_had_secret:
            notes.append("engine.secret_redacted")
        lang: Lang = (
            detect_language(cleaned.text)
            if cleaned.text
            else (pending.lang if pending else msg.lang)
        )
        if msg.choice and pending and not cleaned.text:
            lang = pending.lang
        msg = replace(msg, text=cleaned.text, lang=lang, form=form)
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

    async def _answer(self, turn: Turn, pending: PendingFlow | None) -> list[Reply]:
        msg, t = turn.msg, turn.t
        try:
            if not msg.text and not msg.choice and not msg.form:
                return [Reply(t("engine.empty"), choices=menu(t))]
            if msg.text.lower() in _CANCEL_WORDS:
                turn.services.conversations.clear(turn.key)
                return [Reply(t("engine.cancelled"), choices=menu(t))]
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
                verb = f"reply {thread_ticket}" if thread_ticket else f"comment {own_ticket}"
                inner = replace(turn, msg=replace(msg, text=f"/helpdesk {verb} {msg.text}"))
                return await self._by_intent["command"].handle(inner)
            if msg.text.lower().startswith(COMMAND_PREFIXES) and "command" in self._by_intent:
                turn.services.conversations.clear(turn.key)
                return await self._by_intent["command"].handle(turn)
            if msg.choice and msg.choice.startswith(ACTION_CHOICE_PREFIX):
                intent = msg.choice[1:].split(":", 1)[0]
                if intent in self._by_intent:
                    return await self._by_intent[intent].handle(turn)
            if msg.choice and msg.choice.startswith(INTENT_CHOICE_PREFIX):
                intent = msg.choice.removeprefix(INTENT_CHOICE_PREFIX)
                if intent in self._by_intent:
                    turn.services.conversations.clear(turn.key)
                    return await self._by_intent[intent].handle(turn)
            if pending is not None and pending.flow == CLARIFY_FLOW:
                turn.services.conversations.clear(turn.key)
                picked = chosen(turn, pending)
                if picked is not None:
                    intent, text = picked
                    original = replace(turn, msg=replace(msg, text=text, choice=None))
                    return await self._by_intent[intent].handle(original)
                pending = None
            if pending is not None:
                handler = self._by_intent.get(pending.flow.split(".", 1)[0])
                if handler is not None:
                    answer = await handler.resume(turn, pending)
                    if answer is not None:
                        return answer
                turn.services.conversations.clear(turn.key)
            if not msg.text:
                return [Reply(t("engine.choice_expired"), choices=menu(t))]
            result = turn.services.classifier.classify(msg.text)
            log.debug("intent %s (%.2f)", result.intent, result.confidence)
            intent = urgent_intent(result.intent, msg.text)
            if result.close and intent == result.intent:
                return ask(turn, result)
            remember(turn, intent)
            return await self._by_intent[intent].handle(turn)
        except UserFacingError as exc:
            turn.services.conversations.clear(turn.key)
            return [Reply(t(exc.key, **exc.params), choices=menu(t))]
        except Exception:
            ref = secrets.token_hex(2)
            log.exception("error %s while answering request %s", ref, turn.request_id)
            turn.services.conversations.clear(turn.key)
            return [Reply(t("engine.error", ref=ref), choices=(human_choice(t),))]
