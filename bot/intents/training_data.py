"""The utterances the intent model learns from: `training.jsonl` plus `examples.toml`.

`training.jsonl`: one `{"text", "intent", "lang"}` per line (`lang` en / zh / mixed), written
apart from the unseen measuring set `bench/data/intents_unseen.jsonl`, which no code reads
to train or to choose anything. `examples.toml`: short examples per intent that admins
extend (see README, "Intents"). Both are shipped inside the package.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from typing import Final

from bot.intents.concepts import load_table

INTENTS: Final = (
    "greeting",
    "thanks_bye",
    "kb_question",
    "human",
    "ticket_status",
    "ticket_cancel",
    "ticket_reopen",
    "ticket_chase",
    "unlock",
    "password_reset",
    "licence_check",
    "group_check",
    "request",
    "urgent_outage",
    "phishing",
    "my_device",
    "new_phone",
)
FALLBACK: Final = "kb_question"
"""What a message is when nothing else is clear: a question for the knowledge base."""


@dataclass(frozen=True)
class Utterance:
    text: str
    intent: str
    lang: str = ""


def shipped_utterances() -> tuple[Utterance, ...]:
    """Every training utterance shipped with the bot (jsonl first, then the examples)."""
    raw = resources.files("bot.intents").joinpath("training.jsonl").read_text("utf-8")
    rows = [json.loads(line) for line in raw.splitlines() if line.strip()]
    found = [Utterance(str(r["text"]), str(r["intent"]), str(r.get("lang", ""))) for r in rows]
    for intent, lines in load_table("examples.toml").items():
        found.extend(Utterance(line, intent) for line in lines)
    unknown = {u.intent for u in found} - set(INTENTS)
    if unknown:
        raise ValueError(f"training utterances for unknown intents: {sorted(unknown)}")
    return tuple(found)


def fingerprint(utterances: tuple[Utterance, ...], *parts: str) -> str:
    """A short hash of the utterances and anything else the model depends on."""
    digest = hashlib.sha256()
    for u in utterances:
        digest.update(f"{u.intent}\t{u.text}\n".encode())
    for part in parts:
        digest.update(part.encode())
    return digest.hexdigest()[:16]
