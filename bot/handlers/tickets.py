"""Tickets for requesters: ask for a human (open a ticket) and follow your tickets.

Opening: the bot proposes summary, category and priority from what was said
(`bot.tickets.proposal`); asked for a person right after a question, a refusal or a check,
it proposes that question (`bot.handlers.context`). The user opens it, changes any part,
or cancels. The
conversation's recent transcript goes with it, secrets already redacted, and the
user is told when something was hidden. Following: "my tickets", one ticket's
detail with its public history, add a comment or an attachment note, cancel,
reopen within the configured days, and rate the help (once) after a resolution.
Requesters only ever see their own tickets; someone else's id looks like no ticket.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import ClassVar

from bot.chat_numbers import whole_number
from bot.clock import parse_iso
from bot.handlers.base import Turn, human_choice, menu
from bot.handlers.chase import chase, said_before
from bot.handlers.context import Topic, forget, topic
from bot.handlers.interrupted import parked
from bot.handlers.people import display_names
from bot.handlers.priority import note_floor, requester_floor
from bot.i18n import Translator
from bot.intents import IntentResult, bare_answer, find_entities, rating
from bot.messages import TICKET_FROM_MESSAGE, Choice, Form, FormField, Reply
from bot.request_catalogue import REQUEST_CONFIRM_FLOW
from bot.store.conversations import PendingFlow
from bot.tickets.floor import raised
from bot.tickets.model import (
    OPEN,
    RESOLVED,
    Ticket,
    TicketError,
    csat_choice,
    parse_ticket_ref,
)
from bot.tickets.proposal import URGENCIES, priority_of, propose
from bot.tickets.service import transcript_was_redacted

_OPEN = "ticket:open"
_EDIT = "ticket:edit"
_CATEGORY = "ticket:category"
_URGENCY = "ticket:urgency"
_CANCEL = "ticket:cancel"
_SUMMARY_CHARS = 120
FORM = "@human:form"
"""The new-ticket form's id: its submission comes back as this choice."""
FROM_MESSAGE = TICKET_FROM_MESSAGE
"""A message sent to the helpdesk (Slack's message shortcut): form `text` and `link`."""
ACTION = "@ticket_status:"
"""Prefix of the buttons on a ticket (`@ticket_status:comment:1042`), routed here by the
engine whatever flow is waiting."""


def summary_line(text: str) -> str:
    """`text` on one line, cut to a ticket summary's length."""
    line = " ".join(text.split())
    return line if len(line) <= _SUMMARY_CHARS else line[: _SUMMARY_CHARS - 1] + "…"


def _priority(state: dict[str, object]) -> str:
    """The proposal's priority: impact × urgency, raised to the requester's floor."""
    floor = state.get("floor")
    return raised(priority_of(str(state["impact"]), str(state["urgency"])), str(floor or ""))


def _confirm(turn: Turn, state: dict[str, object]) -> Reply:
    t = turn.t
    priority = _priority(state)
    text = t(
        "ticket.confirm",
        summary=state["summary"],
        category=state["category"],
        priority=priority,
    )
    if transcript_was_redacted(turn.services.transcripts.recent(turn.key)):
        text += "\n" + t("ticket.transcript_redacted")
    return Reply(text, choices=_confirm_choices(t))


def _confirm_choices(t: Translator) -> tuple[Choice, ...]:
    return (
        Choice(t("ticket.open"), _OPEN, "primary"),
        Choice(t("ticket.edit"), _EDIT),
        Choice(t("ticket.change_category"), _CATEGORY),
        Choice(t("ticket.change_urgency"), _URGENCY),
        Choice(t("ticket.cancel"), _CANCEL),
    )


def _category_choices(turn: Turn) -> tuple[Choice, ...]:
    return tuple(Choice(c, c) for c in turn.services.tickets.categories)


def _urgency_choices(t: Translator) -> tuple[Choice, ...]:
    return tuple(Choice(t(f"ticket.urgency.{u}"), u) for u in URGENCIES)


def ticket_form(turn: Turn, said: Topic | None = None) -> Form:
    """The new-ticket form, for platforms that show forms (a Slack modal); pre-filled with
    what the person asked just before, when there is something (`said`)."""
    t = turn.t
    question = said.text if said else ""
    category = said.category if said and said.category in turn.services.tickets.categories else ""
    return Form(
        FORM,
        t("ticket.form_title"),
        (
            FormField("summary", t("ticket.form_summary"), initial=summary_line(question)),
            FormField(
                "description", t("ticket.form_description"), multiline=True, initial=question
            ),
            FormField(
                "category",
                t("ticket.field.category"),
                required=False,
                options=_category_choices(turn),
                initial=category,
            ),
            FormField(
                "urgency", t("ticket.form_urgency"), required=False, options=_urgency_choices(t)
            ),
        ),
        t("ticket.form_submit"),
    )


