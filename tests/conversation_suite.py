"""The scripted conversation suite: one conversation run on the real bot, and what failed.

Shared by `tests/test_conversations.py` (one pytest case per conversation) and
`bench/conversations.py` (the figures). Each line of `tests/data/conversations.jsonl`
(written from the README and the issue by someone who saw no code) is a conversation with
a demo user and what must hold after it: the first message's intent (as the engine routes
it, `bot.engine.understood`), whether a ticket was opened (and its priority, and what its
summary must not be), whether an approval was asked for, audit records, the language of
the last reply, secrets that must appear in no reply and nowhere in the store's files,
whether the last reply offers choices, and the demo account's lock state. Every
conversation runs on the real engine (`tests.harness.BotHarness`) with a fresh store.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.engine import understood
from bot.integrations.demo import DemoDirectory
from bot.language import detect_language
from bot.messages import Reply
from tests.harness import BotHarness

SUITE = Path(__file__).resolve().parent / "data" / "conversations.jsonl"


def scenarios(suite: Path = SUITE) -> list[dict[str, Any]]:
    """The conversations of `suite`, one JSON object a line."""
    return [json.loads(x) for x in suite.read_text("utf-8").splitlines() if x.strip()]


def _click(bot: BotHarness, what: str) -> list[Reply]:
    if what.isdigit():
        number = int(what)
        if not 1 <= number <= len(bot.last_choices):
            raise LookupError(f"no choice {number} (offered {bot.labels()})")
        return bot.click(number)
    if what not in bot.labels():
        raise LookupError(f"no choice {what!r} (offered {bot.labels()})")
    return bot.click(what)


def _stored_bytes(bot: BotHarness) -> bytes:
    db = Path(bot.services.settings.db_path)
    return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal")) if p.exists())


def run(scenario: dict[str, Any], folder: Path) -> list[str]:
    """The expectations `scenario` failed (empty: it went right)."""
    bot = BotHarness(folder, user=scenario["user"])
    try:
        return _check(bot, scenario)
    finally:
        bot.services.db.conn.close()


def _check(bot: BotHarness, scenario: dict[str, Any]) -> list[str]:
    said: list[str] = []
    last: list[Reply] = []
    failures: list[str] = []
    expect = scenario.get("expect", {})
    first = next((t["say"] for t in scenario["turns"] if "say" in t), None)
    if "intent" in expect and first is not None:
        got, _ = understood(bot.services.classifier.classify, first)
        if got != expect["intent"]:
            failures.append(f"intent {got}, expected {expect['intent']}")
    try:
        for turn in scenario["turns"]:
            replies = bot.say(turn["say"]) if "say" in turn else _click(bot, str(turn["click"]))
            said += [r.text for r in replies]
            last = replies or last
    except LookupError as exc:
        return [*failures, f"could not click: {exc}"]
    if "ticket" in expect:
        tickets = bot.rows("SELECT priority, summary FROM tickets")
        want = expect["ticket"]
        if want is None and tickets:
            failures.append(f"a ticket was opened: {tickets}")
        elif want is not None and want.get("opened") and not tickets:
            failures.append("no ticket was opened")
        elif want is not None and tickets:
            if "priority" in want and tickets[-1][0] != want["priority"]:
                failures.append(f"priority {tickets[-1][0]}, expected {want['priority']}")
            if str(tickets[-1][1]) in want.get("summary_not", []):
                failures.append(f"summary is {tickets[-1][1]!r}")
    if "approval" in expect:
        asked = bool(bot.rows("SELECT id FROM approvals"))
        if asked != expect["approval"]:
            failures.append(f"approval asked: {asked}, expected {expect['approval']}")
    records = {f"{a}:{o}" for a, o in bot.rows("SELECT action, outcome FROM audit_log")}
    failures += [
        f"no audit record {want}" for want in expect.get("audit", []) if want not in records
    ]
    if "reply_lang" in expect and last:
        text = " ".join(r.text for r in last)
        got_lang = "zh" if detect_language(text) == "zh-Hant" else "en"
        if got_lang != expect["reply_lang"]:
            failures.append(f"last reply in {got_lang}, expected {expect['reply_lang']}")
    if expect.get("no_secret"):
        stored = _stored_bytes(bot)
        for secret in expect["no_secret"]:
            if any(secret in text for text in said) or secret.encode() in stored:
                failures.append(f"secret {secret!r} shown or stored")
    if "last_reply_has_choices" in expect:
        has = any(r.choices for r in last)
        if has != expect["last_reply_has_choices"]:
            failures.append(f"last reply has choices: {has}")
    if "directory" in expect:
        directory = bot.services.directory
        assert isinstance(directory, DemoDirectory)
        want_dir = expect["directory"]
        account = next((a for a in directory.accounts if a.email == want_dir["user"]), None)
        if account is not None and "locked" in want_dir and account.locked != want_dir["locked"]:
            failures.append(f"{want_dir['user']} locked: {account.locked}")
    return failures
