"""Rule 8 through the whole bot: canary passwords typed in many shapes end up nowhere.

Not in the SQLite file, not in its write-ahead log, not in `tickets show` or `tickets
export`; and a clicked button never draws the "you typed a secret" warning.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.messages import Incoming, Reply
from bot.redact import SecretContext
from tests.harness import ROOT, BotHarness, text_of

ENGINEER = "ho.kawai@corp.example.com"
WARNINGS = ("It looks like your message had a password", "你個訊息好似有密碼")


def warned(replies: list[Reply]) -> bool:
    return any(warning in text_of(replies) for warning in WARNINGS)


CANARIES = {
    "My PASSWORD IS: CanaryA-71!x": "CanaryA-71!x",
    "我password係 CanaryB#72": "CanaryB#72",
    "credentials are jdoe:CanaryC73xq": "CanaryC73xq",
    "my passphrase is canaryd purple kettle sings": "canaryd purple kettle sings",
    "個pw係CanaryE!74": "CanaryE!74",
    "login: jdoe pass CanaryF75zz": "CanaryF75zz",
}


def _helpdesk(args: list[str], data_dir: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env["HELPDESK_DATA_DIR"] = str(data_dir)
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, cwd=ROOT, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.decode("utf-8")


def test_canary_passwords_reach_no_byte_of_the_store_its_wal_or_a_ticket(
    tmp_path: Path,
) -> None:
    bot = BotHarness(tmp_path)
    canaries = list(CANARIES.values())
    for typed in CANARIES:
        assert warned(bot.say(typed))
    # A bare password typed in answer to the bot's question about passwords.
    bot.say("reset my password")
    pending = bot.services.conversations.get(f"test|dm-{bot.user}||U-{bot.user}")
    assert pending is not None and pending.context is SecretContext.ASKED_PASSWORD
    assert warned(bot.say("CanaryG#76x"))
    canaries.append("CanaryG#76x")
    # A ticket from the conversation (its transcript attached) and from a submitted form.
    bot.say("talk to a human")  # proposes the password question asked before; changed
    bot.click("Change the text")
    bot.say("vpn drops, my pw is CanaryH#77 if you need it")
    assert "I've opened ticket HD-1001" in text_of(bot.click("Open ticket"))
    actor = bot.actor()
    form = {"summary": "Outlook asks again", "description": "password: CanaryI#78, 改咗做CanJ!79x"}
    replies = bot.send(
        Incoming(actor, f"dm-{bot.user}", "", choice="@human:form", form=form, forms=True)
    )
    assert warned(replies) and "HD-1002" in text_of(replies)
    canaries += ["CanaryH#77", "CanaryI#78", "CanJ!79x"]
    # An engineer's note and reply, a requester's comment, a reply in the triage thread.
    bot.command("/helpdesk note HD-1001 user gave pw: CanaryK#80", user=ENGINEER)
    bot.command("/helpdesk reply HD-1001 is your password still CanaryL#81 ?", user=ENGINEER)
    bot.command("/helpdesk comment HD-1001 new pw係CanaryM#82")
    bot.deliver()
    thread_ref = str(bot.rows("SELECT message_ref FROM triage_posts")[0][0])
    bot.send(
        Incoming(bot.actor(ENGINEER), "helpdesk-triage", "PIN is 90817263", thread_id=thread_ref)
    )
    bot.deliver()
    canaries += ["CanaryK#80", "CanaryL#81", "CanaryM#82", "90817263"]
    database = tmp_path / "helpdesk.db"
    wal = tmp_path / "helpdesk.db-wal"
    assert wal.stat().st_size > 0  # the writes are still in the log, not yet checkpointed
    stored = database.read_bytes() + wal.read_bytes()
    assert b"[redacted]" in stored and b"CanaryH" not in stored
    shown = _helpdesk(["tickets", "show", "HD-1001"], tmp_path)
    shown += _helpdesk(["tickets", "show", "HD-1002"], tmp_path)
    exported = _helpdesk(["tickets", "export", "--json"], tmp_path)
    assert "[redacted]" in shown and "Outlook asks again" in exported
    for canary in canaries:
        for where, data in (("the store", stored), ("tickets", (shown + exported).encode())):
            assert canary.encode() not in data, f"{canary} reached {where}"


def test_clicking_a_button_whose_label_mentions_a_password_is_not_a_secret(
    tmp_path: Path,
) -> None:
    bot = BotHarness(tmp_path)
    bot.say("reset my password")
    actor = bot.actor()
    for label, value in (
        ("Reset my password now", "@password_reset:run:1"),
        ("Reset it (manager approves)", "password:reset"),
    ):
        replies = bot.send(Incoming(actor, f"dm-{bot.user}", label, choice=value))
        assert replies and not warned(replies)
    said = [
        text for _, text in bot.services.transcripts.recent(f"test|dm-{bot.user}||U-{bot.user}")
    ]
    assert "Reset my password now" in said


def test_a_ticket_reference_right_after_chinese_finds_the_ticket(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path)
    bot.say("talk to a human")
    bot.say("my monitor flickers all day")
    bot.click("Open ticket")
    assert "HD-1001" in text_of(bot.say("我個HD-1001點呀"))
    assert "monitor flickers" in text_of(bot.say("HD-1001嘅進度"))
