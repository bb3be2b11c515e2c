"""The platform-neutral messages the engine speaks: `Incoming` in, `Reply` out.

Adapters (console, Slack, Teams) translate their platform's payloads into an
`Incoming` and render each `Reply`; handlers never see a platform SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Lang = Literal["en", "zh-Hant"]


@dataclass(frozen=True)
class Actor:
    """Who sent a message, as the platform vouches for it.

    `email` is the platform-verified email (Slack `users.info`, the Teams token's
    UPN, the console's `--as`); it is how the actor is mapped to exactly one
    directory account. Never a name typed in chat.
    """

    platform: str
    user_id: str
    email: str | None
    display_name: str = ""
    timezone: str | None = None
    """The person's own IANA time zone where the platform knows it (Slack `users.info` tz):
    times are shown to them in it; else in `bot.timezone`."""
    entra_id: str | None = None
    """The Entra object id the platform verified (Teams' `aadObjectId`): with the Graph
    directory the actor is that account (by immutable id), whose UPN or mail must also be
    `email`; with AD, `email` (the UPN) alone names it, exactly."""


@dataclass(frozen=True)
class Incoming:
    """One thing a user did: a message, a clicked choice or a submitted form.

    `conversation_id` names the place the reply goes (a DM, a channel); `thread_id`
    the thread inside it, if any. `choice` is the value of a clicked button (or a
    numbered option typed in the console); `form` the fields of a submitted form.
    `event_id` is the platform's id for the delivery, used to drop redeliveries.
    `forms` says the platform can show a `Form` (a Slack modal); handlers offer one
    only then, and a submitted form comes back with `choice` = its `form_id`.
    Adapters set `lang` to the person's own language as the platform reports it (Slack's
    locale); the engine then sets `lang` from the text and keeps the platform's in `locale`
    (engineers are answered in it: `bot/handlers/command_words.py`).
    """

    actor: Actor
    conversation_id: str
    text: str
    lang: Lang = "en"
    thread_id: str | None = None
    choice: str | None = None
    form: Mapping[str, str] | None = None
    event_id: str | None = None
    forms: bool = False
    redacted: bool = False
    """A secret was masked in it before it was stored (by the inbox): the engine warns the
    user as if it had found it itself."""
    locale: Lang | None = None

    @property
    def platform(self) -> str:
        return self.actor.platform


@dataclass(frozen=True)
class Choice:
    """A button (or numbered option): `label` is shown, `value` comes back as `Incoming.choice`."""

    label: str
    value: str
    style: Literal["default", "primary", "danger"] = "default"


@dataclass(frozen=True)
class ArticleCard:
    """A knowledge-base article offered as an answer."""

    article_id: str
    title: str
    summary: str
    url: str | None = None


@dataclass(frozen=True)
class FormField:
    """One field of a form; `options` makes it a drop-down."""

    name: str
    label: str
    required: bool = True
    multiline: bool = False
    options: tuple[Choice, ...] = ()
    initial: str = ""


@dataclass(frozen=True)
class Form:
    """A form the user fills in (a Slack modal, a Teams Adaptive Card).

    On submission the adapter sends `Incoming(choice=form_id, form={field: value})`, so
    a `form_id` like `@human:form` reaches that handler whatever flow is waiting. The
    id `TEXT_FORM` is special: its one field is sent as if the user had typed it.
    """

    form_id: str
    title: str
    fields: tuple[FormField, ...]
    submit_label: str


TEXT_FORM = "text"
"""A form whose single field is submitted as a typed message (a search box)."""


@dataclass(frozen=True)
class Reply:
    """What the bot says back.

    `private` asks the adapter to show it to the actor alone (Slack ephemeral or a
    DM); a reply carrying a secret must set it. `delete_after_s` asks the platform
    to remove the message after that many seconds where it can.
    """

    text: str
    cards: tuple[ArticleCard, ...] = ()
    choices: tuple[Choice, ...] = ()
    form: Form | None = None
    private: bool = False
    delete_after_s: int | None = None
    fields: tuple[tuple[str, str], ...] = field(default=())
