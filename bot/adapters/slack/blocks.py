"""Slack's side of the messages: escaping, `Reply` → Block Kit, `Form` → modal, and
Slack text → plain text. Pure functions, no network: `bot.adapters.slack` sends them.

Escaping is total: every text we show in mrkdwn goes through `escape`, so a user's
`<!channel>`, `<@U123>` or `<https://evil|SSO>` echoed back is shown, never acted
on (no ping, no disguised link). Our own templates use only `*bold*`, so nothing of
ours needs `<...>`; links to articles are built here from checked URLs.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import quote, urlsplit

from bot.markup import escape as escape
from bot.markup import to_mrkdwn, to_plain
from bot.messages import ArticleCard, Choice, Form, Reply

SECTION_CHARS = 3000
"""Slack's limit for a section's text."""
MAX_BLOCKS = 50
BUTTONS_PER_ROW = 5
LABEL_CHARS = 75
TITLE_CHARS = 24
"""Slack's limit for a modal's title, submit and close labels."""
FALLBACK_CHARS = 3900
CHOICE_ACTION = "hd_choice"
FORM_ACTION = "hd_form"
FORM_CALLBACK = "hd_form"

_MENTION = re.compile(r"<([@#!])([^|>]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")


def plain(text: str, names: dict[str, str] | None = None) -> str:
    """Slack message text → what the user typed: links unwrapped, mentions as `@name`.

    `names` maps user ids to what to write for them (their email, for commands like
    `assign HD-1001 <@U123>`); others keep their label or id.
    """
    names = names or {}

    def mention(match: re.Match[str]) -> str:
        sigil, ident, label = match.groups()
        if sigil == "@":
            return names[ident] if ident in names else "@" + (label or ident)
        if sigil == "#":
            return "#" + (label or ident)
        return "@" + (label or ident.split("^")[0])

    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = _MENTION.sub(mention, text)
    return html.unescape(text) if "&" in text else text


def safe_url(url: str | None) -> str | None:
    """An http(s) URL fit for `<url|label>`: other schemes refused, `|<>` and spaces encoded."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return quote(url.strip(), safe=":/?#[]@!$&'()*+,;=%~")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain_text(text: str, limit: int = LABEL_CHARS) -> dict[str, Any]:
    return {"type": "plain_text", "text": _cut(text, limit) or " ", "emoji": True}


def _sections(text: str) -> list[dict[str, Any]]:
    """Long text (in `bot.markup`) as mrkdwn sections (Slack caps one at 3,000 characters)."""
    escaped = to_mrkdwn(text)
    chunks = []
    while escaped:
        if len(escaped) <= SECTION_CHARS:
            chunks.append(escaped)
            break
        cut = escaped.rfind("\n", 0, SECTION_CHARS)
        cut = cut if cut > SECTION_CHARS // 2 else SECTION_CHARS
        # never split an entity such as &amp; in two
        amp = escaped.rfind("&", cut - 5, cut)
        if amp != -1 and ";" not in escaped[amp:cut]:
            cut = amp
        chunks.append(escaped[:cut])
        escaped = escaped[cut:].lstrip("\n")
    return [{"type": "section", "text": {"type": "mrkdwn", "text": c}} for c in chunks]


def _card(card: ArticleCard) -> dict[str, Any]:
    url = safe_url(card.url)
    title = escape(card.title)
    head = f"*<{url}|{title}>*" if url else f"*{title}*"
    summary = escape(card.summary)
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": _cut(f"{head}\n{summary}", SECTION_CHARS)},
    }


def button(choice: Choice, action_id: str) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": _plain_text(choice.label),
        "value": choice.value[:2000],
        "action_id": action_id,
    }
    if choice.style != "default":
        element["style"] = choice.style
    return element


def choice_rows(choices: tuple[Choice, ...], prefix: str = CHOICE_ACTION) -> list[dict[str, Any]]:
    rows = []
    for start in range(0, len(choices), BUTTONS_PER_ROW):
        row = choices[start : start + BUTTONS_PER_ROW]
        rows.append(
            {
                "type": "actions",
                "block_id": f"{prefix}_{start // BUTTONS_PER_ROW}",
                "elements": [button(c, f"{prefix}_{start + i}") for i, c in enumerate(row)],
            }
        )
    return rows


