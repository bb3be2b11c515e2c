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


COMMAND_WORDS = ("/helpdesk", "/hd")
"""How a command is typed where a platform has no slash commands of its own (the console,
a Teams chat, a Slack thread): `/helpdesk queue`."""


@dataclass(frozen=True)
class Command:
    """A `/helpdesk` command: the subcommand `name` (lower case; `help` when none was
    given) and the words after it. Adapters make it: Slack from its slash command's text,
    every adapter from a message typed as `/helpdesk …` (`Command.typed`)."""

    name: str
    args: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Command:
        """The words after `/helpdesk`: `note HD-1 text` → note, (HD-1, text)."""
        words = text.split()
        if not words:
            return cls("help")
        return cls(words[0].lower(), tuple(words[1:]))

    @classmethod
    def typed(cls, text: str) -> Command | None:
        """The command a typed message is (`/helpdesk queue`), or None."""
        words = text.split(maxsplit=1)
        if not words or words[0].lower() not in COMMAND_WORDS:
            return None
        return cls.parse(words[1] if len(words) > 1 else "")


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
    addressed: bool = True
    """Said to the bot (a DM, a mention, a command, a click). False for a message in a
    channel's thread that does not mention the bot: the engine answers it only in a
    ticket's thread (an engineer's reply to the requester, the requester's comment)."""
    command: Command | None = None
    """A `/helpdesk` command (the adapter recognised it), handled by the command handler."""
    address: Mapping[str, str] | None = None
    """How to reach the actor later, unprompted, as their platform names it (Slack: the DM
    channel of a DM; Teams: service URL, conversation and tenant ids): stored with the
    message (`bot.store.addresses`), given to the transport for notices and approvals."""

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

TICKET_FROM_MESSAGE = "@human:message"
"""The choice a platform sends for "send this message to the helpdesk" (a Slack message
shortcut, a Teams message action), with the form fields `text`, `link` (the message's
permalink) and `key` (a dedupe key naming the message and the sender)."""


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


@dataclass(frozen=True)
class Recipient:
    """Who an outbound message goes to. Stored as text in the outbox (`str()`, `parse`):

    - `person`: one user of one platform (`user:slack:U123`), reached by DM;
    - `email`: a person known by email (`email:ho.kawai@corp`), found on whichever
      platform delivers it (Slack `users.lookupByEmail`, Teams by UPN);
    - `channel`: a named channel (`channel:helpdesk-triage`); a bare name (the setting
      `tickets.oncall_recipient`) is a channel too;
    - `conversation`: the place a user's message came from (`slack|D1|U1`): the replies to
      that message, which go where the adapter's route stored with them says.
    """

    kind: Literal["person", "email", "channel", "conversation"]
    address: str
    platform: str = ""

    @classmethod
    def person(cls, platform: str, user_id: str) -> Recipient:
        return cls("person", user_id, platform)

    @classmethod
    def by_email(cls, email: str) -> Recipient:
        return cls("email", email)

    @classmethod
    def channel(cls, name: str) -> Recipient:
        return cls("channel", name)

    @classmethod
    def conversation(cls, platform: str, conversation_id: str, user_id: str) -> Recipient:
        return cls("conversation", f"{conversation_id}|{user_id}", platform)

    def __str__(self) -> str:
        if self.kind == "person":
            return f"user:{self.platform}:{self.address}"
        if self.kind == "email":
            return f"email:{self.address}"
        if self.kind == "channel":
            return f"channel:{self.address}"
        return f"{self.platform}|{self.address}"

    @classmethod
    def parse(cls, text: str) -> Recipient:
        """The stored form back (`str()` of a `Recipient`, or a bare channel name)."""
        if text.startswith("user:"):
            platform, _, user = text.removeprefix("user:").partition(":")
            return cls.person(platform, user)
        if text.startswith("email:"):
            return cls.by_email(text.removeprefix("email:"))
        if text.startswith("channel:"):
            return cls.channel(text.removeprefix("channel:"))
        if "|" in text:
            platform, _, rest = text.partition("|")
            return cls("conversation", rest, platform)
        return cls.channel(text)


@dataclass(frozen=True)
class MessageRef:
    """A message the bot posted, as its platform names it: the conversation (a Slack
    channel id, a Teams conversation id) and the message in it (a Slack `ts`, a Teams
    activity id). Stored as `conversation/message` (triage posts, threads, deletions); a
    platform whose references name no conversation (the console's) stores `message`."""

    conversation: str
    message: str

    def __str__(self) -> str:
        return f"{self.conversation}/{self.message}" if self.conversation else self.message

    @classmethod
    def parse(cls, text: str) -> MessageRef:
        conversation, _, message = text.rpartition("/")
        return cls(conversation, message)
