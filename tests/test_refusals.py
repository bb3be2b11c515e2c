"""Every refusal in the self-service code writes an audit record (DESIGN rule 6).

The refusals are enumerated from the code: every catalogue key the self-service modules
answer with is either a refusal, named here with the test that asserts its audit record, or
listed as something else with the reason. A new key in those modules fails this test until
it is classified, so a new refusal cannot ship unaudited unnoticed. The refusals no other
test drove are driven here."""

from __future__ import annotations

import re
from pathlib import Path

from bot.i18n import catalogue
from tests.harness import ROOT, BotHarness, text_of

MODULES = (
    "bot/handlers/account.py",
    "bot/handlers/on_behalf.py",
    "bot/handlers/base.py",
    *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "bot/selfservice").glob("*.py")),
)
REFUSALS = {  # catalogue key (or prefix) -> the test asserting its audit record
    "account.disabled": "test_unlock_refuses_disabled_and_service_accounts",
    "account.protected": "test_unlock_refuses_domain_admin_audits_and_alerts_security",
    "account.federated": "test_privileged_and_federated_cloud_accounts_are_refused",
    "account.unavailable": "test_directory_outage_gives_a_clear_answer_and_opens_a_ticket",
    "account.engineer_limit": "test_an_engineer_is_capped_per_day",
    "account.malformed_user": "test_engineer_typing_a_hidden_character_in_a_name_is_refused_and_audited",  # noqa: E501
    "account.need_ticket": "test_engineer_unlock_without_a_ticket_is_refused_and_audited",
    "account.no_such_user": "test_engineer_naming_nobody_or_themselves_is_refused_and_audited",
    "account.shared_address": "test_engineer_naming_a_shared_address_is_told_why_and_it_is_audited",
    "account.ticket_unidentified": "test_engineer_reset_is_checked_against_the_tickets_directory_id_not_its_mail",  # noqa: E501
    "account.use_own": "test_engineer_naming_nobody_or_themselves_is_refused_and_audited",
    "account.wrong_ticket": "test_engineer_reset_is_checked_against_the_tickets_directory_id_not_its_mail",  # noqa: E501
    "approval.closed": "test_reset_with_manager_approval_changes_the_password_and_keeps_it_nowhere",
    "approval.invalid": "test_a_forged_or_malformed_approval_button_is_refused_and_audited",
    "approval.nobody": "test_no_approver_refuses_the_reset_and_audits",
    "approval.not_yours": "test_reset_with_manager_approval_changes_the_password_and_keeps_it_nowhere",  # noqa: E501
    "approval.run_expired": "test_reset_with_manager_approval_changes_the_password_and_keeps_it_nowhere",  # noqa: E501
    "approval.unlock_failed": "test_directory_outage_gives_a_clear_answer_and_opens_a_ticket",
    "commands.refused": "test_engineer_unlocks_and_resets_for_a_ticket_others_are_refused",
    "group.add_failed": "test_access_request_goes_to_the_owner_who_approves_and_the_bot_adds_the_member",  # noqa: E501
    "group.not_requestable": "test_a_group_that_is_not_requestable_is_refused_and_audited",
    "group.privileged": "test_role_assignable_groups_are_never_requestable",
    "limits.": "test_unlock_is_rate_limited_per_day_and_spaced_by_a_cooldown",
    "phone.no_entra": "test_new_phone_without_entra_is_refused_plainly_and_audited",
    "phone.no_new_yet": "test_removing_the_only_phone_is_refused_and_audited",
    "phone.pass_failed": "test_new_phone_pass_answered_503_opens_a_ticket_to_delete_it",
    "phone.remove_failed": "test_old_phone_removal_survives_a_503_after_it_applied_not_one_before",
    "phishing.contain_failed": "test_phishing_containment_with_graph_failing_audits_each_step",
    "reset.failed": "test_dc_stopped_mid_conversation_gives_a_clear_reply_and_a_ticket",
    "unlock.burst": "test_lockout_burst_pauses_unlocks_alerts_security_once_and_opens_a_ticket",
    "unlock.changed": "test_unlock_target_changed_is_refused_and_audited",
    "unlock.failed": "test_directory_outage_gives_a_clear_answer_and_opens_a_ticket",
}
NOT_REFUSALS = {
    "approval.already": "the request already waits for its approver; nothing new was asked",
    "unlock.already": "nothing to do: the account is not locked",
    "unlock.declined": "the user said no",
    "kb.gone": "the password guide article is missing: an answer, not an action",
}
PREFIXES_NOT_REPLIES = (
    "approval.action.",
    "approval.role.",
    "approval.you.",
    "password.",
    "menu.",
    "lockcause.",  # what is locking an account: a sentence within the unlock question
)
OTHER = re.compile(
    r"^(approval\.(approve|deny|ask|run|sent|approved_ok|approved_reset|denied|denied_ok|"
    r"unlocked)|group\.(added|added_ok)|reset\.|unlock\.(confirm|done|done_for|locked|no|"
    r"not_locked|since|until|yes|yes_approval)|password_reset\.next|phishing\.contained|phone\.(pass|pass_for|removed|notice)$)"
)