async def propose_ticket(
    turn: Turn,
    *,
    summary: str,
    description: str,
    category: str,
    impact: str | None = None,
    urgency: str | None = None,
) -> list[Reply]:
    """Show the ticket the bot would open and wait for the user to confirm or change it.

    `category` is the caller's view (a failed unlock is "account & access"); when the
    caller has none ("other"), the words decide. `impact` and `urgency`, when given,
    replace what the words suggest (an outage proposes P1). The priority shown is raised
    to the requester's floor (VIPs, the trading desk in market hours: `bot.tickets.floor`).
    """
    categories = turn.services.tickets.categories
    guess = propose(description, categories)
    if category not in categories or category == categories[-1]:
        category = guess.category
    floor = await requester_floor(turn)
    state: dict[str, object] = {
        "summary": summary_line(summary),
        "description": description,
        "category": category,
        "impact": impact or guess.impact,
        "urgency": urgency or guess.urgency,
        "floor": floor.priority if floor else None,
        "floor_reason": floor.reason if floor else "",
    }
    turn.expect("human.confirm", state)
    return [_confirm(turn, state)]


_ASK_THEN_WHAT = re.compile(r"[:：]|\s+-\s+|\babout\b|\bregarding\b|[,，]|關於|因為")
_HAN_CHAR = re.compile(r"[\u3400-\u9fff]")
_ASK_AT_END = re.compile(r"[:：,，;；]|\s+-\s+")
_PERSON_FIRST = 0.8
"""How sure the intent model must be that a message's first (or last) part asks for a person."""
_SUMMARY_WORDS = 2.5


def _enough(words: str) -> bool:
    """Enough words for a summary: 3 (a Chinese character counting half; 「部電話冇聲」 is)."""
    count = len(_HAN_CHAR.sub(" ", words).split()) + len(_HAN_CHAR.findall(words)) / 2
    return count >= _SUMMARY_WORDS


def described_in(text: str) -> str | None:
    """What an ask for a person already says about the problem, else None: the words after
    its first separator ("open a ticket: my spacebar sticks", "need someone about my Teams
    calls dropping", 「開單：部 mon 閃過不停」), when they are enough for a summary."""
    parts = _ASK_THEN_WHAT.split(text, maxsplit=1)
    if len(parts) < 2:
        return None
    rest = parts[1].strip(" .。!！")
    return rest if _enough(rest) else None


def described_before(classify: Callable[[str], IntentResult], text: str) -> str | None:
    """The problem told before an ask for a person that ends the message ("my whole team
    can't print, pls open a ticket", 「部 mon 閃過不停，幫我開單」): the words before its last
    comma, colon or dash, when what follows alone reads as `human` and they are enough."""
    cuts = list(_ASK_AT_END.finditer(text))
    if not cuts:
        return None
    before = text[: cuts[-1].start()].strip(" .。!！")
    after = text[cuts[-1].end() :]
    if not _enough(before) or not after.strip():
        return None
    last = classify(after)
    return before if last.intent == "human" and last.confidence >= _PERSON_FIRST else None


def asks_for_a_person(classify: Callable[[str], IntentResult], text: str) -> bool:
    """Whether a message opens with an ask for a person and goes on to say what is wrong
    ("talk to a person, my second screen shows no signal"), or says what is wrong and ends
    with one ("outlook rejects my password every morning, talk to a person"): that part
    alone reads as `human`, which the whole, mostly about the problem, may not."""
    if described_before(classify, text) is not None:
        return True
    if described_in(text) is None:
        return False
    ask = _ASK_THEN_WHAT.split(text, maxsplit=1)[0]
    first = classify(ask)
    return first.intent == "human" and first.confidence >= _PERSON_FIRST


