"""The message catalogue is complete in both languages; every handler documents itself."""

from __future__ import annotations

import re

from bot.handlers import default_handlers
from bot.i18n import LANGUAGES, Translator, catalogue, placeholders
from bot.intents import INTENTS


def test_both_languages_have_the_same_keys() -> None:
    en, zh = catalogue("en"), catalogue("zh-Hant")
    assert sorted(set(en) - set(zh)) == [], "missing in zh-Hant"
    assert sorted(set(zh) - set(en)) == [], "missing in en"


def test_both_languages_use_the_same_placeholders() -> None:
    en, zh = catalogue("en"), catalogue("zh-Hant")
    different = {
        k: (placeholders(en[k]), placeholders(zh[k]))
        for k in en
        if placeholders(en[k]) != placeholders(zh.get(k, ""))
    }
    assert different == {}


def test_no_entry_is_empty_and_chinese_entries_are_chinese() -> None:
    for lang in LANGUAGES:
        assert all(text.strip() for text in catalogue(lang).values()), lang
    han = re.compile(r"[\u4e00-\u9fff]")
    not_chinese = [
        k
        for k, v in catalogue("zh-Hant").items()
        if not han.search(v)
        and re.search(r"\w", v)  # punctuation alone (a full-width colon) is no language
        and not k.startswith("ticket.state")
        and "{" not in v
    ]
    assert not_chinese == []


def test_every_key_the_code_uses_exists() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "bot"
    source = "\n".join(p.read_text("utf-8") for p in root.rglob("*.py"))
    used = set(re.findall(r'\bt\(\s*"([a-z_.]+)"', source))
    used |= set(re.findall(r'default_key = "([a-z_.]+)"', source))
    assert used, "the scan found the keys"
    assert sorted(used - set(catalogue("en"))) == []


def test_every_intent_has_a_handler_with_help_text_and_menu_entries() -> None:
    handlers = {h.intent: h for h in default_handlers()}
    # "command" and "approval" answer commands and buttons, "ticket_rate" typed ratings
    # ("5 stars") and "approval_typed" an approver's typed answer, not classified messages
    unclassified = ("command", "approval", "ticket_rate", "approval_typed")
    assert set(handlers) == {*INTENTS, *unclassified}
    for intent, handler in handlers.items():
        assert (handler.__doc__ or "").strip(), f"{type(handler).__name__} has no docstring"
        for lang in LANGUAGES:
            if intent in unclassified:
                continue
            t = Translator(lang)
            assert t(f"help.{intent}") and t(f"menu.{intent}")


def test_translator_formats_placeholders() -> None:
    assert "HD-1001" in Translator("zh-Hant")("ticket.opened", ref="HD-1001", summary="x")
