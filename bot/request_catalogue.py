"""The request catalogue: what staff may ask for, who approves it, who fulfils it. Pure: no I/O.

Configured by `[catalogue."NAME"]` tables (parsed by `parse_catalogue`)::

    [catalogue."Power BI Pro"]
    words = ["power bi pro", "power bi", "pbi", "報表"]   # both languages
    kind = "licence"          # hardware | software | licence | access
    approver = "manager"      # manager | owner | none
    team = "Service Desk"     # one of tickets.teams: who fulfils it
    priority = "P4"           # P1..P4: the request ticket's priority (its SLA)
    category = "software"     # one of tickets.categories

Decisions (what the brief left open):

- A `[catalogue]` in the file replaces the shipped catalogue as a whole (`DEFAULT_CATALOGUE`),
  so an admin sees every item in one place; `[catalogue]` with no items turns requests back
  into plain ticket proposals.
- `access` items (a share, a group, a shared mailbox) are approved by the group's owner
  (`approver = "owner"`, the only approver they may have) and are resolved against
  `graph.requestable_groups`: the bot offers the closest real groups, never a name made
  from the user's words; on the owner's approval the bot adds the member itself.
- Every other item opens a request ticket at once (summary, category, priority, team filled
  in); with `approver = "manager"` the manager gets Approve / Deny, and the decision is
  written on the ticket, which is where "has it been approved?" reads it.
- A `licence` item the user already has is answered with the licence that provides it (the
  licence check's own matching), not requested again.
- An item is named by its longest word found in the message: whole words for Latin script,
  anywhere for Chinese (which has no spaces), then a close spelling (a typo: same first
  letter, one-word names of five letters or more, `fuzz.ratio` >= 80).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from bot.errors import ConfigError

REQUEST_CONFIRM_FLOW = "request.confirm"
"""The question "Send the request?" for a catalogue item; its state names the item, so
"has it been approved?" asked before sending is answered "not sent yet"."""

KINDS = ("hardware", "software", "licence", "access")
APPROVERS = ("manager", "owner", "none")
_PRIORITIES = ("P1", "P2", "P3", "P4")
_KEYS = frozenset({"words", "kind", "approver", "team", "priority", "category"})
_HAN = re.compile(r"[\u3400-\u9fff]")
_FUZZY_MIN_LETTERS = 5
_FUZZY_SCORE = 80


@dataclass(frozen=True)
class CatalogueItem:
    """One thing staff may request."""

    name: str
    words: tuple[str, ...]
    kind: str
    approver: str
    team: str
    priority: str
    category: str

    @property
    def access(self) -> bool:
        """Access to a group, share or shared mailbox: resolved against the directory."""
        return self.kind == "access"


def _item(
    name: str, words: str, kind: str, approver: str, team: str, priority: str, category: str
) -> CatalogueItem:
    return CatalogueItem(name, tuple(words.split("|")), kind, approver, team, priority, category)


DEFAULT_CATALOGUE: tuple[CatalogueItem, ...] = (
    _item(
        "Monitor",
        "monitor|second monitor|extra monitor|screen|display|mon|顯示器|螢幕|屏幕|芒",
        "hardware",
        "manager",
        "Desktop",
        "P4",
        "hardware",
    ),
    _item(
        "Laptop",
        "laptop|notebook|new laptop|手提電腦|手提|notebook電腦",
        "hardware",
        "manager",
        "Desktop",
        "P3",
        "hardware",
    ),
    _item(
        "Docking station",
        "dock|docking station|docking|擴展塢|火牛",
        "hardware",
        "manager",
        "Desktop",
        "P4",
        "hardware",
    ),
    _item(
        "Headset",
        "headset|headphones|headphone|earphones|耳筒|耳機|耳筒咪",
        "hardware",
        "none",
        "Desktop",
        "P4",
        "hardware",
    ),
    _item(
        "Software install",
        "install|installation|software|program|安裝|裝軟件|軟件|程式",
        "software",
        "manager",
        "Desktop",
        "P4",
        "software",
    ),
    _item(
        "Power BI Pro",
        "power bi pro|power bi|powerbi|pbi",
        "licence",
        "manager",
        "Service Desk",
        "P4",
        "software",
    ),
    _item("Visio", "visio", "licence", "manager", "Service Desk", "P4", "software"),
    _item(
        "Microsoft Project",
        "ms project|microsoft project|project plan",
        "licence",
        "manager",
        "Service Desk",
        "P4",
        "software",
    ),
    _item(
        "Adobe Acrobat Pro",
        "adobe|acrobat|acrobat pro|pdf editor",
        "licence",
        "manager",
        "Desktop",
        "P4",
        "software",
    ),
    _item(
        "Shared mailbox access",
        "shared mailbox|mailbox|shared inbox|共用郵箱|公共郵箱|郵箱|mailbox權限",
        "access",
        "owner",
        "Messaging",
        "P3",
        "account & access",
    ),
    _item(
        "Shared folder access",
        "share|shared folder|shared drive|folder|drive|文件夾|共享|share drive|資料夾",
        "access",
        "owner",
        "Service Desk",
        "P3",
        "account & access",
    ),
    _item(
        "Group membership",
        "group|distribution list|dl|security group|組|群組",
        "access",
        "owner",
        "Identity",
        "P3",
        "account & access",
    ),
)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _found(word: str, text: str) -> bool:
    if _HAN.search(word):
        return word in text
    return re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text) is not None


def find_item(catalogue: tuple[CatalogueItem, ...], text: str) -> CatalogueItem | None:
    """The item the message names (its longest word found), else the closest spelling."""
    folded = _fold(text)
    best: tuple[int, CatalogueItem] | None = None
    for item in catalogue:
        for word in item.words:
            if _found(_fold(word), folded) and (best is None or len(word) > best[0]):
                best = (len(word), item)
    if best is not None:
        return best[1]
    tokens = re.findall(r"[a-z0-9]+", folded)
    scored = [
        (fuzz.ratio(word, token), item)
        for item in catalogue
        for word in map(_fold, item.words)
        if len(word) >= _FUZZY_MIN_LETTERS and word.isalpha() and word.isascii()
        for token in tokens
        if token[0] == word[0]
    ]
    top = max(scored, key=lambda pair: pair[0], default=None)
    return top[1] if top is not None and top[0] >= _FUZZY_SCORE else None


def _text(setting: str, value: Any, allowed: tuple[str, ...] = ()) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(setting, f"must be a non-empty string, not {value!r}")
    if allowed and value not in allowed:
        raise ConfigError(setting, f"must be one of {', '.join(allowed)}, not {value!r}")
    return value


def parse_catalogue(
    raw: Any, *, teams: tuple[str, ...], categories: tuple[str, ...]
) -> tuple[CatalogueItem, ...]:
    """Items from the `[catalogue]` table; `ConfigError` names the setting of any problem."""
    if not isinstance(raw, Mapping):
        raise ConfigError("catalogue", 'must be tables ([catalogue."NAME"])')
    items = []
    for name, table in raw.items():
        where = f"catalogue.{name}"
        if not isinstance(table, Mapping):
            raise ConfigError(where, f'must be a table ([catalogue."{name}"])')
        unknown = sorted(set(table) - _KEYS)
        if unknown:
            raise ConfigError(
                f"{where}.{unknown[0]}", f"unknown setting (known: {', '.join(sorted(_KEYS))})"
            )
        missing = sorted(_KEYS - set(table))
        if missing:
            raise ConfigError(f"{where}.{missing[0]}", "is required")
        words = table["words"]
        if (
            not isinstance(words, list)
            or not words
            or not all(isinstance(w, str) and w.strip() for w in words)
        ):
            raise ConfigError(f"{where}.words", "must be a list of words that name the item")
        kind = _text(f"{where}.kind", table["kind"], KINDS)
        approver = _text(f"{where}.approver", table["approver"], APPROVERS)
        if (kind == "access") != (approver == "owner"):
            raise ConfigError(
                f"{where}.approver",
                'an "access" item is approved by the group\'s "owner", and only it can be',
            )
        items.append(
            CatalogueItem(
                name=name,
                words=tuple(w.strip() for w in words),
                kind=kind,
                approver=approver,
                team=_text(f"{where}.team", table["team"], teams),
                priority=_text(f"{where}.priority", table["priority"], _PRIORITIES),
                category=_text(f"{where}.category", table["category"], categories),
            )
        )
    return tuple(items)


def check_default_catalogue(teams: tuple[str, ...], categories: tuple[str, ...]) -> None:
    """The shipped catalogue names default teams and categories: renaming those in the file
    without a `[catalogue]` of one's own is caught here, naming the setting to add."""
    for item in DEFAULT_CATALOGUE:
        if item.team not in teams or item.category not in categories:
            raise ConfigError(
                "catalogue",
                f"the shipped item {item.name!r} names team {item.team!r} and category"
                f" {item.category!r}, not in tickets.teams / tickets.categories:"
                " define [catalogue] items of your own",
            )