class Human:
    """Talk to a person: I open a ticket for the service desk: `talk to a human`, `開單`."""

    intent: ClassVar[str] = "human"

    async def handle(self, turn: Turn) -> list[Reply]:
        msg, t = turn.msg, turn.t
        if msg.choice in (FORM, FROM_MESSAGE) and msg.form is not None:
            return await self._open_submitted(turn, msg.choice, msg.form)
        said = topic(turn)
        if said is not None:  # after a failed answer, a refusal or a check: what was asked
            forget(turn)
            if not msg.forms:  # where forms show, the form comes pre-filled instead
                return await propose_ticket(
                    turn,
                    summary=said.text,
                    description=t("ticket.context_description", question=said.text),
                    category=said.category,
                )
        described = described_before(turn.services.classifier.classify, msg.text)
        described = described or described_in(msg.text)
        if described and not msg.forms:  # "open a ticket: my spacebar sticks" says what
            return await propose_ticket(
                turn, summary=described, description=msg.text, category="other"
            )
        turn.expect("human.describe")
        text = t("ticket.describe", phone=turn.services.settings.bot.support_phone)
        return [Reply(text, form=ticket_form(turn, said) if msg.forms else None)]

    @staticmethod
    async def _open_submitted(turn: Turn, kind: str, form: Mapping[str, str]) -> list[Reply]:
        """Open a ticket straight from a filled-in form or a forwarded message: the user
        already said exactly what to send, so there is no proposal to confirm."""
        t, msg = turn.t, turn.msg
        text = " ".join(form.get("text", "").split())
        summary = form.get("summary", "").strip() or text
        description = form.get("description", "").strip() or text
        if not summary:
            return [Reply(t("ticket.form_empty"), choices=(human_choice(t),))]
        categories = turn.services.tickets.categories
        guess = propose(f"{summary}\n{description}", categories)
        category = form.get("category") or guess.category
        urgency = form.get("urgency") if form.get("urgency") in URGENCIES else guess.urgency
        if kind == FROM_MESSAGE and form.get("link"):
            description += "\n\n" + t("ticket.from_message", link=form["link"])
        turn.done()
        floor = await requester_floor(turn)
        words = priority_of(guess.impact, str(urgency))
        ticket, new = turn.open_ticket(
            summary=summary_line(summary),
            description=description,
            category=category if category in categories else guess.category,
            priority=raised(words, floor.priority if floor else None),
            impact=guess.impact,
            urgency=str(urgency),
            key=form.get("key") or f"{msg.platform}:{msg.event_id or turn.request_id}",
            requester=await turn.requester(),
        )
        if new and floor is not None:
            note_floor(turn, ticket, words, floor.priority, floor.reason)
        key = "ticket.opened" if new else "ticket.already_opened"
        return [Reply(t(key, ref=ticket.ref, summary=ticket.summary), private=True)]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        t, msg = turn.t, turn.msg
        state = dict(pending.state)
        if pending.flow == "human.describe":
            if not msg.text:
                return None
            if bare_answer(msg.text):
                turn.expect("human.describe", state)
                return [Reply(t("ticket.describe_more"))]
            if state:  # editing the text of a proposal
                state.update(summary=summary_line(msg.text), description=msg.text)
                turn.expect("human.confirm", state)
                return [_confirm(turn, state)]
            return await propose_ticket(
                turn, summary=msg.text, description=msg.text, category="other"
            )
        if pending.flow in ("human.category", "human.urgency"):
            part = pending.flow.removeprefix("human.")
            options = _category_choices(turn) if part == "category" else _urgency_choices(t)
            picked = turn.picked(options)
            if picked is None:
                return None
            state[part] = picked
            turn.expect("human.confirm", state)
            return [_confirm(turn, state)]
        picked = turn.picked(_confirm_choices(t), yes=_OPEN, no=_CANCEL)
        if picked is None:
            return None
        if picked == _CANCEL:
            turn.done()
            return [Reply(t("ticket.cancelled"), choices=menu(t))]
        if picked == _EDIT:
            turn.expect("human.describe", state)
            return [Reply(t("ticket.describe_again"))]
        if picked == _CATEGORY:
            turn.expect("human.category", state)
            return [Reply(t("ticket.pick_category"), choices=_category_choices(turn))]
        if picked == _URGENCY:
            turn.expect("human.urgency", state)
            return [Reply(t("ticket.pick_urgency"), choices=_urgency_choices(t))]
        turn.done()
        ticket, new = turn.open_ticket(
            summary=str(state["summary"]),
            description=str(state["description"]),
            category=str(state.get("category", "other")),
            priority=_priority(state),
            impact=str(state.get("impact", "single")),
            urgency=str(state.get("urgency", "medium")),
            key=f"{msg.platform}:{msg.event_id}" if msg.event_id else f"flow:{turn.request_id}",
            requester=await turn.requester(),
        )
        if new and state.get("floor"):
            words = priority_of(str(state["impact"]), str(state["urgency"]))
            note_floor(turn, ticket, words, str(state["floor"]), str(state["floor_reason"]))
        return [Reply(t("ticket.opened", ref=ticket.ref, summary=ticket.summary))]


