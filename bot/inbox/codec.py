"""`Incoming` and `Reply` as JSON, for the inbox and the outbox rows: every typed field,
nothing else, and back to the same frozen dataclasses."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, cast

from bot.messages import (
    Actor,
    ArticleCard,
    Command,
    Incoming,
    Lang,
    Reply,
    choice_of,
    form_of,
)


def dump(value: Incoming | Reply) -> str:
    # ASCII: a lone surrogate (a JSON "\\ud800" decodes to one) stays an escape SQLite can store.
    return json.dumps(asdict(value))


def incoming(text: str) -> Incoming:
    data = json.loads(text)
    form = data.get("form")
    return Incoming(
        actor=Actor(**data["actor"]),
        conversation_id=str(data["conversation_id"]),
        text=str(data["text"]),
        lang=cast(Lang, data["lang"]),
        thread_id=data.get("thread_id"),
        choice=data.get("choice"),
        form={str(k): str(v) for k, v in form.items()} if form is not None else None,
        event_id=data.get("event_id"),
        forms=bool(data.get("forms")),
        redacted=bool(data.get("redacted")),
        locale=cast(Lang | None, data.get("locale")),
        addressed=bool(data.get("addressed", True)),
        command=(
            Command(str(data["command"]["name"]), tuple(map(str, data["command"]["args"])))
            if data.get("command")
            else None
        ),
        address=(
            {str(k): str(v) for k, v in data["address"].items()} if data.get("address") else None
        ),
    )


def reply(data: dict[str, Any]) -> Reply:
    """A `Reply` from its `asdict` form (already parsed from JSON)."""
    form = data.get("form")
    return Reply(
        text=str(data["text"]),
        cards=tuple(ArticleCard(**card) for card in data.get("cards", ())),
        choices=tuple(choice_of(c) for c in data.get("choices", ())),
        form=form_of(form) if form is not None else None,
        private=bool(data.get("private")),
        delete_after_s=data.get("delete_after_s"),
        fields=tuple((str(k), str(v)) for k, v in data.get("fields", ())),
    )