def reply_blocks(reply: Reply, form_token: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """A reply as (fallback text, blocks). `form_token` adds a button that opens its form."""
    blocks: list[dict[str, Any]] = _sections(reply.text) if reply.text else []
    if reply.fields:
        fields = [
            {"type": "mrkdwn", "text": _cut(f"*{escape(name)}*\n{escape(value)}", 2000)}
            for name, value in reply.fields
        ]
        for start in range(0, len(fields), 10):
            blocks.append({"type": "section", "fields": fields[start : start + 10]})
    blocks += [_card(card) for card in reply.cards]
    choices = reply.choices
    if reply.form is not None and form_token is not None:
        choices = (Choice(reply.form.title, form_token, "primary"), *choices)
    rows = choice_rows(choices)
    if reply.form is not None and form_token is not None:
        rows[0]["elements"][0]["action_id"] = FORM_ACTION
    blocks += rows
    if len(blocks) > MAX_BLOCKS:
        blocks = blocks[: MAX_BLOCKS - len(rows)] + rows
    fallback = (
        escape(to_plain(reply.text)) or escape(" · ".join(c.title for c in reply.cards)) or " "
    )
    return _cut(fallback, FALLBACK_CHARS), blocks


def modal(form: Form, metadata: dict[str, Any]) -> dict[str, Any]:
    """A `Form` as a Slack modal; `metadata` (where to answer) rides in private_metadata."""
    blocks = []
    for field in form.fields:
        element: dict[str, Any]
        if field.options:
            element = {
                "type": "static_select",
                "action_id": "value",
                "options": [
                    {"text": _plain_text(o.label), "value": o.value[:150]}
                    for o in field.options[:100]
                ],
            }
            initial = next((o for o in field.options if o.value == field.initial), None)
            if initial is not None:
                element["initial_option"] = {
                    "text": _plain_text(initial.label),
                    "value": initial.value,
                }
        else:
            element = {
                "type": "plain_text_input",
                "action_id": "value",
                "multiline": field.multiline,
            }
            if field.initial:
                element["initial_value"] = field.initial
        blocks.append(
            {
                "type": "input",
                "block_id": field.name,
                "label": _plain_text(field.label, 2000),
                "optional": not field.required,
                "element": element,
            }
        )
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK,
        "private_metadata": json.dumps({"form": form.form_id, **metadata})[:3000],
        "title": _plain_text(form.title, TITLE_CHARS),
        "submit": _plain_text(form.submit_label, TITLE_CHARS),
        "close": _plain_text("Cancel", TITLE_CHARS),
        "blocks": blocks,
    }


def form_values(view: dict[str, Any]) -> dict[str, str]:
    """A submitted modal's values by field name (text inputs and selects)."""
    values: dict[str, str] = {}
    for name, actions in (view.get("state", {}).get("values", {}) or {}).items():
        for action in actions.values():
            if action.get("type") == "static_select":
                chosen = action.get("selected_option") or {}
                values[name] = str(chosen.get("value", ""))
            else:
                values[name] = str(action.get("value") or "")
    return values


def home_view(reply: Reply, form_token: str | None) -> dict[str, Any]:
    """The App Home tab from the home `Reply`."""
    _, blocks = reply_blocks(reply, form_token)
    return {
        "type": "home",
        "blocks": [{"type": "header", "text": _plain_text("IT Helpdesk", 150)}, *blocks],
    }


def shown_again(text: str) -> str:
    """Text read back from a click's payload, fit to show again: Slack markup read as
    plain text, then escaped. The payload is not ours to trust, so a `<!channel>` or a
    `<https://evil|SSO>` in it is shown as words, never acted on."""
    return _cut(escape(plain(text)), SECTION_CHARS)


def chosen(blocks: list[dict[str, Any]], label: str) -> list[dict[str, Any]]:
    """A clicked message's blocks without its buttons, noting what was chosen.

    The blocks come back in the click's payload: only section texts are kept, each
    `shown_again` (so an article title in an answered message is no longer a link)."""
    kept = []
    for block in blocks:
        if block.get("type") != "section":
            continue
        section: dict[str, Any] = {"type": "section"}
        if (block.get("text") or {}).get("text"):
            section["text"] = {"type": "mrkdwn", "text": shown_again(block["text"]["text"])}
        fields = [f["text"] for f in block.get("fields") or [] if f.get("text")][:10]
        if fields:
            section["fields"] = [{"type": "mrkdwn", "text": shown_again(f)} for f in fields]
        if len(section) > 1:
            kept.append(section)
    return [
        *kept[: MAX_BLOCKS - 1],
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"→ {escape(label)}"}]},
    ]