def _rate_choices(number: int) -> tuple[Choice, ...]:
    return tuple(Choice(str(s), csat_choice(number, s)) for s in range(1, 6))


def ticket_line(turn: Turn, ticket: Ticket) -> str:
    opened = turn.local_time(parse_iso(ticket.created_at))
    state = turn.t(f"ticket.state.{ticket.state}")
    return turn.t("ticket.line", ref=ticket.ref, state=state, summary=ticket.summary, opened=opened)


def own_ticket(turn: Turn, number: int | None, shown: str) -> Ticket:
    """The actor's own ticket `number`; someone else's looks the same as none."""
    ticket = turn.services.tickets.get(number) if number else None
    if ticket is None or ticket.requester_email != (turn.msg.actor.email or ""):
        raise TicketError("ticket.not_yours", ref=shown)
    return ticket


def can_reopen(turn: Turn, ticket: Ticket) -> bool:
    if ticket.state != RESOLVED or ticket.resolved_at is None:
        return False
    days = turn.services.settings.tickets.reopen_days
    return (turn.services.clock() - parse_iso(ticket.resolved_at)).days < days


async def detail(turn: Turn, ticket: Ticket) -> Reply:
    """One ticket as its requester sees it: state, who has it, the public history; people
    by their directory names (never an engineer's email); internal events never."""
    t = turn.t
    history = [e for e in turn.services.tickets.events(ticket.number, public_only=True) if e.body][
        -3:
    ]
    names = await display_names(
        turn, [e.actor for e in history] + ([ticket.assignee] if ticket.assignee else [])
    )
    lines = [ticket_line(turn, ticket)]
    lines += [f"  {turn.local_time(parse_iso(e.at))} · {names[e.actor]}: {e.body}" for e in history]
    fields = [
        (t("ticket.field.priority"), ticket.priority),
        (t("ticket.field.category"), ticket.category),
        (
            t("ticket.field.assignee"),
            names[ticket.assignee] if ticket.assignee else t("ticket.field.nobody"),
        ),
    ]
    choices: list[Choice] = []
    n = ticket.number
    if ticket.state in OPEN:
        choices += [
            Choice(t("ticket.add_comment"), f"{ACTION}comment:{n}"),
            Choice(t("ticket.add_attachment"), f"{ACTION}attach:{n}"),
            Choice(t("ticket.cancel_ticket"), f"{ACTION}cancel:{n}", "danger"),
            Choice(t("ticket.chase_it"), f"{ACTION}chase:{n}"),
        ]
    if can_reopen(turn, ticket):
        choices.append(Choice(t("ticket.reopen"), f"{ACTION}reopen:{n}"))
    if ticket.state in (RESOLVED, "closed") and ticket.csat_score is None:
        choices.append(Choice(t("ticket.rate"), f"{ACTION}rate:{n}"))
    return Reply("\n".join(lines), fields=tuple(fields), choices=tuple(choices))