def _keys() -> set[str]:
    keys: set[str] = set()
    for module in MODULES:
        text = (ROOT / module).read_text("utf-8")
        keys |= set(re.findall(r'"([a-z_]+\.[a-z_.]+)"', text))
        keys |= {k + "." for k in re.findall(r'(?:\bt|refused|Outcome)\(f"([a-z_]+)\.\{', text)}
    return keys


def test_every_reply_of_the_self_service_code_is_classified_and_each_refusal_has_its_test() -> None:
    known = catalogue("en")
    unclassified = sorted(
        k
        for k in _keys()
        if k not in REFUSALS
        and k not in NOT_REFUSALS
        and not k.startswith(PREFIXES_NOT_REPLIES)
        and not OTHER.match(k)
        and (k in known or k.endswith("."))
    )
    assert unclassified == []
    tests = "".join(p.read_text("utf-8") for p in Path(ROOT / "tests").glob("test_*.py"))
    missing = sorted(k for k, name in REFUSALS.items() if f"def {name}(" not in tests)
    assert missing == []


INVALID = catalogue("en")["approval.invalid"]


def _audit(bot: BotHarness) -> list[tuple[object, ...]]:
    return bot.rows("SELECT action, outcome, reason FROM audit_log ORDER BY seq")


def test_a_forged_or_malformed_approval_button_is_refused_and_audited(bot: BotHarness) -> None:
    for value in ("@approval:approve:1:nonce", "@approval:approve:x", "@approval:maybe:1:n"):
        assert INVALID in text_of(bot.click(value))
    assert [r[:2] for r in _audit(bot)] == [("approval", "refused")] * 3


def test_a_group_that_is_not_requestable_is_refused_and_audited(tmp_path: Path) -> None:
    # requestable in the settings, but the directory has no such group
    bot = BotHarness(tmp_path, extra_toml='[graph]\nrequestable_groups = ["Payments Share RW"]\n')
    bot.say("I need access to Payments Share RW")
    answer = text_of(bot.click(1))
    assert "Payments Share RW" in answer
    rows = _audit(bot)
    assert [r[:2] for r in rows] == [("group_check", "done"), ("group_add", "refused")]
    assert str(rows[1][2]).startswith("not requestable")


def test_engineer_naming_nobody_or_themselves_is_refused_and_audited(bot: BotHarness) -> None:
    ticket, _ = bot.services.tickets.open(
        requester_email="chan.taiman@corp.example.com",
        requester_platform="test",
        requester_user_id="U-chan",
        summary="locked out",
        description="locked out",
    )
    eng = "ho.kawai@corp.example.com"
    assert "exactly one account" in text_of(
        bot.command(f"/helpdesk unlock nobody.here {ticket.ref}", user=eng)
    )
    assert "your own account" in text_of(
        bot.command(f"/helpdesk unlock ho.kawai {ticket.ref}", user=eng)
    )
    rows = _audit(bot)
    assert [r[:2] for r in rows] == [("unlock", "refused")] * 2
    assert str(rows[0][2]).startswith("no_such_user") and rows[1][2] == "own_account"


def test_no_approver_refuses_the_reset_and_audits(bot: BotHarness) -> None:
    user = "leung.chiwai@corp.example.com"  # no manager, and no on-call approver set
    bot.say("reset my password", user=user)
    bot.click("Reset it (manager approves)", user=user)
    rows = _audit(bot)
    assert rows[-1] == ("password_reset", "refused", "no_approver")


def test_unlock_target_changed_is_refused_and_audited(bot: BotHarness) -> None:
    bot.say("my account is locked")
    (key,) = bot.rows("SELECT conversation_key FROM conversations")[0]
    pending = bot.services.conversations.get(str(key))
    assert pending is not None and pending.flow == "unlock.confirm"
    moved = pending.__class__(pending.flow, {"target": "another-account"}, pending.lang)
    bot.services.conversations.put(str(key), moved)
    assert "changed while we were talking" in text_of(bot.click(1))
    assert _audit(bot)[-1] == ("unlock", "refused", "target_changed")
