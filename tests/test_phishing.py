"""A suspicious email in either language: guidance and a security ticket when nothing was
clicked; a P1 incident when it was, and with the person's yes their sessions revoked and a
password change forced, each step audited and alerted (the demo directory; the Graph
stand-in in tests/test_graph.py)."""

from __future__ import annotations

import json

from bot.integrations.demo import DemoDirectory
from tests.harness import BotHarness, text_of

CHAN = "chan.taiman@corp.example.com"
YIP = "yip.kinfai@corp.example.com"  # a Domain Admin in the demo


def _audit(bot: BotHarness) -> list[tuple[object, ...]]:
    return bot.rows("SELECT action, outcome, reason FROM audit_log ORDER BY seq")


def _alerts(bot: BotHarness) -> list[str]:
    rows = bot.rows("SELECT payload_json FROM outbox WHERE kind = 'security_alert' ORDER BY id")
    return [str(json.loads(str(r[0]))["text"]) for r in rows]


def _demo(bot: BotHarness) -> DemoDirectory:
    directory = bot.services.directory
    assert isinstance(directory, DemoDirectory)
    return directory


def test_cantonese_phishing_question_is_not_password_help_and_gets_guidance_and_a_ticket(
    bot: BotHarness,
) -> None:
    asked = text_of(bot.say("收到封email叫我click link改密碼，係咪phishing"))
    assert "撳" in asked and "link" in asked
    assert "密碼過期" not in asked and "Ctrl+Alt+Del" not in asked
    answer = text_of(bot.say("冇，我乜都冇撳"))
    assert "Report" in answer and "唔好回覆" in answer and "HD-1001" in answer
    assert bot.rows("SELECT priority, category, team FROM tickets") == [
        ("P3", "security", "Security")
    ]
    assert _audit(bot)[-1][:2] == ("phish_report", "done")
    assert _alerts(bot) == []  # a report is no incident
    assert not _demo(bot).revoked


def test_english_report_without_a_click_gets_guidance(bot: BotHarness) -> None:
    bot.say("got a weird email asking me to confirm my O365 login, is it a scam?")
    answer = text_of(bot.click("No, I didn't click anything"))
    assert "Report" in answer and "Don't reply" in answer and "HD-1001" in answer


def test_a_click_is_a_p1_incident_and_with_a_yes_sessions_are_revoked_and_a_change_forced(
    bot: BotHarness,
) -> None:
    said = text_of(bot.say("I think I clicked a phishing link and typed my password"))
    assert "HD-1001" in said and "sign you out everywhere" in said
    assert bot.rows("SELECT priority, category, team FROM tickets") == [
        ("P1", "security", "Security")
    ]
    assert any("Phishing incident HD-1001" in a for a in _alerts(bot))
    assert not _demo(bot).revoked  # nothing before the person's yes
    done = text_of(bot.click("Yes, sign me out and make me change my password"))
    assert "signed out everywhere" in done and "HD-1001" in done
    chan = bot.run(bot.services.directory.find_by_email(CHAN))
    assert chan.must_change_password and _demo(bot).revoked == [chan.directory_id]
    rows = _audit(bot)
    assert ("phish_incident", "done", "password typed") in rows
    assert ("revoke_sessions", "done", "phishing incident HD-1001") in rows
    assert ("require_password_change", "done", "phishing incident HD-1001") in rows
    assert rows[-1][:2] == ("phish_containment", "done")
    alerts = _alerts(bot)
    assert any("revoke sessions" in a and ": done" in a for a in alerts)
    assert any("require password change" in a and ": done" in a for a in alerts)


def test_cantonese_click_asks_first_and_a_no_changes_nothing(bot: BotHarness) -> None:
    said = text_of(bot.say("我頭先撳咗封釣魚email條link"))
    assert "緊急單" in said
    answer = text_of(bot.say("唔使，等 security 跟進"))
    assert "乜都冇改" in answer
    assert not _demo(bot).revoked
    assert _audit(bot)[-1][:2] == ("phish_containment", "declined")


def test_a_negated_click_is_asked_about_not_treated_as_an_incident(bot: BotHarness) -> None:
    said = text_of(bot.say("I got a phishing email but I didn't click the link"))
    assert "Did you click" in said
    assert bot.rows("SELECT count(*) FROM tickets") == [(0,)]


def test_privileged_account_containment_is_refused_audited_and_alerted(
    bot: BotHarness,
) -> None:
    bot.say("I clicked a link in a scam email", user=YIP)
    refused = text_of(bot.click("Yes, sign me out and make me change my password", user=YIP))
    assert "protected" in refused or "can't" in refused
    assert not _demo(bot).revoked
    assert _audit(bot)[-1] == ("phish_containment", "refused", "privileged")
    assert any("protected account (privileged)" in a for a in _alerts(bot))
    assert bot.rows("SELECT priority FROM tickets") == [("P1",)]  # security acts by hand


def test_phishing_phrasings_not_in_the_training_set_are_phishing_and_passwords_stay_passwords(
    bot: BotHarness,
) -> None:
    classify = bot.services.classifier.classify
    for text in (
        "pretty sure that email from 'payroll' was a phishing attempt",
        "an email asked me to sign in to see a voicemail, I did it",
        "有封email扮Microsoft叫我verify戶口，係咪呃人㗎",
        "收到個link話我個mailbox就嚟停用，好似釣魚",
    ):
        assert classify(text).intent == "phishing", text
    for text in ("I forgot my password", "點樣改密碼", "my password expired"):
        assert classify(text).intent == "password_reset", text
