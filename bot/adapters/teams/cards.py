"""`Reply` → a Teams message: plain text, or an Adaptive Card 1.5 when it has more.

Text is the shared markup (`bot.markup`, a CommonMark subset), which Teams reads as it is;
Adaptive Cards render no HTML, and a Markdown link is shown as `label (address)`
(`markdown`), so nothing a user typed becomes a disguised link. Fields become a `FactSet`,
articles a container each (the title opens the article), choices `Action.Submit` buttons
whose data is `{"hd": "choice", "value": …}`, and a `Form` inputs in the card itself with
one submit (`{"hd": "form", "form": id}`): Teams has no modal for a bot message, and a card
form needs no second click. After a click the card is replaced by `chosen` (its text and the
choice, no buttons), so nothing is clicked twice.
"""

from __future__ import annotations

import re
from typing import Any

from bot.messages import Form, Reply

CARD = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
_STYLES = {"primary": "positive", "danger": "destructive", "default": "default"}


_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")


def markdown(text: str) -> str:
    """The markup as Teams shows it: a Markdown link (`[SSO](https://…)`, possibly echoed
    from what a user typed) becomes `SSO (https://…)`, its address in the open (as
    `bot.markup` does for every platform); any `](` left is broken with a zero-width
    space. The articles' links are card actions, not text."""
    return _LINK.sub(r"\1 (\2)", text).replace("](", "]\u200b(")


def _text(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": markdown(text), "wrap": True, **extra}


def _inputs(form: Form) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = [_text(form.title, weight="Bolder")]
    for field in form.fields:
        common = {"id": field.name, "label": field.label, "isRequired": field.required}
        if field.options:
            body.append(
                {
                    "type": "Input.ChoiceSet",
                    **common,
                    "value": field.initial,
                    "choices": [{"title": o.label, "value": o.value} for o in field.options],
                }
            )
        else:
            body.append(
                {
                    "type": "Input.Text",
                    **common,
                    "value": field.initial,
                    "isMultiline": field.multiline,
                    **({"errorMessage": field.label} if field.required else {}),
                }
            )
    return body


def card(reply: Reply, image: str = "") -> dict[str, Any]:
    """`image`: a picture under the text (a handoff summary's chart, as a data URI)."""
    body: list[dict[str, Any]] = [_text(reply.text)] if reply.text else []
    if image:
        body.append({"type": "Image", "url": image, "size": "Stretch"})
    if reply.fields:
        facts = [{"title": k, "value": v} for k, v in reply.fields]
        body.append({"type": "FactSet", "facts": facts})
    for article in reply.cards:
        block: dict[str, Any] = {
            "type": "Container",
            "separator": True,
            "items": [_text(article.title, weight="Bolder"), _text(article.summary, isSubtle=True)],
        }
        if article.url:
            block["selectAction"] = {"type": "Action.OpenUrl", "url": article.url}
        body.append(block)
    actions: list[dict[str, Any]] = [
        {
            "type": "Action.Submit",
            "title": choice.label,
            "style": _STYLES[choice.style],
            "data": {"hd": "choice", "value": choice.value, "label": choice.label},
        }
        for choice in reply.choices
    ]
    if reply.form is not None:
        body.extend(_inputs(reply.form))
        actions.append(
            {
                "type": "Action.Submit",
                "title": reply.form.submit_label,
                "style": "positive",
                "data": {"hd": "form", "form": reply.form.form_id},
            }
        )
    content: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA,
        "version": "1.5",
        "body": body,
    }
    if actions:
        content["actions"] = actions
    return content


def message(reply: Reply, image: str = "") -> dict[str, Any]:
    """The activity to post for `reply` (with `image` under its text)."""
    if not (reply.fields or reply.cards or reply.choices or reply.form or image):
        return {"type": "message", "textFormat": "markdown", "text": markdown(reply.text)}
    content = card(reply, image)
    return {"type": "message", "attachments": [{"contentType": CARD, "content": content}]}


def chosen(text: str, label: str) -> dict[str, Any]:
    """The card after a click: its text and what was chosen, no buttons left."""
    body = [_text(text)] if text else []
    body.append(_text(f"✓ {label}", weight="Bolder"))
    content = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": "1.5", "body": body}
    return {"type": "message", "attachments": [{"contentType": CARD, "content": content}]}


def submitted(value: Any) -> tuple[str | None, dict[str, str] | None, str]:
    """A card submission's data (`Action.Submit`'s `value`, or `Action.Execute`'s
    `value.action.data`) → (choice, form fields, label); (None, None, "") when not ours."""
    if not isinstance(value, dict):
        return None, None, ""
    action = value.get("action")
    data = action.get("data") if isinstance(action, dict) else value
    if not isinstance(data, dict):
        return None, None, ""
    if data.get("hd") == "choice" and isinstance(data.get("value"), str):
        return str(data["value"]), None, str(data.get("label") or data["value"])
    if data.get("hd") == "form" and isinstance(data.get("form"), str):
        fields = {
            str(k): str(v)
            for k, v in data.items()
            if k not in ("hd", "form") and isinstance(v, str | int | float)
        }
        return str(data["form"]), fields, ""
    return None, None, ""
