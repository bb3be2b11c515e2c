"""The blind conversation suite: how many scripted conversations go right, and why not.

Run: .venv/bin/python bench/conversations.py [--file FILE] [--smoke] [--failures]

Each line of `tests/data/conversations.jsonl` (written from the README and the issue by
someone who saw no code) is a conversation with a demo user and what must hold after it:
the first message's intent, whether a ticket was opened (and its priority, and what its
summary must not be), whether an approval was asked for, audit records, the language of
the last reply, secrets that must appear in no reply and nowhere in the store's files,
whether the last reply offers choices, and the demo account's lock state. Every
conversation runs on the real engine (`tests.harness.BotHarness`) with a fresh store.

Prints the share of conversations with every expectation met, overall, per language and
for the "documented" (the README says so) and "expected" (a mature product would) ones;
`--failures` lists each failed expectation.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.integrations.demo import DemoDirectory  # noqa: E402
from bot.language import detect_language  # noqa: E402
from bot.messages import Reply  # noqa: E402
from tests.harness import BotHarness  # noqa: E402

SUITE = ROOT / "tests" / "data" / "conversations.jsonl"


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
    user = scenario["user"]
    bot = BotHarness(folder, user=user)
    said: list[str] = []
    last: list[Reply] = []
    failures: list[str] = []
    expect = scenario.get("expect", {})
    first = next((t["say"] for t in scenario["turns"] if "say" in t), None)
    if "intent" in expect and first is not None:
        got = bot.services.classifier.classify(first).intent
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
    bot.services.db.conn.close()
    return failures


def main() -> None:
    suite = Path(sys.argv[sys.argv.index("--file") + 1]) if "--file" in sys.argv else SUITE
    rows = [json.loads(x) for x in suite.read_text("utf-8").splitlines() if x.strip()]
    if "--smoke" in sys.argv:
        rows = rows[:10]
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    report: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, scenario in enumerate(rows):
            failures = run(scenario, Path(tmp) / str(n))
            for key in ("all", scenario["lang"], scenario.get("spec", "documented")):
                total[key] += 1
                right[key] += not failures
            report += [f"{scenario['id']}: {f}" for f in failures]
    print(f"conversations: {len(rows)} from {suite.name}")
    for key in ("all", "en", "zh", "mixed", "documented", "expected"):
        if total[key]:
            share = right[key] / total[key]
            print(f"  {key:<11} {right[key]:>4} of {total[key]:<4} right ({share:.0%})")
    if "--failures" in sys.argv:
        print("\n".join(report))


if __name__ == "__main__":
    main()