class TicketStatus:
    """See your tickets and where they stand, comment, cancel or reopen: `my tickets`, `HD-1042`."""

    intent: ClassVar[str] = "ticket_status"

    async def handle(self, turn: Turn) -> list[Reply]:
        t, msg = turn.t, turn.msg
        if msg.choice and msg.choice.startswith(ACTION):
            return await self.act(turn, msg.choice.removeprefix(ACTION))
        email = msg.actor.email or ""
        refs = find_entities(msg.text).tickets
        if refs:
            return [await detail(turn, own_ticket(turn, refs[0].number, refs[0].text.upper()))]
        tickets = turn.services.tickets.for_requester(email)
        if not tickets:
            waiting = parked(turn)
            if waiting is not None and waiting.flow == REQUEST_CONFIRM_FLOW:
                # "has it been approved?" before "Send the request": nothing was sent yet
                return [
                    Reply(
                        t(
                            "ticket.request_not_sent",
                            item=waiting.state.get("item", ""),
                            send=t("request.send"),
                        )
                    )
                ]
            return [Reply(t("ticket.none"), choices=(human_choice(t),))]
        still_open = [ticket for ticket in tickets if ticket.state in OPEN]
        if len(still_open) == 1:
            # "has it been approved?": the one open ticket, with its history, is the answer
            return [await detail(turn, still_open[0])]
        lines = "\n".join(ticket_line(turn, ticket) for ticket in tickets)
        choices = tuple(
            Choice(ticket.ref, f"{ACTION}show:{ticket.number}")
            for ticket in tickets
            if ticket.state in OPEN or can_reopen(turn, ticket)
        )[:5]
        return [Reply(f"{t('ticket.yours', count=len(tickets))}\n{lines}", choices=choices)]

    async def act(self, turn: Turn, value: str) -> list[Reply]:
        """Run one ticket button (`cancel:1042`, `reopen:1042`, `show:1042`) for the requester."""
        t = turn.t
        parts = value.split(":")
        action, number = parts[0], parse_ticket_ref(parts[1]) if len(parts) > 1 else None
        score = whole_number(parts[2], 0) if action == "csat" and len(parts) == 3 else None
        if score is not None:
            return self.rate(turn, number, score)
        ticket = own_ticket(turn, number, parts[1] if len(parts) > 1 else "?")
        if action == "show":
            return [await detail(turn, ticket)]
        if action == "chase" and ticket.state in OPEN:
            return chase(turn, ticket, said_before(turn))
        if action in ("comment", "attach", "reopen"):
            turn.expect(f"ticket_status.{action}", {"ticket": ticket.number})
            return [Reply(t(f"ticket.ask_{action}", ref=ticket.ref))]
        if action == "cancel":
            turn.expect("ticket_status.cancel", {"ticket": ticket.number})
            return [
                Reply(
                    t("ticket.confirm_cancel", ref=ticket.ref, summary=ticket.summary),
                    choices=(
                        Choice(t("ticket.cancel_ticket"), "yes", "danger"),
                        Choice(t("ticket.keep_ticket"), "no"),
                    ),
                )
            ]
        if action == "rate":
            turn.expect("ticket_status.rate", {"ticket": ticket.number})
            return [Reply(t("ticket.csat_ask"), choices=_rate_choices(ticket.number))]
        return [Reply(t("engine.choice_expired"), choices=menu(t))]

    def rate(self, turn: Turn, number: int | None, score: int) -> list[Reply]:
        t = turn.t
        ticket = own_ticket(turn, number, f"HD-{number}")
        actor = turn.msg.actor.email or ""
        if not turn.services.tickets.csat(ticket.number, actor, score):
            return [Reply(t("ticket.csat_already", ref=ticket.ref))]
        # A comment is welcome but optional: no button to skip it, saying nothing skips it.
        turn.expect("ticket_status.csat_comment", {"ticket": ticket.number})
        return [Reply(t("ticket.csat_thanks", ref=ticket.ref))]

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        t, msg = turn.t, turn.msg
        number = int(pending.state.get("ticket", 0))
        actor = msg.actor.email or ""
        tickets = turn.services.tickets
        flow = pending.flow.removeprefix("ticket_status.")
        if flow == "csat_comment":
            turn.done()
            if msg.choice == "skip" or not msg.text:  # "skip": a button older replies had
                return [Reply(t("ticket.csat_done"), choices=menu(t))]
            tickets.csat_comment(number, actor, msg.text)
            return [Reply(t("ticket.csat_done"), choices=menu(t))]
        if flow == "rate":
            picked = turn.picked(_rate_choices(number))
            score = rating(msg.text) or (int(picked.rsplit(":", 1)[1]) if picked else None)
            return None if score is None else self.rate(turn, number, score)
        if flow == "cancel":
            answer = True if msg.choice == "yes" else False if msg.choice == "no" else turn.yes_no()
            if answer is None:
                return None
            turn.done()
            if not answer:
                return [Reply(t("ticket.kept"), choices=menu(t))]
            ticket = tickets.cancel(own_ticket(turn, number, f"HD-{number}").number, actor)
            return [Reply(t("ticket.cancelled_ticket", ref=ticket.ref), choices=menu(t))]
        if not msg.text:
            return None
        turn.done()
        own = own_ticket(turn, number, f"HD-{number}")
        if flow == "reopen":
            ticket = tickets.reopen(own.number, actor, msg.text, requester=True)
            return [Reply(t("ticket.reopened", ref=ticket.ref))]
        ticket = tickets.comment(own.number, actor, msg.text, attachment=flow == "attach")
        return [Reply(t("ticket.comment_added", ref=ticket.ref))]
